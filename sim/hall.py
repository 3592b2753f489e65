"""The front office as a SimPy model: a thin hall that assembles the parts and moves
each visitor from ticket to ticket and trip to trip.

The parts: window pools with their queues, dispatch, staffing and lunch (sim.pools);
which pool takes a visitor's next ticket (sim.routing); a visitor's trips, stages and
errands (sim.journey); the day's keyed draws (sim.demand); the back office
(sim.backoffice). The hall adds what happens between tickets: online applications skip
acceptance; kiosk applications queue at kiosk pools; matters with incomplete materials
send the visitor home to come back on a later working day; accepted matters that are
not instant go to the back office, whose results are mailed or collected on a trip of
their own; at closing, those still waiting are served or sent home. The model only
simulates and records rows in the event log (the back office in its case and step logs).
"""

from __future__ import annotations

import gc
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.aftercare import Aftercare
from sim.calendar import MINUTES_PER_DAY
from sim.demand import KIOSK, ONLINE, draw_day
from sim.journey import ACCEPT, CONSULT, Errand, Visitor
from sim.pools import GONE, Pool, Ticket
from sim.records import (
    OUTCOMES,
    STAGES,
    LogBuilder,
    OnlineRow,
    VisitRow,
    case_frame,
    step_frame,
)
from sim.routing import Router, takes_bookings
from sim.scenario import Scenario
from sim.streams import Streams

__all__ = ["Simulated", "simulate", "simulate_all"]

_SERVED, _ABANDONED, _UNSERVED = (OUTCOMES.index(o) for o in OUTCOMES)
_NAN = float("nan")


class _Day:
    """One day's keyed draws (sim.demand.DayVisitors) as Python lists, read visitor by
    visitor; large, rarely read draws stay arrays (a visitor keeps a view of its row)."""

    __slots__ = (
        "arrival_at",
        "base_min",
        "channel",
        "consult",
        "consult_min",
        "day",
        "effort",
        "i",
        "instant",
        "issuance",
        "matters",
        "n_matters",
        "no_show",
        "number",
        "order",
        "patience",
        "returns",
        "slot_at",
        "work",
    )  # fmt: skip

    def __init__(self, day: int, number: int, v) -> None:
        self.day, self.number, self.base_min = day, number, day * MINUTES_PER_DAY
        self.matters, self.n_matters = v.matters.tolist(), v.n_matters.tolist()
        self.work = v.work_min.tolist()
        self.patience = None if v.patience_min is None else v.patience_min.tolist()
        self.instant = None if v.instant_u is None else v.instant_u.tolist()
        self.effort, self.returns, self.issuance = v.effort_u, v.returns_u, v.issuance_u
        self.channel = None if v.channel is None else v.channel.tolist()
        self.consult = None if v.consults is None else v.consults.tolist()
        self.consult_min = None if v.consult_min is None else v.consult_min.tolist()
        self.arrival_at = v.arrival_at.tolist()
        order = range(len(self.arrival_at))
        self.slot_at = self.no_show = None
        if v.slot_at is not None:  # bookings move arrivals: take them in time order
            order = np.argsort(v.arrival_at, kind="stable").tolist()
            self.slot_at, self.no_show = v.slot_at.tolist(), v.no_show.tolist()
        self.order = iter(order)
        self.i: int | None = None  # the visitor expected next


