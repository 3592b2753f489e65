"""What follows a ticket at acceptance: incomplete materials sent home to come back,
accepted matters handed to the back office (or issued at once), results mailed or
collected on a later trip.

The hall calls in after a served acceptance ticket and when a visitor has pending
matters; this module plans the later trips and hands the visitor back to the hall's
`next_ticket` when they come.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from sim.backoffice import MAX_DAYS, BackOfficeModel
from sim.calendar import MINUTES_PER_DAY
from sim.demand import MAX_TRIPS
from sim.journey import Errand, Visitor
from sim.pools import Ticket
from sim.scenario import Scenario

__all__ = ["Aftercare"]


class Aftercare:
    """The back office and the trips that follow an acceptance, for one replication."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        next_ticket: Callable[[Visitor], None],
    ):
        self.env, self.next_ticket = env, next_ticket
        self.matter_specs = list(scenario.matters.values())
        self.n_matters = len(self.matter_specs)  # a kiosk application's code is matter + this
        self.issuance = scenario.issuance
        self.instant_to_issuance = bool(
            scenario.issuance and scenario.issuance.instant_results == "issuance"
        )
        self.backoffice = None if scenario.backoffice is None else BackOfficeModel(env, scenario)
        # anything to do after an acceptance: a back office, or instant results to issue
        self.needed = self.backoffice is not None or self.instant_to_issuance

    def incomplete(self, ticket: Ticket) -> tuple[int, ...]:
        """Slots of the visit's matters whose materials were incomplete: they go home
        and come back (unless accepted with deficiencies)."""
        visitor, found = ticket.visitor, []
        for errand in ticket.errands:
            spec = self.matter_specs[errand.code % self.n_matters]
            slot = errand.slot
            attempt = visitor.attempts[slot]
            visitor.attempts[slot] += 1
            if (
                spec.incomplete_share > 0
                and not spec.accept_with_deficiencies
                and attempt < MAX_TRIPS - 1
                and visitor.returns[slot, attempt, 0] < spec.incomplete_share
            ):
                found.append(slot)
                visitor.pending.append(errand)
        return tuple(found)

    def accepted(self, ticket: Ticket, incomplete: tuple[int, ...]) -> None:
        """Matters accepted at a window or kiosk open back-office cases unless instant;
        with issuance windows, instant results are collected before leaving."""
        visitor = ticket.visitor
        for errand in ticket.errands:
            if errand.slot in incomplete:
                continue
            instant = not self.open_case_unless_instant(visitor, errand)
            if instant and self.instant_to_issuance:
                work = self._issuance_min(visitor, errand.slot)
                visitor.to_issue.append(Errand(errand.code, errand.slot, work))

    def open_case_unless_instant(self, visitor: Visitor, errand: Errand) -> bool:
        """An accepted application goes to the back office unless it is instant; True if
        it went. With issuance windows, its result is then mailed or collected."""
        m, slot = errand.code % self.n_matters, errand.slot
        spec = self.matter_specs[m]
        if (
            self.backoffice is None
            or spec.approval is None
            or visitor.instant[slot] < spec.instant_share
        ):
            return False
        on_done = None
        if self.issuance is not None and visitor.issuance[slot, 0] >= self.issuance.mail_share:
            on_done = lambda: self._plan_collection(visitor, m, slot)  # noqa: E731
        effort_u = visitor.effort[slot].tolist()  # (effort, delay) uniforms by step
        self.backoffice.open_case(visitor.number, m, spec.approval, effort_u, on_done)
        return True

    def _issuance_min(self, visitor: Visitor, slot: int) -> float:
        return float(self.issuance.service_min.quantile(visitor.issuance[slot, 2]))

    # -- later trips -----------------------------------------------------------------
    def plan_return(self, visitor: Visitor) -> None:
        """Come back a whole number of working days later, at the same time of day."""
        errand = visitor.pending[0]
        u = visitor.returns[errand.slot, visitor.attempts[errand.slot] - 1, 1]
        spec = self.matter_specs[errand.code % self.n_matters]
        days = max(1, math.ceil(min(float(spec.return_after_days.quantile(u)), MAX_DAYS)))
        self._later_trip(visitor, visitor.day + days, self._return)

    def _return(self, visitor: Visitor) -> None:
        visitor.come_back(self.env.now, int(self.env.now // MINUTES_PER_DAY))
        self.next_ticket(visitor)

    def _plan_collection(self, visitor: Visitor, m: int, slot: int) -> None:
        """The result is ready: the applicant comes to an issuance window for it, a
        whole number of working days later, on a trip of its own; results to collect on
        the same day are collected on one trip."""
        u = visitor.issuance[slot, 1]
        days = max(1, math.ceil(min(float(self.issuance.collect_after_days.quantile(u)), MAX_DAYS)))
        day = int(self.env.now // MINUTES_PER_DAY) + days  # always a later day than today
        errand = Errand(m, slot, self._issuance_min(visitor, slot))
        if visitor.collecting is None:
            visitor.collecting = {}
        planned = visitor.collecting.get(day)  # not come yet: it is still a later day
        if planned is not None:
            planned.errands.append(errand)
            return
        collector = visitor.collector(errand)
        visitor.collecting[day] = collector
        self._later_trip(collector, day, self._collect)

    def _collect(self, collector: Visitor) -> None:
        collector.new_trip(self.env.now, int(self.env.now // MINUTES_PER_DAY))
        self.next_ticket(collector)

    def _later_trip(self, visitor: Visitor, day: int, then) -> None:
        """Call `then(visitor)` on a later working day than today (a late service may
        already be past midnight), at the time of day the visitor came."""
        time_of_day = visitor.arrival - visitor.day * MINUTES_PER_DAY
        day = max(day, int(self.env.now // MINUTES_PER_DAY) + 1)
        at = day * MINUTES_PER_DAY + time_of_day
        self.env.timeout(at - self.env.now).callbacks.append(lambda _e: then(visitor))
