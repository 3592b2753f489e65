"""Shared helpers: build small scenarios in code, and a confidence interval helper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim import Scenario, parse_scenario
from sim.overrides import apply_settings

ROOT = Path(__file__).resolve().parent.parent


def mmc_dict(
    servers: int, arrival_rate_per_min: float, mean_service_min: float, **calendar: Any
) -> dict[str, Any]:
    """A raw M/M/c scenario open all day (00:00-24:00) at a constant arrival rate."""
    cal = {"opens_at": "00:00", "closes_at": "24:00", "days": 1} | calendar
    hours = (int(cal["closes_at"][:2]) * 60 - int(cal["opens_at"][:2]) * 60) / 60
    return {
        "name": f"mmc-{servers}",
        "calendar": cal,
        "demand": {
            "visitors_per_day": arrival_rate_per_min * 60 * hours,
            "arrival_profile": {cal["opens_at"]: 1},
        },
        "matters": {
            "m": {
                "department": "d",
                "share": 1.0,
                "service_min": {"dist": "exponential", "mean": mean_service_min},
            }
        },
        "windows": {"pool": {"count": servers, "serves": "all"}},
        "target_wait_min": 10,
    }


def build(raw: dict[str, Any], **changes: Any) -> Scenario:
    """Validate a raw mapping after applying dotted-path changes: build(d, **{"a.b": 1})."""
    return parse_scenario(apply_settings(raw, changes))


def t_interval(values: np.ndarray, confidence: float = 0.99) -> tuple[float, float]:
    """Two-sided t confidence interval of the mean of independent replications."""
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1)
    half /= np.sqrt(len(values))
    return values.mean() - half, values.mean() + half
