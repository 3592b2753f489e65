"""`hallsim` command line: thin wrappers over the public API.

Exit status: 0 success; 1 `regress` found drifted KPIs (or something unexpected);
2 bad input (scenario file, arguments, target, existing results).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
import warnings
from pathlib import Path

import pandas as pd

from sim import cli_logs, kpis
from sim.brief import Brief
from sim.cli_options import execution_options as _execution_options
from sim.cli_options import executor as _executor
from sim.cli_options import out_folder as _out
from sim.cli_options import positive_int as _positive_int
from sim.cli_options import reps as _reps
from sim.cli_options import share as _share
from sim.compare import compare
from sim.erlang import quick_answers
from sim.errors import ResultsExistError, ScenarioError, TicketLogError, UsageError
from sim.executors import ExecutorError, make_executor
from sim.experiment import imprecise_kpis, progress_enabled, run
from sim.i18n import (
    ENV_VAR,
    LANGUAGES,
    kpi_heading,
    language,
    normalise,
    tr,
    use_language,
)
from sim.loader import load_scenario
from sim.metrics import HEADLINE_KPIS, SHOWN_KPIS
from sim.outputs import (
    comparison_output,
    erlang_output,
    overload_message,
    run_output,
    sizing_output,
    sweep_output,
    team_sizing_output,
)
from sim.regress import check, measure
from sim.report import write
from sim.scenario import Scenario
from sim.sizing import (
    HOURLY_KPIS,
    TEAM_SIZABLE,
    Target,
    TargetUnreachable,
    simulated_by_hour,
    size,
    size_schedule,
    size_team,
)
from sim.sweep import parse_setting, sweep
from sim.tables import ci_text, plain_number, readable_erlang, readable_sizing, readable_tried

__all__ = ["main"]


_CASE_SHOWN = kpis.case_shown()


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the usage is (not the
    whole usage above it), like every other hallsim error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (usage: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hallsim", description="Simulate government service halls and their reforms."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="simulate a scenario and write a results folder")
    p.add_argument("scenario", type=Path)
    _execution_options(p, 10, _reps)
    p.add_argument(
        "--precision", type=_share, default=None,
        help="with --reps auto: relative CI half-width to reach on headline KPIs (0.05)",
    )  # fmt: skip
    p.add_argument("--max-reps", type=_positive_int, default=200, help="cap for --reps auto")

    p = sub.add_parser("compare", help="compare scenarios on common random numbers")
    p.add_argument("scenarios", type=Path, nargs="+", help="baseline first, then alternatives")
    _execution_options(p, 20)

    p = sub.add_parser("sweep", help="vary scenario fields and run every point")
    p.add_argument("scenario", type=Path)
    p.add_argument(
        "--set", dest="settings", action="append", required=True, metavar="PATH=V1,V2",
        help="a field and its values, e.g. windows.comprehensive.count=80,85,91 (repeatable)",
    )  # fmt: skip
    _execution_options(p, 10)

    p = sub.add_parser("size", help="fewest windows that meet a service target")
    p.add_argument("scenario", type=Path)
    p.add_argument(
        "--target", required=True, help='e.g. "wait_p90_min<=15", "service_level_ticket>=0.9"'
    )
    p.add_argument("--pool", help="size only this pool, on the hall-wide KPI")
    p.add_argument("--team", help="size this back-office team's staff on a whole-case KPI")
    p.add_argument("--max-windows", type=_positive_int, default=1000, help="cap per pool")
    p.add_argument(
        "--hourly", action="store_true",
        help="also propose open windows hour by hour meeting the target in every hour",
    )  # fmt: skip
    _execution_options(p, 10)

    p = sub.add_parser("erlang", help="windows by hour that Erlang C, Erlang A and G/G/c say")
    p.add_argument("scenario", type=Path)
    p.add_argument("--target", required=True, help='e.g. "wait_p90_min<=15", "wait_mean_min<=5"')
    p.add_argument(
        "--simulate",
        action="store_true",
        help="add the simulated answer (the schedule size --hourly finds, pool by pool)",
    )
    p.add_argument("--simulate-reps", type=_positive_int, default=10,
                   help="replications per count for --simulate (10)")  # fmt: skip
    _execution_options(p, 2)

    p = sub.add_parser("regress", help="re-run the reference scenarios; fail on drifted KPIs")
    p.add_argument("--baseline", type=Path, default=Path("results/baseline"))
    p.add_argument("--update", action="store_true", help="measure and store a new baseline")
    p.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", type=Path, nargs="+")
    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    cli_logs.add_parsers(sub)
    for command in sub.choices.values():
        command.add_argument(
            "--lang", choices=LANGUAGES, default=None,
            help=f"language of reports, figures and tables (default: ${ENV_VAR}, else en)",
        )  # fmt: skip
    return parser


# -- printing ----------------------------------------------------------------------------
def _width(text: str) -> int:
    """Columns a terminal gives `text`: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _left(text: object, width: int) -> str:
    return f"{text}" + " " * max(0, width - _width(f"{text}"))


