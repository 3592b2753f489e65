"""The event log: one row per visitor per queue visit, every column documented here.

The model appends raw values to a `LogBuilder`; `to_frame` turns them into the tidy
DataFrame that every metric reads. A real ticket log with these columns can be fed to
the same metrics.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.calendar import MINUTES_PER_DAY

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "STAGES",
    "CaseRow",
    "LogBuilder",
    "OnlineRow",
    "StepRow",
    "VisitRow",
    "columns_markdown",
]

OUTCOMES = ("served", "abandoned", "unserved_at_close")
STAGES = ("consultation", "acceptance", "issuance")  # of a trip, in order

# name -> (dtype, meaning). Times of day (`_at`) are minutes since midnight of `day`;
# they exceed 1440 when a service runs past midnight. Durations end in `_min`.
COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("category", "scenario name"),
    "replication": ("int32", "replication number, 0-based"),
    "day": ("int32", "working day, 0-based (the warm-up days first, see calendar.warmup_days)"),
    "date": ("datetime64[s]", "the date of `day` (weekends and holidays are skipped)"),
    "visitor": ("int64", "visitor number, unique within a replication"),
    "visit": ("int16", "1 for the visitor's first queue visit, 2 for the second, ..."),
    "matters": ("category", "matter ids handled in this visit, joined by '+'"),
    "n_matters": ("int16", "number of matters handled in this visit"),
    "department": ("category", "department(s) of those matters, joined by '+'"),
    "pool": ("category", "window pool whose ticket the visitor took"),
    "stage": ("category", "the pool's stage: consultation | acceptance | issuance"),
    "window": ("Int32", "window (1-based within the pool) that served or was assigned; NA if none"),
    "arrival_at": ("float64", "time of day the visitor entered the hall"),
    "ticket_at": ("float64", "time of day this visit's ticket was issued"),
    "start_at": ("float64", "time of day service began; NaN if not served"),
    "end_at": ("float64", "time of day service ended, or the visitor left the queue"),
    "wait_min": ("float64", "ticket to service start; for the unserved, ticket to leaving"),
    "service_min": ("float64", "service duration at the window; NaN if not served"),
    "outcome": ("category", "served | abandoned (patience ran out) | unserved_at_close"),
    "trip": (
        "int16",
        "the visitor's trip to the hall: 1, then one more for each return with completed "
        "materials or to collect a result",
    ),
    "incomplete": ("int16", "matters of this visit sent home for incomplete materials"),
    "booked": ("bool", "the ticket came from a booked slot (预约); walk-ins False"),
}


class VisitRow(NamedTuple):
    """What the model records about one queue visit; `to_frame` names and types it.
    Times are clock minutes since day 0 (`_abs_min`); `label`, `pool` and `outcome` are
    indices (into the visit labels, the pool names and OUTCOMES), cheap in the hot loop."""

    day: int
    visitor: int
    visit: int
    label: int
    pool: int
    window: int  # 1-based; 0 if none
    arrival_abs_min: float
    ticket_abs_min: float
    start_abs_min: float
    end_abs_min: float
    outcome: int
    trip: int
    incomplete: int
    booked: bool


_VISIT_ROW_DTYPE = np.dtype(
    [
        ("day", np.int32), ("visitor", np.int64), ("visit", np.int16), ("label", np.int64),
        ("pool", np.int64), ("window", np.int32), ("arrival_abs_min", float),
        ("ticket_abs_min", float), ("start_abs_min", float), ("end_abs_min", float),
        ("outcome", np.int8), ("trip", np.int16), ("incomplete", np.int16), ("booked", bool),
    ]
)  # fmt: skip
assert _VISIT_ROW_DTYPE.names == VisitRow._fields


class OnlineRow(NamedTuple):
    """An application made online (it never queues for acceptance)."""

    visitor: int
    matter: int
    applied_abs_min: float


class CaseRow(NamedTuple):
    """A back-office case as the model records it (see CASE_COLUMNS for the log)."""

    case: int
    visitor: int
    matter: int
    accepted_abs_min: float
    finished_abs_min: float
    warned_abs_min: float


class StepRow(NamedTuple):
    """One approval step (see STEP_COLUMNS)."""

    case: int
    department: str
    queued_abs_min: float
    work_start_abs_min: float
    work_end_abs_min: float
    effort_min: float
    done_abs_min: float


class LogBuilder:
    """Rows the model appends to (VisitRow); no metric is computed here. Names are
    attached once, as categoricals, in `to_frame`."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[VisitRow] = []

    def to_frame(
        self,
        scenario: str,
        replication: int,
        labels: list[tuple[str, str, int]],
        pool_names: list[str],
        pool_stages: list[str] | None = None,
        dates: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """The event log; `dates` maps a working day to its date (datetime64[D])."""
        n = len(self.rows)
        # one C-level pass over the rows (transposing them in Python took most of the time)
        cols = np.fromiter(self.rows, dtype=_VISIT_ROW_DTYPE, count=n)
        visitor, visit, label, pool, window = (
            cols["visitor"], cols["visit"], cols["label"], cols["pool"], cols["window"]
        )  # fmt: skip
        arrival, ticket, start, end = (
            cols["arrival_abs_min"], cols["ticket_abs_min"], cols["start_abs_min"],
            cols["end_abs_min"],
        )  # fmt: skip
        outcome, trip, incomplete = cols["outcome"], cols["trip"], cols["incomplete"]
        booked = cols["booked"]
        day = np.ascontiguousarray(cols["day"])
        offset = day.astype(float) * MINUTES_PER_DAY
        label = np.asarray(label, dtype=np.int64)
        start, end, ticket = (np.asarray(x, dtype=float) for x in (start, end, ticket))
        matters, departments, n_matters = (
            list(x) for x in (zip(*labels, strict=True) if labels else ((), (), ()))
        )
        pool_codes = np.asarray(pool, dtype=np.int64)
        stages = list(pool_stages or ["acceptance"] * len(pool_names))
        # names of the few labels and pools, coded once; rows only index them
        department_names, department_of_label = np.unique(
            np.asarray(departments, dtype=object).astype(str), return_inverse=True
        )
        stage_of_pool = np.array([STAGES.index(s) for s in stages], dtype=np.int8)
        window = np.asarray(window, dtype=np.int32)  # 0: none
        frame = pd.DataFrame(
            {
                "scenario": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [scenario]),
                "replication": np.full(n, replication, dtype=np.int32),
                "day": day,
                "date": _dates_of(day, dates),
                "visitor": np.asarray(visitor, dtype=np.int64),
                "visit": np.asarray(visit, dtype=np.int16),
                "matters": pd.Categorical.from_codes(label, matters),
                "n_matters": np.asarray(n_matters, dtype=np.int16)[label],
                "department": pd.Categorical.from_codes(
                    department_of_label.astype(np.int64)[label], department_names.tolist()
                ).remove_unused_categories(),
                "pool": pd.Categorical.from_codes(pool_codes, pool_names),
                "stage": pd.Categorical.from_codes(stage_of_pool[pool_codes], list(STAGES)),
                "window": pd.arrays.IntegerArray(window, window == 0),
                "arrival_at": np.asarray(arrival, dtype=float) - offset,
                "ticket_at": ticket - offset,
                "start_at": start - offset,
                "end_at": end - offset,
                "wait_min": np.where(np.isnan(start), end, start) - ticket,
                "service_min": end - start,
                "outcome": pd.Categorical.from_codes(np.asarray(outcome, dtype=np.int8), OUTCOMES),
                "trip": np.asarray(trip, dtype=np.int16),
                "incomplete": np.asarray(incomplete, dtype=np.int16),
                "booked": np.asarray(booked, dtype=bool),
            }
        )
        return frame.sort_values(["day", "ticket_at", "visitor"], kind="stable", ignore_index=True)


