"""Vary scenario fields and run every point on common random numbers.

A setting is a dotted path into the resolved scenario (defaults included) and a list of
values: `windows.comprehensive.count=80,85,91`. Several settings make a grid. Every point
runs with the same seed, so differences between points are not noise between visitors.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd
import yaml

from sim.errors import ScenarioError
from sim.executors import Executor
from sim.experiment import RunResult, run
from sim.overrides import with_settings
from sim.scenario import Scenario

__all__ = ["SweepResult", "parse_setting", "sweep"]


@dataclass(frozen=True)
class SweepResult:
    """One run per point; `table` is tidy: one row per point and KPI."""

    settings: list[str]
    points: list[dict[str, Any]]
    results: list[RunResult]
    table: pd.DataFrame


def parse_setting(text: str) -> tuple[str, list[Any]]:
    """'windows.comprehensive.count=80,85' -> ('windows.comprehensive.count', [80, 85])."""
    path, sep, values = text.partition("=")
    if not sep or not path.strip() or not values.strip():
        raise ScenarioError("--set", text, "write a setting as path=value or path=v1,v2,...")
    parsed = [yaml.safe_load(v.strip()) for v in values.split(",")]
    return path.strip(), parsed


def sweep(
    scenario: Scenario,
    grid: dict[str, list[Any]],
    reps: int,
    seed: int,
    executor: Executor | None = None,
    progress: bool = False,
) -> SweepResult:
    """Run every combination of the grid's values (the same seed for each point)."""
    paths = list(grid)
    points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*grid.values())]
    variants = [with_settings(scenario, point) for point in points]  # validate all first
    results = [run(v, reps, seed, executor, progress=progress) for v in variants]
    frames = []
    for point, result in zip(points, results, strict=True):
        summary = result.summary.drop(columns="scenario")
        frames.append(summary.assign(**{p: [v] * len(summary) for p, v in point.items()}))
    table = pd.concat(frames, ignore_index=True)
    table = table[[*paths, *[c for c in table.columns if c not in paths]]]
    return SweepResult(paths, points, results, table)
