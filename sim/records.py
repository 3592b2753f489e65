"""The event log: one row per visitor per queue visit, every column documented here.

The model appends raw values to a `LogBuilder`; `to_frame` turns them into the tidy
DataFrame that every metric reads. A real ticket log with these columns can be fed to
the same metrics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calendar import MINUTES_PER_DAY

__all__ = ["COLUMNS", "OUTCOMES", "LogBuilder", "columns_markdown", "empty_log"]

OUTCOMES = ("served", "abandoned", "unserved_at_close")

# name -> (dtype, meaning). Times of day (`_at`) are minutes since midnight of `day`;
# they exceed 1440 when a service runs past midnight. Durations end in `_min`.
COLUMNS: dict[str, tuple[str, str]] = {
    "scenario": ("category", "scenario name"),
    "replication": ("int32", "replication number, 0-based"),
    "day": ("int32", "simulated day, 0-based"),
    "visitor": ("int64", "visitor number, unique within a replication"),
    "visit": ("int16", "1 for the visitor's first queue visit, 2 for the second, ..."),
    "matters": ("category", "matter ids handled in this visit, joined by '+'"),
    "n_matters": ("int16", "number of matters handled in this visit"),
    "department": ("category", "department(s) of those matters, joined by '+'"),
    "pool": ("category", "window pool whose ticket the visitor took"),
    "window": ("Int32", "window (1-based within the pool) that served or was assigned; NA if none"),
    "arrival_at": ("float64", "time of day the visitor entered the hall"),
    "ticket_at": ("float64", "time of day this visit's ticket was issued"),
    "start_at": ("float64", "time of day service began; NaN if not served"),
    "end_at": ("float64", "time of day service ended, or the visitor left the queue"),
    "wait_min": ("float64", "ticket to service start; for the unserved, ticket to leaving"),
    "service_min": ("float64", "service duration at the window; NaN if not served"),
    "outcome": ("category", "served | abandoned (patience ran out) | unserved_at_close"),
}


class LogBuilder:
    """Column lists the model appends to; no metric is computed here."""

    __slots__ = ("_cols",)
    _RAW = (
        "day", "visitor", "visit", "matters", "n_matters", "department", "pool", "window",
        "arrival", "ticket", "start", "end", "outcome",
    )  # fmt: skip

    def __init__(self) -> None:
        self._cols: dict[str, list] = {name: [] for name in self._RAW}

    def appender(self):
        """Bound `append` methods in _RAW order, for a fast hot loop."""
        return tuple(self._cols[name].append for name in self._RAW)

    def to_frame(self, scenario: str, replication: int) -> pd.DataFrame:
        c = self._cols
        day = np.asarray(c["day"], dtype=np.int64)
        offset = day * MINUTES_PER_DAY
        start = np.asarray(c["start"], dtype=float)
        end = np.asarray(c["end"], dtype=float)
        ticket = np.asarray(c["ticket"], dtype=float)
        wait = np.where(np.isnan(start), end, start) - ticket
        frame = pd.DataFrame(
            {
                "scenario": scenario,
                "replication": replication,
                "day": day,
                "visitor": c["visitor"],
                "visit": c["visit"],
                "matters": c["matters"],
                "n_matters": c["n_matters"],
                "department": c["department"],
                "pool": c["pool"],
                "window": pd.array(c["window"], dtype="Int32"),
                "arrival_at": np.asarray(c["arrival"], dtype=float) - offset,
                "ticket_at": ticket - offset,
                "start_at": start - offset,
                "end_at": end - offset,
                "wait_min": wait,
                "service_min": end - start,
                "outcome": pd.Categorical(c["outcome"], categories=OUTCOMES),
            }
        )
        frame = frame.astype({k: v for k, (v, _) in COLUMNS.items() if k != "outcome"})
        return frame.sort_values(["day", "ticket_at", "visitor"], kind="stable", ignore_index=True)


def empty_log() -> pd.DataFrame:
    return LogBuilder().to_frame("", 0).iloc[0:0]


def columns_markdown() -> str:
    """The reference table of the event log, for the docs."""
    rows = ["| column | type | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {dtype} | {meaning} |" for name, (dtype, meaning) in COLUMNS.items()]
    return "\n".join(rows)
