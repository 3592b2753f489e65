"""Keyed random numbers: uniform, independent, and paired under scenario edits (CRN)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from scipy import stats

from sim.demand import draw_day
from sim.hall import simulate_all
from sim.loader import load_scenario, parse_scenario, resolve_file
from sim.streams import Streams
from tests.helpers import ROOT, build, mmc_dict

DEPARTMENT = ROOT / "scenarios/quanzhou-2021-department.yaml"


def test_vectorised_and_scalar_draws_agree_bit_for_bit():
    s = Streams(7, 3)
    grid = s.uniform("x", 4, np.arange(6)[:, None], "tax", np.arange(3))
    one = [[s.uniform1("x", 4, i, "tax", j) for j in range(3)] for i in range(6)]
    assert grid.tolist() == one
    assert s.drawer("x", 4)(2, "tax", 1) == one[2][1]


def test_keyed_uniforms_are_uniform_and_independent_across_keys_and_sources():
    s = Streams(11, 0)
    keys = np.arange(100_000)
    u, v = s.uniform("a", keys), s.uniform("b", keys)
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert stats.kstest(v, "uniform").pvalue > 0.001
    assert u.min() > 0 and u.max() < 1
    # no correlation between neighbouring keys or between sources: |r| < 4 standard errors
    bound = 4 / np.sqrt(len(keys))
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < bound
    assert abs(np.corrcoef(u, v)[0, 1]) < bound
    # a replication and a seed are streams of their own
    assert abs(np.corrcoef(u, Streams(11, 1).uniform("a", keys))[0, 1]) < bound
    assert abs(np.corrcoef(u, Streams(12, 0).uniform("a", keys))[0, 1]) < bound


def _names(scenario, day) -> np.ndarray:
    names = np.array([*scenario.matters, ""])
    return names[day.matters]  # -1 (no matter) picks ""


def _raw():
    raw = resolve_file(DEPARTMENT)
    raw["name"] = "base"
    return raw


def test_adding_a_small_matter_changes_only_the_visitors_it_touches():
    raw, share = _raw(), 0.001
    edited = copy.deepcopy(raw)
    edited["matters"]["new"] = {
        "department": "tax", "share": share, "service_min": {"dist": "fixed", "value": 3}
    }  # fmt: skip
    edited["matters"]["real_estate"]["share"] -= share
    a, b = parse_scenario(raw), parse_scenario(edited)
    streams = Streams(5, 0)
    changed = visitors = 0
    for day in range(6):
        da, db = draw_day(a, streams, day), draw_day(b, streams, day)
        np.testing.assert_array_equal(da.arrival_at, db.arrival_at)
        np.testing.assert_array_equal(da.n_matters, db.n_matters)
        na, nb = _names(a, da), _names(b, db)
        same = (na == nb).all(axis=1)
        # the rest are identical byte for byte: the same matters, the same work
        assert da.work_min[same].tobytes() == db.work_min[same].tobytes()
        # a visitor changes only by now holding the new matter, or by holding the matter
        # whose share was cut (its key may now rank below another matter's)
        holds_new = (nb == "new").any(axis=1)
        held_cut = (na == "real_estate").any(axis=1)
        assert (~same <= (holds_new | held_cut)).all()
        # a matter kept in the same slot keeps its service need
        kept = na == nb
        assert da.work_min[kept & (da.matters >= 0)].tobytes() == (
            db.work_min[kept & (db.matters >= 0)].tobytes()
        )
        changed += int((~same).sum())
        visitors += len(same)
    # before keyed draws this changed about 91% of visitors; now about share x matters
    mean_matters = sum(k * p for k, p in a.demand.matters_per_visitor.items())
    assert changed / visitors < 4 * share * mean_matters


def test_changing_matters_per_visitor_changes_only_the_visitors_whose_count_changes():
    """Visitors whose count is unchanged keep their matters and work byte for byte; the
    others are drawn for their new count (each count keeps every matter's share exact,
    see sim.sampling), so they may bring other matters."""
    raw = _raw()
    edited = copy.deepcopy(raw)
    edited["demand"]["matters_per_visitor"] = {1: 0.7, 2: 0.2, 3: 0.05, 4: 0.05}
    a, b = parse_scenario(raw), parse_scenario(edited)
    streams = Streams(6, 0)
    da, db = draw_day(a, streams, 0), draw_day(b, streams, 0)
    same_count = da.n_matters == db.n_matters
    assert 0.8 < same_count.mean() < 1
    na, nb = _names(a, da), _names(b, db)
    assert (na[same_count][:, :3] == nb[same_count][:, :3]).all()
    shared = da.work_min[same_count][:, :3]
    assert shared.tobytes() == db.work_min[same_count][:, :3].tobytes()


def test_windows_and_pools_change_no_draw():
    raw = _raw()
    edited = copy.deepcopy(raw)
    edited["windows"] = {"all": {"count": 50, "serves": "all", "speed_factor": 0.9}}
    a, b = parse_scenario(raw), parse_scenario(edited)
    streams = Streams(8, 0)
    da, db = draw_day(a, streams, 0), draw_day(b, streams, 0)
    for field in ("arrival_at", "matters", "n_matters", "work_min"):
        assert getattr(da, field).tobytes() == getattr(db, field).tobytes()


def _office(extra_step: bool):
    raw = mmc_dict(30, 1.0, 2.0, opens_at="08:00", closes_at="18:00", days=3)
    step = {"department": "A", "effort_hours": {"dist": "exponential", "mean": 1}}
    other = {"department": "B", "effort_hours": {"dist": "exponential", "mean": 2},
             "delay_days": {"dist": "uniform", "min": 0, "max": 2}}  # fmt: skip
    raw["matters"] = {
        "m": raw["matters"]["m"] | {"share": 0.5, "instant_share": 0.4, "approval": {
            "steps": [step] + ([other] if extra_step else []),
            "promised_days": 5, "statutory_days": 10}},
        "n": {"department": "e", "share": 0.5, "instant_share": 0.3,
              "service_min": {"dist": "exponential", "mean": 3},
              "approval": {"steps": [other], "promised_days": 5, "statutory_days": 10}},
    }  # fmt: skip
    raw["backoffice"] = {"teams": {"A": 100, "B": 100}}
    return build(raw)


def test_adding_an_approval_step_leaves_other_cases_and_the_hall_unchanged():
    before = simulate_all(_office(False), 3, 0)
    after = simulate_all(_office(True), 3, 0)
    pd.testing.assert_frame_equal(before.log, after.log)

    def cases(out, matter):
        c = out.cases[out.cases["matter"] == matter].drop(columns=["case"])
        return c.astype({"departments": str, "route": str}).reset_index(drop=True)

    # the other matter's cases (its own team is never short) are identical
    pd.testing.assert_frame_equal(cases(before, "n"), cases(after, "n"))
    # the edited matter has the same cases, and its first step the same effort
    assert cases(before, "m")["visitor"].tolist() == cases(after, "m")["visitor"].tolist()
    steps_a = before.steps[before.steps["department"] == "A"]["effort_min"].to_numpy()
    steps_b = after.steps[after.steps["department"] == "A"]["effort_min"].to_numpy()
    assert sorted(steps_a) == sorted(steps_b)


def test_draws_made_up_front_carry_their_documented_keys():
    """The day's arrays hold, for visitor i and its matter in slot s, exactly the keyed
    uniform sim.streams documents: (day, i, matter name, ...), not a position."""
    from sim.demand import step_keys
    from sim.streams import name_key

    scenario = load_scenario(ROOT / "scenarios/quanzhou-2021-whole-case.yaml")
    streams = Streams(3, 1)
    day = draw_day(scenario, streams, 4)
    names = list(scenario.matters)
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(day.arrival_at), 20):
        for s in range(day.n_matters[i]):
            name = names[day.matters[i, s]]
            key = name_key(name)
            assert day.instant_u[i, s] == streams.uniform1("instant", 4, i, key)
            assert day.issuance_u[i, s, 1] == streams.uniform1("issuance", 4, i, key, 1)
            assert day.returns_u[i, s, 2, 0] == streams.uniform1("returns", 4, i, key, 2, 0)
            approval = scenario.matters[name].approval
            for k, (department, occurrence) in enumerate(
                step_keys(approval.steps) if approval else []
            ):
                expected = streams.uniform1("backoffice", 4, i, key, department, occurrence, 1)
                assert day.effort_u[i, s, k, 1] == expected
    if day.patience_min is not None:
        u = streams.uniform1("patience", 4, 7, 2)
        assert day.patience_min[7, 1] == scenario.patience_min.quantile(np.array(u))


def test_windows_change_none_of_the_models_own_draws():
    """The same whole case with other windows: the same back-office cases (instant or
    not), with the same approval effort, and the same collection delays."""
    whole = load_scenario(ROOT / "scenarios/quanzhou-2021-whole-case.yaml")
    from sim import with_settings

    base = with_settings(whole, {"calendar.days": 2})
    fewer = with_settings(base, {"windows.comprehensive.count": 70})

    def drawn(scenario):
        out = simulate_all(scenario, 4, 0)
        cases = out.cases.merge(out.steps, on="case")
        return cases.set_index(["visitor", "matter", "department"])["effort_min"].sort_index()

    pd.testing.assert_series_equal(drawn(base), drawn(fewer))
