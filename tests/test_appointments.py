"""Booked slots: priority calling against queueing theory, dedicated windows, no-shows,
early and late arrivals."""

from __future__ import annotations

import numpy as np
from scipy import stats

from sim import run, simulate_replications, theory
from sim.hall import simulate_all
from sim.metrics import overlap
from tests.helpers import build, mmc_dict, t_interval

WARMUP_MIN = 240


def _booked(raw, share: float, **appointments):
    raw["matters"]["m"]["booked_share"] = share
    raw["appointments"] = appointments
    return raw


def test_priority_for_booked_tickets_matches_cobham():
    """Non-preemptive priority in M/M/c: booked visitors (a Poisson thinning of
    arrivals, slots too short to move anyone) wait what Cobham's formula says, and
    walk-ins the rest; with `fifo` both wait as in plain M/M/c."""
    servers, rho, service, share = 5, 0.85, 2.0, 0.3
    rate = servers * rho / service
    raw = _booked(mmc_dict(servers, rate, service), share, slot_min=0.001)
    booked_w, walk_in_w = theory.mmc_priority_mean_waits(
        servers, [share * rate, (1 - share) * rate], service
    )
    log = simulate_replications(build(raw), 20, seed=7)
    steady = log[log["day"] * 1440 + log["ticket_at"] >= WARMUP_MIN]
    by_rep = steady.groupby(["replication", "booked"])["wait_min"].mean().unstack()
    for booked, expected in ((True, booked_w), (False, walk_in_w)):
        lo, hi = t_interval(by_rep[booked].to_numpy())
        assert lo <= expected <= hi, (booked, lo, expected, hi)

    raw["windows"]["pool"]["booked"] = "fifo"
    log = simulate_replications(build(raw), 20, seed=7)
    steady = log[log["day"] * 1440 + log["ticket_at"] >= WARMUP_MIN]
    lo, hi = t_interval(steady.groupby("replication")["wait_min"].mean().to_numpy())
    assert lo <= theory.mmc_mean_wait(servers, rate, service) <= hi


def test_dedicated_windows_serve_only_bookings_and_no_shows_leave_them_idle():
    share, no_show = 0.4, 0.25
    raw = mmc_dict(6, 0.5, 8.0, opens_at="08:00", closes_at="18:00", days=2)
    raw["windows"] = {
        "walk_in": {"count": 4, "serves": "all", "booked": "never"},
        "booked": {"count": 2, "serves": "all", "booked": "only"},
    }
    _booked(raw, share, slot_min=30, no_show_share=no_show)
    result = run(build(raw), reps=5, seed=3)
    log = result.log
    assert (log.loc[log["pool"] == "booked", "booked"]).all()
    assert not (log.loc[log["pool"] == "walk_in", "booked"]).any()
    # booked visitors who came: share x (1 - no-shows) of visitors drawn
    drawn = 0.5 * 600 * 2 * 5  # expected over days and replications
    came = int(log["booked"].sum())
    expected = drawn * share * (1 - no_show)
    assert abs(came - expected) < 4 * np.sqrt(expected)  # Poisson count, 4 sd
    assert (log["booked"].sum() / len(log)) < share
    kpis = result.kpis
    assert {"booked_visitors", "booked_wait_mean_min", "walk_in_wait_mean_min"} <= set(kpis)


def test_early_visitors_take_their_ticket_at_the_slot_late_ones_lose_it_after_grace():
    raw = mmc_dict(10, 0.3, 5.0, opens_at="08:00", closes_at="18:00", days=1)
    _booked(
        raw, 1.0, slot_min=30, grace_min=10, late_share=0.5,
        early_min={"dist": "uniform", "min": 0, "max": 20},
        late_min={"dist": "uniform", "min": 0, "max": 20},
    )  # fmt: skip
    log = simulate_all(build(raw), 5, 0).log
    booked = log[log["booked"]]
    slot_at = 480 + np.floor((booked["ticket_at"] - 480) / 30) * 30
    # a booked ticket is issued at the slot start (early) or on a late arrival within grace
    early = booked["arrival_at"] < booked["ticket_at"]
    assert early.any() and (~early).any()
    np.testing.assert_allclose(booked.loc[early, "ticket_at"], slot_at[early])
    assert (booked.loc[~early, "ticket_at"] - slot_at[~early] <= 10 + 1e-9).all()
    # those later than the grace queue as walk-ins: about half of the late ones
    walk_ins = log[~log["booked"]]
    assert len(walk_ins)
    share = stats.binomtest(len(walk_ins), len(log)).proportion_ci(0.99)
    assert share.low <= 0.5 * 0.5 <= share.high  # late, and more than 10 of 20 min late


