"""Demand from a ticket log: opening hours, lunch, working days, visitors per day by
weekday and after holidays, how much days vary beyond Poisson, and the arrival profile.

A visitor is one visitor key on one date (all their tickets that day) where the log
links tickets; otherwise every ticket is a visitor of its own. A visitor arrives when
they take their first ticket of the day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.calendar import WEEKDAYS, format_time

__all__ = [
    "Hours",
    "Param",
    "Visitors",
    "fit_calendar",
    "fit_daily_demand",
    "fit_profile",
    "minute_of_day",
    "share_param",
    "visitor_keys",
    "visitors_of",
]

SEGMENT_CHOICES_MIN = (15, 30, 60)  # arrival profile segment lengths tried
_BOOT = 400


@dataclass(frozen=True)
class Param:
    """One fitted parameter: value, 95% CI, the tickets (or days) behind it, a note."""

    name: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    unit: str = ""
    note: str = ""


def share_param(
    name: str, share: float, trials: float, n: int, unit: str = "", note: str = ""
) -> Param:
    """A share with its 95% Wilson interval over `trials` (inside [0, 1], and not of
    zero width at 0 or 1)."""
    z = 1.959963984540054
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
    )
    return Param(name, share, max(centre - half, 0.0), min(centre + half, 1.0), n, unit, note)


def minute_of_day(times: pd.Series) -> np.ndarray:
    return (times - times.dt.normalize()).dt.total_seconds().to_numpy() / 60


def _floor(minute: float, step: int = 30) -> int:
    return int(math.floor(minute / step) * step)


def _ceil(minute: float, step: int = 30) -> int:
    return int(math.ceil(minute / step) * step)


@dataclass(frozen=True)
class Hours:
    opens_at: int
    cutoff_at: int
    closes_at: int
    lunch: tuple[int, int] | None
    lunch_serves_holders: bool
    dates: tuple[dt.date, ...]
    weekend: tuple[str, ...]
    holidays: tuple[dt.date, ...]


def fit_calendar(
    tickets: pd.DataFrame, arrival_min: np.ndarray, opening: tuple[int, int] | None = None
) -> Hours:
    """Opening, ticket cut-off, closing (to the half hour), lunch and the working days
    the log covers. Hours come from visitors' arrivals (their first tickets: a later
    ticket of a visitor is taken whenever the previous service ends): where they come
    for half an hour in a row; closing is when windows usually make their last call.
    `opening` (opening, closing), when the hall's hours are known, is used instead: a
    log cannot show windows open and idle at the end of the day."""
    taken = arrival_min
    # arrivals in three 10-minute bins in a row, each with a tenth of a typical bin's:
    # a few stray tickets (a clock set wrong, a test ticket at 07:00) do not move them
    counts, edges = np.histogram(taken, np.arange(0, 1450, 10))
    busy = counts >= max(0.1 * np.median(counts[counts > 0]), 1)
    sustained = np.flatnonzero(busy[:-2] & busy[1:-1] & busy[2:])
    if not len(sustained):  # too few arrivals to tell: every one counts
        sustained = np.flatnonzero(counts > 0)[[0, -1]] - [0, 2]
    opens_at = _floor(edges[sustained[0]])
    cutoff_at = max(_ceil(edges[sustained[-1] + 3]), opens_at + 30)
    called = tickets["called_at"].dropna()
    day_last_call = minute_of_day(called).astype(float)
    last_call = pd.Series(day_last_call).groupby(called.dt.normalize().to_numpy()).max()
    closes_at = max(cutoff_at, _ceil(float(last_call.median())) if len(last_call) else cutoff_at)
    if opening is not None:
        opens_at, closes_at = opening
        cutoff_at = min(max(cutoff_at, opens_at + 30), closes_at)
    lunch = _lunch(taken, opens_at, cutoff_at)
    serves_holders = False
    if lunch is not None:
        calls = minute_of_day(called)
        during = ((calls >= lunch[0] + 1) & (calls < lunch[1])).sum()
        serves_holders = bool(during > 0.002 * len(calls))
    dates = tuple(sorted(set(tickets["taken_at"].dt.date)))
    seen = {WEEKDAYS[d.weekday()] for d in dates}
    weekend = tuple(w for w in WEEKDAYS if w not in seen)
    every = pd.date_range(dates[0], dates[-1]).date
    holidays = tuple(d for d in every if WEEKDAYS[d.weekday()] in seen and d not in set(dates))
    return Hours(opens_at, cutoff_at, closes_at, lunch, serves_holders, dates, weekend, holidays)


def _lunch(taken: np.ndarray, opens_at: int, cutoff_at: int) -> tuple[int, int] | None:
    """The longest stretch (at least 30 min, 10-min bins, between 10:30 and 15:30) in
    which almost nobody takes a ticket: under 2% of an average bin."""
    edges = np.arange(opens_at, cutoff_at + 10, 10)
    counts, _ = np.histogram(taken, edges)
    quiet = counts < 0.02 * counts.mean()
    best, start = None, None
    for i, q in enumerate([*quiet, False]):
        if q and start is None:
            start = i
        elif not q and start is not None:
            a, b = int(edges[start]), int(edges[i])
            if (
                b - a >= 30
                and a >= 630
                and b <= 930
                and (best is None or b - a > best[1] - best[0])
            ):
                best = (a, b)
            start = None
    return best


@dataclass(frozen=True)
class Visitors:
    """One row per visitor (date, arrival_min, n_matters, booked) and how many visitors
    brought each matter."""

    frame: pd.DataFrame
    matter_counts: pd.Series  # matter -> visitors who brought it
    linked: bool  # the log links a visitor's tickets (a visitor key)


def visitor_keys(tickets: pd.DataFrame) -> tuple[pd.Series, bool]:
    """Each ticket's visitor: the log's visitor key where more than half the tickets
    carry one (a ticket without it, a visitor of its own), else the ticket itself; and
    whether the log links tickets."""
    linked = bool(tickets["visitor"].notna().mean() > 0.5)
    ids = tickets["ticket_id"].astype(str)
    return (tickets["visitor"].fillna("#" + ids) if linked else ids), linked


def visitors_of(tickets: pd.DataFrame) -> Visitors:
    """Group tickets into visitors (visitor key and date), with the matters brought."""
    date = tickets["taken_at"].dt.normalize()
    key, linked = visitor_keys(tickets)
    frame = pd.DataFrame(
        {
            "date": date.to_numpy(),
            "key": key.to_numpy(),
            "taken": tickets["taken_at"].to_numpy(),
            "booked": tickets["booked"].to_numpy(),
        }
    )
    grouped = frame.groupby(["date", "key"], sort=False)
    visitors = grouped.agg(taken=("taken", "min"), booked=("booked", "any"))
    matters = frame[["date", "key"]].assign(matter=tickets["matter"].str.split("+").to_numpy())
    matters = matters.explode("matter").drop_duplicates()
    visitors["n_matters"] = matters.groupby(["date", "key"], sort=False).size()
    visitors = visitors.reset_index()
    visitors["arrival_min"] = minute_of_day(visitors["taken"])
    counts = matters["matter"].value_counts()
    return Visitors(visitors[["date", "arrival_min", "n_matters", "booked"]], counts, linked)


def fit_daily_demand(
    visitors: pd.DataFrame, hours: Hours, seed: int = 0
) -> tuple[dict, list[Param], pd.DataFrame]:
    """visitors_per_day, weekday_factors, after_holiday_factor and day_cv, with their
    parameters, and the observed count per date (for the report)."""
    dates = pd.DatetimeIndex([pd.Timestamp(d) for d in hours.dates])
    counts = visitors.groupby("date").size().reindex(dates, fill_value=0)
    weekday = np.array([WEEKDAYS[d.weekday()] for d in dates])
    after = _after_holiday(hours)
    rng = np.random.default_rng(seed)
    n_days = len(counts)
    params: list[Param] = []
    mean = float(counts.mean())
    boot = rng.choice(counts.to_numpy(), (_BOOT, n_days)).mean(axis=1)
    params.append(
        Param(
            "demand.visitors_per_day",
            mean,
            *np.quantile(boot, [0.025, 0.975]),
            n_days,
            "visitors",
            "days",
        )
    )
    factors: dict[str, float] = {}
    usual = ~after
    for day in [w for w in WEEKDAYS if w in set(weekday)]:
        of_day = counts.to_numpy()[(weekday == day) & usual]
        if len(of_day) == 0:
            continue
        factor = of_day.mean() / mean
        boot = rng.choice(of_day, (_BOOT, len(of_day))).mean(axis=1) / mean
        note = "days" if len(of_day) >= 3 else "days; under 3 such days: factor 1 kept"
        params.append(
            Param(
                f"demand.weekday_factors.{day}",
                factor,
                *np.quantile(boot, [0.025, 0.975]),
                len(of_day),
                "",
                note,
            )
        )
        if len(of_day) >= 3:
            factors[day] = round(float(factor), 4)
    groups = [counts.to_numpy()[(weekday == w) & usual] for w in set(weekday)]
    groups = [g for g in groups if len(g) >= 2]
    differ = len(groups) > 1 and stats.f_oneway(*groups).pvalue < 0.05
    if not differ:
        factors = {}
        params = [
            p
            if not p.name.startswith("demand.weekday_factors")
            else Param(
                **{
                    **p.__dict__,
                    "note": p.note + "; weekdays do not differ (ANOVA p >= 0.05): factor 1 kept",
                }
            )
            for p in params
        ]
    expected = mean * np.array([factors.get(w, 1.0) for w in weekday])
    demand: dict = {"visitors_per_day": round(mean, 2)}
    if factors and any(abs(f - 1) > 1e-3 for f in factors.values()):
        demand["weekday_factors"] = factors
    if after.any():
        ratio = counts.to_numpy()[after] / expected[after]
        boot = rng.choice(ratio, (_BOOT, len(ratio))).mean(axis=1)
        keep = len(ratio) >= 3
        params.append(
            Param(
                "demand.after_holiday_factor",
                float(ratio.mean()),
                *np.quantile(boot, [0.025, 0.975]),
                len(ratio),
                "",
                "days after a holiday" + ("" if keep else "; under 3: factor 1 kept"),
            )
        )
        if keep:
            demand["after_holiday_factor"] = round(float(ratio.mean()), 4)
            expected[after] *= ratio.mean()
    # beyond Poisson: Var = m + m^2 cv^2 for a gamma level of cv on a Poisson count; the
    # bootstrap resamples days within each weekday and re-estimates their means
    values, groups = counts.to_numpy()[usual], weekday[usual]
    excess = _excess(values, groups, factors)
    boot = []
    for _ in range(_BOOT):
        i = np.concatenate(
            [rng.choice(np.flatnonzero(groups == g), (groups == g).sum()) for g in set(groups)]
        )
        boot.append(_excess(values[i], groups[i], factors))
    residual = counts.to_numpy()[usual] - expected[usual]
    cv = math.sqrt(max(excess, 0.0))
    # the basic (reflected) bootstrap interval: the percentile one covered 82% at 60 days
    q_low, q_high = np.quantile(boot, [0.025, 0.975])
    low, high = (math.sqrt(max(2 * excess - q, 0.0)) for q in (q_high, q_low))
    dispersion = float((residual**2).sum() / expected[usual].sum())
    # Poisson days? The dispersion test: sum (count - mean)^2 / mean is chi-square with
    # the days less the means estimated
    free = int(usual.sum()) - max(len(factors), 1)
    p_poisson = float(stats.chi2.sf((residual**2 / expected[usual]).sum(), max(free, 1)))
    params.append(
        Param(
            "demand.day_cv",
            cv,
            low,
            high,
            int(usual.sum()),
            "",
            f"days; variance {dispersion:.2f}x Poisson's (p {p_poisson:.2g})",
        )
    )
    if n_days >= 10 and p_poisson < 0.05:
        demand["day_cv"] = round(cv, 4)
    observed = pd.DataFrame(
        {
            "date": dates.date,
            "weekday": weekday,
            "visitors": counts.to_numpy(),
            "expected": expected,
            "after_holiday": after,
        }
    )
    return demand, params, observed


def _excess(values: np.ndarray, groups: np.ndarray, factors: dict[str, float]) -> float:
    """cv^2 of the day level: (variance - mean) / mean^2 pooled over days, around the
    weekday means when weekdays differ (each weekday's variance with its own n - 1),
    else around the overall mean."""
    if not factors:
        groups = np.zeros(len(values), dtype=int)
    squares, means, squared_means = 0.0, 0.0, 0.0
    for g in set(groups.tolist()):
        x = values[groups == g].astype(float)
        if len(x) < 2:
            continue
        squares += x.var(ddof=1) * len(x)
        means += x.mean() * len(x)
        squared_means += x.mean() ** 2 * len(x)
    return (squares - means) / squared_means if squared_means else 0.0


def _after_holiday(hours: Hours) -> np.ndarray:
    """Dates whose previous working day falls before a holiday of the log."""
    holidays = set(hours.holidays)
    out = []
    for i, d in enumerate(hours.dates):
        before = hours.dates[i - 1] if i else d
        out.append(any(before + dt.timedelta(k) in holidays for k in range((d - before).days)))
    return np.array(out, dtype=bool)


def fit_profile(
    arrival_min: np.ndarray, hours: Hours, weekday: np.ndarray | None = None
) -> tuple[dict[str, float], int, list[Param], dict[str, dict[str, float]]]:
    """The arrival profile: segment length chosen by AIC among SEGMENT_CHOICES_MIN (a
    piecewise-constant density, one weight per segment), lunch one empty segment.
    Returns (profile, segment length, parameters, weekday profiles where weekdays differ)."""
    best = None
    for length in SEGMENT_CHOICES_MIN:
        edges = _edges(hours, length)
        counts, _ = np.histogram(arrival_min, edges)
        widths = np.diff(edges)
        n = counts.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = np.nansum(np.where(counts > 0, counts * np.log(counts / (n * widths)), 0.0))
        # every segment's weight is estimated (an empty one as 0), but lunch's is fixed
        lunch = hours.lunch is not None and any(e == hours.lunch[0] for e in edges[:-1])
        k = len(counts) - 1 - int(lunch)
        aic = 2 * k - 2 * ll
        if best is None or aic < best[0]:
            best = (aic, length, edges, counts)
    _, length, edges, counts = best
    profile = _as_profile(edges, counts)
    n = int(counts.sum())
    params = []
    for start, count in zip(edges[:-1], counts, strict=False):
        params.append(
            share_param(
                f"demand.arrival_profile.{format_time(start)}",
                count / n,
                n,
                int(count),
                "share of arrivals",
                f"segments of {length} min chosen by AIC",
            )
        )
    by_weekday: dict[str, dict[str, float]] = {}
    if weekday is not None and len(set(weekday)) > 1:
        table = np.array(
            [np.histogram(arrival_min[weekday == w], edges)[0] for w in sorted(set(weekday))]
        )
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] > 1 and table.sum(axis=1).min() >= 200:
            p = stats.chi2_contingency(table)[1]
            if p < 0.001:
                for w in sorted(set(weekday)):
                    c, _ = np.histogram(arrival_min[weekday == w], edges)
                    by_weekday[w] = _as_profile(edges, c)
    return profile, length, params, by_weekday


def _edges(hours: Hours, length: int) -> np.ndarray:
    """Segment edges from opening to the cut-off, lunch one segment of its own."""

    def run(a: int, b: int) -> list[int]:
        return list(range(a, b, length))

    if hours.lunch is None:
        return np.array([*run(hours.opens_at, hours.cutoff_at), hours.cutoff_at], dtype=float)
    a, b = hours.lunch
    if b >= hours.cutoff_at:
        return np.array([*run(hours.opens_at, a), a, hours.cutoff_at], dtype=float)
    return np.array(
        [*run(hours.opens_at, a), *run(a, b)[:1], *run(b, hours.cutoff_at), hours.cutoff_at],
        dtype=float,
    )


def _as_profile(edges: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """Segment start -> share of arrivals (4 decimals), merging equal neighbours' zeros."""
    total = counts.sum()
    profile: dict[str, float] = {}
    previous = None
    for start, count in zip(edges[:-1], counts, strict=False):
        weight = round(float(count / total), 4) if total else 0.0
        if weight == 0 and previous == 0:
            continue
        profile[format_time(start)] = weight
        previous = weight
    return profile
