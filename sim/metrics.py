"""KPIs from an event log: pure functions, also usable on a real ticket log of the same shape.

Two kinds of numbers are kept apart:
* per-visitor / per-visit values (waits, service levels), averaged over people;
* time-weighted levels (queue length, busy windows), averaged over the clock.

Overall wait KPIs are per *visitor*: the sum of the waits of all of a visitor's queue
visits, because a person with three department tickets waits three times. Per-pool and
per-matter tables are per *visit*. Waits are over visits that were served; visits that
were abandoned or turned away count against the service level.
Every table has one row per replication (and group); `summarize` turns them into
mean and 95% confidence interval across replications.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sim import kpis
from sim.calendar import MINUTES_PER_DAY
from sim.scenario import Scenario

__all__ = [
    "HEADLINE_KPIS",
    "SHOWN_KPIS",
    "Capacity",
    "explode_matters",
    "hourly_table",
    "matter_table",
    "overlap",
    "period_table",
    "pool_table",
    "replication_table",
    "summarize",
]

HEADLINE_KPIS = kpis.headline()
SHOWN_KPIS = kpis.shown()  # overall KPIs shown on screen and at the top of reports
_QUANTILES = {"wait_p50_min": 0.5, "wait_p90_min": 0.9, "wait_p95_min": 0.95}


@dataclass(frozen=True)
class Capacity:
    """What a log cannot tell by itself: windows per pool and when they serve."""

    windows: dict[str, int]
    service_intervals: tuple[tuple[int, int], ...]  # times of day when windows call tickets
    closes_at: int
    days: int  # measured working days, after the warm-up
    target_wait_min: float
    # staffing schedules: pool -> ((start, open windows), ...); pools absent: all day
    schedules: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    # self-service kiosk pools: no staff, so not in the hall's windows, staff hours and
    # utilization (their own rows in the pool table say how busy they are)
    kiosks: frozenset[str] = frozenset()
    warmup_days: int = 0  # working days simulated first and left out of every KPI

    @property
    def first_day(self) -> int:
        return self.warmup_days

    @property
    def end_day(self) -> int:
        """The first day after the measured days (the drain starts here)."""
        return self.warmup_days + self.days

    def measured(self, frame: pd.DataFrame, day: str = "day") -> pd.DataFrame:
        """Rows whose day is a measured day (not the warm-up, not the drain)."""
        days = frame[day]
        return frame[(days >= self.first_day) & (days < self.end_day)]

    def service_minutes_before(self, clock: np.ndarray) -> np.ndarray:
        """Minutes of service hours (all days measured) between the start of the measured
        days and each clock time: busy time counted where it happens, on any day."""
        lo, hi = self.first_day * MINUTES_PER_DAY, self.end_day * MINUTES_PER_DAY
        t = np.clip(clock, lo, hi) - lo
        day, tod = np.divmod(t, MINUTES_PER_DAY)
        within = sum(np.clip(tod, a, b) - a for a, b in self.service_intervals)
        return day * self.service_min_per_day + within

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Capacity:
        cal = scenario.calendar
        return cls(
            windows={name: pool.count for name, pool in scenario.windows.items()},
            service_intervals=tuple(cal.service_intervals()),
            closes_at=cal.closes_at,
            days=cal.days,
            warmup_days=cal.warmup_days,
            target_wait_min=scenario.target_wait_min,
            schedules={
                name: tuple(pool.segments(cal.opens_at))
                for name, pool in scenario.windows.items()
                if pool.schedule is not None
            },
            kiosks=frozenset(n for n, p in scenario.windows.items() if p.channel == "kiosk"),
        )

    @property
    def service_min_per_day(self) -> int:
        return sum(b - a for a, b in self.service_intervals)

    def open_windows_between(self, pool: str, lo: float, hi: float) -> float:
        """Window-minutes a pool is staffed between two times of day."""
        segments = self.schedules.get(pool)
        if segments is None:
            start = min(a for a, _ in self.service_intervals)
            segments = ((start, self.windows[pool]),)
        ends = [s for s, _ in segments[1:]] + [2 * MINUTES_PER_DAY]  # the last runs on
        return float(
            sum(
                n * max(0.0, min(end, hi) - max(s, lo))
                for (s, n), end in zip(segments, ends, strict=True)
            )
        )

    def window_minutes(self, pool: str) -> float:
        """Staffed window-minutes a day inside service hours (opening hours less lunch)."""
        return sum(self.open_windows_between(pool, a, b) for a, b in self.service_intervals)


def overlap(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of each interval [start, end) inside [lo, hi)."""
    return np.clip(np.minimum(end, hi) - np.maximum(start, lo), 0.0, None)


