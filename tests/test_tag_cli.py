"""End-to-end `dolma tag`: layout, determinism across process counts and executors, resume after SIGKILL, bad input,
S3."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_jsonl, tree_bytes, write_documents

from dolma_py.cli.main import main

DOCS = [
    {"id": "d1", "text": "Hello world. This is a test.", "source": "web"},
    {"id": "d2", "text": "", "source": "web"},
    {"id": "d3", "text": "   \n  ", "source": "web"},
    {"id": "d4", "text": "emoji 😀 text\nsecond line\n", "source": "web"},
]

SLOW_TAGGER = '''
import time
from taggers.base import DocumentTagger, document_span
from taggers.registry import register

@register("slow_length")
class SlowLength(DocumentTagger):
    """Test tagger: the text length, slowly."""

    def __init__(self, delay: float = 0.02):
        self.delay = delay

    def tag(self, doc):
        time.sleep(self.delay)
        return {"length": document_span(doc, len(doc.text))}
'''


def make_corpus(root: Path, files: int = 4, docs: int = 25) -> str:
    for f in range(files):
        rows = [
            {"id": f"f{f}-{i}", "text": f"doc {i} of file {f}. " * (i % 7 + 1), "source": "web"} for i in range(docs)
        ]
        write_documents(root / "documents" / f"part-{f}.jsonl.gz", rows)
    return str(root / "documents" / "*.jsonl.gz")


def test_tag_writes_aligned_attributes_with_dolma_keys(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "sub" / "a.jsonl.gz", DOCS)
    code = main(
        [
            "tag",
            "--documents",
            str(tmp_path / "documents" / "**" / "*.gz"),
            "--taggers",
            "char_length_v1",
            "whitespace_tokenizer_v1",
            "--experiment",
            "my-exp",
        ]
    )
    assert code == 0
    rows = read_jsonl(tmp_path / "attributes" / "my_exp" / "sub" / "a.jsonl.gz")
    assert [row["id"] for row in rows] == ["d1", "d2", "d3", "d4"]
    lengths = [row["attributes"]["my_exp__char_length_v1__length"] for row in rows]
    assert lengths == [[[0, 28, 28]], [[0, 0, 0]], [[0, 6, 6]], [[0, 25, 25]]]
    assert rows[0]["attributes"]["my_exp__whitespace_tokenizer_v1__length"] == [
        [0, 28, 9]
    ]  # dolma counts regex split pieces
    summary = json.loads((tmp_path / "attributes" / "my_exp" / "sub" / "_dolma_tag_summary.json").read_text())
    assert summary["units_done"] == 1 and summary["documents"] == 4 and summary["bad_lines"] == 0


def test_default_experiment_is_the_tagger_name(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOCS)
    assert (
        main(
            [
                "tag",
                "--documents",
                str(tmp_path / "documents" / "*.gz"),
                "--taggers",
                "char_length_v1",
                "random_number_v1",
            ]
        )
        == 0
    )
    first = read_jsonl(tmp_path / "attributes" / "char_length_v1" / "a.jsonl.gz")
    assert first[0]["attributes"] == {"char_length_v1__char_length_v1__length": [[0, 28, 28]]}
    assert (tmp_path / "attributes" / "random_number_v1" / "a.jsonl.gz").exists()


def test_process_counts_give_identical_bytes(tmp_path: Path) -> None:
    outputs = []
    for processes in (1, 2):
        root = tmp_path / f"p{processes}"
        pattern = make_corpus(root, files=4, docs=40)
        taggers = ["char_length_v1", "pii_regex_v2", "gopher_v1", "c4_v2", "random_number_v1"]
        assert (
            main(
                [
                    "tag",
                    "--documents",
                    pattern,
                    "--taggers",
                    *taggers,
                    "--experiment",
                    "e",
                    "--processes",
                    str(processes),
                ]
            )
            == 0
        )
        outputs.append(tree_bytes(root / "attributes"))
    assert outputs[0] == outputs[1] and len(outputs[0]) == 4


def slow_tag_args(tmp_path: Path, pattern: str) -> list[str]:
    """`dolma tag` arguments using the slow user tagger, written as a module file under `tmp_path`."""
    module = tmp_path / "my_taggers.py"
    module.write_text(SLOW_TAGGER)
    return ["tag", "--documents", pattern, "--taggers", "slow_length", "--tagger_modules", str(module),
            "--experiment", "e"]


def test_user_module_tagger_and_rerun_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = slow_tag_args(tmp_path, make_corpus(tmp_path, files=2, docs=3))
    assert main(args) == 0
    out = tmp_path / "attributes" / "e" / "part-0.jsonl.gz"
    assert read_jsonl(out)[0]["attributes"]["e__slow_length__length"] == [[0, 17, 17]]
    mtime = out.stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    assert "0 files done, 2 skipped" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == mtime
    assert main([*args, "--overwrite"]) == 0
    assert out.stat().st_mtime_ns != mtime


def _dolma(args: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dolma_py.cli.main", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kwargs,
    )


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    runs = {}
    for name in ("killed", "clean"):
        args = [*slow_tag_args(tmp_path, make_corpus(tmp_path / name, files=8, docs=20)), "--processes", "2"]
        if name == "killed":
            proc = _dolma(args)
            attributes = tmp_path / name / "attributes" / "e"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(list(attributes.glob("*.jsonl.gz"))) < 2:
                time.sleep(0.05)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            done = len(list(attributes.glob("*.jsonl.gz")))
            assert 2 <= done < 8, f"the kill should land mid-run, saw {done} of 8 outputs"
        proc = _dolma(args)
        assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()
        runs[name] = tree_bytes(tmp_path / name / "attributes")
    assert runs["killed"] == runs["clean"]
    assert not any(".inprogress" in name for name in runs["killed"])


BAD_FILES = {
    "malformed": b'{"id": "a", "text": "ok"}\n{"id": "b", "text": \n',
    "non_string_id": b'{"id": "a", "text": "ok"}\n{"id": 7, "text": "x"}\n',
    "missing_id": b'{"id": "a", "text": "ok"}\n{"text": "x"}\n',
    "missing_text": b'{"id": "a", "text": "ok"}\n{"id": "b"}\n',
    "invalid_utf8": b'{"id": "a", "text": "ok"}\n{"id": "b", "text": "\xc3\x28"}\n',
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_line_fails_the_unit_naming_file_and_line(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "bad.jsonl").write_bytes(BAD_FILES[case])
    write_documents(docs / "good.jsonl.gz", DOCS)
    args = ["tag", "--documents", str(docs / "*"), "--taggers", "char_length_v1", "--experiment", "e"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{docs / 'bad.jsonl'}:2:" in err and "Traceback" not in err
    assert not (tmp_path / "attributes" / "e" / "bad.jsonl").exists()
    assert not list((tmp_path / "attributes" / "e").glob(".*inprogress"))
    assert (tmp_path / "attributes" / "e" / "good.jsonl.gz").exists()
    assert main([*args, "--skip-bad-lines"]) == 0
    rows = read_jsonl(tmp_path / "attributes" / "e" / "bad.jsonl")
    assert len(rows) == 2 and rows[0]["id"] == "a" and rows[1]["attributes"] == {}
    summary = json.loads((tmp_path / "attributes" / "e" / "_dolma_tag_summary.json").read_text())
    assert summary["bad_lines"] == 1 and summary["units_skipped"] == 1 and summary["lenient"] == ["skip_bad_lines"]


def test_truncated_and_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "documents"
    write_documents(docs / "trunc.jsonl.gz", [{"id": str(i), "text": "words " * 40} for i in range(500)])
    data = (docs / "trunc.jsonl.gz").read_bytes()
    (docs / "trunc.jsonl.gz").write_bytes(data[: len(data) // 2])
    (docs / "empty.jsonl").write_bytes(b"")
    args = [
        "tag",
        "--documents",
        str(docs / "*"),
        "--taggers",
        "char_length_v1",
        "--experiment",
        "e",
        "--skip-bad-lines",
    ]
    assert main(args) == 1
    assert "trunc.jsonl.gz:" in capsys.readouterr().err
    assert not (tmp_path / "attributes" / "e" / "trunc.jsonl.gz").exists()
    assert (tmp_path / "attributes" / "e" / "empty.jsonl").read_bytes() == b""


def test_unknown_tagger_fails_before_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = make_corpus(tmp_path, files=1, docs=2)
    assert main(["tag", "--documents", pattern, "--taggers", "no_such_tagger"]) == 2
    assert "unknown tagger 'no_such_tagger'" in capsys.readouterr().err
    assert not (tmp_path / "attributes").exists()


def test_entry_point_taggers_are_listed(tmp_path: Path) -> None:
    (tmp_path / "ep_taggers.py").write_text(SLOW_TAGGER.replace("slow_length", "ep_length"))
    dist = tmp_path / "ep_taggers-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-taggers\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[dolma_py.taggers]\nep = ep_taggers\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-m", "dolma_py.cli.main", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert "ep_length" in out.stdout and "char_length_v1" in out.stdout


def test_s3_documents_to_s3_attributes_match_local(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.documents import write_jsonl

    pattern = make_corpus(tmp_path, files=3, docs=10)
    for path in sorted((tmp_path / "documents").glob("*.gz")):
        write_jsonl(f"s3://{s3_bucket}/data/documents/{path.name}", read_jsonl(path))
    taggers = ["char_length_v1", "pii_regex_v2"]
    assert main(["tag", "--documents", pattern, "--taggers", *taggers, "--experiment", "e"]) == 0
    assert (
        main(
            [
                "tag",
                "--documents",
                f"s3://{s3_bucket}/data/documents/*.gz",
                "--taggers",
                *taggers,
                "--experiment",
                "e",
                "--processes",
                "2",
            ]
        )
        == 0
    )
    from dolma_py.io.storage import s3_client

    for path in sorted((tmp_path / "attributes" / "e").glob("*.gz")):
        body = s3_client().get_object(Bucket=s3_bucket, Key=f"data/attributes/e/{path.name}")["Body"].read()
        assert gzip.decompress(body) == gzip.decompress(path.read_bytes())
    summary = s3_client().get_object(Bucket=s3_bucket, Key="data/attributes/e/_dolma_tag_summary.json")["Body"].read()
    assert json.loads(summary)["units_done"] == 3


def test_ray_executor_matches_local(tmp_path: Path, ray_cluster: str) -> None:
    results = {}
    for name, extra in (("local", []), ("ray", ["--ray-address", ray_cluster])):
        pattern = make_corpus(tmp_path / name, files=3, docs=15)
        args = ["tag", "--documents", pattern, "--taggers", "char_length_v1", "c4_v2", "--experiment", "e", *extra]
        assert main(args) == 0
        results[name] = tree_bytes(tmp_path / name / "attributes")
    assert results["local"] == results["ray"] and len(results["ray"]) == 3


def test_parquet_documents_get_jsonl_attributes(tmp_path: Path) -> None:
    from dolma_py.io.documents import write_parquet

    (tmp_path / "documents").mkdir()
    write_parquet(str(tmp_path / "documents" / "part.parquet"), DOCS)
    assert (
        main(
            [
                "tag",
                "--documents",
                str(tmp_path / "documents" / "*.parquet"),
                "--taggers",
                "char_length_v1",
                "--experiment",
                "e",
            ]
        )
        == 0
    )
    rows = read_jsonl(tmp_path / "attributes" / "e" / "part.jsonl.gz")
    assert [row["id"] for row in rows] == ["d1", "d2", "d3", "d4"]
    assert rows[0]["attributes"]["e__char_length_v1__length"] == [[0, 28, 28.0]]