def test_booking_kpis_are_nan_not_an_error_when_nobody_walks_in():
    raw = _booked(mmc_dict(6, 0.3, 5.0, opens_at="08:00", closes_at="18:00"), 1.0)
    kpis = run(build(raw), reps=2, seed=1).kpis  # warnings are errors in this suite
    assert (kpis["booked_visitors"] > 0).all()
    assert kpis["walk_in_wait_mean_min"].isna().all()


def test_bookings_give_no_priority_at_the_guide_desk_or_issuance():
    """A booking is for acceptance: at the guide desk and the issuance window booked
    visitors queue with everyone, in ticket order (one window, one shared queue)."""
    raw = mmc_dict(3, 0.3, 8.0, opens_at="08:00", closes_at="18:00", days=2)
    _booked(raw, 0.5, slot_min=30)
    raw["consultation"] = {"share": 1.0, "service_min": {"dist": "exponential", "mean": 3}}
    raw["issuance"] = {"service_min": {"dist": "exponential", "mean": 3}}
    raw["windows"] |= {
        "guide": {"count": 1, "serves": "all", "stage": "consultation"},
        "issue": {"count": 1, "serves": "all", "stage": "issuance"},
    }
    log = simulate_replications(build(raw), 3, seed=5)
    served = log[log["outcome"] == "served"]
    for stage in ("consultation", "issuance"):
        visits = served[served["stage"] == stage]
        assert len(visits) > 500 and not visits["booked"].any()
        for _, day in visits.groupby(["replication", "day"]):
            order = day.sort_values("start_at")["ticket_at"].to_numpy()
            assert (np.diff(order) >= 0).all(), f"{stage}: served out of ticket order"
    accepted = served[served["stage"] == "acceptance"]
    assert accepted["booked"].mean() > 0.3  # bookings still count where they apply


def test_lunch_serves_morning_walk_ins_although_a_booked_ticket_came_during_lunch():
    """With `serve_ticket_holders`, everyone holding a ticket from before lunch is
    served during lunch, even when a booked ticket issued at lunch sits at the head of
    the priority queue."""
    raw = mmc_dict(1, 0.12, 5.0, opens_at="08:00", closes_at="17:00", days=10)
    raw["calendar"]["lunch"] = {
        "starts_at": "12:00", "ends_at": "13:00", "at_start": "serve_ticket_holders"
    }  # fmt: skip
    raw["demand"]["arrival_profile"] = {"08:00": 1, "11:00": 6, "12:00": 1, "13:00": 1}
    _booked(raw, 0.5, slot_min=30)
    log = simulate_replications(build(raw), 5, seed=2)
    served = log[log["outcome"] == "served"]
    lunch_booked = served[served["booked"] & served["ticket_at"].between(720, 780)]
    assert len(lunch_booked) > 10  # the situation arises
    holders = served[served["ticket_at"] < 720]
    # a holder served after lunch means the window spent all of lunch serving
    # (one window): its services cover 12:00-13:00
    for (rep, day), _late in holders[holders["start_at"] >= 780].groupby(["replication", "day"]):
        today = served[(served["replication"] == rep) & (served["day"] == day)]
        busy = overlap(today["start_at"].to_numpy(), today["end_at"].to_numpy(), 720, 780).sum()
        assert busy > 60 - 1e-6, (rep, day, busy)
