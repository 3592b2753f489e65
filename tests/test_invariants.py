"""Invariants of the event log over random scenarios (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import Capacity, hourly_table
from sim.demand import draw_day
from sim.hall import simulate_all
from sim.streams import Streams
from tests.helpers import build

DISPATCH = ["shared_queue", "shortest_queue", "round_robin"]


@st.composite
def scenarios(draw):
    n_departments = draw(st.integers(1, 3))
    departments = [f"d{i}" for i in range(n_departments)]
    n_matters = draw(st.integers(1, 4))
    raw_shares = draw(st.lists(st.integers(1, 5), min_size=n_matters, max_size=n_matters))
    matters = {
        f"m{i}": {
            "incomplete_share": draw(st.sampled_from([0.0, 0.0, 0.3])),
            "online_share": draw(st.sampled_from([0.0, 0.0, 0.5])),
            "department": departments[i % n_departments],
            "share": raw_shares[i] / sum(raw_shares),
            "service_min": draw(
                st.sampled_from(
                    [
                        {"dist": "exponential", "mean": 6},
                        {"dist": "lognormal", "mean": 8, "cv": 1.2},
                        {"dist": "uniform", "min": 1, "max": 9},
                        {"dist": "fixed", "value": 5},
                    ]
                )
            ),
        }
        for i in range(n_matters)
    }
    windows = {
        f"dept_{d}": {
            "count": draw(st.integers(1, 3)),
            "serves": {"departments": [d]},
            "dispatch": draw(st.sampled_from(DISPATCH)),
        }
        for d in sorted({m["department"] for m in matters.values()})
        if draw(st.booleans())
    }
    if draw(st.booleans()) or len(windows) < len({m["department"] for m in matters.values()}):
        count = draw(st.integers(1, 4))
        windows["all"] = {
            "count": count,
            "serves": "all",
            "speed_factor": draw(st.sampled_from([0.8, 1.0, 1.2])),
            "dispatch": draw(st.sampled_from(DISPATCH)),
        }
        if draw(st.booleans()):  # staffing by time of day, possibly closing the pool
            starts = ["08:00", "09:00", "10:15", "11:00"]
            windows["all"]["schedule"] = {
                t: draw(st.integers(0 if t != "11:00" else 1, count)) for t in starts
            }
    calendar = {
        "opens_at": "08:00",
        "closes_at": "12:00",
        "ticket_cutoff_at": draw(st.sampled_from(["11:30", "12:00"])),
        "days": draw(st.integers(1, 2)),
        "at_close": draw(st.sampled_from(["serve_ticket_holders", "send_home"])),
    }
    if draw(st.booleans()):
        calendar["lunch"] = {
            "starts_at": "10:00",
            "ends_at": "10:30",
            "at_start": draw(st.sampled_from(["pause", "serve_ticket_holders"])),
        }
    k_max = min(n_matters, 3)
    pmf = {k: 1 / k_max for k in range(1, k_max + 1)}
    raw = {
        "name": "random",
        "calendar": calendar,
        "demand": {
            "visitors_per_day": draw(st.integers(5, 200)),
            "arrival_profile": {"08:00": 1, "09:00": draw(st.integers(0, 3))},
            "matters_per_visitor": pmf,
        },
        "matters": matters,
        "windows": windows,
        "target_wait_min": 10,
    }
    if draw(st.booleans()):
        raw["patience_min"] = {"dist": "exponential", "mean": draw(st.sampled_from([5, 30]))}
    _add_journey(draw, raw)
    return build(raw), draw(st.integers(0, 2**32 - 1))


def _add_journey(draw, raw) -> None:
    """Optionally: a guide desk, kiosks, a back office and issuance windows."""
    matters, windows = raw["matters"], raw["windows"]
    if draw(st.booleans()):
        raw["consultation"] = {"share": 0.5, "service_min": {"dist": "exponential", "mean": 2}}
        windows["guide"] = {"count": 1, "serves": "all", "stage": "consultation"}
    if draw(st.booleans()):
        for matter in matters.values():
            matter["kiosk_share"] = min(0.4, 1 - matter["online_share"])
        windows["kiosk"] = {"count": 2, "serves": "all", "channel": "kiosk"}
    if draw(st.booleans()):
        raw["backoffice"] = {"teams": {"A": 1}}
        for matter in matters.values():
            matter["instant_share"] = 0.5
            matter["approval"] = {
                "steps": [{"department": "A", "effort_hours": {"dist": "exponential", "mean": 1}}],
                "promised_days": 2,
                "statutory_days": 5,
            }
    if draw(st.booleans()):
        raw["issuance"] = {
            "service_min": {"dist": "exponential", "mean": 1},
            "mail_share": draw(st.sampled_from([0.0, 0.5])),
        }
        windows["issue"] = {"count": 1, "serves": "all", "stage": "issuance"}
    if draw(st.booleans()):
        for matter in matters.values():
            matter["booked_share"] = 0.4
        raw["appointments"] = {
            "slot_min": 30,
            "no_show_share": 0.2,
            "early_min": {"dist": "uniform", "min": 0, "max": 20},
            "late_share": 0.3,
            "late_min": {"dist": "exponential", "mean": 10},
        }
        for pool in windows.values():
            pool["booked"] = draw(st.sampled_from(["priority", "fifo"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_event_log_invariants(case):
    scenario, seed = case
    out = simulate_all(scenario, seed, 0)
    log, online = out.log, out.online
    streams = Streams(seed, 0)
    arrivals = [draw_day(scenario, streams, day) for day in range(scenario.calendar.days)]

    # every arrival is accounted for exactly once (in the hall, online, or both), with
    # all its matters unless it left
    online_only = set(online["visitor"]) - set(log["visitor"])
    no_shows = sum(int(d.no_show.sum()) for d in arrivals if d.no_show is not None)
    came = sum(len(d.arrival_at) for d in arrivals) - no_shows
    assert log["visitor"].nunique() + len(online_only) == came
    online_matters = online.groupby("visitor").size()
    log = log.sort_values(["visitor", "visit"])
    brought = np.concatenate([d.n_matters for d in arrivals])
    for visitor, visits in log.groupby("visitor"):
        visits = visits.sort_values("visit")
        assert visits["visit"].tolist() == list(range(1, len(visits) + 1))
        assert visits["trip"].iloc[0] == 1
        if (visits["outcome"] == "served").all():  # every matter accepted once, incomplete
            accepting = visits[visits["stage"] == "acceptance"]  # ones again
            accepted = accepting["n_matters"].sum() - accepting["incomplete"].sum()
            assert accepted + online_matters.get(visitor, 0) == brought[visitor]
        for _, trip in visits.groupby("trip"):
            outcomes = trip["outcome"].tolist()
            assert all(o == "served" for o in outcomes[:-1]), "only a trip's last visit fails"
            # the stages come in order, and the next ticket is taken when the previous
            # service ends
            assert trip["stage"].cat.codes.is_monotonic_increasing
            np.testing.assert_allclose(
                trip["ticket_at"].to_numpy()[1:], trip["end_at"].to_numpy()[:-1]
            )

    # no negative durations; nobody served before arriving or before their ticket
    served = log[log["outcome"] == "served"]
    assert (log["wait_min"] >= -1e-9).all()
    assert (served["service_min"] >= 0).all()
    assert (log["ticket_at"] >= log["arrival_at"] - 1e-9).all()
    assert (served["start_at"] >= served["ticket_at"] - 1e-9).all()
    assert log.loc[log["outcome"] != "served", "start_at"].isna().all()

    # a window serves one visitor at a time
    for _, w in served.groupby(["day", "pool", "window"], observed=True):
        w = w.sort_values("start_at")
        assert (w["start_at"].to_numpy()[1:] >= w["end_at"].to_numpy()[:-1] - 1e-9).all()

    # staffing schedules: no service starts at a window that is closed at that moment
    for name, pool in scenario.windows.items():
        if pool.schedule is None:
            continue
        segments = pool.segments(scenario.calendar.opens_at)
        ends = [s for s, _ in segments[1:]] + [10**9]
        at_pool = served[served["pool"] == name]
        time_of_day = at_pool["start_at"] % 1440  # a queue may carry over to the next day
        for (start, n), end in zip(segments, ends, strict=True):
            inside = (time_of_day >= start) & (time_of_day < end)
            assert (at_pool.loc[inside, "window"] <= n).all()

    # lunch: in pause mode no service starts during the break
    lunch = scenario.calendar.lunch
    if lunch is not None and lunch.at_start == "pause":
        inside = (served["start_at"] >= lunch.starts_at) & (served["start_at"] < lunch.ends_at)
        assert not inside.any()

    # send home: nobody waits past closing; no ticket after cut-off for newcomers
    if scenario.calendar.at_close == "send_home":
        assert (served["start_at"] <= scenario.calendar.closes_at + 1e-9).all()
    first = log[log["visit"] == 1]
    assert (first["arrival_at"] <= scenario.calendar.cutoff_at + 1e-9).all()

    # the hourly table's time-weighting: queue-length levels integrate to the waiting
    # time inside the measured days (an identity of correct accounting, not a law of the
    # model; the model's Little's law is checked against theory in test_theory)
    if not log.empty:
        capacity = Capacity.from_scenario(scenario)
        hourly = hourly_table(log, capacity)
        area = hourly["queue_length_mean"].sum() * 60 * scenario.calendar.days
        ticket = log["day"] * 1440.0 + log["ticket_at"]
        wait_end = ticket + log["wait_min"]
        lo, hi = capacity.first_day * 1440.0, capacity.end_day * 1440.0
        inside = (np.minimum(wait_end, hi) - np.maximum(ticket, lo)).clip(lower=0).sum()
        np.testing.assert_allclose(area, inside, rtol=1e-9, atol=1e-6)
