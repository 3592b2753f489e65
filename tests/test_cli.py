"""The command line end to end: run, results folder, overwrite protection, schema."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.cli import main
from sim.records import COLUMNS, columns_markdown
from tests.helpers import ROOT

MMC = str(ROOT / "scenarios/examples/mmc.yaml")


def test_run_writes_a_complete_results_folder(tmp_path, capsys):
    out = tmp_path / "mmc"
    assert main(["run", MMC, "--reps", "3", "--seed", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wait_mean_min" in printed and str(out) in printed
    expected = {
        "summary.csv", "replications.csv", "pools.csv", "matters.csv", "hourly.csv",
        "events.parquet", "wait_distribution.png", "queue_by_hour.png",
        "utilization_by_pool.png", "scenario.yaml", "manifest.json", "report.html",
        "cases_summary.csv", "periods.csv",
    }  # fmt: skip
    assert {p.name for p in out.iterdir()} == expected
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["replications"] == 3
    assert len(manifest["scenario_sha256"]) == 64
    log = pd.read_parquet(out / "events.parquet")
    assert list(log.columns) == list(COLUMNS)
    summary = pd.read_csv(out / "summary.csv")
    assert {"kpi", "mean", "ci_low", "ci_high"} <= set(summary.columns)
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the resolved scenario reproduces the run
    assert main(["validate", str(out / "scenario.yaml")]) == 0


def test_existing_results_are_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "mmc"
    assert main(["run", MMC, "--reps", "2", "--out", str(out)]) == 0
    (out / "my-notes.txt").write_text("keep me")
    assert main(["run", MMC, "--reps", "2", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "my-notes.txt").read_text() == "keep me"
    # --force replaces our results, but not a file someone added to them
    assert main(["run", MMC, "--reps", "2", "--out", str(out), "--force"]) == 2
    assert "my-notes.txt" in capsys.readouterr().err
    assert (out / "my-notes.txt").read_text() == "keep me"
    (out / "my-notes.txt").unlink()
    assert main(["run", MMC, "--reps", "2", "--seed", "5", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["mmc"]  # no staging folders left


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path, monkeypatch):
    import sim.report

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim.report.plots, "queue_by_hour", broken)
    out = tmp_path / "mmc"
    with pytest.raises(RuntimeError):
        main(["run", MMC, "--reps", "2", "--out", str(out)])
    assert list(tmp_path.iterdir()) == []


def test_default_results_folder_is_named_after_the_scenario(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", MMC, "--reps", "2"]) == 0
    assert (tmp_path / "results/mmc/summary.csv").exists()
    # run again: the first results stay, the new ones go next to them, and it says so
    first = (tmp_path / "results/mmc/manifest.json").read_bytes()
    assert main(["run", MMC, "--reps", "2", "--seed", "3"]) == 0
    assert main(["run", MMC, "--reps", "2", "--seed", "4"]) == 0
    assert "results/mmc-2" in capsys.readouterr().err
    assert (tmp_path / "results/mmc/manifest.json").read_bytes() == first
    seeds = [json.loads((tmp_path / f"results/{f}/manifest.json").read_text())["seed"]
             for f in ("mmc-2", "mmc-3")]  # fmt: skip
    assert seeds == [3, 4]
    # --force replaces the first one (ours), and only it
    assert main(["run", MMC, "--reps", "2", "--seed", "5", "--force"]) == 0
    assert json.loads((tmp_path / "results/mmc/manifest.json").read_text())["seed"] == 5


def test_schema_is_json_and_lists_the_fields(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"calendar", "demand", "matters", "windows", "extends"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_log_references_in_docs_are_current():
    from sim.case_metrics import OUTCOME_COLUMNS
    from sim.records import CASE_COLUMNS, STEP_COLUMNS

    doc = (ROOT / "docs/event-log.md").read_text()
    for columns in (None, CASE_COLUMNS, OUTCOME_COLUMNS, STEP_COLUMNS):
        assert columns_markdown(columns) in doc


def test_the_readme_and_docs_link_only_inside_the_repository():
    import re

    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text and "seed 00" not in text, path
        for link in re.findall(r"\]\(([^)#]+)\)", text):
            if not link.startswith("http"):
                assert (path.parent / link).exists(), (path, link)


def test_reports_write_numbers_and_significance_for_reading(tmp_path):
    from sim.tables import plain_number as _number

    assert _number(68330.4) == "68,330" and _number(0.7259) == "0.7259"
    out = tmp_path / "cmp"
    small = ROOT / "scenarios/examples/pooling-separate.yaml"
    pooled = ROOT / "scenarios/examples/pooling-pooled.yaml"
    assert main(["compare", str(small), str(pooled), "--reps", "3", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "CI excludes 0" in page or "CI includes 0" in page
    assert ">True<" not in page and ">False<" not in page
    assert "The whole case" not in page  # a plain hall has no whole-case section


def test_the_schema_does_not_require_a_name():
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["schema"]) == 0
    assert "name" not in json.loads(buffer.getvalue()).get("required", [])


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required: scenario" in err and "hallsim run --help" in err
