"""`dolma dedupe` resume: SIGKILL mid-run then rerun equals an uninterrupted run; Ray partitions equal local ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import tree_bytes, write_documents

from dolma_py.cli import main as cli

DOLMA = [sys.executable, "-m", "dolma_py.cli.main"]


def make_corpus(root: Path, files: int, docs: int) -> str:
    """Paragraphs drawn from a small pool, so most repeat across files."""
    for f in range(files):
        rows = []
        for i in range(docs):
            paragraphs = [f"paragraph {(f * 31 + i * 7 + j * 13) % 400} of the pool, long enough to dedupe on its words"
                          for j in range(1 + i % 5)]
            rows.append({"id": f"{f}-{i}", "text": "\n".join(paragraphs)})
        write_documents(root / "documents" / f"part-{f:03d}.jsonl.gz", rows)
    return str(root / "documents" / "*.jsonl.gz")


def outputs(root: Path) -> dict[str, bytes]:
    out = tree_bytes(root / "attributes")
    out["bf.bin"] = (root / "bf.bin").read_bytes()
    return out


def args_for(root: Path, pattern: str, *extra: str) -> list[str]:
    return ["dedupe", "--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup",
            "--dedupe.paragraphs.by_ngram.ngram_length", "4", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5",
            "--bloom_filter.file", str(root / "bf.bin"), "--bloom_filter.estimated_doc_count", "200000",
            "--bloom_filter.desired_false_positive_rate", "1e-6", "--checkpoint_files", "1", *extra]


def test_sigkill_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    runs = {}
    for name in ("killed", "clean"):
        root = tmp_path / name
        pattern = make_corpus(root, files=60, docs=150)
        args = args_for(root, pattern, "--processes", "2")
        if name == "killed":
            proc = subprocess.Popen([*DOLMA, *args], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
            state = next(iter((root / "bf.bin.state").glob("*")), None) if (root / "bf.bin.state").exists() else None
            deadline = time.monotonic() + 120
            inserted = 0
            while time.monotonic() < deadline and inserted < 3:
                time.sleep(0.02)
                if state is None and (root / "bf.bin.state").exists():
                    state = next(iter((root / "bf.bin.state").glob("*")), None)
                if state is not None and (state / "progress.json").exists():
                    try:
                        inserted = len(json.loads((state / "progress.json").read_text())["inserted"])
                    except (json.JSONDecodeError, OSError):
                        continue
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            assert not (root / "bf.bin").exists(), "the kill should land before the run finished"
            assert 3 <= inserted < 60
        proc = subprocess.run([*DOLMA, *args], capture_output=True, timeout=600)
        assert proc.returncode == 0, proc.stderr.decode()
        runs[name] = outputs(root)
    assert runs["killed"] == runs["clean"]
    assert not any(".inprogress" in name for name in runs["killed"])


def test_ray_partitions_equal_local(tmp_path: Path, ray_cluster: str) -> None:
    runs = {}
    for name, extra in (("local", []), ("ray", ["--ray_address", ray_cluster])):
        root = tmp_path / name
        pattern = make_corpus(root, files=5, docs=20)
        assert cli.main(args_for(root, pattern, "--bloom_filter.partitions", "2", *extra)) == 0
        runs[name] = tree_bytes(root / "attributes") | {
            p.name: p.read_bytes() for p in sorted(root.glob("bf.bin.part*"))
        }
    assert runs["local"] == runs["ray"]
    assert sum(name.startswith("bf.bin.part") for name in runs["ray"]) == 2 and len(runs["ray"]) == 7
