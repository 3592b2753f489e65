"""compare, sweep, size and regress from the command line; the HTML report in a browser."""

from __future__ import annotations

import pandas as pd

from sim import load_scenario
from sim.cli import main
from tests.helpers import ROOT

MMC = str(ROOT / "scenarios/examples/mmc.yaml")
MMC_AT_ISSUE = str(ROOT / "scenarios/examples/mmc-dispatch-at-issue.yaml")


def test_compare_writes_tables_plots_and_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert (
        main(["compare", MMC, MMC_AT_ISSUE, "--reps", "6", "--jobs", "2", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr()
    assert "wait_mean_min" in printed.out and printed.err == ""  # no progress bar off a terminal
    files = {p.name for p in out.iterdir()}
    expected = {
        "compare.csv", "compare_matters.csv", "compare_pools.csv", "compare_hourly.csv",
        "report.html", "manifest.json", "compare_matters.png", "compare_hourly.png",
    }  # fmt: skip
    assert expected <= files
    overall = pd.read_csv(out / "compare.csv").set_index("kpi")
    assert overall.loc["wait_mean_min", "diff"] > 0  # dispatch at issue is worse


def test_compare_output_is_the_same_whatever_the_number_of_jobs(tmp_path):
    for jobs in ("1", "2"):
        main(["compare", MMC, MMC_AT_ISSUE, "--reps", "4", "--jobs", jobs,
              "--out", str(tmp_path / jobs)])  # fmt: skip
    for name in ("compare.csv", "compare_matters.csv", "compare_hourly.csv", "summary.csv"):
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()


def test_sweep_and_size_write_their_folders(tmp_path, capsys):
    sweep_out, size_out = tmp_path / "sweep", tmp_path / "size"
    argv = ["sweep", MMC, "--set", "windows.counter.count=5,6,7", "--reps", "3", "--out"]
    assert main([*argv, str(sweep_out)]) == 0
    table = pd.read_csv(sweep_out / "sweep.csv")
    assert set(table["windows.counter.count"]) == {5, 6, 7}
    assert (sweep_out / "sweep.png").exists() and (sweep_out / "report.html").exists()
    argv = ["size", MMC, "--target", "wait_mean_min<=3", "--reps", "5", "--out", str(size_out)]
    assert main(argv) == 0
    assert "windows meet wait_mean_min<=3" in capsys.readouterr().out
    sizing = pd.read_csv(size_out / "sizing.csv")
    assert sizing.loc[0, "sized"] >= 6
    assert (size_out / "scenario-sized.yaml").exists()
    assert main(["validate", str(size_out / "scenario-sized.yaml")]) == 0


def test_regress_passes_on_itself_and_fails_on_drift(tmp_path, capsys):
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / "baseline.yaml").write_text(f"scenarios: [{MMC}]\nreps: 4\nseed: 3\n")
    assert main(["regress", "--baseline", str(baseline)]) == 2  # no kpis.csv yet
    assert "--update" in capsys.readouterr().err
    assert main(["regress", "--baseline", str(baseline), "--update"]) == 0
    assert main(["regress", "--baseline", str(baseline)]) == 0
    assert "0 drifted" in capsys.readouterr().out
    kpis = pd.read_csv(baseline / "kpis.csv")
    kpis.loc[kpis["kpi"] == "wait_mean_min", "mean"] += 50
    kpis.loc[kpis["kpi"] == "windows", "mean"] += 1
    kpis.to_csv(baseline / "kpis.csv", index=False)
    assert main(["regress", "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    assert "2 drifted" in out and "wait_mean_min" in out and "windows" in out


def test_shipped_baseline_covers_its_scenarios_and_todays_key_kpis():
    """The committed baseline matches the code without running it (`.ci/run` re-runs it
    with `hallsim regress`): every scenario baseline.yaml names, with every key KPI of the
    registry that the scenario measures, and nothing the code no longer computes."""
    from sim import kpis as registry
    from sim.regress import read_config

    baseline = ROOT / "results/baseline"
    config = read_config(baseline)
    kpis = pd.read_csv(baseline / "kpis.csv")
    names = [load_scenario(baseline / path).name for path in config.scenarios]
    assert sorted(set(kpis["scenario"])) == sorted(names)
    assert set(kpis["kpi"]) <= set(registry.key()), "a KPI the code no longer computes"
    always = {"visitors", "wait_mean_min", "wait_p90_min", "service_level_visitor",
              "service_level_ticket", "windows", "utilization"}  # fmt: skip
    for name, rows in kpis.groupby("scenario"):
        assert always <= set(rows["kpi"]), name
        assert rows["replications"].isin([0, config.reps]).all(), name  # 0: undefined here
