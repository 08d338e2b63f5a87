"""Bloom-filter sizing as dolma 1.2.1 does it, and the saturation warning, failure and summary figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_documents

from dolma_py.cli import main as cli
from dolma_py.config.dedupe import BloomFilterConfig
from dolma_py.dedupe.bloom import BloomFilter
from dolma_py.dedupe.sizing import dolma_suggested_bytes, partition_bytes

GOLDEN_SIZES = Path(__file__).parent / "fixtures" / "dolma_golden" / "dedupe" / "filter_sizes.json"
DOCS = [{"id": str(i), "text": "\n".join(f"paragraph {i} line {j}" for j in range(20))} for i in range(60)]


def run(tmp_path: Path, *extra: str) -> int:
    return cli.main(["dedupe", "--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.name", "p",
                     "--dedupe.paragraphs.attribute_name", "dup", "--bloom_filter.file", str(tmp_path / "f.bin"),
                     *extra])


def summary(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "attributes" / "p" / "_dolma_dedupe_summary.json").read_text())


def test_dolma_sizes_match_the_filters_dolma_made() -> None:
    # the filters dolma 1.2.1 itself made for these counts and rates (benchmarks/golden_dedupe.py)
    for shape in json.loads(GOLDEN_SIZES.read_text()):
        count, fpr = shape["estimated_doc_count"], shape["desired_false_positive_rate"]
        assert dolma_suggested_bytes(count, fpr) == shape["size_in_bytes"], shape
        config = BloomFilterConfig(file="f", estimated_doc_count=count, desired_false_positive_rate=fpr)
        assert partition_bytes(config) >= shape["size_in_bytes"]


def test_zero_size_is_sized_never_below_dolma() -> None:
    for count, fpr in [(1000, 0.001), (10_000_000, 1e-6), (3_000_000, 1e-4), (10**9, 1e-8)]:
        config = BloomFilterConfig(file="f", estimated_doc_count=count, desired_false_positive_rate=fpr)
        config.check()
        assert partition_bytes(config) >= dolma_suggested_bytes(count, fpr)
        bits, _ = BloomFilter.plan(count, fpr)
        assert partition_bytes(config) * 8 >= bits  # and big enough for our capped k
    split = BloomFilterConfig(file="f", estimated_doc_count=1000, desired_false_positive_rate=0.001, partitions=4)
    assert partition_bytes(split) == (1 << 20) // 4


def test_dolma_ngram_example_config_runs_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """dolma's own example: size_in_bytes 0, estimated_doc_count 1000, rate 0.001, on a small corpus."""
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOCS[:10])
    assert run(tmp_path, "--bloom_filter.size_in_bytes", "0", "--bloom_filter.estimated_doc_count", "1000",
               "--bloom_filter.desired_false_positive_rate", "0.001") == 0
    assert "saturated" not in capsys.readouterr().err
    assert (tmp_path / "f.bin").stat().st_size >= 1 << 20
    gauges = summary(tmp_path)["gauges"]
    assert gauges["bloom_filter_distinct_keys"] == 200
    assert gauges["bloom_filter_expected_false_positive_rate"] < 0.001 / 10


def test_saturation_warns_once_naming_keys_rate_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        write_documents(tmp_path / "documents" / f"{i}.jsonl.gz", DOCS[i * 20:(i + 1) * 20])
    assert run(tmp_path, "--bloom_filter.size_in_bytes", "64", "--bloom_filter.estimated_doc_count", "30",
               "--bloom_filter.desired_false_positive_rate", "0.01") == 0
    err = capsys.readouterr().err
    assert err.count("bloom filter saturated") == 1
    assert "distinct keys inserted" in err and "bloom_filter.estimated_doc_count" in err
    gauges = summary(tmp_path)["gauges"]
    assert gauges["bloom_filter_expected_false_positive_rate"] > 0.5
    assert 0 < gauges["bloom_filter_distinct_keys"] <= 1200


def test_saturation_fails_the_run_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        write_documents(tmp_path / "documents" / f"{i}.jsonl.gz", DOCS[i * 20:(i + 1) * 20])
    code = run(tmp_path, "--bloom_filter.size_in_bytes", "64", "--bloom_filter.estimated_doc_count", "30",
               "--bloom_filter.desired_false_positive_rate", "0.01", "--bloom_filter.fail_on_saturation", "true")
    assert code != 0
    err = capsys.readouterr().err
    assert "fail_on_saturation" in err and "Traceback" not in err
    assert not (tmp_path / "f.bin").exists()  # the filter is not published


def test_key_count_survives_resume(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "0.jsonl.gz", DOCS[:30])
    args = ("--bloom_filter.estimated_doc_count", "10000", "--bloom_filter.desired_false_positive_rate", "1e-6")
    assert run(tmp_path, *args) == 0
    write_documents(tmp_path / "documents" / "1.jsonl.gz", DOCS[30:])
    assert run(tmp_path, *args) == 0
    gauges = summary(tmp_path)["gauges"]
    assert gauges["bloom_filter_distinct_keys"] == 60 * 20


def test_sized_filter_takes_the_fewest_hashes_that_meet_the_rate(tmp_path: Path) -> None:
    from dolma_py.dedupe.filters import new_partition
    from dolma_py.dedupe.sizing import expected_rate

    for count, fpr in [(1000, 0.001), (50_000_000, 0.001), (3_000_000, 1e-6)]:
        config = BloomFilterConfig(file="f", estimated_doc_count=count, desired_false_positive_rate=fpr)
        shape = new_partition(config, seed=0)
        assert expected_rate(shape.num_bits, shape.num_hashes, count) <= fpr
        if shape.num_hashes > 1:
            assert expected_rate(shape.num_bits, shape.num_hashes - 1, count) > fpr