def _right(text: object, width: int) -> str:
    return " " * max(0, width - _width(f"{text}")) + f"{text}"


def _kpi_name(kpi: str) -> str:
    """A KPI on screen: its key in English (what targets and --set use), its name else."""
    return kpi if language() == "en" else kpi_heading(kpi)


def _print_rows(summary, kpis) -> None:
    rows = summary.set_index("kpi")
    shown = [k for k in kpis if k in rows.index]  # e.g. no booked waits without bookings
    first = max([_width(_kpi_name(k)) for k in shown] + [22]) + 2
    print(f"{_left(tr('KPI'), first)}{_right(tr('mean'), 12)}   {tr('95% CI')}")
    for kpi in shown:
        row = rows.loc[kpi]
        ci = "" if row.isna()["half_width"] else f"[{row['ci_low']:.4g}, {row['ci_high']:.4g}]"
        mark = " *" if kpi in HEADLINE_KPIS else ""
        print(f"{_left(_kpi_name(kpi) + mark, first)}{row['mean']:>12.4g}   {ci}")


def _print_summary(summary) -> None:
    _print_rows(summary, SHOWN_KPIS)


def _print_pools(pools_summary, top: int = 8) -> None:
    wide = pools_summary.pivot(index="pool", columns="kpi", values="mean")
    wide = wide.sort_values("wait_mean_min", ascending=False).head(top)
    first = max([_width(str(p)) for p in wide.index] + [26]) + 2
    headings = [tr("visits"), tr("wait mean"), tr("wait p90"), tr("utilization")]
    print("\n" + _left(tr("pool (longest waits first)"), first)
          + "".join(_right(h, 13) for h in headings))  # fmt: skip
    for pool, row in wide.iterrows():
        print(
            f"{_left(pool, first)}{row['visits']:>13.0f}{row['wait_mean_min']:>13.2f}"
            f"{row['wait_p90_min']:>13.2f}{row['utilization']:>13.2f}"
        )


def _print_differences(frame, key: str | None = None, top: int | None = None) -> None:
    rows = frame if top is None else frame.reindex(frame["diff"].abs().sort_values().index[::-1])
    rows = rows if top is None else rows.head(top)
    label = key or "kpi"
    names = [str(v) if key else _kpi_name(v) for v in rows[label]]
    # columns as wide as the longest name in them: two variants must not read the same
    first = max([_width(tr(label)), *(_width(n) for n in names)]) + 2
    second = max([_width(tr("scenario")), *(_width(str(v)) for v in rows["scenario"])]) + 2
    print(
        _left(tr(label), first) + _left(tr("scenario"), second)
        + "".join(_right(h, 10) for h in (tr("baseline"), tr("now"), tr("change")))
        + "   " + tr("CI")
    )  # fmt: skip
    for name, (_, r) in zip(names, rows.iterrows(), strict=True):
        flag = " *" if r["significant"] else ""
        print(
            f"{_left(name, first)}{_left(r['scenario'], second)}{r['baseline_mean']:>10.4g}"
            f"{r['mean']:>10.4g}{r['diff']:>+10.4g}   [{r['ci_low']:.4g}, {r['ci_high']:.4g}]{flag}"
        )


