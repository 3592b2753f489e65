"""The simulation agrees with queueing theory where theory exists (M/M/c, Erlang C).

Steady state: the hall is open 24 hours at a constant rate; visits whose ticket was taken
in the first `WARMUP_MIN` are discarded (the hall starts empty). Each replication gives
one mean; theory must lie inside the 99% t interval across replications.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import run, simulate_replications, theory
from tests.helpers import build, mmc_dict, t_interval

WARMUP_MIN = 240


def _per_replication(log, column_fn):
    # a hall open 24 hours a day runs on across midnight: count time from day 0
    steady = log[log["day"] * 1440 + log["ticket_at"] >= WARMUP_MIN]
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


def test_service_times_match_the_distribution():
    servers, rho, service = 5, 0.8, 2.0
    result = run(build(mmc_dict(servers, servers * rho / service, service)), reps=10, seed=3)
    row = result.pools_summary.set_index("kpi").loc["service_mean_min"]
    assert row["ci_low"] <= service <= row["ci_high"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("servers", "rho", "service", "days"),
    [(1, 0.9, 1.0, 5), (2, 0.9, 1.0, 5), (10, 0.95, 1.0, 3), (100, 0.97, 10.0, 3),
     (250, 0.98, 10.0, 3)],
)  # fmt: skip
def test_long_erlang_c_sweep(servers, rho, service, days):
    """Heavy loads relax slowly: several days of a hall open around the clock."""
    rate = servers * rho / service
    scenario = build(mmc_dict(servers, rate, service, days=days))
    log = simulate_replications(scenario, 30, seed=11)
    mean_waits = _per_replication(log, lambda g: g["wait_min"].mean())
    lo, hi = t_interval(mean_waits)
    assert lo <= theory.mmc_mean_wait(servers, rate, service) <= hi
    assert np.isfinite(mean_waits).all()


def test_time_averaged_queue_and_busy_windows_match_littles_law_and_the_offered_load():
    """Levels measured on the clock, after a warm-up day, against theory: the mean number
    waiting is lambda x Wq (Little's law with Erlang C's Wq) and the mean number of busy
    windows is the offered load lambda / mu."""
    servers, rho, service = 5, 0.85, 2.0
    rate = servers * rho / service
    raw = mmc_dict(servers, rate, service, days=1)
    raw["calendar"]["warmup_days"] = 1
    result = run(build(raw), reps=20, seed=5)
    per_rep = result.hourly.groupby("replication")[["queue_length_mean", "busy_windows_mean"]]
    levels = per_rep.mean()  # 24 equal hours: the day's time average
    lo, hi = t_interval(levels["queue_length_mean"].to_numpy())
    assert lo <= rate * theory.mmc_mean_wait(servers, rate, service) <= hi
    lo, hi = t_interval(levels["busy_windows_mean"].to_numpy())
    assert lo <= rate * service <= hi
