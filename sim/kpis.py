"""The KPI registry: every KPI's name, unit, direction, where it is measured, and flags.

Metrics compute KPIs; this table says what they are. The CLI, sizing, the regression
check and reports read it instead of keeping lists of their own, so a KPI added here
appears everywhere. Definitions live in docs/kpis.md (tested to cover every KPI).

Levels: `visitor` (overall, one value per visitor trip, summed over its queue visits),
`visit` (pool and matter tables, per ticket), `hour` (hourly table), `case` (whole-case
KPIs), `team` (back-office teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KPIS", "Kpi", "case_shown", "headline", "key", "shown", "sizable"]

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Kpi:
    name: str
    unit: str
    label: str  # a human name for reports
    levels: frozenset[str]
    better: Better | None = None  # None: a count or a setting, neither better nor worse
    headline: bool = False  # drives --reps auto, sweeps, the top of reports
    shown: bool = False  # printed on screen and at the top of reports
    key: bool = False  # checked by `hallsim regress`
    sized_by: Literal["windows", "staff"] | None = None  # more of it improves the KPI


def _k(name, unit, label, levels, better=None, *flags, sized_by=None) -> Kpi:
    return Kpi(
        name, unit, label, frozenset(levels.split()), better,
        "headline" in flags, "shown" in flags, "key" in flags, sized_by,
    )  # fmt: skip


_HALL, _ALL = "visitor visit", "visitor visit hour"
_TABLE = [
    _k("visitors", "people", "visitor trips", "visitor", None, "shown", "key"),
    _k("served", "people", "served", _HALL, "higher", "shown", sized_by="windows"),
    _k("abandoned", "people", "left the queue", _HALL, "lower", "shown", sized_by="windows"),
    _k("unserved_at_close", "people", "sent home at closing", _HALL, "lower",
       sized_by="windows"),
    _k("visits", "tickets", "queue visits", _HALL),
    _k("tickets", "tickets a day", "tickets", "hour"),
    _k("wait_mean_min", "min", "mean wait", _ALL, "lower", "headline", "shown", "key",
       sized_by="windows"),
    _k("wait_p50_min", "min", "median wait", _HALL, "lower", sized_by="windows"),
    _k("wait_p90_min", "min", "90th percentile wait", _ALL, "lower", "headline", "shown", "key",
       sized_by="windows"),
    _k("wait_p95_min", "min", "95th percentile wait", _ALL, "lower", sized_by="windows"),
    _k("wait_max_min", "min", "longest wait", _HALL, "lower", sized_by="windows"),
    _k("service_level_visitor", "share", "service level per visitor (all waits of a trip)",
       "visitor", "higher", "headline", "shown", "key", sized_by="windows"),
    _k("service_level_ticket", "share", "service level per ticket (Qmatic's)", _ALL, "higher",
       "shown", "key", sized_by="windows"),
    _k("time_in_hall_mean_min", "min", "mean time in the hall", "visitor", "lower", "shown",
       "key", sized_by="windows"),
    _k("service_mean_min", "min", "mean service time", "visit"),
    _k("windows", "windows", "staffed windows", _HALL, None, "shown", "key"),
    _k("staff_hours", "hours a day", "staffed window-hours", _HALL),
    _k("utilization", "share", "window utilization", "visitor visit team", None, "headline",
       "shown", "key"),
    _k("overtime_min", "min", "overtime after closing", _HALL, "lower", "shown", "key",
       sized_by="windows"),
    _k("booked_visitors", "people", "visitors with a booking", "visitor"),
    _k("booked_wait_mean_min", "min", "mean wait, booked", "visitor", "lower", "shown", "key"),
    _k("walk_in_wait_mean_min", "min", "mean wait, walk-ins", "visitor", "lower", "shown", "key"),
    _k("queue_length_mean", "people", "people waiting", "hour", "lower"),
    _k("busy_windows_mean", "windows", "busy windows", "hour"),
    _k("open_windows_mean", "windows", "open windows", "hour"),
    # the whole case
    _k("matters_accepted", "applications", "applications accepted", "case"),
    _k("same_day_rate", "share", "same-day rate", "case", "higher", "shown", "key"),
    _k("trips_per_case", "trips", "trips per application", "case", "lower", "shown", "key"),
    _k("one_trip_share", "share", "at most one trip", "case", "higher", "shown"),
    _k("zero_trip_share", "share", "no trip", "case", "higher"),
    _k("backoffice_cases", "cases", "back-office cases", "case", None, "shown"),
    _k("lead_time_mean_days", "working days", "mean lead time", "case", "lower", "shown", "key",
       sized_by="staff"),
    _k("lead_time_p90_days", "working days", "90th percentile lead time", "case", "lower",
       "shown", "key", sized_by="staff"),
    _k("lead_time_calendar_mean_days", "calendar days", "mean calendar lead time",
       "case", "lower", "shown"),
    _k("on_time_promised_rate", "share", "on time (promised limit)", "case", "higher", "shown",
       "key", sized_by="staff"),
    _k("on_time_statutory_rate", "share", "on time (statutory limit)", "case", "higher",
       "shown", sized_by="staff"),
    _k("warnings", "cases", "late-case warnings", "case", "lower", "shown", sized_by="staff"),
    _k("staff", "staff", "approval staff", "team"),
    _k("steps", "steps", "approval steps", "team"),
    _k("effort_hours", "hours", "staff effort", "team"),
    _k("staff_wait_mean_days", "working days", "wait for a staff member", "team", "lower"),
]  # fmt: skip
KPIS: dict[str, Kpi] = {k.name: k for k in _TABLE}


def headline() -> tuple[str, ...]:
    return tuple(k.name for k in _TABLE if k.headline)


def shown(level: str = "visitor") -> tuple[str, ...]:
    """KPIs printed on screen and at the top of reports, in order, at this level."""
    return tuple(k.name for k in _TABLE if k.shown and level in k.levels)


def case_shown() -> tuple[str, ...]:
    return shown("case")


def key() -> tuple[str, ...]:
    return tuple(k.name for k in _TABLE if k.key)


def sizable(by: str, level: str | None = None) -> dict[str, str]:
    """KPI -> the direction a target on it must take ("<=" or ">="), for KPIs that more
    windows (or staff) improve, measured at `level` if given."""
    return {
        k.name: "<=" if k.better == "lower" else ">="
        for k in _TABLE
        if k.sized_by == by and (level is None or level in k.levels)
    }
