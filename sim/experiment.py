"""Replications of a scenario: (Scenario, seed) -> event logs -> KPI tables.

Each replication is a pure function of (scenario, seed, replication number), so runs can
later be spread over processes without shared state, and the same seed gives the same
output byte for byte. Two scenarios run with the same seed share their visitors
(common random numbers, see sim.streams).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sim.hall import simulate
from sim.metrics import (
    Capacity,
    hourly_table,
    matter_table,
    pool_table,
    replication_table,
    summarize,
)
from sim.scenario import Scenario
from sim.streams import DEFAULT_SEED

__all__ = ["RunResult", "analyse", "run", "simulate_replications"]


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


def simulate_replications(scenario: Scenario, reps: int, seed: int) -> pd.DataFrame:
    """Event logs of replications 0..reps-1, concatenated."""
    logs = [simulate(scenario, seed, r) for r in range(reps)]
    return pd.concat(logs, ignore_index=True) if len(logs) > 1 else logs[0]


def analyse(scenario: Scenario, log: pd.DataFrame, seed: int, reps: int) -> RunResult:
    """KPI tables of an event log produced for `scenario`."""
    capacity = Capacity.from_scenario(scenario)
    return RunResult(
        scenario=scenario,
        seed=seed,
        replications=reps,
        log=log,
        capacity=capacity,
        kpis=replication_table(log, capacity),
        pools=pool_table(log, capacity),
        matters=matter_table(log, capacity),
        hourly=hourly_table(log, capacity),
    )


def run(scenario: Scenario, reps: int = 10, seed: int = DEFAULT_SEED) -> RunResult:
    """Simulate `reps` replications and compute every KPI table."""
    if reps < 1:
        raise ValueError("reps must be >= 1")
    return analyse(scenario, simulate_replications(scenario, reps, seed), seed, reps)
