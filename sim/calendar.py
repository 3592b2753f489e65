"""The hall's clock: opening hours, lunch break, ticket cut-off, days, closing rule.

Simulation time is minutes since midnight of day 0; day d's times of day are offset by
d * 1440. Times of day in scenario files are "HH:MM" strings, stored as minutes.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property, lru_cache
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from sim.fields import FROZEN_CONFIG, Count

__all__ = [
    "MINUTES_PER_DAY",
    "WEEKDAYS",
    "Calendar",
    "Lunch",
    "TimeOfDay",
    "Weekday",
    "common_hours",
    "format_time",
    "parse_time",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

MINUTES_PER_DAY = 1440
_HHMM = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


def parse_time(value: object) -> int:
    """'08:30' -> 510 minutes since midnight. Bare numbers are refused on purpose."""
    if isinstance(value, str):
        match = _HHMM.match(value.strip())
        if match:
            minutes = int(match.group(1)) * 60 + int(match.group(2))
            if minutes <= MINUTES_PER_DAY:
                return minutes
    raise ValueError(f'time of day must be "HH:MM" between 00:00 and 24:00, got {value!r}')


def common_hours(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The times of day inside both lists of periods (minutes since midnight)."""
    both = [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b]
    return sorted((s, e) for s, e in both if s < e)


def format_time(minutes: float) -> str:
    """510 -> '08:30' (minutes past 24:00 keep counting: 1500 -> '25:00')."""
    whole = round(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


TimeOfDay = Annotated[
    int,
    BeforeValidator(parse_time),
    PlainSerializer(format_time, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^([01]?\d|2[0-4]):[0-5]\d$"}),
]


class Lunch(BaseModel):
    """Windows stop calling new tickets during lunch; a service under way is finished."""

    model_config = FROZEN_CONFIG
    starts_at: TimeOfDay
    ends_at: TimeOfDay
    at_start: Literal["pause", "serve_ticket_holders"] = Field(
        default="pause",
        description=(
            "pause: tickets waiting at the start of lunch wait until it ends; "
            "serve_ticket_holders: windows first serve everyone who took a ticket before lunch"
        ),
    )


class Calendar(BaseModel):
    """When the hall serves. Arrivals come between opening and the ticket cut-off."""

    model_config = FROZEN_CONFIG
    opens_at: TimeOfDay
    closes_at: TimeOfDay
    lunch: Lunch | None = None
    ticket_cutoff_at: TimeOfDay | None = Field(
        default=None, description="last ticket of the day; defaults to closes_at"
    )
    days: Count = Field(
        default=1,
        ge=1,
        le=10_000,
        description="working days measured per replication (after the warm-up)",
    )
    warmup_days: Count = Field(
        default=0,
        ge=0,
        le=1_000,
        description="working days simulated before the measured days and left out of every "
        "KPI, so that the back office's backlog and return visits are under way when "
        "measuring starts",
    )
    start_date: dt.date = Field(
        default=dt.date(2021, 3, 1),
        description="date of the first simulated day (moved forward to a working day)",
    )
    weekend: tuple[Weekday, ...] = Field(
        default=("sat", "sun"), description="weekdays the hall and the back office are closed"
    )
    holidays: tuple[dt.date, ...] = Field(
        default=(), description="public holidays (YYYY-MM-DD), closed like weekends"
    )
    at_close: Literal["serve_ticket_holders", "send_home"] = Field(
        default="serve_ticket_holders",
        description=(
            "serve_ticket_holders: everyone in the hall at closing is served (overtime "
            "recorded); send_home: tickets still waiting at closing are turned away"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Calendar:
        if len(set(self.weekend)) >= 7:
            raise ValueError("calendar.weekend: at least one weekday must be a working day")
        if self.opens_at >= self.closes_at:
            raise ValueError("calendar.closes_at: must be after opens_at")
        if not self.opens_at < self.cutoff_at <= self.closes_at:
            raise ValueError("calendar.ticket_cutoff_at: must lie after opens_at, by closes_at")
        if self.lunch is not None and not (
            self.opens_at < self.lunch.starts_at < self.lunch.ends_at < self.closes_at
        ):
            raise ValueError(
                "calendar.lunch: must start after opening, end before closing, start < end"
            )
        return self

    def is_working(self, day: dt.date) -> bool:
        return WEEKDAYS[day.weekday()] not in self.weekend and day not in self._holiday_set

    @cached_property
    def _holiday_set(self) -> frozenset[dt.date]:
        return frozenset(self.holidays)

    def date_of(self, working_day: int) -> dt.date:
        """The date of working day n (0 = the first working day from start_date).

        The simulation clock runs on working days only: day n starts at n * 1440 minutes,
        so "k working days later" is simply k * 1440 minutes later.
        """
        if working_day < 0:
            raise ValueError("working days are counted from 0")
        return self.dates(working_day + 1)[working_day]

    def dates(self, n: int) -> list[dt.date]:
        """Dates of working days 0 .. n-1 (weekends and holidays skipped)."""
        return list(_working_dates(self, max(n, self.horizon_days))[:n])

    def after_holiday(self, working_day: int) -> bool:
        """True for the first working day after a break that holds a public holiday (the
        day after a long holiday, when the hall fills up)."""
        dates = _working_dates(self, max(self.horizon_days, working_day + 1))
        today = dates[working_day]
        before = dates[working_day - 1] if working_day else self.start_date - dt.timedelta(1)
        return any(
            before + dt.timedelta(k) in self._holiday_set for k in range((today - before).days)
        )

    def weekday(self, working_day: int) -> str:
        """'mon' .. 'sun' of working day n."""
        return WEEKDAYS[
            _working_dates(self, max(self.horizon_days, working_day + 1))[working_day].weekday()
        ]

    @property
    def horizon_days(self) -> int:
        """Working days with arrivals: the warm-up, then the measured days."""
        return self.warmup_days + self.days

    @property
    def cutoff_at(self) -> int:
        return self.closes_at if self.ticket_cutoff_at is None else self.ticket_cutoff_at

    def service_intervals(self) -> list[tuple[int, int]]:
        """Times of day when windows call tickets (opening hours less lunch)."""
        if self.lunch is None:
            return [(self.opens_at, self.closes_at)]
        return [(self.opens_at, self.lunch.starts_at), (self.lunch.ends_at, self.closes_at)]

    @property
    def service_min_per_day(self) -> int:
        return sum(end - start for start, end in self.service_intervals())


@lru_cache(maxsize=64)
def _working_dates(calendar: Calendar, n: int) -> tuple[dt.date, ...]:
    out, day = [], calendar.start_date
    while len(out) < n:
        if calendar.is_working(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)
