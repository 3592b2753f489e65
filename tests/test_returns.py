"""Return visits for incomplete materials: trips per case follow the geometric law."""

from __future__ import annotations

import numpy as np

from sim import run, simulate
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
