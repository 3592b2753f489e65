"""Fewest windows that meet a service target, with a confidence statement.

A target is `KPI <= value` or `KPI >= value` on a KPI that more windows improve. It is
met when the whole 95% confidence interval across replications lies on the right side
of the value (one-sided confidence 97.5%).

* One pool (or `pool=` named): the pool is sized on the hall-wide, per-visitor KPI.
* Several pools: each pool is sized on its own per-visit KPI (every department's queue
  must meet the target), one pool at a time with the others at their latest counts,
  and the passes repeat until no count changes.
* A pool with a staffing `schedule` keeps its shape: the count is its busiest segment,
  the other segments scale with it, and the target must hold in every hour.

The search starts from Erlang C at the pool's busiest hour (arrival rate and service
time measured in a pilot run at the current counts) and confirms by simulation. All
evaluations share one seed (common random numbers), which makes the simulated KPI
monotone in the window count in practice, so a bracketing search and bisection find the
smallest passing count with few runs. The report also shows the Erlang C count for the
daily average rate, which undersizes a hall whose arrivals peak mid-morning.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from sim import kpis, theory
from sim.backoffice import working_intervals
from sim.calendar import format_time, parse_time
from sim.errors import ScenarioError
from sim.executors import Executor
from sim.experiment import RunResult, run
from sim.overrides import with_settings
from sim.scenario import Scenario

__all__ = [
    "PoolSizing",
    "ScheduleSizing",
    "SizingResult",
    "Target",
    "TargetUnreachable",
    "TeamSizing",
    "size",
    "size_schedule",
    "size_team",
]

# KPIs that more windows (or approval staff) improve, and the direction a target on them
# must take; per pool (per visit) and per hour where they are measured there
SIZABLE = kpis.sizable("windows", "visitor") | kpis.sizable("windows", "visit")
POOL_LEVEL = set(kpis.sizable("windows", "visit"))
HOURLY_KPIS = set(kpis.sizable("windows", "hour"))
TEAM_SIZABLE = kpis.sizable("staff")


class TargetUnreachable(Exception):
    """No window count up to the cap meets the target."""


@dataclass(frozen=True)
class Target:
    kpi: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        match = re.fullmatch(r"\s*(\S+?)\s*(<=|>=)\s*([-+0-9.eE]+)\s*", text)
        if not match:
            raise ScenarioError("--target", text, "write a target as KPI<=value or KPI>=value")
        kpi, op = match.group(1), match.group(2)
        try:
            value = float(match.group(3))
        except ValueError:
            raise ScenarioError("--target", text, f"{match.group(3)!r} is not a number") from None
        directions = SIZABLE | TEAM_SIZABLE
        if kpi not in directions:
            raise ScenarioError(
                "--target", kpi,
                "not a KPI windows or staff can improve (targets name KPIs by their key); "
                f"use one of {', '.join(sorted(directions))}",
            )  # fmt: skip
        if op != directions[kpi]:
            raise ScenarioError(
                "--target",
                text,
                f"more capacity moves {kpi} only the other way: use {directions[kpi]}",
            )
        return cls(kpi, op, value)

    def met(self, row: pd.Series) -> bool:
        """The whole 95% interval on the right side (a single replication: the mean)."""
        bound = row["ci_high"] if self.op == "<=" else row["ci_low"]
        if math.isnan(bound):
            bound = row["mean"]
        return bool(bound <= self.value if self.op == "<=" else bound >= self.value)

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.value:g}"


@dataclass(frozen=True)
class PoolSizing:
    """How one pool was sized."""

    pool: str
    current: int
    erlang_peak_hour: int
    erlang_daily_average: int
    sized: int
    peak_rate_per_hour: float
    average_rate_per_hour: float
    service_mean_min: float


@dataclass(frozen=True)
class SizingResult:
    target: Target
    level: str  # "hall" (per visitor) or "pool" (per visit, every pool)
    pools: list[PoolSizing]
    at_size: RunResult  # the scenario with the sized counts
    one_below: dict[str, pd.DataFrame]  # pool -> KPI summary with that pool one window fewer
    evaluations: int
    scenario: Scenario = field(repr=False)
    # every count the search tried: pool, windows, the target KPI's mean and 95% CI, met
    tried: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def windows(self) -> int:
        return sum(p.sized for p in self.pools)

    @property
    def current_windows(self) -> int:
        return sum(p.current for p in self.pools)

    def table(self) -> pd.DataFrame:
        """One row per pool: counts and the target KPI at the size and one below."""
        rows = []
        for p in self.pools:
            at = _target_row(self.at_size, self.target, p.pool, self.level)
            below = self.one_below.get(p.pool)
            below_row = None if below is None else below.set_index("kpi").loc[self.target.kpi]
            rows.append(
                {
                    "pool": p.pool,
                    "current": p.current,
                    "erlang_daily_average": p.erlang_daily_average,
                    "erlang_peak_hour": p.erlang_peak_hour,
                    "sized": p.sized,
                    "saving": p.current - p.sized,
                    "peak_rate_per_hour": p.peak_rate_per_hour,
                    "average_rate_per_hour": p.average_rate_per_hour,
                    "service_mean_min": p.service_mean_min,
                    f"{self.target.kpi}_at_size": at["mean"],
                    f"{self.target.kpi}_at_size_ci_high": at["ci_high"],
                    f"{self.target.kpi}_at_size_ci_low": at["ci_low"],
                    f"{self.target.kpi}_one_below": np.nan
                    if below_row is None
                    else below_row["mean"],
                }
            )
        return pd.DataFrame(rows)


class _Evaluations:
    """Runs of the scenario with some fields changed, each variant run once: every
    sizing search evaluates counts it has seen before (one seed: common random numbers).
    `only` names the tables a search reads (see sim.experiment.run); `full` runs a
    variant with every table, for the result."""

    def __init__(
        self,
        scenario: Scenario,
        reps: int,
        seed: int,
        executor: Executor | None,
        progress: bool,
        only: tuple[str, ...] | None = None,
    ):
        self.scenario, self.reps, self.seed = scenario, reps, seed
        self.executor, self.progress, self.only = executor, progress, only
        self._runs: dict[tuple, RunResult] = {}

    def __call__(self, settings: dict[str, Any]) -> RunResult:
        key = tuple(sorted((path, repr(value)) for path, value in settings.items()))
        if key not in self._runs:
            self._runs[key] = self._run(settings, self.only)
        return self._runs[key]

    def full(self, settings: dict[str, Any]) -> RunResult:
        return self._run(settings, None) if self.only is not None else self(settings)

    def _run(self, settings: dict[str, Any], only: tuple[str, ...] | None) -> RunResult:
        variant = with_settings(self.scenario, settings)
        return run(variant, self.reps, self.seed, self.executor, progress=self.progress, only=only)

    def __len__(self) -> int:
        return len(self._runs)


def _target_row(result: RunResult, target: Target, pool: str, level: str) -> pd.Series:
    if level == "hall":
        return result.summary.set_index("kpi").loc[target.kpi]
    pools = result.pools_summary
    return pools[pools["pool"] == pool].set_index("kpi").loc[target.kpi]


def _search(passes: Callable[[int], bool], start: int, cap: int) -> int:
    """Smallest count in [1, cap] that passes, assuming monotone passes()."""
    start = min(max(start, 1), cap)
    if passes(start):
        fail, ok, step = None, start, 1
        while fail is None:  # gallop down to a failing count
            c = ok - step
            if c < 1:
                fail = 0
            elif passes(c):
                ok, step = c, step * 2
            else:
                fail = c
    else:
        fail, ok, step = start, None, max(1, start // 4)
        while ok is None:  # gallop up to a passing count
            c = min(fail + step, cap)
            if passes(c):
                ok = c
            elif c == cap:
                raise TargetUnreachable(f"not met even with {cap} windows")
            else:
                fail, step = c, step * 2
    while ok - fail > 1:
        mid = (ok + fail) // 2
        if passes(mid):
            ok = mid
        else:
            fail = mid
    return ok


def _pilot_rates(pilot: RunResult, pool: str) -> tuple[float, float, float]:
    """(peak-hour rate, daily-average rate) per minute and mean service, measured."""
    hourly = pilot.hourly_summary
    tickets = hourly[(hourly["pool"] == pool) & (hourly["kpi"] == "tickets")]
    peak = float(tickets["mean"].max()) / 60 if len(tickets) else 0.0
    pools = pilot.pools_summary
    row = pools[pools["pool"] == pool].set_index("kpi")["mean"]
    days = pilot.capacity.days
    average = float(row["visits"]) / days / pilot.capacity.service_min_per_day
    service = float(row["service_mean_min"]) if not math.isnan(row["service_mean_min"]) else 0.0
    return peak, average, service


def size(
    scenario: Scenario,
    target: Target,
    reps: int = 10,
    seed: int = 1,
    pool: str | None = None,
    executor: Executor | None = None,
    max_windows: int = 1000,
    max_passes: int = 3,
    progress: bool = False,
) -> SizingResult:
    """Fewest windows per pool meeting the target (see the module docstring)."""
    if pool is not None and pool not in scenario.windows:
        raise ScenarioError("--pool", pool, f"no such pool; pools: {sorted(scenario.windows)}")
    names = [pool] if pool else list(scenario.windows)
    level = "hall" if pool or len(scenario.windows) == 1 else "pool"
    if level == "pool" and target.kpi not in POOL_LEVEL:
        raise ScenarioError("--target", target.kpi, "is not measured per pool; size one --pool")
    scheduled = {n for n in names if scenario.windows[n].schedule is not None}
    if scheduled and target.kpi not in HOURLY_KPIS:
        raise ScenarioError(
            "--target", target.kpi,
            f"pools with a schedule are checked hour by hour: use one of {sorted(HOURLY_KPIS)}",
        )  # fmt: skip
    counts = {name: p.count for name, p in scenario.windows.items()}
    cache = _Evaluations(scenario, reps, seed, executor, progress)

    def evaluate(counts: dict[str, int]) -> RunResult:
        settings = {}
        for n, c in counts.items():
            settings[f"windows.{n}.count"] = c
            if scenario.windows[n].schedule is not None:
                settings[f"windows.{n}.schedule"] = _scaled(scenario.windows[n].schedule, c)
        return cache(settings)

    pilot = evaluate(counts)
    estimates: dict[str, tuple[int, int, float, float, float]] = {}
    for name in names:
        peak, average, service = _pilot_rates(pilot, name)
        # service_mean_min is measured at the windows, so it already includes speed_factor
        analytic = [
            theory.min_servers(
                target.kpi, target.op, target.value, rate, service, scenario.target_wait_min
            )
            if service > 0
            else 1
            for rate in (peak, average)
        ]
        estimates[name] = (*analytic, peak * 60, average * 60, service)
        counts[name] = analytic[0]

    tried: dict[tuple[str, int], tuple[float, float, float, bool]] = {}
    for _ in range(max_passes):
        changed = False
        for name in names:

            def passes(c: int, name: str = name) -> bool:
                trial = evaluate({**counts, name: c})
                row = _target_row(trial, target, name, level)
                met = (
                    _every_hour_meets(trial, target, name) if name in scheduled else target.met(row)
                )
                tried[(name, c)] = (row["mean"], row["ci_low"], row["ci_high"], met)
                return met

            found = _search(passes, counts[name], max_windows)
            changed |= found != counts[name]
            counts[name] = found
        if not changed:
            break

    at_size = evaluate(counts)
    one_below = {
        name: (
            evaluate({**counts, name: counts[name] - 1}).summary
            if level == "hall"
            else _pool_summary(evaluate({**counts, name: counts[name] - 1}), name)
        )
        for name in names
        if counts[name] > 1
    }
    pools = [
        PoolSizing(
            pool=name,
            current=scenario.windows[name].count,
            erlang_peak_hour=estimates[name][0],
            erlang_daily_average=estimates[name][1],
            sized=counts[name],
            peak_rate_per_hour=estimates[name][2],
            average_rate_per_hour=estimates[name][3],
            service_mean_min=estimates[name][4],
        )
        for name in names
    ]
    table = pd.DataFrame(
        [(p, c, *v) for (p, c), v in sorted(tried.items())],
        columns=["pool", "windows", f"{target.kpi}_mean", "ci_low", "ci_high", "met"],
    )
    return SizingResult(target, level, pools, at_size, one_below, len(cache), scenario, table)


def _scaled(schedule: dict[str, int], peak: int) -> dict[str, int]:
    """The schedule's shape with `peak` windows at its busiest segment."""
    top = max(schedule.values())
    return {t: min(peak, math.ceil(n * peak / top)) if top else 0 for t, n in schedule.items()}


