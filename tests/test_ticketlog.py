"""Ticket logs: read in every format, encoding and header language; every faulty row
counted by kind; mappings that do not fit the file refused in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate_all, with_settings
from sim.errors import TicketLogError
from sim.ticketgen import tickets_from_log, with_faults, write_tickets
from sim.ticketlog import FAULT_KINDS, read_tickets
from tests.helpers import ROOT

HOURS = (510, 1050)  # the small hall: 08:30 to 17:30


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    scenario = load_scenario(ROOT / "scenarios/examples/small-hall.yaml")
    scenario = with_settings(scenario, {"calendar.days": 3, "calendar.start_date": "2021-03-01"})
    return tickets_from_log(simulate_all(scenario, 1, 0).log)


@pytest.mark.parametrize(
    ("name", "headers", "encoding"),
    [
        ("log.csv", "hallsim", "utf-8"),
        ("日志.csv", "zh", "gbk"),
        ("log-bom.csv", "zh", "utf-8-sig"),
        ("叫号.xlsx", "zh", "utf-8"),
        ("log.parquet", "hallsim", "utf-8"),
    ],
)
def test_a_written_log_reads_back_whole_in_every_format(tmp_path, tickets, name, headers, encoding):
    path = write_tickets(tickets, tmp_path / name, headers=headers, encoding=encoding)
    log = read_tickets(path, hours=HOURS)
    assert sum(log.fault_counts.values()) == 0 and len(log.tickets) == len(tickets)
    assert log.source["rows"] == len(tickets) and len(log.source["sha256"]) == 64
    back = log.tickets
    for column in ("ticket_id", "window", "matter", "department", "status", "visitor"):
        expected = tickets[column].astype("string")
        assert (back[column].fillna("") == expected.fillna("")).all(), column
    assert (back["booked"] == tickets["booked"]).all()
    # times are logged to the second
    error = (back["taken_at"] - tickets["taken_at"]).abs().max()
    assert error < pd.Timedelta(seconds=1)
    served = tickets["status"] == "served"
    service = (back["finished_at"] - back["started_at"])[served].dt.total_seconds()
    truth = (tickets["finished_at"] - tickets["started_at"])[served].dt.total_seconds()
    assert (service > 0).all() and np.abs(service - truth).max() <= 1


def test_every_kind_of_faulty_row_is_counted_and_kept_out(tmp_path, tickets):
    text, truth = with_faults(tickets, per_kind=4, seed=3, hours=HOURS)
    assert set(truth) == set(FAULT_KINDS) and all(len(r) == 4 for r in truth.values())
    path = write_tickets(text, tmp_path / "faulty.csv", headers="zh", encoding="gbk")
    log = read_tickets(path, hours=HOURS)
    assert log.fault_counts == {kind: 4 for kind in FAULT_KINDS}
    for kind, rows in truth.items():
        found = log.faults.loc[log.faults["kind"] == kind, "row"]
        assert sorted(found) == sorted(rows), kind
    assert len(log.tickets) == len(tickets) - 4 * len(FAULT_KINDS)
    assert not set(log.tickets["row"]) & {r for rows in truth.values() for r in rows}


def test_a_mapping_names_our_columns_and_theirs(tmp_path, tickets):
    path = tmp_path / "own.csv"
    own = {"taken_at": "Issued", "called_at": "Called", "finished_at": "Done",
           "window": "Counter", "matter": "Service", "status": "Result"}  # fmt: skip
    frame = pd.read_csv(write_tickets(tickets, tmp_path / "plain.csv"), dtype=str)
    frame.rename(columns={ours: theirs for ours, theirs in own.items()}).to_csv(path, index=False)
    log = read_tickets(path, mapping=own, hours=HOURS)
    assert sum(log.fault_counts.values()) == 0 and len(log.tickets) == len(tickets)
    with pytest.raises(TicketLogError, match="Counter2: no such column"):
        read_tickets(path, mapping={**own, "window": "Counter2"})
    with pytest.raises(TicketLogError, match="window: required"):
        read_tickets(path, mapping={k: v for k, v in own.items() if k != "window"})
    with pytest.raises(TicketLogError, match="--map taken_at="):
        read_tickets(path)  # no preset fits: say which column to map


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (b"\xff\xfe\x00\x01garbage\x80\x81", ".csv", "not text in UTF-8 or GBK"),
        (b"PK\x03\x04 not really a workbook", ".xlsx", "cannot read as .xlsx"),
        (b"not parquet", ".parquet", "cannot read as .parquet"),
        (b"a,b\n1,2\n", ".json", "use .csv, .xlsx or .parquet"),
    ],
)
def test_an_unreadable_log_is_one_clear_error(tmp_path, content, suffix, message):
    path = tmp_path / f"broken{suffix}"
    path.write_bytes(content)
    with pytest.raises(TicketLogError, match=message) as error:
        read_tickets(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(TicketLogError, match="no such file"):
        read_tickets(tmp_path / "missing.csv")


def test_the_ticket_log_reference_in_docs_is_current():
    from sim.ticketlog import reference_markdown

    assert reference_markdown() in (ROOT / "docs/ticket-log.md").read_text(encoding="utf-8")
