"""Ticket logs written from a simulated run, with known truth: for tests, and for
people who have no log yet. A ticket is a queue visit of the event log (sim.records);
the log can be written as CSV (UTF-8 or GBK), Excel or Parquet, with our headers or a
Chinese system's, and with a known number of faulty rows of every kind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.caselog import CASE_PRESETS
from sim.ticketlog import FAULT_KINDS, PRESETS, TICKET_COLUMNS

__all__ = [
    "ZH_STATUS",
    "as_text",
    "cases_from_run",
    "tickets_from_log",
    "with_faults",
    "write_cases",
    "write_tickets",
]

ZH_STATUS = {"served": "已办结", "no_show": "过号", "abandoned": "弃号"}
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def tickets_from_log(log: pd.DataFrame, days: int | None = None) -> pd.DataFrame:
    """Our ticket columns (sim.ticketlog.TICKET_COLUMNS) from an event log: a visitor
    who gave up or was sent home at closing left an abandoned ticket (弃号), with the
    time they gave up (none for those sent home: their patience is not known). With
    `days`, the log ends after that many working days (a run's drain, with its return
    and collection trips, is not in a log of the period)."""
    if days is not None:
        log = log[log["day"] < days]
    date = pd.to_datetime(log["date"]).dt.as_unit("ns")

    def at(column: str) -> pd.Series:
        return date + pd.to_timedelta(log[column], unit="min")

    served = (log["outcome"] == "served").to_numpy()
    window = log["pool"].astype(str) + "-" + log["window"].astype("string")
    return pd.DataFrame(
        {
            "ticket_id": (
                log["day"].astype(str).str.zfill(3)
                + "-"
                + log["visitor"].astype(str)
                + "-"
                + log["visit"].astype(str)
            ),
            "taken_at": at("ticket_at"),
            "called_at": at("start_at").where(served),
            "started_at": at("start_at").where(served),
            "finished_at": at("end_at").where(served | (log["outcome"] == "abandoned").to_numpy()),
            "window": window.where(served),
            "matter": log["matters"].astype(str),
            "department": log["department"].astype(str),
            "status": np.where(served, "served", "abandoned"),
            "visitor": log["visitor"].astype(str),
            "booked": log["booked"].to_numpy(dtype=bool),
        }
    ).sort_values(["taken_at", "ticket_id"], ignore_index=True)


def as_text(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets as a system exports them: times to the second, everything text."""
    text = tickets.copy()
    seconds = {c: tickets[c].dt.floor("s") for c in ("taken_at", "called_at", "started_at")}
    # a service shorter than a second is logged as one second
    finished, started = tickets["finished_at"].dt.floor("s"), seconds["started_at"]
    seconds["finished_at"] = finished.mask(finished <= started, started + pd.Timedelta(seconds=1))
    for column, values in seconds.items():
        text[column] = values.dt.strftime(_TIME_FORMAT).astype(object)
    text["booked"] = np.where(tickets["booked"], "true", "false")
    return text.astype(object).where(text.notna(), None)


def write_tickets(
    tickets: pd.DataFrame, path: str | Path, headers: str = "hallsim", encoding: str = "utf-8"
) -> Path:
    """Write tickets (ours, or as_text) to .csv, .xlsx or .parquet; `headers` "zh"
    writes a Chinese system's headers and words (状态 已办结, 预约 是/否)."""
    path = Path(path)
    text = (
        as_text(tickets) if pd.api.types.is_datetime64_any_dtype(tickets["taken_at"]) else tickets
    )
    if headers == "zh":
        text = text.assign(
            status=text["status"].map(lambda s: ZH_STATUS.get(s, s)),
            booked=text["booked"].map(lambda b: "是" if b == "true" else "否"),
        ).rename(columns={ours: PRESETS["zh"][ours][0] for ours in TICKET_COLUMNS})
    elif headers != "hallsim":
        raise ValueError(f"headers: 'hallsim' or 'zh', not {headers!r}")
    return _write_frame(text, path, encoding)


