"""`dolma tokens` end to end: stage 1 tokenizes each input file, stage 2 writes shuffled shards by shard index.

Both stages are lists of units run by the shared executor, so they resume (complete units are skipped) and give
byte-identical shards for any process count. A run record `.dolma_py-tokens.json` in the destination ties the shards
to the run's fingerprint: a rerun of a finished run does nothing, a different run into the same place is refused.
The whole run (both stages and the record's writes) holds the run lock on the destination and the work directory,
and writes `_dolma_tokens_summary.json` (the shared run-summary shape) in the destination.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from dolma_py.config.tokens import ID_TYPES, TokensConfig
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summarized_run, summary_file
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import write_bytes
from dolma_py.io.documents import open_read
from dolma_py.io.paths import expand, is_s3, join
from dolma_py.io.storage import exists, list_files, remove
from dolma_py.tokens.shards import RECORD_NAME, SHARD_PATTERN, IndexRow, shard_name, write_shard
from dolma_py.tokens.shuffle import ShardPlan, plan_shards, window_count, window_order
from dolma_py.tokens.tokenized_file import TokenizedFile, TokenizeParams, outputs_for, stem_for, tokenize_file
from dolma_py.tokens.tokenizer import DocumentEncoder, TokenizerSettings, choose_dtype, load_tokenizer


@dataclass(frozen=True)
class ShardParams:
    """What every stage-2 unit shares: the tokenized files and the shuffle that orders their documents."""

    stems: tuple[str, ...]
    dtype: str
    counts: tuple[int, ...]
    n_windows: int
    seed: int


@dataclass
class TokensResult:
    """Outcome of a run: where the shards are, how many, and the stage summaries."""

    destination: str
    dtype: str
    tokenizer: dict[str, Any] = field(default_factory=dict)
    shards: list[dict[str, Any]] = field(default_factory=list)
    documents: int = 0
    tokens: int = 0
    empty_documents: int = 0
    bad_lines: int = 0
    fingerprint: str = ""
    complete: bool = False
    stages: list[dict[str, Any]] = field(default_factory=list)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


def _settings(config: TokensConfig) -> TokenizerSettings:
    t = config.tokenizer
    if t is None:  # dolma's deprecated `tokenizer_name_or_path`: its EOS is the last id of the vocabulary
        name = config.tokenizer_name_or_path
        assert name is not None
        print("dolma: warning: 'tokenizer_name_or_path' is deprecated; use tokenizer.name_or_path and "
              "tokenizer.eos_token_id", file=sys.stderr)
        return TokenizerSettings(name, eos_token_id=len(load_tokenizer(name).get_vocab()) - 1)
    return TokenizerSettings(t.name_or_path, t.bos_token_id, t.eos_token_id, t.encode_special_tokens, t.fast_bpe)


def _work_dir(config: TokensConfig, fingerprint: str) -> str:
    work = config.work_dir.output or os.path.join(tempfile.gettempdir(), f"dolma_py-tokens-{fingerprint[:16]}")
    if is_s3(work):
        raise ConfigError("work_dir.output must be a local (or shared-filesystem) directory, not s3://")
    os.makedirs(work, exist_ok=True)
    return work


def _read_record(path: str) -> dict[str, Any] | None:
    if not exists(path):
        return None
    with open_read(path) as f:
        return json.loads(f.read())


def _existing_shards(destination: str) -> list[str]:
    if is_s3(destination):
        names = list_files(destination.rstrip("/") + "/")
    elif os.path.isdir(destination):
        names = [join(destination, n) for n in os.listdir(destination)]
    else:
        names = []
    return sorted(p for p in names if SHARD_PATTERN.search(p.rsplit("/", 1)[-1]))


def _check_destination(destination: str, record: dict[str, Any] | None, fingerprint: str, overwrite: bool) -> None:
    """Refuse to mix shards of two different runs; with `overwrite`, clear the other run's shards first."""
    stale = _existing_shards(destination)
    if record is not None and record.get("fingerprint") == fingerprint:
        return
    if not stale:
        return
    if not overwrite:
        raise ConfigError(
            f"destination {destination} already holds {len(stale)} shard files from a different tokens run "
            "(other inputs or settings); choose another destination or set overwrite: true"
        )
    for path in stale:
        remove(path)


