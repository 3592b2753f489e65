"""Figures of a model against a hall's own log: a fit (sim.fit), a replay and a
backtest (sim.replay), observed against fitted or simulated, so a reader can judge.

Each function draws a figure of its own and returns it: a pyplot figure that shows in
Jupyter, or with `off_screen=True` one outside pyplot (nothing left open), which
sim.report saves. Times of day are HH:MM, durations in minutes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from sim.calendar import WEEKDAYS, format_time
from sim.fit import FitResult
from sim.fit_dists import DurationFit, kaplan_meier
from sim.i18n import tr

__all__ = [
    "arrivals_by_time",
    "backtest_kpi",
    "daily_by_weekday",
    "lead_times",
    "open_windows",
    "patience",
    "replay_by_hour",
    "service",
]

_HHMM = FuncFormatter(lambda minute, _pos: format_time(minute))


def _figure(size: tuple[float, float], off_screen: bool) -> Figure:
    """A figure outside pyplot (nothing left open: for files), or a pyplot one (shown
    in Jupyter like any other)."""
    return Figure(figsize=size) if off_screen else plt.figure(figsize=size)


def _time_axis(ax, start: float, end: float) -> None:
    ax.set_xlim(start, end)
    ax.xaxis.set_major_locator(MultipleLocator(60))
    ax.xaxis.set_major_formatter(_HHMM)
    ax.tick_params(axis="x", labelrotation=45)


def arrivals_by_time(fit: FitResult, off_screen: bool = False) -> Figure:
    """Visitors arriving per half hour, mean over the log's days: observed (bars, 95%
    CI across days) against the fitted profile (steps)."""
    fig = _figure((9, 4.5), off_screen)
    ax = fig.subplots()
    hours, arrivals = fit.hours, fit.arrivals
    edges = np.arange(hours.opens_at, hours.cutoff_at + 30, 30)
    n_days = len(hours.dates)
    per_day = np.array(
        [np.histogram(g["arrival_min"], edges)[0] for _, g in arrivals.groupby("date")]
    )
    per_day = np.vstack([per_day, np.zeros((n_days - len(per_day), len(edges) - 1))])
    mean = per_day.mean(axis=0)
    half = 1.96 * per_day.std(axis=0, ddof=1) / np.sqrt(n_days)
    centres = edges[:-1] + 15
    ax.bar(centres, mean, width=26, color="#9ecae1", label=tr("observed (mean of days)"))
    ax.errorbar(
        centres,
        mean,
        yerr=half,
        fmt="none",
        ecolor="#3182bd",
        capsize=2,
        label=tr("95% CI across days"),
    )
    demand = fit.scenario.demand
    segments = demand.profile_segments(hours.cutoff_at)
    total = sum(w for _, _, w in segments)
    visitors = float(fit.daily["expected"].mean())
    for start, end, weight in segments:
        rate = visitors * weight / total / (end - start) * 30 if end > start else 0
        ax.hlines(rate, start, end, color="#d62728", lw=2)
    ax.plot([], [], color="#d62728", lw=2, label=tr("fitted profile"))
    _time_axis(ax, hours.opens_at, hours.cutoff_at)
    ax.set(
        ylabel=tr("visitors arriving per half hour"),
        xlabel=tr("time of day"),
        title=tr("Arrivals by time of day: observed vs fitted ({days} days)").format(days=n_days),
    )
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return fig


def daily_by_weekday(fit: FitResult, off_screen: bool = False) -> Figure:
    """Visitors a day by weekday: each observed day (dots), the fitted expectation
    (bars) and its Poisson 95% range, widened by day_cv."""
    fig = _figure((8, 4.5), off_screen)
    ax = fig.subplots()
    daily = fit.daily
    days = [w for w in WEEKDAYS if w in set(daily["weekday"])]
    cv = fit.scenario.demand.day_cv
    for i, day in enumerate(days):
        rows = daily[daily["weekday"] == day]
        expected = float(rows.loc[~rows["after_holiday"], "expected"].mean())
        spread = 1.96 * np.sqrt(expected + (expected * cv) ** 2)
        ax.bar(i, expected, color="#fdd0a2", width=0.6, label=tr("fitted") if i == 0 else None)
        ax.errorbar(
            i,
            expected,
            yerr=spread,
            fmt="none",
            ecolor="#e6550d",
            capsize=4,
            label=tr("fitted 95% range of a day") if i == 0 else None,
        )
        jitter = np.linspace(-0.15, 0.15, len(rows)) if len(rows) > 1 else [0.0]
        colours = np.where(rows["after_holiday"], "#d62728", "#31a354")
        ax.scatter(
            i + np.asarray(jitter),
            rows["visitors"],
            s=12,
            c=colours,
            zorder=3,
            label=tr("observed days") if i == 0 else None,
        )
    if daily["after_holiday"].any():
        ax.scatter([], [], s=12, c="#d62728", label=tr("observed, after a holiday"))
    ax.set_xticks(range(len(days)), days)
    ax.set(ylabel=tr("visitors a day"), title=tr("Visitors a day by weekday: observed vs fitted"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return fig


def service(
    matter: str, values: np.ndarray, fit: DurationFit, pooled: bool, off_screen: bool = False
) -> Figure:
    """A matter's service times: histogram with the fitted density, and a QQ plot."""
    fig = _figure((9, 3.8), off_screen)
    left, right = fig.subplots(1, 2)
    dist = fit.dist()
    top = float(np.quantile(values, 0.99))
    left.hist(
        values[values <= top],
        bins=40,
        density=True,
        color="#c6dbef",
        label=tr("observed ({tickets} tickets)").format(tickets=len(values)),
    )
    x = np.linspace(0, top, 300)[1:]
    left.plot(
        x,
        dist.pdf(x),
        color="#d62728",
        label=f"{fit.family} mean {fit.mean:.3g}"
        + ("" if fit.family == "exponential" else f" cv {fit.cv:.2g}"),
    )
    left.set(
        xlabel=tr("service time (min, specialist speed)"),
        ylabel=tr("density"),
        title=(
            tr("{matter}: service time (pooled)") if pooled else tr("{matter}: service time")
        ).format(matter=matter),
    )
    left.set_xlim(0, top)
    left.legend(fontsize="small", loc="upper right")
    left.text(
        0.98,
        0.6,
        tr("longest 1% not shown (up to {longest})").format(longest=f"{values.max():.3g}"),
        transform=left.transAxes,
        ha="right",
        fontsize="x-small",
        color="#555",
    )
    probabilities = (np.arange(1, 201) - 0.5) / 200
    observed = np.quantile(values, probabilities)
    fitted = dist.ppf(probabilities)
    right.plot(fitted, observed, ".", ms=3, color="#3182bd")
    high = max(fitted.max(), observed.max())
    right.plot([0, high], [0, high], color="#999", lw=1)
    right.set(
        xlabel=tr("fitted quantile (min)"),
        ylabel=tr("observed quantile (min)"),
        title=tr("QQ plot: on the line = a good fit"),
    )
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig


