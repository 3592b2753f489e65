"""`hallsim fit` from the command line: a Chinese log in GBK to a runnable scenario and a
fit report; bad input is one line, exit 2, nothing written; nothing is overwritten
without --force."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim import load_scenario, simulate_all, with_settings
from sim.cli import main
from sim.ticketgen import as_text, tickets_from_log, write_tickets
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def tickets() -> pd.DataFrame:
    scenario = load_scenario(ROOT / "scenarios/examples/logged-hall.yaml")
    return tickets_from_log(simulate_all(with_settings(scenario, {"calendar.days": 5}), 1, 0).log)


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hallsim: error: "), captured.err
    return lines[0]


def test_fit_writes_a_runnable_scenario_and_a_report(tmp_path, tickets, capsys):
    log = write_tickets(tickets, tmp_path / "叫号记录.csv", headers="zh", encoding="gbk")
    out, results = tmp_path / "我的大厅.yaml", tmp_path / "报告"
    assert main(["fit", str(log), "--out", str(out), "--results", str(results)]) == 0
    assert "我的大厅" in capsys.readouterr().out
    scenario = load_scenario(out)
    assert scenario.name == "我的大厅" and set(scenario.windows) == {"comprehensive", "tax"}
    assert "叫号记录.csv" in scenario.sources[0]
    files = set(json.loads((results / "manifest.json").read_text())["files"])
    assert {"report.html", "parameters.csv", "faults.csv", "scenario.yaml", "patience.png",
            "arrivals_by_time.png", "service_01.png", "windows_01.png"} <= files  # fmt: skip
    parameters = pd.read_csv(results / "parameters.csv")
    assert (
        parameters["ci_low"].dropna() <= parameters["value"][parameters["ci_low"].notna()]
    ).all()
    # the scenario runs as it is
    assert main(["run", str(out), "--reps", "2", "--out", str(tmp_path / "run")]) == 0
    # and is not overwritten without --force
    before = out.read_bytes()
    assert main(["fit", str(log), "--out", str(out), "--results", str(tmp_path / "r2")]) == 2
    assert "--force" in _one_error_line(capsys)
    assert out.read_bytes() == before and not (tmp_path / "r2").exists()


def test_a_mapping_names_their_columns(tmp_path, tickets, capsys):
    log = tmp_path / "log.parquet"
    as_text(tickets).rename(columns={"taken_at": "TakeTime", "matter": "Business"}).to_parquet(log)
    mapping = tmp_path / "columns.yaml"
    mapping.write_text("taken_at: TakeTime\n", encoding="utf-8")
    out = tmp_path / "hall.yaml"
    args = ["fit", str(log), "--out", str(out), "--results", str(tmp_path / "r")]
    assert main([*args, "--mapping", str(mapping), "--map", "matter=Business", *[
        a for ours in ("ticket_id", "called_at", "started_at", "finished_at", "window",
                       "department", "status", "visitor", "booked")
        for a in ("--map", f"{ours}={ours}")]]) == 0  # fmt: skip
    assert load_scenario(out).demand.visitors_per_day > 0


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such file"),
        ("encoding", "unknown encoding"),
        ("column", "no such column"),
        ("no_served", "no served ticket"),
        ("one_day", "single day"),
        ("binary", "cannot read"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    tmp_path, tickets, capsys, case, expected
):
    log = tmp_path / "log.csv"
    extra: list[str] = []
    if case == "encoding":
        write_tickets(tickets, log)
        extra = ["--encoding", "klingon"]
    elif case == "column":
        write_tickets(tickets, log)
        extra = ["--map", "taken_at=取票时刻"]
    elif case == "no_served":
        write_tickets(tickets.assign(status="abandoned"), log)
    elif case == "one_day":
        write_tickets(tickets[tickets["taken_at"].dt.day == 3], log)
    elif case == "binary":
        log = tmp_path / "log.xlsx"
        log.write_bytes(b"\x00\x01PK\x03\x04 not a workbook")
    out, results = tmp_path / "hall.yaml", tmp_path / "results"
    assert main(["fit", str(log), "--out", str(out), "--results", str(results), *extra]) == 2
    assert expected in _one_error_line(capsys)
    assert not out.exists() and not results.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([] if case == "missing" else [log.name])


def test_log_writes_a_log_with_known_faults_in_chinese_gbk(tmp_path, capsys):
    scenario = tmp_path / "hall.yaml"
    scenario.write_text(
        f"extends: {ROOT / 'scenarios/examples/logged-hall.yaml'}\ncalendar: {{days: 3}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "新建文件夹" / "叫号.csv"
    args = ["log", str(scenario), "--out", str(out), "--headers", "zh", "--encoding", "gbk"]
    assert main([*args, "--faults", "2"]) == 0
    assert "叫号.csv" in capsys.readouterr().out
    from sim.ticketlog import FAULT_KINDS, read_tickets

    log = read_tickets(out, hours=(510, 1020))
    assert log.fault_counts == dict.fromkeys(FAULT_KINDS, 2)
    assert "取号时间" in out.read_bytes().decode("gbk")
    before = out.read_bytes()
    assert main(args) == 2 and "--force" in _one_error_line(capsys)
    assert out.read_bytes() == before
    assert main(["log", str(scenario), "--out", str(tmp_path / "log.txt")]) == 2


def test_log_and_fit_with_a_case_log_from_the_command_line(tmp_path, capsys):
    truth = ROOT / "scenarios/examples/logged-hall-backoffice.yaml"
    scenario = tmp_path / "hall.yaml"
    scenario.write_text(f"extends: {truth}\ncalendar: {{days: 6}}\n", encoding="utf-8")
    tickets, cases = tmp_path / "叫号.csv", tmp_path / "办件.xlsx"
    args = ["log", str(scenario), "--out", str(tickets), "--cases", str(cases), "--headers", "zh"]
    assert main(args) == 0
    out = tmp_path / "fitted.yaml"
    fit = ["fit", str(tickets), "--cases", str(cases), "--out", str(out)]
    assert main([*fit, "--results", str(tmp_path / "report")]) == 0
    fitted = load_scenario(out)
    assert fitted.backoffice is not None and fitted.matters["business_license"].approval
    assert (tmp_path / "report" / "lead_times_01.png").exists()
    # a case log that names no column we need: one line, exit 2, nothing written
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    bad = [
        "fit",
        str(tickets),
        "--cases",
        str(tmp_path / "bad.csv"),
        "--out",
        str(tmp_path / "x.yaml"),
    ]
    assert main([*bad, "--results", str(tmp_path / "r2")]) == 2
    assert "no such column" in _one_error_line(capsys)
    assert not (tmp_path / "x.yaml").exists() and not (tmp_path / "r2").exists()


def test_a_systems_own_status_words_and_a_wrong_mapping(tmp_path, tickets, capsys):
    from sim.ticketgen import as_text

    text = as_text(tickets)
    text["status"] = text["status"].map({"served": "正常", "abandoned": "取消"})
    log = tmp_path / "log.csv"
    text.to_csv(log, index=False)
    args = ["fit", str(log), "--out", str(tmp_path / "h.yaml"), "--results", str(tmp_path / "r")]
    # words it does not know: one line naming them and how to map them, exit 2
    assert main(args) == 2
    line = _one_error_line(capsys)
    assert "正常" in line and "--status" in line and "more than half" in line
    assert main([*args, "--status", "正常=served", "--status", "取消=abandoned"]) == 0
    capsys.readouterr()
    # taken and called swapped: most rows faulty, so the mapping is refused, not fitted
    swapped = ["--map", "taken_at=called_at", "--map", "called_at=taken_at"]
    others = [a for c in ("ticket_id", "started_at", "finished_at", "window", "matter",
                          "department", "status", "visitor", "booked")
              for a in ("--map", f"{c}={c}")]  # fmt: skip
    bad = ["fit", str(log), "--out", str(tmp_path / "b.yaml"), "--results", str(tmp_path / "b")]
    assert main([*bad, *swapped, *others, "--status", "正常=served"]) == 2
    assert "check the column mapping" in _one_error_line(capsys)


def test_a_log_kept_to_the_minute_and_stray_tickets(tmp_path, tickets):
    from sim.fit import fit_tickets
    from sim.ticketgen import as_text
    from sim.ticketlog import read_tickets

    minute = as_text(tickets)
    for column in ("taken_at", "called_at", "started_at", "finished_at"):
        minute[column] = tickets[column].dt.strftime("%Y/%m/%d %H:%M").astype(object)
    path = tmp_path / "minute.csv"
    minute.where(tickets.notna(), None).to_csv(path, index=False)
    log = read_tickets(path)
    # a service under a minute shows as none: not a faulty row in such a log
    assert log.fault_counts["no_service"] == 0
    result = fit_tickets(log)
    assert any("to the minute" in a for a in result.scenario.assumptions)
    mean = result.scenario.matters["tax_filing"].service_min.mean
    assert 4 < mean < 9  # truth 6 at specialist speed (CI in test_fit)
    # three tickets at 07:00 neither open the hall at 07:00 nor stay in the fit
    stray = tickets.head(3).assign(
        taken_at=lambda t: t["taken_at"].dt.normalize() + pd.Timedelta(hours=7),
        ticket_id=["x1", "x2", "x3"],
    )
    result = fit_tickets(pd.concat([tickets, stray], ignore_index=True))
    assert result.scenario.calendar.opens_at == 510
    assert any("3 tickets taken outside" in w for w in result.warnings)