def _gather(
    files: dict[int, TokenizedFile], params: ShardParams, file_idx: np.ndarray, doc_idx: np.ndarray
) -> np.ndarray:
    """(token start, token end, id start, id end, line) per document, reading only those documents' index rows."""
    out = np.empty((file_idx.size, 5), dtype=np.int64)
    order = np.argsort(file_idx, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(file_idx[order])) + 1)
    for group in groups:
        f = int(file_idx[group[0]])
        if f not in files:
            files[f] = TokenizedFile.open(params.stems[f], np.dtype(params.dtype))
        docs = files[f].docs
        d = doc_idx[group]
        rows = np.asarray(docs[d])
        previous = np.asarray(docs[np.maximum(d - 1, 0)])
        previous[d == 0] = 0
        out[group, 0] = previous[:, 0]
        out[group, 1] = rows[:, 0]
        out[group, 2] = previous[:, 1]
        out[group, 3] = rows[:, 1]
        out[group, 4] = rows[:, 2]
    return out


def write_shard_unit(params: ShardParams, unit: Unit) -> UnitResult:
    """Stage 2: gather shard `unit.params` (a `ShardPlan`) from the tokenized files and write it."""
    plan: ShardPlan = unit.params
    csv_path, npy_path = unit.outputs
    counts = np.asarray(params.counts, dtype=np.int64)
    files: dict[int, TokenizedFile] = {}
    parts: list[np.ndarray] = []
    rows: list[IndexRow] = []
    position = 0
    for k, start, end in plan.segments:
        file_idx, doc_idx = window_order(counts, params.n_windows, k, params.seed)
        file_idx, doc_idx = file_idx[start:end], doc_idx[start:end]
        table = _gather(files, params, file_idx, doc_idx)
        for f, (tok_start, tok_end, id_start, id_end, line) in zip(file_idx.tolist(), table.tolist(), strict=False):
            tf = files[f]
            parts.append(tf.tokens[tok_start:tok_end])
            doc_id = tf.ids[id_start:id_end].tobytes().decode("utf-8")
            rows.append(IndexRow(position, position + tok_end - tok_start, doc_id, tf.source, line))
            position += tok_end - tok_start
    if position != plan.tokens or len(rows) != plan.documents:
        raise DolmaError(
            f"{unit.key}: gathered {len(rows)} documents / {position} tokens, planned {plan.documents} / {plan.tokens}"
        )
    write_shard(npy_path, csv_path, np.concatenate(parts).astype(params.dtype, copy=False), rows)
    return UnitResult(key=unit.key, documents=len(rows), counters={"tokens": position})


def _stage_error(summary: RunSummary) -> DolmaError:
    first = summary.failures[0]
    more = f" (and {summary.units_failed - 1} more failed units)" if summary.units_failed > 1 else ""
    return DolmaError(f"{summary.command}: {first['unit']}: {first['error']}{more}")


