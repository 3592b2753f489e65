"""Never lose a user's data, never leave debris: --force, killed runs, odd arguments,
Chinese names end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from tests.helpers import ROOT

MMC = str(ROOT / "scenarios/examples/mmc.yaml")


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hallsim: error: "), captured.err
    return lines[0]


def test_force_never_replaces_a_folder_hallsim_did_not_write(tmp_path, capsys):
    thesis = tmp_path / "mydocs"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("years of work")
    assert main(["run", MMC, "--reps", "2", "--out", str(thesis), "--force"]) == 2
    assert "not a hallsim results folder" in _one_error_line(capsys)
    assert (thesis / "thesis.tex").read_text() == "years of work"
    # nor a file, nor the regression baseline (it has no manifest)
    note = tmp_path / "note.txt"
    note.write_text("mine")
    assert main(["run", MMC, "--reps", "2", "--out", str(note), "--force"]) == 2
    assert note.read_text() == "mine"
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / "kpis.csv").write_text("scenario,kpi\n")
    assert main(["run", MMC, "--reps", "2", "--out", str(baseline), "--force"]) == 2
    assert (baseline / "kpis.csv").exists()
    capsys.readouterr()


def test_a_scenario_named_dot_cannot_reach_the_results_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.csv").write_text("x")
    for name in (".", "..", "../x", "a/b"):
        dot = tmp_path / "dot.yaml"
        dot.write_text(f'extends: {MMC}\nname: "{name}"\n')
        assert main(["run", str(dot), "--reps", "2", "--force"]) == 2
        assert "cannot name a results folder" in _one_error_line(capsys)
    assert (tmp_path / "results" / "keep.csv").exists()


def test_results_folders_are_readable_by_colleagues(tmp_path):
    out = tmp_path / "mmc"
    assert main(["run", MMC, "--reps", "2", "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o055 == 0o055  # group and others may list and read


def test_debris_of_a_killed_run_is_removed_and_nothing_else(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    partial = tmp_path / ".mmc.partial-abc123"
    old = tmp_path / ".mmc.old-def456"
    for folder in (partial, old):
        folder.mkdir()
        (folder / ".hallsim-staging").write_text(f"{dead.pid}\n")
        (folder / "summary.csv").write_text("half")
    alive = tmp_path / ".mmc.partial-live"
    alive.mkdir()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (alive / ".hallsim-staging").write_text(f"{running.pid}\n")  # another run, still going
    foreign = tmp_path / ".mmc.partial-not-ours"
    foreign.mkdir()
    (foreign / "data.txt").write_text("someone else's")
    assert main(["run", MMC, "--reps", "2", "--out", str(tmp_path / "mmc")]) == 0
    err = capsys.readouterr().err
    running.kill()
    running.wait()
    assert not partial.exists() and not old.exists()
    assert str(partial) in err and "interrupted run" in err
    assert alive.exists() and (foreign / "data.txt").exists()


def test_results_set_aside_by_a_killed_force_are_put_back(tmp_path):
    from sim.folders import clean_debris

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    retired = tmp_path / ".mmc.old-x1"
    (retired / "mmc").mkdir(parents=True)
    (retired / ".hallsim-staging").write_text(f"{dead.pid}\n")
    (retired / "mmc" / "summary.csv").write_text("the previous results")
    assert ["restored" in line for line in clean_debris(tmp_path)] == [True]
    assert (tmp_path / "mmc" / "summary.csv").read_text() == "the previous results"
    assert not retired.exists()


def test_a_folder_appearing_while_the_run_works_is_never_replaced(tmp_path):
    from sim.errors import ResultsExistError
    from sim.folders import staged

    out = tmp_path / "mmc"
    with pytest.raises(ResultsExistError, match="appeared while"), staged(out, False) as f:
        (f / "summary.csv").write_text("new")
        out.mkdir()
        (out / "thesis.tex").write_text("years of work")
    assert (out / "thesis.tex").read_text() == "years of work"
    # --force on our own results, to which someone adds a file while the run works
    ours = tmp_path / "ours"
    assert main(["run", MMC, "--reps", "2", "--out", str(ours)]) == 0
    with pytest.raises(ResultsExistError, match="did not write"), staged(ours, True) as f:
        (f / "summary.csv").write_text("new")
        (ours / "notes.docx").write_text("mine")
    assert (ours / "notes.docx").read_text() == "mine" and (ours / "manifest.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mmc", "ours"]  # no debris


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _gone(pids: set[int], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() for p in pids):
            return True
        time.sleep(0.1)
    return False


def _long_run_with_workers(out: Path, **popen) -> tuple[subprocess.Popen, set[int]]:
    """A `hallsim run` of the whole case on two workers, once both workers are up."""
    whole = str(ROOT / "scenarios/quanzhou-2021-whole-case.yaml")
    run = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", whole, "--reps", "40", "--jobs", "2",
         "--out", str(out)],
        stdout=subprocess.DEVNULL, cwd=out.parent, **popen,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = _children(run.pid)
    assert len(workers) >= 2, "the run never started its workers"
    return run, workers


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads /proc")
def test_workers_die_with_a_killed_parent_and_the_next_run_cleans_up(tmp_path):
    out = tmp_path / "whole"
    run, workers = _long_run_with_workers(out, stderr=subprocess.DEVNULL)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert _gone(workers, within_s=10), "workers outlived their parent"
    # a run killed while writing leaves a marked staging folder; the next run removes it
    debris = tmp_path / ".whole.partial-zzz"
    debris.mkdir()
    (debris / ".hallsim-staging").write_text(f"{run.pid}\n")
    assert main(["run", MMC, "--reps", "2", "--out", str(out)]) == 0
    assert not debris.exists()


def test_ctrl_c_stops_the_workers_and_writes_nothing(tmp_path):
    run, workers = _long_run_with_workers(
        tmp_path / "whole", stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    time.sleep(1.0)
    os.killpg(run.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    try:
        _out, err = run.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        run.kill()
        pytest.fail("hung after Ctrl-C")
    assert run.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert _gone(workers, within_s=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--seed", "-1"], "--seed"),
        (["--seed", "abc"], "--seed"),
        (["--jobs", "0"], "--jobs"),
        (["--executor", "garbage"], "--executor"),
    ],
)
def test_bad_arguments_get_a_usage_line_and_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", MMC, *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_out_folder_that_cannot_be_written_is_refused_before_simulating(
    tmp_path, capsys, monkeypatch
):
    import sim.cli

    def no_simulation(*_args, **_kwargs):
        raise AssertionError("simulated before checking where to write")

    monkeypatch.setattr(sim.cli, "run", no_simulation)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["run", MMC, "--reps", "2", "--out", str(a_file / "results")]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert a_file.read_text() == "x"


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    started = time.perf_counter()
    code = main(["run", MMC, "--reps", "2", "--out", str(tmp_path / "r"),
                 "--executor", "dask", "--scheduler", "garbage"])  # fmt: skip
    assert code == 2
    assert "cannot reach the Dask scheduler" in _one_error_line(capsys)
    assert time.perf_counter() - started < 30
    assert list(tmp_path.iterdir()) == []


def test_chinese_file_scenario_matter_and_pool_names_work_end_to_end(tmp_path, capsys):
    """A scenario file named in Chinese, with Chinese matters, departments and pools,
    runs; its results folder, CSVs (with a BOM, so Excel reads them), Parquet log and
    HTML report carry the names intact."""
    scenario = tmp_path / "泉州 大厅.yaml"
    scenario.write_text(
        "description: 泉州市行政服务中心（示例）\n"
        'calendar: {opens_at: "08:00", closes_at: "12:00"}\n'
        'demand: {visitors_per_day: 60, arrival_profile: {"08:00": 1}}\n'
        "matters:\n"
        "  不动产登记: {department: 自然资源局, share: 0.5, "
        "service_min: {dist: exponential, mean: 5}}\n"
        "  税务申报: {department: 税务局, share: 0.5, service_min: {dist: exponential, mean: 4}}\n"
        "windows:\n  综合窗口: {count: 3, serves: all}\n"
        "target_wait_min: 10\n",
        encoding="utf-8",
    )
    results = tmp_path / "results"
    results.mkdir()
    os.chdir(tmp_path)
    try:
        assert main(["run", str(scenario), "--reps", "2"]) == 0
    finally:
        os.chdir(ROOT)
    folder = results / "泉州 大厅"
    assert folder.is_dir()
    matters = pd.read_csv(folder / "matters.csv")
    assert set(matters["matter"]) == {"不动产登记", "税务申报"}
    assert (folder / "matters.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # Excel: UTF-8
    log = pd.read_parquet(folder / "events.parquet")
    assert set(log["pool"].astype(str)) == {"综合窗口"}
    assert set(log["department"].astype(str)) == {"自然资源局", "税务局"}
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "泉州 大厅" in page and "泉州市行政服务中心（示例）" in page
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"] == "泉州 大厅"
    # figures: with a Chinese font installed (CI installs Noto Sans CJK) names render,
    # and a missing glyph would have failed this test (warnings are errors here)
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if fonts.stdout.strip():
        assert "no Chinese font" not in capsys.readouterr().err
    assert (folder / "wait_distribution.png").read_bytes()[:4] == b"\x89PNG"


def test_overload_is_said_before_the_kpis_hide_it(tmp_path, capsys):
    overloaded = tmp_path / "overloaded.yaml"
    overloaded.write_text(f"extends: {MMC}\nwindows:\n  counter: {{count: 1}}\n")
    assert main(["run", str(overloaded), "--reps", "1", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "times what they can do" in err and "never catches up" in err
    assert main(["run", MMC, "--reps", "1", "--out", str(tmp_path / "ok")]) == 0
    assert "never catches up" not in capsys.readouterr().err
