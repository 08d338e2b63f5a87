"""Resolve a spec's sources to token shards and cut them into instance pools (validation, partitions, training).

A source's instances are the `sequence_length`-token slots of its shards, numbered shard by shard (shards sorted by
path; each shard's tail shorter than one instance is dropped). A *pool* is a contiguous range of those slots:
validation takes the last slots of a source (so at most one document straddles the train/validation boundary), and
a partitioned source `web@i/N` is the i-th of N equal ranges of what remains.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from dolma_py.errors import ConfigError
from dolma_py.io.paths import expand, is_s3
from dolma_py.manifest import TOKEN_DTYPES, ShardInfo
from dolma_py.tokens.shards import RECORD_NAME, read_index
from mixers.curriculum.spec import CurriculumSpec, split_pool_name


@dataclass
class SourceShards:
    """One source's shards (indices into the catalog's shard list) and their instance slots."""

    name: str
    shard_ids: np.ndarray
    instances: np.ndarray
    cumulative: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cumulative = np.cumsum(self.instances)

    @property
    def total(self) -> int:
        """Number of instance slots in the source."""
        return int(self.cumulative[-1]) if self.cumulative.size else 0

    def locate(self, slots: np.ndarray, sequence_length: int) -> tuple[np.ndarray, np.ndarray]:
        """(catalog shard index, token start) of each slot."""
        local = np.searchsorted(self.cumulative, slots, side="right")
        before = self.cumulative[local] - self.instances[local]
        return self.shard_ids[local], (slots - before) * sequence_length


@dataclass(frozen=True)
class Pool:
    """A contiguous range `[lo, hi)` of a source's instance slots."""

    name: str
    source: str
    lo: int
    hi: int

    @property
    def size(self) -> int:
        return self.hi - self.lo


@dataclass
class Catalog:
    """Every shard of the spec, the token dtype and EOS id, the training pools and the validation pools."""

    shards: list[ShardInfo]
    dtype: np.dtype
    eos_token_id: int | None
    sources: dict[str, SourceShards]
    pools: dict[str, Pool]
    validation: dict[str, Pool]
    sequence_length: int

    def rows(self, pool: Pool, slots: np.ndarray, source_index: int) -> np.ndarray:
        """Manifest rows `(shard, start, source_index)` for slots given relative to the pool."""
        shard, start = self.sources[pool.source].locate(slots + pool.lo, self.sequence_length)
        out = np.empty((slots.size, 3), dtype=np.uint64)
        out[:, 0] = shard
        out[:, 1] = start
        out[:, 2] = source_index
        return out


def _read_record(directory: str, cache: dict[str, dict | None]) -> dict | None:
    if directory not in cache:
        path = os.path.join(directory, RECORD_NAME)
        try:
            with open(path, encoding="utf-8") as f:
                cache[directory] = json.load(f)
        except FileNotFoundError:
            cache[directory] = None
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: unreadable tokens run record ({err})") from None
    return cache[directory]


def _source_paths(name: str, patterns: list[str]) -> list[str]:
    try:
        paths = expand(patterns)
    except ConfigError as err:
        raise ConfigError(f"source {name!r}: missing shard files: {err}") from None
    remote = [p for p in paths if is_s3(p)]
    if remote:
        raise ConfigError(f"source {name!r}: {remote[0]} is remote; shards must be local to be memory-mapped")
    shards = [os.path.abspath(p) for p in paths if p.endswith(".npy")]
    if not shards:
        raise ConfigError(f"source {name!r}: {patterns} match no .npy shard files")
    return shards


def index_dtype(npy_path: str) -> str | None:
    """The dtype of a shard without a run record (dolma 1.2.1's `dolma tokens` writes none), from its `.csv.gz`
    index: file size over the last end offset; None when there is no index. A size that fits neither is an error."""
    index = npy_path.removesuffix(".npy") + ".csv.gz"
    if not os.path.exists(index):
        return None
    try:
        end = max((row.end for row in read_index(index)), default=0)
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(f"{index}: unreadable shard index ({err})") from None
    size = os.path.getsize(npy_path)
    for dtype in TOKEN_DTYPES:
        if end and size == end * np.dtype(dtype).itemsize:
            return dtype
    raise ConfigError(
        f"{npy_path}: {size} bytes hold no whole {' or '.join(TOKEN_DTYPES)} shard ending at token {end} of its index"
    )


