"""Benchmarks for the core simulator (run on demand, not in the test suite).

    python bench/core.py            # full size
    python bench/core.py --quick    # a smaller version, a few seconds

1. Customers per second of the full pipeline (model + event log DataFrame) on an M/M/c
   workload, against a minimal hand-written SimPy M/M/c model and against Ciw (a
   queueing-network simulator, `pip install 'hallsim[bench]'`) on the same workload,
   measured in the same run; reported as ratios (aims: >= 1.2 and >= 2).
2. One simulated year (250 days) of the Quanzhou department scenario: wall time and
   peak memory of a fresh process (aim: < 60 s, < 2 GB on one core).
3. One simulated working year (250 days) of the Quanzhou whole case (guide desks,
   acceptance, issuance, kiosks, online, returns, collection trips, back office) in one
   simulation, then its whole-case KPIs: wall time and peak memory of a fresh process
   (aim: < 30 s, < 2 GB on one core), and its wall time as a ratio of item 2's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import load_scenario, simulate, with_settings  # noqa: E402

SERVERS, MEAN_SERVICE_MIN, RHO = 10, 1.0, 0.9


def minimal_simpy_mmc(days: int, seed: int) -> int:
    """The smallest honest SimPy M/M/c: a source, a Resource, a process per customer.
    It records nothing."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    windows = simpy.Resource(env, capacity=SERVERS)
    rate = SERVERS * RHO / MEAN_SERVICE_MIN
    served = [0]

    def customer(service: float):
        with windows.request() as request:
            yield request
            yield env.timeout(service)
        served[0] += 1

    def source():
        horizon = days * 1440
        while True:
            yield env.timeout(rng.exponential(1 / rate))
            if env.now >= horizon:
                return
            env.process(customer(rng.exponential(MEAN_SERVICE_MIN)))

    env.process(source())
    env.run()
    return served[0]


def ciw_mmc(days: int, seed: int) -> int:
    """The same workload in Ciw, its records collected (its own event log)."""
    import ciw

    rate = SERVERS * RHO / MEAN_SERVICE_MIN
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=rate)],
        service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_SERVICE_MIN)],
        number_of_servers=[SERVERS],
    )
    ciw.seed(seed)
    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_time(days * 1440)
    return len(simulation.get_all_records())


def hallsim_mmc(days: int, seed: int) -> int:
    """The same workload through the full pipeline: the shipped M/M/c example, opened
    around the clock with this benchmark's windows, rate and service."""
    rate = SERVERS * RHO / MEAN_SERVICE_MIN
    scenario = with_settings(
        load_scenario(ROOT / "scenarios/examples/mmc.yaml"),
        {
            "calendar.opens_at": "00:00",
            "calendar.closes_at": "24:00",
            "calendar.days": days,
            "demand.visitors_per_day": rate * 1440,
            "demand.arrival_profile": {"00:00": 1},
            "matters.general.service_min": {"dist": "exponential", "mean": MEAN_SERVICE_MIN},
            "windows.counter.count": SERVERS,
        },
    )
    return len(simulate(scenario, seed, 0))


def best_of(fn, repeats: int, *args) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        count = fn(*args)
        times.append(time.perf_counter() - started)
    return min(times), count


YEAR_SCRIPT = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from sim import load_scenario, simulate_all, with_settings
from sim.case_metrics import case_kpi_table, case_outcomes
scenario = load_scenario({root!r} + "/scenarios/{file}")
scenario = with_settings(scenario, {{"calendar.days": {days}}})
started = time.perf_counter()
out = simulate_all(scenario, 1, 0)
wall = time.perf_counter() - started
kpis = case_kpi_table(out.log, case_outcomes(out.cases), out.online) if len(out.cases) else None
kpi_wall = time.perf_counter() - started - wall
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"days": {days}, "rows": len(out.log), "cases": len(out.cases),
                  "visitors": int(out.log["visitor"].nunique()), "wall_s": round(wall, 2),
                  "kpi_wall_s": round(kpi_wall, 2), "peak_rss_mb": round(peak_mb)}}))
"""


def simulated_year(days: int, file: str = "quanzhou-2021-department.yaml") -> dict:
    script = YEAR_SCRIPT.format(root=str(ROOT), days=days, file=file)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    days, repeats, year_days = (2, 2, 10) if args.quick else (15, 3, 250)

    t_min, n_min = best_of(minimal_simpy_mmc, repeats, days, 1)
    t_ours, n_ours = best_of(hallsim_mmc, repeats, days, 1)
    ours_rate, min_rate = n_ours / t_ours, n_min / t_min
    print(f"M/M/{SERVERS} at rho={RHO}, {days} days of 24 h, best of {repeats}:")
    print(f"  minimal SimPy model : {n_min:>8} customers in {t_min:6.2f} s = {min_rate:>9.0f}/s")
    print(f"  hallsim + event log : {n_ours:>8} customers in {t_ours:6.2f} s = {ours_rate:>9.0f}/s")
    print(f"  ratio hallsim / minimal = {ours_rate / min_rate:.2f}  (aim >= 1.2)")
    try:
        t_ciw, n_ciw = best_of(ciw_mmc, repeats, days, 1)
    except ImportError:
        print("  Ciw is not installed: pip install 'hallsim[bench]'")
    else:
        ciw_rate = n_ciw / t_ciw
        print(
            f"  Ciw                 : {n_ciw:>8} customers in {t_ciw:6.2f} s = {ciw_rate:>9.0f}/s"
        )
        print(f"  ratio hallsim / Ciw     = {ours_rate / ciw_rate:.2f}  (aim >= 2)")

    year = simulated_year(year_days)
    print(f"Quanzhou department scenario, {year['days']} days in a fresh process:")
    print(
        f"  {year['visitors']} visitors, {year['rows']} log rows, "
        f"wall {year['wall_s']} s (aim < 60), peak RSS {year['peak_rss_mb']} MB (aim < 2048)"
    )
    whole = simulated_year(year_days, "quanzhou-2021-whole-case.yaml")
    print(f"Quanzhou whole case with its back office, {whole['days']} working days:")
    print(
        f"  {whole['visitors']} visitors, {whole['rows']} log rows, {whole['cases']} cases, "
        f"simulation {whole['wall_s']} s + whole-case KPIs {whole['kpi_wall_s']} s "
        f"(aim < 30 together), peak RSS {whole['peak_rss_mb']} MB (aim < 2048)"
    )
    total = whole["wall_s"] + whole["kpi_wall_s"]
    print(f"  ratio whole case / department year = {total / year['wall_s']:.2f}")


if __name__ == "__main__":
    main()
