"""Executors: the local process pool (default) and Ray; both run the same pure unit function."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from dolma_py.errors import DolmaError
from dolma_py.exec.units import Unit, UnitFunction, UnitResult, run_unit_safely
from dolma_py.io.atomic import install_termination_handler


class Executor(Protocol):
    """Runs units and yields each with its result as it finishes (in any order)."""

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]: ...


class LocalExecutor:
    """A pool of `processes` worker processes; with one process, units run in this process."""

    def __init__(self, processes: int = 1) -> None:
        if processes < 1:
            raise DolmaError(f"processes must be >= 1, got {processes}")
        self.processes = processes

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]:
        if self.processes == 1 or len(units) <= 1:
            for unit in units:
                yield unit, run_unit_safely(fn, unit)
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.processes, len(units))
        # workers turn SIGTERM into an exception, so a terminated unit aborts its S3 uploads
        with ProcessPoolExecutor(workers, mp_context=context, initializer=install_termination_handler) as pool:
            pending = {pool.submit(run_unit_safely, fn, unit): unit for unit in units}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = pending.pop(future)
                    try:
                        yield unit, future.result()
                    except BrokenProcessPool as err:
                        yield unit, UnitResult(key=unit.key, error=f"worker process died: {err}")


class RayExecutor:
    """Runs each unit as a Ray task on the cluster at `address`; tasks are retried when a worker is lost."""

    def __init__(self, address: str, max_retries: int = 3) -> None:
        self.address = address
        self.max_retries = max_retries

    def run(self, fn: UnitFunction, units: list[Unit]) -> Iterator[tuple[Unit, UnitResult]]:
        try:
            import ray
        except ImportError as err:
            raise DolmaError("--ray-address needs the ray extra: pip install 'dolma-py[ray]'") from err
        if not ray.is_initialized():
            ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        task = ray.remote(max_retries=self.max_retries, retry_exceptions=False)(run_unit_safely)
        refs = {task.remote(fn, unit): unit for unit in units}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            unit = refs.pop(done[0])
            try:
                yield unit, ray.get(done[0])
            except ray.exceptions.RayError as err:
                yield unit, UnitResult(key=unit.key, error=f"ray task failed after {self.max_retries} retries: {err}")


def make_executor(processes: int, ray_address: str | None) -> Executor:
    """The Ray executor when an address is given, else the local pool."""
    if ray_address:
        return RayExecutor(ray_address)
    return LocalExecutor(processes)

