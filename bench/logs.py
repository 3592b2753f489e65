"""Benchmarks for a hall's own logs (run on demand, not in the test suite).

    python bench/logs.py            # a year of a 3,500-visitor-a-day hall, ~1.1 M tickets
    python bench/logs.py --quick    # 10 days, a few seconds

A year of the Quanzhou department scenario (250 working days) is written as a ticket
log (Parquet), then, each in a fresh process on one core, with its peak memory:
1. `fit`: read and check the log, fit a scenario (aim: < 60 s, < 4 GB);
2. `replay`: the log's visitors through the comprehensive scenario, one replication
   (aim: < 60 s).
Each is also given as a ratio of the time the model takes to simulate the year that
wrote the log, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STAGES = {
    "simulate": """
from sim import load_scenario, simulate_all, with_settings
from sim.ticketgen import tickets_from_log, write_tickets
scenario = with_settings(load_scenario(ROOT + "/scenarios/quanzhou-2021-department.yaml"),
                         {{"calendar.days": {days}, "calendar.start_date": "2025-01-02"}})
started = time.perf_counter()
log = simulate_all(scenario, 1, 0).log
wall = time.perf_counter() - started
tickets = tickets_from_log(log)
write_tickets(tickets, {log!r})
extra = {{"tickets": len(tickets)}}
""",
    "fit": """
from sim.ticketlog import read_tickets
from sim.fit import fit_tickets
started = time.perf_counter()
result = fit_tickets(read_tickets({log!r}))
wall = time.perf_counter() - started
extra = {{"pools": len(result.scenario.windows), "matters": len(result.scenario.matters)}}
""",
    "replay": """
from sim import load_scenario
from sim.experiment import run
from sim.ticketlog import read_tickets
from sim.trace import trace_from_tickets
tickets = read_tickets({log!r}).tickets
scenario = load_scenario(ROOT + "/scenarios/quanzhou-2021-comprehensive.yaml")
started = time.perf_counter()
trace = trace_from_tickets(tickets)
result = run(trace.scenario_for(scenario), reps=1, seed=1, trace=trace)
wall = time.perf_counter() - started
extra = {{"visitors": trace.visitors}}
""",
}

WRAPPER = """
import json, resource, sys, time
ROOT = {root!r}
sys.path.insert(0, ROOT)
{body}
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"wall_s": round(wall, 2), "peak_rss_mb": round(peak_mb), **extra}}))
"""


def stage(name: str, days: int, log: Path) -> dict:
    body = STAGES[name].format(days=days, log=str(log))
    script = WRAPPER.format(root=str(ROOT), body=body)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 days, a few seconds")
    days = 10 if parser.parse_args().quick else 250
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "tickets.parquet"
        simulated = stage("simulate", days, log)
        print(
            f"Quanzhou department scenario, {days} working days: {simulated['tickets']} "
            f"tickets, simulated in {simulated['wall_s']} s (the reference)"
        )
        for name, aim in (("fit", "< 60 s, < 4096 MB"), ("replay", "< 60 s")):
            measured = stage(name, days, log)
            ratio = measured["wall_s"] / simulated["wall_s"]
            print(
                f"  {name:<7}{measured['wall_s']:>7} s  peak RSS {measured['peak_rss_mb']:>5} MB  "
                f"{ratio:.2f}x the simulation  (aim {aim})  {measured}"
            )


if __name__ == "__main__":
    main()
