"""`hallsim fit`, `replay` and `backtest`: the commands on a hall's own ticket log, thin
wrappers over sim.ticketlog, sim.fit and sim.replay; and `hallsim log`, which writes a
log from a scenario (sim.ticketgen) for people who have none yet. Bad input (a file
that cannot be read, a mapping naming no column, a log that cannot be fitted, a
destination holding something) is one line and exit status 2 (sim.cli), with nothing
written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from sim.calendar import parse_time
from sim.caselog import CaseLog, read_cases
from sim.cli_options import execution_options, executor, free_folder, out_folder, seed
from sim.errors import ResultsExistError, UsageError
from sim.experiment import progress_enabled
from sim.fit import fit_tickets
from sim.folders import check_destination, clean_debris
from sim.hall import simulate_all
from sim.loader import load_scenario
from sim.log_outputs import backtest_output, fit_output, fit_yaml, replay_output
from sim.replay import backtest, replay, replay_summary
from sim.report import write
from sim.streams import DEFAULT_SEED
from sim.ticketgen import cases_from_run, tickets_from_log, with_faults, write_cases, write_tickets
from sim.ticketlog import PRESETS, TICKET_COLUMNS, TicketLog, read_tickets

__all__ = ["COMMANDS", "add_parsers"]


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of minutes, got {text!r}") from None
    if not 0 < value <= 24 * 60:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 1440 minutes")
    return value


def _hours(text: str) -> tuple[int, int]:
    try:
        opens, closes = (parse_time(part.strip()) for part in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be HH:MM-HH:MM, got {text!r}") from None
    if opens >= closes:
        raise argparse.ArgumentTypeError(f"{text}: opening must come before closing")
    return opens, closes


def _log_options(parser: argparse.ArgumentParser) -> None:
    """How to read a ticket log (sim.ticketlog)."""
    parser.add_argument("log", type=Path, help="ticket log: .csv (UTF-8 or GBK), .xlsx, .parquet")
    parser.add_argument(
        "--map",
        dest="columns",
        action="append",
        default=[],
        metavar="OURS=THEIRS",
        help=f"a column of the log for one of ours ({', '.join(TICKET_COLUMNS)}); repeatable",
    )
    parser.add_argument("--mapping", type=Path, help="YAML file {our column: their column}")
    parser.add_argument("--preset", choices=list(PRESETS), help="a known log layout")
    parser.add_argument("--encoding", help="of a CSV log (default: UTF-8, then GBK)")
    parser.add_argument(
        "--hours",
        type=_hours,
        metavar="HH:MM-HH:MM",
        help="opening hours: tickets taken outside them are faulty rows; fit uses them "
        "as the hall's hours",
    )
    parser.add_argument(
        "--status",
        dest="status_words",
        action="append",
        default=[],
        metavar="WORD=served|no_show|abandoned",
        help="the log's own word for how a ticket ended, e.g. 正常=served; repeatable",
    )
    parser.add_argument(
        "--header-row",
        type=int,
        default=0,
        metavar="N",
        help="the line holding the column names, from 0 (an export with a title line: 1)",
    )


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None


def add_parsers(sub) -> None:
    p = sub.add_parser("log", help="write a ticket log simulated from a scenario (known truth)")
    p.add_argument("scenario", type=Path)
    p.add_argument("--out", type=Path, required=True, help="log file: .csv, .xlsx or .parquet")
    p.add_argument(
        "--headers",
        choices=["hallsim", "zh"],
        default="hallsim",
        help="our column names, or a Chinese system's (取号时间, 状态 已办结 ...)",
    )
    p.add_argument("--encoding", default="utf-8", help="of a CSV (utf-8, utf-8-sig, gbk)")
    p.add_argument(
        "--faults",
        type=int,
        default=0,
        metavar="N",
        help="N faulty rows of every kind (sim.ticketlog.FAULT_KINDS)",
    )
    p.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help="also write the case log of the run (approval system: 受理, 办结)",
    )
    p.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="random seed (>= 0)")
    p.add_argument("--force", action="store_true", help="replace the log files")

    p = sub.add_parser("fit", help="fit a runnable scenario to a hall's ticket log")
    _log_options(p)
    p.add_argument("--out", type=Path, required=True, help="scenario file to write (.yaml)")
    p.add_argument("--results", type=Path, help="fit report folder (default results/fit-NAME)")
    p.add_argument("--name", help="scenario name (default: the --out file's name)")
    p.add_argument(
        "--criterion",
        choices=["aic", "bic"],
        default="aic",
        help="how a service-time family is chosen",
    )
    p.add_argument(
        "--target-wait",
        type=_minutes,
        default=20.0,
        help="target_wait_min of the scenario (not in a log; default 20)",
    )
    p.add_argument(
        "--days",
        type=int,
        help="working days the scenario simulates (default: the log's, at most 20)",
    )
    p.add_argument(
        "--cases",
        type=Path,
        metavar="FILE",
        help="a case log (受理时间, 办结时间, 承诺时限...): fit the back office too",
    )
    p.add_argument(
        "--case-map",
        dest="case_columns",
        action="append",
        default=[],
        metavar="OURS=THEIRS",
        help="a column of the case log for one of ours",
    )
    p.add_argument(
        "--until",
        type=_date,
        metavar="DATE",
        help="fit on the tickets before this date only (then backtest --holdout DATE)",
    )
    p.add_argument("--force", action="store_true", help="replace the scenario file and report")

    p = sub.add_parser("replay", help="run a log's visitors through scenarios' windows")
    _log_options(p)
    p.add_argument("scenarios", type=Path, nargs="+", help="baseline first, then alternatives")
    p.add_argument(
        "--observed-service",
        action="store_true",
        help="replay the observed service times too (else each scenario's)",
    )
    execution_options(p, 10)

    p = sub.add_parser("backtest", help="set a scenario against a log, hour by hour")
    _log_options(p)
    p.add_argument(
        "scenario",
        type=Path,
        nargs="?",
        help="the scenario to test (with --holdout and none: fitted before the date)",
    )
    p.add_argument("--holdout", type=_date, metavar="DATE", help="test on tickets from DATE on")
    execution_options(p, 20)


def _pairs(pairs: list[str], flag: str, example: str) -> dict[str, str]:
    """OURS=THEIRS arguments as {ours: theirs}."""
    mapping = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise UsageError(f"{flag} {pair!r}: write OURS=THEIRS, e.g. {example}")
        mapping[ours.strip()] = theirs.strip()
    return mapping


def _mapping(args: argparse.Namespace) -> str | dict[str, str] | None:
    if args.preset and (args.columns or args.mapping):
        raise UsageError("--preset or a mapping (--map, --mapping), not both")
    mapping: dict[str, str] = {}
    if args.mapping:
        try:
            loaded = yaml.safe_load(args.mapping.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"{args.mapping}: cannot read the mapping: {first}") from None
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise UsageError(f"{args.mapping}: a mapping is lines of `our_column: their column`")
        mapping |= loaded
    mapping |= _pairs(args.columns, "--map", "taken_at=取号时间")
    return mapping or args.preset


def read_log(args: argparse.Namespace) -> TicketLog:
    """Read and check the log; more than half of its rows faulty is a wrong mapping (or
    the wrong file), not a log to fit."""
    if not 0 <= args.header_row <= 1000:
        raise UsageError("--header-row must be from 0 to 1000")
    words = _pairs(args.status_words, "--status", "正常=served")
    log = read_tickets(args.log, _mapping(args), args.encoding, args.hours, words, args.header_row)
    faulty = log.faulty_rows
    if faulty:
        kinds = ", ".join(f"{k} {n}" for k, n in log.fault_counts.items() if n)
        unknown = log.source.get("unknown_status_words") or {}
        if unknown:
            kinds += (
                "; status words not known: "
                + ", ".join(f"{w} ({n})" for w, n in unknown.items())
                + " (map them: --status WORD=served|no_show|abandoned)"
            )
        rows = log.source["rows"]
        line = f"{args.log}: {faulty} of {rows} rows faulty, left out ({kinds})"
        if faulty > rows / 2:
            raise UsageError(line + "; more than half: check the column mapping (--map)")
        print(f"hallsim: {line}; faults.csv in the results lists them", file=sys.stderr)
    return log


def _read_cases(args: argparse.Namespace) -> CaseLog:
    mapping = _pairs(args.case_columns, "--case-map", "accepted_at=受理时间")
    log = read_cases(args.cases, mapping or None, args.encoding)
    faulty = int(log.faults["row"].nunique()) if len(log.faults) else 0
    if faulty:
        kinds = ", ".join(f"{k} {n}" for k, n in log.fault_counts.items() if n)
        print(f"hallsim: {args.cases}: {faulty} faulty rows left out ({kinds})", file=sys.stderr)
    if log.cases.empty:
        raise UsageError(f"{args.cases}: no case left to fit")
    return log


def _write_text(path: Path, text: str) -> None:
    """Write a text file whole or not at all."""
    _write_whole(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def _cmd_fit(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"--out {out}: a scenario file ends in .yaml")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder: name the scenario file to write")
    if out.exists() and not args.force:
        raise ResultsExistError(
            f"{out} already exists; pass --force to replace it or choose another --out"
        )
    if args.days is not None and not 1 <= args.days <= 10_000:
        raise UsageError("--days must be from 1 to 10000")
    name = args.name or out.stem
    results = args.results or free_folder(Path("results") / f"fit-{name}", args.force, "--results")
    check_destination(results, args.force)
    started = time.perf_counter()
    log = read_log(args)
    cases = _read_cases(args) if args.cases else None
    if args.until is not None:
        log = _before(log, args.until)
        if cases is not None:
            kept = cases.cases[cases.cases["accepted_at"].dt.date < args.until]
            cases = CaseLog(kept.reset_index(drop=True), cases.faults, cases.source)
    result = fit_tickets(
        log,
        name=name,
        criterion=args.criterion,
        target_wait_min=args.target_wait,
        days=args.days,
        cases=cases,
        opening=args.hours,
    )
    for warning in result.warnings:
        print(f"hallsim: warning: {warning}", file=sys.stderr)
    for what in clean_debris(results.parent):
        print(f"hallsim: {what}", file=sys.stderr)
    faults = _lines(log.faults, log.source)
    if cases is not None:
        both = [
            faults.assign(log="tickets"),
            _lines(cases.faults, cases.source).assign(log="cases"),
        ]
        faults = pd.concat(both, ignore_index=True)
    folder = write(fit_output(result, faults), results, args.force, time.perf_counter() - started)
    _make_folder(out.parent)  # only now: a refused run leaves no folder behind
    _write_text(out, fit_yaml(result))
    scenario = result.scenario
    hours = result.hours
    print(
        f"{out}: {scenario.name} fitted to {len(log.tickets)} tickets, {hours.dates[0]} to "
        f"{hours.dates[-1]} ({len(hours.dates)} days): {scenario.demand.visitors_per_day:g} "
        f"visitors a day, {len(scenario.matters)} matters, "
        + ", ".join(f"{p} {w.count}" for p, w in scenario.windows.items())
        + " windows"
        + (
            ""
            if scenario.patience_min is None
            else f", patience mean {result.patience.fit.mean:.3g} min"
        )
    )
    print(f"fit report in {folder}/ (open report.html; every parameter in parameters.csv)")
    return 0


def _make_folder(folder: Path) -> None:
    """The folder a file goes to (made if missing; a file in its way is an error)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"cannot write into {folder}: a file is in the way") from None
    except PermissionError:
        raise UsageError(f"cannot write into {folder}: permission denied") from None


