"""`dolma mix` as two stages: parts (one unit per input file), then shards (one unit per output shard).

Per stream, parts and manifests live in `<output>/.mix_parts/<stream>-<fingerprint>/`, where the fingerprint
hashes everything that decides their contents; shard units keep their completion markers there. Units are
complete when their outputs exist and their markers match the config and the inputs' current size and mtime (ETag
on S3), so an interrupted run resumes where it stopped and re-tagged attributes or regenerated documents are redone.
When a stream is done its report `_dolma_mix_report_<stream>.json` is written, then its marker (the same record, over
every document and attribute file), and the staging directory removed. A later run skips the stream if both match,
redoes it if only the inputs' contents changed, and refuses to mix over outputs of another config or input list.
The whole run holds the lock on every stream's output directory.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import xxhash

from dolma_py.config.mix import MixConfig, StreamConfig
from dolma_py.config.schema import COMPRESSION_NAMES
from dolma_py.errors import ConfigError
from dolma_py.exec.lenient import lenient_options
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summarized_run, summary_directory, summary_file
from dolma_py.exec.units import Unit, input_states
from dolma_py.io import paths
from dolma_py.io.atomic import write_bytes
from dolma_py.io.compression import config_codec_for
from dolma_py.io.documents import open_read
from dolma_py.io.lock import ensure_held
from dolma_py.io.storage import exists, list_files, remove
from mixers.stream.assemble import ShardTask, merge_segments, pack, write_shard
from mixers.stream.filters import DocFilter, compile_span_rules
from mixers.stream.parts import SHARD_SUFFIX
from mixers.stream.process import FORMAT_VERSION, FileTask, StreamJob, process_file
from mixers.stream.report import StreamReport

STAGING_DIR = ".mix_parts"


@dataclass
class StreamPlan:
    """A stream resolved against the file system: its job, inputs, and where everything goes."""

    config: StreamConfig
    job: StreamJob
    tasks: list[FileTask]
    staging: str
    report_path: str
    inputs_digest: str
    status: str = "pending"
    error: str | None = None
    shards: list[ShardTask] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def shard_suffix(self) -> str:
        return SHARD_SUFFIX[self.job.output_codec]

    def shard_path(self, index: int, last: bool) -> str:
        """dolma 1.2.1's names: `<stream>-NNNN.jsonl<codec>` for each full shard, `.json<codec>` for the last."""
        suffix = self.shard_suffix if last else self.shard_suffix.replace(".json", ".jsonl", 1)
        return paths.join(self.config.output.path, f"{self.name}-{index:04d}{suffix}")

    def mirror_path(self, doc_path: str) -> str:
        """With `shuffle: false`, dolma writes each input to `<output>/documents/<its path below documents/>`."""
        _, sep, below = doc_path.rpartition("/documents/")
        if not sep:
            raise ConfigError(f"stream {self.name!r}: shuffle: false needs inputs below documents/: {doc_path}")
        suffix_codec = config_codec_for(doc_path)
        if suffix_codec != self.job.output_codec:
            raise ConfigError(
                f"stream {self.name!r}: shuffle: false keeps input names, but {doc_path} is not "
                f"{self.job.output_codec or 'uncompressed'} like the output (set compression.output to match)"
            )
        return paths.join(self.config.output.path, "documents", below)

    @property
    def unit(self) -> Unit:
        """The whole stream as one unit: every documents and attribute file in, the report out (marker beside it)."""
        inputs = tuple(path for task in self.tasks for path in (task.doc_path, *task.attribute_paths))
        return Unit(key=self.name, inputs=inputs, outputs=(self.report_path,))


def _codec(value: str | None, default: str | None) -> str | None:
    return default if value is None else COMPRESSION_NAMES[value.lower()]


def make_job(stream: StreamConfig, config: MixConfig) -> StreamJob:
    """The part-deciding settings of a stream."""
    return StreamJob(
        name=stream.name,
        filter=stream.filter,
        span_replacement=tuple(stream.span_replacement),
        discard_fields=tuple(stream.output.discard_fields),
        min_text_length=stream.output.min_text_length or 0,
        sample=stream.sample,
        upsample=stream.upsample,
        seed=config.seed,
        input_codec=_codec(stream.compression.input, None),
        infer_input_codec=stream.compression.input is None,
        output_codec=_codec(stream.compression.output, "gz"),
        max_shard_bytes=stream.output.max_size_in_bytes,
        fail_on_jq_error=config.fail_on_jq_error,
    )


def _part_name(doc_path: str) -> str:
    return f"{xxhash.xxh64_hexdigest(doc_path.encode())}-{paths.sanitize_name(os.path.basename(doc_path))}"


