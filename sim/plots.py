"""Plots: (data, ax=None) -> Axes. No file writing here (that is sim.report's job).

Without `ax`, a figure is made with pyplot, so it shows in Jupyter like any other; the
backend is never touched (sim.report draws on figures of its own, outside pyplot).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.i18n import kpi_heading, kpi_label, kpi_unit, tr
from sim.metrics import HEADLINE_KPIS

__all__ = [
    "figure_fonts",
    "matters_gain_lose",
    "pool_colours",
    "queue_by_hour",
    "utilization_by_pool",
    "wait_distribution",
]

# fonts with Chinese glyphs, in order of preference (Linux, Windows, macOS)
CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
    "Noto Sans CJK JP", "Noto Sans CJK TC",
)  # fmt: skip


@contextmanager
def figure_fonts() -> Iterator[None]:
    """Figures drawn inside use a Chinese font for names where one is installed (Latin
    text keeps the default); the caller's settings are restored afterwards. Without
    one, a single warning says how to install it instead of one per missing glyph."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    cjk = [name for name in CJK_FONTS if name in installed]
    family = [*plt.rcParams["font.family"], *cjk]  # CJK glyphs fall back to these
    with warnings.catch_warnings(), plt.rc_context({"font.family": family}):
        if not cjk:
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            _warn_no_cjk_font()
        yield


@lru_cache(maxsize=1)
def _warn_no_cjk_font() -> None:
    print(
        "hallsim: note: no Chinese font found, Chinese names show as boxes in PNG figures; "
        "install Noto Sans CJK (Debian/Ubuntu: apt install fonts-noto-cjk)",
        file=sys.stderr,
    )


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(figsize=(8, 4.5))[1] if ax is None else ax


def _hhmm(ax: Axes, first_hour: float, last_hour: float) -> None:
    """Hours of the day on the x axis as HH:MM."""
    ticks = np.arange(math.floor(first_hour), math.ceil(last_hour) + 1)
    # as many labels as the axes' width holds (about 1.6 an inch), so they never overlap
    width_in = ax.bbox.width / ax.figure.dpi if ax.figure else 6.5
    step = max(1, math.ceil(len(ticks) / max(3, int(width_in * 1.6))))
    ax.set_xticks(ticks[::step], [f"{int(h) % 24:02d}:00" for h in ticks[::step]])


def wait_distribution(
    log: pd.DataFrame,
    ax: Axes | None = None,
    target_min: float | None = None,
    title: str | None = None,
) -> Axes:
    """Empirical CDF of per-visit waits of served visits, one line per scenario, on the
    range that matters (to the longest 99th percentile; the tail is noted), with the
    target wait as a line."""
    ax = _axes(ax)
    served = log[log["outcome"] == "served"]
    longest, top = 0.0, 1.0
    groups = list(served.groupby("scenario", observed=True, sort=False))  # baseline first
    for i, (scenario, group) in enumerate(groups):
        waits = np.sort(group["wait_min"].to_numpy())
        if not len(waits):
            continue
        # as in the comparison's other figures: the baseline black, alternatives C0, C1...
        colour = ("black" if i == 0 else f"C{i - 1}") if len(groups) > 1 else "C0"
        ax.step(waits, np.arange(1, len(waits) + 1) / len(waits), where="post", label=scenario,
                color=colour)  # fmt: skip
        top = max(top, float(np.quantile(waits, 0.99)))
        longest = max(longest, float(waits[-1]))
    if target_min is not None:
        ax.axvline(target_min, color="#d62728", ls="--", lw=1.2,
                   label=tr("target {minutes} min").format(minutes=f"{target_min:g}"))  # fmt: skip
        top = max(top, target_min * 1.2)
    ax.set_xlim(0, top)
    if longest > top:
        ax.text(
            0.98,
            0.03,
            tr("the longest 1% are not shown (up to {minutes} min)").format(
                minutes=f"{longest:.0f}"
            ),
            transform=ax.transAxes,
            ha="right",
            fontsize="x-small",
            color="#555",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9},  # over the target
        )
    ax.set(
        xlabel=tr("wait per queue visit (min)"),
        ylabel=tr("share of visits waiting at most x"),
        title=title or tr("Waits per queue visit (served visits)"),
    )
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right", fontsize="small")
    return ax


