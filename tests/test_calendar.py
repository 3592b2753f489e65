"""The calendar does something: dates in the logs, weekday and holiday demand, limits
that end with a working day, and a warm-up and a drain kept out of the KPIs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy import stats

from sim import run, simulate
from sim.case_metrics import case_outcomes
from sim.hall import simulate_all
from tests.helpers import build, mmc_dict


def _hall(days=20, **calendar):
    raw = mmc_dict(4, 0.2, 5.0, opens_at="08:00", closes_at="17:00", days=days, **calendar)
    return raw


def _poisson_mean_ok(counts: np.ndarray, expected: float) -> bool:
    """expected lies in the exact 99% interval of a Poisson mean from these day counts."""
    total, n = counts.sum(), len(counts)
    lo = stats.chi2.ppf(0.005, 2 * total) / 2 / n
    hi = stats.chi2.ppf(0.995, 2 * (total + 1)) / 2 / n
    return lo <= expected <= hi


def test_logs_carry_dates_that_skip_weekends_and_holidays():
    raw = _hall(days=10, start_date="2021-09-29", holidays=["2021-10-01", "2021-10-04"])
    log = simulate(build(raw), 1, 0)
    dates = sorted(set(log["date"].dt.date))
    assert dates[:4] == [dt.date(2021, 9, 29), dt.date(2021, 9, 30), dt.date(2021, 10, 5),
                         dt.date(2021, 10, 6)]  # fmt: skip
    assert all(d.weekday() < 5 for d in dates)
    # a six-day week (Saturday open) gives other dates from the same days
    six = simulate(build(_hall(days=10, start_date="2021-09-29", weekend=["sun"])), 1, 0)
    assert dt.date(2021, 10, 2) in set(six["date"].dt.date)


def test_weekday_factors_and_profiles_shape_demand():
    raw = _hall(days=60, start_date="2021-03-01")
    rate = 0.2 * 9 * 60  # visitors a day
    raw["demand"]["weekday_factors"] = {"mon": 1.5, "fri": 0.6}
    raw["demand"]["weekday_profiles"] = {"fri": {"08:00": 1, "12:00": 0}}  # quiet afternoon
    log = simulate(build(raw), 2, 0)
    first = log[log["visit"] == 1]
    per_day = first.groupby("date").size()
    weekday = pd.Series(pd.to_datetime(per_day.index).day_of_week, index=per_day.index)
    for day, factor in ((0, 1.5), (1, 1.0), (4, 0.6)):
        assert _poisson_mean_ok(per_day[weekday == day].to_numpy(), rate * factor), day
    friday = first[pd.to_datetime(first["date"]).dt.day_of_week == 4]
    assert len(friday) > 100 and (friday["arrival_at"] < 12 * 60).all()
    others = first[pd.to_datetime(first["date"]).dt.day_of_week != 4]
    assert (others["arrival_at"] >= 12 * 60).mean() > 0.4  # the default profile elsewhere


def test_the_day_after_a_holiday_is_busier():
    holidays = [f"2021-{m:02d}-{d:02d}" for m, d in ((3, 10), (3, 24), (4, 7), (4, 21), (5, 5))]
    raw = _hall(days=60, start_date="2021-03-01", holidays=holidays)
    raw["demand"]["after_holiday_factor"] = 2.0
    log = simulate(build(raw), 3, 0)
    per_day = log[log["visit"] == 1].groupby("date").size()
    after = {dt.date.fromisoformat(h) + dt.timedelta(days=1) for h in holidays}
    is_after = np.array([d.date() in after for d in pd.to_datetime(per_day.index)])
    assert is_after.sum() == 5
    rate = 0.2 * 9 * 60
    assert _poisson_mean_ok(per_day[is_after].to_numpy(), 2 * rate)
    assert _poisson_mean_ok(per_day[~is_after].to_numpy(), rate)


def _cases(scenario) -> pd.DataFrame:
    return case_outcomes(simulate_all(scenario, 2, 0).cases)


def _case_scenario(delay_days: float, promised: float, **calendar):
    raw = mmc_dict(20, 0.5, 2.0, opens_at="08:00", closes_at="17:00", days=3, **calendar)
    raw["matters"]["m"] |= {
        "instant_share": 0.0,
        "approval": {
            "steps": [
                {
                    "department": "A",
                    "effort_hours": {"dist": "fixed", "value": 0.02},
                    "delay_days": delay_days,
                }
            ],
            "promised_days": promised,
            "statutory_days": 10,
        },
    }
    # staff at work around the clock: the 1.2 minutes of effort never wait for a morning
    raw["backoffice"] = {
        "teams": {"A": 100},
        "working_hours": [{"starts_at": "00:00", "ends_at": "24:00"}],
    }
    return build(raw)


def test_a_case_is_on_time_until_the_end_of_its_limits_last_working_day():
    """A 3-day promise made at 16:00 is kept by a result at 16:01 three working days
    later (the limit ends with that day), and broken by one a day later."""
    kept = _cases(_case_scenario(3.0, 3.0, start_date="2021-03-01"))
    late = kept["lead_time_days"] > 3  # served a little after acceptance: over 3 * 1440 min
    assert late.any() and kept["on_time_promised"].all()
    broken = _cases(_case_scenario(4.0, 3.0, start_date="2021-03-01"))
    assert not broken["on_time_promised"].any()
    # a fractional limit counts its last working day whole: 2.5 days hold through day 3
    half = _cases(_case_scenario(3.0, 2.5, start_date="2021-03-01"))
    assert half["on_time_promised"].all()


def test_warm_up_days_are_simulated_but_measured_days_alone_make_the_kpis():
    """warmup_days=2, days=3 simulates the same five days as days=5 (the same draws),
    and its KPIs count days 2-4 only."""
    raw = mmc_dict(3, 0.4, 6.0, opens_at="08:00", closes_at="12:00", days=5)
    whole = run(build(raw), 2, seed=4)
    raw["calendar"] |= {"days": 3, "warmup_days": 2}
    warm = run(build(raw), 2, seed=4)
    pd.testing.assert_frame_equal(whole.log.drop(columns="scenario"),
                                  warm.log.drop(columns="scenario"))  # fmt: skip
    log = warm.log
    measured = log[log["day"].between(2, 4)]
    trips = measured.groupby("replication")[["visitor", "trip"]].apply(
        lambda g: len(g.drop_duplicates())
    )
    assert warm.kpis["visitors"].tolist() == trips.tolist()
    assert warm.kpis["visits"].tolist() == measured.groupby("replication").size().tolist()
    # tickets per hour count the measured days, per day
    hourly = warm.hourly.groupby("replication")["tickets"].sum() * 3
    assert hourly.round(6).tolist() == [float(n) for n in measured.groupby("replication").size()]
    periods = warm.periods.set_index(["replication", "period"])
    assert periods.loc[(0, "warmup"), "visits"] == (log[log["replication"] == 0]["day"] < 2).sum()


def test_the_drain_after_the_last_day_is_reported_apart():
    """Incomplete materials bring people back after the last measured day: those trips
    are in the drain, not in the measured visitors."""
    raw = mmc_dict(6, 0.4, 5.0, opens_at="08:00", closes_at="17:00", days=3)
    raw["matters"]["m"] |= {"incomplete_share": 0.3}
    result = run(build(raw), 2, seed=2)
    log = result.log
    assert (log["day"] >= 3).any()
    periods = result.periods.set_index(["replication", "period"])
    for rep in (0, 1):
        on_day = log[log["replication"] == rep]
        drain = on_day[on_day["day"] >= 3]
        assert periods.loc[(rep, "drain"), "visits"] == len(drain) > 0
        assert result.kpis.set_index("replication").loc[rep, "visits"] == (on_day["day"] < 3).sum()


def test_busy_time_is_counted_where_it_happens_under_overload():
    """Ten times more work than two windows can do: every window works every minute of
    the measured days (utilization 1, was 0.003 when busy time was counted only on the
    visitor's own day)."""
    raw = mmc_dict(2, 2.0, 10.0, opens_at="08:00", closes_at="17:00", days=4)
    result = run(build(raw), 1, seed=1)
    assert result.kpis["utilization"].iloc[0] > 0.999
    pools = result.pools.set_index("pool")
    assert pools.loc["pool", "utilization"] > 0.999
    busy = result.hourly[result.hourly["hour"].between(9, 16)]["busy_windows_mean"]
    assert (busy > 1.99).all()


def test_the_measured_applicants_are_those_who_first_came_or_applied_on_measured_days():
    """An online applicant's collection trip is logged as trip 1, days later: those who
    applied in the warm-up stay out of the measured cohort."""
    raw = mmc_dict(4, 0.1, 5.0, opens_at="08:00", closes_at="17:00", days=2)
    raw["calendar"]["warmup_days"] = 3
    raw["matters"]["m"] |= {
        "online_share": 1.0,
        "instant_share": 0.0,
        "approval": {
            "steps": [{"department": "A", "effort_hours": {"dist": "fixed", "value": 0.1}}],
            "promised_days": 5,
            "statutory_days": 10,
        },
    }
    raw["backoffice"] = {"teams": {"A": 50}}
    raw["issuance"] = {"service_min": {"dist": "fixed", "value": 1},
                       "collect_after_days": {"dist": "fixed", "value": 3}}  # fmt: skip
    raw["windows"]["issue"] = {"count": 1, "serves": "all", "stage": "issuance"}
    scenario = build(raw)
    result = run(scenario, 2, seed=5)
    out = simulate_all(scenario, 5, 1)
    measured = out.online[out.online["day"].between(3, 4)]
    assert (out.log["day"].between(3, 4) & (out.log["trip"] == 1)).sum() > len(measured) / 3
    accepted = result.case_kpis.set_index("replication").loc[1, "matters_accepted"]
    assert accepted == len(measured)  # not the warm-up applicants collecting now
