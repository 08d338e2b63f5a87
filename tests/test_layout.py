"""Path expansion skips `_*` and `.*` names (summaries, reports, markers, locks) everywhere; S3 prefixes list
recursively; configs may live on S3."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_documents

from dolma_py.cli import main as cli
from dolma_py.errors import ConfigError
from dolma_py.io.paths import expand
from dolma_py.io.storage import s3_client

DOCS = [{"id": "1", "text": "a\nb"}, {"id": "2", "text": "a\nc"}]
HIDDEN = ["_dolma_dedupe_summary.json", "_dolma_mix_report_x.json", ".part.inprogress", "_tmp/a.jsonl.gz",
          ".cache/b.jsonl.gz", "sub/_SUCCESS", "sub/.lock"]
VISIBLE = ["a.jsonl.gz", "sub/b.jsonl.gz", "sub/deeper/c.jsonl.gz"]


def _tree(root: Path) -> None:
    for name in HIDDEN + VISIBLE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


def test_directories_and_globs_skip_hidden_names(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    _tree(root)
    expected = sorted(str(root / name) for name in VISIBLE)
    assert expand(str(root)) == expected
    assert expand(str(root / "**" / "*")) == expected
    assert expand(str(root / "**" / "*.jsonl.gz")) == expected
    assert expand(str(root / "*")) == [str(root / "a.jsonl.gz")]
    # what the user spells out is taken as given, hidden or not
    assert expand(str(root / "_tmp" / "a.jsonl.gz")) == [str(root / "_tmp" / "a.jsonl.gz")]
    assert expand(str(root / "_tmp" / "*.gz")) == [str(root / "_tmp" / "a.jsonl.gz")]
    with pytest.raises(ConfigError, match="no files match"):
        expand(str(root / "_*"))


def test_s3_prefixes_list_recursively_and_skip_hidden_names(s3_bucket: str) -> None:
    for name in HIDDEN + VISIBLE:
        s3_client().put_object(Bucket=s3_bucket, Key=f"data/documents/{name}", Body=b"")
    s3_client().put_object(Bucket=s3_bucket, Key="data/documents-other/x.jsonl.gz", Body=b"")
    base = f"s3://{s3_bucket}/data/documents"
    expected = sorted(f"{base}/{name}" for name in VISIBLE)
    assert expand(base) == expected
    assert expand(base + "/") == expected
    assert expand(base + "/**/*.gz") == expected
    assert expand(f"{base}/a.jsonl.gz") == [f"{base}/a.jsonl.gz"]
    with pytest.raises(ConfigError, match="no files match"):
        expand(f"{base}/missing.jsonl.gz")


def test_a_stage_never_reads_its_own_summaries(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOCS)
    args = ["tag", "--documents", str(tmp_path / "documents"), "--taggers", "char_length_v1"]
    assert cli.main(args) == 0
    (tmp_path / "documents" / "_dolma_tag_summary.json").write_text("{not json")
    (tmp_path / "documents" / ".a.jsonl.gz.inprogress").write_bytes(b"garbage")
    assert cli.main([*args, "--overwrite"]) == 0
    out = tmp_path / "attributes" / "char_length_v1"
    assert expand(str(out)) == [str(out / "a.jsonl.gz")] and (out / "_dolma_tag_summary.json").exists()


def test_config_file_on_s3(s3_bucket: str, tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOCS)
    config = f"documents: ['{tmp_path}/documents/*.gz']\ntaggers: [char_length_v1]\n"
    s3_client().put_object(Bucket=s3_bucket, Key="configs/tag.yaml", Body=config.encode())
    assert cli.main(["-c", f"s3://{s3_bucket}/configs/tag.yaml", "tag"]) == 0
    assert (tmp_path / "attributes" / "char_length_v1" / "a.jsonl.gz").exists()


def test_missing_s3_config_is_a_clear_error(s3_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-c", f"s3://{s3_bucket}/nope.yaml", "tag"]) == 2
    err = capsys.readouterr().err
    assert "cannot read config file" in err and "nope.yaml" in err and "Traceback" not in err


def test_a_directory_named_like_a_data_file_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    (root / "part-1.jsonl.gz").mkdir(parents=True)
    (root / "part-0.jsonl.gz").write_bytes(b"")
    (root / "sub").mkdir()  # a plain folder is still fine
    for pattern in (str(root), str(root / "*"), str(root / "*.jsonl.gz")):
        with pytest.raises(ConfigError, match="part-1.jsonl.gz is a directory, not a documents file"):
            expand(pattern)
