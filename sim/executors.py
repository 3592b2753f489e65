"""Where replications run: in this process, on local cores, or on an existing Dask cluster.

Every task is a pure function of its arguments (scenario, seed, replication), so results
are identical, byte for byte, whatever the executor and the number of jobs: only the
wall time changes. Results always come back in task order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["DaskExecutor", "Executor", "ExecutorError", "LocalExecutor", "make_executor"]

CONNECT_TIMEOUT_S = 10


class ExecutorError(Exception):
    """The executor asked for cannot be used (a user can fix it: say how)."""


class Executor:
    """Runs tasks in this process, one after another. Subclasses spread them out."""

    jobs = 1

    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        """Results of fn(*task) for each task, in task order, as they become available."""
        for task in tasks:
            yield fn(*task)

    def close(self) -> None:
        """Release workers; the serial executor has none."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _worker_init(parent: int) -> None:
    """In each worker: leave Ctrl-C to the parent (which stops the workers itself), and
    exit as soon as the parent is gone, even killed with SIGKILL (no orphans)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="hallsim-parent-watch").start()


class LocalExecutor(Executor):
    """A pool of worker processes on this machine (forked, so start-up is cheap).

    Workers die with their parent, and an interrupted or failed run stops them at once
    instead of waiting for their tasks to finish."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self._pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=context, initializer=_worker_init,
            initargs=(os.getpid(),),
        )  # fmt: skip

    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        futures = [self._pool.submit(fn, *task) for task in tasks]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
            return
        # interrupted or failed: do not wait for the tasks under way
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """Tasks on an existing Dask cluster (needs the optional `distributed` package)."""

    def __init__(self, scheduler: str | Any):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ExecutorError(
                "the Dask executor needs the 'distributed' package: pip install 'hallsim[dask]'"
            ) from exc
        self._own_client = not hasattr(scheduler, "submit")
        if self._own_client:
            try:
                self._client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, ValueError, TypeError) as exc:  # refused, timed out, garbled
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {scheduler!r} within "
                    f"{CONNECT_TIMEOUT_S} s ({reason}); give its address as tcp://HOST:PORT"
                ) from None
        else:
            self._client = scheduler
        self.jobs = max(1, sum(self._client.nthreads().values()))

    def imap(self, fn: Callable[..., Any], tasks: Sequence[tuple]) -> Iterator[Any]:
        if not tasks:
            return
        futures = self._client.map(fn, *zip(*tasks, strict=True), pure=False)
        for future in futures:
            yield future.result()

    def close(self) -> None:
        if self._own_client:
            self._client.close()


def make_executor(jobs: int = 1, scheduler: str | None = None) -> Executor:
    """The executor a user asked for: a Dask scheduler address wins over local jobs."""
    if scheduler:
        return DaskExecutor(scheduler)
    return LocalExecutor(jobs) if jobs > 1 else Executor()
