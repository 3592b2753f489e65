"""The journey through the hall: guide desk, acceptance at windows or kiosks, issuance
of results on the same trip or on a collection trip, mail instead of a trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim import run
from sim.hall import simulate_all
from tests.helpers import build, mmc_dict, t_interval

SEED = 11


def _raw(**matter):
    raw = mmc_dict(6, 0.4, 10.0, opens_at="08:00", closes_at="18:00", days=2)
    raw["matters"]["m"] |= matter
    return raw


def _binomial_ok(successes: int, trials: int, p: float) -> bool:
    """p lies inside the 99% Clopper-Pearson interval of successes / trials."""
    ci = stats.binomtest(successes, trials).proportion_ci(0.99)
    return ci.low <= p <= ci.high


def _with_backoffice(raw, instant_share: float) -> None:
    raw["matters"]["m"] |= {
        "instant_share": instant_share,
        "approval": {
            "steps": [{"department": "A", "effort_hours": {"dist": "fixed", "value": 0.5}}],
            "promised_days": 5,
            "statutory_days": 10,
        },
    }
    raw["backoffice"] = {"teams": {"A": 20}}


def _with_issuance(raw, mail_share: float, collect_after_days: float = 1) -> None:
    raw["issuance"] = {
        "service_min": {"dist": "fixed", "value": 1.5},
        "mail_share": mail_share,
        "collect_after_days": {"dist": "fixed", "value": collect_after_days},
    }
    raw["windows"]["issue"] = {"count": 2, "serves": "all", "stage": "issuance"}


def test_a_share_of_visitors_asks_at_the_guide_desk_first():
    share = 0.3
    raw = _raw()
    raw["consultation"] = {"share": share, "service_min": {"dist": "exponential", "mean": 2}}
    raw["windows"]["guide"] = {"count": 2, "serves": "all", "stage": "consultation"}
    log = simulate_all(build(raw), SEED, 0).log
    plain = simulate_all(build(_raw()), SEED, 0).log
    consulted = log.loc[log["stage"] == "consultation", "visitor"]
    assert _binomial_ok(consulted.nunique(), log["visitor"].nunique(), share)
    first = log.sort_values("visit").groupby("visitor").first()
    assert set(first.index[first["stage"] == "consultation"]) == set(consulted)
    assert (log.loc[log["stage"] == "consultation", "visit"] == 1).all()
    # the same visitors, with the same work at the window, whatever the journey
    accepted = log[log["stage"] == "acceptance"].set_index("visitor")["service_min"]
    np.testing.assert_allclose(
        accepted.sort_index(), plain.set_index("visitor")["service_min"].sort_index()
    )


def test_instant_results_are_collected_on_the_same_trip():
    raw = _raw()
    _with_issuance(raw, mail_share=0.5)  # mail is for back-office results only
    out = run(build(raw), reps=2, seed=SEED)
    log = out.log
    assert (log["trip"] == 1).all()
    served = log[log["outcome"] == "served"]
    issued = served[served["stage"] == "issuance"].set_index(["replication", "visitor"])
    accepted = served[served["stage"] == "acceptance"].set_index(["replication", "visitor"])
    assert issued.index.equals(issued.index.unique())
    assert set(issued.index) == set(accepted.index)
    np.testing.assert_allclose(
        issued["ticket_at"], accepted.loc[issued.index, "end_at"]
    )  # straight from acceptance to issuance
    np.testing.assert_allclose(issued["service_min"], 1.5)
    assert (out.case_kpis["trips_per_case"] == 1).all()


def test_back_office_results_are_mailed_or_collected_on_a_later_trip():
    mail, online, after_days = 0.4, 0.25, 2
    raw = _raw(online_share=online)
    _with_backoffice(raw, instant_share=0.0)
    _with_issuance(raw, mail_share=mail, collect_after_days=after_days)
    out = run(build(raw), reps=5, seed=SEED)
    # one trip to apply (none online), one more to collect unless mailed
    expected_trips = (1 - online) + (1 - mail)
    lo, hi = t_interval(out.case_kpis["trips_per_case"].to_numpy())
    assert lo <= expected_trips <= hi
    lo, hi = t_interval(out.case_kpis["zero_trip_share"].to_numpy())
    assert lo <= online * mail <= hi
    # a collection is `collect_after_days` working days after the result, at the time of
    # day the applicant first came (or applied online), and only at an issuance window
    log, cases = out.log, out.cases
    collections = log[log["trip"] > 1]
    assert (collections["stage"] == "issuance").all()
    keys = ["replication", "visitor", "matters"]
    case_days = cases.assign(matters=cases["matter"].astype(str)).set_index(keys)
    collected = collections.set_index(keys)
    assert set(collected.index) <= set(case_days.index)
    np.testing.assert_array_equal(
        collected["day"].to_numpy(),
        case_days.loc[collected.index, "finished_day"].to_numpy() + after_days,
    )
    one = simulate_all(build(raw), SEED, 0)
    came = pd.concat(
        [one.log.loc[one.log["trip"] == 1, ["visitor", "arrival_at"]],
         one.online.assign(arrival_at=one.online["applied_abs_min"] % 1440)]
    ).groupby("visitor")["arrival_at"].first()  # fmt: skip
    collecting = one.log[one.log["trip"] > 1]
    assert len(collecting)
    np.testing.assert_allclose(collecting["arrival_at"], came.loc[collecting["visitor"]])


def test_kiosks_take_their_share_with_their_own_times():
    share = 0.3
    raw = _raw(kiosk_share=share, kiosk_min={"dist": "fixed", "value": 3})
    raw["windows"]["kiosk"] = {"count": 4, "serves": "all", "channel": "kiosk"}
    out = run(build(raw), reps=8, seed=SEED)
    plain = run(build(_raw()), reps=8, seed=SEED)
    log = out.log
    at_kiosk = log["pool"] == "kiosk"
    assert _binomial_ok(int(at_kiosk.sum()), len(log), share)
    np.testing.assert_allclose(log.loc[at_kiosk & (log["outcome"] == "served"), "service_min"], 3)
    # the rest are the same visitors with the same window times as without kiosks
    windows = log[~at_kiosk].set_index(["replication", "visitor"])["service_min"]
    same = plain.log.set_index(["replication", "visitor"]).loc[windows.index, "service_min"]
    np.testing.assert_allclose(windows, same)

    # and the windows' queue shortens
    def window_waits(result):
        pools = result.pools
        return pools.loc[pools["pool"] == "pool", "wait_mean_min"].to_numpy()

    assert t_interval(window_waits(out) - window_waits(plain))[1] < 0


def test_acceptance_windows_may_hand_over_instant_results_themselves():
    raw = _raw(instant_share=0.5)
    _with_backoffice(raw, instant_share=0.5)
    _with_issuance(raw, mail_share=0.0)
    raw["issuance"]["instant_results"] = "acceptance"
    out = simulate_all(build(raw), SEED, 0)
    issued = out.log[out.log["stage"] == "issuance"]
    assert len(issued) and (issued["trip"] > 1).all()  # collections of back-office results
    assert len(issued) == len(out.cases)  # every result collected, none mailed


def test_kiosks_are_left_out_of_the_halls_staffed_windows():
    raw = _raw(kiosk_share=0.3)
    raw["windows"]["kiosk"] = {"count": 4, "serves": "all", "channel": "kiosk"}
    out = run(build(raw), reps=2, seed=SEED)
    assert (out.kpis["windows"] == 6).all()
    pools = out.pools.set_index(["replication", "pool"])
    busy = pools.xs("pool", level="pool")["utilization"]  # the one staffed pool
    np.testing.assert_allclose(out.kpis.set_index("replication")["utilization"], busy)


def test_results_ready_for_the_same_day_are_collected_on_one_trip():
    raw = _raw()
    raw["matters"] = {
        name: {"department": name, "share": 0.5, "service_min": {"dist": "fixed", "value": 3}}
        for name in ("a", "b")
    }
    raw["demand"]["matters_per_visitor"] = {2: 1.0}
    raw["windows"]["pool"]["serves"] = "all"
    raw["backoffice"] = {"teams": {"a": 100, "b": 100}}
    for name in ("a", "b"):
        raw["matters"][name] |= {
            "instant_share": 0.0,
            "approval": {"steps": [{"department": name, "delay_days": 1,
                                    "effort_hours": {"dist": "fixed", "value": 0}}],
                         "promised_days": 3, "statutory_days": 5},
        }  # fmt: skip
    _with_issuance(raw, mail_share=0.0)
    out = simulate_all(build(raw), SEED, 0)
    collections = out.log[out.log["trip"] > 1]
    assert len(collections) == out.log["visitor"].nunique()  # one trip for both results
    assert (collections["n_matters"] == 2).all() and (collections["trip"] == 2).all()
    np.testing.assert_allclose(collections["service_min"], 3.0)  # 1.5 min per result
