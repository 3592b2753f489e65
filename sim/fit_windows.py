"""Windows from a ticket log: which pools there are, how fast each works, and how many
windows are open by time of day.

Pools are discovered from what each window served: windows serving the same
departments (Jaccard similarity of their department sets at least 0.7) form one pool,
named as the hall names its windows where they share a name but for their number
(综合窗口-1 .. 综合窗口-7: 综合窗口); else a pool serving every department is
comprehensive, one serving one department is named after it. A window is open on a day from its
first call to its last finish, less any gap of 45 minutes or more (lunch, a break),
and from opening or to closing when it works within an hour of them (of the ticket
cut-off, for closing): a log shows windows at work, not windows staffed and idle, so
open windows of a quiet pool are otherwise underestimated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import format_time
from sim.fit_demand import Hours, Param, minute_of_day

__all__ = ["FittedPool", "discover_pools", "open_windows", "speed_factors"]

_SIMILAR = 0.7  # Jaccard similarity of department sets that puts windows in one pool
_GAP_MIN = 45  # a window idle this long is closed meanwhile
_BIN_MIN = 30  # schedule resolution
_EDGE_MIN = 60  # at work this close to opening or to the cut-off: open from or to the edge


@dataclass(frozen=True)
class FittedPool:
    name: str
    windows: tuple[str, ...]
    departments: tuple[str, ...]
    serves_all: bool


def discover_pools(served: pd.DataFrame) -> list[FittedPool]:
    """Pools from served tickets (window, department): windows grouped by the
    departments they served (a department counts for a window from 0.5% of its tickets)."""
    signature: dict[str, frozenset[str]] = {}
    for window, departments in served.groupby("window")["department"]:
        counts = departments.str.split("+").explode().value_counts()
        keep = counts[counts >= max(1, 0.005 * len(departments))]
        signature[str(window)] = frozenset(keep.index)
    everything = frozenset().union(*signature.values())
    groups: list[tuple[set[str], list[str]]] = []
    for window in sorted(signature, key=lambda w: (-len(signature[w]), w)):
        sig = signature[window]
        for union, members in groups:
            if len(sig & union) / len(sig | union) >= _SIMILAR:
                union |= sig
                members.append(window)
                break
        else:
            groups.append((set(sig), [window]))
    pools, names = [], set()
    for union, members in groups:
        serves_all = union == everything
        stems = {_stem(w) for w in members}
        if len(stems) == 1 and next(iter(stems)):  # the hall's own name: 综合窗口-1..7
            name = next(iter(stems))
        elif serves_all and len(union) > 1:
            name = "comprehensive"
        elif len(union) == 1:
            name = next(iter(union))
        else:
            name = "+".join(sorted(union)[:3]) + ("+..." if len(union) > 3 else "")
        while name in names:
            name += "'"
        names.add(name)
        pools.append(FittedPool(name, tuple(sorted(members)), tuple(sorted(union)), serves_all))
    return pools


def _stem(window: str) -> str:
    """A window's name without its number: '综合窗口-3' -> '综合窗口', 'tax 12' -> 'tax'."""
    return re.sub(r"[\s\-_#.]*\d+\s*号?$", "", window).strip()


def speed_factors(
    served: pd.DataFrame, pool_of_window: dict[str, str]
) -> tuple[dict[str, float], list[Param], list[str]]:
    """Pool speeds relative to the fastest pool (speed 1, the specialists), through the
    busiest pool: each pool is compared with the busiest on the matters both serve, then
    all are divided by the fastest's ratio. Windows' speeds are relative to their pool
    (see _speeds_against). Returns (speeds, parameters, pools that share no matter with
    the busiest: speed 1, not identifiable)."""
    pools = sorted(set(pool_of_window.values()))
    single = served[~served["matter"].str.contains("+", regex=False)]
    if single.empty:
        return dict.fromkeys(pools, 1.0), [], pools
    busiest = single["window"].map(pool_of_window).value_counts().index[0]
    ratios, params, unidentified = _speeds_against(served, pool_of_window, busiest)
    unidentified += [p for p in pools if p not in ratios]
    fastest = max((p for p in ratios if p not in unidentified), key=ratios.get)
    top = ratios[fastest]
    speeds = {p: (1.0 if p in unidentified else ratios[p] / top) for p in pools}
    cis = {
        p.name.removeprefix("windows.").removesuffix(".speed_factor"): (p.ci_low, p.ci_high, p.n)
        for p in params
        if p.name.endswith(".speed_factor")
    }
    if fastest != busiest:  # the busiest's own uncertainty is the fastest's, inverted
        low, high, n = cis[fastest]
        cis[busiest] = (1 / high, 1 / low, n)
    else:
        cis[busiest] = (1.0, 1.0, len(single))
    out = [p for p in params if not p.name.endswith(".speed_factor")]
    for pool in pools:
        if pool in unidentified or pool == fastest:
            continue
        low, high, n = cis[pool]
        scale = 1.0 if pool == busiest else 1 / top
        out.append(
            Param(
                f"windows.{pool}.speed_factor",
                speeds[pool],
                low * scale,
                high * scale,
                n,
                "",
                f"relative to the fastest pool, {fastest}, through {busiest}",
            )
        )
    return speeds, out, unidentified


