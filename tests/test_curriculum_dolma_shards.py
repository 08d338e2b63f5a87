"""`dolma curriculum` over token shards written by dolma 1.2.1 itself (no run record): dtype from the index."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from dolma_py.errors import ConfigError
from dolma_py.manifest import Manifest
from mixers.curriculum.builder import build_manifest
from mixers.curriculum.catalog import build_catalog, index_dtype
from mixers.curriculum.planner import make_plan
from mixers.curriculum.spec import load_spec

DOLMA_SHARDS = Path(__file__).parent / "fixtures" / "dolma_golden" / "tokens" / "dolma_shards"
SEQ = 8


def _spec(tmp_path: Path, **source: object) -> str:
    shutil.copytree(DOLMA_SHARDS, tmp_path / "dolma", dirs_exist_ok=True)
    spec = {"name": "t", "sequence_length": SEQ, "seed": 1, "eos_token_id": 0, "destination": str(tmp_path / "m"),
            "sources": {"web": {"paths": [str(tmp_path / "dolma" / "*.npy")], **source}},
            "phases": [{"name": "p", "tokens": 100 * SEQ, "mix": {"web": 1.0}}]}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_dolma_shards_build_a_manifest_with_the_dtype_of_their_index(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path))
    catalog = build_catalog(spec)
    assert catalog.dtype == np.uint16
    path, _ = build_manifest(make_plan(spec, catalog), spec.destination)
    table = Manifest.open(str(path)).instances(0)
    assert len(table) == 100
    shards = [np.fromfile(p, dtype=np.uint16) for p in sorted((tmp_path / "dolma").glob("*.npy"))]
    slots = {tuple(s[i:i + SEQ].tolist()) for s in shards for i in range(0, len(s) - SEQ + 1, SEQ)}
    assert all(tuple(np.asarray(table[i]).tolist()) in slots for i in range(len(table)))


def test_declared_dtype_must_agree_with_the_index(tmp_path: Path) -> None:
    spec = load_spec(_spec(tmp_path, dtype="uint32"))
    with pytest.raises(ConfigError, match="dtype uint32 is declared but .* was written as uint16"):
        build_catalog(spec)


def test_index_and_size_that_disagree_are_an_error(tmp_path: Path) -> None:
    _spec(tmp_path)
    shard = sorted((tmp_path / "dolma").glob("*.npy"))[0]
    assert index_dtype(str(shard)) == "uint16"
    with open(shard, "ab") as fh:
        fh.write(b"\0\0\0")
    with pytest.raises(ConfigError, match="hold no whole uint16 or uint32 shard"):
        index_dtype(str(shard))