# -- commands ----------------------------------------------------------------------------
def _warn_overload(scenario: Scenario) -> None:
    """Said before the run (the report says it too: sim.outputs.overload_note)."""
    message = overload_message(scenario)
    if message is not None:
        print(f"hallsim: note: {message}", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.precision is not None and args.reps != "auto":
        raise UsageError("--precision goes with --reps auto")
    scenario = load_scenario(args.scenario)
    _warn_overload(scenario)
    out = _out(args, scenario.name)
    auto = args.reps == "auto"
    precision = (args.precision or 0.05) if auto else None
    started = time.perf_counter()
    with _executor(args) as executor:
        result = run(
            scenario, 5 if auto else args.reps, args.seed, executor,
            precision=precision, max_reps=args.max_reps, progress=progress_enabled(),
        )  # fmt: skip
    note = ""
    if auto:
        loose = imprecise_kpis(result.kpis, precision)
        note = (
            f"Precision {precision:.0%} reached." if not loose else
            f"Precision {precision:.0%} NOT reached after {result.replications} replications "
            f"(cap --max-reps): " + ", ".join(f"{k} ±{h:.3g}" for k, h in loose.items())
        )  # fmt: skip
    wall = time.perf_counter() - started
    folder = write(run_output(result, note), out, args.force, wall)
    print(
        tr("{name}: {reps} replications, seed {seed}.").format(
            name=scenario.name, reps=result.replications, seed=args.seed
        )
        + (f" {note}" if note else "")
    )
    _print_summary(result.summary)
    if len(scenario.windows) > 1:
        _print_pools(result.pools_summary)
    if scenario.whole_case:
        print("\n" + tr("the whole case"))
        _print_rows(
            result.case_summary, [k for k in _CASE_SHOWN if k in set(result.case_summary["kpi"])]
        )
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenario files")
    scenarios = [load_scenario(path) for path in args.scenarios]
    for scenario in scenarios:
        _warn_overload(scenario)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError(f"scenario names must differ: {names}")
    out = _out(args, "compare-" + "-vs-".join(names))
    started = time.perf_counter()
    with _executor(args) as executor:
        comparison = compare(scenarios, args.reps, args.seed, executor, progress_enabled())
    folder = write(comparison_output(comparison), out, args.force, time.perf_counter() - started)
    print(
        tr("baseline {baseline}; {reps} paired replications, seed {seed}; {confidence} CIs; "
           "* = significant change").format(
            baseline=comparison.baseline, reps=args.reps, seed=args.seed,
            confidence=f"{comparison.confidence:.1%}",
        )
    )  # fmt: skip
    overall = comparison.overall
    _print_differences(overall[overall["kpi"].isin(SHOWN_KPIS)])
    cases = comparison.cases
    if not cases.empty and any(s.whole_case for s in scenarios):
        print("\n" + tr("the whole case"))
        _print_differences(cases[cases["kpi"].isin(_CASE_SHOWN)])
    by_matter = comparison.by_matter
    if not by_matter.empty:
        print("\n" + tr("mean wait per visit by matter (largest changes):"))
        _print_differences(by_matter[by_matter["kpi"] == "wait_mean_min"], "matter", top=10)
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    grid = dict(parse_setting(text) for text in args.settings)
    out = _out(args, f"sweep-{scenario.name}")
    started = time.perf_counter()
    with _executor(args) as executor:
        result = sweep(scenario, grid, args.reps, args.seed, executor, progress_enabled())
    folder = write(sweep_output(result), out, args.force, time.perf_counter() - started)
    wide = result.table[result.table["kpi"].isin(HEADLINE_KPIS)]
    print(wide.pivot_table(index=result.settings, columns="kpi", values="mean").to_string())
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_size_team(args: argparse.Namespace, target: Target, scenario: Scenario) -> int:
    out = _out(args, f"size-{scenario.name}-{args.team}")
    started = time.perf_counter()
    with _executor(args) as executor:
        result = size_team(
            scenario, target, args.team, args.reps, args.seed, executor,
            max_staff=args.max_windows, progress=progress_enabled(),
        )  # fmt: skip
    folder = write(team_sizing_output(result), out, args.force, time.perf_counter() - started)
    at = result.at_size.case_summary.set_index("kpi").loc[target.kpi]
    print(
        tr("{name}: {sized} staff in {team} meet {target} ({kpi} {mean} {ci}, {reps} "
           "replications); {now} now; offered load {load} staff.").format(
            name=scenario.name, sized=result.sized, team=args.team, target=target,
            kpi=kpi_heading(target.kpi), mean=plain_number(at["mean"]),
            ci=ci_text(at["ci_low"], at["ci_high"]), reps=args.reps, now=result.current,
            load=f"{result.offered_load_staff:.1f}",
        )
    )  # fmt: skip
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_size(args: argparse.Namespace) -> int:
    target = Target.parse(args.target)
    scenario = load_scenario(args.scenario)
    if args.team:
        return _cmd_size_team(args, target, scenario)
    if target.kpi in TEAM_SIZABLE:
        raise UsageError(f"{target.kpi} depends on approval staff: name the --team to size")
    if args.hourly and target.kpi not in HOURLY_KPIS:  # before any work
        raise UsageError(
            f"--hourly sizes hour by hour: {target.kpi} is not measured by the hour; use one "
            f"of {', '.join(sorted(HOURLY_KPIS))}"
        )
    if args.hourly and args.pool is None and len(scenario.windows) > 1:
        raise UsageError(
            "--hourly staffs one pool by the hour: name it with --pool (pools: "
            + ", ".join(scenario.windows)
            + ")"
        )
    out = _out(args, f"size-{scenario.name}")
    started = time.perf_counter()
    with _executor(args) as executor:
        result = size(
            scenario, target, args.reps, args.seed, args.pool, executor,
            max_windows=args.max_windows, progress=progress_enabled(),
        )  # fmt: skip
        schedule = None
        if args.hourly:
            (sized,) = [p.sized for p in result.pools] if len(result.pools) == 1 else [None]
            schedule = size_schedule(
                scenario, target, args.reps, args.seed, args.pool, executor,
                max_windows=args.max_windows, flat_daily=sized, progress=progress_enabled(),
            )  # fmt: skip
    output = sizing_output(result, schedule)
    folder = write(output, out, args.force, time.perf_counter() - started)
    print(readable_sizing(result.table(), target).round(2).to_string(index=False))
    if len(result.tried):
        print(
            "\n"
            + tr("Every count tried")
            + " "
            + tr("(met: the whole 95% CI on the right side of the target):")
        )
        print(readable_tried(result.tried, target).round(3).to_string(index=False))
    print()
    print(output.page[0].plain() if isinstance(output.page[0], Brief) else "")
    if schedule is not None:
        hours = schedule.staff_hours
        print(
            "\n"
            + tr("hour-by-hour schedule for {pool} (target met in every hour):").format(
                pool=schedule.pool
            )
        )
        print("  " + ", ".join(f"{t} {n}" for t, n in schedule.schedule.items()))
        print("  " + tr(
            "staff-hours a day: {scheduled} scheduled; {hourly_hours} with {hourly} windows all "
            "day; {daily_hours} with {daily} all day (enough over the day, not in its busiest "
            "hours)"
        ).format(
            scheduled=f"{hours['schedule']:.0f}", hourly_hours=f"{hours['flat_every_hour']:.0f}",
            hourly=schedule.flat_hourly, daily_hours=f"{hours['flat_daily_target']:.0f}",
            daily=schedule.flat_daily,
        ))  # fmt: skip
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_erlang(args: argparse.Namespace) -> int:
    target = Target.parse(args.target)
    if args.simulate and target.kpi not in HOURLY_KPIS:  # before any work
        raise UsageError(
            f"--simulate sizes hour by hour: {target.kpi} is not measured by the hour; "
            f"use one of {', '.join(sorted(HOURLY_KPIS))}"
        )
    scenario = load_scenario(args.scenario)
    out = _out(args, f"erlang-{scenario.name}")
    started = time.perf_counter()
    table = quick_answers(scenario, target, args.reps, args.seed)
    if args.simulate:
        with _executor(args) as executor:
            simulated = simulated_by_hour(
                scenario, target, list(table["pool"].unique()), args.simulate_reps, args.seed,
                executor, progress_enabled(),
            )  # fmt: skip
        table = table.merge(simulated, on=["pool", "hour"], how="left")
    folder = write(
        erlang_output(scenario, target, table, args.reps),
        out,
        args.force,
        time.perf_counter() - started,
    )
    print(
        tr("{name}: windows needed for {target} by hour, by formula (loads from a "
           "{reps}-replication pilot run; Erlang A only for mean-wait targets):").format(
            name=scenario.name, target=target, reps=args.reps
        )
    )  # fmt: skip
    print(readable_erlang(table.round(2)).to_string(index=False, na_rep="—"))
    if not args.simulate:
        print(tr("the simulation's answer beside them: add --simulate"))
    print(tr("results in {folder}/ (open report.html)").format(folder=folder))
    return 0


def _cmd_regress(args: argparse.Namespace) -> int:
    kpis_file = args.baseline / "kpis.csv"
    with make_executor(args.jobs) as executor:
        current = measure(
            args.baseline, executor, lambda line: print(f"hallsim: regress {line}", file=sys.stderr)
        )
    if args.update:
        current.to_csv(kpis_file, index=False)
        print(f"baseline updated: {kpis_file} ({len(current)} KPIs)")
        return 0
    if not kpis_file.exists():
        raise UsageError(f"no {kpis_file}; create it with: hallsim regress --update")
    report = check(pd.read_csv(kpis_file), current)
    drifted = report[report["drifted"]]
    print(f"{len(report)} KPIs checked against {kpis_file}; {len(drifted)} drifted")
    if len(drifted):
        print(drifted.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print("if the change is intended: hallsim regress --update, and commit kpis.csv")
        return 1
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
    # a file is named after itself when it says no name: not required in a file
    schema["required"] = [f for f in schema.get("required", []) if f != "name"]
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "path of a scenario file this one overlays (relative to this file)",
    }
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


COMMANDS = {
    "run": _cmd_run,
    "compare": _cmd_compare,
    "sweep": _cmd_sweep,
    "size": _cmd_size,
    "erlang": _cmd_erlang,
    "regress": _cmd_regress,
    "validate": _cmd_validate,
    "schema": _cmd_schema,
    **cli_logs.COMMANDS,
}


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings a user can act on (a scenario's) as one line, not a code location."""
    print(f"hallsim: warning: {message}", file=sys.stderr)


def _language(chosen: str | None) -> str:
    try:
        return normalise(chosen or os.environ.get(ENV_VAR, "") or "en")
    except ValueError as exc:
        raise UsageError(f"{ENV_VAR}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    pd.set_option("display.unicode.east_asian_width", True)  # Chinese names line up
    try:
        with use_language(_language(args.lang)):
            return COMMANDS[args.command](args)
    except (ScenarioError, ResultsExistError, UsageError, ExecutorError, TicketLogError) as exc:
        print(f"hallsim: error: {exc}", file=sys.stderr)
        return 2
    except TargetUnreachable as exc:
        print(f"hallsim: error: target cannot be met: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hallsim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `hallsim run ... | head`: the reader left; results are written
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0


if __name__ == "__main__":
    sys.exit(main())