class _Hall:
    """Assembles pools, routing, arrivals and the back office, and moves each visitor
    from ticket to ticket, trip to trip."""

    def __init__(self, scenario: Scenario, streams: Streams):
        self.scenario, self.streams = scenario, streams
        self.env = simpy.Environment()
        self.log = LogBuilder()
        self._add = self.log.rows.append
        opens_at = scenario.calendar.opens_at
        self.pools = [
            Pool(
                i, name, p.count, p.speed_factor, p.dispatch, STAGES.index(p.stage),
                takes_bookings(scenario, name), p.booked,
                None if p.schedule is None else p.segments(opens_at),
            )
            for i, (name, p) in enumerate(scenario.windows.items())
        ]  # fmt: skip
        self.router = Router(scenario, self.pools)
        self.n_matters = self.router.n_matters
        # draws made one at a time, keyed by (visitor key, what for): see sim.streams
        self._u_patience = streams.drawer("patience")  # beyond the visits drawn up front
        self.patience = scenario.patience_min
        cal = scenario.calendar
        self.lunch = (cal.lunch.starts_at, cal.lunch.ends_at) if cal.lunch else None
        self.lunch_serves_holders = bool(cal.lunch and cal.lunch.at_start != "pause")
        self.send_home = cal.at_close == "send_home"
        self.closes_at = cal.closes_at
        self.online: list[OnlineRow] = []
        self.aftercare = Aftercare(self.env, scenario, self._next_ticket)

    def run(self) -> None:
        for pool in self.pools:
            pool.start(self.env, self.lunch, self.lunch_serves_holders, self._served)
        if self.scenario.calendar.horizon_days:
            self.env.process(self._first_day())
        self.env.run()

    def _first_day(self) -> Generator[simpy.Event, Any, None]:
        """Start the arrivals as a process (so they start as they always did, after the
        windows); from then on each arrival is a callback on its own timeout."""
        self._open_day(0, 0)
        yield from ()

    # -- arrivals --------------------------------------------------------------------
    def _open_day(self, day: int, number: int) -> None:
        """Draw the day's visitors (numbered from `number`) and expect the first."""
        v = draw_day(self.scenario, self.streams, day)
        today = _Day(day, number, v)
        self._today = today
        self._expect_next(today)

    def _expect_next(self, today: _Day) -> None:
        """The next visitor of the day comes in; after the last, the day closes."""
        env = self.env
        i = next(today.order, None)
        if i is not None:
            at = today.base_min + today.arrival_at[i] - env.now
            env.timeout(at).callbacks.append(self._arrive)
        elif self.send_home:
            env.timeout(today.base_min + self.closes_at - env.now).callbacks.append(self._close)
        else:
            self._next_day(today)
        today.i = i

    def _close(self, _event: simpy.Event) -> None:
        self._turn_away_waiting()
        self._next_day(self._today)

    def _next_day(self, today: _Day) -> None:
        if today.day + 1 < self.scenario.calendar.horizon_days:
            self._open_day(today.day + 1, today.number + len(today.arrival_at))

    def _arrive(self, _event: simpy.Event) -> None:
        today = self._today
        self._welcome(today, today.i)
        self._expect_next(today)

    def _welcome(self, today: _Day, i: int) -> None:
        """Visitor i of the day enters the hall (or applies online, or never comes)."""
        day, env = today.day, self.env
        if today.no_show is not None and today.no_show[i]:
            return
        n = today.n_matters[i]
        matters, work = today.matters[i], today.work[i]
        if n == 1:
            errands = [Errand(matters[0], 0, work[0])]
        else:
            errands = list(map(Errand, matters[:n], range(n), work[:n]))
        visitor = Visitor(today.number + i, (day, i), day, env.now, errands)
        if today.patience is not None:
            visitor.patience = today.patience[i]
        if today.instant is not None:
            visitor.instant, visitor.effort = today.instant[i], today.effort[i]
        if today.returns is not None:
            visitor.returns, visitor.attempts = today.returns[i], [0] * n
        if today.issuance is not None:
            visitor.issuance = today.issuance[i]
        if today.channel is not None and not self._apply_channels(visitor, today.channel[i]):
            visitor.counts[1] = 0  # all done online: no trip (until a collection)
            return
        if today.consult is not None and today.consult[i]:
            visitor.stage, visitor.consult_min = CONSULT, today.consult_min[i]
        slot_at = today.slot_at
        if slot_at is not None and slot_at[i] == slot_at[i]:  # a valid booking
            visitor.booked = True
            if slot_at[i] > today.arrival_at[i]:  # early: the ticket is issued at the slot
                at = today.base_min + slot_at[i] - env.now
                env.timeout(at).callbacks.append(partial(self._first_ticket, visitor))
                return
        self._next_ticket(visitor)

    def _first_ticket(self, visitor: Visitor, _event: simpy.Event) -> None:
        self._next_ticket(visitor)

    def _apply_channels(self, visitor: Visitor, channel: list[int]) -> bool:
        """Take the visitor's online applications out of the hall and send kiosk ones to
        kiosks; True if any matter is left to bring to the hall."""
        kept = []
        for errand in visitor.errands:
            how = channel[errand.slot]
            if how == ONLINE:
                self.online.append(OnlineRow(visitor.number, errand.code, self.env.now))
                self.aftercare.open_case_unless_instant(visitor, errand)  # instant: online
            elif how == KIOSK:
                kept.append(errand._replace(code=errand.code + self.n_matters))
            else:
                kept.append(errand)
        visitor.errands = kept
        return bool(kept)

    # -- tickets ---------------------------------------------------------------------
    def _next_ticket(self, visitor: Visitor) -> None:
        """Issue the visitor's next ticket, if any errand is left at this stage; then
        move on to issuance, or home."""
        errands = visitor.errands
        if not errands and not visitor.next_stage():
            if visitor.pending:
                self.aftercare.plan_return(visitor)
            return
        errands, stage, router, now = visitor.errands, visitor.stage, self.router, self.env.now
        if stage == ACCEPT and not visitor.booked and len(errands) == 1:  # common, kept fast
            errand = errands[0]
            code = errand.code
            pool = router.only_pool[code] or router.choose(
                [code], router.eligible_by_stage[ACCEPT], now
            )
            service = errand.work_min / pool.speed
            label = router.single_labels[code]
            group = errands
            visitor.errands = ()
        elif stage == CONSULT:  # one guide-desk visit about all the matters
            eligible = router.eligible_by_stage[CONSULT]
            pool = router.choose([e.code for e in errands], eligible, now)
            service = visitor.consult_min / pool.speed
            group = tuple(errands)
            label = router.label(tuple(e.code for e in errands))
            visitor.stage = ACCEPT
        else:
            eligible = router.eligible(stage, visitor.booked)
            pool = router.choose([e.code for e in errands], eligible, now)
            here = pool.index
            group = tuple(e for e in errands if here in eligible[e.code])
            service = sum(e.work_min for e in group) / pool.speed
            label = router.label(tuple(e.code for e in group))
            visitor.errands = [e for e in errands if here not in eligible[e.code]]
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
        ticket = Ticket(visitor, counts[0], pool, label, service, now, group)
        if self.send_home and now - visitor.day * MINUTES_PER_DAY >= self.closes_at:
            ticket.state = GONE
            self._record(ticket, _NAN, now, _UNSERVED)
            return
        pool.issue(ticket, now)
        if patience is not None:
            self.env.timeout(patience).callbacks.append(lambda _event: self._abandon(ticket))

    def _served(self, ticket: Ticket, start: float) -> None:
        """A window finished a ticket: record it, pass accepted matters on, go on."""
        visitor = ticket.visitor
        accepting = ticket.pool.stage == ACCEPT
        aftercare = self.aftercare
        incomplete = aftercare.incomplete(ticket) if accepting and visitor.attempts else ()
        self._record(ticket, start, self.env.now, _SERVED, len(incomplete))
        if accepting and aftercare.needed:
            aftercare.accepted(ticket, incomplete)
        if visitor.errands or visitor.to_issue or visitor.pending:  # else: done, home
            self._next_ticket(visitor)

    def _abandon(self, ticket: Ticket) -> None:
        if ticket.pool.leave(ticket):
            self._record(ticket, _NAN, self.env.now, _ABANDONED)

    def _turn_away_waiting(self) -> None:
        for pool in self.pools:
            for ticket in pool.turn_away():
                self._record(ticket, _NAN, self.env.now, _UNSERVED)

    def _record(
        self, ticket: Ticket, start: float, end: float, outcome: int, incomplete: int = 0
    ) -> None:
        v = ticket.visitor
        window = 0 if ticket.window is None else ticket.window + 1  # 0: none
        self._add(
            VisitRow(
                v.day, v.number, ticket.visit, ticket.label, ticket.pool.index, window,
                v.arrival, ticket.ticket_at, start, end, outcome, v.trip, incomplete,
                ticket.booked,
            )
        )  # fmt: skip


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while the model runs. The model makes millions of
    short-lived objects without reference cycles (reference counting frees them), and
    the collector's passes over the growing heap took half the time of a long run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    with _collector_paused():
        hall.run()
    last_day = int(hall.env.now // MINUTES_PER_DAY)  # the drain may run past the horizon
    dates = np.array(
        scenario.calendar.dates(max(scenario.calendar.horizon_days, last_day + 1)),
        dtype="datetime64[D]",
    )
    log = hall.log.to_frame(
        scenario.name,
        replication,
        hall.router.labels,
        [pool.name for pool in hall.pools],
        [STAGES[pool.stage] for pool in hall.pools],
        dates,
    )
    office = hall.aftercare.backoffice
    approvals = [m.approval for m in scenario.matters.values()]
    cases = case_frame(
        office.cases if office else [],
        scenario.name,
        replication,
        hall.router.matter_ids,
        approvals,
        dates,
    )
    steps = step_frame(office.steps if office else [], scenario.name, replication)
    online = pd.DataFrame(hall.online, columns=list(OnlineRow._fields))
    online = online.assign(
        scenario=scenario.name,
        replication=replication,
        matter=pd.Categorical.from_codes(online["matter"].to_numpy(int), hall.router.matter_ids),
        day=(online["applied_abs_min"] // MINUTES_PER_DAY).astype("int32"),
    )
    return Simulated(log, cases, steps, online)


def simulate(scenario: Scenario, seed: int, replication: int) -> pd.DataFrame:
    """Run one replication of a scenario; return its event log."""
    return simulate_all(scenario, seed, replication).log
