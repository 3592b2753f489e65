"""hallsim: discrete-event simulation of government service halls and their reforms.

from sim import load_scenario, run
result = run(load_scenario("scenarios/quanzhou-2021-department.yaml"), reps=20)
result.summary        # KPIs, mean and 95% CI across replications
"""

from sim.compare import Comparison, compare
from sim.errors import ResultsExistError, ScenarioError
from sim.executors import make_executor
from sim.experiment import RunResult, analyse, run, simulate_replications
from sim.hall import Simulated, simulate, simulate_all
from sim.loader import load_scenario, parse_scenario
from sim.metrics import (
    Capacity,
    hourly_table,
    matter_table,
    pool_table,
    replication_table,
    summarize,
)
from sim.overrides import with_settings
from sim.records import COLUMNS
from sim.report import write_results
from sim.scenario import Scenario
from sim.sizing import SizingResult, Target, size
from sim.streams import DEFAULT_SEED
from sim.sweep import SweepResult, sweep

__all__ = [
    "COLUMNS",
    "DEFAULT_SEED",
    "Capacity",
    "Comparison",
    "ResultsExistError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulated",
    "SizingResult",
    "SweepResult",
    "Target",
    "analyse",
    "compare",
    "hourly_table",
    "load_scenario",
    "make_executor",
    "matter_table",
    "parse_scenario",
    "pool_table",
    "replication_table",
    "run",
    "simulate",
    "simulate_all",
    "simulate_replications",
    "size",
    "summarize",
    "sweep",
    "with_settings",
    "write_results",
]
