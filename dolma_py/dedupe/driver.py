"""The local writable run: files are hashed in parallel, then checked and inserted strictly in sorted order.

Workers hash files ahead of the driver (a bounded window of files in flight keeps memory flat); the driver
consumes their results in file order, so the first occurrence of a key is always the one earliest in
(file, line) order, whatever the process count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from functools import partial

from dolma_py.dedupe.keys import FileKeys, KeySpec, hash_unit, single_threaded_rust
from dolma_py.dedupe.output import write_attributes
from dolma_py.dedupe.session import Session
from dolma_py.exec.executors import LocalExecutor, WorkerLost
from dolma_py.exec.progress import Progress
from dolma_py.exec.runner import RunSummary
from dolma_py.exec.units import Unit, UnitResult

FILES_IN_FLIGHT_PER_PROCESS = 2


def ordered_hashes(spec: KeySpec, units: list[Unit], processes: int) -> Iterator[tuple[Unit, FileKeys | UnitResult]]:
    """Hash results in `units` order (the executor's ordered map); up to 2 files per process are hashed ahead.

    A lost worker ends the sequence with a failed result for the file it was hashing.
    """
    paths = [unit.inputs[0] for unit in units]
    window = processes * FILES_IN_FLIGHT_PER_PROCESS
    hashed = LocalExecutor(processes).ordered_map(
        partial(hash_unit, spec), paths, window, worker_init=single_threaded_rust
    )
    with closing(hashed):  # an early stop (a failed file, saturation) shuts the pool down now, not at GC
        for unit in units:
            try:
                yield unit, next(hashed)
            except WorkerLost as err:
                yield unit, UnitResult(key=unit.key, error=str(err))
                return


def run_local(session: Session, processes: int, summary: RunSummary, progress: bool) -> None:
    """Check-and-insert every remaining file in order, writing attributes and checkpointing as it goes.

    The first failing file stops the run after a checkpoint of the files before it; a rerun resumes there.
    """
    spec = session.spec
    attribute = session.config.dedupe.attribute_name
    filt = session.load_local_filter()
    session.start_watch(filt.num_bits, filt.num_hashes, filt.layout, filt.estimated_items())
    bar = Progress("dedupe", len(session.todo)) if progress and session.todo else None
    results = ordered_hashes(spec, session.todo, processes)
    try:
        for unit, hashed in results:
            if isinstance(hashed, UnitResult):
                summary.add(hashed)
                break
            seen = hashed.lookup(filt.check_and_insert)
            result = write_attributes(unit.outputs[0], hashed, attribute, seen, spec)
            summary.add(result)
            if bar:
                bar.update(result)
            session.record(unit, result)
            if session.due():
                session.checkpoint(filt.save)
    finally:
        results.close()
        if bar:
            bar.close()
        session.checkpoint(filt.save)
    if summary.units_failed == 0:
        session.finish(filt.save, filt.describe())
