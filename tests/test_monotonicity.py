"""Inputs move results the right way: more windows never raise the mean wait beyond
noise; slower staff never lower it. Paired on common random numbers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim import load_scenario, run
from tests.helpers import ROOT, build, t_interval

QUANZHOU = ROOT / "scenarios/quanzhou-2021-comprehensive.yaml"


def _waits(scenario, reps=6, seed=1) -> np.ndarray:
    return run(scenario, reps=reps, seed=seed).kpis["wait_mean_min"].to_numpy()


def _with(scenario, **changes):
    return build(scenario.model_dump(mode="json", by_alias=True), **changes)


@pytest.mark.parametrize("counts", [(68, 72, 80, 91)])
def test_more_comprehensive_windows_never_raise_the_mean_wait(counts):
    base = load_scenario(QUANZHOU)
    waits = [_waits(_with(base, **{"windows.comprehensive.count": c})) for c in counts]
    for fewer, more in itertools.pairwise(waits):
        lo, _ = t_interval(more - fewer)
        assert lo <= 0
    assert waits[0].mean() > waits[-1].mean()  # and the effect is visible end to end


def test_more_windows_at_a_busy_department_shorten_its_waits():
    base = load_scenario(ROOT / "scenarios/quanzhou-2021-department.yaml")

    def real_estate_waits(scenario):
        pools = run(scenario, reps=12, seed=1).pools
        return pools.loc[pools["pool"] == "real_estate", "wait_mean_min"].to_numpy()

    before = real_estate_waits(base)
    after = real_estate_waits(_with(base, **{"windows.real_estate.count": 26}))
    _, hi = t_interval(after - before)
    assert hi < 0


def test_slower_staff_never_lower_the_mean_wait():
    base = load_scenario(QUANZHOU)
    speeds = (1.0, 0.9, 0.8)
    waits = [_waits(_with(base, **{"windows.comprehensive.speed_factor": s})) for s in speeds]
    for faster, slower in itertools.pairwise(waits):
        _, hi = t_interval(slower - faster)
        assert hi >= 0
    lo, _ = t_interval(waits[-1] - waits[0])
    assert lo > 0