def with_faults(
    tickets: pd.DataFrame, per_kind: int, seed: int = 0, hours: tuple[int, int] = (480, 1080)
) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """A text copy of the tickets with `per_kind` faulty rows of every kind of
    FAULT_KINDS (each in rows of its own, served ones, chosen so that no fault causes
    another), and which rows hold which kind. `hours` are the opening hours that
    `outside_hours` falls outside of."""
    text = as_text(tickets)
    rng = np.random.default_rng(seed)
    served = np.flatnonzero(tickets["status"].to_numpy() == "served")
    start, end = tickets["started_at"], tickets["finished_at"]
    window = tickets["window"]
    used: set[int] = set()
    truth: dict[str, list[int]] = {}
    # window_overlap first: move a service inside a longer one at another window
    pairs = []
    for a in rng.permutation(served):
        if len(pairs) == per_kind:
            break
        inside = served[
            (start.to_numpy()[served] > start.iloc[a])
            & (end.to_numpy()[served] < end.iloc[a])
            & (window.to_numpy()[served] != window.iloc[a])
        ]
        inside = [b for b in inside if b not in used and b != a]
        if inside and a not in used:
            b = int(rng.choice(inside))
            pairs.append((int(a), b))
            used |= {int(a), b}
    truth["window_overlap"] = [b for _, b in pairs]
    for a, b in pairs:
        text.loc[b, "window"] = text.loc[a, "window"]
    free = [int(r) for r in rng.permutation(served) if int(r) not in used and r > 0]
    # the other kinds: rows whose window served nothing else that could now clash
    for kind in [k for k in FAULT_KINDS if k != "window_overlap"]:
        rows, free = free[:per_kind], free[per_kind:]
        truth[kind] = rows
        for r in rows:
            _inject(text, tickets, r, kind, hours)
    return text, truth


def _inject(
    text: pd.DataFrame, tickets: pd.DataFrame, r: int, kind: str, hours: tuple[int, int]
) -> None:
    """Make row r (a served ticket) faulty in one way only."""
    t = tickets.loc[r]
    if kind == "missing_field":
        text.loc[r, "matter"] = None
    elif kind == "missing_taken":
        text.loc[r, "taken_at"] = None
    elif kind == "unparsable_time":  # in the optional column: nothing else follows
        text.loc[r, "started_at"] = "下午三点"
    elif kind == "unknown_status":
        text.loc[r, "status"] = "待定"
    elif kind == "called_before_taken":
        earlier = t["taken_at"] - pd.Timedelta(minutes=5)
        text.loc[r, "called_at"] = earlier.strftime(_TIME_FORMAT)
    elif kind == "started_before_called":
        later = t["started_at"] + pd.Timedelta(seconds=30)
        text.loc[r, "called_at"] = later.strftime(_TIME_FORMAT)
    elif kind == "no_service":
        text.loc[r, "finished_at"] = text.loc[r, "started_at"]
    elif kind == "not_called":
        text.loc[r, "called_at"] = None
    elif kind == "duplicate_id":  # the earlier row keeps the number
        text.loc[r, "ticket_id"] = text.loc[r - 1, "ticket_id"]
    elif kind == "outside_hours":
        early = t["taken_at"].normalize() + pd.Timedelta(minutes=hours[0] - 60)
        text.loc[r, "taken_at"] = early.strftime(_TIME_FORMAT)
    else:
        raise ValueError(f"no such fault kind {kind!r}")


