"""Window sizing agrees with Erlang C where theory applies, and bad targets are refused."""

from __future__ import annotations

import numpy as np
import pytest

from sim import Target, load_scenario, run, size, theory, with_settings
from sim.cli import main
from sim.errors import ScenarioError
from sim.sizing import TargetUnreachable, _search
from tests.helpers import ROOT, build, mmc_dict


@pytest.mark.parametrize(
    ("target", "rate", "service"),
    [
        ("wait_mean_min<=1", 2.0, 5.0),
        ("service_level_ticket>=0.8", 1.0, 8.0),
        ("wait_p90_min<=3", 3.0, 2.0),
    ],
)
def test_sized_count_matches_erlang_c_within_one_window(target, rate, service):
    scenario = build(mmc_dict(3, rate, service), target_wait_min=2)  # 3 windows: undersized
    parsed = Target.parse(target)
    result = size(scenario, parsed, reps=10, seed=3)
    analytic = theory.min_servers(parsed.kpi, parsed.op, parsed.value, rate, service, 2)
    (pool,) = result.pools
    assert abs(pool.sized - analytic) <= 1, (pool.sized, analytic)
    assert pool.current == 3 and result.windows == pool.sized
    assert pool.erlang_peak_hour == pytest.approx(analytic, abs=1)  # measured rates ~ true ones


def test_sizing_reports_counts_one_below_and_the_peak_hour_effect():
    scenario = load_scenario(ROOT / "scenarios/quanzhou-2021-comprehensive.yaml")
    result = size(scenario, Target.parse("wait_p90_min<=15"), reps=6, seed=2)
    (row,) = result.table().to_dict("records")
    assert row["sized"] < row["current"] == 91
    assert row["erlang_daily_average"] < row["erlang_peak_hour"]  # a daily average undersizes

    # what the search itself guarantees (CI at the size below 15, one below not) is not
    # evidence; fresh replications on another seed are: the target holds on average at
    # the size, and one window fewer waits longer
    def p90(count: int) -> float:
        variant = with_settings(scenario, {"windows.comprehensive.count": count})
        return run(variant, reps=8, seed=99).kpi("wait_p90_min")

    at, below = p90(row["sized"]), p90(row["sized"] - 1)
    assert at <= 15 and below > at
    assert row["wait_p90_min_one_below"] == pytest.approx(
        result.one_below["comprehensive"].set_index("kpi").loc["wait_p90_min", "mean"]
    )


def test_search_finds_the_smallest_passing_count():
    for threshold in (1, 2, 7, 40, 41, 99):
        calls = []

        def passes(c, t=threshold, calls=calls):
            calls.append(c)
            return c >= t

        for start in (1, 10, 50, 200):
            assert _search(passes, start, 100) == threshold
    with pytest.raises(TargetUnreachable):
        _search(lambda c: False, 10, 30)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("wait_p90<=15", "not a KPI windows or staff can improve"),
        ("wait_mean_min<=5e", "is not a number"),
        ("utilization>=0.8", "not a KPI windows or staff can improve"),
        ("wait_p90_min>=15", "use <="),
        ("wait_p90_min=15", "KPI<=value"),
    ],
)
def test_bad_targets_are_refused(text, words):
    with pytest.raises(ScenarioError, match=words):
        Target.parse(text)


def test_cli_bad_input_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mmc = str(ROOT / "scenarios/examples/mmc.yaml")
    cases = [
        (["size", mmc, "--target", "waiting<=3"], "--target: waiting: not a KPI"),
        (["size", mmc, "--target", "wait_mean_min<=0.0001", "--max-windows", "6"],
         "target cannot be met"),
        (["sweep", mmc, "--set", "windows.counter.cuont=3,4"], "no such field"),
        (["sweep", mmc, "--set", "windows.nowhere.count=3"], "windows.nowhere does not exist"),
        (["sweep", mmc, "--set", "windows.counter.count=0"], "greater than or equal to 1"),
        (["sweep", mmc, "--set", "windows.counter.count"], "path=value"),
        (["size", mmc, "--target", "wait_mean_min<=5", "--pool", "nope"], "no such pool"),
        (["run", mmc, "--executor", "dask"], "needs --scheduler"),
        (["compare", mmc, mmc], "names must differ"),
    ]  # fmt: skip
    for argv, words in cases:
        assert main([*argv, "--reps", "2", "--jobs", "1"]) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, (argv, err)
        assert list(tmp_path.iterdir()) == [], "nothing may be written"


def _peaked_scenario():
    """Constant service, arrivals three times as dense 10:00-12:00 as the rest of the day."""
    raw = mmc_dict(3, 1.0, 4.0, opens_at="08:00", closes_at="16:00")
    raw["demand"]["arrival_profile"] = {"08:00": 2, "10:00": 6, "12:00": 4}  # 1/h, 3/h, 1/h
    raw["demand"]["visitors_per_day"] = 600
    return build(raw, target_wait_min=5)