def _erlang_by_hour(
    result: RunResult, target: Target, pool: str, target_wait_min: float
) -> dict[int, int]:
    """Hour -> the M/M/c count meeting the target on that hour's tickets and mean
    service (busy window-minutes per ticket), as if the hour stood alone."""
    hourly = result.hourly_summary
    mean = hourly[hourly["pool"] == pool].pivot(index="hour", columns="kpi", values="mean")
    guesses = {}
    for hour, row in mean.iterrows():
        tickets, busy = row["tickets"], row["busy_windows_mean"]
        if not tickets > 0 or not busy > 0:
            guesses[int(hour)] = 1
            continue
        rate, service = tickets / 60, busy * 60 / tickets
        guesses[int(hour)] = theory.min_servers(
            target.kpi, target.op, target.value, rate, service, target_wait_min
        )
    return guesses


def _every_hour_meets(result: RunResult, target: Target, pool: str) -> bool:
    """The target holds for the visits of every judged hour (by ticket time) at this
    pool. An hour mostly inside the lunch break is not judged: its tickets taken at lunch
    wait for the afternoon however many windows open, so no count could meet it."""
    hourly = result.hourly_summary
    rows = hourly[(hourly["pool"] == pool) & (hourly["kpi"] == target.kpi)]
    judged = _judged_hours(result.capacity.service_intervals)
    return all(
        target.met(row)
        for _, row in rows.iterrows()
        if not math.isnan(row["mean"]) and int(row["hour"]) in judged
    )