def _speeds_against(
    served: pd.DataFrame, pool_of_window: dict[str, str], reference: str
) -> tuple[dict[str, float], list[Param], list[str]]:
    """Each pool's speed relative to the reference pool,
    from the matters both serve (mean service of the same matter, weighted by tickets);
    each window's speed relative to its pool likewise (reported, not modelled: the
    model's windows in a pool are identical). A pool sharing no matter with the
    reference keeps speed 1 (its speed and its matters' times cannot be told apart) and
    is listed third."""
    single = served[~served["matter"].str.contains("+", regex=False)].assign(
        pool=lambda f: f["window"].map(pool_of_window)
    )
    means = single.groupby(["pool", "matter"])["service_min"].agg(["mean", "size"])
    factors: dict[str, float] = {reference: 1.0}
    params: list[Param] = []
    unidentified: list[str] = []
    ref = means.loc[reference]
    for pool in single["pool"].unique():
        if pool == reference:
            continue
        mine = means.loc[pool]
        shared = mine.index.intersection(ref.index)
        if not len(shared):
            factors[pool] = 1.0
            unidentified.append(pool)
            continue
        weight = mine.loc[shared, "size"]
        factor = float(
            (weight * ref.loc[shared, "mean"]).sum() / (weight * mine.loc[shared, "mean"]).sum()
        )
        low, high = _ratio_ci(single, pool, reference, shared)
        factors[pool] = factor
        params.append(
            Param(
                f"windows.{pool}.speed_factor",
                factor,
                low,
                high,
                int(weight.sum()),
                "",
                f"relative to {reference}, on {len(shared)} shared matters",
            )
        )
    # windows within their pool
    expected = single.groupby(["pool", "matter"])["service_min"].transform("mean")
    ratio = single.assign(expected=expected).groupby("window")[["expected", "service_min"]].sum()
    counts = single.groupby("window").size()
    alone = {p for p, n in pd.Series(pool_of_window).value_counts().items() if n == 1}
    for window, row in ratio.iterrows():
        if pool_of_window[str(window)] in alone:
            continue
        n = int(counts[window])
        factor = row["expected"] / row["service_min"]
        cv = single.loc[single["window"] == window, "service_min"].std() / max(
            single.loc[single["window"] == window, "service_min"].mean(), 1e-9
        )
        half = 1.96 * cv / math.sqrt(max(n, 1)) * factor
        params.append(
            Param(
                f"window {window}",
                factor,
                factor - half,
                factor + half,
                n,
                "",
                f"speed relative to pool {pool_of_window[str(window)]} (not modelled)",
            )
        )
    return factors, params, unidentified


def _ratio_ci(single: pd.DataFrame, pool: str, reference: str, shared) -> tuple[float, float]:
    """Bootstrap CI (200 resamples of tickets) of the speed ratio of two pools."""
    rng = np.random.default_rng(0)
    ratios = []
    part = single[single["matter"].isin(shared) & single["pool"].isin([pool, reference])]
    values = part["service_min"].to_numpy()
    key = (part["pool"] + "\x00" + part["matter"]).to_numpy()
    for _ in range(200):
        i = rng.integers(0, len(part), len(part))
        sample = (
            pd.DataFrame({"key": key[i], "v": values[i]}).groupby("key")["v"].agg(["mean", "size"])
        )
        mine = sample[sample.index.str.startswith(pool + "\x00")]
        ref = sample[sample.index.str.startswith(reference + "\x00")]
        mine.index = mine.index.str.split("\x00").str[1]
        ref.index = ref.index.str.split("\x00").str[1]
        both = mine.index.intersection(ref.index)
        w = mine.loc[both, "size"]
        ratios.append((w * ref.loc[both, "mean"]).sum() / (w * mine.loc[both, "mean"]).sum())
    return tuple(float(q) for q in np.quantile(ratios, [0.025, 0.975]))  # type: ignore[return-value]


