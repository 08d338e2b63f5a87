"""The README's first command runs `dolma quickstart`; it must complete and leave every stage's outputs."""

from __future__ import annotations

from pathlib import Path

from conftest import read_jsonl
from dolma_py.cli.main import main


def test_quickstart_runs_end_to_end(tmp_path: Path) -> None:
    assert main(["quickstart", "--output", str(tmp_path), "--processes", "2"]) == 0
    assert (tmp_path / "configs" / "tag.yaml").exists()
    docs = sorted((tmp_path / "corpus" / "documents").rglob("*.jsonl.gz"))
    attrs = sorted((tmp_path / "corpus" / "attributes" / "quickstart").rglob("*.jsonl.gz"))
    assert len(docs) == len(attrs) == 6
    rows = read_jsonl(attrs[0])
    assert len(rows) == 300
    keys = set().union(*(row["attributes"] for row in rows))
    assert "quickstart__char_length_v1__length" in keys
    assert any(key.startswith("quickstart__pii_regex_v2__") for key in keys)
    assert any(key.startswith("quickstart__url_blocklist_v1__") for key in keys)
