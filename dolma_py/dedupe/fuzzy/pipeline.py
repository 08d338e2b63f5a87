"""`dolma dedupe` with `dedupe.minhash`: the four stages under one run lock and one run summary.

Each stage is a `run_stage` of units with markers, so a killed run, rerun, redoes only what it had not finished:
signatures (per document file) and output (per document file) run on the executor (the pool or Ray tasks),
buckets (per partition) too, and the cluster unit in the driver. Every unit's inputs are the previous stage's
files, so a redone file redoes what depends on it; outputs depend only on the plan and the config.
"""

from __future__ import annotations

from functools import partial

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.dedupe.fuzzy.buckets import buckets_unit, edges_inputs, ensure_dirs
from dolma_py.dedupe.fuzzy.cluster import cluster_inputs, cluster_unit
from dolma_py.dedupe.fuzzy.output import output_unit
from dolma_py.dedupe.fuzzy.signatures import signatures_unit
from dolma_py.dedupe.fuzzy.spec import FuzzySpec
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summarized_run
from dolma_py.exec.units import Unit
from dolma_py.io.atomic import crash_point
from dolma_py.io.paths import join, parent


def default_work_dir(where: str | None, units: list[Unit]) -> str:
    """`_minhash/` beside the run summary (in attributes/<name>/), or beside the first attribute file."""
    base = parent(where) if where else parent(units[0].outputs[0])
    return join(base, "_minhash")


def stage_units(spec: FuzzySpec, units: list[Unit]) -> dict[str, list[Unit]]:
    """The units of each stage, with their inputs (what they read) and outputs (what they write)."""
    signatures = [
        Unit(key=f"signatures:{unit.key}", inputs=unit.inputs, outputs=spec.signature_files(index), params=index)
        for index, unit in enumerate(units)
    ]
    runs = edges_inputs(spec, len(units))
    buckets = [
        Unit(key=f"buckets:{p:05d}", inputs=runs, outputs=(spec.edges_file(p),), params=p)
        for p in range(spec.partitions)
    ]
    cluster = [Unit(key="cluster", inputs=cluster_inputs(spec, len(units)), outputs=(spec.clusters_file,))]
    output = [
        Unit(
            key=unit.key,
            inputs=(*unit.inputs, *spec.signature_files(index)[1:3], spec.clusters_file),
            outputs=unit.outputs,
            params=index,
        )
        for index, unit in enumerate(units)
    ]
    return {"signatures": signatures, "buckets": buckets, "cluster": cluster, "output": output}


def run_fuzzy(config: DedupeConfig, units: list[Unit], where: str | None, progress: bool) -> RunSummary:
    """Run the four stages; the summary counts documents once (from the signatures stage)."""
    spec = FuzzySpec.from_config(config, len(units), default_work_dir(where, units))
    stages = stage_units(spec, units)
    options = ExecOptions(
        processes=config.processes, ray_address=config.ray_address, overwrite=config.overwrite, progress=progress
    )
    in_driver = ExecOptions(processes=1, overwrite=config.overwrite, progress=False)
    functions = {"signatures": signatures_unit, "buckets": buckets_unit, "cluster": cluster_unit, "output": output_unit}
    lock = [
        *(path for unit in units for path in unit.outputs),
        join(spec.work, "signatures", "x"),
        join(spec.work, "buckets", "x"),
        join(spec.work, "x"),
        *([where] if where else []),
    ]
    total = sum(len(stage) for stage in stages.values())
    with summarized_run("dedupe", where, lock, total) as summary:
        summary.units_total = 0
        ensure_dirs(spec)
        for name, stage in stages.items():
            if not stage:
                continue
            result = run_stage(
                f"dedupe {name}", stage, partial(functions[name], spec), in_driver if name == "cluster" else options
            )
            summary.include(result, documents=name == "signatures")
            crash_point(f"minhash:after_{name}")  # tests: a kill between stages
            if not result.ok:
                break
    return summary
