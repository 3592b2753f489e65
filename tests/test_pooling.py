"""Pooled versus separate queues, in both directions theory predicts."""

from __future__ import annotations

import numpy as np

from sim import Capacity, matter_table, simulate_replications, theory
from tests.helpers import build, t_interval


def _two_departments(short_mean: float, long_mean: float, short_share: float) -> dict:
    return {
        "a": {"department": "A", "share": short_share,
              "service_min": {"dist": "exponential", "mean": short_mean}},
        "b": {"department": "B", "share": 1 - short_share,
              "service_min": {"dist": "exponential", "mean": long_mean}},
    }  # fmt: skip


def _scenario(matters, windows, rate_per_min):
    return build(
        {
            "name": "pooling",
            "calendar": {"opens_at": "00:00", "closes_at": "24:00"},
            "demand": {"visitors_per_day": rate_per_min * 1440, "arrival_profile": {"00:00": 1}},
            "matters": matters,
            "windows": windows,
            "target_wait_min": 5,
        }
    )


def _matter_wait_by_rep(scenario, reps, seed=5, warmup_min=240):
    log = simulate_replications(scenario, reps, seed)
    log = log[log["ticket_at"] >= warmup_min]
    table = matter_table(log, Capacity.from_scenario(scenario))
    return table.pivot(index="replication", columns="matter", values="wait_mean_min")


def test_pooling_identical_departments_shortens_waits():
    matters = _two_departments(4.0, 4.0, 0.5)
    rate = 0.8  # per minute; each department 0.4/min x 4 min = 1.6 erlangs on 2 windows
    separate = _scenario(
        matters,
        {"A": {"count": 2, "serves": {"departments": ["A"]}},
         "B": {"count": 2, "serves": {"departments": ["B"]}}},
        rate,
    )  # fmt: skip
    pooled = _scenario(matters, {"all": {"count": 4, "serves": "all"}}, rate)
    sep = _matter_wait_by_rep(separate, 15)
    poo = _matter_wait_by_rep(pooled, 15)
    # theory: M/M/2 at 80% per department versus M/M/4 at 80%
    assert theory.mmc_mean_wait(4, 0.8, 4.0) < theory.mmc_mean_wait(2, 0.4, 4.0)
    lo, hi = t_interval(sep["a"])
    assert lo <= theory.mmc_mean_wait(2, 0.4, 4.0) <= hi
    lo, hi = t_interval(poo["a"])
    assert lo <= theory.mmc_mean_wait(4, 0.8, 4.0) <= hi
    # common random numbers: same visitors in both, so the paired difference is sharp
    lo, hi = t_interval((poo - sep).mean(axis=1))
    assert hi < 0


def test_pooling_a_short_matter_with_a_rare_long_one_hurts_the_short_one():
    # short matter: 2 min, one window at 50% load; long matter: 2 hours, rare (one visitor
    # in 61), one window at 50%. Pooled, short visitors queue behind two-hour services
    # (M/G/2 with a service SCV near 30).
    short_rate, long_rate = 0.25, 1 / 240
    matters = _two_departments(2.0, 120.0, short_rate / (short_rate + long_rate))
    rate = short_rate + long_rate
    separate = _scenario(
        matters,
        {"A": {"count": 1, "serves": {"departments": ["A"]}},
         "B": {"count": 1, "serves": {"departments": ["B"]}}},
        rate,
    )  # fmt: skip
    pooled = _scenario(matters, {"all": {"count": 2, "serves": "all"}}, rate)
    sep = _matter_wait_by_rep(separate, 60)
    poo = _matter_wait_by_rep(pooled, 60)
    lo, hi = t_interval(sep["a"])
    assert lo <= theory.mmc_mean_wait(1, short_rate, 2.0) <= hi  # M/M/1: 2 min
    lo, _ = t_interval(poo["a"] - sep["a"])
    assert lo > 0, "the short matter must wait longer when pooled"
    # ... while the long matter gains: it can now use two windows
    _, hi = t_interval((poo["b"] - sep["b"]).dropna())  # a replication may see no long matter
    assert hi < 0
    assert np.isfinite(poo["a"].to_numpy()).all()