def pool_colours(pools) -> dict[str, tuple[float, ...]]:
    """One colour per pool, the same in every figure of a run (in the scenario's order)."""
    palette = [*plt.get_cmap("tab10").colors, *plt.get_cmap("tab20b").colors]
    return {str(pool): palette[i % len(palette)] for i, pool in enumerate(pools)}


def queue_by_hour(
    hourly_summary: pd.DataFrame,
    ax: Axes | None = None,
    top: int = 8,
    title_name: str | None = None,
    colours: dict[str, tuple[float, ...]] | None = None,
) -> Axes:
    """Time-weighted mean queue length per hour of day, one line per pool (the `top`
    pools with the longest peak queue), with 95% CI bands."""
    ax = _axes(ax)
    rows = hourly_summary[hourly_summary["kpi"] == "queue_length_mean"]
    busy = rows.loc[rows["mean"] > 0, "hour"]
    if len(busy):  # not the empty evening hours a late event adds to the table
        rows = rows[rows["hour"] <= busy.max() + 1]
    peaks = rows.groupby(["scenario", "pool"], observed=True)["mean"].max()
    shown = (
        tr("top {top} of {pools} pools").format(top=top, pools=len(peaks))
        if len(peaks) > top
        else tr("every pool")
    )
    title = tr("People waiting through the day ({shown})").format(shown=shown)
    ax.set_title(tr("{name}: {what}").format(name=title_name, what=title) if title_name else title)
    for (scenario, pool), _peak in peaks.sort_values(ascending=False).head(top).items():
        line = rows[(rows["scenario"] == scenario) & (rows["pool"] == pool)]
        hour = line["hour"].to_numpy() + 0.5
        label = f"{scenario}: {pool}" if rows["scenario"].nunique() > 1 else str(pool)
        colour = (colours or {}).get(str(pool))
        (drawn,) = ax.plot(hour, line["mean"], marker="o", ms=3, label=label, color=colour)
        ax.fill_between(hour, line["ci_low"], line["ci_high"], color=drawn.get_color(), alpha=0.2)
    if len(rows):
        _hhmm(ax, rows["hour"].min(), rows["hour"].max() + 1)
    ax.set(
        xlabel=tr("time of day (each point: the hour starting before it; mean, 95% CI)"),
        ylabel=tr("people waiting (time-weighted mean)"),
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def utilization_by_pool(
    pools_summary: pd.DataFrame,
    ax: Axes | None = None,
    title_name: str | None = None,
    colours: dict[str, tuple[float, ...]] | None = None,
) -> Axes:
    """Share of opening hours each pool's windows were busy, with 95% CI."""
    ax = _axes(ax)
    rows = pools_summary[pools_summary["kpi"] == "utilization"].reset_index(drop=True)
    labels = [
        f"{s}: {p}" if rows["scenario"].nunique() > 1 else str(p)
        for s, p in zip(rows["scenario"], rows["pool"], strict=True)
    ]
    err = np.vstack([rows["mean"] - rows["ci_low"], rows["ci_high"] - rows["mean"]])
    bar_colours = [(colours or {}).get(str(p), "tab:blue") for p in rows["pool"]]
    ax.barh(labels, rows["mean"], xerr=np.nan_to_num(err), color=bar_colours, alpha=0.85)
    title = tr("Utilization of each pool's windows (mean and 95% CI)")
    ax.set(
        xlabel=tr("utilization (busy share of opening hours)"),
        xlim=(0, 1),
        title=tr("{name}: {what}").format(name=title_name, what=title) if title_name else title,
    )
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    return ax


def matters_gain_lose(
    by_matter: pd.DataFrame,
    kpi: str = "wait_mean_min",
    ax: Axes | None = None,
    top: int = 12,
    scenario: str | None = None,
    level: str = "95%",
) -> Axes:
    """The paired change of one KPI per matter as dots with CI bars, sorted, worst at the
    top: red where the whole CI is a loss, green a gain, grey not shown either way. With
    many matters, the `top` largest losses and gains (the rest is in the CSV)."""
    ax = _axes(ax)
    rows = by_matter[by_matter["kpi"] == kpi]
    if scenario is None:  # the first alternative; pass `scenario` for the others
        scenario = rows["scenario"].iloc[0] if len(rows) else ""
    rows = rows[rows["scenario"] == scenario].sort_values("diff", ascending=False)
    total = len(rows)
    if total > 2 * top:
        rows = pd.concat([rows.head(top), rows.tail(top)])
    y = np.arange(len(rows))
    worse, better = (rows["ci_low"] > 0).to_numpy(), (rows["ci_high"] < 0).to_numpy()
    err = np.nan_to_num(np.vstack([rows["diff"] - rows["ci_low"], rows["ci_high"] - rows["diff"]]))
    for chosen, colour in ((worse, "#d62728"), (better, "#2ca02c"), (~worse & ~better, "#888")):
        ax.errorbar(rows["diff"].to_numpy()[chosen], y[chosen], xerr=err[:, chosen], fmt="o",
                    ms=4, color=colour, capsize=2)  # fmt: skip
    ax.set_yticks(y, [str(m) for m in rows["matter"]], fontsize="small")
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)
    shown = (
        tr("{shown} of {total} matters: the largest losses and gains").format(
            shown=len(rows), total=total
        )
        if total > len(rows)
        else tr("every matter")
    )
    what, unit = kpi_label(kpi), kpi_unit(kpi)
    ax.set(
        xlabel=tr("change in {what} ({unit}); red: longer, green: shorter, {level} CI").format(
            what=what, unit=unit, level=level
        ),
        title=tr("{scenario}: change in {what} by matter ({shown})").format(
            scenario=scenario, what=what, shown=shown
        ),
    )
    ax.grid(axis="x", alpha=0.3)
    if ax.figure is not None and len(rows) > 14:
        ax.figure.set_size_inches(8, 0.22 * len(rows) + 1.5)
    return ax


