"""`hallsim` command line: thin wrappers over the public API.

Exit status: 0 success, 2 bad input (scenario file, arguments, existing results),
1 anything unexpected.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from sim.errors import ResultsExistError, ScenarioError
from sim.loader import load_scenario
from sim.scenario import Scenario
from sim.streams import DEFAULT_SEED

__all__ = ["main"]

_SHOWN = (
    "visitors",
    "served",
    "abandoned",
    "wait_mean_min",
    "wait_p90_min",
    "service_level",
    "time_in_hall_mean_min",
    "windows",
    "utilization",
    "overtime_min",
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number >= 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hallsim", description="Simulate government service halls and their reforms."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="simulate a scenario and write a results folder")
    p_run.add_argument("scenario", type=Path)
    p_run.add_argument("--reps", type=_positive_int, default=10, help="replications (10)")
    p_run.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    p_run.add_argument("--out", type=Path, help="results folder (results/<scenario name>)")
    p_run.add_argument("--force", action="store_true", help="replace an existing results folder")
    p_val = sub.add_parser("validate", help="check scenario files without running them")
    p_val.add_argument("scenarios", type=Path, nargs="+")
    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    return parser


def _print_summary(summary, stream) -> None:
    from sim.metrics import HEADLINE_KPIS

    rows = summary.set_index("kpi")
    print(f"{'kpi':<24}{'mean':>12}   95% CI", file=stream)
    for kpi in _SHOWN:
        row = rows.loc[kpi]
        ci = "" if row.isna()["half_width"] else f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
        mark = " *" if kpi in HEADLINE_KPIS else ""
        print(f"{kpi + mark:<24}{row['mean']:>12.4g}   {ci}", file=stream)


def _print_pools(pools_summary, stream, top: int = 8) -> None:
    wide = pools_summary.pivot(index="pool", columns="kpi", values="mean")
    wide = wide.sort_values("wait_mean_min", ascending=False).head(top)
    print(f"\n{'pool (longest waits first)':<28}{'visits':>8}{'wait mean':>11}"
          f"{'wait p90':>10}{'utilization':>13}", file=stream)  # fmt: skip
    for pool, row in wide.iterrows():
        print(
            f"{pool:<28}{row['visits']:>8.0f}{row['wait_mean_min']:>11.2f}"
            f"{row['wait_p90_min']:>10.2f}{row['utilization']:>13.2f}",
            file=stream,
        )


def _cmd_run(args: argparse.Namespace) -> int:
    # heavy imports (pandas, matplotlib) only where a run needs them
    from sim.experiment import run
    from sim.report import check_destination, write_results

    scenario = load_scenario(args.scenario)
    out = args.out or Path("results") / scenario.name
    check_destination(out, args.force)
    started = time.perf_counter()
    result = run(scenario, reps=args.reps, seed=args.seed)
    folder = write_results(result, out, force=args.force, wall_time_s=time.perf_counter() - started)
    print(f"{scenario.name}: {args.reps} replications, seed {args.seed}")
    _print_summary(result.summary, sys.stdout)
    if len(scenario.windows) > 1:
        _print_pools(result.pools_summary, sys.stdout)
    print(f"results in {folder}/")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    for path in args.scenarios:
        scenario: Scenario = load_scenario(path)
        print(
            f"{path}: ok ({scenario.name}: {len(scenario.matters)} matters, "
            f"{len(scenario.windows)} pools, {scenario.total_windows} windows)"
        )
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    schema = Scenario.model_json_schema(by_alias=True)
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "path of a scenario file this one overlays (relative to this file)",
    }
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = {"run": _cmd_run, "validate": _cmd_validate, "schema": _cmd_schema}[args.command]
    try:
        return command(args)
    except (ScenarioError, ResultsExistError) as exc:
        print(f"hallsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hallsim: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
