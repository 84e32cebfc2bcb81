"""Where a batch's projects run: in this process, in a local process pool, or on Dask.

All three are an :class:`Executor`: a context manager (entering starts the
workers or connects to the cluster, leaving stops them) whose
:meth:`~Executor.map_unordered` runs tasks and yields one record per task as
each finishes.  :func:`executor_for` picks one from a batch's options.  Every
worker passes an explicit :class:`~roicast.batch.worker.ForecastCache` to
:func:`~roicast.batch.worker.run_task`, and results never depend on the
executor or the number of workers (seeds travel with the tasks).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
import uuid
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from typing import Any, Protocol

from roicast.batch.options import BatchOptions, OptionError, cores
from roicast.batch.worker import (
    ForecastCache,
    ProjectTask,
    base_record,
    failed_record,
    init_process,
    run_in_process,
    run_task,
)

__all__ = [
    "DaskExecutor",
    "Executor",
    "PoolExecutor",
    "SerialExecutor",
    "executor_for",
    "main_not_reimported",
]

Record = dict[str, Any]
#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT = 15


class Executor(Protocol):
    """Runs project tasks; yields their records in completion order.

    Attributes
    ----------
    info : dict
        Facts about the workers for ``batch.json`` (e.g. ``dask_workers``); may be empty.
    """

    info: dict[str, Any]

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def map_unordered(self, tasks: Sequence[ProjectTask]) -> Iterator[Record]:
        """Run ``tasks``; yield one record per task (``status`` "done" or "failed")."""
        ...


def error_text(e: BaseException) -> str:
    """An exception as one line: ``Type: message``."""
    return f"{type(e).__name__}: {e}".replace("\n", "; ")


@contextmanager
def main_not_reimported() -> Iterator[None]:
    """Let spawned workers start without re-running the caller's ``__main__``.

    ``multiprocessing``'s spawn start method re-imports the parent's main
    module in every child, which fails for ``python -`` and for scripts
    without an ``if __name__ == "__main__"`` guard.  Workers only need
    roicast's own functions, so the main module's ``__spec__`` / ``__file__``
    are hidden while worker processes start.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__spec__", "__file__") if hasattr(main, k)}
    try:
        if main is not None:
            main.__spec__ = None
            if "__file__" in saved:
                del main.__file__
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


class SerialExecutor:
    """One project after the other in this process, sharing one forecast cache."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}
        self.cache = ForecastCache()

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map_unordered(self, tasks: Sequence[ProjectTask]) -> Iterator[Record]:
        """Run the tasks in order."""
        for t in tasks:
            yield run_task(t, self.cache)


class PoolExecutor:
    """A spawn-context process pool; at most ``2 × workers`` tasks in flight (flat memory).

    Numba runs ``cores // workers`` (≥ 1) threads in each worker.  A worker
    process that dies (a crash, the OOM killer) breaks the pool: it is
    restarted and the projects that were in flight are retried once; a project
    in flight at two breaks is recorded as failed.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.threads = max(1, cores() // workers)
        self.info: dict[str, Any] = {}
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=init_process,
            initargs=(self.threads,),
        )

    def __enter__(self) -> PoolExecutor:
        self._pool = self._new_pool()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)
            self._pool = None

    def _restart(self) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def map_unordered(self, tasks: Sequence[ProjectTask]) -> Iterator[Record]:
        """Run the tasks; retry once those a dying worker took down with it."""
        pending = deque(replace(t, threads=self.threads) for t in tasks)
        inflight: dict[Future, ProjectTask] = {}
        breaks: Counter[str] = Counter()
        with main_not_reimported():  # the pool spawns its processes on submit
            while pending or inflight:
                while pending and len(inflight) < 2 * self.workers:
                    t = pending.popleft()
                    inflight[self._pool.submit(run_in_process, t)] = t  # type: ignore[union-attr]
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                broken: list[ProjectTask] = []
                for f in finished:
                    t = inflight.pop(f)
                    try:
                        yield f.result()
                    except BrokenProcessPool:
                        broken.append(t)
                    except Exception as e:  # e.g. a task that cannot be pickled
                        yield failed_record(base_record(t), error_text(e))
                if broken:
                    broken += list(inflight.values())
                    inflight.clear()
                    yield from self._requeue(broken, pending, breaks)
                    self._restart()

    @staticmethod
    def _requeue(
        broken: list[ProjectTask], pending: deque[ProjectTask], breaks: Counter[str]
    ) -> Iterator[Record]:
        """Put the tasks a broken pool lost back in front; fail those lost twice."""
        for t in reversed(broken):
            breaks[t.name] += 1
            if breaks[t.name] >= 2:
                yield failed_record(
                    base_record(t),
                    "worker process died while running this project (twice); out of memory?",
                )
            else:
                pending.appendleft(t)


