"""KPIs on a hand-made log whose every value can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import COLUMNS, Capacity, hourly_table, pool_table, replication_table, summarize
from sim.records import OUTCOMES

NAN = np.nan
# visitor, visit, window, arrival, ticket, start, end, outcome
ROWS = [
    (0, 1, 1, 480, 480, 480, 500, "served"),
    (1, 1, 2, 490, 490, 500, 530, "served"),
    (2, 1, 2, 500, 500, 505, 515, "served"),
    (2, 2, 1, 500, 515, 530, 740, "served"),  # ends 20 minutes after closing
    (3, 1, None, 600, 600, NAN, 630, "abandoned"),
]
CAPACITY = Capacity(
    windows={"p": 2}, service_intervals=((480, 720),), closes_at=720, days=1, target_wait_min=10
)


def hand_log() -> pd.DataFrame:
    visitor, visit, window, arrival, ticket, start, end, outcome = zip(*ROWS, strict=True)
    start, end, ticket = (np.array(x, dtype=float) for x in (start, end, ticket))
    frame = pd.DataFrame(
        {
            "scenario": "hand",
            "replication": 0,
            "day": 0,
            "date": pd.Timestamp("2021-03-01"),
            "visitor": visitor,
            "visit": visit,
            "matters": ["a", "b", "a", "a+b", "b"],
            "n_matters": [1, 1, 1, 2, 1],
            "department": "d",
            "pool": "p",
            "stage": "acceptance",
            "window": pd.array(window, dtype="Int32"),
            "arrival_at": np.array(arrival, dtype=float),
            "ticket_at": ticket,
            "start_at": start,
            "end_at": end,
            "wait_min": np.where(np.isnan(start), end, start) - ticket,
            "service_min": end - start,
            "outcome": pd.Categorical(outcome, categories=OUTCOMES),
            "trip": 1,
            "incomplete": 0,
            "booked": False,
        }
    )
    return frame.astype({k: v for k, (v, _) in COLUMNS.items() if k != "outcome"})


def test_overall_kpis_are_per_visitor():
    kpis = replication_table(hand_log(), CAPACITY).iloc[0]
    assert kpis["visitors"] == 4 and kpis["visits"] == 5
    assert (kpis["served"], kpis["abandoned"], kpis["unserved_at_close"]) == (3, 1, 0)
    # total waits of fully served visitors: 0, 10, 5 + 15
    assert kpis["wait_mean_min"] == pytest.approx(10)
    assert kpis["wait_p50_min"] == pytest.approx(10)
    assert kpis["wait_max_min"] == pytest.approx(20)
    assert kpis["service_level_visitor"] == pytest.approx(2 / 4)  # the abandoned one fails
    # per ticket (Qmatic): 3 of the 5 tickets were called within 10 minutes (visitor 2's
    # second waited 15; the abandoned one counts as missed)
    assert kpis["service_level_ticket"] == pytest.approx(3 / 5)
    assert kpis["time_in_hall_mean_min"] == pytest.approx((20 + 40 + 240 + 30) / 4)
    # busy inside opening hours: 20 + 30 + 10 + 190, over 2 windows x 240 minutes
    assert kpis["utilization"] == pytest.approx(250 / 480)
    assert kpis["overtime_min"] == pytest.approx(20)


def test_pool_kpis_are_per_visit():
    row = pool_table(hand_log(), CAPACITY).iloc[0]
    assert (row["visits"], row["served"], row["abandoned"]) == (5, 4, 1)
    assert row["wait_mean_min"] == pytest.approx(7.5)
    assert row["service_level_ticket"] == pytest.approx(3 / 5)
    assert row["service_mean_min"] == pytest.approx((20 + 30 + 10 + 210) / 4)


def test_hourly_levels_are_time_weighted():
    hourly = hourly_table(hand_log(), CAPACITY).set_index("hour")
    # waiting intervals: 490-500, 500-505, 515-530 (hour 8) and 600-630 (hour 10)
    assert hourly.loc[8, "queue_length_mean"] == pytest.approx(30 / 60)
    assert hourly.loc[9, "queue_length_mean"] == 0
    assert hourly.loc[10, "queue_length_mean"] == pytest.approx(30 / 60)
    # busy windows in hour 8: 20 + 30 + 10 + 10 (530-540) minutes
    assert hourly.loc[8, "busy_windows_mean"] == pytest.approx(70 / 60)
    assert hourly.loc[12, "busy_windows_mean"] == pytest.approx(20 / 60)  # overtime hour
    assert hourly.loc[8, "tickets"] == 4 and hourly.loc[10, "tickets"] == 1
    assert hourly.loc[10, "wait_mean_min"] != hourly.loc[10, "wait_mean_min"]  # NaN: none served


def test_summarize_gives_the_t_interval():
    table = pd.DataFrame({"scenario": "s", "replication": [0, 1, 2], "x": [1.0, 2.0, 3.0]})
    row = summarize(table).iloc[0]
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)
    assert row["mean"] == 2 and row["half_width"] == pytest.approx(half)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((2 - half, 2 + half))
    single = summarize(table.iloc[:1]).iloc[0]
    assert np.isnan(single["half_width"])  # one replication: no interval, not a zero one


def test_every_case_kpi_is_documented():
    from pathlib import Path

    from sim import load_scenario, run

    doc = (Path(__file__).resolve().parent.parent / "docs/kpis.md").read_text()
    root = Path(__file__).resolve().parent.parent
    result = run(load_scenario(root / "scenarios/xian-pipeline-parallel.yaml"), reps=2)
    for table in (result.case_kpis, result.teams, result.backlog):
        for kpi in set(table.columns) - {"scenario", "replication", "team", "day"}:
            assert f"`{kpi}`" in doc, f"{kpi} is not in docs/kpis.md"


def test_every_kpi_is_documented():
    from pathlib import Path

    from sim import matter_table

    doc = (Path(__file__).resolve().parent.parent / "docs/kpis.md").read_text()
    log = hand_log()
    tables = [
        replication_table(log, CAPACITY),
        pool_table(log, CAPACITY),
        matter_table(log, CAPACITY),
        hourly_table(log, CAPACITY),
    ]
    keys = {"scenario", "replication", "pool", "matter", "hour"}
    for table in tables:
        for kpi in set(table.columns) - keys:
            assert f"`{kpi}`" in doc, f"{kpi} is not in docs/kpis.md"


def test_every_kpi_a_table_computes_is_in_the_registry_at_its_level():
    """One registry (sim.kpis) says what each KPI is; the tables compute nothing else."""
    from pathlib import Path

    from sim import load_scenario, run, with_settings
    from sim.kpis import KPIS

    root = Path(__file__).resolve().parent.parent
    whole_case = load_scenario(root / "scenarios/quanzhou-2021-whole-case.yaml")
    result = run(with_settings(whole_case, {"calendar.days": 2}), reps=1)
    ids = {"scenario", "replication", "pool", "matter", "hour", "team"}
    for table, level in ((result.kpis, "visitor"), (result.pools, "visit"),
                         (result.matters, "visit"), (result.hourly, "hour"),
                         (result.case_kpis, "case"), (result.teams, "team")):  # fmt: skip
        for column in set(table.columns) - ids:
            assert column in KPIS, f"{column} is not in sim.kpis"
            assert level in KPIS[column].levels, f"{column} is not declared at {level}"


def test_confidence_intervals_stay_inside_what_a_kpi_can_be():
    import pandas as pd

    from sim.metrics import summarize

    table = pd.DataFrame({
        "scenario": "s", "replication": [0, 1, 2],
        "wait_mean_min": [0.0, 0.0, 0.6], "service_level_visitor": [1.0, 1.0, 0.9],
        "not_a_kpi": [-1.0, 1.0, 0.0],
    })  # fmt: skip
    summary = summarize(table).set_index("kpi")
    assert summary.loc["wait_mean_min", "ci_low"] == 0 < summary.loc["wait_mean_min", "half_width"]
    assert summary.loc["service_level_visitor", "ci_high"] == 1
    assert summary.loc["not_a_kpi", "ci_low"] < -1  # what is not a KPI keeps its t interval