def difference_by(
    differences: pd.DataFrame, key: str, kpi: str, ax: Axes | None = None, level: str = "95%"
) -> Axes:
    """Paired differences (alternative - baseline) of one KPI by `key`, with CI bars."""
    ax = _axes(ax)
    rows = differences[differences["kpi"] == kpi] if not differences.empty else differences
    for scenario, group in rows.groupby("scenario", sort=False) if len(rows) else []:
        positions = np.arange(len(group))
        err = np.vstack([group["diff"] - group["ci_low"], group["ci_high"] - group["diff"]])
        ax.errorbar(
            positions, group["diff"], yerr=np.nan_to_num(err), fmt="o", capsize=3, label=scenario
        )
        ax.set_xticks(positions, [str(v) for v in group[key]], rotation=45, ha="right")
    ax.axhline(0, color="black", lw=0.8)
    if key == "hour" and len(rows):  # positions stand for hours: label them HH:MM
        first = rows[rows["scenario"] == rows["scenario"].iloc[0]]
        ax.set_xticks(
            np.arange(len(first)), [f"{int(h):02d}:00" for h in first[key]], rotation=45, ha="right"
        )
    what, unit = kpi_label(kpi), kpi_unit(kpi)
    ax.set(
        xlabel=tr("time of day") if key == "hour" else tr(key),
        ylabel=tr("change in {what} ({unit})").format(what=what, unit=unit),
        title=tr("Change in {what} by {key} against the baseline (paired, {level} CI)").format(
            what=what, key=tr(key), level=level
        ),
    )
    ax.grid(alpha=0.3)
    if len(rows):
        ax.legend(fontsize="small")
    return ax


