"""Ticket logs of a hall's queue-management system (排队叫号系统): read, map, check.

A ticket log has one row per ticket: when it was taken, called, served from and to, at
which window, for which matter, and how it ended (已办结 served, 过号 called and absent,
弃号 given up). Systems name their columns differently, in Chinese or English; a mapping
(a preset, or {our column: their column}) says which is which. Every row is checked:
a row with a fault is kept out of the clean table and listed with its kind in `faults`,
never dropped silently (FAULT_KINDS says what each kind means).

CSV in UTF-8 (with or without a BOM) or GBK, Excel (.xlsx) and Parquet are read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calendar import parse_time
from sim.errors import TicketLogError

__all__ = [
    "FAULT_KINDS",
    "PRESETS",
    "STATUSES",
    "TICKET_COLUMNS",
    "TicketLog",
    "check_tickets",
    "read_tickets",
    "reference_markdown",
]

STATUSES = ("served", "no_show", "abandoned")

# our column -> (required, meaning); times are date-times
TICKET_COLUMNS: dict[str, tuple[bool, str]] = {
    "ticket_id": (False, "the ticket's number (unique; when absent, the row number)"),
    "taken_at": (True, "when the ticket was taken (取号时间)"),
    "called_at": (True, "when it was called (叫号时间); empty if never called"),
    "started_at": (False, "when service began (开始办理时间); absent: when it was called"),
    "finished_at": (
        True,
        "when service ended (办结时间); for an abandoned ticket, when the visitor gave up "
        "(if the system logs it); empty otherwise",
    ),
    "window": (True, "the window that called it (窗口)"),
    "matter": (True, "the business or matter (业务类型, 事项)"),
    "department": (False, "the department of the matter (部门)"),
    "status": (True, "served, no_show (过号) or abandoned (弃号), in the words below"),
    "visitor": (False, "a key linking one visitor's tickets (a hashed ID number, a phone tail)"),
    "booked": (False, "the ticket came from a booking (预约): true/false, 是/否"),
}

# a system's words for how a ticket ended
STATUS_WORDS: dict[str, str] = {
    "served": "served", "已办结": "served", "办结": "served", "已完成": "served",
    "完成": "served", "已办理": "served",
    "no_show": "no_show", "过号": "no_show", "未到": "no_show", "缺席": "no_show",
    "abandoned": "abandoned", "弃号": "abandoned", "放弃": "abandoned", "取消": "abandoned",
}  # fmt: skip

_TRUE_WORDS = {"true", "1", "yes", "y", "是", "预约"}

# preset -> our column -> their column(s), the first present wins
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "hallsim": {column: (column,) for column in TICKET_COLUMNS},
    "zh": {
        "ticket_id": ("票号", "排队号", "号码", "取号号码"),
        "taken_at": ("取号时间",),
        "called_at": ("叫号时间",),
        "started_at": ("开始办理时间", "受理时间"),
        "finished_at": ("办结时间", "结束时间", "完成时间"),
        "window": ("窗口", "窗口号", "办理窗口"),
        "matter": ("业务类型", "事项", "事项名称", "业务名称"),
        "department": ("部门", "所属部门"),
        "status": ("状态", "办理状态"),
        "visitor": ("证件号", "身份证号", "手机号", "客户编号"),
        "booked": ("预约", "是否预约"),
    },
}

FAULT_KINDS: dict[str, str] = {
    "missing_field": "no matter, or no window for a ticket that was called",
    "missing_taken": "no time the ticket was taken",
    "unparsable_time": "a time that is not a date and time",
    "unknown_status": "a status that is none of STATUS_WORDS",
    "called_before_taken": "called before it was taken",
    "started_before_called": "service began before the ticket was called",
    "no_service": "served, but with no end, or an end not after its start (zero or "
    "negative service)",
    "not_called": "served or absent, but never called",
    "duplicate_id": "a ticket number seen before (the first row is kept)",
    "outside_hours": "taken outside the hall's opening hours",
    "window_overlap": "service at a window that was still serving another ticket "
    "(a clock jump, or two people at one window)",
}


@dataclass(frozen=True)
class TicketLog:
    """A read ticket log: clean tickets in our columns, and every faulty row with why."""

    tickets: pd.DataFrame  # TICKET_COLUMNS, one row per clean ticket, `row` = source row
    faults: pd.DataFrame  # row, kind (FAULT_KINDS), one row per fault (a row may have more)
    source: dict  # file, sha256, rows, format, encoding, mapping used

    @property
    def fault_counts(self) -> dict[str, int]:
        """Faulty rows by kind (every kind, zeros too; a row may have several kinds)."""
        counts = self.faults["kind"].value_counts() if len(self.faults) else pd.Series()
        return {kind: int(counts.get(kind, 0)) for kind in FAULT_KINDS}

    @property
    def faulty_rows(self) -> int:
        """Rows with at least one fault."""
        return int(self.faults["row"].nunique()) if len(self.faults) else 0


def read_tickets(
    path: str | Path,
    mapping: str | Mapping[str, str] | None = None,
    encoding: str | None = None,
    hours: tuple[int | str, int | str] | None = None,
    status_words: Mapping[str, str] | None = None,
    header_row: int = 0,
) -> TicketLog:
    """Read a ticket log (CSV, .xlsx or .parquet) and check its rows.

    `mapping`: a preset name (PRESETS), or {our column: their column}; by default the
    first preset whose required columns are all in the file. `encoding` for CSV: by
    default UTF-8 (with or without a BOM), then GBK. `hours`: (opening, closing), as
    "HH:MM" or minutes since midnight, to flag tickets taken outside them.
    `status_words`: the system's own words for how a ticket ended, {word: "served" |
    "no_show" | "abandoned"}, beside STATUS_WORDS. `header_row`: the line of the
    column names, counted from 0 (an export with a title line above them: 1).
    """
    path = Path(path)
    raw, used_encoding = _read_frame(path, encoding, header_row)
    columns = _resolve_mapping(path, raw, mapping)
    frame = pd.DataFrame({ours: raw[theirs] for ours, theirs in columns.items()})
    if hours is not None:  # "HH:MM" or minutes since midnight
        hours = tuple(h if isinstance(h, int) else parse_time(h) for h in hours)
    for word, status in (status_words or {}).items():
        if status not in STATUSES:
            raise TicketLogError(path, "status", f"{word!r} must mean one of {list(STATUSES)}")
    tickets, faults = check_tickets(frame, hours, status_words)
    source = _source(path, raw, used_encoding, columns)
    source["first_line"] = header_row + 2  # the file's line of data row 0
    rows = faults.loc[faults["kind"] == "unknown_status", "row"].to_numpy()
    unknown = frame["status"].astype("string").str.strip().iloc[rows]
    source["unknown_status_words"] = {
        str(k): int(v) for k, v in unknown.value_counts().head(8).items()
    }
    return TicketLog(tickets, faults, source)


def _source(path: Path, raw: pd.DataFrame, encoding: str | None, columns: dict) -> dict:
    """Where a log came from: file, SHA-256, rows, format, encoding, the mapping used."""
    return {
        "file": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": len(raw),
        "format": path.suffix.lower().lstrip("."),
        "encoding": encoding,
        "mapping": columns,
    }


def _read_frame(
    path: Path, encoding: str | None, header_row: int = 0
) -> tuple[pd.DataFrame, str | None]:
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no such file"
        raise TicketLogError(path, "", f"cannot read the ticket log ({what})")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), None
        if suffix in (".xlsx", ".xlsm"):
            return pd.read_excel(path, dtype=str, engine="openpyxl", header=header_row), None
        if suffix not in (".csv", ".txt", ".tsv"):
            raise TicketLogError(path, "", "not a ticket log format: use .csv, .xlsx or .parquet")
        separator = "\t" if suffix == ".tsv" else ","
        for candidate in [encoding] if encoding else ["utf-8-sig", "gb18030"]:
            try:
                frame = pd.read_csv(
                    path, dtype=str, encoding=candidate, sep=separator, header=header_row
                )
                return frame, candidate
            except UnicodeDecodeError:
                continue
            except LookupError:
                raise TicketLogError(path, "", f"unknown encoding {candidate!r}") from None
    except TicketLogError:
        raise
    except Exception as exc:  # a damaged file: pandas, pyarrow and openpyxl each say it
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TicketLogError(path, "", f"cannot read as {suffix}: {first}") from None
    tried = encoding or "UTF-8 or GBK"
    raise TicketLogError(path, "", f"not text in {tried}: pass the file's encoding")


def _resolve_mapping(
    path: Path,
    raw: pd.DataFrame,
    mapping: str | Mapping[str, str] | None,
    columns: Mapping[str, tuple[bool, str]] = TICKET_COLUMNS,
    presets: Mapping[str, Mapping[str, tuple[str, ...]]] = PRESETS,
) -> dict[str, str]:
    """Our column -> the file's column, for every column the file has (`columns`: ours,
    required or not; `presets`: known layouts)."""
    present = {str(c).strip(): c for c in raw.columns}
    if mapping is None or isinstance(mapping, str):
        names = [mapping] if mapping else list(presets)
        unknown = [n for n in names if n not in presets]
        if unknown:
            raise TicketLogError(path, "", f"no preset {unknown[0]!r}; presets: {list(presets)}")
        best, best_missing = None, None
        for name in names:
            found = {
                ours: present[next(t for t in theirs if t in present)]
                for ours, theirs in presets[name].items()
                if any(t in present for t in theirs)
            }
            missing = [c for c, (required, _) in columns.items() if required and c not in found]
            if not missing:
                return found
            if best_missing is None or len(missing) < len(best_missing):
                best, best_missing = name, missing
        wanted = "/".join(presets[best][best_missing[0]])
        raise TicketLogError(
            path, wanted,
            f"no such column for {best_missing[0]} (preset {best}; the file has "
            f"{list(present)}); map it: --map {best_missing[0]}=COLUMN",
        )  # fmt: skip
    mapped: dict[str, str] = {}
    taken = {theirs: ours for ours, theirs in mapping.items()}
    doubled = [t for t in taken if list(mapping.values()).count(t) > 1]
    if doubled:
        ours = [o for o, t in mapping.items() if t == doubled[0]]
        raise TicketLogError(path, doubled[0], f"mapped to more than one of our columns: {ours}")
    for ours, theirs in mapping.items():
        if ours not in columns:
            raise TicketLogError(path, ours, f"not one of our columns: {list(columns)}")
        if theirs not in present:
            raise TicketLogError(path, theirs, f"no such column (the file has {list(present)})")
        mapped[ours] = present[theirs]
    missing = [c for c, (required, _) in columns.items() if required and c not in mapped]
    if missing:
        raise TicketLogError(path, missing[0], "required, but the mapping names no column for it")
    return mapped


def with_optional_columns(tickets: pd.DataFrame) -> pd.DataFrame:
    """Clean tickets given as a table (the Python API), with the optional columns a
    log may lack filled as read_tickets fills them."""
    n = len(tickets)
    defaults = {
        "ticket_id": pd.Series(np.arange(n), index=tickets.index).astype("string"),
        "started_at": tickets["called_at"],
        "department": pd.Series(pd.NA, index=tickets.index, dtype="string"),
        "visitor": pd.Series(pd.NA, index=tickets.index, dtype="string"),
        "booked": pd.Series(False, index=tickets.index),
    }
    missing = {c: v for c, v in defaults.items() if c not in tickets}
    return tickets.assign(**missing) if missing else tickets


def check_tickets(
    frame: pd.DataFrame,
    hours: tuple[int, int] | None = None,
    status_words: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our columns (strings or date-times) -> (clean tickets, faults). Each row of
    `frame` is a ticket; `row` in both results is its position (0-based)."""
    n = len(frame)
    row = np.arange(n)
    faults: list[tuple[np.ndarray, str]] = []

    def flag(mask: np.ndarray, kind: str) -> None:
        faults.append((row[np.asarray(mask, dtype=bool)], kind))

    def text(column: str) -> pd.Series:
        if column not in frame:
            return pd.Series([pd.NA] * n, dtype="string")
        return frame[column].astype("string").str.strip().replace("", pd.NA)

    times = {}
    for column in ("taken_at", "called_at", "started_at", "finished_at"):
        given = text(column) if column in frame else None
        if given is None:
            times[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            parsed = frame[column].astype("datetime64[ns]")
        else:
            parsed = pd.to_datetime(given, errors="coerce", format="mixed")
        flag(given.notna().to_numpy() & parsed.isna().to_numpy(), "unparsable_time")
        times[column] = parsed
    taken, called, finished = times["taken_at"], times["called_at"], times["finished_at"]
    started = times["started_at"].where(times["started_at"].notna(), called)
    words = {**STATUS_WORDS, **(status_words or {})}
    status = (
        text("status").map(lambda w: words.get(w.lower(), words.get(w)), na_action="ignore")
    ).astype("string")
    window, matter = text("window"), text("matter")
    called_ever = status.isin(["served", "no_show"]).to_numpy()
    flag((called_ever & window.isna().to_numpy()) | matter.isna().to_numpy(), "missing_field")
    flag(taken.isna() & text("taken_at").isna(), "missing_taken")
    flag(status.isna(), "unknown_status")
    flag(called < taken, "called_before_taken")
    flag(started < called, "started_before_called")
    served = status.eq("served").fillna(False).to_numpy(dtype=bool)
    # a log kept to the minute shows a service shorter than a minute as none at all
    to_the_minute = _to_the_minute(started, finished)
    too_short = (finished < started) if to_the_minute else ~(finished > started)
    flag(served & (too_short.to_numpy() | finished.isna().to_numpy()), "no_service")
    flag(called_ever & called.isna().to_numpy(), "not_called")
    ids = text("ticket_id")
    if ids.notna().any():
        flag(ids.notna() & ids.duplicated(keep="first"), "duplicate_id")
    if hours is not None:
        minute = taken.dt.hour * 60 + taken.dt.minute + taken.dt.second / 60
        flag(taken.notna() & ((minute < hours[0]) | (minute >= hours[1])), "outside_hours")
    flag(_window_overlaps(window, started, finished, served), "window_overlap")

    kinds, bad = _fault_table(faults, n)
    booked = text("booked").str.lower().isin(_TRUE_WORDS)
    tickets = pd.DataFrame(
        {
            "row": row,
            "ticket_id": ids.where(ids.notna(), pd.Series(row, index=frame.index).astype("string")),
            "taken_at": taken,
            "called_at": called,
            "started_at": started,
            "finished_at": finished.where(served | status.eq("abandoned").fillna(False)),
            "window": window,
            "matter": matter,
            "department": text("department"),
            "status": status.astype("string"),
            "visitor": text("visitor"),
            "booked": booked.to_numpy(dtype=bool),
        }
    )[~bad].reset_index(drop=True)
    return tickets, kinds


def _fault_table(faults: list[tuple[np.ndarray, str]], n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """(row, kind) of every fault, and which of the n rows have any."""
    kinds = pd.DataFrame(
        {
            "row": np.concatenate([r for r, _ in faults]),
            "kind": np.concatenate([[k] * len(r) for r, k in faults]).astype(object),
        }
    ).sort_values(["row", "kind"], ignore_index=True)
    bad = np.zeros(n, dtype=bool)
    bad[kinds["row"].to_numpy()] = True
    return kinds, bad


def _to_the_minute(*columns: pd.Series) -> bool:
    """Whether a log's times are kept to the minute (every second is 0)."""
    seconds = pd.concat([c.dropna() for c in columns])
    return bool(len(seconds)) and bool((seconds.dt.second == 0).all())


def _window_overlaps(
    window: pd.Series, started: pd.Series, finished: pd.Series, served: np.ndarray
) -> np.ndarray:
    """Served tickets whose service began before the previous one at their window ended
    (one person at a window at a time)."""
    overlap = np.zeros(len(window), dtype=bool)
    usable = served & window.notna().to_numpy() & started.notna().to_numpy()
    usable &= (finished > started).to_numpy()
    if not usable.any():
        return overlap
    index = np.flatnonzero(usable)
    frame = pd.DataFrame(
        {"window": window.to_numpy()[index], "start": started.to_numpy()[index],
         "end": finished.to_numpy()[index], "index": index}
    ).sort_values(["window", "start", "index"], kind="stable")  # fmt: skip
    latest_end = frame.groupby("window", sort=False)["end"].cummax()
    previous_end = latest_end.groupby(frame["window"], sort=False).shift()
    clash = (frame["start"] < previous_end).to_numpy()
    overlap[frame["index"].to_numpy()[clash]] = True
    return overlap


def reference_markdown() -> str:
    """The tables of docs/ticket-log.md: our columns, the Chinese preset, fault kinds."""
    columns = ["| column | required | meaning | Chinese headers (preset zh) |", "|---|---|---|---|"]
    for name, (required, meaning) in TICKET_COLUMNS.items():
        headers = ", ".join(PRESETS["zh"][name])
        columns.append(f"| `{name}` | {'yes' if required else 'no'} | {meaning} | {headers} |")
    words = ["| status word | means |", "|---|---|"]
    words += [f"| {word} | {status} |" for word, status in STATUS_WORDS.items()]
    kinds = ["| fault kind | meaning |", "|---|---|"]
    kinds += [f"| `{kind}` | {meaning} |" for kind, meaning in FAULT_KINDS.items()]
    return "\n\n".join("\n".join(t) for t in (columns, words, kinds))