def clock(visits: pd.DataFrame, column: str) -> np.ndarray:
    """A time-of-day column as clock time (minutes since day 0)."""
    return visits["day"].to_numpy() * float(MINUTES_PER_DAY) + visits[column].to_numpy()


def _served_clock(visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Clock times of the served visits' service start and end."""
    served = visits["outcome"].to_numpy() == "served"
    return clock(visits, "start_at")[served], clock(visits, "end_at")[served]


def _busy_in_hours(visits: pd.DataFrame, capacity: Capacity) -> float:
    """Window-minutes of service inside the measured days' service hours, wherever the
    visitor came from: under overload a window serves yesterday's queue all day."""
    start, end = _served_clock(visits)
    f = capacity.service_minutes_before
    return float((f(end) - f(start)).sum())


def _overtime_min(visits: pd.DataFrame, capacity: Capacity) -> float:
    """Mean over measured days of how long after closing the last service begun that day
    ended (0 on a day that closed on time)."""
    start, end = _served_clock(visits)
    day = (start // MINUTES_PER_DAY).astype(np.int64)
    inside = (day >= capacity.first_day) & (day < capacity.end_day)
    if not inside.any():
        return 0.0
    last = pd.Series(end[inside]).groupby(day[inside]).max()
    late = np.clip(
        last.to_numpy() - (last.index.to_numpy() * MINUTES_PER_DAY + capacity.closes_at), 0, None
    )
    return float(late.sum() / capacity.days)


def _wait_stats(waits: np.ndarray) -> dict[str, float]:
    if len(waits) == 0:
        return {"wait_mean_min": math.nan, "wait_max_min": math.nan} | dict.fromkeys(
            _QUANTILES, math.nan
        )
    out = {"wait_mean_min": float(waits.mean())}
    out |= {name: float(np.quantile(waits, q)) for name, q in _QUANTILES.items()}
    out["wait_max_min"] = float(waits.max())
    return out


def _ticket_service_level(visits: pd.DataFrame, capacity: Capacity) -> float:
    """Tickets served within the target wait over all tickets (abandoned and turned
    away ones count as missed)."""
    if not len(visits):
        return math.nan
    served = visits["outcome"].to_numpy() == "served"
    within = served & (visits["wait_min"].to_numpy() <= capacity.target_wait_min)
    return float(within.sum() / len(visits))


def _visit_kpis(visits: pd.DataFrame, capacity: Capacity, pool: str | None) -> dict[str, float]:
    """KPIs of a set of queue visits (one pool, one matter) in one replication: the
    visits of the measured days, and (for a pool) its busy time during them."""
    every_day, visits = visits, capacity.measured(visits)
    served = visits["outcome"] == "served"
    waits = visits.loc[served, "wait_min"].to_numpy()
    outcome_counts = visits["outcome"].value_counts()
    kpis = {
        "visits": len(visits),
        "served": int(outcome_counts.get("served", 0)),
        "abandoned": int(outcome_counts.get("abandoned", 0)),
        "unserved_at_close": int(outcome_counts.get("unserved_at_close", 0)),
        **_wait_stats(waits),
        "service_level_ticket": float((waits <= capacity.target_wait_min).sum() / len(visits))
        if len(visits)
        else math.nan,
        "service_mean_min": float(visits.loc[served, "service_min"].mean()),
    }
    if pool is not None:
        staffed = capacity.window_minutes(pool)
        kpis |= {
            "windows": capacity.windows[pool],
            "staff_hours": staffed / 60,
            "utilization": _busy_in_hours(every_day, capacity) / (staffed * capacity.days),
            "overtime_min": _overtime_min(every_day, capacity),
        }
    return kpis


def _per_visitor(log: pd.DataFrame) -> pd.DataFrame:
    """One row per visitor and trip: a person who comes back (incomplete materials, a
    result to collect) is in the hall again, on another day."""
    keys = [log["visitor"], log["trip"]]
    grouped = log.groupby(keys, sort=False)
    per = grouped.agg(
        arrival_at=("arrival_at", "first"),
        day=("day", "first"),
        wait_min=("wait_min", "sum"),
        end_at=("end_at", "max"),
        booked=("booked", "max"),  # a booked ticket on the trip (not the guide desk's)
    )
    outcome_codes = log["outcome"].cat.codes.to_numpy()  # 0 served, 1 abandoned, 2 unserved
    per["worst"] = pd.Series(outcome_codes, index=log.index).groupby(keys, sort=False).max()
    per["time_in_hall_min"] = per["end_at"] - per["arrival_at"]
    return per


def _overall(log: pd.DataFrame, capacity: Capacity) -> dict[str, float]:
    """Per visitor trip on the measured days; windows' busy time wherever it falls in
    those days."""
    measured = capacity.measured(log)
    per = _per_visitor(measured)
    fully_served = per["worst"] == 0
    waits = per.loc[fully_served, "wait_min"].to_numpy()
    staffed_pools = [pool for pool in capacity.windows if pool not in capacity.kiosks]
    staffed = sum(capacity.window_minutes(pool) for pool in staffed_pools)
    at_windows = log[~log["pool"].isin(capacity.kiosks)] if capacity.kiosks else log
    return {
        "visitors": len(per),  # visitor trips begun on the measured days
        "served": int(fully_served.sum()),
        "abandoned": int((per["worst"] == 1).sum()),
        "unserved_at_close": int((per["worst"] == 2).sum()),
        "visits": len(measured),
        **_wait_stats(waits),
        # per visitor: all of a trip's waits together, against the target
        "service_level_visitor": float((waits <= capacity.target_wait_min).sum() / len(per))
        if len(per)
        else math.nan,
        # per ticket, every stage (Qmatic's definition): each wait against the target
        "service_level_ticket": _ticket_service_level(measured, capacity),
        "time_in_hall_mean_min": float(per["time_in_hall_min"].mean()),
        "windows": sum(capacity.windows[pool] for pool in staffed_pools),
        "staff_hours": staffed / 60,
        "utilization": _busy_in_hours(at_windows, capacity) / (staffed * capacity.days),
        "overtime_min": _overtime_min(at_windows, capacity),
        **_booking_kpis(per, fully_served),
    }


def _booking_kpis(per: pd.DataFrame, fully_served: pd.Series) -> dict[str, float]:
    """Booked visitors against walk-ins, when anyone booked: how long each waited."""
    booked = per["booked"].to_numpy(bool)
    if not booked.any():
        return {}
    waits = per["wait_min"].to_numpy()
    served = fully_served.to_numpy()
    return {
        "booked_visitors": int(booked.sum()),
        "booked_wait_mean_min": _wait_stats(waits[served & booked])["wait_mean_min"],
        "walk_in_wait_mean_min": _wait_stats(waits[served & ~booked])["wait_mean_min"],
    }


def _by_replication(log: pd.DataFrame, fn) -> pd.DataFrame:
    rows = [
        {"scenario": scenario, "replication": rep, **fn(group)}
        for (scenario, rep), group in log.groupby(["scenario", "replication"], observed=True)
    ]
    return pd.DataFrame(rows)


def replication_table(log: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
    """Overall KPIs, one row per replication."""
    return _by_replication(log, lambda g: _overall(g, capacity))


def pool_table(log: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
    """Per-visit KPIs by pool, one row per replication and pool."""

    def per_pool(group: pd.DataFrame) -> list[dict]:
        return [
            {"pool": name, **_visit_kpis(group[group["pool"] == name], capacity, name)}
            for name in capacity.windows
        ]

    return _explode_groups(log, per_pool)


def explode_matters(log: pd.DataFrame) -> pd.DataFrame:
    """One row per visit and matter (a visit with two matters appears twice), in `matter`.
    Each distinct label is split once; rows only index the parts (a million rows split
    as strings took seconds)."""
    labels = log["matters"].astype("category")
    parts = [str(label).split("+") for label in labels.cat.categories]
    names = np.asarray([m for p in parts for m in p], dtype=object)  # parts, label by label
    n_parts = np.asarray([len(p) for p in parts], dtype=np.int64)
    first_part = np.cumsum(n_parts) - n_parts
    codes = labels.cat.codes.to_numpy(np.int64)
    if (codes < 0).any():
        raise ValueError("explode_matters: a visit has no matters label")
    counts = n_parts[codes]
    rows = np.repeat(np.arange(len(log)), counts)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    matter = names[first_part[codes[rows]] + within] if len(rows) else names[:0]
    return log.iloc[rows].assign(matter=matter)


def matter_table(log: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
    """Per-visit KPIs by matter (a visit with two matters counts for both)."""
    exploded = explode_matters(log)

    def per_matter(group: pd.DataFrame) -> list[dict]:
        return [
            {"matter": matter, **_visit_kpis(visits, capacity, None)}
            for matter, visits in group.groupby("matter", sort=True)
        ]

    return _explode_groups(exploded, per_matter)


def _explode_groups(log: pd.DataFrame, fn) -> pd.DataFrame:
    rows = []
    for (scenario, rep), group in log.groupby(["scenario", "replication"], observed=True):
        rows += [{"scenario": scenario, "replication": rep, **row} for row in fn(group)]
    return pd.DataFrame(rows)


def _hour_waits(waits: np.ndarray) -> dict[str, float]:
    if not len(waits):
        return dict.fromkeys(("wait_mean_min", "wait_p90_min", "wait_p95_min"), math.nan)
    p90, p95 = np.quantile(waits, [0.9, 0.95])
    return {"wait_mean_min": waits.mean(), "wait_p90_min": p90, "wait_p95_min": p95}


def _open_windows(capacity: Capacity, pool: str, lo: float, hi: float) -> float:
    pools = [pool] if pool in capacity.windows else list(capacity.windows)  # "hall": all
    return sum(capacity.open_windows_between(p, lo, hi) for p in pools)


def _in_hour_before(clock_min: np.ndarray, hour: int, capacity: Capacity) -> np.ndarray:
    """Minutes of clock hour `hour` (on any measured day) between the start of the
    measured days and each clock time."""
    lo, hi = capacity.first_day * MINUTES_PER_DAY, capacity.end_day * MINUTES_PER_DAY
    day, tod = np.divmod(np.clip(clock_min, lo, hi) - lo, MINUTES_PER_DAY)
    return day * 60.0 + np.clip(tod - hour * 60.0, 0.0, 60.0)


def hourly_table(log: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
    """By replication, pool and hour of day, over the measured days: tickets, waits and
    service level of visits whose ticket was issued in that hour (per visit), and mean
    queue length, busy and staffed windows over the hour (time-weighted, averaged over
    days, counted on the clock: a queue that lasts past midnight counts where it is)."""
    if log.empty:
        return pd.DataFrame()
    first_hour = int(min(a for a, _ in capacity.service_intervals) // 60)
    latest = np.nanmax(log["end_at"].to_numpy()) if len(log) else 0.0
    if latest > MINUTES_PER_DAY:  # queues last overnight: show every hour of the clock
        first_hour, latest = 0, MINUTES_PER_DAY
    hours = np.arange(first_hour, math.ceil(max(latest, capacity.closes_at) / 60))
    rows = []
    keys = ["scenario", "replication", "pool"]
    for (scenario, rep, pool), g in log.groupby(keys, observed=True):
        served = g["outcome"].to_numpy() == "served"
        ticket, start, end = clock(g, "ticket_at"), clock(g, "start_at"), clock(g, "end_at")
        wait_end = np.where(np.isnan(start), end, start)
        today = capacity.measured(g)
        waits = today["wait_min"].to_numpy()
        today_served = today["outcome"].to_numpy() == "served"
        hour_of_ticket = (today["ticket_at"].to_numpy() // 60).astype(int)
        for h in hours:
            in_hour = hour_of_ticket == h
            hour_waits = waits[in_hour & today_served]

            def level(a: np.ndarray, b: np.ndarray, h: int = h) -> float:
                inside = _in_hour_before(b, h, capacity) - _in_hour_before(a, h, capacity)
                return float(inside.sum() / (60.0 * capacity.days))

            rows.append(
                {
                    "scenario": scenario,
                    "replication": rep,
                    "pool": pool,
                    "hour": int(h),
                    "tickets": in_hour.sum() / capacity.days,
                    **_hour_waits(hour_waits),
                    "service_level_ticket": (hour_waits <= capacity.target_wait_min).sum()
                    / in_hour.sum()
                    if in_hour.any()
                    else math.nan,
                    "queue_length_mean": level(ticket, wait_end),
                    "busy_windows_mean": level(start[served], end[served]),
                    "open_windows_mean": _open_windows(capacity, str(pool), h * 60.0, h * 60.0 + 60)
                    / 60.0,
                }
            )
    return pd.DataFrame(rows)


PERIODS = ("warmup", "measured", "drain")


def period_table(log: pd.DataFrame, cases: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
    """Per replication and period: what happened in the warm-up, on the measured days
    and in the drain after the last day (return and collection trips, cases still
    open), so that what the KPIs leave out is reported, not lost."""

    def period_of(day: np.ndarray) -> np.ndarray:
        return np.select([day < capacity.first_day, day < capacity.end_day], [0, 1], 2)

    rows = []
    for (scenario, rep), g in log.groupby(["scenario", "replication"], observed=True):
        trip_period = period_of(g["day"].to_numpy())
        c = (
            cases[(cases["scenario"] == scenario) & (cases["replication"] == rep)]
            if len(cases)
            else cases
        )
        for code, name in enumerate(PERIODS):
            visits = g[trip_period == code]
            days = visits["day"]
            row = {
                "scenario": scenario,
                "replication": rep,
                "period": name,
                "days_with_visits": int(days.nunique()),
                "last_visit_day": float(days.max()) if len(days) else math.nan,
                "visitor_trips": int(visits[["visitor", "trip"]].drop_duplicates().shape[0]),
                "visits": len(visits),
                "served": int((visits["outcome"] == "served").sum()),
            }
            if len(c):
                row["cases_accepted"] = int((period_of(c["accepted_day"].to_numpy()) == code).sum())
                row["cases_finished"] = int((period_of(c["finished_day"].to_numpy()) == code).sum())
            rows.append(row)
    return pd.DataFrame(rows)


def summarize(table: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Mean and 95% t confidence interval across replications, one row per group and KPI.

    Columns: *by, kpi, mean, ci_low, ci_high, half_width, replications. The interval is
    NaN with a single replication (no spread to estimate).
    """
    by = ["scenario", *(by or [])]
    columns = [*by, "kpi", "mean", "ci_low", "ci_high", "half_width", "replications"]
    if table.empty:  # e.g. a table a lean run did not compute
        return pd.DataFrame(columns=columns)
    value_cols = [
        c
        for c in table.columns
        if c not in {*by, "replication"} and pd.api.types.is_numeric_dtype(table[c])
    ]
    long = table.melt(id_vars=[*by, "replication"], value_vars=value_cols, var_name="kpi")
    long["kpi"] = pd.Categorical(long["kpi"], categories=value_cols)
    grouped = long.groupby([*by, "kpi"], observed=True, sort=False)["value"]
    out = grouped.agg(mean="mean", sd="std", replications="count").reset_index()
    t = stats.t.ppf(0.975, np.maximum(out["replications"] - 1, 1))
    half = np.where(out["replications"] > 1, t * out["sd"] / np.sqrt(out["replications"]), np.nan)
    out["half_width"] = half
    out["kpi"] = out["kpi"].astype(str)
    # an interval stays inside what the KPI can be: no negative wait or count, no share
    # above 1 (the t interval cut at the bound; half_width keeps the spread)
    known = out["kpi"].isin(list(kpis.KPIS))
    share = out["kpi"].map(lambda k: k in kpis.KPIS and kpis.KPIS[k].unit == "share")
    low, high = out["mean"] - half, out["mean"] + half
    out["ci_low"] = np.where(known, np.maximum(low, 0.0), low)
    out["ci_high"] = np.where(share, np.minimum(high, 1.0), high)
    return out[columns]
