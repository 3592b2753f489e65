"""Planner experiments: executors, auto replications, comparison, sweeps."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import compare, load_scenario, run, sweep, with_settings
from sim.executors import Executor, LocalExecutor
from tests.helpers import ROOT, build, mmc_dict

QUANZHOU_D = ROOT / "scenarios/quanzhou-2021-department.yaml"
QUANZHOU_C = ROOT / "scenarios/quanzhou-2021-comprehensive.yaml"
TABLES = ("log", "kpis", "pools", "matters", "hourly")


def _assert_same_result(a, b) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    buffers = [io.BytesIO(), io.BytesIO()]
    a.log.to_parquet(buffers[0], index=False)
    b.log.to_parquet(buffers[1], index=False)
    assert buffers[0].getvalue() == buffers[1].getvalue()


def test_parallel_and_sequential_runs_are_identical():
    scenario = load_scenario(QUANZHOU_D)
    sequential = run(scenario, reps=6, seed=3, executor=Executor())
    with LocalExecutor(2) as executor:
        parallel = run(scenario, reps=6, seed=3, executor=executor)
    _assert_same_result(sequential, parallel)


def test_dask_cluster_gives_identical_results():
    distributed = pytest.importorskip("distributed")
    from sim.executors import DaskExecutor

    scenario = load_scenario(QUANZHOU_C)
    sequential = run(scenario, reps=4, seed=5)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        DaskExecutor(client) as executor,
    ):
        on_dask = run(scenario, reps=4, seed=5, executor=executor)
    _assert_same_result(sequential, on_dask)


def test_auto_replications_stop_when_precise_and_equal_a_fixed_run():
    scenario = load_scenario(ROOT / "scenarios/examples/mmc.yaml")
    loose = run(scenario, reps=3, seed=2, precision=0.5, max_reps=100)
    strict = run(scenario, reps=3, seed=2, precision=0.001, max_reps=40)
    assert 3 < loose.replications < strict.replications == 40
    _assert_same_result(loose, run(scenario, reps=loose.replications, seed=2))


def test_common_random_numbers_shrink_the_variance_of_a_paired_difference():
    """Var(B - A) = Var(A) + Var(B) - 2 Cov(A, B): common random numbers shrink it exactly
    when they make the paired results positively correlated. The 99% CI of the correlation
    lies well above 0 on the same seed and holds 0 on independent seeds."""
    raw = mmc_dict(5, 0.4, 10.0, opens_at="08:00", closes_at="18:00")
    five, six = build(raw), build(raw, **{"windows.pool.count": 6})
    reps = 30
    base = run(five, reps, seed=11).kpis["wait_mean_min"].to_numpy()
    same_seed = run(six, reps, seed=11).kpis["wait_mean_min"].to_numpy()
    other_seed = run(six, reps, seed=12).kpis["wait_mean_min"].to_numpy()
    paired = stats.pearsonr(base, same_seed).confidence_interval(0.99)
    independent = stats.pearsonr(base, other_seed).confidence_interval(0.99)
    assert paired.low > 0.5, paired
    assert independent.low < 0 < independent.high, independent
    assert np.var(same_seed - base, ddof=1) < np.var(other_seed - base, ddof=1)


def test_comparison_finds_the_average_improving_while_idle_departments_lose():
    comparison = compare([load_scenario(QUANZHOU_D), load_scenario(QUANZHOU_C)], 10, seed=4)
    overall = comparison.overall.set_index("kpi")
    assert overall.loc["wait_mean_min", "ci_high"] < 0  # better on average
    assert overall.loc["visitors", "diff"] == 0  # the same visitors (CRN)
    waits = comparison.by_matter[comparison.by_matter["kpi"] == "wait_mean_min"]
    worse = waits[waits["significant"] & (waits["diff"] > 0)]["matter"]
    assert {"utilities", "natural_resources"} & set(worse)  # idle departments' matters wait
    hours = comparison.by_hour[comparison.by_hour["kpi"] == "queue_length_mean"]
    assert (hours.loc[hours["hour"] == 10, "diff"] < 0).all()
    assert comparison.confidence == 0.95


def test_three_scenarios_get_bonferroni_intervals():
    raw = mmc_dict(5, 0.4, 10.0, opens_at="08:00", closes_at="12:00")
    scenarios = [build(raw, name=f"c{c}", **{"windows.pool.count": c}) for c in (5, 6, 7)]
    comparison = compare(scenarios, 8, seed=1)
    assert comparison.confidence == pytest.approx(0.975)
    assert set(comparison.overall["scenario"]) == {"c6", "c7"}
    assert set(comparison.overall["baseline"]) == {"c5"}


def test_sweep_table_is_tidy_and_follows_the_setting():
    scenario = load_scenario(QUANZHOU_C)
    result = sweep(scenario, {"windows.comprehensive.count": [70, 80, 91]}, reps=4, seed=1)
    waits = result.table[result.table["kpi"] == "wait_mean_min"]
    assert list(waits["windows.comprehensive.count"]) == [70, 80, 91]
    assert waits["mean"].is_monotonic_decreasing
    assert with_settings(scenario, {"calendar.days": 2}).calendar.days == 2


def test_changchun_street_centre_pair_runs_and_the_reform_pools_seven_windows_into_three():
    """The Changchun Erdao pair runs end to end: the comprehensive centre has 3 windows
    for the department centre's 7, serves the same visitors (common random numbers) and
    works its windows harder."""
    department = load_scenario(ROOT / "scenarios/changchun-erdao-street-department.yaml")
    comprehensive = load_scenario(ROOT / "scenarios/changchun-erdao-street-comprehensive.yaml")
    comparison = compare([department, comprehensive], 6, seed=3)
    overall = comparison.overall.set_index("kpi")
    assert overall.loc["windows", "baseline_mean"] == 7 and overall.loc["windows", "mean"] == 3
    assert overall.loc["visitors", "diff"] == 0  # the same visitors in both
    assert overall.loc["utilization", "ci_low"] > 0  # three windows busier than seven
    for result in comparison.results:
        assert result.kpis["served"].gt(0).all() and result.kpis["wait_mean_min"].notna().all()


def test_a_lean_run_computes_only_the_tables_named_and_they_equal_the_full_run():
    scenario = build(mmc_dict(3, 0.8, 4.0, days=2))
    full = run(scenario, reps=3, seed=4)
    lean = run(scenario, reps=3, seed=4, only=("hourly",))
    pd.testing.assert_frame_equal(lean.hourly, full.hourly)
    assert lean.log.empty and lean.kpis.empty and lean.matters.empty and not full.kpis.empty
    assert lean.summary.empty and lean.pools_summary.empty and not lean.hourly_summary.empty
    with pytest.raises(ValueError, match="precision"):
        run(scenario, reps=3, seed=4, only=("hourly",), precision=0.05)
    with pytest.raises(ValueError, match="cannot be computed alone"):
        run(scenario, reps=1, seed=4, only=("matters",))


def test_analyse_computes_the_kpis_of_a_given_log_as_run_does():
    """sim.analyse on an event log alone (no case log, as from a ticket system)."""
    from sim import analyse, simulate

    scenario = build(mmc_dict(3, 0.8, 4.0, days=2))
    log = simulate(scenario, 4, 0)
    analysed = analyse(scenario, log, seed=4, reps=1)
    pd.testing.assert_frame_equal(analysed.kpis, run(scenario, reps=1, seed=4).kpis)
