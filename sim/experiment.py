"""Replications of a scenario: (Scenario, seed) -> event logs -> KPI tables.

Each replication is a pure function of (scenario, seed, replication number), so runs can
be spread over processes or a cluster without shared state, and the same seed gives the
same output byte for byte. Two scenarios run with the same seed share their visitors
(common random numbers, see sim.streams).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd
from tqdm import tqdm

from sim.backoffice import working_intervals
from sim.case_metrics import (
    backlog_table,
    case_kpi_table,
    case_matter_table,
    case_outcomes,
    team_table,
)
from sim.executors import Executor
from sim.hall import Simulated, simulate, simulate_all
from sim.metrics import (
    HEADLINE_KPIS,
    Capacity,
    hourly_table,
    matter_table,
    period_table,
    pool_table,
    replication_table,
    summarize,
)
from sim.scenario import Scenario
from sim.streams import DEFAULT_SEED

if TYPE_CHECKING:
    from sim.trace import Trace

__all__ = [
    "RunResult",
    "analyse",
    "imprecise_kpis",
    "progress_enabled",
    "run",
    "simulate_replications",
]


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced. Tables are pandas DataFrames; `*_summary` tables hold
    mean and 95% CI across replications."""

    scenario: Scenario
    seed: int
    replications: int
    log: pd.DataFrame
    capacity: Capacity
    kpis: pd.DataFrame = field(repr=False)
    pools: pd.DataFrame = field(repr=False)
    matters: pd.DataFrame = field(repr=False)
    hourly: pd.DataFrame = field(repr=False)
    # what the warm-up and the drain after the last day held, apart from the KPIs
    periods: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    # the whole case (empty without a back office)
    cases: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    steps: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    case_kpis: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    case_matters: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    teams: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    backlog: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def summary(self) -> pd.DataFrame:
        return summarize(self.kpis)

    @property
    def case_summary(self) -> pd.DataFrame:
        """Same-day rate, lead times, on-time rates: mean and 95% CI."""
        return summarize(self.case_kpis) if not self.case_kpis.empty else pd.DataFrame()

    @property
    def case_matters_summary(self) -> pd.DataFrame:
        """The whole-case KPIs by matter: mean and 95% CI."""
        if self.case_matters.empty:
            return pd.DataFrame()
        return summarize(self.case_matters, by=["matter"])

    @property
    def teams_summary(self) -> pd.DataFrame:
        return summarize(self.teams, by=["team"]) if not self.teams.empty else pd.DataFrame()

    @property
    def backlog_summary(self) -> pd.DataFrame:
        return summarize(self.backlog, by=["day"]) if not self.backlog.empty else pd.DataFrame()

    @property
    def pools_summary(self) -> pd.DataFrame:
        return summarize(self.pools, by=["pool"])

    @property
    def matters_summary(self) -> pd.DataFrame:
        return summarize(self.matters, by=["matter"])

    @property
    def periods_summary(self) -> pd.DataFrame:
        """The warm-up, the measured days and the drain: visits and cases in each."""
        return summarize(self.periods, by=["period"]) if not self.periods.empty else pd.DataFrame()

    @property
    def hourly_summary(self) -> pd.DataFrame:
        return summarize(self.hourly, by=["pool", "hour"])

    def kpi(self, name: str) -> float:
        """Mean across replications of one overall KPI, e.g. result.kpi('wait_p90_min')."""
        summary = self.summary.set_index("kpi")
        if name not in summary.index:
            raise KeyError(f"unknown KPI {name!r}; known: {', '.join(summary.index)}")
        return float(summary.loc[name, "mean"])


def progress_enabled() -> bool:
    """Progress bars on an interactive terminal only: quiet in CI and in pipes."""
    return sys.stderr.isatty() and not os.environ.get("CI")


TABLES = ("log", "kpis", "pools", "matters", "hourly", "periods",
          "cases", "steps", "case_kpis", "case_matters", "teams", "backlog")  # fmt: skip


def _tables(
    scenario: Scenario,
    out: Simulated,
    replication: int | None = None,
    only: tuple[str, ...] | None = None,
    capacity: Capacity | None = None,
) -> dict[str, pd.DataFrame]:
    """Every KPI table of one replication's logs, or `only` those named."""
    capacity = capacity or Capacity.from_scenario(scenario)
    log = out.log

    def kpi_table(log: pd.DataFrame, capacity: Capacity) -> pd.DataFrame:
        kpis = replication_table(log, capacity)
        if kpis.empty and replication is not None:  # nobody came: a row of zeros, not none
            nobody = dict.fromkeys(
                ("visitors", "served", "abandoned", "unserved_at_close", "visits"), 0
            )
            kpis = pd.DataFrame([{"scenario": scenario.name, "replication": replication, **nobody}])
        return kpis

    if only is not None:
        lean = {"hourly": hourly_table, "pools": pool_table, "kpis": kpi_table}
        unknown = set(only) - set(lean)
        if unknown:
            raise ValueError(f"only: {sorted(unknown)} cannot be computed alone; {sorted(lean)}")
        return {name: lean[name](log, capacity) for name in only}
    # a log without a case log (sim.analyse on a ticket log) has no case outcomes
    cases = case_outcomes(out.cases) if "accepted_day" in out.cases else out.cases
    kpis = kpi_table(log, capacity)
    tables = {
        "log": log,
        "kpis": kpis,
        "pools": pool_table(log, capacity),
        "matters": matter_table(log, capacity),
        "hourly": hourly_table(log, capacity),
        "cases": cases,
        "steps": out.steps,
    }
    tables["periods"] = period_table(log, cases, capacity)
    tables["case_kpis"] = case_kpi_table(log, cases, out.online, capacity)
    if scenario.whole_case:
        tables["case_matters"] = case_matter_table(log, cases, out.online, capacity)
    if scenario.backoffice is not None:
        working = {
            team: sum(b - a for a, b in working_intervals(scenario, team))
            for team in scenario.backoffice.teams
        }
        replications = list(log[["scenario", "replication"]].drop_duplicates().itertuples(False))
        tables |= {
            "teams": team_table(
                out.steps,
                scenario.backoffice.teams,
                working,
                capacity,
                [(str(s), int(r)) for s, r in replications],
            ),
            "backlog": backlog_table(cases),
        }
    return tables


