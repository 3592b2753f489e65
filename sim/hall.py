"""The front office as a SimPy model: tickets, window pools, routing, lunch, closing, patience.

One mechanism covers department and comprehensive windows: a pool of windows with a set
of matters it may serve. A visitor holding matters takes a ticket at the pool that serves
the most of their remaining matters (ties: the shorter queue per window, then file order),
is served there for all of them, and goes on to the next pool until none are left. With
department windows that is one queue per department; with comprehensive windows, one.

A pool either keeps one shared ticket queue that any free window calls from, or assigns
each ticket to one window when it is issued (shortest queue or round robin), as many
real ticket machines do. A pool may follow a staffing schedule.

A trip may pass three stages, each with pools of its own (`stage:` of a pool): an
optional guide desk (consultation) before the first acceptance ticket, acceptance, and
an issuance window where instant results are handed over before leaving. Back-office
results are mailed, or collected at an issuance window on a later trip.

Around the queue: matters applied for online skip acceptance; kiosk applications queue
at kiosk pools instead of windows; matters with incomplete materials send the visitor
home to come back on a later working day; accepted matters that are not instant go to
the back office (sim.backoffice). The model only simulates and records rows in the
event log (and the back office in its case and step logs).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.backoffice import MAX_DAYS, BackOfficeModel
from sim.calendar import MINUTES_PER_DAY
from sim.demand import KIOSK, MAX_TRIPS, ONLINE, draw_day
from sim.records import (
    OUTCOMES,
    STAGES,
    LogBuilder,
    OnlineRow,
    VisitRow,
    case_frame,
    step_frame,
)
from sim.scenario import Scenario
from sim.streams import Streams

__all__ = ["Simulated", "simulate", "simulate_all"]

_WAITING, _IN_SERVICE, _GONE = 0, 1, 2
_SERVED, _ABANDONED, _UNSERVED = (OUTCOMES.index(o) for o in OUTCOMES)
_NAN = float("nan")
_CONSULT, _ACCEPT, _ISSUE = range(len(STAGES))


class _Pool:
    __slots__ = (
        "busy", "count", "dispatch", "dormant", "idle", "index", "n_busy", "name", "priority",
        "queues",
        "rr", "segments", "speed", "stage", "takes_bookings", "waiting",
    )  # fmt: skip

    def __init__(
        self, index: int, name: str, count: int, speed: float, dispatch: str, stage: int,
        takes_bookings: bool = False, booked: str = "fifo",
    ):  # fmt: skip
        self.index, self.name, self.count, self.speed = index, name, count, speed
        self.stage = stage
        # bookings are for acceptance at staffed windows; elsewhere a booked visitor's
        # ticket is an ordinary one
        self.takes_bookings = takes_bookings
        self.dispatch = dispatch
        n_queues = 1 if dispatch == "shared_queue" else count
        self.queues: list[deque[_Ticket]] = [deque() for _ in range(n_queues)]
        # booked tickets, called before the walk-ins of `queues` (booked: priority)
        booked_first = takes_bookings and booked == "priority"
        self.priority = [deque() for _ in range(n_queues)] if booked_first else None
        self.waiting = [0] * n_queues  # live tickets per queue (the deques hold the gone too)
        # idle windows per queue, as (window, event that wakes it)
        self.idle: list[deque[tuple[int, simpy.Event]]] = [deque() for _ in range(n_queues)]
        self.busy = [False] * count
        self.n_busy = 0  # windows serving now (the sum of busy, kept for routing)
        self.rr = 0
        # staffing schedule: (start, windows open) by time of day; None: all open always
        self.segments: list[tuple[int, int]] | None = None
        self.dormant: list[simpy.Event] = []  # off-duty windows with nothing waiting

    def open_count(self, now: float) -> int:
        """Windows 0..n-1 call tickets now. Before opening, the first segment applies;
        after the last start (closing, overtime), the last one."""
        if self.segments is None:
            return self.count
        tod = now % MINUTES_PER_DAY
        n = self.segments[0][1]
        for start, open_windows in self.segments:
            if start > tod:
                break
            n = open_windows
        return n

    def reopens_in(self, now: float, window: int) -> float:
        """Minutes until the schedule opens this window again (at the latest, a day)."""
        assert self.segments is not None
        _day, tod = divmod(now, MINUTES_PER_DAY)
        for offset in (0, MINUTES_PER_DAY):
            for start, open_windows in self.segments:
                at = offset + start
                if at > tod and open_windows > window:
                    return at - tod
        return MINUTES_PER_DAY

    def queue_for_new_ticket(self, now: float) -> int:
        if self.dispatch == "shared_queue":
            return 0
        open_windows = max(1, self.open_count(now))
        if self.dispatch == "round_robin":
            chosen, self.rr = self.rr % open_windows, (self.rr + 1) % open_windows
            return chosen
        loads = [w + b for w, b in zip(self.waiting[:open_windows], self.busy, strict=False)]
        return loads.index(min(loads))

    def enqueue(self, ticket: _Ticket, qi: int, now: float) -> None:
        ticket.queue = qi
        if self.dispatch != "shared_queue":
            ticket.window = qi
        if ticket.booked and self.priority is not None:
            self.priority[qi].append(ticket)
        else:
            self.queues[qi].append(ticket)
        self.waiting[qi] += 1
        if self.dormant:  # off-duty windows look at the clock again
            dormant, self.dormant = self.dormant, []
            for wake in dormant:
                wake.succeed()
        idle = self.idle[qi]
        while idle:  # wake an open idle window; closed ones wake too, to go off duty
            window, wake = idle.popleft()
            wake.succeed()
            if self.segments is None or window < self.open_count(now):
                break

    def all_queues(self) -> list[deque[_Ticket]]:
        return self.queues + (self.priority or [])

    def load_per_window(self, now: float) -> float:
        """People waiting or served per window open now (no window open: endless)."""
        load = sum(self.waiting) + self.n_busy
        if self.segments is None:
            return load / self.count
        open_windows = self.open_count(now)
        return load / open_windows if open_windows else math.inf


class _Visitor:
    """One person on one trip (a collection trip is a visitor object of its own that
    shares `counts` with the applicant). Matters are codes: the matter index, plus the
    number of matters for a kiosk application."""

    __slots__ = ("arrival", "attempts", "booked", "collecting", "consult_min", "counts", "day",
                 "effort", "instant", "issuance", "key", "number", "patience", "pending",
                 "remaining", "returns", "slots", "stage", "to_issue", "trip", "work",
                 "work_by_slot")  # fmt: skip

    def __init__(self, number, key, day, arrival, remaining, work):
        self.number, self.day, self.arrival = number, day, arrival
        self.key = key  # (first day, place in its arrivals): the key of its random draws
        self.remaining, self.work = remaining, work
        # keyed draws made up front for this visitor (views of the day's arrays, by slot:
        # see DayVisitors); patience by queue visit
        self.patience = self.instant = self.effort = self.returns = self.issuance = None
        self.slots = list(range(len(remaining)))  # each remaining matter's draw index
        self.counts = [0, 1]  # queue visits and trips so far, shared with collection trips
        self.trip = 1
        self.stage = _ACCEPT
        self.booked = False  # holds a valid booking (first trip only)
        self.consult_min = None  # time at the guide desk, when this visitor asks first
        self.collecting: dict[int, _Visitor] | None = None  # collection trips by day
        self.attempts: list[int] = []  # trips made so far for each matter slot
        self.pending: list[tuple[int, int]] = []  # (matter, slot) to bring back later
        self.to_issue: list[tuple[int, int, float]] = []  # instant results to collect now
        self.work_by_slot = work


class _Ticket:
    __slots__ = ("booked", "label", "matters", "pool", "queue", "service", "slots", "state",
                 "ticket_at", "visit", "visitor", "window")  # fmt: skip
    # the visit's stage is its pool's

    def __init__(self, visitor, visit, pool, queue, label, service, ticket_at, matters, slots):
        self.visitor, self.visit, self.pool, self.queue = visitor, visit, pool, queue
        self.booked = visitor.booked and pool.takes_bookings
        self.label, self.service, self.ticket_at = label, service, ticket_at
        self.matters, self.slots = matters, slots
        self.state = _WAITING
        self.window: int | None = None


class _Hall:
    def __init__(self, scenario: Scenario, streams: Streams):
        self.scenario, self.streams = scenario, streams
        self.env = simpy.Environment()
        self.log = LogBuilder()
        self._add = self.log.rows.append
        self.pools = [
            _Pool(
                i,
                name,
                p.count,
                p.speed_factor,
                p.dispatch,
                STAGES.index(p.stage),
                _takes_bookings(scenario, p),
                p.booked,
            )
            for i, (name, p) in enumerate(scenario.windows.items())
        ]
        pool_index = {p.name: p.index for p in self.pools}
        self.matter_ids = list(scenario.matters)
        # draws made one at a time, keyed by (visitor key, what for): see sim.streams
        self._u_patience = streams.drawer("patience")  # beyond the visits drawn up front
        self.patience = scenario.patience_min
        self.n_matters = len(self.matter_ids)  # a kiosk application's code is matter + this
        self.departments = [m.department for m in scenario.matters.values()]

        def eligible(stage: str, channel: str = "window", booked=False) -> list[frozenset[int]]:
            return [
                frozenset(pool_index[n] for n in scenario.pools_serving(m, stage, channel, booked))
                for m in self.matter_ids
            ]

        # by stage, then matter code: window codes, then kiosk codes
        self.eligible_by_stage = (
            eligible("consultation") * 2,
            eligible("acceptance") + eligible("acceptance", "kiosk"),
            eligible("issuance") * 2,
        )
        self.eligible = self.eligible_by_stage[_ACCEPT]
        self.eligible_booked = eligible("acceptance", booked=True) + eligible("acceptance", "kiosk")
        self.only_pool = [self.pools[next(iter(e))] if len(e) == 1 else None for e in self.eligible]
        self.labels: list[tuple[str, str, int]] = []  # (matters, departments, n_matters)
        self._label_index: dict[tuple[int, ...], int] = {}
        # by matter code (window codes, then kiosk codes)
        self._single_labels = [self._label((m,)) for m in range(len(self.matter_ids))] * 2
        cal = scenario.calendar
        self.lunch = (cal.lunch.starts_at, cal.lunch.ends_at) if cal.lunch else None
        self.lunch_serves_holders = bool(cal.lunch and cal.lunch.at_start != "pause")
        self.send_home = cal.at_close == "send_home"
        self.closes_at = cal.closes_at
        self.matter_specs = list(scenario.matters.values())
        self.issuance = scenario.issuance
        self.instant_to_issuance = bool(
            scenario.issuance and scenario.issuance.instant_results == "issuance"
        )
        # anything to do after an acceptance: a back office, or instant results to issue
        self.follow_up = scenario.backoffice is not None or self.instant_to_issuance
        self.online: list[OnlineRow] = []
        self.backoffice = (
            None if scenario.backoffice is None else BackOfficeModel(self.env, scenario)
        )

    # -- processes -------------------------------------------------------------------
    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        env, number = self.env, 0
        for day in range(self.scenario.calendar.horizon_days):
            v = draw_day(self.scenario, self.streams, day)
            base = day * MINUTES_PER_DAY
            matters, n_matters = v.matters.tolist(), v.n_matters.tolist()
            work = v.work_min.tolist()
            patience = None if v.patience_min is None else v.patience_min.tolist()
            instant = None if v.instant_u is None else v.instant_u.tolist()
            # large, rarely read draws stay arrays: a visitor keeps a view of its row
            effort, returns, issuance = v.effort_u, v.returns_u, v.issuance_u
            channel = None if v.channel is None else v.channel.tolist()
            consult = None if v.consults is None else v.consults.tolist()
            consult_min = None if v.consult_min is None else v.consult_min.tolist()
            arrival_at = v.arrival_at.tolist()
            order = range(len(arrival_at))
            slot_at = no_show = None
            if v.slot_at is not None:  # bookings move arrivals: take them in time order
                order = np.argsort(v.arrival_at, kind="stable").tolist()
                slot_at, no_show = v.slot_at.tolist(), v.no_show.tolist()
            for i in order:
                yield env.timeout(base + arrival_at[i] - env.now)
                if no_show is not None and no_show[i]:
                    continue
                n = n_matters[i]
                visitor = _Visitor(number + i, (day, i), day, env.now, matters[i][:n], work[i][:n])
                if patience is not None:
                    visitor.patience = patience[i]
                if instant is not None:
                    visitor.instant, visitor.effort = instant[i], effort[i]
                if returns is not None:
                    visitor.returns, visitor.attempts = returns[i], [0] * n
                if issuance is not None:
                    visitor.issuance = issuance[i]
                if channel is not None and not self._apply_channels(visitor, channel[i]):
                    visitor.counts[1] = 0  # all done online: no trip (until a collection)
                    continue
                if consult is not None and consult[i]:
                    visitor.stage, visitor.consult_min = _CONSULT, consult_min[i]
                if slot_at is not None and slot_at[i] == slot_at[i]:  # a valid booking
                    visitor.booked = True
                    if slot_at[i] > arrival_at[i]:  # early: the ticket is issued at the slot
                        at = base + slot_at[i] - env.now
                        env.timeout(at).callbacks.append(partial(self._first_ticket, visitor))
                        continue
                self._next_visit(visitor)
            number += len(arrival_at)
            if self.send_home:
                yield env.timeout(base + self.closes_at - env.now)
                self._turn_away_waiting()

    def _window(self, pool: _Pool, w: int) -> Generator[simpy.Event, Any, None]:
        env, lunch, serve_holders = self.env, self.lunch, self.lunch_serves_holders
        qi = 0 if pool.dispatch == "shared_queue" else w
        idle = pool.idle[qi]
        while True:
            if pool.segments is not None and w >= pool.open_count(env.now):
                if pool.dispatch != "shared_queue":  # off duty: hand over its tickets
                    self._hand_over(pool, w)
                if pool.waiting[qi]:  # people wait: be back when the schedule reopens
                    yield env.timeout(pool.reopens_in(env.now, w))
                else:  # sleep until a ticket arrives (no endless clock-watching)
                    wake = env.event()
                    pool.dormant.append(wake)
                    yield wake
                continue
            if not pool.waiting[qi]:
                wake = env.event()
                idle.append((w, wake))
                yield wake
                continue
            queue = pool.queues[qi]
            if pool.priority is not None and pool.priority[qi]:  # booked tickets first
                queue = pool.priority[qi]
            ticket = queue[0]
            if ticket.state != _WAITING:  # abandoned while queued: drop it
                queue.popleft()
                continue
            if lunch is not None:
                tod = env.now % MINUTES_PER_DAY
                if lunch[0] <= tod < lunch[1]:
                    holders = serve_holders and _holders(pool, qi, env.now - tod + lunch[0])
                    if not holders:
                        yield env.timeout(lunch[1] - tod)
                        continue
                    queue, ticket = holders, holders[0]
            queue.popleft()
            pool.waiting[qi] -= 1
            ticket.state, ticket.window = _IN_SERVICE, w
            pool.busy[w] = True
            pool.n_busy += 1
            start = env.now
            yield env.timeout(ticket.service)
            pool.busy[w] = False
            pool.n_busy -= 1
            ticket.state = _GONE
            accepting = pool.stage == _ACCEPT
            incomplete = self._incomplete(ticket) if accepting and ticket.visitor.attempts else ()
            self._record(ticket, start, env.now, _SERVED, len(incomplete))
            if accepting and self.follow_up:
                self._accepted(ticket, incomplete)
            self._next_visit(ticket.visitor)

    def _first_ticket(self, visitor: _Visitor, _event: simpy.Event) -> None:
        self._next_visit(visitor)

    # -- routing ---------------------------------------------------------------------
    def _choose_pool(self, matters: list[int], eligible: list[frozenset[int]]) -> _Pool:
        if len(matters) == 1 and len(eligible[matters[0]]) == 1:
            return self.pools[next(iter(eligible[matters[0]]))]
        best_key, best, now = None, None, self.env.now
        for pi in frozenset().union(*(eligible[m] for m in matters)):
            pool = self.pools[pi]
            key = (-sum(pi in eligible[m] for m in matters), pool.load_per_window(now), pi)
            if best_key is None or key < best_key:
                best_key, best = key, pool
        assert best is not None
        return best

    def _label(self, codes: tuple[int, ...]) -> int:
        """Index of the (matters, departments) label of a group of matters."""
        group = tuple(c % self.n_matters for c in codes)
        index = self._label_index.get(group)
        if index is None:
            departments = dict.fromkeys(self.departments[m] for m in group)
            label = ("+".join(self.matter_ids[m] for m in group), "+".join(departments))
            index = self._label_index[group] = len(self.labels)
            self.labels.append((*label, len(group)))
        return index

    def _next_visit(self, visitor: _Visitor) -> None:
        """Issue the visitor's next ticket, if any matter is left at this stage; then
        move on to issuance, or home."""
        matters = visitor.remaining
        if not matters:
            if visitor.to_issue:  # instant results are handed over before leaving
                visitor.stage = _ISSUE
                matters = visitor.remaining = [m for m, _, _ in visitor.to_issue]
                visitor.slots = [slot for _, slot, _ in visitor.to_issue]
                visitor.work = [work for _, _, work in visitor.to_issue]
                visitor.to_issue = []
            else:
                if visitor.pending:
                    self._plan_return(visitor)
                return
        stage = visitor.stage
        if stage == _ACCEPT and not visitor.booked and len(matters) == 1:  # common, kept fast
            m = matters[0]
            pool = self.only_pool[m] or self._choose_pool(matters, self.eligible)
            service = visitor.work[0] / pool.speed
            label = self._single_labels[m]
            group, slots = (m,), (visitor.slots[0],)
            visitor.remaining = ()
        elif stage == _CONSULT:  # one guide-desk visit about all the matters
            pool = self._choose_pool(matters, self.eligible_by_stage[_CONSULT])
            service = visitor.consult_min / pool.speed
            group, slots = tuple(matters), tuple(visitor.slots)
            label = self._label(group)
            visitor.stage = _ACCEPT
        else:
            booked = visitor.booked and stage == _ACCEPT
            eligible = self.eligible_booked if booked else self.eligible_by_stage[stage]
            pool = self._choose_pool(matters, eligible)
            here = [k for k, m in enumerate(matters) if pool.index in eligible[m]]
            service = sum(visitor.work[k] for k in here) / pool.speed
            group = tuple(matters[k] for k in here)
            slots = tuple(visitor.slots[k] for k in here)
            label = self._label(group)
            visitor.remaining = [m for k, m in enumerate(matters) if k not in here]
            visitor.work = [w for k, w in enumerate(visitor.work) if k not in here]
            visitor.slots = [s for k, s in enumerate(visitor.slots) if k not in here]
        counts = visitor.counts
        counts[0] += 1
        patience = None
        if self.patience is not None:  # drawn for this queue visit
            drawn = visitor.patience
            if counts[0] <= len(drawn):
                patience = drawn[counts[0] - 1]
            else:
                u = self._u_patience(*visitor.key, counts[0])
                patience = float(self.patience.quantile(u))
        env = self.env
        ticket = _Ticket(visitor, counts[0], pool, 0, label, service, env.now, group, slots)
        if self.send_home and env.now - visitor.day * MINUTES_PER_DAY >= self.closes_at:
            ticket.state = _GONE
            self._record(ticket, _NAN, env.now, _UNSERVED)
            return
        pool.enqueue(ticket, pool.queue_for_new_ticket(env.now), env.now)
        if patience is not None:
            env.timeout(patience).callbacks.append(lambda _event: self._abandon(ticket))

    def _hand_over(self, pool: _Pool, window: int) -> None:
        """Tickets assigned to a window going off duty move to open windows."""
        queues = [pool.queues[window]] + ([pool.priority[window]] if pool.priority else [])
        moving = [t for q in queues for t in q if t.state == _WAITING]
        for q in queues:
            q.clear()
        pool.waiting[window] = 0
        for ticket in moving:
            pool.enqueue(ticket, pool.queue_for_new_ticket(self.env.now), self.env.now)

    def _apply_channels(self, visitor: _Visitor, channel: list[int]) -> bool:
        """Take the visitor's online applications out of the hall and send kiosk ones to
        kiosks; True if any matter is left to bring to the hall."""
        kept = []
        for k, m in enumerate(visitor.remaining):
            if channel[k] == ONLINE:
                self.online.append(OnlineRow(visitor.number, m, self.env.now))
                self._open_case_unless_instant(visitor, m, k)  # instant: sent electronically
            else:
                kept.append(k)
                if channel[k] == KIOSK:
                    visitor.remaining[k] = m + self.n_matters
        visitor.remaining = [visitor.remaining[k] for k in kept]
        visitor.work = [visitor.work[k] for k in kept]
        visitor.slots = kept
        return bool(kept)

    def _incomplete(self, ticket: _Ticket) -> tuple[int, ...]:
        """Slots of the visit's matters whose materials were incomplete: they go home
        and come back (unless accepted with deficiencies)."""
        visitor, found = ticket.visitor, []
        for m, slot in zip(ticket.matters, ticket.slots, strict=True):
            spec = self.matter_specs[m % self.n_matters]
            attempt = visitor.attempts[slot]
            visitor.attempts[slot] += 1
            if (
                spec.incomplete_share > 0
                and not spec.accept_with_deficiencies
                and attempt < MAX_TRIPS - 1
                and visitor.returns[slot][attempt][0] < spec.incomplete_share
            ):
                found.append(slot)
                visitor.pending.append((m, slot))
        return tuple(found)

    def _plan_return(self, visitor: _Visitor) -> None:
        """Come back a whole number of working days later, at the same time of day."""
        m, slot = visitor.pending[0]
        m %= self.n_matters
        u = visitor.returns[slot][visitor.attempts[slot] - 1][1]
        spec = self.matter_specs[m]
        days = max(1, math.ceil(min(float(spec.return_after_days.quantile(u)), MAX_DAYS)))
        self._come_back(visitor, visitor.day + days, self._return)

    def _come_back(self, visitor: _Visitor, day: int, then) -> None:
        """Call `then(visitor)` on a later working day than today (a late service may
        already be past midnight), at the time of day the visitor came."""
        time_of_day = visitor.arrival - visitor.day * MINUTES_PER_DAY
        day = max(day, int(self.env.now // MINUTES_PER_DAY) + 1)
        at = day * MINUTES_PER_DAY + time_of_day
        self.env.timeout(at - self.env.now).callbacks.append(lambda _e: then(visitor))

    def _new_trip(self, visitor: _Visitor) -> None:
        visitor.day = int(self.env.now // MINUTES_PER_DAY)
        visitor.arrival = self.env.now
        visitor.counts[1] += 1
        visitor.trip = visitor.counts[1]

    def _return(self, visitor: _Visitor) -> None:
        self._new_trip(visitor)
        visitor.stage, visitor.booked = _ACCEPT, False
        visitor.remaining = [m for m, _ in visitor.pending]
        visitor.slots = [slot for _, slot in visitor.pending]
        visitor.work = [visitor.work_by_slot[slot] for slot in visitor.slots]
        visitor.pending = []
        self._next_visit(visitor)

    def _accepted(self, ticket: _Ticket, incomplete: tuple[int, ...]) -> None:
        """Matters accepted at a window or kiosk open back-office cases unless instant;
        with issuance windows, instant results are collected before leaving."""
        visitor = ticket.visitor
        for m, slot in zip(ticket.matters, ticket.slots, strict=True):
            if slot in incomplete:
                continue
            instant = not self._open_case_unless_instant(visitor, m, slot)
            if instant and self.instant_to_issuance:
                visitor.to_issue.append((m, slot, self._issuance_min(visitor, slot)))

    def _open_case_unless_instant(self, visitor: _Visitor, m: int, slot: int) -> bool:
        """An accepted application goes to the back office unless it is instant; True if
        it went. With issuance windows, its result is then mailed or collected."""
        m %= self.n_matters
        spec = self.matter_specs[m]
        if (
            self.backoffice is None
            or spec.approval is None
            or visitor.instant[slot] < spec.instant_share
        ):
            return False
        on_done = None
        if self.issuance is not None and visitor.issuance[slot][0] >= self.issuance.mail_share:
            on_done = lambda: self._plan_collection(visitor, m, slot)  # noqa: E731
        self.backoffice.open_case(visitor.number, m, spec.approval, visitor.effort[slot], on_done)
        return True

    def _issuance_min(self, visitor: _Visitor, slot: int) -> float:
        return float(self.issuance.service_min.quantile(visitor.issuance[slot][2]))

    def _plan_collection(self, visitor: _Visitor, m: int, slot: int) -> None:
        """The result is ready: the applicant comes to an issuance window for it, a
        whole number of working days later, on a trip of its own; results to collect on
        the same day are collected on one trip."""
        u = visitor.issuance[slot][1]
        days = max(1, math.ceil(min(float(self.issuance.collect_after_days.quantile(u)), MAX_DAYS)))
        day = int(self.env.now // MINUTES_PER_DAY) + days  # always a later day than today
        work = self._issuance_min(visitor, slot)
        if visitor.collecting is None:
            visitor.collecting = {}
        planned = visitor.collecting.get(day)  # not come yet: it is still a later day
        if planned is not None:
            planned.remaining.append(m % self.n_matters)
            planned.work.append(work)
            planned.slots.append(slot)
            return
        collector = _Visitor(
            visitor.number, visitor.key, visitor.day, visitor.arrival, [m % self.n_matters], [work]
        )
        collector.counts, collector.slots, collector.stage = visitor.counts, [slot], _ISSUE
        collector.patience = visitor.patience  # the same person, the next queue visit
        visitor.collecting[day] = collector
        self._come_back(collector, day, self._collect)

    def _collect(self, collector: _Visitor) -> None:
        self._new_trip(collector)
        self._next_visit(collector)

    def _abandon(self, ticket: _Ticket) -> None:
        if ticket.state == _WAITING:
            ticket.state = _GONE
            ticket.pool.waiting[ticket.queue] -= 1
            self._record(ticket, _NAN, self.env.now, _ABANDONED)

    def _turn_away_waiting(self) -> None:
        for pool in self.pools:
            for queue in pool.all_queues():
                for ticket in queue:
                    if ticket.state == _WAITING:
                        ticket.state = _GONE
                        self._record(ticket, _NAN, self.env.now, _UNSERVED)
                queue.clear()
            pool.waiting = [0] * len(pool.waiting)

    def _record(
        self, ticket: _Ticket, start: float, end: float, outcome: int, incomplete: int = 0
    ) -> None:
        v = ticket.visitor
        window = None if ticket.window is None else ticket.window + 1
        self._add(
            VisitRow(
                day=v.day, visitor=v.number, visit=ticket.visit, label=ticket.label,
                pool=ticket.pool.index, window=window, arrival_abs_min=v.arrival,
                ticket_abs_min=ticket.ticket_at, start_abs_min=start, end_abs_min=end,
                outcome=outcome, trip=v.trip, incomplete=incomplete, booked=ticket.booked,
            )
        )  # fmt: skip

    def run(self) -> None:
        opens_at = self.scenario.calendar.opens_at
        for pool, spec in zip(self.pools, self.scenario.windows.values(), strict=True):
            if spec.schedule is not None:
                pool.segments = spec.segments(opens_at)
            for w in range(pool.count):
                self.env.process(self._window(pool, w))
        self.env.process(self._arrivals())
        self.env.run()


def _holders(pool: _Pool, qi: int, lunch_at: float) -> deque[_Ticket] | None:
    """During lunch: the queue whose next live ticket was taken before lunch began
    (booked first), or None. Queues are in ticket order (a hand-over from a window going
    off duty appends its older tickets), so the heads tell."""
    for queue in (pool.priority[qi] if pool.priority else (), pool.queues[qi]):
        while queue and queue[0].state != _WAITING:
            queue.popleft()
        if queue and queue[0].ticket_at < lunch_at:
            return queue
    return None


def _takes_bookings(scenario: Scenario, pool) -> bool:
    """Bookings are for acceptance at staffed windows (pools' `booked` rule applies there)."""
    at_windows = pool.stage == "acceptance" and pool.channel == "window"
    return scenario.appointments is not None and at_windows


@dataclass(frozen=True)
class Simulated:
    """What one replication recorded: the event log, and the case and step logs of the
    back office (empty without one)."""

    log: pd.DataFrame
    cases: pd.DataFrame
    steps: pd.DataFrame
    online: pd.DataFrame  # applications made online: visitor, matter, day, applied_at


def simulate_all(scenario: Scenario, seed: int, replication: int) -> Simulated:
    """Run one replication of a scenario; return every log it recorded."""
    hall = _Hall(scenario, Streams(seed, replication))
    hall.run()
    last_day = int(hall.env.now // MINUTES_PER_DAY)  # the drain may run past the horizon
    dates = np.array(
        scenario.calendar.dates(max(scenario.calendar.horizon_days, last_day + 1)),
        dtype="datetime64[D]",
    )
    log = hall.log.to_frame(
        scenario.name,
        replication,
        hall.labels,
        [pool.name for pool in hall.pools],
        [STAGES[pool.stage] for pool in hall.pools],
        dates,
    )
    office = hall.backoffice
    approvals = [m.approval for m in scenario.matters.values()]
    cases = case_frame(
        office.cases if office else [],
        scenario.name,
        replication,
        hall.matter_ids,
        approvals,
        dates,
    )
    steps = step_frame(office.steps if office else [], scenario.name, replication)
    online = pd.DataFrame(hall.online, columns=list(OnlineRow._fields))
    online = online.assign(
        scenario=scenario.name,
        replication=replication,
        matter=pd.Categorical.from_codes(online["matter"].to_numpy(int), hall.matter_ids),
        day=(online["applied_abs_min"] // MINUTES_PER_DAY).astype("int32"),
    )
    return Simulated(log, cases, steps, online)


def simulate(scenario: Scenario, seed: int, replication: int) -> pd.DataFrame:
    """Run one replication of a scenario; return its event log."""
    return simulate_all(scenario, seed, replication).log