class DaskExecutor:
    """A ``LocalCluster(local)`` started here, or the Dask cluster at ``scheduler``.

    Numba runs one thread per task (Dask's parallelism is across tasks); at
    most ``2 × total worker threads`` (≥ 4) tasks are submitted at a time.
    Each Dask worker gets a forecast cache from a worker plugin.
    """

    def __init__(self, *, local: int | None = None, scheduler: str | None = None) -> None:
        self.local, self.scheduler = local, scheduler
        self.info: dict[str, Any] = {}
        self._stack = ExitStack()
        self.client: Any = None

    def __enter__(self) -> DaskExecutor:
        with ExitStack() as stack:
            stack.enter_context(main_not_reimported())  # nannies spawn (and respawn) workers
            self.client = stack.enter_context(self._connect())
            self._register_cache()
            self._stack = stack.pop_all()
        nthreads = self.client.nthreads()
        self.info = {"dask_workers": len(nthreads), "dask_threads": sum(nthreads.values())}
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _connect(self):
        from distributed import Client, LocalCluster

        cluster = None
        try:
            if self.local:
                cluster = LocalCluster(
                    n_workers=self.local,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: 8787 may be taken
                    silence_logs=logging.ERROR,
                )
                client = Client(cluster)
            else:
                _check_scheduler(str(self.scheduler))
                client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT}s")
        except Exception as e:  # OSError, TimeoutError, ValueError (a malformed address)…
            if cluster is not None:
                cluster.close()
            if self.local:
                raise OptionError(
                    f"{{dask_local}}: cannot start a local Dask cluster: {error_text(e)}"
                ) from None
            raise OptionError(
                f"{{scheduler}}: cannot reach the Dask scheduler {self.scheduler!r}: {e}"
            ) from None
        return _closing(client, cluster)

    def _register_cache(self) -> None:
        from roicast.batch._dask import ForecastCachePlugin

        self.client.register_plugin(ForecastCachePlugin(), name=ForecastCachePlugin.name)

    def map_unordered(self, tasks: Sequence[ProjectTask]) -> Iterator[Record]:
        """Submit a bounded number of tasks at a time; yield records as they finish."""
        from distributed import as_completed

        from roicast.batch._dask import run_in_dask_worker
        from roicast.batch.plan import safe_name

        limit = max(4, 2 * self.info.get("dask_threads", 1))
        todo = iter(replace(t, threads=1) for t in tasks)
        by_key: dict[str, ProjectTask] = {}
        ac = as_completed()

        def submit() -> None:
            t = next(todo, None)
            if t is not None:
                key = f"roicast-project-{safe_name(t.name)}-{uuid.uuid4().hex[:8]}"
                by_key[key] = t
                ac.add(self.client.submit(run_in_dask_worker, t, key=key, pure=False))

        for _ in range(limit):
            submit()
        for fut in ac:
            t = by_key.pop(fut.key)
            try:
                rec = fut.result()
            except Exception as e:  # KilledWorker, a lost connection, …
                rec = failed_record(base_record(t), error_text(e))
            fut.release()
            yield rec
            submit()


def _check_scheduler(address: str) -> None:
    """Refuse a malformed address, and a TCP/TLS one nothing listens at, before making a Client.

    A ``Client`` whose construction fails is only cleaned up by the garbage
    collector, which then raises in whatever runs next; checking first avoids
    making one.  Raises ValueError (malformed) or OSError (unreachable).
    """
    import socket

    from distributed.comm import get_address_host_port, parse_address

    scheme, _ = parse_address(address)
    host, port = get_address_host_port(address)
    if scheme in ("tcp", "tls"):
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()


@contextmanager
def _closing(client, cluster) -> Iterator[Any]:
    """Yield ``client``; close it, then ``cluster`` (if one was started)."""
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def executor_for(opts: BatchOptions, n_tasks: int) -> Executor:
    """The executor ``opts`` asks for (not started): Dask, a pool of ≤ ``n_tasks`` workers, or serial."""
    if opts.dask_local is not None or opts.scheduler is not None:
        return DaskExecutor(local=opts.dask_local, scheduler=opts.scheduler)
    n = opts.n_workers or 0
    if n == 0:
        return SerialExecutor()
    return PoolExecutor(min(n, max(n_tasks, 1)))