def _dates_of(days: np.ndarray, dates: np.ndarray | None) -> np.ndarray:
    """Dates of working days (NaT without a calendar)."""
    if dates is None or not len(days):
        return np.full(len(days), np.datetime64("NaT"), dtype="datetime64[s]")
    return dates[days].astype("datetime64[s]")


def columns_markdown(columns: dict[str, tuple[str, str]] | None = None) -> str:
    """A reference table of a log's columns (the event log by default), for the docs."""
    rows = ["| column | type | meaning |", "|---|---|---|"]
    rows += [
        f"| `{name}` | {dtype} | {meaning} |"
        for name, (dtype, meaning) in (columns or COLUMNS).items()
    ]
    return "\n".join(rows)


# The case log: one row per matter that went to the back office. Times are working-day
# clock times: `*_day` is the working day (0-based), `*_at` minutes since its midnight.
# Lead times and limits kept are derived from it by sim.case_metrics.case_outcomes.
CASE_COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("category", "scenario name"),
    "replication": ("int32", "replication number, 0-based"),
    "case": ("int64", "case number, unique within a replication"),
    "visitor": ("int64", "the visitor who applied (see the event log)"),
    "matter": ("category", "matter id"),
    "route": ("category", "serial | parallel | joint"),
    "departments": ("category", "departments of the route's steps, joined by '+'"),
    "accepted_day": ("int32", "working day the case was accepted at a window"),
    "accepted_date": ("datetime64[s]", "the date of accepted_day"),
    "accepted_at": ("float64", "time of day it was accepted"),
    "finished_day": ("int32", "working day the last step ended"),
    "finished_date": ("datetime64[s]", "the date of finished_day"),
    "finished_at": ("float64", "time of day the last step ended"),
    "promised_days": ("float64", "promised limit, working days"),
    "statutory_days": ("float64", "statutory limit, working days"),
    "warned_at_days": (
        "float64",
        "working days after acceptance a warning was raised; NaN if none",
    ),
}

