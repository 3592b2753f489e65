"""Command-line options and helpers shared by the commands (sim.cli, sim.cli_logs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.errors import UsageError
from sim.executors import Executor, make_executor
from sim.folders import check_destination, clean_debris
from sim.streams import DEFAULT_SEED

__all__ = [
    "execution_options",
    "executor",
    "free_folder",
    "out_folder",
    "positive_int",
    "reps",
    "seed",
    "share",
]


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be a whole number >= 1")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError("must be a whole number from 0 to 2^63 - 1")
    return value


def reps(text: str) -> int | str:
    return "auto" if text == "auto" else positive_int(text)


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1, e.g. 0.05")
    return value


def execution_options(parser: argparse.ArgumentParser, reps_default: int, reps_type=None) -> None:
    parser.add_argument(
        "--reps", type=reps_type or positive_int, default=reps_default,
        help=f"replications ({reps_default})",
    )  # fmt: skip
    parser.add_argument("--seed", type=seed, default=DEFAULT_SEED, help="random seed (>= 0)")
    parser.add_argument(
        "--jobs", type=positive_int, default=os.cpu_count() or 1,
        help="local worker processes (default: all cores)",
    )  # fmt: skip
    parser.add_argument(
        "--executor", choices=["local", "dask"], default="local",
        help="where replications run (dask needs --scheduler)",
    )  # fmt: skip
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, tcp://HOST:8786")
    parser.add_argument("--out", type=Path, help="results folder")
    parser.add_argument("--force", action="store_true", help="replace an existing results folder")


def executor(args: argparse.Namespace) -> Executor:
    if args.executor == "dask" and not args.scheduler:
        raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    scheduler = args.scheduler if args.executor == "dask" or args.scheduler else None
    return make_executor(args.jobs, scheduler)


def free_folder(default: Path, force: bool, option: str = "--out") -> Path:
    """`default`, or if it exists (and not `force`) the first free `default-N`; `option`
    is the command's option that chooses the folder, for the message."""
    if force or not (default.exists() or default.is_symlink()):
        return default
    n = 2
    while (default.parent / f"{default.name}-{n}").exists():
        n += 1
    chosen = default.parent / f"{default.name}-{n}"
    print(
        f"hallsim: {default} holds earlier results: writing {chosen} (--force replaces "
        f"{default}; {option} chooses the folder)",
        file=sys.stderr,
    )
    return chosen


def out_folder(args: argparse.Namespace, default: str) -> Path:
    """The results folder: --out, else results/DEFAULT; when that one holds earlier
    results (and --force was not given), the next free results/DEFAULT-2, -3, ... so that
    running a command again keeps both, and says so."""
    out = args.out or free_folder(Path("results") / default, args.force)
    check_destination(out, args.force)
    for what in clean_debris(out.parent):
        print(f"hallsim: {what}", file=sys.stderr)
    return out
