"""Paired comparison of scenarios run on common random numbers.

All scenarios run with the same seed, so replication r of each sees the same visitors.
Per KPI the difference alternative - baseline is taken replication by replication, and
its mean gets a t confidence interval; with more than one alternative the confidence is
Bonferroni-adjusted (1 - 0.05 / number of alternatives), so all intervals hold together.
Differences are reported overall, by matter, by pool (pools present in both) and by hour
(hall-wide, since pools differ between designs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from sim.executors import Executor
from sim.experiment import RunResult, run
from sim.metrics import hourly_table
from sim.scenario import Scenario

if TYPE_CHECKING:
    from sim.trace import Trace

__all__ = ["Comparison", "compare", "paired_differences"]

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    """Runs of each scenario and their paired differences against the first (baseline)."""

    results: list[RunResult]
    confidence: float
    overall: pd.DataFrame
    by_matter: pd.DataFrame
    by_pool: pd.DataFrame
    by_hour: pd.DataFrame
    cases: pd.DataFrame  # whole-case KPIs: same-day rate, trips, lead times, on-time rates
    cases_by_matter: pd.DataFrame  # the same by matter (scenarios with a whole case)

    @property
    def baseline(self) -> str:
        return self.results[0].scenario.name

    def hall_by_hour(self, kpi: str = "wait_mean_min") -> pd.DataFrame:
        """Columns scenario, hour, mean: each design's hall-wide KPI by hour of the
        ticket on its own (mean of its replications), including hours the other designs
        have no tickets in, which the paired by_hour leaves out."""
        frames = []
        for result in self.results:
            hourly = _hall_hourly(result)
            means = hourly.groupby("hour")[kpi].mean().reset_index(name="mean")
            frames.append(means.assign(scenario=result.scenario.name))
        return pd.concat(frames)[["scenario", "hour", "mean"]]


def paired_differences(
    tables: list[pd.DataFrame], keys: list[str], confidence: float
) -> pd.DataFrame:
    """Alternative minus baseline, per KPI and group, paired on replication.

    Columns: scenario, baseline, *keys, kpi, baseline_mean, mean, diff, ci_low, ci_high,
    significant (the interval excludes 0), pairs.
    """
    base = tables[0]
    if base.empty:
        return pd.DataFrame()
    on = ["replication", *keys]
    values = [c for c in base.columns if c not in {"scenario", *on}]
    values = [c for c in values if pd.api.types.is_numeric_dtype(base[c])]
    base_name = str(base["scenario"].iloc[0])
    rows = []
    for alt in tables[1:]:
        if alt.empty:
            continue
        merged = base.merge(alt, on=on, suffixes=("_base", "_alt"))
        alt_name = str(alt["scenario"].iloc[0])
        groups = merged.groupby(keys, sort=True) if keys else [((), merged)]
        for key, group in groups:
            key = key if isinstance(key, tuple) else (key,)
            for kpi in values:
                a, b = group[f"{kpi}_base"].to_numpy(float), group[f"{kpi}_alt"].to_numpy(float)
                ok = ~(np.isnan(a) | np.isnan(b))
                a, b = a[ok], b[ok]
                d = b - a
                n = len(d)
                mean = d.mean() if n else np.nan
                half = np.nan
                if n > 1:
                    half = stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)
                rows.append(
                    {
                        "scenario": alt_name,
                        "baseline": base_name,
                        **dict(zip(keys, key, strict=True)),
                        "kpi": kpi,
                        "baseline_mean": a.mean() if n else np.nan,
                        "mean": b.mean() if n else np.nan,
                        "diff": mean,
                        "ci_low": mean - half,
                        "ci_high": mean + half,
                        "significant": bool(n > 1 and (mean - half > 0 or mean + half < 0)),
                        "pairs": n,
                    }
                )
    return pd.DataFrame(rows)


def _hall_hourly(result: RunResult) -> pd.DataFrame:
    hall = result.log.assign(pool="hall")
    return hourly_table(hall, result.capacity).drop(columns="pool")


def compare(
    scenarios: list[Scenario],
    reps: int,
    seed: int,
    executor: Executor | None = None,
    progress: bool = False,
    trace: Trace | None = None,
) -> Comparison:
    """Run every scenario on the same seed (and the same observed visitors, with a
    trace: sim.trace) and compare each with the first."""
    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must differ to be compared: {names}")
    results = [run(s, reps, seed, executor, progress=progress, trace=trace) for s in scenarios]
    confidence = 1 - ALPHA / (len(scenarios) - 1)
    return Comparison(
        results=results,
        confidence=confidence,
        overall=paired_differences([r.kpis for r in results], [], confidence),
        by_matter=paired_differences([r.matters for r in results], ["matter"], confidence),
        by_pool=paired_differences([r.pools for r in results], ["pool"], confidence),
        by_hour=paired_differences([_hall_hourly(r) for r in results], ["hour"], confidence),
        cases=paired_differences([r.case_kpis for r in results], [], confidence),
        cases_by_matter=paired_differences(
            [r.case_matters for r in results], ["matter"], confidence
        )
        if all(not r.case_matters.empty for r in results)
        else pd.DataFrame(),
    )