# One row per approval step of a case.
STEP_COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("category", "scenario name"),
    "replication": ("int32", "replication number, 0-based"),
    "case": ("int64", "case number (see the case log)"),
    "department": ("category", "department whose team did the step"),
    "queued_abs_min": ("float64", "clock time the step was ready for a staff member"),
    "work_start_abs_min": ("float64", "clock time a staff member started (in working hours)"),
    "work_end_abs_min": ("float64", "clock time the work ended"),
    "effort_min": ("float64", "working minutes of staff time"),
    "done_abs_min": ("float64", "clock time the step ended, after any inspection delay"),
}


def case_frame(
    rows: list[CaseRow],
    scenario: str,
    replication: int,
    matters: list[str],
    approvals: list,
    dates: np.ndarray | None = None,
) -> pd.DataFrame:
    """Case rows -> the case log (CASE_COLUMNS)."""
    case, visitor, matter, accepted, finished, warned = (
        [np.asarray(c) for c in zip(*rows, strict=True)] if rows else [np.array([])] * 6
    )
    matter = matter.astype(np.int64)
    accepted, finished = accepted.astype(float), finished.astype(float)
    promised = np.array([a.promised_days if a else np.nan for a in approvals])[matter]
    statutory = np.array([a.statutory_days if a else np.nan for a in approvals])[matter]
    routes = [a.route if a else "" for a in approvals]
    departments = ["+".join(s.department for s in a.steps) if a else "" for a in approvals]
    accepted_day = (accepted // MINUTES_PER_DAY).astype(np.int64)
    finished_day = (finished // MINUTES_PER_DAY).astype(np.int64)
    frame = pd.DataFrame(
        {
            "scenario": scenario,
            "replication": replication,
            "case": case.astype(np.int64),
            "visitor": visitor.astype(np.int64),
            "matter": pd.Categorical.from_codes(matter, matters),
            "route": np.asarray(routes, dtype=object)[matter],
            "departments": np.asarray(departments, dtype=object)[matter],
            "accepted_day": accepted_day,
            "accepted_date": _dates_of(accepted_day, dates),
            "accepted_at": accepted % MINUTES_PER_DAY,
            "finished_day": finished_day,
            "finished_date": _dates_of(finished_day, dates),
            "finished_at": finished % MINUTES_PER_DAY,
            "promised_days": promised,
            "statutory_days": statutory,
            "warned_at_days": (warned.astype(float) - accepted) / MINUTES_PER_DAY,
        }
    )
    frame = frame.astype({k: v for k, (v, _) in CASE_COLUMNS.items() if k != "matter"})
    return frame.sort_values("case", ignore_index=True)


def step_frame(rows: list[StepRow], scenario: str, replication: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(StepRow._fields))
    frame.insert(0, "replication", replication)
    frame.insert(0, "scenario", scenario)
    return frame.astype({k: v for k, (v, _) in STEP_COLUMNS.items()})