def _write_whole(path: Path, write) -> None:
    """Write a file whole or not at all: `write(temporary path)`, then rename."""
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix
    )
    os.close(handle)
    try:
        write(Path(temporary))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as any file the user writes, not 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cmd_log(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise UsageError(f"--out {out}: write .csv, .xlsx or .parquet")
    if out.is_dir() or (out.exists() and not args.force):
        raise ResultsExistError(f"{out} already exists; pass --force to replace it")
    destinations = [out] + ([args.cases] if args.cases else [])
    for path in destinations[1:]:
        if path.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
            raise UsageError(f"--cases {path}: write .csv, .xlsx or .parquet")
        if path.is_dir() or (path.exists() and not args.force):
            raise ResultsExistError(f"{path} already exists; pass --force to replace it")
    if not 0 <= args.faults <= 1000:
        raise UsageError("--faults must be from 0 to 1000")
    try:
        "".encode(args.encoding)
    except LookupError:
        raise UsageError(f"--encoding {args.encoding}: no such encoding") from None
    scenario = load_scenario(args.scenario)
    for path in destinations:
        _make_folder(path.parent)
    run = simulate_all(scenario, args.seed, 0)
    tickets = tickets_from_log(run.log, scenario.calendar.horizon_days)
    if args.faults:
        cal = scenario.calendar
        tickets, _ = with_faults(tickets, args.faults, args.seed, (cal.opens_at, cal.closes_at))
    try:
        _write_whole(out, lambda path: write_tickets(tickets, path, args.headers, args.encoding))
    except UnicodeEncodeError:
        raise UsageError(
            f"--encoding {args.encoding} cannot write the log's Chinese text: use utf-8 or gbk"
        ) from None

    days = scenario.calendar.days + scenario.calendar.warmup_days
    print(
        f"{out}: {len(tickets)} tickets of {scenario.name}, {days} working days from "
        f"{scenario.calendar.date_of(0)}, seed {args.seed}"
        + (f", {args.faults} faulty rows of each kind" if args.faults else "")
    )
    if args.cases:
        cases = cases_from_run(run.log, run.cases, scenario.calendar.horizon_days)
        _write_whole(args.cases, lambda path: write_cases(cases, path, args.headers, args.encoding))
        print(f"{args.cases}: {len(cases)} cases accepted on those days")
    return 0


def _lines(faults: pd.DataFrame, source: dict) -> pd.DataFrame:
    """Faulty rows with the line of the file they stand on (as Excel numbers its rows)."""
    return faults.assign(line=faults["row"] + source.get("first_line", 2))


def _before(log: TicketLog, until: dt.date) -> TicketLog:
    tickets = log.tickets[log.tickets["taken_at"].dt.date < until].reset_index(drop=True)
    if tickets.empty:
        raise UsageError(f"{until}: no ticket of the log is before it")
    return TicketLog(tickets, log.faults, log.source)


def _cmd_replay(args: argparse.Namespace) -> int:
    scenarios = [load_scenario(path) for path in args.scenarios]
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError(f"scenario names must differ: {names}")
    out = out_folder(args, "replay-" + "-vs-".join(names))
    started = time.perf_counter()
    log = read_log(args)
    with executor(args) as pool:
        result = replay(
            log.tickets,
            scenarios,
            args.reps,
            args.seed,
            pool,
            args.observed_service,
            progress_enabled(),
        )
    folder = write(replay_output(result), out, args.force, time.perf_counter() - started)
    trace = result.trace
    print(
        f"{trace.visitors} visitors of {args.log}, {trace.dates[0]} to {trace.dates[-1]}, "
        f"through {', '.join(names)}; {args.reps} replications, seed {args.seed}"
    )
    table = replay_summary(result).pivot(index="kpi", columns="scenario", values="mean")
    table = table[["observed", *names]].rename_axis(index=None, columns=None)
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    if result.comparison is not None:
        diff = result.comparison.overall
        shown = diff[diff["kpi"].isin(["wait_mean_min", "wait_p90_min", "abandoned"])]
        for _, r in shown.iterrows():
            print(
                f"{r['scenario']} - {r['baseline']}: {r['kpi']} {r['diff']:+.4g} "
                f"[{r['ci_low']:.4g}, {r['ci_high']:.4g}]"
            )
    print(f"results in {folder}/ (open report.html)")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    if args.reps < 5:
        raise UsageError("--reps: a backtest's verdict needs at least 5 replications")
    if args.scenario is None and args.holdout is None:
        raise UsageError("name the scenario to test, or --holdout DATE to fit before it")
    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    name = scenario.name if scenario is not None else f"fit-before-{args.holdout}"
    out = out_folder(args, f"backtest-{name}")  # refused before any work
    started = time.perf_counter()
    log = read_log(args)
    if scenario is None:
        scenario = fit_tickets(_before(log, args.holdout), name=name).scenario
    with executor(args) as pool:
        result = backtest(
            log.tickets, scenario, args.reps, args.seed, pool, args.holdout, progress_enabled()
        )
    for warning in result.warnings:
        print(f"hallsim: warning: {warning}", file=sys.stderr)
    output = backtest_output(result, str(args.log))
    folder = write(output, out, args.force, time.perf_counter() - started)
    print(
        f"{scenario.name} against {args.log}, {result.tested[0]} to {result.tested[1]}, "
        f"{args.reps} replications:"
    )
    for _, v in result.verdicts.iterrows():
        print(f"  {v['what']:<28}{v['verdict']:<16}p {v['p_value']:<8.2g} {v['says']}")
    print(f"results in {folder}/ (open report.html)")
    if not result.passed:
        print("the model does not reproduce the log: see the verdicts above")
        return 1
    if not result.decided:
        print("some KPIs are undecided (too few hours or replications): see above")
        return 1
    return 0


COMMANDS = {"log": _cmd_log, "fit": _cmd_fit, "replay": _cmd_replay, "backtest": _cmd_backtest}
