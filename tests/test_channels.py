"""Online applications leave the hall but still load the back office."""

from __future__ import annotations

import numpy as np

from sim import run
from tests.helpers import build, mmc_dict, t_interval


def _scenario(online_share: float):
    raw = mmc_dict(6, 0.4, 10.0, opens_at="08:00", closes_at="18:00", days=2)
    raw["matters"]["m"] |= {
        "online_share": online_share,
        "instant_share": 0.5,
        "approval": {
            "steps": [{"department": "A", "effort_hours": {"dist": "fixed", "value": 0.5}}],
            "promised_days": 5,
            "statutory_days": 10,
        },
    }
    raw["backoffice"] = {"teams": {"A": 20}}
    return build(raw)


def test_moving_demand_online_lowers_hall_load_by_that_share():
    share = 0.3
    before = run(_scenario(0.0), reps=10, seed=7)
    after = run(_scenario(share), reps=10, seed=7)
    ratio = after.kpis["visits"].to_numpy() / before.kpis["visits"].to_numpy()
    lo, hi = t_interval(ratio)
    assert lo <= 1 - share <= hi
    # ... while the back office sees the same cases (same visitors, same draws)
    np.testing.assert_array_equal(
        before.case_kpis["backoffice_cases"], after.case_kpis["backoffice_cases"]
    )
    np.testing.assert_array_equal(
        before.case_kpis["matters_accepted"], after.case_kpis["matters_accepted"]
    )
    lo, hi = t_interval(after.case_kpis["zero_trip_share"].to_numpy())
    assert lo <= share <= hi
    assert (before.case_kpis["zero_trip_share"] == 0).all()
    waits = after.kpis["wait_mean_min"].to_numpy() - before.kpis["wait_mean_min"].to_numpy()
    assert t_interval(waits)[1] < 0  # and those who still come wait less