def _judged_hours(service_intervals: tuple[tuple[int, int], ...]) -> set[int]:
    """Hours of the day in which windows call tickets, but for those with more than half
    their minutes inside a break between service intervals (lunch). The hours at opening
    and closing are judged however few minutes they serve."""
    intervals = sorted(service_intervals)
    breaks = [(end, start) for (_, end), (start, _) in pairwise(intervals) if start > end]

    def minutes(hour: int, spans) -> int:
        return sum(max(0, min(b, (hour + 1) * 60) - max(a, hour * 60)) for a, b in spans)

    return {h for h in range(48) if minutes(h, intervals) > 0 and minutes(h, breaks) <= 30}


def _pool_summary(result: RunResult, pool: str) -> pd.DataFrame:
    pools = result.pools_summary
    return pools[pools["pool"] == pool].drop(columns="pool")


@dataclass(frozen=True)
class ScheduleSizing:
    """An hour-by-hour staffing schedule meeting the target in every hour."""

    target: Target
    pool: str
    flat_daily: int  # fewest windows all day meeting the target over the whole day
    flat_hourly: int  # fewest windows all day meeting it in every hour
    schedule: dict[str, int]  # the proposed schedule, segment start -> open windows
    staff_hours: dict[str, float]  # per day, for flat_daily, flat_hourly, schedule
    at_schedule: RunResult
    evaluations: int

    def hourly(self) -> pd.DataFrame:
        """Per hour: open windows, tickets and the target KPI (mean, CI) at the schedule."""
        h = self.at_schedule.hourly_summary
        h = h[h["pool"] == self.pool]
        wide = h.pivot(index="hour", columns="kpi", values="mean")
        ci = h[h["kpi"] == self.target.kpi].set_index("hour")[["ci_low", "ci_high"]]
        out = wide[["open_windows_mean", "tickets", self.target.kpi]].join(ci)
        kpi = self.target.kpi
        names = {"ci_low": f"{kpi}_ci_low", "ci_high": f"{kpi}_ci_high"}
        return out.rename(columns=names).reset_index()


