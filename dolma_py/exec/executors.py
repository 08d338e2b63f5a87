"""Executors: the local process pool (default) and Ray; both run the same pure unit function.

Two capabilities: `run` yields units as they finish (any order), for independent units; `ordered_map` yields
results strictly in input order with a bounded window in flight, for stages that consume results in order
(dedupe's check-and-insert).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures import Executor as FuturePool
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from dolma_py.errors import DolmaError
from dolma_py.exec.units import Unit, UnitFunction, UnitResult, run_unit_safely
from dolma_py.io.atomic import install_termination_handler

T = TypeVar("T")
R = TypeVar("R")

WorkerInit = Callable[[], None]
"""Run in each worker process before it maps anything (e.g. to size a thread pool); picklable. Not run when the
map runs in the driver's own process, whose settings stay as they are."""

RAY_WAIT_WINDOW = 256
"""`RayExecutor.run` waits on at most this many of the oldest pending tasks at a time, so each wait costs O(1) and
a run of n units costs O(n), where waiting on every pending task would cost O(n^2)."""

_END: Any = object()


class WorkerLost(DolmaError):
    """A worker process died (on Ray: after its retries) before returning a result."""


class Executor(Protocol):
    """Runs units in parallel; the local pool and Ray give the same results."""

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]:
        """Yield each unit with its result as it finishes (in any order); failures come back as results."""
        ...

    def ordered_map(
        self, fn: Callable[[T], R], items: Sequence[T], window: int, worker_init: WorkerInit | None = None
    ) -> Iterator[R]:
        """Yield `fn(item)` strictly in `items` order, with at most `window` items in flight; an exception of `fn`
        is raised here, a lost worker raises `WorkerLost`."""
        ...


def ray_connect(address: str) -> Any:
    """The `ray` module, connected to the cluster at `address` (the one place a run calls `ray.init`)."""
    try:
        import ray
    except ImportError as err:
        raise DolmaError("--ray-address needs the ray extra: pip install 'dolma-py[ray]'") from err
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return ray


def _function_module(fn: Callable[..., Any]) -> str:
    """The module defining `fn` (through `functools.partial`), which forkserver workers import once."""
    while hasattr(fn, "func"):
        fn = fn.func
    return fn.__module__


def _pool(fn: Callable[..., Any], workers: int, init: WorkerInit | None) -> ProcessPoolExecutor:
    """A pool whose workers fork from a forkserver that has imported `fn`'s module once.

    Each worker then starts in about 10 ms without importing anything anew (a spawned one takes 0.1-0.2 s, a
    large share of a small run, and of every stage of a multi-stage one). The forkserver lives as long as this
    process, so each worker takes this run's environment and directory (`_worker_setup`).
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([_function_module(fn)])
    setup = (dict(os.environ), os.getcwd(), init)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_setup, initargs=setup)


def start_forkserver(modules: Sequence[str]) -> None:
    """Start the local pools' forkserver now, importing `modules` (a command's unit functions), so that those
    imports (0.1-0.2 s) run beside the driver's own start-up instead of before its first unit. Later pools fork
    from this server; an already running one is kept."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(modules))
    multiprocessing.forkserver.ensure_running()


