"""Key-metric regression: re-run the reference scenarios and flag KPIs that drifted.

`results/baseline/baseline.yaml` names the scenarios (paths relative to that file), the
seed and the replications; `kpis.csv` beside it holds their key KPIs with confidence
intervals. A KPI has drifted when the new mean differs from the baseline by more than
the statistical tolerance z * sqrt(se_baseline^2 + se_new^2), z = 3.29 (two-sided 0.1%,
so a clean change of code that reshuffles random numbers rarely trips it), plus a hair
for float rounding. KPIs without spread (window counts) must match exactly.
Updating the baseline is a deliberate, separate command.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from sim import kpis
from sim.errors import ScenarioError
from sim.executors import Executor
from sim.experiment import run
from sim.loader import load_scenario

__all__ = ["KEY_KPIS", "BaselineConfig", "check", "measure", "read_config"]

KEY_KPIS = kpis.key()
Z = float(stats.norm.ppf(1 - 0.001 / 2))


class BaselineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scenarios: tuple[str, ...] = Field(min_length=1)
    reps: int = Field(ge=2)
    seed: int


def read_config(folder: Path) -> BaselineConfig:
    path = folder / "baseline.yaml"
    try:
        return BaselineConfig.model_validate(yaml.safe_load(path.read_text()))
    except OSError:
        raise ScenarioError(path, "", "no baseline configuration here") from None
    except Exception as exc:  # validation or YAML: one line
        raise ScenarioError(path, "", str(exc).splitlines()[0]) from None


def measure(
    folder: Path, executor: Executor | None = None, say: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """Key KPIs of the reference scenarios: scenario, kpi, mean, half_width, replications.
    `say` hears one line per scenario as it starts (progress: a run takes minutes)."""
    config = read_config(folder)
    frames = []
    for i, relative in enumerate(config.scenarios, 1):
        scenario = load_scenario(folder / relative)
        if say is not None:
            say(f"[{i}/{len(config.scenarios)}] {scenario.name}: {config.reps} replications")
        result = run(scenario, config.reps, config.seed, executor)
        summary = pd.concat([result.summary, result.case_summary], ignore_index=True)
        frames.append(summary[summary["kpi"].isin(KEY_KPIS)])
    columns = ["scenario", "kpi", "mean", "half_width", "replications"]
    return pd.concat(frames, ignore_index=True)[columns]


def _standard_error(half_width: pd.Series, replications: pd.Series) -> np.ndarray:
    t = stats.t.ppf(0.975, np.maximum(replications.to_numpy() - 1, 1))
    return np.nan_to_num(half_width.to_numpy() / t)


def check(baseline: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and KPI: baseline, current, difference, tolerance, drifted.
    A KPI missing on either side counts as drifted; undefined (NaN) on both sides does not."""
    merged = baseline.merge(
        current, on=["scenario", "kpi"], how="outer", suffixes=("_baseline", "_current")
    )
    se_b = _standard_error(merged["half_width_baseline"], merged["replications_baseline"])
    se_c = _standard_error(merged["half_width_current"], merged["replications_current"])
    diff = merged["mean_current"] - merged["mean_baseline"]
    scale = np.maximum(merged["mean_baseline"].abs().fillna(0), 1.0)
    tolerance = Z * np.sqrt(se_b**2 + se_c**2) + 1e-9 * scale
    out = pd.DataFrame(
        {
            "scenario": merged["scenario"],
            "kpi": merged["kpi"],
            "baseline": merged["mean_baseline"],
            "current": merged["mean_current"],
            "diff": diff,
            "tolerance": tolerance,
        }
    )
    both_undefined = (
        merged["mean_baseline"].isna()
        & merged["mean_current"].isna()
        & (merged["replications_baseline"].notna() & merged["replications_current"].notna())
    )  # e.g. lead times of a hall without a back office, on both sides
    out["drifted"] = ~(diff.abs() <= tolerance) & ~both_undefined  # missing: drifted
    return out
