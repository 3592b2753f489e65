"""Quick answers by formula (sim.erlang): Erlang A is Erlang C when nobody leaves, and
agrees with the simulation of M/M/c with exponential patience (99% CI); Allen-Cunneen is
Erlang C for exponential times; `hallsim erlang` writes its table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import simulate
from sim.cli import main
from sim.erlang import allen_cunneen_kpi, erlang_a, min_windows_erlang_a
from sim.theory import erlang_b, erlang_c, mmc_mean_wait
from tests.helpers import ROOT, build, mmc_dict, t_interval


def test_published_erlang_values():
    # Erlang B and C tables: 8 erlangs on 10 servers
    assert erlang_b(10, 8.0) == pytest.approx(0.1217, abs=5e-5)
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=5e-5)


def test_erlang_a_without_abandonment_is_erlang_c():
    a = erlang_a(5, 4.75, 1.0, mean_patience=1e9)
    assert a["p_wait"] == pytest.approx(erlang_c(5, 4.75), rel=1e-6)
    assert a["wait_mean_min"] == pytest.approx(mmc_mean_wait(5, 4.75, 1.0), rel=1e-5)
    assert a["p_abandon"] < 1e-6


def test_erlang_a_abandonment_is_patience_rate_times_mean_wait():
    a = erlang_a(5, 6.0, 1.0, mean_patience=5.0)  # overloaded: patience keeps it stable
    assert a["p_abandon"] == pytest.approx(a["wait_mean_min"] / 5.0, rel=1e-6)
    assert min_windows_erlang_a(0.5, 6.0, 1.0, 5.0) >= 6


def test_erlang_a_agrees_with_the_simulation():
    """M/M/5 at 4.75 arrivals a minute, service 1 min, patience exponential, mean 5 min:
    the share who leave and the mean time waiting (to service or leaving) of the model
    lie within the 99% CI of the simulation's replications."""
    raw = mmc_dict(
        servers=5, arrival_rate_per_min=4.75, mean_service_min=1.0, days=1, warmup_days=1
    )
    scenario = build(raw, **{"patience_min": {"dist": "exponential", "mean": 5.0}})
    shares, waits = [], []
    for rep in range(8):
        log = simulate(scenario, 21, rep)
        log = log[log["day"] >= 1]
        shares.append((log["outcome"] == "abandoned").mean())
        waits.append(log["wait_min"].mean())
    theory = erlang_a(5, 4.75, 1.0, 5.0)
    low, high = t_interval(np.array(shares))
    assert low <= theory["p_abandon"] <= high
    low, high = t_interval(np.array(waits))
    assert low <= theory["wait_mean_min"] <= high


def test_allen_cunneen_is_erlang_c_for_exponential_times_and_scales_waits():
    assert allen_cunneen_kpi("wait_mean_min", 5, 4.0, 1.0, 2.0, cs2=1.0) == pytest.approx(
        mmc_mean_wait(5, 4.0, 1.0)
    )
    half = allen_cunneen_kpi("wait_p90_min", 5, 4.0, 1.0, 2.0, cs2=0.0)
    full = allen_cunneen_kpi("wait_p90_min", 5, 4.0, 1.0, 2.0, cs2=1.0)
    assert half == pytest.approx(full / 2) and not math.isinf(full)


def test_hallsim_erlang_writes_the_formulas_by_pool_and_hour(tmp_path, capsys):
    out = tmp_path / "erlang"
    scenario = ROOT / "scenarios/examples/logged-hall.yaml"
    assert (
        main(
            [
                "erlang",
                str(scenario),
                "--target",
                "wait_mean_min<=5",
                "--out",
                str(out),
                "--jobs",
                "1",
            ]
        )
        == 0
    )
    table = pd.read_csv(out / "erlang.csv")
    assert {"erlang_c", "erlang_a", "allen_cunneen", "offered_load"} <= set(table.columns)
    assert (table["erlang_c"] > table["offered_load"]).all()
    assert "add --simulate" in capsys.readouterr().out


def test_simulate_puts_the_simulated_windows_beside_the_formulas(tmp_path, capsys):
    """M/M/c at a steady rate: the simulated hourly schedule stays near Erlang C (the
    formula is right there); each open hour gets a whole count of at least one."""
    out = tmp_path / "erlang"
    mmc = str(ROOT / "scenarios/examples/mmc.yaml")
    args = ["erlang", mmc, "--target", "wait_p90_min<=5", "--simulate", "--simulate-reps", "3",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    table = pd.read_csv(out / "erlang.csv")
    assert table["simulated"].notna().all() and (table["simulated"] >= 1).all()
    assert (table["simulated"] % 1 == 0).all()
    assert (table["simulated"] - table["erlang_c"]).abs().mean() <= 2
    assert "simulated" in capsys.readouterr().out
