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

import pandas as pd
from tqdm import tqdm

from sim.executors import Executor
from sim.hall import simulate
from sim.metrics import (
    HEADLINE_KPIS,
    Capacity,
    hourly_table,
    matter_table,
    pool_table,
    replication_table,
    summarize,
)
from sim.scenario import Scenario
from sim.streams import DEFAULT_SEED

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

    @property
    def summary(self) -> pd.DataFrame:
        return summarize(self.kpis)

    @property
    def pools_summary(self) -> pd.DataFrame:
        return summarize(self.pools, by=["pool"])

    @property
    def matters_summary(self) -> pd.DataFrame:
        return summarize(self.matters, by=["matter"])

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


@dataclass(frozen=True)
class _Replication:
    """One replication's log and KPI tables, computed where it was simulated."""

    log: pd.DataFrame
    kpis: pd.DataFrame
    pools: pd.DataFrame
    matters: pd.DataFrame
    hourly: pd.DataFrame


def _tables(log: pd.DataFrame, capacity: Capacity) -> dict[str, pd.DataFrame]:
    return {
        "kpis": replication_table(log, capacity),
        "pools": pool_table(log, capacity),
        "matters": matter_table(log, capacity),
        "hourly": hourly_table(log, capacity),
    }


def _replicate(scenario: Scenario, seed: int, replication: int) -> _Replication:
    """The unit of parallel work: simulate one replication and compute its tables."""
    log = simulate(scenario, seed, replication)
    return _Replication(log=log, **_tables(log, Capacity.from_scenario(scenario)))


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _replications(
    scenario: Scenario, seed: int, replications: range, executor: Executor, progress: bool
) -> list[_Replication]:
    tasks = [(scenario, seed, r) for r in replications]
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


def analyse(scenario: Scenario, log: pd.DataFrame, seed: int, reps: int) -> RunResult:
    """KPI tables of an event log produced for `scenario` (or a real log of that shape)."""
    capacity = Capacity.from_scenario(scenario)
    return RunResult(scenario, seed, reps, log, capacity, **_tables(log, capacity))


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
) -> RunResult:
    """Simulate replications and compute every KPI table.

    With `precision` (e.g. 0.05), replications are added in batches, starting from
    `reps`, until every headline KPI's 95% CI half-width is within that share of its
    mean (or under ABSOLUTE_PRECISION), or `max_reps` is reached. The replications run
    are always 0..n-1, so the result equals a fixed-count run of the same n.
    """
    if reps < 1:
        raise ValueError("reps must be >= 1")
    executor = executor or Executor()
    parts = _replications(scenario, seed, range(reps), executor, progress)
    while precision is not None and len(parts) < max_reps:
        if not imprecise_kpis(_concat([p.kpis for p in parts]), precision):
            break
        done = len(parts)
        batch = min(max(executor.jobs, math.ceil(done / 2)), max_reps - done)
        parts += _replications(scenario, seed, range(done, done + batch), executor, progress)
    capacity = Capacity.from_scenario(scenario)
    tables = {
        name: _concat([getattr(p, name) for p in parts])
        for name in ("log", "kpis", "pools", "matters", "hourly")
    }
    return RunResult(scenario, seed, len(parts), capacity=capacity, **tables)