def sweep_kpis(
    table: pd.DataFrame,
    settings: list[str],
    kpis: tuple[str, ...] = HEADLINE_KPIS,
    fig: Figure | None = None,
    title: str | None = None,
) -> Axes:
    """Headline KPIs against the first varied setting (one line per other combination),
    each with its 95% CI (asymmetric where it was clipped at a bound)."""
    if fig is None:
        fig = plt.figure(figsize=(4 * len(kpis), 3.8))
    else:
        fig.set_size_inches(4 * len(kpis), 3.8)
    axes = fig.subplots(1, len(kpis))
    x, others = settings[0], settings[1:]
    for ax, kpi in zip(axes, kpis, strict=True):
        rows = table[table["kpi"] == kpi]
        groups = rows.groupby(others, sort=False) if others else [("", rows)]
        for label, group in groups:
            label = label[0] if isinstance(label, tuple) and len(label) == 1 else label
            err = np.vstack([group["mean"] - group["ci_low"], group["ci_high"] - group["mean"]])
            ax.errorbar(group[x], group["mean"], yerr=np.nan_to_num(err), marker="o", capsize=3,
                        label=str(label))  # fmt: skip
        ax.set(xlabel=x.split(".")[-1] if len(x) > 20 else x, title=kpi_heading(kpi))
        values = pd.to_numeric(table[x], errors="coerce")
        if values.notna().all() and (values % 1 == 0).all():  # counts: no 5.5 windows
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if others:
        axes[0].legend(fontsize="small", title=",".join(o.split(".")[-1] for o in others))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return axes[0]


def staffing_by_hour(
    hourly_summary: pd.DataFrame,
    pool: str,
    ax: Axes | None = None,
    now: list[tuple[int, int]] | None = None,
) -> Axes:
    """Windows by hour as steps: open now (the scenario as given, `now`: (start minute,
    windows)), needed (the proposed schedule) and busy at it; arrivals as bars behind."""
    ax = _axes(ax)
    rows = hourly_summary[hourly_summary["pool"] == pool]
    wide = rows.pivot(index="hour", columns="kpi", values="mean")
    edges = np.append(wide.index.to_numpy(), wide.index.max() + 1)

    def steps(values) -> np.ndarray:
        return np.append(np.asarray(values, dtype=float), float(np.asarray(values)[-1]))

    twin = ax.twinx()
    twin.bar(wide.index + 0.5, wide["tickets"], width=0.8, alpha=0.12, color="gray")
    twin.set_ylabel(tr("tickets per hour (bars)"))
    ax.set_zorder(twin.get_zorder() + 1)
    ax.patch.set_visible(False)
    if now:
        starts = np.array([start / 60 for start, _ in now])
        counts = [count for _, count in now]
        open_now = [
            counts[max(0, np.searchsorted(starts, h, side="right") - 1)] for h in wide.index
        ]
        ax.step(edges, steps(open_now), where="post", color="#888", ls=":", lw=1.5,
                label=tr("windows open now"))  # fmt: skip
    ax.step(edges, steps(wide["open_windows_mean"]), where="post", color="tab:blue", lw=2,
            label=tr("windows needed (proposed schedule)"))  # fmt: skip
    ax.step(edges, steps(wide["busy_windows_mean"]), where="post", color="tab:orange",
            label=tr("windows busy (mean)"))  # fmt: skip
    _hhmm(ax, wide.index.min(), wide.index.max() + 1)
    ax.set(
        xlabel=tr("time of day"),
        ylabel=tr("windows"),
        title=tr("{pool}: windows open, needed and busy by hour").format(pool=pool),
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize="small")
    return ax