def open_windows(served: pd.DataFrame, windows: tuple[str, ...], hours: Hours) -> pd.DataFrame:
    """Windows of a pool open in each half hour of each day (rows: date, columns: bin
    start in minutes): a window is open from its first call to its last finish of the
    day, less gaps of _GAP_MIN or more, stretched to opening and closing when it works
    within _EDGE_MIN of them."""
    mine = served[served["window"].isin(windows)]
    edges = np.arange(hours.opens_at, hours.closes_at + _BIN_MIN, _BIN_MIN)
    edges = edges[edges <= hours.closes_at]
    dates = [pd.Timestamp(d) for d in hours.dates]
    table = pd.DataFrame(0.0, index=pd.DatetimeIndex(dates), columns=edges[:-1])
    start = minute_of_day(mine["called_at"])
    end = (
        minute_of_day(mine["finished_at"])
        + 1440
        * (mine["finished_at"].dt.normalize() - mine["called_at"].dt.normalize()).dt.days.to_numpy()
    )
    frame = pd.DataFrame(
        {
            "date": mine["called_at"].dt.normalize().to_numpy(),
            "window": mine["window"].to_numpy(),
            "start": start,
            "end": end,
        }
    )
    frame = frame.sort_values(["date", "window", "start"], ignore_index=True)
    # spans of work: a new one where the window changes or idles _GAP_MIN or more
    group = frame.groupby(["date", "window"], sort=False)
    latest_end = group["end"].cummax()
    previous_end = latest_end.groupby([frame["date"], frame["window"]], sort=False).shift()
    new_span = previous_end.isna() | (frame["start"] - previous_end >= _GAP_MIN)
    spans = (
        frame.assign(span=new_span.cumsum())
        .groupby("span")
        .agg(date=("date", "first"), start=("start", "min"), end=("end", "max"))
    )
    # the day's edges: a window at work within an hour of opening was there from
    # opening, and one at work in the last hour before the ticket cut-off stays until
    # closing (idle at the end of a quiet day, not gone)
    spans.loc[spans["start"] < hours.opens_at + _EDGE_MIN, "start"] = hours.opens_at
    spans.loc[spans["end"] >= hours.cutoff_at - _EDGE_MIN, "end"] = np.maximum(
        spans.loc[spans["end"] >= hours.cutoff_at - _EDGE_MIN, "end"], hours.closes_at
    )
    # a half hour counts when the window works in it at all (a window that opens or
    # closes within it is taken to be staffed for all of it): add each span's bins
    n_bins = len(edges) - 1
    first = np.floor((spans["start"].to_numpy() - edges[0]) / _BIN_MIN).astype(int)
    last = np.ceil((spans["end"].to_numpy() - edges[0]) / _BIN_MIN).astype(int) - 1
    first, last = np.clip(first, 0, n_bins), np.clip(last, -1, n_bins - 1)
    keep = first <= last
    day_of = pd.Series(np.arange(len(table)), index=table.index)
    row = day_of.reindex(pd.DatetimeIndex(spans["date"])).to_numpy()
    keep &= ~np.isnan(row)
    counts = np.zeros((len(table), n_bins + 1))
    np.add.at(counts, (row[keep].astype(int), first[keep]), 1)
    np.add.at(counts, (row[keep].astype(int), last[keep] + 1), -1)
    table.loc[:, :] = np.cumsum(counts, axis=1)[:, :n_bins]
    return table


def schedule_from(table: pd.DataFrame, count: int, hours: Hours) -> dict[str, int] | None:
    """A pool's `schedule:` from its open windows by half hour (the mean over days,
    rounded); lunch takes the value before it (the calendar's lunch closes windows);
    none when every half hour has all windows open."""
    mean = table.mean(axis=0)
    values: dict[int, int] = {}
    previous = None
    for start, open_ in mean.items():
        in_lunch = hours.lunch is not None and hours.lunch[0] <= start < hours.lunch[1]
        value = previous if in_lunch and previous is not None else round(open_)
        values[int(start)] = min(max(value, 1), count)
        previous = values[int(start)]
    if all(v == count for v in values.values()):
        return None
    schedule: dict[str, int] = {}
    last = None
    for start, value in values.items():
        if value != last:
            schedule[format_time(start)] = value
            last = value
    return schedule
