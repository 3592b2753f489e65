"""Writes a results folder; the only module that writes files.

Everything goes to a temporary folder beside the destination and is moved into place at
the end, so an interrupted or failed run leaves nothing half-written, and an earlier
result is only replaced when the caller says `force`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import matplotlib.pyplot as plt
import yaml

from sim import plots
from sim.errors import ResultsExistError
from sim.experiment import RunResult
from sim.scenario import Scenario

__all__ = ["check_destination", "scenario_hash", "write_results"]


def _version() -> str:
    try:
        return version("hallsim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def scenario_dict(scenario: Scenario) -> dict:
    return scenario.model_dump(mode="json", by_alias=True)


def scenario_hash(scenario: Scenario) -> str:
    canonical = json.dumps(scenario_dict(scenario), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_destination(out: Path, force: bool) -> None:
    """Refuse early, before any simulation, to overwrite results without `force`."""
    if out.exists() and not force:
        raise ResultsExistError(
            f"{out} already holds results; pass --force to replace them or --out elsewhere"
        )


def _save(ax, path: Path) -> None:
    fig = ax.figure
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _write_all(result: RunResult, folder: Path, wall_time_s: float) -> None:
    result.summary.to_csv(folder / "summary.csv", index=False)
    result.kpis.to_csv(folder / "replications.csv", index=False)
    result.pools_summary.to_csv(folder / "pools.csv", index=False)
    result.matters_summary.to_csv(folder / "matters.csv", index=False)
    result.hourly_summary.to_csv(folder / "hourly.csv", index=False)
    result.log.to_parquet(folder / "events.parquet", index=False)
    _save(plots.wait_distribution(result.log), folder / "wait_distribution.png")
    _save(plots.queue_by_hour(result.hourly_summary), folder / "queue_by_hour.png")
    _save(plots.utilization_by_pool(result.pools_summary), folder / "utilization_by_pool.png")
    resolved = yaml.safe_dump(scenario_dict(result.scenario), sort_keys=False, allow_unicode=True)
    (folder / "scenario.yaml").write_text(resolved, encoding="utf-8")
    manifest = {
        "hallsim_version": _version(),
        "scenario": result.scenario.name,
        "scenario_sha256": scenario_hash(result.scenario),
        "seed": result.seed,
        "replications": result.replications,
        "wall_time_s": round(wall_time_s, 3),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def write_results(result: RunResult, out: Path, force: bool = False, wall_time_s: float = 0.0):
    """Write the results folder atomically; return its path."""
    out = Path(out)
    check_destination(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        _write_all(result, staging, wall_time_s)
        if out.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, retired / out.name)
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