def plan_stream(stream: StreamConfig, config: MixConfig) -> StreamPlan:
    """Expand a stream's documents, derive its attribute files, and validate its expressions (ConfigError)."""
    job = make_job(stream, config)
    DocFilter(job.filter, Counter(), fail_on_jq_error=False)  # compiles every expression: errors surface now
    compile_span_rules(list(job.span_replacement), Counter(), fail_on_jq_error=False)
    inputs = paths.expand(stream.documents)
    staging = paths.join(stream.output.path, STAGING_DIR, f"{stream.name}-{job.fingerprint()}")
    tasks = []
    for doc_path in inputs:
        attribute_paths = tuple(paths.attributes_path(doc_path, name) for name in stream.attributes)
        base = paths.join(staging, _part_name(doc_path))
        tasks.append(FileTask(job, doc_path, attribute_paths, base + ".part", base + ".manifest.json"))
    digest = hashlib.sha256("\n".join(inputs).encode()).hexdigest()[:16]
    report_path = paths.join(stream.output.path, f"_dolma_mix_report_{stream.name}.json")
    return StreamPlan(stream, job, tasks, staging, report_path, digest)


def _previous_report(plan: StreamPlan) -> dict[str, Any] | None:
    if not exists(plan.report_path):
        return None
    with open_read(plan.report_path) as stream:
        return orjson.loads(stream.read())


def _check_resume(plan: StreamPlan, overwrite: bool) -> None:
    """Mark a stream done when its report and marker match; refuse to mix over outputs of another config."""
    if overwrite:
        return
    previous = _previous_report(plan)
    if previous is None or previous.get("format", 0) != FORMAT_VERSION:
        return  # nothing yet, or written by another version of the part format: redo the stream
    if previous.get("fingerprint") == plan.job.fingerprint() and previous.get("inputs_digest") == plan.inputs_digest:
        if plan.unit.is_complete(plan.job.fingerprint(), strict=plan.job.fail_on_jq_error):
            plan.status = "skipped"
        return  # same config and input list, but an input changed (or the marker is missing): redo the stream
    raise ConfigError(
        f"stream {plan.name!r}: {plan.report_path} was written by a run with a different config or inputs; "
        "pass --overwrite to redo it, or choose another output path"
    )


def _input_states(plan: StreamPlan) -> dict[str, list[Any]] | None:
    """The stream's input states before any work (None when a file is missing: its unit reports that)."""
    try:
        return input_states(plan.unit.inputs)
    except Exception:  # noqa: BLE001 - the failing file's own unit gives the error
        return None


def _read_manifests(plan: StreamPlan) -> None:
    plan.manifests = []
    for task in plan.tasks:
        with open_read(task.manifest_path) as stream:
            plan.manifests.append(orjson.loads(stream.read()))


def _plan_shards(plan: StreamPlan, shuffle: bool) -> None:
    """Shards packed up to the size limit; with dolma's `shuffle: false`, one output per input at its mirrored path."""
    parts = [(m["part"], m["chunks"]) for m in plan.manifests]
    if shuffle:
        groups = pack(parts, plan.config.output.max_size_in_bytes)
        names = [plan.shard_path(index, last=index == len(groups) - 1) for index in range(len(groups))]
    else:
        groups = [[(part, *chunk) for chunk in chunks] for part, chunks in parts]
        names = [plan.mirror_path(task.doc_path) for task in plan.tasks]
    plan.shards = [
        ShardTask(
            path=name,
            marker=paths.join(plan.staging, f"shard-{index:04d}.done"),
            segments=merge_segments(chunks),
            documents=sum(chunk[3] for chunk in chunks),
        )
        for index, (name, chunks) in enumerate(zip(names, groups, strict=True))
    ]


def _remove_stale_shards(plan: StreamPlan) -> list[str]:
    """Delete this stream's shard files not in the new shard list, left by an earlier run: numbered
    past the new last shard, of another codec, or under the `.jsonl` names of dolma_py before 0.2."""
    pattern = re.compile(rf"{re.escape(plan.name)}-\d{{4,}}\.jsonl?(?:\.gz|\.zst)?\Z")
    current = {shard.path.rsplit("/", 1)[-1] for shard in plan.shards}
    directory = plan.config.output.path
    if paths.is_s3(directory):
        prefix = directory.rstrip("/") + "/"
        names = [p[len(prefix) :] for p in list_files(prefix) if "/" not in p[len(prefix) :]]
    else:
        names = os.listdir(directory) if os.path.isdir(directory) else []
    removed = []
    for name in sorted(names):
        if pattern.match(name) and name not in current:
            remove(paths.join(directory, name))
            removed.append(name)
    return removed


def _remove_staging(plan: StreamPlan) -> None:
    if paths.is_s3(plan.staging):
        for path in list_files(plan.staging.rstrip("/") + "/"):
            remove(path)
        return
    shutil.rmtree(plan.staging, ignore_errors=True)
    try:
        os.rmdir(paths.parent(plan.staging))
    except OSError:
        pass  # other streams still stage there


