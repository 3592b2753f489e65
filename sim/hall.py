"""The front office as a SimPy model: tickets, window pools, routing, lunch, closing, patience.

One mechanism covers department and comprehensive windows: a pool of windows with a set
of matters it may serve. A visitor holding matters takes a ticket at the pool that serves
the most of their remaining matters (ties: the shorter queue per window, then file order),
is served there for all of them, and goes on to the next pool until none are left. With
department windows that is one queue per department; with comprehensive windows, one.

A pool either keeps one shared ticket queue that any free window calls from, or assigns
each ticket to one window when it is issued (shortest queue or round robin), as many
real ticket machines do. The model only simulates and records rows in the event log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.backoffice import BackOfficeModel
from sim.calendar import MINUTES_PER_DAY
from sim.demand import draw_day
from sim.records import OUTCOMES, LogBuilder, case_frame, step_frame
from sim.scenario import Scenario
from sim.streams import streams

__all__ = ["Simulated", "simulate", "simulate_all"]

_WAITING, _IN_SERVICE, _GONE = 0, 1, 2
_SERVED, _ABANDONED, _UNSERVED = (OUTCOMES.index(o) for o in OUTCOMES)
_NAN = float("nan")


class _Pool:
    __slots__ = (
        "busy", "count", "dispatch", "idle", "index", "name", "open_now", "queues", "reopen",
        "rr", "speed", "waiting",
    )  # fmt: skip

    def __init__(self, index: int, name: str, count: int, speed: float, dispatch: str):
        self.index, self.name, self.count, self.speed = index, name, count, speed
        self.dispatch = dispatch
        n_queues = 1 if dispatch == "shared_queue" else count
        self.queues: list[deque[_Ticket]] = [deque() for _ in range(n_queues)]
        self.waiting = [0] * n_queues  # live tickets per queue (the deques hold the gone too)
        # idle windows per queue, as (window, event that wakes it)
        self.idle: list[deque[tuple[int, simpy.Event]]] = [deque() for _ in range(n_queues)]
        self.busy = [False] * count
        self.rr = 0
        self.open_now = count  # windows 0..open_now-1 call tickets (staffing schedule)
        self.reopen: simpy.Event | None = None  # closed windows wait on this

    def queue_for_new_ticket(self) -> int:
        if self.dispatch == "shared_queue":
            return 0
        open_windows = max(1, self.open_now)
        if self.dispatch == "round_robin":
            chosen, self.rr = self.rr % open_windows, (self.rr + 1) % open_windows
            return chosen
        loads = [w + b for w, b in zip(self.waiting[:open_windows], self.busy, strict=False)]
        return loads.index(min(loads))

    def enqueue(self, ticket: _Ticket, qi: int) -> None:
        ticket.queue = qi
        if self.dispatch != "shared_queue":
            ticket.window = qi
        self.queues[qi].append(ticket)
        self.waiting[qi] += 1
        if self.idle[qi]:
            self.idle[qi].popleft()[1].succeed()

    def load_per_window(self) -> float:
        return (sum(self.waiting) + sum(self.busy)) / self.count


class _Visitor:
    __slots__ = ("arrival", "day", "effort", "instant", "number", "patience", "remaining",
                 "slots", "visits", "work")  # fmt: skip

    def __init__(self, number, day, arrival, remaining, work, patience):
        self.number, self.day, self.arrival = number, day, arrival
        self.remaining, self.work, self.patience = remaining, work, patience
        self.slots = list(range(len(remaining)))  # each remaining matter's draw index
        self.visits = 0
        self.instant = self.effort = None  # back-office draws, when there is a back office


class _Ticket:
    __slots__ = ("label", "matters", "pool", "queue", "service", "slots", "state", "ticket_at",
                 "visit", "visitor", "window")  # fmt: skip

    def __init__(self, visitor, visit, pool, queue, label, service, ticket_at, matters, slots):
        self.visitor, self.visit, self.pool, self.queue = visitor, visit, pool, queue
        self.label, self.service, self.ticket_at = label, service, ticket_at
        self.matters, self.slots = matters, slots
        self.state = _WAITING
        self.window: int | None = None


class _Hall:
    def __init__(self, scenario: Scenario, rngs: dict[str, np.random.Generator]):
        self.scenario, self.rngs = scenario, rngs
        self.env = simpy.Environment()
        self.log = LogBuilder()
        self._add = self.log.rows.append
        self.pools = [
            _Pool(i, name, p.count, p.speed_factor, p.dispatch)
            for i, (name, p) in enumerate(scenario.windows.items())
        ]
        pool_index = {p.name: p.index for p in self.pools}
        self.matter_ids = list(scenario.matters)
        self.departments = [m.department for m in scenario.matters.values()]
        self.eligible = [
            frozenset(pool_index[name] for name in scenario.pools_serving(m))
            for m in self.matter_ids
        ]
        self.only_pool = [self.pools[next(iter(e))] if len(e) == 1 else None for e in self.eligible]
        self.labels: list[tuple[str, str, int]] = []  # (matters, departments, n_matters)
        self._label_index: dict[tuple[int, ...], int] = {}
        self._single_labels = [self._label((m,)) for m in range(len(self.matter_ids))]
        cal = scenario.calendar
        self.lunch = (cal.lunch.starts_at, cal.lunch.ends_at) if cal.lunch else None
        self.lunch_serves_holders = bool(cal.lunch and cal.lunch.at_start != "pause")
        self.send_home = cal.at_close == "send_home"
        self.closes_at = cal.closes_at
        self.matter_specs = list(scenario.matters.values())
        self.backoffice = (
            None if scenario.backoffice is None else BackOfficeModel(self.env, scenario)
        )

    # -- processes -------------------------------------------------------------------
    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        env, number = self.env, 0
        for day in range(self.scenario.calendar.days):
            v = draw_day(self.scenario, self.rngs)
            base = day * MINUTES_PER_DAY
            matters, n_matters = v.matters.tolist(), v.n_matters.tolist()
            work = v.work_min.tolist()
            patience = None if v.patience_min is None else v.patience_min.tolist()
            instant = None if v.instant_u is None else v.instant_u.tolist()
            effort = None if v.effort_u is None else v.effort_u.tolist()
            for i, t in enumerate(v.arrival_at.tolist()):
                yield env.timeout(base + t - env.now)
                n = n_matters[i]
                visitor = _Visitor(
                    number, day, env.now, matters[i][:n], work[i][:n],
                    None if patience is None else patience[i],
                )  # fmt: skip
                if instant is not None:
                    visitor.instant, visitor.effort = instant[i], effort[i]
                number += 1
                self._next_visit(visitor)
            if self.send_home:
                yield env.timeout(base + self.closes_at - env.now)
                self._turn_away_waiting()

    def _window(self, pool: _Pool, w: int) -> Generator[simpy.Event, Any, None]:
        env, lunch, serve_holders = self.env, self.lunch, self.lunch_serves_holders
        qi = 0 if pool.dispatch == "shared_queue" else w
        queue, idle = pool.queues[qi], pool.idle[qi]
        while True:
            if w >= pool.open_now:  # closed by the staffing schedule
                if pool.reopen is None:
                    pool.reopen = env.event()
                yield pool.reopen
                continue
            if not pool.waiting[qi]:
                wake = env.event()
                idle.append((w, wake))
                yield wake
                continue
            ticket = queue[0]
            if ticket.state != _WAITING:  # abandoned while queued: drop it
                queue.popleft()
                continue
            if lunch is not None:
                tod = env.now % MINUTES_PER_DAY
                if lunch[0] <= tod < lunch[1] and not (
                    serve_holders and ticket.ticket_at < env.now - tod + lunch[0]
                ):
                    yield env.timeout(lunch[1] - tod)
                    continue
            queue.popleft()
            pool.waiting[qi] -= 1
            ticket.state, ticket.window = _IN_SERVICE, w
            pool.busy[w] = True
            start = env.now
            yield env.timeout(ticket.service)
            pool.busy[w] = False
            ticket.state = _GONE
            self._record(ticket, start, env.now, _SERVED)
            if self.backoffice is not None:
                self._to_backoffice(ticket)
            self._next_visit(ticket.visitor)

    # -- routing ---------------------------------------------------------------------
    def _choose_pool(self, matters: list[int]) -> _Pool:
        eligible = self.eligible
        if len(matters) == 1 and len(eligible[matters[0]]) == 1:
            return self.pools[next(iter(eligible[matters[0]]))]
        best_key, best = None, None
        for pi in frozenset().union(*(eligible[m] for m in matters)):
            pool = self.pools[pi]
            key = (-sum(pi in eligible[m] for m in matters), pool.load_per_window(), pi)
            if best_key is None or key < best_key:
                best_key, best = key, pool
        assert best is not None
        return best

    def _label(self, group: tuple[int, ...]) -> int:
        """Index of the (matters, departments) label of a group of matters."""
        index = self._label_index.get(group)
        if index is None:
            departments = dict.fromkeys(self.departments[m] for m in group)
            label = ("+".join(self.matter_ids[m] for m in group), "+".join(departments))
            index = self._label_index[group] = len(self.labels)
            self.labels.append((*label, len(group)))
        return index

    def _next_visit(self, visitor: _Visitor) -> None:
        """Issue the visitor's next ticket, if any matter is left."""
        matters = visitor.remaining
        if not matters:
            return
        if len(matters) == 1:  # the common case, kept fast
            m = matters[0]
            pool = self.only_pool[m] or self._choose_pool(matters)
            service = visitor.work[0] / pool.speed
            label = self._single_labels[m]
            group, slots = (m,), (visitor.slots[0],)
            visitor.remaining = ()
        else:
            pool = self._choose_pool(matters)
            here = [k for k, m in enumerate(matters) if pool.index in self.eligible[m]]
            service = sum(visitor.work[k] for k in here) / pool.speed
            group = tuple(matters[k] for k in here)
            slots = tuple(visitor.slots[k] for k in here)
            label = self._label(group)
            visitor.remaining = [m for k, m in enumerate(matters) if k not in here]
            visitor.work = [w for k, w in enumerate(visitor.work) if k not in here]
            visitor.slots = [s for k, s in enumerate(visitor.slots) if k not in here]
        patience = None if visitor.patience is None else visitor.patience[visitor.visits]
        visitor.visits += 1
        env = self.env
        ticket = _Ticket(visitor, visitor.visits, pool, 0, label, service, env.now, group, slots)
        if self.send_home and env.now - visitor.day * MINUTES_PER_DAY >= self.closes_at:
            ticket.state = _GONE
            self._record(ticket, _NAN, env.now, _UNSERVED)
            return
        pool.enqueue(ticket, pool.queue_for_new_ticket())
        if patience is not None:
            env.timeout(patience).callbacks.append(lambda _event: self._abandon(ticket))

    def _staffing(self, pool: _Pool, segments: list[tuple[int, int]]):
        """Open and close windows at the schedule's times, every day."""
        env = self.env
        for day in range(self.scenario.calendar.days):
            for start, n in segments:
                at = day * MINUTES_PER_DAY + start
                if at > env.now:
                    yield env.timeout(at - env.now)
                self._set_open(pool, n)

    def _set_open(self, pool: _Pool, n: int) -> None:
        before, pool.open_now = pool.open_now, n
        if n > before and pool.reopen is not None:
            pool.reopen, reopen = None, pool.reopen
            reopen.succeed()
        if n >= before:
            return
        for idle in pool.idle:  # idle windows that close go to wait for reopening
            closing = [(w, wake) for w, wake in idle if w >= n]
            kept = [(w, wake) for w, wake in idle if w < n]
            idle.clear()
            idle.extend(kept)
            for _w, wake in closing:
                wake.succeed()
        if pool.dispatch != "shared_queue":  # tickets at closing windows move to open ones
            for w in range(n, pool.count):
                moving = [t for t in pool.queues[w] if t.state == _WAITING]
                pool.queues[w].clear()
                pool.waiting[w] = 0
                for ticket in moving:
                    pool.enqueue(ticket, pool.queue_for_new_ticket())

    def _to_backoffice(self, ticket: _Ticket) -> None:
        """Matters accepted at the window that are not instant open back-office cases."""
        visitor = ticket.visitor
        for m, slot in zip(ticket.matters, ticket.slots, strict=True):
            spec = self.matter_specs[m]
            if spec.approval is not None and visitor.instant[slot] >= spec.instant_share:
                self.backoffice.open_case(visitor.number, m, spec.approval, visitor.effort[slot])

    def _abandon(self, ticket: _Ticket) -> None:
        if ticket.state == _WAITING:
            ticket.state = _GONE
            ticket.pool.waiting[ticket.queue] -= 1
            self._record(ticket, _NAN, self.env.now, _ABANDONED)

    def _turn_away_waiting(self) -> None:
        for pool in self.pools:
            for qi, queue in enumerate(pool.queues):
                for ticket in queue:
                    if ticket.state == _WAITING:
                        ticket.state = _GONE
                        self._record(ticket, _NAN, self.env.now, _UNSERVED)
                queue.clear()
                pool.waiting[qi] = 0

    def _record(self, ticket: _Ticket, start: float, end: float, outcome: int) -> None:
        v = ticket.visitor
        window = None if ticket.window is None else ticket.window + 1
        self._add(
            (v.day, v.number, ticket.visit, ticket.label, ticket.pool.index, window,
             v.arrival, ticket.ticket_at, start, end, outcome)
        )  # fmt: skip

    def run(self) -> None:
        opens_at = self.scenario.calendar.opens_at
        for pool, spec in zip(self.pools, self.scenario.windows.values(), strict=True):
            if spec.schedule is not None:
                segments = spec.segments(opens_at)
                pool.open_now = segments[0][1]
                self.env.process(self._staffing(pool, segments))
            for w in range(pool.count):
                self.env.process(self._window(pool, w))
        self.env.process(self._arrivals())
        self.env.run()


@dataclass(frozen=True)
class Simulated:
    """What one replication recorded: the event log, and the case and step logs of the
    back office (empty without one)."""

    log: pd.DataFrame
    cases: pd.DataFrame
    steps: pd.DataFrame


def simulate_all(scenario: Scenario, seed: int, replication: int) -> Simulated:
    """Run one replication of a scenario; return every log it recorded."""
    hall = _Hall(scenario, streams(seed, replication))
    hall.run()
    log = hall.log.to_frame(
        scenario.name, replication, hall.labels, [pool.name for pool in hall.pools]
    )
    office = hall.backoffice
    approvals = [m.approval for m in scenario.matters.values()]
    cases = case_frame(
        office.cases if office else [], scenario.name, replication, hall.matter_ids, approvals
    )
    steps = step_frame(office.steps if office else [], scenario.name, replication)
    return Simulated(log, cases, steps)


def simulate(scenario: Scenario, seed: int, replication: int) -> pd.DataFrame:
    """Run one replication of a scenario; return its event log."""
    return simulate_all(scenario, seed, replication).log
