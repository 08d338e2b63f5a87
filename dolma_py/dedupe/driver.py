"""The local writable run: files are hashed in parallel, then checked and inserted strictly in sorted order.

Workers hash files ahead of the driver (a bounded window of files in flight keeps memory flat); the driver
consumes their results in file order, so the first occurrence of a key is always the one earliest in
(file, line) order, whatever the process count.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from dolma_py.dedupe.keys import FileKeys, KeySpec, hash_unit, single_threaded_rust
from dolma_py.dedupe.output import write_attributes
from dolma_py.dedupe.session import Session
from dolma_py.exec.progress import Progress
from dolma_py.exec.runner import RunSummary
from dolma_py.exec.units import Unit, UnitResult

FILES_IN_FLIGHT_PER_PROCESS = 2


def _worker_setup(environ: dict[str, str], cwd: str) -> None:
    """Worker initializer: the driver's environment and directory, and single-threaded Rust kernels."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    single_threaded_rust()


def ordered_hashes(spec: KeySpec, units: list[Unit], processes: int) -> Iterator[tuple[Unit, FileKeys | UnitResult]]:
    """Hash results in `units` order; with several processes, up to 2 files per process are hashed ahead."""
    if processes == 1 or len(units) <= 1:
        for unit in units:
            yield unit, hash_unit(spec, unit.inputs[0])
        return
    # Workers fork from a server that imported the hashing code once, instead of each importing it anew; the
    # server is shared for the life of this process, so each worker takes this run's environment and directory.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([hash_unit.__module__])
    setup = (dict(os.environ), os.getcwd())
    with ProcessPoolExecutor(processes, mp_context=context, initializer=_worker_setup, initargs=setup) as pool:
        window: deque[tuple[Unit, Future]] = deque()
        pending = iter(units)
        for unit in pending:
            window.append((unit, pool.submit(hash_unit, spec, unit.inputs[0])))
            if len(window) >= processes * FILES_IN_FLIGHT_PER_PROCESS:
                break
        while window:
            unit, future = window.popleft()
            try:
                result = future.result()
            except BrokenProcessPool as err:
                yield unit, UnitResult(key=unit.key, error=f"worker process died: {err}")
                return
            following = next(pending, None)
            if following is not None:
                window.append((following, pool.submit(hash_unit, spec, following.inputs[0])))
            yield unit, result


def run_local(session: Session, processes: int, summary: RunSummary, progress: bool) -> None:
    """Check-and-insert every remaining file in order, writing attributes and checkpointing as it goes.

    The first failing file stops the run after a checkpoint of the files before it; a rerun resumes there.
    """
    spec = session.spec
    attribute = session.config.dedupe.attribute_name
    filt = session.load_local_filter()
    session.start_watch(filt.num_bits, filt.num_hashes, filt.estimated_items())
    bar = Progress("dedupe", len(session.todo)) if progress and session.todo else None
    try:
        for unit, hashed in ordered_hashes(spec, session.todo, processes):
            if isinstance(hashed, UnitResult):
                summary.add(hashed)
                break
            seen = hashed.lookup(filt.check_and_insert)
            result = write_attributes(unit.outputs[0], hashed, attribute, seen, spec.overlap_threshold)
            summary.add(result)
            if bar:
                bar.update(result)
            session.record(unit, result)
            if session.due():
                session.checkpoint(filt.save)
    finally:
        if bar:
            bar.close()
        session.checkpoint(filt.save)
    if summary.units_failed == 0:
        session.finish(filt.save, filt.describe())