def _hour_segments(scenario: Scenario) -> list[int]:
    """Segment starts: opening time, then every full hour until closing."""
    cal = scenario.calendar
    return [cal.opens_at, *range((cal.opens_at // 60 + 1) * 60, cal.closes_at, 60)]


def size_schedule(
    scenario: Scenario,
    target: Target,
    reps: int = 10,
    seed: int = 1,
    pool: str | None = None,
    executor: Executor | None = None,
    max_windows: int = 1000,
    flat_daily: int | None = None,
    progress: bool = False,
) -> ScheduleSizing:
    """Propose open windows hour by hour so that the target holds in every hour.

    Start from the fewest windows that, open all day, meet the target in every hour
    (checked on the visits whose ticket was issued in that hour); then, hour by hour in
    time order, lower each hour's count as far as every hour still meets the target.
    Segments after the ticket cut-off keep the count of the one before, so the last
    ticket holders are not left to a single window. Staff-hours are window-hours inside
    service hours.
    """
    if target.kpi not in HOURLY_KPIS:
        raise ScenarioError(
            "--target",
            target.kpi,
            f"is not measured hour by hour; use one of {sorted(HOURLY_KPIS)}",
        )
    if pool is None:
        if len(scenario.windows) != 1:
            raise ScenarioError(
                "--pool", "", f"name the pool to staff by the hour; pools: {list(scenario.windows)}"
            )
        pool = next(iter(scenario.windows))
    if pool not in scenario.windows:
        raise ScenarioError("--pool", pool, f"no such pool; pools: {sorted(scenario.windows)}")
    starts = _hour_segments(scenario)
    labels = [format_time(t) for t in starts]
    # the search reads the hourly table only; the schedule found is run in full
    cache = _Evaluations(scenario, reps, seed, executor, progress, only=("hourly",))

    def settings(counts: tuple[int, ...]) -> dict[str, Any]:
        return {
            f"windows.{pool}.count": max(max(counts), 1),
            f"windows.{pool}.schedule": dict(zip(labels, counts, strict=True)),
        }

    def evaluate(counts: tuple[int, ...]) -> RunResult:
        return cache(settings(counts))

    def every_hour_meets(counts: tuple[int, ...]) -> bool:
        return _every_hour_meets(evaluate(counts), target, pool)

    n = len(starts)
    flat = _search(lambda c: every_hour_meets((c,) * n), flat_daily or 1, max_windows)
    guesses = _erlang_by_hour(evaluate((flat,) * n), target, pool, scenario.target_wait_min)
    counts = [flat] * n
    for i in range(n):
        if starts[i] >= scenario.calendar.cutoff_at:  # no new tickets: keep the windows
            counts[i] = counts[i - 1]  # that serve the day's last ticket holders
            continue

        def passes(c: int, i: int = i) -> bool:
            return every_hour_meets(tuple([*counts[:i], c, *counts[i + 1 :]]))

        # the search starts from Erlang C on the hour's own demand: a few counts away
        counts[i] = _search(passes, min(guesses.get(starts[i] // 60, flat), flat), flat)
    at_schedule = cache.full(settings(tuple(counts)))
    capacity = at_schedule.capacity

    def hours_of(segment_counts: list[int]) -> float:
        ends = [*starts[1:], 24 * 60]
        return (
            sum(
                c * sum(max(0, min(e, b) - max(s, a)) for a, b in capacity.service_intervals)
                for s, e, c in zip(starts, ends, segment_counts, strict=True)
            )
            / 60
        )

    daily = flat_daily if flat_daily is not None else flat
    return ScheduleSizing(
        target=target,
        pool=pool,
        flat_daily=daily,
        flat_hourly=flat,
        schedule=dict(zip(labels, counts, strict=True)),
        staff_hours={
            "flat_daily_target": hours_of([daily] * n),
            "flat_every_hour": hours_of([flat] * n),
            "schedule": hours_of(counts),
        },
        at_schedule=at_schedule,
        evaluations=len(cache),
    )


def simulated_by_hour(
    scenario: Scenario,
    target: Target,
    pools: list[str],
    reps: int = 10,
    seed: int = 1,
    executor: Executor | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Columns pool, hour, simulated: the windows `size_schedule` opens in each hour, one
    pool at a time (the others as the scenario has them), to set beside the formulas'
    answers (sim.erlang.quick_answers). An hour two segments share gets the larger; a
    pool no schedule can bring to the target is left out, with a warning."""
    rows = []
    for pool in pools:
        try:
            schedule = size_schedule(
                scenario, target, reps, seed, pool, executor, progress=progress
            )
        except TargetUnreachable as exc:  # e.g. tickets held over lunch: no count helps
            warnings.warn(f"{pool}: no hourly schedule meets {target}: {exc}", stacklevel=2)
            continue
        segments = [(parse_time(start), count) for start, count in schedule.schedule.items()]
        ends = [start for start, _ in segments[1:]] + [24 * 60]
        for hour in range(24):
            counts = [
                count
                for (start, count), end in zip(segments, ends, strict=True)
                if start < (hour + 1) * 60 and end > hour * 60
            ]
            if counts:
                rows.append({"pool": pool, "hour": hour, "simulated": max(counts)})
    frame = pd.DataFrame(rows, columns=["pool", "hour", "simulated"])
    return frame.astype({"simulated": "Int64"})


@dataclass(frozen=True)
class TeamSizing:
    """Fewest approval staff in one back-office team meeting a whole-case target."""

    target: Target
    team: str
    current: int
    offered_load_staff: float  # effort per working day / working hours: the bare minimum
    sized: int
    at_size: RunResult
    one_below: pd.DataFrame | None  # whole-case KPI summary with one staff fewer
    evaluations: int


def size_team(
    scenario: Scenario,
    target: Target,
    team: str,
    reps: int = 10,
    seed: int = 1,
    executor: Executor | None = None,
    max_staff: int = 1000,
    progress: bool = False,
) -> TeamSizing:
    """Fewest staff in `team` so that the whole-case target holds (whole 95% CI on the
    right side), the other teams and the hall as they are. Starts from the offered load
    (staff-days of effort per working day) measured in a pilot run at the current size."""
    office = scenario.backoffice
    if office is None or team not in office.teams:
        known = sorted(office.teams) if office else []
        raise ScenarioError("--team", team, f"no such back-office team; teams: {known}")
    if target.kpi not in TEAM_SIZABLE:
        raise ScenarioError(
            "--target", target.kpi, f"sizing a team needs one of {sorted(TEAM_SIZABLE)}"
        )
    cache = _Evaluations(scenario, reps, seed, executor, progress)

    def evaluate(staff: int) -> RunResult:
        return cache({f"backoffice.teams.{team}": staff})

    def row(result: RunResult) -> pd.Series:
        return result.case_summary.set_index("kpi").loc[target.kpi]

    current = office.teams[team]
    pilot = evaluate(current)
    teams = pilot.teams_summary.set_index(["team", "kpi"])["mean"]
    working_min = sum(b - a for a, b in working_intervals(scenario, team))
    load = teams.get((team, "effort_hours"), 0.0) * 60 / working_min / scenario.calendar.days
    start = max(1, math.ceil(load / 0.8))
    sized = _search(lambda c: target.met(row(evaluate(c))), start, max_staff)
    below = evaluate(sized - 1).case_summary if sized > 1 else None
    return TeamSizing(target, team, current, load, sized, evaluate(sized), below, len(cache))
