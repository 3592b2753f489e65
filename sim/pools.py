"""Window pools: their ticket queues, how tickets reach a window, staffing and lunch.

A pool is a set of windows with one set of matters they may serve. It either keeps one
shared ticket queue that any free window calls from, or assigns each ticket to one
window when it is issued (shortest queue or round robin), as many real ticket machines
do. A pool may follow a staffing schedule: windows 0..n-1 are open, n by time of day.

Each window pulls tickets: it sleeps while nothing waits, and is woken by the next
ticket. The pool knows nothing of visitors' journeys: a served
ticket goes to the `served` callback the hall gives it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from functools import partial

import simpy
from simpy.core import URGENT

from sim.calendar import MINUTES_PER_DAY

__all__ = ["GONE", "IN_SERVICE", "WAITING", "Pool", "Ticket", "holders"]

WAITING, IN_SERVICE, GONE = 0, 1, 2


class Ticket:
    """One queue visit: a visitor's ticket at a pool for a group of matters."""

    __slots__ = ("booked", "errands", "label", "pool", "queue", "service_min", "state",
                 "ticket_at", "visit", "visitor", "window")  # fmt: skip

    def __init__(self, visitor, visit: int, pool: Pool, label: int, service_min: float,
                 ticket_at: float, errands):  # fmt: skip
        self.visitor, self.visit, self.pool, self.queue = visitor, visit, pool, 0
        self.booked = visitor.booked and pool.takes_bookings
        self.label, self.service_min, self.ticket_at = label, service_min, ticket_at
        self.errands = errands  # the visitor's errands this visit handles (sim.journey)
        self.state = WAITING
        self.window: int | None = None