def test_hourly_schedule_meets_the_target_every_hour_with_fewer_staff_hours():
    from sim.sizing import size_schedule

    scenario = _peaked_scenario()
    target = Target.parse("wait_p90_min<=5")
    result = size_schedule(scenario, target, reps=4, seed=1)
    # (that every hour meets the target at the schedule is how the search stops, not
    # evidence): the schedule follows the arrivals and saves staff-hours
    schedule = result.schedule
    assert schedule["10:00"] > schedule["08:00"] and schedule["11:00"] > schedule["13:00"]
    assert result.staff_hours["schedule"] < result.staff_hours["flat_every_hour"]
    assert result.at_schedule.scenario.windows["pool"].count == max(schedule.values())


def test_a_daily_average_undersizes_a_peaked_day():
    scenario = _peaked_scenario()
    result = size(scenario, Target.parse("wait_p90_min<=5"), reps=6, seed=1)
    (pool,) = result.pools
    assert pool.erlang_daily_average < pool.sized <= pool.erlang_peak_hour + 1
    assert pool.peak_rate_per_hour > 1.4 * pool.average_rate_per_hour


def test_sizing_a_scheduled_pool_keeps_its_shape_and_checks_every_hour():
    scenario = build(
        _peaked_scenario().model_dump(mode="json", by_alias=True),
        **{"windows.pool.count": 4, "windows.pool.schedule": {"08:00": 2, "10:00": 4, "12:00": 2}},
    )
    result = size(scenario, Target.parse("wait_p90_min<=5"), reps=6, seed=1)
    sized = result.at_size.scenario.windows["pool"]
    assert sized.schedule["10:00"] == sized.count == result.pools[0].sized
    assert sized.schedule["08:00"] == sized.schedule["12:00"] < sized.count
    hourly = result.at_size.hourly_summary
    rows = hourly[(hourly["kpi"] == "wait_p90_min") & hourly["mean"].notna()]
    assert (rows["ci_high"] <= 5).all()
    with pytest.raises(ScenarioError, match="hour by hour"):
        size(scenario, Target.parse("wait_max_min<=30"), reps=2, seed=1)


def test_sizing_an_approval_team_on_lead_time():
    from sim.sizing import size_team

    raw = mmc_dict(10, 0.5, 2.0, opens_at="08:00", closes_at="18:00", days=10)
    raw["matters"]["m"] |= {
        "instant_share": 0.8,
        "approval": {
            "steps": [{"department": "A", "effort_hours": {"dist": "exponential", "mean": 2}}],
            "promised_days": 3,
            "statutory_days": 10,
        },
    }
    raw["backoffice"] = {"teams": {"A": 30}}  # ~60 cases a day x 2 h over 10-h days: 12 staff
    scenario = build(raw)
    result = size_team(scenario, Target.parse("lead_time_p90_days<=1"), "A", reps=4, seed=1)
    # offered load: 300 visitors x 20% x 2 h / 10 h = 12 staff, estimated from a compound
    # Poisson total of about 2,400 exponential efforts (relative sd sqrt(2 / 2400)):
    # inside its 99% interval
    cases = 300 * 0.2 * 10 * 4
    assert abs(result.offered_load_staff - 12) <= 2.576 * 12 * np.sqrt(2 / cases)
    assert result.offered_load_staff < result.sized < 30
    at = result.at_size.case_summary.set_index("kpi").loc["lead_time_p90_days"]
    below = result.one_below.set_index("kpi").loc["lead_time_p90_days"]
    assert at["ci_high"] <= 1 < below["ci_high"]
    with pytest.raises(ScenarioError, match="no such back-office team"):
        size_team(scenario, Target.parse("lead_time_p90_days<=1"), "B", reps=2)


def test_cli_asks_for_a_team_when_the_target_is_about_the_back_office(capsys):
    xian = str(ROOT / "scenarios/xian-pipeline-parallel.yaml")
    assert main(["size", xian, "--target", "lead_time_p90_days<=16", "--reps", "2"]) == 2
    assert "--team" in capsys.readouterr().err


def test_hours_mostly_at_lunch_are_not_held_to_an_hourly_target():
    """Tickets taken at lunch wait for the afternoon whatever the count: no schedule could
    meet a target in an hour mostly at lunch, so sizing by the hour does not judge it; the
    hours at opening and closing (08:45, 17:15) are judged."""
    from sim.sizing import _judged_hours

    assert _judged_hours(((8 * 60 + 45, 11 * 60 + 30), (13 * 60, 17 * 60 + 15))) == {
        8, 9, 10, 11, 13, 14, 15, 16, 17,
    }  # fmt: skip
    assert _judged_hours(((8 * 60 + 30, 12 * 60), (14 * 60 + 30, 17 * 60 + 30))) == {
        8, 9, 10, 11, 14, 15, 16, 17,
    }  # fmt: skip