def patience(fit: FitResult, off_screen: bool = False) -> Figure:
    """Share still waiting after t minutes: Kaplan-Meier of the observed (giving up
    exact, served right-censored) against the fitted survival."""
    fig = _figure((8, 4.5), off_screen)
    ax = fig.subplots()
    data = fit.patience
    assert data is not None
    top = float(np.quantile(np.concatenate([data.exact, data.right, data.left]), 0.995))
    top = max(top, 1.0)
    if len(data.exact):
        times, survival = kaplan_meier(data.exact, data.right)
        ax.step(
            np.concatenate([[0], times]),
            np.concatenate([[1], survival]),
            where="post",
            color="#3182bd",
            label=tr("observed (Kaplan-Meier)"),
        )
    x = np.linspace(0, top, 300)
    ax.plot(
        x,
        data.fit.dist().sf(x),
        color="#d62728",
        label=tr("fitted {family}, mean {mean} min (censored MLE)").format(
            family=data.fit.family, mean=f"{data.fit.mean:.3g}"
        ),
    )
    if data.abandoners_only is not None:
        ax.plot(
            x,
            data.abandoners_only.dist().sf(x),
            color="#999",
            ls="--",
            label=tr("fitted to those who left only (biased): mean {mean} min").format(
                mean=f"{data.abandoners_only.mean:.3g}"
            ),
        )
    if len(data.left):
        ax.text(
            0.98,
            0.97,
            tr("the curve leaves out the {absent} called absent (only the fit uses them)").format(
                absent=len(data.left)
            ),
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize="x-small",
            color="#555",
        )
    ax.set(
        xlabel=tr("minutes waited"),
        ylabel=tr("share whose patience lasts longer"),
        title=tr(
            "Patience: {left} gave up, {absent} called absent, {served} served (censored)"
        ).format(left=len(data.exact), absent=len(data.left), served=len(data.right)),
    )
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def open_windows(fit: FitResult, pool: str, off_screen: bool = False) -> Figure:
    """Windows of a pool seen at work per half hour (mean over days, with the days'
    10%-90% range) and the fitted schedule."""
    fig = _figure((8, 4), off_screen)
    ax = fig.subplots()
    table = fit.open_windows[pool]
    starts = np.array(table.columns, dtype=float)
    if fit.hours.lunch is not None:  # windows make no calls then: nothing to see
        lunch = (starts >= fit.hours.lunch[0]) & (starts < fit.hours.lunch[1])
        table = table.astype(float)
        table.loc[:, lunch] = np.nan
    ax.fill_between(
        starts + 15,
        table.quantile(0.1),
        table.quantile(0.9),
        color="#c7e9c0",
        label=tr("observed, 10%-90% of days"),
    )
    ax.plot(starts + 15, table.mean(), "o", ms=4, color="#31a354", label=tr("observed, mean"))
    spec = fit.scenario.windows[pool]
    segments = spec.segments(fit.hours.opens_at)
    end = fit.hours.closes_at
    xs = [s for s, _ in segments] + [end]
    ys = [n for _, n in segments] + [segments[-1][1]]
    ax.step(xs, ys, where="post", color="#d62728", lw=2, label=tr("fitted schedule"))
    if fit.hours.lunch is not None:
        ax.axvspan(*fit.hours.lunch, color="#eee", label=tr("lunch (no calls)"))
    _time_axis(ax, fit.hours.opens_at, end)
    ax.set(
        ylabel=tr("windows open"),
        xlabel=tr("time of day"),
        title=tr("{pool}: windows open by half hour ({windows} windows)").format(
            pool=pool, windows=spec.count
        ),
    )
    ax.set_ylim(0, spec.count * 1.4 + 1)  # room for the legend above the data
    ax.legend(loc="upper center", fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    return fig


def backtest_kpi(
    hours: pd.DataFrame, verdict: pd.Series, off_screen: bool = False, context: str = ""
) -> Figure:
    """One KPI by hour: the simulation's mean and 90% band, the log's values; `context`
    (scenario, log, dates) heads the title, so a figure that travels alone says what."""
    fig = _figure((8, 4), off_screen)
    ax = fig.subplots()
    label, outcome = verdict["what"], verdict["verdict"]
    what, outcome = tr(label), tr(outcome)
    rows = hours[hours["kpi"] == verdict["kpi"]].set_index("hour")
    if rows.empty:  # no hour to test: say so on the figure
        ax.text(
            0.5,
            0.5,
            tr("{what}: no hour with enough tickets to compare").format(what=what),
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_axis_off()
        return fig
    span = range(int(rows.index.min()), int(rows.index.max()) + 1)
    rows = rows.reindex(span).reset_index()  # an hour with no tickets (lunch): a gap
    rows["inside"] = rows["inside"].fillna(True).astype(bool)
    x = rows["hour"].to_numpy() * 60 + 30
    ax.bar(x, rows["band_high"] - rows["band_low"], bottom=rows["band_low"], width=50,
           color="#c6dbef", label=tr("simulated, 90% band"))  # fmt: skip
    ax.plot(x, rows["simulated"], "_", ms=18, mew=2, color="#3182bd", label=tr("simulated, mean"))
    colours = np.where(rows["inside"], "#31a354", "#d62728")
    ax.scatter(x, rows["observed"], c=colours, zorder=3, s=25, label=tr("the log (red: outside)"))
    _time_axis(ax, x.min() - 30, x.max() + 30)
    unit = verdict["unit"]
    ax.set(
        xlabel=tr("hour of the ticket"),
        ylabel=tr("{label} ({unit})").format(label=what, unit=tr(unit)),
        title=(f"{context}\n" if context else "")
        + tr("{what} by hour: {verdict} (p = {p})").format(
            what=what[:1].upper() + what[1:],
            verdict=outcome,
            p=f"{verdict['p_value']:.2g}",
        ),
    )
    ax.set_ylim(bottom=0)
    if unit == "share":
        ax.set_ylim(0, min(1, max(rows["band_high"].max(), rows["observed"].max()) * 1.3 + 0.01))
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def replay_by_hour(
    by_hour: pd.DataFrame, kpi: str = "wait_mean_min", off_screen: bool = False
) -> Figure:
    """Mean wait by hour of the ticket: the log, and each scenario replayed on its
    visitors (mean and 95% CI across replications)."""
    fig = _figure((8, 4.5), off_screen)
    ax = fig.subplots()
    for name, rows in by_hour.groupby("scenario", sort=False):
        x = rows["hour"].to_numpy() * 60 + 30
        if name == "observed":
            ax.plot(x, rows["mean"], "o-", color="black", label=tr("the log"))
            continue
        line = ax.plot(x, rows["mean"], "-", label=tr("{name} (replayed)").format(name=name))[0]
        ax.fill_between(
            x,
            rows["ci_low"].clip(lower=0),
            rows["ci_high"],
            alpha=0.2,
            color=line.get_color(),
            label=tr("{name}: 95% CI").format(name=name),
        )
    seen = by_hour.loc[by_hour["mean"].notna(), "hour"]
    _time_axis(ax, seen.min() * 60, seen.max() * 60 + 60)
    ax.set(
        xlabel=tr("hour of the ticket"),
        ylabel=tr("mean wait per ticket (min)"),
        title=tr("The log's visitors through each scenario: mean wait by hour"),
    )
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def lead_times(fit: FitResult, matter: str, off_screen: bool = False) -> Figure:
    """A matter's cases by working days from acceptance to completion, against the fit
    (instant share, then the fitted waiting time, acceptance at midday). Only cases
    accepted long enough before the log ends are shown, so that open ones are few."""
    fig = _figure((8, 4), off_screen)
    ax = fig.subplots()
    days, to_end, duration = fit.leads[matter]
    done = days[np.isfinite(days)].astype(int)
    top = int(max(np.quantile(done, 0.95), 1)) + 1
    seen = to_end >= top  # accepted at least `top` working days before the end
    shown = days[seen]
    n = len(shown)
    finished = np.isfinite(shown)
    counts = np.bincount(np.minimum(shown[finished].astype(int), top), minlength=top + 1)
    x = np.arange(top + 1)
    ax.bar(
        x,
        counts / max(n, 1),
        color="#c6dbef",
        label=tr(
            "observed ({cases} cases accepted {days}+ days before the log ends, {open} still open)"
        ).format(cases=n, days=top, open=int((~finished).sum())),
    )
    instant = float(np.mean(np.isfinite(days) & (days == 0)))
    dist = duration.dist()
    fitted = (1 - instant) * (dist.cdf(x + 0.5) - dist.cdf(np.maximum(x - 0.5, 0)))
    fitted[0] += instant
    fitted[-1] = 1 - fitted[:-1].sum()
    ax.plot(
        x,
        fitted,
        "o-",
        color="#d62728",
        ms=4,
        label=tr("fitted: {instant} instant, then {family} mean {mean} days").format(
            instant=f"{instant:.0%}", family=duration.family, mean=f"{duration.mean:.3g}"
        ),
    )
    ax.set(
        xlabel=tr("working days from acceptance to completion"),
        ylabel=tr("share of cases"),
        title=tr("{matter}: lead times (last bar: {days} days or more)").format(
            matter=matter, days=top
        ),
    )
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return fig
