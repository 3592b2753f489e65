"""The simulation agrees with queueing theory where theory exists (M/M/c, Erlang C).

Steady state: the hall is open 24 hours at a constant rate; visits whose ticket was taken
in the first `WARMUP_MIN` are discarded (the hall starts empty). Each replication gives
one mean; theory must lie inside the 99% t interval across replications.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import simulate_replications, theory
from tests.helpers import build, mmc_dict, t_interval

WARMUP_MIN = 240


def _per_replication(log, column_fn):
    steady = log[log["ticket_at"] >= WARMUP_MIN]
    return steady.groupby("replication").apply(column_fn, include_groups=False).to_numpy()


CASES = [
    # servers, load per server, mean service, replications
    pytest.param(1, 0.7, 1.0, 20, id="M/M/1 rho=0.7"),
    pytest.param(5, 0.85, 2.0, 20, id="M/M/5 rho=0.85"),
    pytest.param(50, 0.9, 5.0, 12, id="M/M/50 rho=0.9"),
    pytest.param(200, 0.95, 10.0, 8, id="M/M/200 rho=0.95"),
]


@pytest.mark.parametrize(("servers", "rho", "service", "reps"), CASES)
def test_mean_wait_and_wait_probability_match_erlang_c(servers, rho, service, reps):
    rate = servers * rho / service
    log = simulate_replications(build(mmc_dict(servers, rate, service)), reps, seed=7)
    mean_waits = _per_replication(log, lambda g: g["wait_min"].mean())
    p_wait = _per_replication(log, lambda g: (g["wait_min"] > 1e-9).mean())
    lo, hi = t_interval(mean_waits)
    assert lo <= theory.mmc_mean_wait(servers, rate, service) <= hi
    lo, hi = t_interval(p_wait)
    assert lo <= theory.erlang_c(servers, rate * service) <= hi


def test_service_times_and_utilization_match_the_load():
    servers, rho, service = 5, 0.8, 2.0
    rate = servers * rho / service
    scenario = build(mmc_dict(servers, rate, service))
    from sim import run

    result = run(scenario, reps=10, seed=3)
    summary = result.pools_summary.set_index("kpi")
    # utilization over 24 h includes the empty start: compare with a loose CI check
    assert summary.loc["utilization", "ci_low"] - 0.01 <= rho <= summary.loc["utilization", "ci_high"] + 0.01
    assert summary.loc["service_mean_min", "ci_low"] <= service <= summary.loc["service_mean_min", "ci_high"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("servers", "rho"), [(1, 0.9), (2, 0.9), (10, 0.95), (100, 0.97), (250, 0.98)]
)
def test_long_erlang_c_sweep(servers, rho):
    service = 10.0 if servers > 1 else 1.0
    rate = servers * rho / service
    log = simulate_replications(build(mmc_dict(servers, rate, service)), 30, seed=11)
    mean_waits = _per_replication(log, lambda g: g["wait_min"].mean())
    lo, hi = t_interval(mean_waits)
    assert lo <= theory.mmc_mean_wait(servers, rate, service) <= hi
    assert np.isfinite(mean_waits).all()
