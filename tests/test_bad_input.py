"""Broken scenario files: one clear line naming file and field, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sim.cli import main
from tests.helpers import ROOT

BAD = ROOT / "tests/bad"

# file -> (field the message must name, words it must contain)
CORPUS = {
    "unknown_key.yaml": ("windows.wa.cuont", "unknown field"),
    "shares_not_one.yaml": ("matters.*.share", "sum to 0.9"),
    "negative_count.yaml": ("windows.wb.count", "greater than or equal to 1"),
    "unknown_department.yaml": ("windows.wb.serves.departments", "unknown ['Tax']"),
    "matter_no_pool_serves.yaml": ("matters", "no window pool serves ['b']"),
    "profile_outside_hours.yaml": ("demand.arrival_profile.13:00", "outside opening hours"),
    "malformed.yaml": ("", "malformed YAML: line 2"),
    "loop_a.yaml": ("extends", "loop_a.yaml -> loop_b.yaml -> loop_a.yaml"),
    "bad_time.yaml": ("calendar.closes_at", '"HH:MM"'),
    "unknown_distribution.yaml": ("matters.a.service_min", "unknown dist 'weibull'"),
    "extends_missing.yaml": ("extends", "file not found"),
    "lunch_outside_hours.yaml": ("calendar.lunch", "end before closing"),
    "missing_field.yaml": ("target_wait_min", "required field is missing"),
    "not_a_mapping.yaml": ("", "must be a YAML mapping"),
    "bad_cv.yaml": ("matters.a.service_min.cv", "greater than 0"),
    "route_unknown_department.yaml": (
        "matters.a.approval.steps.0.department",
        "'Planning' has no team",
    ),
    "promised_above_statutory.yaml": ("matters.a.approval.promised_days", "above statutory_days"),
    "holiday_malformed.yaml": ("calendar.holidays.1", "valid date"),
    "bundle_unknown_matters.yaml": ("matters.ab.bundle_of", "unknown matters ['c']"),
    "stage_pool_without_section.yaml": ("windows.desk.stage", "`issuance:` section"),
    "stage_section_without_pool.yaml": ("consultation", "no pool has `stage: consultation`"),
    "kiosk_share_without_kiosk.yaml": ("matters", "no kiosk pool (channel: kiosk) serves ['a']"),
    "channels_above_one.yaml": ("matters.a.kiosk_share", "is above 1"),
    "kiosk_guide_desk.yaml": ("windows.guide.channel", "kiosk pools accept applications"),
    "booked_without_appointments.yaml": ("matters.a.booked_share", "`appointments:` section"),
    "booked_only_never.yaml": ("matters", "serving ['a'] has `booked: never`"),
    "joint_same_department.yaml": ("matters.a.approval.steps", "meets each department once"),
    "team_hours_unknown_team.yaml": ("backoffice.team_hours", "no such team(s) ['Planning']"),
    # hostile or odd files: one line each, never a traceback, never a run-away
    "binary_garbage.yaml": ("", "not a text file in UTF-8, UTF-16 or GBK"),
    "deeply_nested.yaml": ("", "nested too deeply"),
    "alias_bomb.yaml": ("", "more than 1,000,000 values (an alias bomb?)"),
    "duplicate_key.yaml": ("", "duplicate key 'a' (first on line 7)"),
    "empty.yaml": ("", "must be a YAML mapping"),
    "extends_dev_zero.yaml": ("extends", "not a scenario file: /dev/zero"),
    "extends_folder.yaml": ("extends", "not a scenario file: ."),
    "bundle_of_not_list.yaml": ("matters.ab.bundle_of", "must be a list of matter names"),
    "bundle_of_dicts.yaml": ("matters.ab.bundle_of", "must be a list of matter names"),
    "nan_visitors.yaml": ("demand.visitors_per_day", "finite number"),
    "inf_weight.yaml": ("demand.arrival_profile.08:00", "finite number"),
    "nan_service.yaml": ("matters.a.service_min.mean", "finite number"),
    "nan_target.yaml": ("target_wait_min", "finite number"),
    "inf_patience.yaml": ("patience_min.value", "finite number"),
    "nan_speed.yaml": ("windows.wa.speed_factor", "finite number"),
    "huge_visitors.yaml": ("demand.visitors_per_day", "less than or equal to 1000000"),
    "huge_days.yaml": ("calendar.days", "less than or equal to 10000"),
    "huge_visitor_days.yaml": ("demand.visitors_per_day", "9e+08 visitors per replication"),
    "huge_windows.yaml": ("windows.wa.count", "less than or equal to 10000"),
    "huge_service.yaml": ("matters.a.service_min", "above 1440 min"),
    "huge_delay.yaml": ("matters.a.approval.steps.0.delay_days", "above 2500 working days"),
    "tiny_lognormal_huge_cv.yaml": ("matters.a.service_min.cv", "less than or equal to 20"),
    "tiny_speed.yaml": ("windows.wa.speed_factor", "greater than or equal to 0.01"),
    "bool_count.yaml": ("windows.wa.count", "valid integer"),
    "float_count.yaml": ("windows.wa.count", "valid integer"),
    "bool_visitors.yaml": ("demand.visitors_per_day", "valid number"),
    "string_number.yaml": ("demand.visitors_per_day", "valid number"),
    "name_dot.yaml": ("name", "cannot name a results folder"),
    "name_path.yaml": ("name", "cannot name a results folder"),
}


def _check_one_line(stderr: str, name: str, field: str, words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"hallsim: error: {BAD / name}"), line
    if field:
        assert f"{name}: {field}: " in line, line
    assert words in line, line


@pytest.mark.parametrize("name", sorted(CORPUS))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_broken_file_gets_one_clear_line_and_exit_2(name, command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    field, words = CORPUS[name]
    out = tmp_path / "results"
    extra = ["--out", str(out)] if command == "run" else []
    assert main([command, str(BAD / name), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    _check_one_line(captured.err, name, field, words)
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("name", ["unknown_key.yaml", "malformed.yaml", "loop_a.yaml"])
def test_as_a_process_no_traceback(name, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(BAD / name)],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    _check_one_line(done.stderr, name, *CORPUS[name])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "name", ["_base.yaml", "_base_backoffice.yaml", "utf16_valid.yaml", "gbk_chinese_valid.yaml"]
)
def test_the_bases_of_the_corpus_are_valid(name, capsys):
    assert main(["validate", str(BAD / name)]) == 0
    assert "ok" in capsys.readouterr().out


def test_error_names_the_file_given_and_the_file_that_set_the_value(tmp_path, capsys):
    parent = tmp_path / "parent.yaml"
    parent.write_text((BAD / "_base.yaml").read_text().replace("count: 2", "count: 0", 1))
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\ntarget_wait_min: 5\n")
    assert main(["validate", str(child)]) == 2
    err = capsys.readouterr().err
    assert f"{child}: windows.wa.count: " in err and f"(set in {parent})" in err


def test_bad_arguments_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["run", str(BAD / "_base.yaml"), "--reps", "0"])
    assert stop.value.code == 2 and "--reps" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("calendar: {days: 1, days: 5}\n", "", "duplicate key 'days'"),
        ("demand: {weekday_factors: {mon: 0, tue: 0, wed: 0, thu: 0, fri: 0}}\n",
         "demand.weekday_factors", "nobody would ever come"),
        ("matters:\n  a: {service_min: !replace {dist: empirical, values: [%s90000]}}\n"
         % ("5, " * 99), "matters.a.service_min", "one draw in a million"),  # mean 905
        ("demand: {visitors_per_day: 900000, weekday_factors: {mon: 10}}\n"
         "calendar: {days: 2, warmup_days: 900}\n", "demand.visitors_per_day", "warm-up included"),
    ],
)  # fmt: skip
def test_more_odd_files_are_one_line(text, field, words, tmp_path, capsys):
    path = tmp_path / "odd.yaml"
    path.write_text(f"extends: {BAD / '_base.yaml'}\n{text}")
    assert main(["validate", str(path)]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and words in line and f"odd.yaml: {field}" in line, line


def test_file_names_with_chinese_punctuation_name_their_scenario(tmp_path, capsys):
    for name in ("方案、二", "泉州—方案2", "plan #2", "plan+more"):
        path = tmp_path / f"{name}.yaml"
        path.write_text((BAD / "_base.yaml").read_text(), encoding="utf-8")
        assert main(["validate", str(path)]) == 0, capsys.readouterr().err
        assert f"ok ({name}:" in capsys.readouterr().out


def test_numbers_in_scientific_notation_are_numbers(tmp_path, capsys):
    path = tmp_path / "sci.yaml"
    path.write_text(f"extends: {BAD / '_base.yaml'}\ndemand: {{visitors_per_day: 5e1}}\n")
    assert main(["validate", str(path)]) == 0
    path.write_text(f"extends: {BAD / '_base.yaml'}\ndemand: {{visitors_per_day: 1e12}}\n")
    assert main(["validate", str(path)]) == 2
    assert "less than or equal to 1000000" in capsys.readouterr().err


def test_a_closed_pipe_is_not_an_error(tmp_path):
    run = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(BAD / "_base.yaml"), "--reps", "2",
         "--out", str(tmp_path / "r")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    run.stdout.readline()
    run.stdout.close()  # like `| head -1`
    err = run.stderr.read().decode()
    run.stderr.close()
    run.wait(timeout=60)
    assert "Traceback" not in err and run.returncode == 0, err
    assert (tmp_path / "r" / "summary.csv").exists()
