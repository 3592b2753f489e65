"""Scenario files: extends overlays, !replace, null, times of day, defaults."""

from __future__ import annotations

import warnings

import pytest

from sim import ScenarioError, load_scenario
from sim.loader import resolve_file
from tests.helpers import ROOT

BASE = (ROOT / "tests/bad/_base.yaml").read_text()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reform_file_merges_deeply_and_is_named_after_itself(tmp_path):
    _write(tmp_path, "base.yaml", BASE)
    child = _write(
        tmp_path, "reform.yaml",
        "extends: base.yaml\nwindows:\n  wa: {count: 5}\nmatters:\n  a: {service_min: {mean: 2}}\n",
    )  # fmt: skip
    scenario = load_scenario(child)
    assert scenario.name == "reform"
    assert scenario.windows["wa"].count == 5
    assert scenario.windows["wa"].serves.departments == ("A",)  # kept from the parent
    assert scenario.matters["a"].service_min.mean == 2
    assert scenario.matters["a"].service_min.dist == "exponential"


def test_replace_tag_swaps_a_whole_mapping_and_null_deletes(tmp_path):
    _write(tmp_path, "base.yaml", BASE)
    child = _write(
        tmp_path, "one-window.yaml",
        "extends: base.yaml\nwindows: !replace\n  all: {count: 3, serves: all}\n",
    )  # fmt: skip
    assert list(load_scenario(child).windows) == ["all"]
    raw = resolve_file(
        _write(tmp_path, "nulls.yaml", "extends: base.yaml\ndemand: {matters_per_visitor: null}\n")
    )
    assert "matters_per_visitor" not in raw["demand"]


def test_extends_chain_of_three(tmp_path):
    _write(tmp_path, "a.yaml", BASE)
    (tmp_path / "sub").mkdir()
    _write(tmp_path, "sub/b.yaml", "extends: ../a.yaml\ntarget_wait_min: 7\n")
    c = _write(tmp_path, "c.yaml", "extends: sub/b.yaml\nwindows: {wb: {count: 9}}\n")
    scenario = load_scenario(c)
    assert (scenario.target_wait_min, scenario.windows["wb"].count) == (7, 9)


def test_times_of_day_are_strings_even_unquoted(tmp_path):
    text = BASE.replace('opens_at: "08:00"', "opens_at: 8:30").replace(
        'arrival_profile: {"08:00": 1}', "arrival_profile: {8:30: 1}"
    )
    scenario = load_scenario(_write(tmp_path, "t.yaml", text))
    assert scenario.calendar.opens_at == 8 * 60 + 30
    bare = BASE.replace('opens_at: "08:00"', "opens_at: 480")
    with pytest.raises(ScenarioError, match="HH:MM"):
        load_scenario(_write(tmp_path, "bare.yaml", bare))


def test_shipped_scenarios_are_valid():
    files = sorted((ROOT / "scenarios").rglob("*.yaml"))
    assert len(files) >= 6
    for file in files:
        scenario = load_scenario(file)
        assert scenario.assumptions, f"{file.name} must state its assumptions"


def test_quanzhou_pair_matches_the_published_window_counts():
    department = load_scenario(ROOT / "scenarios/quanzhou-2021-department.yaml")
    comprehensive = load_scenario(ROOT / "scenarios/quanzhou-2021-comprehensive.yaml")
    assert (department.total_windows, comprehensive.total_windows) == (198, 91)
    assert 3000 <= department.demand.visitors_per_day <= 4000
    assert department.demand == comprehensive.demand
    assert department.matters == comprehensive.matters


def test_every_problem_of_a_file_at_once_and_did_you_mean(tmp_path):
    from sim.errors import ScenarioError

    path = tmp_path / "bad.yaml"
    path.write_text(
        'calendar: {opens_at: "08:00", closes_at: "17:00"}\n'
        'demand: {visitors_per_day: 100, arrival_profile: {"08:00": 1}}\n'
        "matters:\n  tax: {department: tax, share: 1, servise_min: {dist: exponential, mean: 5}}\n"
        "windows: {w: {count: 0, serves: all}}\ntarget_wait_min: 10\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    text = str(error.value)
    assert "servise_min: unknown field: did you mean 'service_min'?" in text
    assert "windows.w.count" in text and "required field is missing" not in text
    assert "\n" not in text


def test_a_reform_that_keeps_the_old_pools_beside_a_comprehensive_one_warns(tmp_path):
    from sim.loader import ScenarioWarning

    path = tmp_path / "reform.yaml"
    parent = ROOT / "scenarios/changchun-erdao-street-department.yaml"
    path.write_text(f"extends: {parent}\nwindows:\n  all: {{count: 3, serves: all}}\n")
    with pytest.warns(ScenarioWarning, match="!replace"):
        load_scenario(path)
    replaced = tmp_path / "replaced.yaml"
    replaced.write_text(f"extends: {parent}\nwindows: !replace\n  all: {{count: 3, serves: all}}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(replaced)
