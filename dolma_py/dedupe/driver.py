"""The local writable run: files are hashed in parallel, then checked and inserted strictly in sorted order.

Workers hash files ahead of the driver (a bounded window of files in flight keeps memory flat); the driver
consumes their results in file order, so the first occurrence of a key is always the one earliest in
(file, line) order, whatever the process count.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from functools import partial

from dolma_py.dedupe.keys import FileKeys, KeySpec, hash_unit, single_threaded_rust
from dolma_py.dedupe.output import write_attributes
from dolma_py.dedupe.session import Session
from dolma_py.errors import DolmaError
from dolma_py.exec.executors import LocalExecutor, WorkerLost
from dolma_py.exec.progress import Progress
from dolma_py.exec.runner import RunSummary
from dolma_py.exec.units import Unit, UnitResult

FILES_IN_FLIGHT_PER_PROCESS = 2
WRITES_IN_FLIGHT = 2
"""Attribute files written behind the check-and-insert (each holds one file's keys and spans in memory)."""


def ordered_hashes(
    spec: KeySpec, units: list[Unit], processes: int, threads: bool
) -> Iterator[tuple[Unit, FileKeys | UnitResult]]:
    """Hash results in `units` order (the executor's ordered map), on `processes` worker processes or threads; up
    to 2 files per worker are hashed ahead.

    A lost worker ends the sequence with a failed result for the file it was hashing.
    """
    paths = [unit.inputs[0] for unit in units]
    window = processes * FILES_IN_FLIGHT_PER_PROCESS
    hashed = LocalExecutor(processes, threads=threads).ordered_map(
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

    A file's attributes are scored, gzipped and fsynced in a writer thread while the next file is checked (zlib
    and fsync release the GIL); a file counts as inserted once its attributes are written, and a checkpoint waits
    for every write, so the saved filter holds exactly the recorded files. The first failing file stops the run
    after a checkpoint of the files before it; a rerun resumes there. If a write fails, the filter already holds
    keys of files that are not recorded, so no checkpoint is taken: a rerun redoes the files since the last one.
    """
    spec = session.spec
    attribute = session.config.dedupe.attribute_name
    filt = session.load_local_filter()
    fresh = session.start_path is None  # a new, empty filter: nothing to estimate
    session.start_watch(filt.num_bits, filt.num_hashes, filt.layout, 0.0 if fresh else filt.estimated_items())
    bar = Progress("dedupe", len(session.todo)) if progress and session.todo else None
    results = ordered_hashes(spec, session.todo, processes, session.config.hashes_on_threads)
    writes: deque[tuple[Unit, Future[UnitResult]]] = deque()

    def record_written(everything: bool) -> None:
        """Record, in order, the written files: all of them, or those done plus any beyond `WRITES_IN_FLIGHT`."""
        while writes and (everything or len(writes) > WRITES_IN_FLIGHT or writes[0][1].done()):
            unit, write = writes[0]
            result = write.result()  # a failed write stays queued, so the recovery below sees it
            writes.popleft()
            summary.add(result)
            if bar:
                bar.update(result)
            session.record(unit, result)

    consistent = False  # does the filter hold exactly the recorded files?
    with ThreadPoolExecutor(1, thread_name_prefix="dedupe-write") as writer:
        try:
            for unit, hashed in results:
                if isinstance(hashed, UnitResult):
                    record_written(everything=True)
                    summary.add(hashed)
                    break
                seen = hashed.lookup(filt.check_and_insert)
                writes.append((unit, writer.submit(write_attributes, unit.outputs[0], hashed, attribute, seen, spec)))
                record_written(everything=False)
                if session.due():
                    record_written(everything=True)
                    session.checkpoint(filt.save)
            description = writer.submit(filt.describe)  # its popcount runs beside the final save's I/O
            # every key is in the filter: save it while the last attribute files are written and recorded
            session.checkpoint(filt.save, alongside=partial(record_written, everything=True))
            consistent = True
        finally:
            results.close()
            if bar:
                bar.close()
            if not consistent:
                consistent = _record_what_was_written(writes, session, summary)
            if consistent:
                session.checkpoint(filt.save)
    if summary.units_failed == 0:
        session.finish(filt.save, description.result())


def _record_what_was_written(writes: deque[tuple[Unit, Future[UnitResult]]], session: Session,
                             summary: RunSummary) -> bool:
    """After an error: record the files whose attributes were written, in order, up to the first failed write;
    True when every inserted file is then recorded (an error while recording, such as saturation, comes after
    the file is recorded)."""
    while writes:
        unit, write = writes.popleft()
        try:
            result = write.result()
        except Exception:  # noqa: BLE001 - the error already propagating is the one reported
            return False
        summary.add(result)
        try:
            session.record(unit, result)
        except DolmaError:
            pass  # saturation: reported by the error already propagating, or once already
    return True
