"""`dolma tag` as a stage: plan one unit per document file, tag it, write one attribute file per experiment."""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

import orjson

from dolma_py.config.tag import TagConfig, TaggerSpec
from dolma_py.data import Document
from dolma_py.errors import ConfigError, DataError, DolmaError
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io import paths
from dolma_py.io.atomic import atomic_write
from dolma_py.io.documents import BadLine, read_documents
from taggers.base import BaseTagger
from taggers.registry import create_tagger, load_tagger_modules, tagger_class


@dataclass(frozen=True)
class TagJob:
    """What every unit needs: the taggers grouped by experiment, and how to treat bad lines."""

    experiments: tuple[tuple[str, tuple[TaggerSpec, ...]], ...]
    tagger_modules: tuple[str, ...]
    skip_bad_lines: bool
    batch_size: int


def experiment_groups(config: TagConfig) -> tuple[tuple[str, tuple[TaggerSpec, ...]], ...]:
    """One experiment holding every tagger, or (dolma's default) one experiment per tagger named after it."""
    specs = config.tagger_specs
    if config.experiment:
        return ((paths.sanitize_name(config.experiment), tuple(specs)),)
    return tuple((paths.sanitize_name(spec.name), (spec,)) for spec in specs)


def check_taggers(config: TagConfig) -> None:
    """Fail before any work on unknown taggers or options they do not take."""
    load_tagger_modules(config.tagger_modules)
    for spec in config.tagger_specs:
        try:
            cls = tagger_class(spec.name)
        except KeyError as err:
            raise ConfigError(str(err)) from None
        try:
            inspect.signature(cls).bind(**dict(spec.options))
        except TypeError as err:
            raise ConfigError(f"tagger {spec.name!r}: {err}") from None


def build_taggers(job: TagJob) -> None:
    """Build the taggers in this process before any file is read, so a missing model or list file fails the run
    up front; units run in this process (one process) then reuse them."""
    _load_taggers(job)


def _build(spec: TaggerSpec) -> BaseTagger:
    try:
        return create_tagger(spec.name, dict(spec.options))
    except (DolmaError, ValueError, OSError) as err:
        raise ConfigError(f"tagger {spec.name!r}: {err}") from None


def output_paths(config: TagConfig, doc_path: str, pattern_index: int, experiments: list[str]) -> tuple[str, ...]:
    """Attribute file per experiment for one documents file, mirroring dolma's layout or `destination`."""
    if config.destination is None:
        return tuple(paths.attributes_path(doc_path, exp) for exp in experiments)
    root = config.destination[pattern_index]
    prefix = paths.static_prefix(config.documents[pattern_index])
    name = paths.attribute_file_name(doc_path)
    if len(experiments) == 1:
        return (paths.rebase(name, prefix, root),)
    return tuple(paths.rebase(name, prefix, paths.join(root, exp)) for exp in experiments)


def plan(config: TagConfig) -> list[Unit]:
    """One unit per input file, in sorted order; a file matched by several patterns is planned once."""
    experiments = [name for name, _ in experiment_groups(config)]
    units: dict[str, Unit] = {}
    for index, pattern in enumerate(config.documents):
        for doc_path in paths.expand([pattern]):
            if doc_path not in units:
                outputs = output_paths(config, doc_path, index, experiments)
                units[doc_path] = Unit(key=doc_path, inputs=(doc_path,), outputs=outputs)
    return [units[key] for key in sorted(units)]


_TAGGER_CACHE: dict[tuple[str, tuple[str, ...]], list[tuple[str, list[BaseTagger]]]] = {}


def _load_taggers(job: TagJob) -> list[tuple[str, list[BaseTagger]]]:
    """Taggers are built once per process and reused across units (models stay loaded)."""
    cache_key = (repr(job.experiments), job.tagger_modules)  # repr: options may hold lists and mappings
    if cache_key not in _TAGGER_CACHE:
        load_tagger_modules(job.tagger_modules)
        _TAGGER_CACHE[cache_key] = [(exp, [_build(spec) for spec in specs]) for exp, specs in job.experiments]
    return _TAGGER_CACHE[cache_key]


def _batches(items: Iterator[Document | BadLine], size: int) -> Iterator[list[Document | BadLine]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def tag_file(job: TagJob, unit: Unit) -> UnitResult:
    """Tag one documents file; outputs appear only if the whole file succeeds."""
    (doc_path,) = unit.inputs
    groups = _load_taggers(job)
    prefixes = [[f"{exp}__{paths.sanitize_name(t.name)}__" for t in taggers] for exp, taggers in groups]
    key_cache: dict[tuple[str, str], str] = {}
    documents = bad_lines = 0
    with ExitStack() as stack:
        sinks: list[IO[bytes]] = [stack.enter_context(atomic_write(path)) for path in unit.outputs]
        for batch in _batches(read_documents(doc_path), job.batch_size):
            docs = [item for item in batch if isinstance(item, Document)]
            for item in batch:
                if isinstance(item, BadLine):
                    if not job.skip_bad_lines:
                        raise DataError(doc_path, item.line, item.error)
                    bad_lines += 1
            documents += len(docs)
            for (_, taggers), group_prefixes, sink in zip(groups, prefixes, sinks, strict=False):
                results = [tagger.tag_batch(docs) for tagger in taggers]
                doc_index = 0
                lines = []
                for item in batch:
                    if isinstance(item, BadLine):
                        lines.append(orjson.dumps({"id": item.doc_id, "attributes": {}}))
                        continue
                    attributes: dict[str, list[list[Any]]] = {}
                    for prefix, result in zip(group_prefixes, results, strict=False):
                        for key, spans in result[doc_index].items():
                            full = key_cache.get((prefix, key))
                            if full is None:
                                full = key_cache[(prefix, key)] = prefix + paths.sanitize_name(key)
                            attributes[full] = [span.to_json() for span in spans]
                    lines.append(orjson.dumps({"id": item.id, "attributes": attributes}))
                    doc_index += 1
                if lines:
                    sink.write(b"\n".join(lines) + b"\n")
    return UnitResult(key=unit.key, documents=documents, bad_lines=bad_lines)


def summary_path(units: list[Unit]) -> str | None:
    """The run summary sits in the deepest directory containing every output."""
    outputs = [path for unit in units for path in unit.outputs]
    return paths.join(paths.common_dir(outputs), "_dolma_tag_summary.json") if outputs else None


def run_tag(config: TagConfig, *, progress: bool = True) -> tuple[RunSummary, str | None]:
    """Validate taggers, plan, and run `dolma tag`; returns the summary and where it was written."""
    check_taggers(config)
    units = plan(config)
    job = TagJob(
        experiments=experiment_groups(config),
        tagger_modules=tuple(config.tagger_modules),
        skip_bad_lines=config.skip_bad_lines,
        batch_size=config.batch_size,
    )
    build_taggers(job)
    options = ExecOptions(
        processes=config.processes,
        ray_address=config.ray_address,
        overwrite=config.overwrite or config.ignore_existing,
        progress=progress,
    )
    where = summary_path(units)
    return run_stage("tag", units, partial(tag_file, job), options, where), where
