"""Ticket dispatch rules and closing rules behave as queueing intuition says."""

from __future__ import annotations

from sim import run
from sim.metrics import overlap
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
    home = run(build(raw, **{"calendar.at_close": "send_home"}), reps=10, seed=2)
    stay = run(build(raw), reps=10, seed=2)
    assert (home.kpis["unserved_at_close"] > 0).all()
    # sent home: only services under way at closing finish, so overtime is at most one
    # service (exactly: the longest service of the day, per replication)
    longest = home.log[home.log["outcome"] == "served"].groupby("replication")["service_min"]
    assert (home.kpis["overtime_min"].to_numpy() <= longest.max().to_numpy() + 1e-9).all()
    assert (stay.kpis["unserved_at_close"] == 0).all()
    # everyone served: the fluid backlog at closing is (0.5 - 2/5) x 240 = 24 people, an
    # hour for two windows; the mean overtime's 99% CI lies well above zero
    assert t_interval(stay.kpis["overtime_min"].to_numpy())[0] > 15
    assert (home.kpis["visitors"] == stay.kpis["visitors"]).all()  # same visitors (CRN)


def test_patience_makes_people_leave_and_shortens_recorded_waits():
    raw = mmc_dict(2, 0.5, 5.0, opens_at="08:00", closes_at="12:00")
    patient = run(build(raw), reps=5, seed=3)
    impatient = run(build(raw, patience_min={"dist": "exponential", "mean": 10}), reps=5, seed=3)
    assert (impatient.kpis["abandoned"] > 0).all()
    assert (impatient.kpis["wait_mean_min"] < patient.kpis["wait_mean_min"]).all()


def test_routing_counts_the_windows_open_now_not_the_pool_size():
    """Two pools serve the same matter; `wide` has 10 windows of which a schedule opens 2.
    Routed by load per *open* window, both pools' windows are about equally busy; routed
    by the pool size, `wide` looks nearly empty and its two open windows drown."""
    raw = mmc_dict(6, 0.5, 8.0, opens_at="08:00", closes_at="18:00")
    raw["windows"] = {
        "narrow": {"count": 4, "serves": "all"},
        "wide": {"count": 10, "serves": "all", "schedule": {"08:00": 2}},
    }
    result = run(build(raw), reps=10, seed=6)
    waits = result.pools.pivot(index="replication", columns="pool", values="wait_mean_min")
    lo, hi = t_interval((waits["wide"] - waits["narrow"]).to_numpy())
    assert hi < 5.0 and lo > -5.0, (lo, hi)  # the bug: `wide` waits about an hour longer
    busy = result.pools.pivot(index="replication", columns="pool", values="served")
    share_wide = (busy["wide"] / (busy["wide"] + busy["narrow"])).to_numpy()
    lo, hi = t_interval(share_wide)
    assert lo > 0.2 and hi < 0.45  # about 2 of 6 open windows


def test_patience_is_drawn_afresh_for_every_queue_visit():
    """A visitor with one matter queues at the guide desk, then for acceptance. With
    patience drawn once and reused, whoever gives up at acceptance would have waited at
    least as long at the desk without giving up (same patience); drawn afresh, many give
    up sooner than they had waited at the desk."""
    raw = mmc_dict(2, 0.45, 4.0, opens_at="08:00", closes_at="12:00", days=3)
    raw["consultation"] = {"share": 1.0, "service_min": {"dist": "exponential", "mean": 4}}
    raw["windows"]["guide"] = {"count": 2, "serves": "all", "stage": "consultation"}
    raw["patience_min"] = {"dist": "exponential", "mean": 15}
    log = run(build(raw), reps=3, seed=9).log
    keys = ["replication", "visitor"]
    desk = log[log["stage"] == "consultation"].set_index(keys)["wait_min"]
    gave_up = log[(log["stage"] == "acceptance") & (log["outcome"] == "abandoned")]
    gave_up = gave_up.set_index(keys)["wait_min"]
    assert len(gave_up) > 30
    sooner = (gave_up < desk.reindex(gave_up.index)).mean()
    assert sooner > 0.1, sooner


def test_lunch_serves_ticket_holders_first_and_nobody_else_during_the_break():
    """`serve_ticket_holders`: services start during lunch only for tickets taken before
    it, and every such holder is called before lunch ends or when a window frees up;
    `pause`: no service starts during lunch."""
    raw = mmc_dict(3, 0.6, 4.0, opens_at="08:00", closes_at="17:00", days=3)
    raw["demand"]["arrival_profile"] = {"08:00": 1, "12:00": 0.5, "13:00": 1}
    lunch = {"starts_at": "12:00", "ends_at": "13:00"}
    serve = run(build(raw, **{"calendar.lunch": lunch | {"at_start": "serve_ticket_holders"}}),
                reps=3, seed=8).log  # fmt: skip
    pause = run(build(raw, **{"calendar.lunch": lunch | {"at_start": "pause"}}), reps=3, seed=8).log
    for log, holders_served in ((serve, True), (pause, False)):
        served = log[log["outcome"] == "served"]
        in_lunch = served[served["start_at"].between(720, 780, inclusive="left")]
        assert (in_lunch["ticket_at"] < 720).all()  # nobody who came at lunch
        assert (len(in_lunch) > 0) == holders_served
    # serving holders: a holder still waiting at 13:00 means all windows were busy
    served = serve[serve["outcome"] == "served"]
    late = served[(served["ticket_at"] < 720) & (served["start_at"] >= 780)]
    for (rep, day), _ in late.groupby(["replication", "day"]):
        today = served[(served["replication"] == rep) & (served["day"] == day)]
        busy = overlap(today["start_at"].to_numpy(), today["end_at"].to_numpy(), 720, 780)
        assert busy.sum() > 3 * 60 - 1e-6