def cases_from_run(log: pd.DataFrame, cases: pd.DataFrame, days: int | None = None) -> pd.DataFrame:
    """A case log (sim.caselog columns) from a run's event log and case log: every
    matter accepted at a window is a case, completed the day it was accepted if it was
    instant, else when its back-office case ended (empty if still open at the end of the
    last day of acceptances); `returns` are
    the visits the visitor brought it before the one that accepted it. Applications
    made online are not in it (they never came to a window). With `days`, the log holds
    the cases accepted on the first `days` working days."""
    if days is not None:  # the period's cases: accepted on its days
        log = log[log["day"] < days]
    accepted = log[(log["stage"] == "acceptance") & (log["outcome"] == "served")]
    visits = accepted.assign(matter=accepted["matters"].astype(str).str.split("+")).explode(
        "matter"
    )
    visits = visits.sort_values(["visitor", "matter", "day", "end_at"])
    group = visits.groupby(["visitor", "matter"], sort=False)
    last = visits.assign(returns=group.cumcount()).groupby(["visitor", "matter"]).tail(1)
    at = pd.to_datetime(last["date"]).dt.as_unit("ns") + pd.to_timedelta(last["end_at"], unit="min")
    frame = pd.DataFrame(
        {
            "visitor": last["visitor"].to_numpy(),
            "matter": last["matter"].to_numpy(),
            "accepted_at": at.to_numpy(),
            "returns": last["returns"].to_numpy(),
            "department": last["department"].astype(str).to_numpy(),
        }
    )
    office = pd.DataFrame()
    if len(cases):
        done = pd.to_datetime(cases["finished_date"]).dt.as_unit("ns") + pd.to_timedelta(
            cases["finished_at"], unit="min"
        )
        office = pd.DataFrame(
            {
                "visitor": cases["visitor"].to_numpy(),
                "matter": cases["matter"].astype(str),
                "completed_at": done.to_numpy(),
                "promised_days": cases["promised_days"],
                "statutory_days": cases["statutory_days"],
                "office": True,
            }
        ).drop_duplicates(["visitor", "matter"])
        frame = frame.merge(office, on=["visitor", "matter"], how="left")
    else:
        frame = frame.assign(
            completed_at=pd.NaT, promised_days=np.nan, statutory_days=np.nan, office=False
        )
    instant = frame["office"].isna() | ~frame["office"].astype(bool)
    frame["completed_at"] = frame["completed_at"].where(~instant, frame["accepted_at"])
    # the log ends with the last day of acceptances: cases finishing later are open
    end = frame["accepted_at"].max().normalize() + pd.Timedelta(days=1)
    frame["completed_at"] = frame["completed_at"].where(frame["completed_at"] < end)
    frame = frame.sort_values("accepted_at", ignore_index=True)
    frame.insert(0, "case_id", [f"C{i:07d}" for i in range(len(frame))])
    return frame[
        [
            "case_id",
            "matter",
            "accepted_at",
            "completed_at",
            "promised_days",
            "statutory_days",
            "department",
            "returns",
        ]
    ]


def write_cases(
    cases: pd.DataFrame, path: str | Path, headers: str = "hallsim", encoding: str = "utf-8"
) -> Path:
    """Write a case log to .csv, .xlsx or .parquet; `headers` "zh": Chinese headers."""
    path = Path(path)
    text = cases.copy()
    for column in ("accepted_at", "completed_at"):
        text[column] = text[column].dt.strftime(_TIME_FORMAT).astype(object)
    text = text.astype(object).where(text.notna(), None)
    if headers == "zh":
        text = text.rename(columns={ours: CASE_PRESETS["zh"][ours][0] for ours in text.columns})
    elif headers != "hallsim":
        raise ValueError(f"headers: 'hallsim' or 'zh', not {headers!r}")
    return _write_frame(text, path, encoding)


def _write_frame(text: pd.DataFrame, path: Path, encoding: str) -> Path:
    """A table of text to .csv (in `encoding`), .xlsx or .parquet, by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text.to_csv(path, index=False, encoding=encoding)
    elif suffix == ".xlsx":
        text.to_excel(path, index=False, engine="openpyxl")
    elif suffix == ".parquet":
        text.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: write .csv, .xlsx or .parquet")
    return path
