"""`hallsim replay` and `backtest`: the log's own visitors through any scenario, paired;
the log's own KPIs equal the model's on a log the model wrote; a backtest passes on a
log from the model and fails, saying where, on a log with a break the model lacks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate_all, with_settings
from sim.cli import main
from sim.demand import draw_day
from sim.experiment import analyse
from sim.replay import backtest, observed_result, replay
from sim.streams import Streams
from sim.ticketgen import tickets_from_log, write_tickets
from sim.trace import trace_from_tickets
from tests.helpers import ROOT

TRUTH = ROOT / "scenarios/examples/logged-hall.yaml"


@pytest.fixture(scope="module")
def truth():
    return with_settings(load_scenario(TRUTH), {"calendar.days": 10})


@pytest.fixture(scope="module")
def simulated(truth):
    return simulate_all(truth, 2, 0).log


@pytest.fixture(scope="module")
def tickets(simulated):
    return tickets_from_log(simulated)


def test_a_trace_brings_the_observed_visitors_with_their_matters_and_work(
    truth, simulated, tickets
):
    trace = trace_from_tickets(tickets, observed_work=True)
    scenario = trace.scenario_for(truth)
    assert scenario.calendar.dates(len(trace.dates)) == list(trace.dates)
    day0 = tickets[tickets["taken_at"].dt.date == trace.dates[0]]
    v = draw_day(scenario, Streams(9, 0), 0, trace)
    firsts = day0.groupby("visitor")["taken_at"].min().sort_values()
    minutes = (firsts - firsts.dt.normalize()).dt.total_seconds().to_numpy() / 60
    assert np.allclose(np.sort(v.arrival_at), minutes)
    brought = day0["matter"].str.split("+").explode().value_counts().sort_index()
    names = np.array(list(scenario.matters))
    drawn = pd.Series(names[v.matters[v.matters >= 0]]).value_counts().sort_index()
    assert brought.equals(drawn.rename_axis("matter").rename("count"))
    # observed work (at specialist speed: the pool's estimated speed) replaces the drawn
    # work where a ticket was served, and only there
    observed = trace.days[0].work_min
    day = trace.days[0]
    replayed = v.work_min[day.visitor, day.slot]
    known = np.isfinite(observed)
    assert np.array_equal(replayed[known], observed[known]) and np.isfinite(replayed).all()
    served = day0[day0["status"] == "served"]
    assert known.sum() == served["matter"].str.count(r"\+").add(1).sum()
    log = simulated[(simulated["day"] == 0) & (simulated["outcome"] == "served")]
    speed = log["pool"].map({p: w.speed_factor for p, w in truth.windows.items()}).astype(float)
    true_work = (log["service_min"] * speed).sum()
    assert observed[known].sum() == pytest.approx(true_work, rel=0.1)


def test_the_logs_own_kpis_equal_the_models_on_a_log_the_model_wrote(truth, simulated, tickets):
    model = analyse(truth, simulated, 2, 1).summary.set_index("kpi")["mean"]
    observed = observed_result(tickets, truth).summary.set_index("kpi")["mean"]
    for kpi in ("visitors", "served", "abandoned", "wait_p90_min", "service_level_visitor"):
        assert observed[kpi] == pytest.approx(model[kpi], abs=0.02), kpi
    # times in a log are to the second
    assert observed["wait_mean_min"] == pytest.approx(model["wait_mean_min"], abs=1 / 60)


def test_replayed_scenarios_are_paired_on_the_logs_visitors(truth, tickets):
    twin = with_settings(truth, {"name": "twin"})
    result = replay(tickets, [truth, twin], reps=3, seed=4)
    assert all(r.kpis["visitors"].eq(result.trace.visitors).all() for r in result.results)
    diff = result.comparison.overall.set_index("kpi")
    assert (diff.loc[["wait_mean_min", "abandoned", "utilization"], "diff"] == 0).all()
    # a slower pool on the same visitors: every replication waits longer
    slow = with_settings(truth, {"name": "slow", "windows.comprehensive.speed_factor": 0.7})
    worse = replay(tickets, [truth, slow], reps=3, seed=4).comparison.overall.set_index("kpi")
    assert worse.loc["wait_mean_min", "ci_low"] > 0


def test_a_replay_with_a_matter_the_scenario_lacks_is_a_clear_error(tmp_path, truth, tickets):
    log = write_tickets(tickets.assign(matter="passport"), tmp_path / "log.csv")
    rc = main(["replay", str(log), str(TRUTH), "--out", str(tmp_path / "r"), "--reps", "2"])
    assert rc == 2 and not (tmp_path / "r").exists()


def test_backtest_passes_on_a_log_from_the_model(truth, tickets):
    result = backtest(tickets, truth, reps=19, seed=7)
    assert result.passed, result.verdicts[["kpi", "p_value", "says"]].to_string()
    assert set(result.hours["kpi"]) == {
        "wait_mean_min", "wait_p90_min", "queue_length_mean", "busy_windows_mean",
        "abandoned_share",
    }  # fmt: skip


def test_backtest_fails_plainly_on_a_break_the_model_lacks(truth):
    # every morning 10:00-11:00 four of the seven comprehensive windows are away
    brk = with_settings(
        truth, {"windows.comprehensive.schedule": {"08:30": 7, "10:00": 3, "11:00": 7}}
    )
    log = tickets_from_log(simulate_all(brk, 3, 0).log)
    result = backtest(log, truth, reps=19, seed=7)
    assert not result.passed
    failed = result.verdicts.set_index("kpi")
    assert failed.loc["wait_mean_min", "verdict"] == "not reproduced"
    waits = result.hours[result.hours["kpi"] == "wait_mean_min"].set_index("hour")
    assert waits.loc[10, "observed"] > waits.loc[10, "band_high"]  # and says so:
    assert "10:00" in failed.loc["wait_mean_min", "says"].split("above it at ")[1]
    assert "does not reproduce" in failed.loc["wait_mean_min", "says"]


def test_backtest_on_held_out_days_from_the_command_line(tmp_path, tickets):
    log = write_tickets(tickets, tmp_path / "叫号.csv", headers="zh", encoding="gbk")
    holdout = str(sorted(set(tickets["taken_at"].dt.date))[5])
    fitted = tmp_path / "hall.yaml"
    fit = ["fit", str(log), "--out", str(fitted), "--results", str(tmp_path / "fit")]
    assert main([*fit, "--until", holdout]) == 0
    args = ["backtest", str(log), str(fitted), "--holdout", holdout, "--reps", "5", "--jobs", "1"]
    assert main([*args, "--out", str(tmp_path / "bt")]) == 0  # the model's own log: reproduced
    verdicts = pd.read_csv(tmp_path / "bt" / "verdicts.csv")
    assert len(verdicts) == 5 and verdicts["p_value"].between(0, 1).all()
    assert main([*args[:-4], "--reps", "2", "--out", str(tmp_path / "bt2")]) == 2  # no verdict
    # a scenario fitted on the days it is then tested on is flagged
    all_days = tmp_path / "all.yaml"
    main(["fit", str(log), "--out", str(all_days), "--results", str(tmp_path / "fit2")])
    day = dt.date.fromisoformat(holdout)
    flagged = backtest(tickets, load_scenario(all_days), reps=5, seed=1, holdout=day)
    assert any("not unseen" in w for w in flagged.warnings)
    assert backtest(tickets, load_scenario(fitted), reps=5, seed=1, holdout=day).warnings == ()


def test_a_replay_keeps_who_came_with_a_booking():
    booking = load_scenario(ROOT / "scenarios/examples/appointments-priority.yaml")
    booking = with_settings(booking, {"calendar.days": 3})
    log = simulate_all(booking, 5, 0).log
    result = replay(tickets_from_log(log), [booking], reps=2, seed=9)
    replayed = result.results[0].log
    for r, rows in replayed.groupby("replication"):
        first = rows[rows["visit"] == 1]
        assert len(first) == log[log["visit"] == 1]["visitor"].nunique(), r
        assert first["booked"].sum() == log.loc[log["visit"] == 1, "booked"].sum(), r
