"""The front office as a SimPy model: a thin hall that assembles the parts, issues each
visitor's tickets and records them.

The parts: the day's visitors coming in, online and kiosk applications, bookings and
closing (sim.arrivals, from the keyed draws of sim.demand); window pools with their
queues, dispatch, staffing and lunch (sim.pools); which pool takes a visitor's next
ticket (sim.routing); a visitor's trips, stages and errands (sim.journey); what follows
an acceptance: returns with incomplete materials, the back office (sim.backoffice) and
collection trips (sim.aftercare). The hall itself issues a visitor's next ticket (with
patience for the queue), records every visit in the event log, and at closing turns
away those still waiting when the scenario sends them home. It only simulates and
records rows; metrics are computed elsewhere.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import simpy

from sim.aftercare import Aftercare
from sim.arrivals import Arrivals
from sim.calendar import MINUTES_PER_DAY
from sim.journey import ACCEPT, CONSULT, Visitor
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

if TYPE_CHECKING:
    from sim.trace import Trace

__all__ = ["Simulated", "simulate", "simulate_all"]

_SERVED, _ABANDONED, _UNSERVED = (OUTCOMES.index(o) for o in OUTCOMES)
_NAN = float("nan")


class _Hall:
    """Assembles pools, routing, arrivals and the back office, and moves each visitor
    from ticket to ticket, trip to trip."""

    def __init__(self, scenario: Scenario, streams: Streams, trace: Trace | None = None):
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
        self.aftercare = Aftercare(self.env, scenario, self._next_ticket)
        self.arrivals = Arrivals(
            self.env, scenario, streams, self._next_ticket, self._turn_away_waiting,
            self.aftercare.open_case_unless_instant, trace,
        )  # fmt: skip

    def run(self) -> None:
        for pool in self.pools:
            pool.start(self.env, self.lunch, self.lunch_serves_holders, self._served)
        self.arrivals.start()
        self.env.run()

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


def simulate_all(
    scenario: Scenario, seed: int, replication: int, trace: Trace | None = None
) -> Simulated:
    """Run one replication of a scenario (on the observed visitors of a trace, if
    given: sim.trace); return every log it recorded."""
    hall = _Hall(scenario, Streams(seed, replication), trace)
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
    online = pd.DataFrame(hall.arrivals.online, columns=list(OnlineRow._fields))
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