def paired_by_hour(
    by_hour: pd.DataFrame,
    kpi: str = "wait_mean_min",
    fig: Figure | None = None,
    level: str = "95%",
    levels: pd.DataFrame | None = None,
):
    """Both designs' KPI by hour on one axis (top), and the paired difference with its CI
    (bottom): where in the day a reform gains and where it loses. `levels` (scenario,
    hour, mean: each design on its own, sim.compare.Comparison.hall_by_hour) shows the
    hours only one design has tickets in, such as a department window's lunch-hour
    strandings, which no pairing can show."""
    fig = fig or plt.figure(figsize=(8, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    rows = by_hour[by_hour["kpi"] == kpi]
    what, unit = kpi_label(kpi), kpi_unit(kpi)
    if levels is None:  # the paired means: hours both designs have
        first = rows[rows["scenario"] == rows["scenario"].iloc[0]] if len(rows) else rows
        levels = pd.concat(
            [first.assign(scenario=first["baseline"], mean=first["baseline_mean"]), rows]
        )[["scenario", "hour", "mean"]]
    for i, (scenario, own) in enumerate(levels.groupby("scenario", sort=False)):
        own = own.dropna(subset=["mean"]).set_index("hour")["mean"]
        if len(own):  # an hour without tickets (lunch) is a gap, not a line across it
            own = own.reindex(range(int(own.index.min()), int(own.index.max()) + 1))
        colour = "black" if i == 0 else f"C{i - 1}"  # the baseline black, as elsewhere
        top.plot(own.index + 0.5, own.to_numpy(), "o-", ms=3, color=colour, label=str(scenario))
    for i, (_scenario, group) in enumerate(rows.groupby("scenario", sort=False)):
        x = group["hour"].to_numpy() + 0.5
        err = np.vstack([group["diff"] - group["ci_low"], group["ci_high"] - group["diff"]])
        bottom.errorbar(
            x, group["diff"], yerr=np.nan_to_num(err), fmt="o", capsize=3, color=f"C{i}"
        )
    bottom.axhline(0, color="black", lw=0.8)
    top.set(
        ylabel=kpi_heading(kpi),
        title=tr("{what} by hour of the ticket, and the paired difference ({level} CI)").format(
            what=what[:1].upper() + what[1:], level=level
        ),
    )
    top.set_ylim(bottom=0)
    top.legend(fontsize="small", loc="upper right")
    bottom.set(ylabel=tr("difference ({unit})").format(unit=unit), xlabel=tr("time of day"))
    hours = levels["hour"] if len(levels) else rows["hour"]
    if len(hours):
        _hhmm(bottom, hours.min(), hours.max() + 1)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return fig


def sizing_curve(tried: pd.DataFrame, target, sized: dict[str, int], ax: Axes | None = None):
    """The target KPI against the windows tried, with its 95% CI, the target and the
    count chosen (one line per pool)."""
    ax = _axes(ax)
    column = f"{target.kpi}_mean"
    for pool, rows in tried.groupby("pool", sort=False):
        rows = rows.sort_values("windows")
        (line,) = ax.plot(rows["windows"], rows[column], "o-",
                          label=tr("{pool} (95% CI shaded)").format(pool=pool))  # fmt: skip
        ax.fill_between(
            rows["windows"], rows["ci_low"], rows["ci_high"], alpha=0.2, color=line.get_color()
        )
        if pool in sized:
            chosen = rows[rows["windows"] == sized[pool]]
            ax.plot(
                chosen["windows"],
                chosen[column],
                "*",
                ms=14,
                color=line.get_color(),
                label=tr("{pool}: {windows} windows, the fewest meeting the target").format(
                    pool=pool, windows=sized[pool]
                ),
            )
    ax.axhline(target.value, color="#d62728", ls="--",
               label=tr("target {target}").format(target=target))  # fmt: skip
    what = kpi_label(target.kpi)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel=tr("windows"),
        ylabel=kpi_heading(target.kpi),
        title=tr("{what} against the windows tried").format(what=what[:1].upper() + what[1:]),
    )
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax
