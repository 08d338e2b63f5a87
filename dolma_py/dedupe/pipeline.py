"""`dolma dedupe` as a stage: plan, then apply a read-only filter file by file, run the ordered driver, or (with
`dedupe.minhash`) run fuzzy dedupe's stages."""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.dedupe import remote_filter
from dolma_py.dedupe.filters import PartitionedFilter, check_sidecar, filter_exists
from dolma_py.dedupe.keys import KeySpec, hash_file
from dolma_py.dedupe.output import write_attributes
from dolma_py.dedupe.plan import DedupeJob, plan, summary_path
from dolma_py.dedupe.session import SaveFilter, Session
from dolma_py.errors import ConfigError
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summarized_run
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.paths import is_s3

_READ_ONLY_FILTERS: dict[tuple[str, int], PartitionedFilter] = {}


def _read_only_filter(path: str, partitions: int) -> PartitionedFilter:
    """One memory-mapped filter per process, shared by every unit it runs (pages are shared between processes)."""
    key = (path, partitions)
    if key not in _READ_ONLY_FILTERS:
        _READ_ONLY_FILTERS[key] = PartitionedFilter.load(path, partitions, read_only=True, mmap=True)
    return _READ_ONLY_FILTERS[key]


def apply_file(job: DedupeJob, unit: Unit) -> UnitResult:
    """Read-only unit: look every key up (nothing is inserted), so files are independent and run in any order."""
    keys = hash_file(job.spec, unit.inputs[0])
    seen = keys.lookup(_read_only_filter(job.filter_file, job.partitions).contains)
    return write_attributes(unit.outputs[0], keys, job.attribute, seen, job.spec)


def run_read_only(config: DedupeConfig, units: list[Unit], where: str | None, progress: bool) -> RunSummary:
    """Decontamination and other lookups against an existing filter: a plain resumable stage."""
    bloom = config.bloom_filter
    if not filter_exists(bloom.file, bloom.partitions):
        raise ConfigError(f"bloom_filter.read_only is set but {bloom.file} does not exist; build the filter first")
    seed = PartitionedFilter.load(bloom.file, bloom.partitions, read_only=True, mmap=True).seed
    spec = KeySpec.from_config(config, seed)
    check_sidecar(bloom.file, spec.hashing_identity())
    job = DedupeJob(spec=spec, attribute=config.dedupe.attribute_name, filter_file=bloom.file,
                    partitions=bloom.partitions)
    options = ExecOptions(processes=config.processes, ray_address=config.ray_address, overwrite=config.overwrite,
                          progress=progress)
    return run_stage("dedupe", units, partial(apply_file, job), options, where)


def run_writable(config: DedupeConfig, units: list[Unit], where: str | None, progress: bool) -> RunSummary:
    """Insert files in order (locally or into Ray actors), resuming from the last checkpoint.

    Holds the run lock on the attribute directories and the filter's (the filter and its checkpoints are outputs);
    a filter on S3 is locked where it lives, then fetched, so two runs on one S3 filter never both insert.
    """
    bloom = config.bloom_filter
    lock = [*(path for unit in units for path in unit.outputs), bloom.file, *([where] if where else [])]
    with summarized_run("dedupe", where, lock, len(units)) as summary:
        mirror: SaveFilter | None = None
        if is_s3(bloom.file):
            local = remote_filter.fetch(bloom.file, bloom.partitions, config.work_dir.output, read_only=False)
            mirror = partial(remote_filter.upload, bloom.file, bloom.partitions)
            config = replace(config, bloom_filter=replace(bloom, file=local))
        session = Session(config, units, overwrite=config.overwrite, mirror=mirror)
        summary.units_skipped = len(units) - len(session.todo)
        if session.finished:
            print(f"dedupe: all {len(units)} files are already in the filter; nothing to do "
                  "(--overwrite recomputes them from the starting filter)", file=sys.stderr)
            if not filter_exists(config.bloom_filter.file, config.bloom_filter.partitions):
                session.publish()
        elif config.ray_address:
            from dolma_py.dedupe.ray_filter import run_ray

            run_ray(session, config.ray_address, summary, progress)
        else:
            from dolma_py.dedupe.driver import run_local

            run_local(session, config.processes, summary, progress)
        if session.watch is not None:
            summary.gauges["bloom_filter_distinct_keys"] = session.watch.keys
            summary.gauges["bloom_filter_expected_false_positive_rate"] = session.watch.rate
    return summary


def run_dedupe(config: DedupeConfig, *, progress: bool = True) -> tuple[RunSummary, str | None]:
    """Plan and run `dolma dedupe`; returns the summary and where it was written."""
    units = plan(config)
    where = summary_path(units)
    if config.dedupe.minhash is not None:
        from dolma_py.dedupe.fuzzy.pipeline import run_fuzzy

        return run_fuzzy(config, units, where, progress), where
    bloom = config.bloom_filter
    assert bloom is not None  # validated: exact modes have a filter
    if not bloom.read_only:
        return run_writable(config, units, where, progress), where
    if is_s3(bloom.file):
        local = remote_filter.fetch(bloom.file, bloom.partitions, config.work_dir.output, read_only=True)
        config = replace(config, bloom_filter=replace(bloom, file=local))
    return run_read_only(config, units, where, progress), where
