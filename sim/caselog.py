"""Case logs of a hall's approval system (审批系统): read, map, check.

One row per case (办件): the matter, when it was accepted and completed (empty while
open), its promised and statutory limits in working days, optionally the department and
how many times the applicant had to come back with missing materials (补正). As with
ticket logs (sim.ticketlog), columns are mapped by a preset or {our column: theirs},
and a faulty row is kept out and listed with its kind, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.ticketlog import _fault_table, _read_frame, _resolve_mapping, _source

__all__ = [
    "CASE_COLUMNS",
    "CASE_FAULT_KINDS",
    "CASE_PRESETS",
    "CaseLog",
    "read_cases",
    "reference_markdown",
]

# our column -> (required, meaning)
CASE_COLUMNS: dict[str, tuple[bool, str]] = {
    "case_id": (False, "the case's number (unique; when absent, the row number)"),
    "matter": (True, "the matter (事项), named as in the ticket log"),
    "accepted_at": (True, "when it was accepted (受理时间): a date, or a date and time"),
    "completed_at": (True, "when it was completed (办结时间); empty while open"),
    "promised_days": (False, "promised limit (承诺时限), working days"),
    "statutory_days": (False, "statutory limit (法定时限), working days"),
    "department": (False, "the department that approves it (承办部门)"),
    "returns": (False, "times the applicant came back with missing materials (补正次数)"),
}

CASE_PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "hallsim": {column: (column,) for column in CASE_COLUMNS},
    "zh": {
        "case_id": ("办件编号", "业务流水号", "申报号", "受理编号"),
        "matter": ("事项名称", "事项", "业务类型"),
        "accepted_at": ("受理时间", "受理日期"),
        "completed_at": ("办结时间", "办结日期"),
        "promised_days": ("承诺时限", "承诺办结时限"),
        "statutory_days": ("法定时限", "法定办结时限"),
        "department": ("承办部门", "部门", "审批部门"),
        "returns": ("补正次数", "退回补正次数"),
    },
}

CASE_FAULT_KINDS: dict[str, str] = {
    "missing_field": "no matter, or no time of acceptance",
    "unparsable": "a time or a number that cannot be read",
    "completed_before_accepted": "completed before it was accepted",
    "bad_limits": "a limit that is not positive, or a promise above the statutory limit",
    "bad_returns": "returns that are not a whole number from 0",
    "duplicate_id": "a case number seen before (the first row is kept)",
}


@dataclass(frozen=True)
class CaseLog:
    cases: pd.DataFrame  # CASE_COLUMNS, one row per clean case, `row` = source row
    faults: pd.DataFrame  # row, kind
    source: dict

    @property
    def fault_counts(self) -> dict[str, int]:
        counts = self.faults["kind"].value_counts() if len(self.faults) else pd.Series()
        return {kind: int(counts.get(kind, 0)) for kind in CASE_FAULT_KINDS}


def read_cases(
    path: str | Path, mapping: str | Mapping[str, str] | None = None, encoding: str | None = None
) -> CaseLog:
    """Read a case log (CSV, .xlsx or .parquet) and check its rows."""
    path = Path(path)
    raw, used_encoding = _read_frame(path, encoding)
    columns = _resolve_mapping(path, raw, mapping, CASE_COLUMNS, CASE_PRESETS)
    frame = pd.DataFrame({ours: raw[theirs] for ours, theirs in columns.items()})
    cases, faults = check_cases(frame)
    return CaseLog(cases, faults, _source(path, raw, used_encoding, columns))


def check_cases(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our columns -> (clean cases, faults)."""
    n = len(frame)
    row = np.arange(n)
    faults: list[tuple[np.ndarray, str]] = []

    def flag(mask, kind: str) -> None:
        if isinstance(mask, pd.Series):  # a comparison with a missing value is no fault
            mask = mask.fillna(False)
        faults.append((row[np.asarray(mask, dtype=bool)], kind))

    def text(column: str) -> pd.Series:
        if column not in frame:
            return pd.Series([pd.NA] * n, dtype="string")
        return frame[column].astype("string").str.strip().replace("", pd.NA)

    def times(column: str) -> pd.Series:
        given = text(column)
        if column in frame and pd.api.types.is_datetime64_any_dtype(frame[column]):
            return frame[column].astype("datetime64[ns]")
        parsed = pd.to_datetime(given, errors="coerce", format="mixed")
        flag(given.notna() & parsed.isna(), "unparsable")
        return parsed

    def numbers(column: str) -> pd.Series:
        given = text(column)
        parsed = pd.to_numeric(given, errors="coerce")
        flag(given.notna() & parsed.isna(), "unparsable")
        return parsed

    matter = text("matter")
    accepted, completed = times("accepted_at"), times("completed_at")
    promised, statutory = numbers("promised_days"), numbers("statutory_days")
    returns = numbers("returns")
    flag(matter.isna() | accepted.isna(), "missing_field")
    flag(
        completed.notna() & (completed.dt.normalize() < accepted.dt.normalize()),
        "completed_before_accepted",
    )
    flag((promised <= 0) | (statutory <= 0) | (promised > statutory), "bad_limits")
    flag(returns.notna() & ((returns < 0) | (returns != returns.round())), "bad_returns")
    ids = text("case_id")
    flag(ids.notna() & ids.duplicated(keep="first"), "duplicate_id")
    kinds, bad = _fault_table(faults, n)
    cases = pd.DataFrame(
        {
            "row": row,
            "case_id": ids.where(ids.notna(), pd.Series(row, index=frame.index).astype("string")),
            "matter": matter,
            "accepted_at": accepted,
            "completed_at": completed,
            "promised_days": promised,
            "statutory_days": statutory,
            "department": text("department"),
            "returns": returns,
        }
    )[~bad].reset_index(drop=True)
    return cases, kinds


def reference_markdown() -> str:
    """The tables of docs/fit.md's case-log section: our columns and fault kinds."""
    columns = ["| column | required | meaning | Chinese headers (preset zh) |", "|---|---|---|---|"]
    for name, (required, meaning) in CASE_COLUMNS.items():
        headers = ", ".join(CASE_PRESETS["zh"][name])
        columns.append(f"| `{name}` | {'yes' if required else 'no'} | {meaning} | {headers} |")
    kinds = ["| fault kind | meaning |", "|---|---|"]
    kinds += [f"| `{kind}` | {meaning} |" for kind, meaning in CASE_FAULT_KINDS.items()]
    return "\n\n".join("\n".join(t) for t in (columns, kinds))
