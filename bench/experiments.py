"""Benchmarks for planner experiments (run on demand, not in the test suite).

    python bench/experiments.py

1. Speed-up of 2 local jobs over 1 on 40 replications of the Quanzhou day (full `run`:
   simulation and KPI tables), measured in the same process one after the other
   (aim >= 1.7x on 2 cores).
2. Wall time of `size` on the Quanzhou comprehensive scenario, target wait_p90_min<=15,
   10 replications per count, 2 jobs (aim < 120 s); and of the hour-by-hour schedule.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import Target, load_scenario, make_executor, run, size  # noqa: E402
from sim.sizing import size_schedule  # noqa: E402

COMPREHENSIVE = ROOT / "scenarios/quanzhou-2021-comprehensive.yaml"


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def main() -> None:
    scenario = load_scenario(COMPREHENSIVE)
    run(scenario, reps=2, seed=1)  # warm caches and imports before timing
    walls = {}
    for jobs in (1, 2):
        with make_executor(jobs) as executor:
            walls[jobs], _ = timed(lambda ex=executor: run(scenario, 40, 1, ex))
    print("40 replications of the Quanzhou comprehensive day (run + KPI tables):")
    print(f"  1 job  : {walls[1]:6.2f} s")
    print(f"  2 jobs : {walls[2]:6.2f} s   speed-up {walls[1] / walls[2]:.2f}x (aim >= 1.7)")

    target = Target.parse("wait_p90_min<=15")
    with make_executor(2) as executor:
        wall, sized = timed(lambda: size(scenario, target, 10, 1, executor=executor))
        (pool,) = sized.pools
        print(f"size {target}, 10 replications a count, 2 jobs: {wall:.1f} s (aim < 120), "
              f"{sized.evaluations} counts simulated -> {pool.sized} windows")  # fmt: skip
        wall, schedule = timed(
            lambda: size_schedule(scenario, target, 10, 1, executor=executor, flat_daily=pool.sized)
        )
        print(f"size --hourly schedule: {wall:.1f} s, {schedule.evaluations} schedules simulated")


if __name__ == "__main__":
    main()
