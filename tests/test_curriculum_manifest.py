"""Manifest contract: write_manifest -> Manifest.open round trip, O(1) reads, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_test_manifest, write_token_shards

from dolma_py.manifest import InstanceTable, Manifest, ManifestError, PhaseInfo, ShardInfo

SEQ = 8


def _shards(tmp_path: Path) -> list[ShardInfo]:
    tokens = [(np.arange(n, dtype=np.uint16) + 1000 * k).astype(np.uint16) for k, n in enumerate((40, 25))]
    return write_token_shards(tmp_path, tokens, "shard{}.npy")


def _write(tmp_path: Path, shards: list[ShardInfo]) -> Path:
    rows = np.array([[0, 0, 0], [1, 17, 1], [0, 32, 0], [1, 3, 1]], dtype=np.uint64)
    val = np.array([[0, 8, 0]], dtype=np.uint64)
    info = PhaseInfo(
        name="pretrain", instances=4, tokens=4 * SEQ, mix={"a": 0.5, "b": 0.5}, realized={"a": 0.5, "b": 0.5}
    )
    return write_test_manifest(
        tmp_path / "m", shards, seed=7, sequence_length=SEQ, sources=["a", "b"], phases=[(info, rows)], validation=val
    )


def test_round_trip_reads_shard_tokens(tmp_path: Path) -> None:
    shards = _shards(tmp_path)
    m = Manifest.open(str(_write(tmp_path, shards)))
    assert (m.name, m.seed, m.sequence_length, m.dtype, m.sources) == ("toy", 7, SEQ, np.dtype("uint16"), ["a", "b"])
    assert m.phases[0] == PhaseInfo("pretrain", 4, 32, {"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5})
    table = m.instances("pretrain")
    assert table is m.instances(0)
    assert isinstance(table, InstanceTable) and len(table) == 4
    assert table[1].tolist() == list(range(1017, 1025))
    assert table[-2].tolist() == list(range(32, 40))
    assert table[1].dtype == np.int64
    assert [table.source_index(i) for i in range(4)] == [0, 1, 0, 1]
    batch = table.batch(np.array([3, 0]))
    assert batch.shape == (2, SEQ) and batch.dtype == np.int64
    assert batch[0].tolist() == list(range(1003, 1011)) and batch[1].tolist() == list(range(8))
    val = m.validation()
    assert val is not None and len(val) == 1 and val[0].tolist() == list(range(8, 16))
    with pytest.raises(IndexError):
        table[4]
    with pytest.raises(KeyError, match="unknown phase"):
        m.instances("anneal")


def test_rewrite_replaces_existing_manifest(tmp_path: Path) -> None:
    shards = _shards(tmp_path)
    _write(tmp_path, shards)
    path = _write(tmp_path, shards)
    assert sorted(p.name for p in path.iterdir()) == ["manifest.json", "phase-00-pretrain.npy", "validation.npy"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_or_truncated_shard_is_named(tmp_path: Path) -> None:
    shards = _shards(tmp_path)
    path = _write(tmp_path, shards)
    Path(shards[1].path).write_bytes(b"\0" * 10)
    with pytest.raises(ManifestError, match="shard1.npy has 10 bytes"):
        Manifest.open(str(path)).instances(0)
    Path(shards[1].path).unlink()
    with pytest.raises(ManifestError, match="shard1.npy is missing"):
        Manifest.open(str(path)).instances(0)


def test_bad_manifest_json(tmp_path: Path) -> None:
    path = _write(tmp_path, _shards(tmp_path))
    meta = json.loads((path / "manifest.json").read_text())
    meta["format_version"] = 2
    (path / "manifest.json").write_text(json.dumps(meta))
    with pytest.raises(ManifestError, match="unsupported format_version 2"):
        Manifest.open(str(path))
    with pytest.raises(ManifestError, match="manifest not found"):
        Manifest.open(str(tmp_path / "nowhere"))


def test_rows_past_shard_end_are_rejected(tmp_path: Path) -> None:
    shards = _shards(tmp_path)
    info = PhaseInfo(name="p", instances=1, tokens=SEQ, mix={"a": 1.0}, realized={"a": 1.0})
    rows = np.array([[1, 20, 0]], dtype=np.uint64)
    path = write_test_manifest(
        tmp_path / "bad", shards, name="bad", sequence_length=SEQ, sources=["a"], phases=[(info, rows)], validation=None
    )
    m = Manifest.open(str(path))
    assert m.validation() is None
    with pytest.raises(ManifestError, match="instance 0 reads past the end"):
        m.instances("p")