def _source_dtype(spec: CurriculumSpec, name: str, paths: list[str], records: list[dict | None]) -> str:
    """The dtype the run records, or the shard indexes (for dolma's shards), say; a declared one must agree."""
    declared = spec.sources[name].dtype or spec.dtype
    found = {}
    for path, record in zip(paths, records, strict=True):
        inferred = record.get("dtype") if record is not None else index_dtype(path)
        if inferred is not None:
            found.setdefault(inferred, path)
    if len(found) > 1:
        raise ConfigError(f"source {name!r}: mismatched dtypes: its shards were written as {sorted(found)}")
    if declared is not None and found and declared not in found:
        written, path = next(iter(found.items()))
        raise ConfigError(f"source {name!r}: dtype {declared} is declared but {path} was written as {written}")
    dtype = declared or next(iter(found), None)
    if dtype is None:
        raise ConfigError(
            f"source {name!r}: dtype unknown (no {RECORD_NAME} and no .csv.gz index beside its shards); "
            f"set sources.{name}.dtype"
        )
    if dtype not in TOKEN_DTYPES:
        raise ConfigError(f"source {name!r}: dtype must be one of {TOKEN_DTYPES}, got {dtype!r}")
    return dtype


def _eos(spec: CurriculumSpec, records: dict[str, dict]) -> int | None:
    """EOS id: the spec's, else the one all tokens runs agree on; runs with different tokenizers are an error."""
    tokenizers = {d: r.get("tokenizer", {}) for d, r in records.items()}
    hashes = {t.get("sha1") for t in tokenizers.values() if t.get("sha1")}
    if len(hashes) > 1:
        raise ConfigError(f"shards were tokenized with {len(hashes)} different tokenizers: {sorted(tokenizers)}")
    if spec.eos_token_id is not None:
        return spec.eos_token_id
    eos = {t.get("eos_token_id") for t in tokenizers.values()}
    eos.discard(None)
    if len(eos) > 1:
        raise ConfigError(f"tokens runs disagree on eos_token_id ({sorted(eos)}); set eos_token_id in the spec")
    return eos.pop() if eos else None


def build_catalog(spec: CurriculumSpec) -> Catalog:
    """Resolve shards, check dtypes, and cut validation and partition pools; raises `ConfigError` naming the source."""
    length = spec.sequence_length
    shards: list[ShardInfo] = []
    owner: dict[str, str] = {}
    record_cache: dict[str, dict | None] = {}
    dtypes: dict[str, str] = {}
    sources: dict[str, SourceShards] = {}
    for name, source in spec.sources.items():
        paths = _source_paths(name, source.paths)
        records = [_read_record(os.path.dirname(p), record_cache) for p in paths]
        dtype = np.dtype(_source_dtype(spec, name, paths, records))
        dtypes[name] = dtype.name
        ids, instances = [], []
        for path in paths:
            if path in owner:
                raise ConfigError(f"shard {path} belongs to both source {owner[path]!r} and source {name!r}")
            owner[path] = name
            size = os.path.getsize(path)
            if size % dtype.itemsize:
                raise ConfigError(f"source {name!r}: {path} has {size} bytes, not a whole number of {dtype} tokens")
            ids.append(len(shards))
            instances.append(size // dtype.itemsize // length)
            shards.append(ShardInfo(path=path, tokens=size // dtype.itemsize))
        sources[name] = SourceShards(name, np.array(ids, dtype=np.int64), np.array(instances, dtype=np.int64))
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{n}: {d}" for n, d in dtypes.items())
        raise ConfigError(f"mismatched dtypes across sources ({listing}); all sources must share one tokenizer dtype")
    records = {d: r for d, r in record_cache.items() if r is not None}
    validation, train_ranges = _hold_out(spec, sources)
    pools = {}
    for name in spec.pool_names():
        base, index, count = split_pool_name(name)
        lo, hi = train_ranges[base]
        width = hi - lo
        pools[name] = Pool(name, base, lo + index * width // count, lo + (index + 1) * width // count)
    return Catalog(
        shards=shards,
        dtype=np.dtype(next(iter(dtypes.values()))),
        eos_token_id=_eos(spec, records),
        sources=sources,
        pools=pools,
        validation=validation,
        sequence_length=length,
    )


def _hold_out(
    spec: CurriculumSpec, sources: dict[str, SourceShards]
) -> tuple[dict[str, Pool], dict[str, tuple[int, int]]]:
    """Validation pools (each source's last slots) and the training range left to each source."""
    validation: dict[str, Pool] = {}
    train: dict[str, tuple[int, int]] = {name: (0, s.total) for name, s in sources.items()}
    if spec.validation is None:
        return validation, train
    names = spec.validation.sources or list(sources)
    val_tokens = spec.validation_tokens()
    for name in names:
        total = sources[name].total
        if val_tokens is not None:
            held = -(-val_tokens // spec.sequence_length)
            if held >= total:
                raise ConfigError(
                    f"validation: source {name!r} has {total * spec.sequence_length:,} tokens in whole instances, "
                    f"cannot hold out {val_tokens:,} and keep any for training "
                    f"(shortfall {(held - total + 1) * spec.sequence_length:,} tokens)"
                )
        else:
            held = int(total * (spec.validation.fraction or 0.0))
        validation[name] = Pool(f"{name}:validation", name, total - held, total)
        train[name] = (0, total - held)
    return validation, train
