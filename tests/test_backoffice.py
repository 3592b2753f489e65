"""The back office: working-day arithmetic, serial versus parallel routes, limits, Little."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim import run
from sim.backoffice import next_working_time, work_finish
from sim.calendar import Calendar
from sim.case_metrics import backlog_table, case_outcomes
from sim.errors import ScenarioError
from sim.hall import simulate_all
from tests.helpers import build, mmc_dict, t_interval

HOURS = [(480, 720), (840, 1080)]  # 08:00-12:00, 14:00-18:00


def test_work_counts_working_hours_only():
    assert work_finish(600, 60, HOURS) == 660  # inside the morning
    assert work_finish(690, 60, HOURS) == 870  # 30 min before lunch, 30 after
    assert work_finish(1050, 60, HOURS) == 1440 + 510  # 30 min today, 30 tomorrow morning
    assert work_finish(1200, 30, HOURS) == 1440 + 510  # after hours: starts next morning
    assert next_working_time(750, HOURS) == 840 and next_working_time(100, HOURS) == 480


def test_working_days_skip_weekends_and_holidays():
    cal = Calendar(opens_at="08:00", closes_at="18:00", start_date="2021-04-01",
                   holidays=["2021-04-05"])  # fmt: skip
    # Thursday 1 April, Friday 2, (weekend, Easter Monday 5 off), Tuesday 6
    assert [cal.date_of(n) for n in range(3)] == [
        dt.date(2021, 4, 1), dt.date(2021, 4, 2), dt.date(2021, 4, 6)
    ]  # fmt: skip
    assert Calendar(opens_at="08:00", closes_at="18:00", start_date="2021-04-03").date_of(0) == (
        dt.date(2021, 4, 5)  # a Saturday start moves to the next working day
    )


def _scenario(route, steps, days=1, staff=50, instant_share=0.0, hours="24h", **calendar):
    raw = mmc_dict(20, 0.5, 2.0, opens_at="08:00", closes_at="18:00", days=days, **calendar)
    raw["matters"]["m"] |= {
        "instant_share": instant_share,
        "approval": {"route": route, "steps": steps, "promised_days": 3, "statutory_days": 10},
    }
    office = {"teams": {"A": staff, "B": staff, "C": staff}}
    if hours == "24h":
        office["working_hours"] = [{"starts_at": "00:00", "ends_at": "24:00"}]
    raw["backoffice"] = office
    return build(raw)


def _step(dept, effort_hours=None, delay_days=0.0):
    effort = effort_hours or {"dist": "fixed", "value": 0}
    return {"department": dept, "effort_hours": effort, "delay_days": delay_days}


def test_serial_lead_time_is_the_sum_and_parallel_the_maximum_of_deterministic_steps():
    steps = [_step("A", delay_days=1), _step("B", delay_days=2), _step("C", delay_days=0.5)]
    serial = case_outcomes(simulate_all(_scenario("serial", steps), 1, 0).cases)
    parallel = case_outcomes(simulate_all(_scenario("parallel", steps), 1, 0).cases)
    assert len(serial) > 100 and len(serial) == len(parallel)
    np.testing.assert_allclose(serial["lead_time_days"], 3.5)
    np.testing.assert_allclose(parallel["lead_time_days"], 2.0)
    # a 3-day promise holds to the end of the third working day: 3.5 days keep it only
    # for cases accepted before noon (finished on day 3 after acceptance, before midnight)
    before_noon = serial["accepted_at"] < 12 * 60
    assert before_noon.any() and (~before_noon).any()
    assert (serial["on_time_promised"] == before_noon).all() and parallel["on_time_promised"].all()
    assert serial["on_time_statutory"].all()
    # a warning at 80% of the 3-day promise: every serial case, no parallel one
    np.testing.assert_allclose(serial["warned_at_days"], 2.4)
    assert parallel["warned_at_days"].isna().all()


def test_a_case_finishing_exactly_at_the_warning_time_is_warned():
    """Warning at 80% of a 3-day promise = 2.4 days; a fixed 2.4-day review ends then."""
    cases = case_outcomes(
        simulate_all(_scenario("serial", [_step("A", delay_days=2.4)]), 1, 0).cases
    )
    assert len(cases) > 100
    np.testing.assert_allclose(cases["lead_time_days"], 2.4)
    np.testing.assert_allclose(cases["warned_at_days"], 2.4)


def test_serial_and_parallel_random_steps_match_sum_and_max_in_distribution():
    a, b = 5.0, 10.0  # exponential efforts in hours; ample staff, working 24 h a day
    steps = [_step("A", {"dist": "exponential", "mean": a}),
             _step("B", {"dist": "exponential", "mean": b})]  # fmt: skip
    serial = run(_scenario("serial", steps, staff=1000), reps=10, seed=2).cases
    parallel = run(_scenario("parallel", steps, staff=1000), reps=10, seed=2).cases
    days = 24.0
    serial_means = serial.groupby("replication")["lead_time_days"].mean() * days
    parallel_means = parallel.groupby("replication")["lead_time_days"].mean() * days
    lo, hi = t_interval(serial_means.to_numpy())
    assert lo <= a + b <= hi
    lo, hi = t_interval(parallel_means.to_numpy())
    assert lo <= a + b - a * b / (a + b) <= hi  # E[max] of two exponentials
    # tails: P(sum > t) and P(max > t) at t = 20 h
    t = 20.0
    p_sum = (b * np.exp(-t / b) - a * np.exp(-t / a)) / (b - a)
    p_max = np.exp(-t / a) + np.exp(-t / b) - np.exp(-t / a - t / b)
    for cases, p in ((serial, p_sum), (parallel, p_max)):
        shares = cases.groupby("replication")["lead_time_days"].apply(
            lambda x: (x * days > t).mean()
        )
        lo, hi = t_interval(shares.to_numpy())
        assert lo <= p <= hi


def test_a_friday_afternoon_case_with_a_one_day_step_finishes_on_monday():
    # day 0 is Friday 2 April 2021; Monday 5 April is a holiday in the second scenario
    steps = [_step("A", delay_days=1)]
    for holidays, expected in (([], dt.date(2021, 4, 5)), (["2021-04-05"], dt.date(2021, 4, 6))):
        scenario = _scenario("serial", steps, start_date="2021-04-02", holidays=holidays)
        cases = case_outcomes(simulate_all(scenario, 3, 0).cases)
        afternoon = cases[cases["accepted_at"] >= 14 * 60]
        assert len(afternoon) > 10
        assert set(afternoon["finished_date"].dt.date) == {expected}  # the log's own dates
        assert set(afternoon["accepted_date"].dt.date) == {dt.date(2021, 4, 2)}
        np.testing.assert_allclose(afternoon["lead_time_days"], 1.0)  # working days
        # what the applicant waits: the weekend (and the holiday) included
        calendar_days = (expected - dt.date(2021, 4, 2)).days
        np.testing.assert_allclose(afternoon["lead_time_calendar_days"], calendar_days)


def test_instant_share_splits_matters_between_window_and_back_office():
    scenario = _scenario("serial", [_step("A", delay_days=1)], instant_share=0.7)
    result = run(scenario, reps=20, seed=4)
    share = result.case_kpis["backoffice_cases"] / result.case_kpis["matters_accepted"]
    lo, hi = t_interval(share.to_numpy())
    assert lo <= 0.3 <= hi
    # the same-day rate is the instant share here (every back-office case takes a day)
    lo, hi = t_interval(result.case_kpis["same_day_rate"].to_numpy())
    assert lo <= 0.7 <= hi


def test_littles_law_on_the_backlog():
    steps = [_step("A", {"dist": "exponential", "mean": 3})]
    scenario = _scenario("serial", steps, days=5, staff=2, hours="office")  # queues form
    cases = case_outcomes(simulate_all(scenario, 5, 0).cases)
    backlog = backlog_table(cases)
    area = backlog["backlog_mean"].sum()  # case-days
    assert area == pytest.approx(cases["lead_time_days"].sum(), rel=1e-9)
    assert backlog["accepted"].sum() == backlog["finished"].sum() == len(cases)
    assert (backlog["backlog_at_end"] >= 0).all() and backlog["backlog_at_end"].iloc[-1] == 0


def test_a_bundle_is_one_acceptance_then_its_matters_reviews_in_parallel():
    steps = {
        "licence": [_step("A", delay_days=1)],
        "permit": [_step("B", delay_days=3)],
        "fire": [_step("C", delay_days=5)],
    }
    raw = mmc_dict(20, 0.5, 2.0, opens_at="08:00", closes_at="18:00")
    raw["matters"] = {
        name: {"department": "d", "share": 0, "service_min": {"dist": "fixed", "value": 5},
               "instant_share": 0,
               "approval": {"steps": s, "promised_days": 4, "statutory_days": 10}}
        for name, s in steps.items()
    } | {"bundle": {"department": "d", "share": 1, "service_min": {"dist": "fixed", "value": 9},
                    "bundle_of": list(steps)}}  # fmt: skip
    raw["backoffice"] = {"teams": {"A": 50, "B": 50, "C": 50},
                         "working_hours": [{"starts_at": "00:00", "ends_at": "24:00"}]}  # fmt: skip
    scenario = build(raw)
    out = simulate_all(scenario, 1, 0)
    assert set(out.cases["matter"]) == {"bundle"}
    assert len(out.cases) == len(out.log)  # one case per acceptance
    np.testing.assert_allclose(case_outcomes(out.cases)["lead_time_days"], 5.0)  # longest review
    np.testing.assert_allclose(out.log["service_min"], 9.0)  # one acceptance, its own time
    assert scenario.matters["bundle"].approval.promised_days == 4  # the longest limit


def test_quanzhou_whole_case_is_calibrated_to_the_published_same_day_rate():
    from sim import load_scenario, with_settings
    from tests.helpers import ROOT

    scenario = load_scenario(ROOT / "scenarios/quanzhou-2021-whole-case.yaml")
    short = with_settings(scenario, {"calendar.days": 3})
    result = run(short, reps=3, seed=1)
    same_day = result.case_kpis["same_day_rate"].to_numpy()
    assert abs(same_day.mean() - 0.8020) < 0.01  # seed 002: 80.20% finished the same day
    assert (result.case_kpis["on_time_promised_rate"] > 0.95).all()


def test_a_joint_review_takes_the_longest_effort_then_the_longest_delay():
    # efforts 10 h and 1 h, delays 0.5 and 2 working days; staff work 24 h a day
    steps = [_step("A", {"dist": "fixed", "value": 10}, 0.5),
             _step("B", {"dist": "fixed", "value": 1}, 2)]  # fmt: skip
    lead = {
        route: case_outcomes(simulate_all(_scenario(route, steps, staff=1000), 1, 0).cases)[
            "lead_time_days"
        ]
        for route in ("serial", "parallel", "joint")
    }
    np.testing.assert_allclose(lead["serial"], 10 / 24 + 0.5 + 1 / 24 + 2)
    np.testing.assert_allclose(lead["parallel"], max(10 / 24 + 0.5, 1 / 24 + 2))
    np.testing.assert_allclose(lead["joint"], 10 / 24 + 2)


def test_joint_reviews_in_either_order_on_single_staff_teams_never_lock():
    """Cases that need A and B, listed in both orders, on teams of one: every case ends,
    and a session holds both staff members at once, so sessions never overlap."""
    raw = mmc_dict(20, 0.5, 2.0, opens_at="08:00", closes_at="18:00", days=2)
    effort = {"dist": "exponential", "mean": 0.2}
    for name, order in (("ab", ["A", "B"]), ("ba", ["B", "A"])):
        raw["matters"][name] = {
            "department": "d", "share": 0.5, "instant_share": 0.0,
            "service_min": {"dist": "exponential", "mean": 2.0},
            "approval": {"route": "joint", "steps": [_step(d, effort) for d in order],
                         "promised_days": 3, "statutory_days": 10},
        }  # fmt: skip
    del raw["matters"]["m"]
    raw["backoffice"] = {"teams": {"A": 1, "B": 1}}
    out = simulate_all(build(raw), 4, 0)
    assert len(out.cases) == (out.log["outcome"] == "served").sum() > 100
    sessions = out.steps[out.steps["department"] == "A"].sort_values("work_start_abs_min")
    starts, ends = sessions["work_start_abs_min"].to_numpy(), sessions["work_end_abs_min"]
    assert (starts[1:] >= ends.to_numpy()[:-1] - 1e-9).all()
    both = out.steps.groupby("case")[["work_start_abs_min", "work_end_abs_min"]].nunique()
    assert (both == 1).all().all()  # A and B in the same session


def test_teams_work_their_own_hours_and_joint_reviews_meet_when_all_are_at_work():
    effort = {"dist": "fixed", "value": 1}
    raw = mmc_dict(20, 0.5, 2.0, opens_at="08:00", closes_at="18:00", days=2)
    raw["matters"]["m"] |= {
        "instant_share": 0.0,
        "approval": {"route": "joint", "steps": [_step("A", effort), _step("B", effort)],
                     "promised_days": 3, "statutory_days": 10},
    }  # fmt: skip
    raw["backoffice"] = {
        "teams": {"A": 50, "B": 50},
        "team_hours": {"A": [{"starts_at": "08:00", "ends_at": "12:00"}],
                       "B": [{"starts_at": "10:00", "ends_at": "16:00"}]},
    }  # fmt: skip
    result = run(build(raw), reps=1, seed=3)
    steps = result.steps
    start_at, end_at = steps["work_start_abs_min"] % 1440, steps["work_end_abs_min"] % 1440
    assert ((start_at >= 600) & (end_at <= 720 + 1e-9)).all()  # 10:00-12:00, both at work
    teams = result.teams.set_index("team")
    # utilization counts each team's own hours: 4 h a day for A, 6 h for B
    for team, minutes in (("A", 240), ("B", 360)):
        row = teams.loc[team]
        expected = row["effort_hours"] * 60 / (50 * minutes * 2)
        assert row["utilization"] == pytest.approx(expected)
    raw["backoffice"]["team_hours"]["B"] = [{"starts_at": "13:00", "ends_at": "16:00"}]
    with pytest.raises(ScenarioError, match="share none"):
        build(raw)
