"""`dolma tokens` with dolma 1.2.1's config unchanged, against the ids dolma itself wrote (golden_tokens.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from dolma_py.cli import main as cli
from dolma_py.tokens.shards import read_index
from dolma_py.tokens.tokenizer import load_tokenizer

GOLDEN = Path(__file__).parent / "fixtures" / "dolma_golden" / "tokens"
MOOT = ("files_per_process", "ring_size", "tokenizer.refresh", "tokenizer.fast",
        "tokenizer.segment_before_tokenization")


def _setup(tmp_path: Path, **changes: object) -> Path:
    shutil.copytree(GOLDEN / "documents", tmp_path / "documents")
    shutil.copy(GOLDEN / "tokenizer.json", tmp_path / "tokenizer.json")
    config = yaml.safe_load((GOLDEN / "config.yaml").read_text().replace("{root}", str(tmp_path)))
    config.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _tokens_by_id(destination: Path) -> dict[str, list[int]]:
    import numpy as np

    out = {}
    for index in sorted(destination.glob("*.csv.gz")):
        tokens = np.fromfile(str(index).removesuffix(".csv.gz") + ".npy", dtype=np.uint16)
        for row in read_index(str(index)):
            out[row.id] = tokens[row.start:row.end].tolist()
    return out


def test_dolma_tokens_config_runs_unchanged_with_dolmas_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _setup(tmp_path)
    assert cli.main(["-c", str(config), "tokens"]) == 0
    assert _tokens_by_id(tmp_path / "tokens") == json.loads((GOLDEN / "tokens_by_id.json").read_text())
    err = capsys.readouterr().err
    for key in MOOT:
        assert err.count(f"'{key}' has no effect here") == 1, key


def test_integer_ids_need_id_field_type_int(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _setup(tmp_path)
    assert cli.main(["-c", str(config), "tokens", "--fields.id_field_type", "str"]) != 0
    err = capsys.readouterr().err
    assert "part-0.jsonl.gz:1:" in err and "field 'id' must be a string, got int (fields.id_field_type)" in err
    assert not list(tmp_path.glob("tokens/*.npy"))


def test_deprecated_tokenizer_name_or_path_uses_the_last_id_as_eos(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["tokenizer_name_or_path"] = data.pop("tokenizer")["name_or_path"]
    config.write_text(yaml.safe_dump(data))
    assert cli.main(["-c", str(config), "tokens"]) == 0
    eos = len(load_tokenizer(str(tmp_path / "tokenizer.json")).get_vocab()) - 1
    expected = json.loads((GOLDEN / "tokens_by_id.json").read_text())
    ours = _tokens_by_id(tmp_path / "tokens")
    assert ours.keys() == expected.keys()
    assert all(ours[k] == expected[k][:-1] + [eos] for k in ours)