def run_tokens(config: TokensConfig, progress: bool = True) -> TokensResult:
    """Tokenize `config.documents` into shards under `config.destination`; raises `DolmaError` on failure."""
    inputs = expand(config.documents)
    settings = _settings(config)
    encoder = DocumentEncoder(replace(settings, fast_bpe=False))  # the driver only inspects it
    dtype = choose_dtype(encoder.vocab_size, config.dtype)
    max_tokens = config.max_size // dtype.itemsize
    if max_tokens < 1:
        raise ConfigError(f"max_size = {config.max_size} bytes holds no {dtype} token")
    fields = config.fields
    tokenize_fp = _sha1(
        encoder.fingerprint(), dtype.name, fields.text_field_name, str(fields.id_field_name), fields.id_field_type,
        str(config.skip_bad_lines),
    )
    run_fp = _sha1(tokenize_fp, *inputs, str(config.seed), str(config.batch_size), str(max_tokens))
    destination = config.destination.rstrip("/")
    record_path = join(destination, RECORD_NAME)
    work = _work_dir(config, run_fp)
    options = ExecOptions(config.processes, config.ray_address, config.overwrite, progress)
    stems = [stem_for(work, path, tokenize_fp) for path in inputs]
    units = [
        Unit(key=path, inputs=(path,), outputs=outputs_for(stem)) for path, stem in zip(inputs, stems, strict=True)
    ]
    # one lock around both stages and the record's writes: on the destination and on the work directory
    summary_path = summary_file(destination, "tokens")
    lock = [record_path, summary_path, *(path for unit in units for path in unit.outputs)]
    with summarized_run("tokens", summary_path, lock) as summary:
        record = _read_record(record_path)
        if record and record.get("complete") and record.get("fingerprint") == run_fp and not config.overwrite:
            if all(exists(join(destination, s["name"] + ".npy")) for s in record["shards"]):
                summary.units_total = summary.units_skipped = len(units) + len(record["shards"])
                return TokensResult(**{k: v for k, v in record.items() if k in TokensResult.__dataclass_fields__})
        _check_destination(destination, record, run_fp, config.overwrite)

        threads = max(1, (os.cpu_count() or 1) // config.processes)
        params = TokenizeParams(
            settings, dtype.name, fields.text_field_name, fields.id_field_name, config.skip_bad_lines, threads,
            id_types=ID_TYPES[fields.id_field_type],
        )
        stage1 = run_stage("tokens:tokenize", units, partial(tokenize_file, params), options)
        summary.include(stage1)
        if not stage1.ok:
            raise _stage_error(stage1)

        tokenized = [TokenizedFile.open(stem, dtype) for stem in stems]
        counts = np.array([len(tf) for tf in tokenized], dtype=np.int64)
        lengths = np.concatenate([tf.doc_lengths() for tf in tokenized]) if tokenized else np.zeros(0, np.int64)
        plans = plan_shards(counts, lengths, config.batch_size, config.seed, max_tokens)
        result = TokensResult(
            destination=destination,
            dtype=dtype.name,
            tokenizer={
                "name_or_path": settings.name_or_path,
                "sha1": _sha1(encoder.tokenizer.to_str()),
                "vocab_size": encoder.vocab_size,
                "bos_token_id": settings.bos_token_id,
                "eos_token_id": settings.eos_token_id,
            },
            shards=[{"name": shard_name(p.index), "documents": p.documents, "tokens": p.tokens} for p in plans],
            documents=int(counts.sum()),
            tokens=int(lengths.sum()),
            empty_documents=sum(int(tf.counts["empty"]) for tf in tokenized),
            bad_lines=sum(int(tf.counts["bad_lines"]) for tf in tokenized),
            fingerprint=run_fp,
        )
        write_bytes(record_path, json.dumps(asdict(result), indent=2).encode(), compress=False)

        shard_params = ShardParams(
            stems=tuple(stems),
            dtype=dtype.name,
            counts=tuple(counts.tolist()),
            n_windows=window_count(int(counts.sum()), config.batch_size),
            seed=config.seed,
        )
        shard_units = [
            Unit(
                key=shard_name(p.index),
                inputs=(),
                outputs=(
                    join(destination, shard_name(p.index) + ".csv.gz"),
                    join(destination, shard_name(p.index) + ".npy"),
                ),
                params=p,
            )
            for p in plans
        ]
        stage2 = run_stage("tokens:shards", shard_units, partial(write_shard_unit, shard_params), options)
        summary.include(stage2, documents=False)
        if not stage2.ok:
            raise _stage_error(stage2)

        result.complete = True
        result.stages = [json.loads(stage1.to_json()), json.loads(stage2.to_json())]
        write_bytes(record_path, json.dumps(asdict(result), indent=2).encode(), compress=False)
        for unit in units:  # the intermediates and their completion markers
            for path in (*unit.outputs, unit.marker):
                remove(path)
        return result