class Pool:
    __slots__ = (
        "busy", "count", "dispatch", "dormant", "env", "idle", "index", "lunch", "n_busy",
        "name", "priority", "queues", "resume", "rr", "segments", "serve_holders", "served",
        "serving", "speed", "stage", "takes_bookings", "waiting",
    )  # fmt: skip

    def __init__(
        self, index: int, name: str, count: int, speed: float, dispatch: str, stage: int,
        takes_bookings: bool = False, booked: str = "fifo",
        segments: list[tuple[int, int]] | None = None,
    ):  # fmt: skip
        self.index, self.name, self.count, self.speed = index, name, count, speed
        self.stage = stage
        # bookings are for acceptance at staffed windows; elsewhere a booked visitor's
        # ticket is an ordinary one
        self.takes_bookings = takes_bookings
        self.dispatch = dispatch
        n_queues = 1 if dispatch == "shared_queue" else count
        self.queues: list[deque[Ticket]] = [deque() for _ in range(n_queues)]
        # booked tickets, called before the walk-ins of `queues` (booked: priority)
        booked_first = takes_bookings and booked == "priority"
        self.priority = [deque() for _ in range(n_queues)] if booked_first else None
        self.waiting = [0] * n_queues  # live tickets per queue (the deques hold the gone too)
        self.idle: list[deque[int]] = [deque() for _ in range(n_queues)]  # windows, per queue
        self.busy = [False] * count
        self.n_busy = 0  # windows serving now (the sum of busy, kept for routing)
        self.rr = 0
        # staffing schedule: (start, windows open) by time of day; None: all open always
        self.segments = segments
        self.dormant: list[simpy.Event] = []  # off-duty windows with nothing waiting

    # -- staffing --------------------------------------------------------------------
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

    def load_per_window(self, now: float) -> float:
        """People waiting or served per window open now (no window open: endless)."""
        load = sum(self.waiting) + self.n_busy
        if self.segments is None:
            return load / self.count
        open_windows = self.open_count(now)
        return load / open_windows if open_windows else math.inf

    # -- tickets ---------------------------------------------------------------------
    def issue(self, ticket: Ticket, now: float) -> None:
        """Queue a new ticket where the pool's dispatch rule puts it."""
        self.enqueue(ticket, self._queue_for_new_ticket(now), now)

    def _queue_for_new_ticket(self, now: float) -> int:
        if self.dispatch == "shared_queue":
            return 0
        open_windows = max(1, self.open_count(now))
        if self.dispatch == "round_robin":
            chosen, self.rr = self.rr % open_windows, (self.rr + 1) % open_windows
            return chosen
        loads = [w + b for w, b in zip(self.waiting[:open_windows], self.busy, strict=False)]
        return loads.index(min(loads))

    def enqueue(self, ticket: Ticket, qi: int, now: float) -> None:
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
        if idle and self.segments is None:  # an idle window calls the ticket now
            self._call_next(idle.popleft(), None)
            return
        while idle:  # with a schedule, windows woken in turn (closed ones go off duty),
            window = idle.popleft()  # at the same instant as the off-duty ones above
            wake = self.env.event()
            wake.callbacks.append(self.resume[window])
            wake.succeed()
            if window < self.open_count(now):
                break

    def leave(self, ticket: Ticket) -> bool:
        """The visitor gives up waiting; False if the ticket was no longer waiting."""
        if ticket.state != WAITING:
            return False
        ticket.state = GONE
        self.waiting[ticket.queue] -= 1
        return True

    def turn_away(self) -> list[Ticket]:
        """Empty every queue at closing; the tickets that were still waiting."""
        gone = []
        for queue in self.queues + (self.priority or []):
            for ticket in queue:
                if ticket.state == WAITING:
                    ticket.state = GONE
                    gone.append(ticket)
            queue.clear()
        self.waiting = [0] * len(self.waiting)
        return gone

    def _hand_over(self, window: int, now: float) -> None:
        """Tickets assigned to a window going off duty move to open windows."""
        queues = [self.queues[window]] + ([self.priority[window]] if self.priority else [])
        moving = [t for q in queues for t in q if t.state == WAITING]
        for q in queues:
            q.clear()
        self.waiting[window] = 0
        for ticket in moving:
            self.issue(ticket, now)

    # -- windows at work ------------------------------------------------------------
    def start(
        self,
        env: simpy.Environment,
        lunch: tuple[int, int] | None,
        serve_holders: bool,
        served: Callable[[Ticket, float], None],
    ) -> None:
        """Put the windows to work. Each calls the next ticket (booked first), serves
        it, hands it to `served(ticket, start)`, and calls again. At lunch it pauses, or
        serves only tickets taken before lunch began (`serve_holders`)."""
        self.env, self.lunch, self.serve_holders, self.served = env, lunch, serve_holders, served
        self.serving: list[tuple[Ticket, float] | None] = [None] * self.count
        # a window is a callback on the event it waits for, not a process: no generator
        # to resume per event (the pipeline's largest cost per ticket was SimPy's)
        self.resume = [partial(self._call_next, w) for w in range(self.count)]
        for w in range(self.count):
            _at_once(env, self.resume[w])

    def _call_next(self, w: int, _event: simpy.Event | None) -> None:
        """Window w finishes its service, if any, then works until it must wait: for
        an event, which calls this again, or idle, for the next ticket's `enqueue`."""
        env, resume = self.env, self.resume[w]
        serving = self.serving[w]
        if serving is not None:
            ticket, start = serving
            self.serving[w] = None
            self.busy[w] = False
            self.n_busy -= 1
            ticket.state = GONE
            self.served(ticket, start)
        qi = 0 if self.dispatch == "shared_queue" else w
        lunch = self.lunch
        while True:
            if self.segments is not None and w >= self.open_count(env.now):
                if self.dispatch != "shared_queue":  # off duty: hand over its tickets
                    self._hand_over(w, env.now)
                if self.waiting[qi]:  # people wait: be back when the schedule reopens
                    env.timeout(self.reopens_in(env.now, w)).callbacks.append(resume)
                else:  # sleep until a ticket arrives (no endless clock-watching)
                    wake = env.event()
                    wake.callbacks.append(resume)
                    self.dormant.append(wake)
                return
            if not self.waiting[qi]:  # idle: the next ticket at this queue calls it
                self.idle[qi].append(w)
                return
            queue = self.queues[qi]
            if self.priority is not None and self.priority[qi]:  # booked tickets first
                queue = self.priority[qi]
            ticket = queue[0]
            if ticket.state != WAITING:  # abandoned while queued: drop it
                queue.popleft()
                continue
            if lunch is not None:
                tod = env.now % MINUTES_PER_DAY
                if lunch[0] <= tod < lunch[1]:
                    at_lunch = self.serve_holders and holders(self, qi, env.now - tod + lunch[0])
                    if not at_lunch:
                        env.timeout(lunch[1] - tod).callbacks.append(resume)
                        return
                    queue, ticket = at_lunch, at_lunch[0]
            queue.popleft()
            self.waiting[qi] -= 1
            ticket.state, ticket.window = IN_SERVICE, w
            self.busy[w] = True
            self.n_busy += 1
            self.serving[w] = (ticket, env.now)
            env.timeout(ticket.service_min).callbacks.append(resume)
            return


def _at_once(env: simpy.Environment, callback: Callable[[simpy.Event], None]) -> None:
    """Call back at the current time before anything else now, as SimPy starts a
    process (an urgent event that has already succeeded)."""
    event = simpy.Event(env)
    event._ok, event._value = True, None  # succeeded: what env.process's Initialize sets
    event.callbacks.append(callback)
    env.schedule(event, URGENT)


def holders(pool: Pool, qi: int, lunch_at: float) -> deque[Ticket] | None:
    """During lunch: the queue whose next live ticket was taken before lunch began
    (booked first), or None. Queues are in ticket order (a hand-over from a window going
    off duty appends its older tickets), so the heads tell."""
    for queue in (pool.priority[qi] if pool.priority else (), pool.queues[qi]):
        while queue and queue[0].state != WAITING:
            queue.popleft()
        if queue and queue[0].ticket_at < lunch_at:
            return queue
    return None