def _worker_setup(environ: dict[str, str], cwd: str, init: WorkerInit | None) -> None:
    """Forkserver worker initializer: the driver's environment and directory (the server outlives one run),
    termination as an exception, then the caller's own initializer."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    install_termination_handler()
    if init is not None:
        init()


class LocalExecutor:
    """A pool of `processes` worker processes; with one process, everything runs in this process.

    With `threads`, the workers are threads of this process instead: for unit functions whose work runs without
    the GIL (in the Rust core, in zlib), which then pay no worker start-up and no pickling of their results.
    """

    def __init__(self, processes: int = 1, threads: bool = False) -> None:
        if processes < 1:
            raise DolmaError(f"processes must be >= 1, got {processes}")
        self.processes = processes
        self.threads = threads

    def _workers(self, fn: Callable[..., Any], count: int, init: WorkerInit | None) -> FuturePool:
        """`count` worker threads, or worker processes set up by `init`."""
        if self.threads:
            return ThreadPoolExecutor(count, thread_name_prefix="dolma-worker")
        return _pool(fn, count, init)

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]:
        if self.processes == 1 or len(units) <= 1:
            for unit in units:
                yield unit, run_unit_safely(fn, unit)
            return
        with self._workers(fn, min(self.processes, len(units)), None) as pool:
            pending = {pool.submit(run_unit_safely, fn, unit): unit for unit in units}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = pending.pop(future)
                    try:
                        yield unit, future.result()
                    except BrokenProcessPool as err:
                        yield unit, UnitResult(key=unit.key, error=f"worker process died: {err}")

    def ordered_map(
        self, fn: Callable[[T], R], items: Sequence[T], window: int, worker_init: WorkerInit | None = None
    ) -> Iterator[R]:
        """In input order; one process (or one item) maps here, else in the pool's workers (`worker_init` runs in
        worker processes only)."""
        if window < 1:
            raise DolmaError(f"ordered_map window must be >= 1, got {window}")
        if self.processes == 1 or len(items) <= 1:
            for item in items:
                yield fn(item)
            return
        pool = self._workers(fn, min(self.processes, len(items)), worker_init)
        try:
            in_flight: deque[Future[R]] = deque()
            pending = iter(items)
            while True:
                try:  # a pool broken by a dead worker fails the next submit as well as the pending results
                    while len(in_flight) < window and (item := next(pending, _END)) is not _END:
                        in_flight.append(pool.submit(fn, item))
                    if not in_flight:
                        return
                    result = in_flight.popleft().result()
                except BrokenProcessPool as err:
                    raise WorkerLost(f"worker process died: {err}") from None
                yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _initialized_call(init: WorkerInit | None, fn: Callable[[T], R], item: T) -> R:
    """Ray task body for `ordered_map`: the worker initializer (idempotent), then `fn(item)`."""
    if init is not None:
        init()
    return fn(item)


class RayExecutor:
    """Runs each unit as a Ray task on the cluster at `address`; tasks are retried when a worker is lost."""

    def __init__(self, address: str, max_retries: int = 3, wait_window: int = RAY_WAIT_WINDOW) -> None:
        self.address = address
        self.max_retries = max_retries
        self.wait_window = wait_window

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]:
        ray = ray_connect(self.address)
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(run_unit_safely)
        unit_of = {task.remote(fn, unit): unit for unit in units}
        queued = deque(unit_of)
        waiting: list[Any] = []
        while queued or waiting:
            while queued and len(waiting) < self.wait_window:
                waiting.append(queued.popleft())
            done, waiting = ray.wait(waiting, num_returns=1)
            unit = unit_of.pop(done[0])
            try:
                yield unit, ray.get(done[0])
            except ray.exceptions.RayError as err:
                yield unit, UnitResult(key=unit.key, error=f"ray task failed after {self.max_retries} retries: {err}")

    def ordered_map(
        self, fn: Callable[[T], R], items: Sequence[T], window: int, worker_init: WorkerInit | None = None
    ) -> Iterator[R]:
        """In input order, one Ray task per item, `window` tasks in flight."""
        if window < 1:
            raise DolmaError(f"ordered_map window must be >= 1, got {window}")
        ray = ray_connect(self.address)
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(_initialized_call)
        in_flight: deque[Any] = deque()
        pending = iter(items)
        try:
            while True:
                while len(in_flight) < window and (item := next(pending, _END)) is not _END:
                    in_flight.append(task.remote(worker_init, fn, item))
                if not in_flight:
                    return
                try:
                    result = ray.get(in_flight.popleft())
                except ray.exceptions.RayTaskError as err:
                    raise err.as_instanceof_cause() from None
                except ray.exceptions.RayError as err:
                    raise WorkerLost(f"ray task failed after {self.max_retries} retries: {err}") from None
                yield result
        finally:
            for ref in in_flight:
                ray.cancel(ref)


def make_executor(processes: int, ray_address: str | None) -> Executor:
    """The Ray executor when an address is given, else the local pool."""
    if ray_address:
        return RayExecutor(ray_address)
    return LocalExecutor(processes)
