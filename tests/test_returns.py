"""Return visits for incomplete materials: trips per case follow the geometric law."""

from __future__ import annotations

import numpy as np

from sim import run, simulate
from sim.hall import simulate_all
from tests.helpers import build, mmc_dict, t_interval


def _scenario(p: float, **matter):
    raw = mmc_dict(6, 0.4, 10.0, opens_at="08:00", closes_at="18:00", days=3)
    raw["matters"]["m"] |= {"incomplete_share": p, **matter}
    return build(raw)


def test_trips_per_case_is_one_over_one_minus_p():
    p = 0.4
    result = run(_scenario(p), reps=12, seed=1)
    lo, hi = t_interval(result.case_kpis["trips_per_case"].to_numpy())
    assert lo <= 1 / (1 - p) <= hi
    lo, hi = t_interval(result.case_kpis["one_trip_share"].to_numpy())
    assert lo <= 1 - p <= hi


def test_accept_with_deficiencies_removes_the_returns():
    result = run(_scenario(0.4, accept_with_deficiencies=True), reps=3, seed=1)
    assert (result.case_kpis["trips_per_case"] == 1).all()
    assert (result.log["incomplete"] == 0).all() and (result.log["trip"] == 1).all()


def test_a_returning_visitor_comes_back_days_later_at_the_same_time_of_day():
    scenario = _scenario(0.5, return_after_days={"dist": "uniform", "min": 0.2, "max": 2.9})
    log = simulate(scenario, 2, 0).sort_values(["visitor", "visit"])
    sent_home = log[log["incomplete"] > 0]
    back = log[log["trip"] > 1].groupby("visitor").first()
    first = log[log["trip"] == 1].groupby("visitor").first()
    assert len(back) > 50 and set(back.index) <= set(sent_home["visitor"])
    gap = back["day"] - first.loc[back.index, "day"]
    assert gap.between(1, 3).all() and gap.nunique() == 3  # whole working days, 1 to 3
    np.testing.assert_allclose(back["arrival_at"], first.loc[back.index, "arrival_at"])
    # every matter brought is accepted exactly once in the end
    accepted = log["n_matters"].sum() - log["incomplete"].sum()
    assert accepted == log["visitor"].nunique()


def test_whole_case_kpis_by_matter():
    """Two matters in one hall: one instant with incomplete materials (trips 1/(1-p)),
    one always to a two-day review (same-day rate 0, lead time exact); per-matter
    applications add up to the overall count."""
    from sim.case_metrics import case_kpi_table, case_matter_table, case_outcomes

    p = 0.3
    raw = mmc_dict(6, 0.4, 5.0, opens_at="08:00", closes_at="18:00", days=3)
    raw["matters"] = {
        "quick": {"department": "a", "share": 0.5, "incomplete_share": p,
                  "service_min": {"dist": "exponential", "mean": 5.0}},
        "review": {"department": "b", "share": 0.5, "instant_share": 0.0,
                   "service_min": {"dist": "exponential", "mean": 5.0},
                   "approval": {"steps": [{"department": "b", "delay_days": 2,
                                           "effort_hours": {"dist": "fixed", "value": 0}}],
                                "promised_days": 3, "statutory_days": 5}},
    }  # fmt: skip
    raw["backoffice"] = {
        "teams": {"b": 100},
        "working_hours": [{"starts_at": "00:00", "ends_at": "24:00"}],
    }
    result = run(build(raw), reps=8, seed=5)
    by_matter = result.case_matters.set_index(["replication", "matter"])
    quick = by_matter.xs("quick", level="matter")
    review = by_matter.xs("review", level="matter")
    assert (quick["same_day_rate"] == 1).all() and (review["same_day_rate"] == 0).all()
    np.testing.assert_allclose(review["lead_time_mean_days"], 2.0)
    assert (review["trips_per_case"] == 1).all() and quick["backoffice_cases"].eq(0).all()
    lo, hi = t_interval(quick["trips_per_case"].to_numpy())
    assert lo <= 1 / (1 - p) <= hi
    one = simulate_all(build(raw), 5, 0)
    cases = case_outcomes(one.cases)
    total = case_kpi_table(one.log, cases, one.online)["matters_accepted"].sum()
    assert case_matter_table(one.log, cases, one.online)["matters_accepted"].sum() == total
    assert set(result.case_matters_summary["matter"]) == {"quick", "review"}
