"""The blocked filter (format 2, block-parallel check-and-insert) flags exactly what the classic filter (format 1,
sequential) flags, for 1 and 2 processes and on Ray; an old classic filter file still loads and stays classic."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import read_jsonl, tree_bytes, write_documents

from dolma_py.dedupe.bloom import FORMAT_VERSIONS, BloomFilter

NGRAM = ["--dedupe.paragraphs.by_ngram.ngram_length", "5", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5"]
FILTER_BITS, FILTER_HASHES = 1 << 24, 6  # far more than the keys need: no false positives in either layout


def make_corpus(root: Path) -> str:
    """Two files; the first alone has over 2^16 n-gram keys, so it takes the block-parallel path."""
    words = [f"w{i}" for i in range(300)]
    for f, docs in enumerate((2600, 400)):
        rows = []
        for i in range(docs):
            start = (f * 7919 + i * 104729) % 4000  # repeated windows of one long word sequence: many duplicates
            paragraphs = [" ".join(words[(start + j * 11 + w) % 300] for w in range(12 + (i + j) % 30))
                          for j in range(1 + i % 3)]
            rows.append({"id": f"{f}-{i}", "text": "\n".join(paragraphs)})
        write_documents(root / "documents" / f"part-{f}.jsonl.gz", rows)
    return str(root / "documents" / "*.jsonl.gz")


def run(root: Path, *extra: str, threads: int) -> None:
    """A dedupe run in its own process, so RAYON_NUM_THREADS decides its thread pool."""
    args = ["dedupe", "--documents", make_corpus(root), "--dedupe.paragraphs.attribute_name", "dup", *NGRAM,
            "--bloom_filter.file", str(root / "bf.bin"), "--bloom_filter.size_in_bytes", str(FILTER_BITS // 8),
            "--bloom_filter.estimated_doc_count", "1000000", *extra]
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "dolma_py.cli.main", *args], env=env, check=True)


def format_version(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[8:12], "little")


def test_blocked_parallel_runs_flag_what_the_classic_sequential_run_flags(tmp_path: Path, ray_cluster: str) -> None:
    classic = tmp_path / "classic"
    (classic / "documents").mkdir(parents=True)
    BloomFilter.with_shape(FILTER_BITS, FILTER_HASHES, layout="classic").save(classic / "bf.bin")  # an old file
    run(classic, threads=1)
    assert format_version(classic / "bf.bin") == FORMAT_VERSIONS["classic"]
    expected = tree_bytes(classic / "attributes")
    flagged = [row for path in sorted((classic / "attributes").rglob("*.jsonl.gz")) for row in read_jsonl(path)
               if row["attributes"].get("dup")]
    assert len(flagged) > 100

    for name, extra, threads in (("p1", ["--processes", "1"], 4), ("p2", ["--processes", "2"], 4),
                                 ("ray", ["--ray_address", ray_cluster], 2)):
        root = tmp_path / name
        run(root, *extra, threads=threads)
        assert format_version(root / "bf.bin") == FORMAT_VERSIONS["blocked"], name
        assert BloomFilter.load(root / "bf.bin").layout == "blocked"
        assert tree_bytes(root / "attributes") == expected, name
