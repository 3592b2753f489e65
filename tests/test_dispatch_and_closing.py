"""Ticket dispatch rules and closing rules behave as queueing intuition says."""

from __future__ import annotations

from sim import run
from tests.helpers import build, mmc_dict, t_interval


def _wait_means(scenario, reps=20, seed=4):
    return run(scenario, reps=reps, seed=seed).kpis["wait_mean_min"].to_numpy()


def test_shared_queue_beats_dispatch_at_issue_and_round_robin_is_worst():
    raw = mmc_dict(5, 0.4, 10.0, opens_at="08:00", closes_at="18:00")
    shared = _wait_means(build(raw))
    shortest = _wait_means(build(raw, **{"windows.pool.dispatch": "shortest_queue"}))
    round_robin = _wait_means(build(raw, **{"windows.pool.dispatch": "round_robin"}))
    assert t_interval(shortest - shared)[0] > 0
    assert t_interval(round_robin - shortest)[0] > 0


def test_send_home_turns_away_the_queue_at_closing_and_serve_all_works_overtime():
    raw = mmc_dict(2, 0.5, 5.0, opens_at="08:00", closes_at="12:00")  # 125% load
    home = run(build(raw, **{"calendar.at_close": "send_home"}), reps=5, seed=2)
    stay = run(build(raw), reps=5, seed=2)
    assert (home.kpis["unserved_at_close"] > 0).all()
    assert (home.kpis["overtime_min"] < 5.0 * 10).all()  # only services under way finish
    assert (stay.kpis["unserved_at_close"] == 0).all()
    assert (stay.kpis["overtime_min"] > 30).all()
    assert (home.kpis["visitors"] == stay.kpis["visitors"]).all()  # same visitors (CRN)


def test_patience_makes_people_leave_and_shortens_recorded_waits():
    raw = mmc_dict(2, 0.5, 5.0, opens_at="08:00", closes_at="12:00")
    patient = run(build(raw), reps=5, seed=3)
    impatient = run(build(raw, patience_min={"dist": "exponential", "mean": 10}), reps=5, seed=3)
    assert (impatient.kpis["abandoned"] > 0).all()
    assert (impatient.kpis["wait_mean_min"] < patient.kpis["wait_mean_min"]).all()
