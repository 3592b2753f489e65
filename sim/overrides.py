"""Scenario overrides: dotted-path settings applied to a scenario, validated again.

`windows.comprehensive.count=80` in a sweep, a sizing search or a test is the same
operation on the same raw mapping: here, once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sim.errors import ScenarioError
from sim.loader import parse_scenario
from sim.scenario import Scenario

__all__ = ["apply_settings", "with_settings"]


def apply_settings(
    raw: Mapping[str, Any], settings: Mapping[str, Any], existing: bool = False
) -> dict[str, Any]:
    """A deep copy of a raw scenario mapping with dotted-path fields replaced; every path
    but its last part must exist (with `existing`, the last part too)."""
    data = copy.deepcopy(dict(raw))
    for path, value in settings.items():
        node: Any = data
        *parents, leaf = path.split(".")
        for depth, key in enumerate(parents):
            if not isinstance(node, dict) or key not in node:
                where = ".".join(parents[: depth + 1])
                raise ScenarioError("--set", path, f"no such field ({where} does not exist)")
            node = node[key]
        if not isinstance(node, dict) or (existing and leaf not in node):
            raise ScenarioError("--set", path, "no such field in the scenario")
        node[leaf] = value
    return data


def with_settings(scenario: Scenario, settings: Mapping[str, Any]) -> Scenario:
    """A copy of the scenario with dotted-path fields replaced (defaults included, so
    any field can be set), validated again."""
    raw = scenario.model_dump(mode="json", by_alias=True)
    label = ",".join(f"{p}={v}" for p, v in settings.items())
    return parse_scenario(apply_settings(raw, settings, existing=True), file=f"--set {label}")
