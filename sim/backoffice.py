"""The back office: approval teams on a working-day clock, serial or parallel routes.

The simulation clock runs on working days only (day n starts at n * 1440 minutes; see
`Calendar.date_of`), so weekends and holidays take no simulated time: "k working days
later" is k * 1440 minutes later, and lead times in working days are differences of the
clock. Within a day, staff work only in the back office's working hours: an effort of
3 hours started at 16:30 with a 17:30 close ends at 10:00 the next working day (08:00
start). A step holds one staff member of its department's team for its effort, then
waits `delay_days` (site inspection, expert review) with no staff. Serial routes run
steps one after another; parallel routes fork them and join when all are done. Like the
hall, this module only simulates and records rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from sim.calendar import MINUTES_PER_DAY, common_hours
from sim.records import CaseRow, StepRow

if TYPE_CHECKING:
    from sim.scenario import Approval, Scenario

__all__ = ["MAX_DAYS", "BackOfficeModel", "next_working_time", "work_finish", "working_intervals"]

# Draws beyond these (one in a million at most: sim.scenario bounds the tails) are cut
# here, so that no single draw can run the clock past the calendar's last date.
MAX_DAYS = 25_000  # working days, a hundred years
MAX_EFFORT_HOURS = 20_000


def working_intervals(scenario: Scenario, *teams: str) -> list[tuple[int, int]]:
    """Times of day when approval staff work, in order: the office's, or those when
    every one of these teams is at work."""
    office = scenario.backoffice
    periods = None
    for team in teams or (None,):
        hours = None if office is None else office.team_hours.get(team, office.working_hours)
        own = (
            scenario.calendar.service_intervals()
            if hours is None
            else sorted((h.starts_at, h.ends_at) for h in hours)
        )
        periods = own if periods is None else common_hours(periods, own)
    return periods


def next_working_time(t: float, intervals: list[tuple[int, int]]) -> float:
    """The first moment at or after t inside working hours."""
    day, tod = divmod(t, MINUTES_PER_DAY)
    for start, end in intervals:
        if tod < end:
            return day * MINUTES_PER_DAY + max(tod, start)
    return (day + 1) * MINUTES_PER_DAY + intervals[0][0]


def work_finish(t: float, effort_min: float, intervals: list[tuple[int, int]]) -> float:
    """When `effort_min` minutes of work started at t end, counting working hours only."""
    remaining = effort_min
    day, tod = divmod(t, MINUTES_PER_DAY)
    while True:
        for start, end in intervals:
            if tod >= end:
                continue
            begin = max(tod, start)
            if remaining <= end - begin:
                return day * MINUTES_PER_DAY + begin + remaining
            remaining -= end - begin
            tod = end
        day, tod = day + 1, 0.0


class BackOfficeModel:
    """Teams as SimPy resources; cases as processes. Rows go to `cases` and `steps`."""

    def __init__(self, env: simpy.Environment, scenario: Scenario):
        office = scenario.backoffice
        assert office is not None
        self.env = env
        self.hours = {team: working_intervals(scenario, team) for team in office.teams}
        self.scenario = scenario  # for the hours of several teams, when all work
        self.teams = {dept: simpy.Resource(env, staff) for dept, staff in office.teams.items()}
        self.warning_share = office.warning_share
        self.cases: list[CaseRow] = []
        self.steps: list[StepRow] = []
        self._next_case = 0

    def open_case(
        self,
        visitor: int,
        matter: int,
        approval: Approval,
        uniforms: list[float],
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """A matter accepted at a window now enters the back office; `on_done` is called
        when its result is ready."""
        case = self._next_case
        self._next_case += 1
        self.env.process(self._case(case, visitor, matter, approval, uniforms, on_done))

    def _case(
        self,
        case: int,
        visitor: int,
        matter: int,
        approval: Approval,
        uniforms: list[float],
        on_done: Callable[[], None] | None,
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        accepted = env.now
        draws = [
            (
                min(float(step.effort_hours.quantile(u)), MAX_EFFORT_HOURS) * 60,
                min(float(step.delay_days.quantile(v)), MAX_DAYS),
            )
            for step, (u, v) in zip(approval.steps, uniforms, strict=False)
        ]
        if approval.route == "joint":
            yield from self._joint(case, approval.steps, draws)
        elif approval.route == "parallel":
            yield env.all_of(
                [
                    env.process(self._step(case, step, *draw))
                    for step, draw in zip(approval.steps, draws, strict=True)
                ]
            )
        else:
            for step, draw in zip(approval.steps, draws, strict=True):
                yield from self._step(case, step, *draw)
        # the warning is raised when the share of the promised time has passed unfinished
        warn_at_min = accepted + self.warning_share * approval.promised_days * MINUTES_PER_DAY
        # reaching the warning time warns, to a microsecond (the clock's float error)
        warned = warn_at_min if env.now >= warn_at_min - 1e-6 else math.nan
        self.cases.append(CaseRow(case, visitor, matter, accepted, env.now, warned))
        if on_done is not None:
            on_done()

    def _joint(self, case: int, steps, draws) -> Generator[simpy.Event, Any, None]:
        """Every department's staff member at once (each case asks for all of them at
        one instant and the queues are first come first served, so no two cases can
        hold each other up for ever), for the longest effort, then the longest delay."""
        env = self.env
        queued = env.now
        requests = [self.teams[step.department].request() for step in steps]
        hours = working_intervals(self.scenario, *(step.department for step in steps))
        try:
            yield env.all_of(requests)
            effort_min = max(effort for effort, _ in draws)
            begin = next_working_time(env.now, hours)
            end = work_finish(begin, effort_min, hours)
            yield env.timeout(end - env.now)
        finally:
            for step, request in zip(steps, requests, strict=True):
                self.teams[step.department].release(request)
        delay_days = max(delay for _, delay in draws)
        if delay_days:
            yield env.timeout(delay_days * MINUTES_PER_DAY)
        for step in steps:
            self.steps.append(
                StepRow(case, step.department, queued, begin, end, effort_min, env.now)
            )

    def _step(
        self, case: int, step, effort_min: float, delay_days: float
    ) -> Generator[simpy.Event, Any, None]:
        env = self.env
        queued = env.now
        with self.teams[step.department].request() as request:
            yield request
            hours = self.hours[step.department]
            begin = next_working_time(env.now, hours)
            end = work_finish(begin, effort_min, hours)
            yield env.timeout(end - env.now)
        if delay_days:
            yield env.timeout(delay_days * MINUTES_PER_DAY)
        self.steps.append(StepRow(case, step.department, queued, begin, end, effort_min, env.now))