def summary_path(config: MixConfig) -> str:
    """`_dolma_mix_summary.json` in the deepest directory holding every stream's output."""
    return summary_file(summary_directory([stream.output.path for stream in config.streams]), "mix")


def run_mix(config: MixConfig, *, progress: bool = True) -> tuple[list[StreamReport], RunSummary]:
    """Plan, lock every stream's output directory, run both stages, write one report per completed stream and the
    run summary (at `summary_path`)."""
    plans = [plan_stream(stream, config) for stream in config.streams]
    where = summary_path(config)
    with summarized_run("mix", where, [where, *(plan.report_path for plan in plans)]) as summary:
        reports, stages = _run_locked(config, plans, progress)
        for stage in stages:  # the parts stage ("mix") reads the documents, the shards stage rewrites them
            summary.include(stage, documents=stage.command == "mix")
    return reports, summary


def _run_locked(
    config: MixConfig, plans: list[StreamPlan], progress: bool
) -> tuple[list[StreamReport], list[RunSummary]]:
    for plan in plans:
        _check_resume(plan, config.overwrite)
    states = {plan.name: _input_states(plan) for plan in plans if plan.status == "pending"}
    for plan in plans:
        if plan.status == "pending":
            remove(plan.unit.marker)  # an old marker must not vouch for a report this run rewrites
    options = ExecOptions(config.processes, config.ray_address, config.overwrite, progress)
    active = [plan for plan in plans if plan.status == "pending"]

    part_units = [
        Unit(
            key=task.doc_path if len(active) == 1 else f"{plan.name}:{task.doc_path}",
            inputs=(task.doc_path, *task.attribute_paths),
            outputs=(task.part_path, task.manifest_path),
            params=task,
        )
        for plan in active
        for task in plan.tasks
    ]
    summaries = [run_stage("mix", part_units, process_file, options)] if part_units else []
    failed_keys = {failure["unit"]: failure["error"] for s in summaries for failure in s.failures}
    for plan in active:
        errors = [failed_keys[u.key] for u in part_units if u.params.job is plan.job and u.key in failed_keys]
        if errors:
            plan.status, plan.error = "failed", f"{len(errors)} input file(s) failed; first: {errors[0]}"
            continue
        _read_manifests(plan)
        _plan_shards(plan, config.shuffle)

    shard_units = [
        Unit(
            key=shard.path,
            inputs=tuple(dict.fromkeys(s.part for s in shard.segments)),
            outputs=(shard.path,),
            params=shard,
            marker_path=shard.marker,
        )
        for plan in active
        if plan.status == "pending"
        for shard in plan.shards
    ]
    if shard_units:
        summary = run_stage("mix shards", shard_units, write_shard, options)
        summaries.append(summary)
        failed_shards = {failure["unit"]: failure["error"] for failure in summary.failures}
        for plan in active:
            errors = [failed_shards[s.path] for s in plan.shards if s.path in failed_shards]
            if plan.status == "pending" and errors:
                plan.status, plan.error = "failed", f"{len(errors)} shard(s) failed; first: {errors[0]}"

    reports = []
    for plan in plans:
        if plan.status == "skipped":
            reports.append(StreamReport.load(plan.name, plan.report_path, _previous_report(plan) or {}))
            _remove_staging(plan)  # left behind if an earlier run stopped right after writing the report
            continue
        if plan.status == "failed":
            reports.append(StreamReport.failed(plan.name, plan.report_path, plan.error or "failed"))
            continue
        report = StreamReport.build(plan)
        report.removed_stale = _remove_stale_shards(plan) if config.shuffle else []
        report.lenient = lenient_options(config)
        ensure_held()
        write_bytes(plan.report_path, report.to_json(), compress=False)
        state = states[plan.name]
        if state is not None:
            plan.unit.write_marker(plan.job.fingerprint(), state, lenient_used=bool(report.jq_errors))
        _remove_staging(plan)
        plan.status = "done"
        reports.append(report)
    return reports, summaries


def describe_plan(config: MixConfig) -> list[str]:
    """The dry-run listing: per stream, its inputs, attribute files and output location."""
    lines = []
    for stream in config.streams:
        plan = plan_stream(stream, config)
        lines.append(
            f"stream {plan.name}: {len(plan.tasks)} input file(s) -> {stream.output.path}/"
            f"{plan.name}-NNNN{plan.shard_suffix} (max {stream.output.max_size_in_bytes:,} bytes each)"
        )
        for task in plan.tasks:
            extra = f" + {', '.join(task.attribute_paths)}" if task.attribute_paths else ""
            lines.append(f"  {task.doc_path}{extra}")
    return lines