def _replicate(
    scenario: Scenario,
    seed: int,
    replication: int,
    only: tuple[str, ...] | None = None,
    trace: Trace | None = None,
) -> dict[str, pd.DataFrame]:
    """The unit of parallel work: simulate one replication and compute its tables."""
    simulated = simulate_all(scenario, seed, replication, trace)
    return _tables(scenario, simulated, replication, only)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty] or frames[:1]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _replications(
    scenario: Scenario,
    seed: int,
    replications: range,
    executor: Executor,
    progress: bool,
    only: tuple[str, ...] | None = None,
    trace: Trace | None = None,
) -> list[dict[str, pd.DataFrame]]:
    tasks = [(scenario, seed, r, only, trace) for r in replications]
    results = executor.imap(_replicate, tasks)
    if progress:
        results = tqdm(results, total=len(tasks), desc=scenario.name, unit="rep", leave=False)
    return list(results)


def simulate_replications(
    scenario: Scenario,
    reps: int,
    seed: int,
    executor: Executor | None = None,
    first: int = 0,
) -> pd.DataFrame:
    """Event logs of replications first .. first+reps-1, concatenated in order."""
    executor = executor or Executor()
    tasks = [(scenario, seed, r) for r in range(first, first + reps)]
    return _concat(list(executor.imap(simulate, tasks)))


def analyse(
    scenario: Scenario,
    log: pd.DataFrame,
    seed: int,
    reps: int,
    capacity: Capacity | None = None,
) -> RunResult:
    """KPI tables of an event log produced for `scenario` (or a real log of that shape:
    then give the hall's own `capacity`, sim.trace.observed_capacity)."""
    capacity = capacity or Capacity.from_scenario(scenario)
    empty = pd.DataFrame()
    tables = _tables(scenario, Simulated(log, empty, empty, empty), capacity=capacity)
    hall_tables = ("log", "kpis", "pools", "matters", "hourly", "periods")
    tables = {k: v for k, v in tables.items() if k in hall_tables}
    return RunResult(scenario, seed, reps, capacity=capacity, **tables)


# A CI half-width this small is precise enough whatever the mean: 15 seconds on a wait,
# half a percentage point on a share. Without it a near-zero mean wait never converges.
ABSOLUTE_PRECISION = {"_min": 0.25, "share": 0.005}


def imprecise_kpis(kpis: pd.DataFrame, precision: float) -> dict[str, float]:
    """Headline KPIs whose 95% CI half-width exceeds both `precision` x |mean| and the
    absolute floor; name -> half-width."""
    summary = summarize(kpis).set_index("kpi")
    loose = {}
    for name in HEADLINE_KPIS:
        mean, half = summary.loc[name, "mean"], summary.loc[name, "half_width"]
        floor = ABSOLUTE_PRECISION["_min" if name.endswith("_min") else "share"]
        if math.isnan(half) or half > max(precision * abs(mean), floor):
            loose[name] = half
    return loose


def run(
    scenario: Scenario,
    reps: int = 10,
    seed: int = DEFAULT_SEED,
    executor: Executor | None = None,
    precision: float | None = None,
    max_reps: int = 200,
    progress: bool = False,
    only: tuple[str, ...] | None = None,
    trace: Trace | None = None,
) -> RunResult:
    """Simulate replications and compute every KPI table.

    With `precision` (e.g. 0.05), replications are added in batches, starting from
    `reps`, until every headline KPI's 95% CI half-width is within that share of its
    mean (or under ABSOLUTE_PRECISION), or `max_reps` is reached. The replications run
    are always 0..n-1, so the result equals a fixed-count run of the same n.

    `only` (e.g. ("hourly",)) computes just those tables, and the others are empty: a
    search that reads one table need not pay for the rest, nor ship the logs back.
    `trace` replays observed visitors (sim.trace) instead of drawing them; the
    scenario must be on the trace's days (Trace.scenario_for).
    """
    if reps < 1:
        raise ValueError("reps must be >= 1")
    if only is not None and precision is not None:
        raise ValueError("precision needs the KPI table: run without only=")
    executor = executor or Executor()
    parts = _replications(scenario, seed, range(reps), executor, progress, only, trace)
    while precision is not None and len(parts) < max_reps:
        if not imprecise_kpis(_concat([p["kpis"] for p in parts]), precision):
            break
        done = len(parts)
        batch = min(max(executor.jobs, math.ceil(done / 2)), max_reps - done)
        parts += _replications(
            scenario, seed, range(done, done + batch), executor, progress, trace=trace
        )
    tables = {name: _concat([p[name] for p in parts if name in p]) for name in TABLES}
    return RunResult(
        scenario, seed, len(parts), capacity=Capacity.from_scenario(scenario), **tables
    )
