"""Results folders on disk: written whole or not at all, replacing only our own.

A run writes into a hidden staging folder beside the destination and moves it into place
at the end, so an interrupted or failed run leaves nothing half-written. `force`
replaces an existing folder only if its manifest says hallsim wrote it: never a user's
documents, never the regression baseline. Staging folders carry a marker with the pid of
the run; debris of a run that was killed (`.NAME.partial-*`, `.NAME.old-*` whose run is
gone) is removed by the next run writing beside it, and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import ResultsExistError

__all__ = ["check_destination", "clean_debris", "foreign_files", "is_results_folder", "staged"]

MANIFEST = "manifest.json"
_MARKER = ".hallsim-staging"  # holds the pid of the run that made the folder
_DEBRIS_KINDS = (".partial-", ".old-")


def foreign_files(folder: Path) -> list[str] | None:
    """None if hallsim did not write this folder (no manifest naming hallsim's version);
    else the files in it that its manifest does not list (added by someone else)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or "hallsim_version" not in manifest:
        return None
    ours = {*manifest.get("files", []), _MARKER}
    return sorted(p.name for p in folder.iterdir() if p.name not in ours)


def is_results_folder(folder: Path) -> bool:
    """True if hallsim wrote this folder and nothing else was added to it."""
    return foreign_files(folder) == []


def _writable_ancestor(out: Path) -> None:
    """The folder that will hold `out` (or its nearest existing ancestor) is a folder we
    may write in."""
    ancestor = out.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ResultsExistError(f"cannot write results to {out}: {ancestor} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ResultsExistError(f"cannot write results to {out}: {ancestor} is not writable")


def check_destination(out: Path, force: bool) -> None:
    """Refuse early, before any simulation, what writing to `out` could not do or must
    not do: overwrite results without `force`, or replace anything that is not ours."""
    out = Path(out)
    _writable_ancestor(out)
    if not out.exists() and not out.is_symlink():
        return
    if not force:
        raise ResultsExistError(
            f"{out} already holds results; pass --force to replace them or --out elsewhere"
        )
    foreign = None if out.is_symlink() or not out.is_dir() else foreign_files(out)
    if foreign is None:
        raise ResultsExistError(
            f"{out} exists but is not a hallsim results folder (no hallsim manifest.json); "
            "--force replaces only results hallsim wrote: choose another --out"
        )
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ResultsExistError(
            f"{out} holds files hallsim did not write ({shown}); --force will not delete "
            "them: move them out first, or choose another --out"
        )


def _marker_text() -> str:
    return f"{os.getpid()} {socket.gethostname()}\n"


def _run_gone(marker: str) -> bool:
    """True if the run that wrote this marker has ended: its pid is gone on this host.
    A run on another host (a shared folder) is never taken for dead."""
    pid_text, _, host = marker.strip().partition(" ")
    pid = int(pid_text)
    if (host and host != socket.gethostname()) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


def clean_debris(parent: Path) -> list[str]:
    """Tidy up after runs that were killed, beside `parent`'s results; return what was
    done, one line each. A killed run's staging folder is removed; results set aside by
    a killed `--force` are put back if nothing took their place (else removed). A folder
    without our marker, a link, or one whose run is still going is left alone."""
    done: list[str] = []
    if not parent.is_dir():
        return done
    for folder in sorted(parent.iterdir()):
        name = folder.name
        if not name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        kind = next((k for k in _DEBRIS_KINDS if k in name), None)
        try:
            marker = (folder / _MARKER).read_text()
            gone = kind is not None and _run_gone(marker)
        except (OSError, ValueError):
            continue  # not ours
        if not gone:
            continue
        original = parent / name[1 : name.rindex(kind)]
        kept = folder / original.name
        if kind == ".old-" and kept.is_dir() and not original.exists():
            os.replace(kept, original)
            done.append(f"restored {original} (set aside by an interrupted --force)")
        else:
            done.append(f"removed {folder}, left by an interrupted run")
        shutil.rmtree(folder)
    return done


def _own_folder(prefix: str, parent: Path) -> Path:
    """A new hidden folder marked as this run's, readable by others like any folder."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)  # mkdtemp makes it 0700: colleagues could not read it
    (folder / _MARKER).write_text(_marker_text())
    return folder


@contextmanager
def staged(out: Path, force: bool) -> Iterator[Path]:
    """A staging folder that replaces `out` only if the block completes."""
    out = Path(out)
    check_destination(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_debris(out.parent)
    staging = _own_folder(f".{out.name}.partial-", out.parent)
    try:
        yield staging
        _move_into_place(staging, out, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_into_place(staging: Path, out: Path, force: bool) -> None:
    """Put the finished staging folder at `out`, checking `out` again now: something may
    have appeared there while the run worked. An existing folder is first set aside,
    checked as it is now (ours, nothing added), and only then deleted; if the run is
    killed half-way, the next run puts it back (clean_debris)."""
    if out.exists() or out.is_symlink():
        if not force:
            raise ResultsExistError(
                f"{out} appeared while the run was working; the results were not written "
                "(pass --force to replace it, or --out elsewhere)"
            )
        retired = _own_folder(f".{out.name}.old-", out.parent)
        os.replace(out, retired / out.name)
        try:
            check_destination(retired / out.name, force=True)
        except ResultsExistError:
            os.replace(retired / out.name, out)  # not ours after all: put it back
            shutil.rmtree(retired)
            raise
        os.replace(staging, out)
        shutil.rmtree(retired)
    else:
        os.replace(staging, out)
    (out / _MARKER).unlink(missing_ok=True)
