"""Day by day, the drawn visitors come in: each at its time, online applications
taken out, kiosk applications marked, bookings held to their slot; at closing, those
still waiting may be sent home.

The day's draws come from sim.demand; a visitor who comes in is handed to the hall's
`enter` (its first ticket). Each arrival is a callback on its own timeout: no process
per visitor.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from sim.calendar import MINUTES_PER_DAY
from sim.demand import KIOSK, ONLINE, DayVisitors, draw_day
from sim.journey import CONSULT, Errand, Visitor
from sim.records import OnlineRow
from sim.scenario import Scenario
from sim.streams import Streams

if TYPE_CHECKING:
    from sim.trace import Trace

__all__ = ["Arrivals"]


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

    def __init__(self, day: int, number: int, v: DayVisitors) -> None:
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


class Arrivals:
    """The visitors of every day of the horizon, one arrival at a time."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        streams: Streams,
        enter: Callable[[Visitor], None],
        turn_away: Callable[[], None],
        apply_online: Callable[[Visitor, Errand], object],
        trace: Trace | None = None,
    ):
        self.env, self.scenario, self.streams = env, scenario, streams
        self.enter, self.turn_away, self.apply_online = enter, turn_away, apply_online
        self.n_matters = len(scenario.matters)  # a kiosk application's code is matter + this
        self.send_home = scenario.calendar.at_close == "send_home"
        self.closes_at = scenario.calendar.closes_at
        self.online: list[OnlineRow] = []  # applications made online
        self.trace = trace  # observed visitors to replay instead of drawn ones

    def start(self) -> None:
        if self.scenario.calendar.horizon_days:
            self.env.process(self._first_day())

    def _first_day(self) -> Generator[simpy.Event, Any, None]:
        """Start the arrivals as a process (so they start as they always did, after the
        windows); from then on each arrival is a callback on its own timeout."""
        self._open_day(0, 0)
        yield from ()

    def _open_day(self, day: int, number: int) -> None:
        """Draw the day's visitors (numbered from `number`) and expect the first."""
        v = draw_day(self.scenario, self.streams, day, self.trace)
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
        self.turn_away()
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
        self.enter(visitor)

    def _first_ticket(self, visitor: Visitor, _event: simpy.Event) -> None:
        self.enter(visitor)

    def _apply_channels(self, visitor: Visitor, channel: list[int]) -> bool:
        """Take the visitor's online applications out of the hall and send kiosk ones to
        kiosks; True if any matter is left to bring to the hall."""
        kept = []
        for errand in visitor.errands:
            how = channel[errand.slot]
            if how == ONLINE:
                self.online.append(OnlineRow(visitor.number, errand.code, self.env.now))
                self.apply_online(visitor, errand)  # an instant result is sent at once
            elif how == KIOSK:
                kept.append(errand._replace(code=errand.code + self.n_matters))
            else:
                kept.append(errand)
        visitor.errands = kept
        return bool(kept)
