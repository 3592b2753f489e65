"""Same seed, same output byte for byte; common random numbers across scenarios."""

from __future__ import annotations

import io

import pandas as pd

from sim import load_scenario, simulate, simulate_replications
from tests.helpers import ROOT

DEPARTMENT = ROOT / "scenarios/quanzhou-2021-department.yaml"
COMPREHENSIVE = ROOT / "scenarios/quanzhou-2021-comprehensive.yaml"


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_same_seed_gives_identical_logs_byte_for_byte():
    scenario = load_scenario(DEPARTMENT)
    first, second = simulate(scenario, 42, 0), simulate(scenario, 42, 0)
    pd.testing.assert_frame_equal(first, second)
    assert _parquet_bytes(first) == _parquet_bytes(second)


def test_different_seeds_and_replications_differ():
    scenario = load_scenario(DEPARTMENT)
    base = simulate(scenario, 42, 0)
    assert not base["arrival_at"].equals(simulate(scenario, 43, 0)["arrival_at"])
    assert not base["arrival_at"].equals(simulate(scenario, 42, 1)["arrival_at"])


def test_replication_does_not_depend_on_how_many_ran_before_it():
    scenario = load_scenario(DEPARTMENT)
    together = simulate_replications(scenario, 3, 9)
    alone = simulate(scenario, 9, 2)
    pd.testing.assert_frame_equal(
        together[together["replication"] == 2].reset_index(drop=True), alone
    )


def test_common_random_numbers_same_visitors_in_both_designs():
    department = simulate(load_scenario(DEPARTMENT), 5, 0)
    comprehensive = simulate(load_scenario(COMPREHENSIVE), 5, 0)

    def visitors(log):
        first = log.sort_values(["visitor", "visit"]).groupby("visitor").first()
        return first["arrival_at"]

    pd.testing.assert_series_equal(visitors(department), visitors(comprehensive))

    def matters(log):  # the set of matters each visitor brought, in either design
        exploded = log.assign(m=log["matters"].astype(str).str.split("+")).explode("m")
        return exploded.groupby("visitor")["m"].agg(lambda s: tuple(sorted(s)))

    pd.testing.assert_series_equal(matters(department), matters(comprehensive))
