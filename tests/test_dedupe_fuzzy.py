"""Fuzzy dedupe (`dedupe.minhash`): planted near-duplicates found, keep rules, verification, determinism across
process counts and Ray, SIGKILL resume, bad input, config validation, datatrove's normalization, and the mix that
drops the flagged documents."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import read_jsonl, tree_bytes, write_documents

from dolma_py import _rust
from dolma_py.cli import main as cli
from dolma_py.config.dedupe import DedupeConfig
from dolma_py.config.loader import load_config, parse_overrides
from dolma_py.dedupe.pipeline import run_dedupe
from dolma_py.io.atomic import CRASH_ENV

DOLMA = [sys.executable, "-m", "dolma_py.cli.main"]
DATATROVE_NORM = (True, True, False, True, True)


def vocabulary(seed: int = 0, size: int = 3000) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(size)]


def edited(text: str, edits: int, rng: random.Random, words: list[str]) -> str:
    tokens = text.split()
    for position in rng.sample(range(len(tokens)), edits):
        tokens[position] = rng.choice(words)
    return " ".join(tokens)


def planted_corpus(root: Path, files: int = 4, per_file: int = 30, seed: int = 1) -> tuple[str, dict[str, str]]:
    """Originals, near copies (2 of 200 words changed), exact copies and unrelated documents spread over files.

    Returns the documents pattern and, per document id, what it is: 'original', 'near', 'exact' or 'unique'."""
    rng = random.Random(seed)
    words = vocabulary(seed)
    originals = [" ".join(rng.choice(words) for _ in range(200)) for _ in range(10)]
    kinds: dict[str, str] = {}
    first_seen: set[int] = set()
    for f in range(files):
        rows = []
        for i in range(per_file):
            doc_id = f"f{f}-{i}"
            choice = (f * per_file + i) % 6
            if choice in (0, 1, 2):
                source = (f * per_file + i) % len(originals)
                if source not in first_seen:
                    first_seen.add(source)
                    text, kind = originals[source], "original"
                elif choice == 1:
                    text, kind = originals[source], "exact"
                else:
                    text, kind = edited(originals[source], 2, rng, words), "near"
            else:
                text, kind = " ".join(rng.choice(words) for _ in range(150)), "unique"
            kinds[doc_id] = kind
            rows.append({"id": doc_id, "text": text})
        write_documents(root / "documents" / f"part-{f:02d}.jsonl.gz", rows)
    return str(root / "documents" / "*.jsonl.gz"), kinds


def fuzzy_args(pattern: str, *extra: str) -> list[str]:
    return [
        "dedupe",
        "--documents",
        pattern,
        "--dedupe.name",
        "fuzzy",
        "--dedupe.minhash.attribute_name",
        "minhash_duplicate",
        *extra,
    ]


def config_of(flags: list[str]) -> DedupeConfig:
    return load_config(DedupeConfig, None, parse_overrides(DedupeConfig, flags))


def attributes(root: Path) -> dict[str, dict]:
    out = {}
    for path in sorted((root / "attributes" / "fuzzy").glob("*.jsonl.gz")):
        for row in read_jsonl(path):
            out[row["id"]] = row["attributes"]
    return out


@pytest.mark.parametrize("hashing", ["xxh3", "datatrove"])
def test_planted_near_duplicates_are_flagged_and_originals_kept(tmp_path: Path, hashing: str) -> None:
    pattern, kinds = planted_corpus(tmp_path)
    assert cli.main(fuzzy_args(pattern, "--processes", "2", "--dedupe.minhash.hashing", hashing)) == 0
    found = attributes(tmp_path)
    assert set(found) == set(kinds)
    for doc_id, kind in kinds.items():
        flagged = found[doc_id]["minhash_duplicate"]
        assert bool(flagged) == (kind in ("near", "exact")), (doc_id, kind, found[doc_id])
        if kind == "unique":
            assert "minhash_duplicate_cluster_id" not in found[doc_id]
        else:
            assert found[doc_id]["minhash_duplicate_cluster_size"][0][2] >= 2
    # a flag spans the whole text; a cluster's id is its first document's key (file index << 32 | line)
    text = read_jsonl(tmp_path / "documents" / "part-00.jsonl.gz")[1]["text"]
    assert found["f0-1"]["minhash_duplicate_cluster_id"][0][:2] == [0, len(text)]
    assert found["f0-1"]["minhash_duplicate_cluster_id"][0][2] == 1  # its original is line 1 of file 0


def test_identical_bytes_for_one_two_processes_and_ray(tmp_path: Path, ray_cluster: str) -> None:
    runs = {}
    for name, extra in (
        ("p1", ["--processes", "1"]),
        ("p2", ["--processes", "2"]),
        ("ray", ["--ray_address", ray_cluster]),
    ):
        root = tmp_path / name
        pattern, _ = planted_corpus(root, files=3, per_file=20)
        assert cli.main(fuzzy_args(pattern, *extra)) == 0
        runs[name] = tree_bytes(root / "attributes")
    assert any(name.endswith(".edges") for name in runs["p1"])
    assert runs["p1"] == runs["p2"] == runs["ray"]


@pytest.mark.parametrize(
    "point", ["minhash:signatures_written", "minhash:after_buckets", "minhash:after_cluster", "minhash:output_written"]
)
def test_sigkill_at_any_stage_then_rerun_equals_uninterrupted(tmp_path: Path, point: str) -> None:
    runs, skipped = {}, {}
    for name in ("killed", "clean"):
        root = tmp_path / name
        pattern, _ = planted_corpus(root, files=3, per_file=20)
        args = [*DOLMA, *fuzzy_args(pattern, "--processes", "1")]
        if name == "killed":
            killed = subprocess.run(args, capture_output=True, env={**os.environ, CRASH_ENV: point}, timeout=300)
            assert killed.returncode == -9, killed.stderr.decode()
        done = subprocess.run(args, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        runs[name] = tree_bytes(root / "attributes")
        summary = json.loads((root / "attributes" / "fuzzy" / "_dolma_dedupe_summary.json").read_text())
        skipped[name] = summary["units_skipped"]
    assert runs["killed"] == runs["clean"]
    assert skipped["clean"] == 0
    # the rerun resumes: units finished before the kill are not redone
    assert (
        skipped["killed"]
        == {
            "minhash:signatures_written": 0,
            "minhash:after_buckets": 3 + 8,
            "minhash:after_cluster": 3 + 8 + 1,
            "minhash:output_written": 3 + 8 + 1,
        }[point]
    )
    assert not any(".inprogress" in name for name in runs["killed"])


def test_rerun_skips_complete_units(tmp_path: Path) -> None:
    pattern, _ = planted_corpus(tmp_path, files=2, per_file=12)
    config = config_of(fuzzy_args(pattern)[1:])
    first, _ = run_dedupe(config, progress=False)
    again, _ = run_dedupe(config, progress=False)
    assert first.units_done == first.units_total == 2 + 8 + 1 + 2
    assert again.units_done == 0 and again.units_skipped == again.units_total


def test_a_file_added_at_the_end_reuses_the_signatures_of_the_others(tmp_path: Path) -> None:
    runs = {}
    for name in ("grown", "clean"):
        root = tmp_path / name
        pattern, _ = planted_corpus(root, files=3, per_file=12)
        extra = root / "documents" / "part-02.jsonl.gz"
        if name == "grown":
            moved = extra.read_bytes()
            extra.unlink()
            assert cli.main(fuzzy_args(pattern, "--processes", "1")) == 0
            extra.write_bytes(moved)
        summary, _ = run_dedupe(config_of(fuzzy_args(pattern, "--processes", "1")[1:]), progress=False)
        assert summary.ok
        runs[name] = (tree_bytes(root / "attributes"), summary.units_skipped)
    assert runs["grown"][0] == runs["clean"][0]
    assert runs["grown"][1] == 2 and runs["clean"][1] == 0  # the first two files' signatures


def test_keep_longest_keeps_the_longest_of_each_cluster(tmp_path: Path) -> None:
    words = vocabulary(3)
    rng = random.Random(3)
    base = " ".join(rng.choice(words) for _ in range(200))
    rows = [
        {"id": "short", "text": base},
        {"id": "long", "text": base + " " + words[0]},
        {"id": "tie", "text": base + " " + words[1]},
    ]
    write_documents(tmp_path / "documents" / "a.jsonl.gz", rows)
    pattern = str(tmp_path / "documents" / "*.jsonl.gz")
    assert cli.main(fuzzy_args(pattern, "--dedupe.minhash.keep", "longest")) == 0
    found = attributes(tmp_path)
    assert found["long"]["minhash_duplicate"] == []  # longest; ties with "tie" go to plan order
    assert found["short"]["minhash_duplicate"] and found["tie"]["minhash_duplicate"]


def test_jaccard_threshold_drops_candidates_below_it(tmp_path: Path) -> None:
    words = vocabulary(4)
    rng = random.Random(4)
    base = " ".join(rng.choice(words) for _ in range(300))
    near = edited(base, 3, rng, words)
    rows = [{"id": "a", "text": base}, {"id": "exact", "text": base}, {"id": "near", "text": near}]
    write_documents(tmp_path / "documents" / "a.jsonl.gz", rows)
    pattern = str(tmp_path / "documents" / "*.jsonl.gz")
    assert cli.main(fuzzy_args(pattern)) == 0
    assert attributes(tmp_path)["near"]["minhash_duplicate"]
    assert cli.main(fuzzy_args(pattern, "--dedupe.minhash.jaccard_threshold", "1.0")) == 0
    found = attributes(tmp_path)
    assert found["exact"]["minhash_duplicate"] and not found["near"]["minhash_duplicate"]
    assert "minhash_duplicate_cluster_id" not in found["near"]


def shingle_set(text: str, n: int = 5) -> set[str]:
    words = _rust.minhash_shingle_text(text, DATATROVE_NORM).split()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingle_set(a), shingle_set(b)
    return len(x & y) / len(x | y)


def test_exact_jaccard_of_shingle_sets_equals_the_python_sets() -> None:
    words = vocabulary(8)
    rng = random.Random(8)
    texts = [" ".join(rng.choice(words[:40]) for _ in range(rng.randint(0, 60))) for _ in range(30)]
    values, counts = _rust.minhash_shingle_sets(texts, ngram_length=5, norm=DATATROVE_NORM)
    assert counts.tolist() == [len(shingle_set(t)) for t in texts]
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    left = np.array([i for i in range(30) for _ in range(30)], dtype=np.int64)
    right = np.array([j for _ in range(30) for j in range(30)], dtype=np.int64)
    got = _rust.minhash_exact_jaccard(values, offsets, left, right)
    want = [
        len(shingle_set(texts[i]) & shingle_set(texts[j])) / max(1, len(shingle_set(texts[i]) | shingle_set(texts[j])))
        for i, j in zip(left, right, strict=True)
    ]
    assert got.tolist() == pytest.approx(want, abs=0, rel=0)
    with pytest.raises(ValueError, match="index 30 sets"):
        _rust.minhash_exact_jaccard(values, offsets, left[:1], np.array([30], dtype=np.int64))


def test_exact_jaccard_threshold_splits_pairs_by_their_true_jaccard(tmp_path: Path) -> None:
    """Pairs near the threshold, where the 112-value estimate errs by a few hundredths: exact verification keeps
    exactly the pairs whose shingle sets' Jaccard reaches it."""
    words = vocabulary(9)
    rng = random.Random(9)
    rows, pairs = [], []
    for k in range(24):
        base = " ".join(rng.choice(words) for _ in range(400))
        near = edited(base, 2 + k % 4, rng, words)  # 2-5 of 400 words: Jaccard about 0.88-0.95
        rows += [{"id": f"o{k}", "text": base}, {"id": f"n{k}", "text": near}]
        pairs.append((f"n{k}", jaccard(base, near)))
    write_documents(tmp_path / "documents" / "a.jsonl.gz", rows)
    pattern = str(tmp_path / "documents" / "*.jsonl.gz")
    assert cli.main(fuzzy_args(pattern)) == 0
    assert all(attributes(tmp_path)[doc]["minhash_duplicate"] for doc, _ in pairs)  # every pair is a candidate
    threshold = sorted(j for _, j in pairs)[len(pairs) // 2]
    assert (
        cli.main(
            fuzzy_args(
                pattern, "--dedupe.minhash.jaccard_threshold", str(threshold), "--dedupe.minhash.jaccard", "exact"
            )
        )
        == 0
    )
    found = attributes(tmp_path)
    assert {doc for doc, j in pairs if j >= threshold} == {doc for doc, _ in pairs if found[doc]["minhash_duplicate"]}
    assert cli.main(fuzzy_args(pattern, "--dedupe.minhash.jaccard_threshold", str(threshold))) == 0
    estimated = {doc for doc, _ in pairs if attributes(tmp_path)[doc]["minhash_duplicate"]}
    assert estimated != {doc for doc, j in pairs if j >= threshold}  # what exact verification is for


def test_bad_line_fails_with_file_line_and_field_unless_skipped(tmp_path: Path) -> None:
    path = tmp_path / "documents" / "a.jsonl"
    path.parent.mkdir(parents=True)
    text = " ".join(vocabulary(5)[:50])
    path.write_text(f'{{"id": "1", "text": "{text}"}}\n{{"id": "2", "text": 7}}\n{{"id": "3", "text": "{text}"}}\n')
    config = config_of(fuzzy_args(str(path))[1:])
    summary, _ = run_dedupe(config, progress=False)
    assert summary.units_failed == 1
    error = summary.failures[0]["error"]
    assert f"{path}:2" in error and "text" in error
    config = config_of([*fuzzy_args(str(path))[1:], "--skip_bad_lines", "true"])
    summary, _ = run_dedupe(config, progress=False)
    assert summary.ok and summary.bad_lines == 1
    rows = read_jsonl(tmp_path / "attributes" / "fuzzy" / "a.jsonl")
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    assert rows[1]["attributes"] == {}
    assert rows[0]["attributes"]["minhash_duplicate"] == [] and rows[2]["attributes"]["minhash_duplicate"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bloom_filter.file", "x.bin"], "uses no Bloom filter"),
        (["--dedupe.minhash.keep", "last"], "'first' or 'longest'"),
        (["--dedupe.minhash.hashing", "md5"], "'xxh3' or 'datatrove'"),
        (["--dedupe.minhash.band_size", "0"], "band_size' must be >= 1"),
        (["--dedupe.minhash.jaccard_threshold", "1.5"], "jaccard_threshold' must be in [0, 1]"),
        (["--dedupe.minhash.jaccard", "exact"], "set it"),
        (["--dedupe.minhash.jaccard_threshold", "0.8", "--dedupe.minhash.jaccard", "cosine"], "'estimated' or 'exact'"),
        (["--dedupe.min_words", "3"], "apply to exact dedupe"),
    ],
)
def test_config_errors(tmp_path: Path, extra: list[str], message: str) -> None:
    with pytest.raises(Exception, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_of([*fuzzy_args("d/documents/*.gz")[1:], *extra])


def test_exact_modes_refuse_fuzzy_only_normalization_and_need_a_filter() -> None:
    base = [
        "--documents",
        "d/documents/*.gz",
        "--dedupe.documents.attribute_name",
        "dup",
        "--dedupe.documents.key",
        "$.text",
    ]
    with pytest.raises(Exception, match="'bloom_filter' is required"):
        config_of(base)
    with pytest.raises(Exception, match="apply to 'dedupe.minhash' only"):
        config_of(
            [
                *base,
                "--bloom_filter.file",
                "x",
                "--bloom_filter.size_in_bytes",
                "64",
                "--dedupe.normalization.strip_diacritics",
                "true",
            ]
        )


SAMPLES = [
    "Hello, World! It's 3.14 or 1,000,000 — maybe 42%?",
    "Café naïve résumé: ÉTÉ\u00a0à\tla   plage\n\nnew line",
    "well-known e-mail (addresses) [brackets] {braces} \"quotes\" 'single' «guillemets»",
    "Numbers 12.5.6 and ١٢٣ and v2 and a1b2c3",
    "  leading and trailing   ",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_default_normalization_matches_datatrove_simplify_text(text: str) -> None:
    simplify = pytest.importorskip("datatrove.utils.text").simplify_text
    assert _rust.minhash_shingle_text(text, DATATROVE_NORM) == " ".join(simplify(text).split())


def test_datatrove_hashing_gives_datatrove_signatures() -> None:
    """`hashing: datatrove` reproduces `MinhashDedupSignature.get_signature` on datatrove's own shingles (hashed
    from `simplify_text`'s words, which is what its NLTK tokenizer yields on text without punctuation; xxh64 of the
    UTF-8 bytes, since the installed xxhash no longer takes the `str` datatrove passes it)."""
    np = pytest.importorskip("numpy")
    minhash = pytest.importorskip("datatrove.pipeline.dedup.minhash")
    xxhash = pytest.importorskip("xxhash")
    from datatrove.utils.text import simplify_text

    step = minhash.MinhashDedupSignature.__new__(minhash.MinhashDedupSignature)
    step.config, step._parameters = minhash.MinhashConfig(), None
    step.num_hashes = step.config.num_buckets * step.config.hashes_per_bucket
    a, b = (row.reshape(-1) for row in step.parameters)
    for text in [*SAMPLES, " ".join(vocabulary(7)[:300])]:
        words = simplify_text(text).split()
        grams = [" ".join(words[i : i + 5]) for i in range(len(words) - 4)]
        if not grams:
            continue
        shingles = np.array([xxhash.xxh64_intdigest(gram.encode()) for gram in grams], dtype=np.uint64).reshape(-1, 1)
        theirs = np.concatenate(step.get_signature(shingles))
        _, has, _, ours = _rust.minhash_signatures(
            [text],
            ngram_length=5,
            norm=DATATROVE_NORM,
            a=a,
            b=b,
            band_size=8,
            keep_signatures=True,
            hashing="datatrove",
        )
        assert has[0] and ours[0].tolist() == theirs.tolist()


def test_mix_drops_the_flagged_documents(tmp_path: Path) -> None:
    pattern, kinds = planted_corpus(tmp_path, files=2, per_file=18)
    dedupe = yaml.safe_load((Path(__file__).parent.parent / "configs" / "dedupe" / "fuzzy.yaml").read_text())
    mix = yaml.safe_load((Path(__file__).parent.parent / "configs" / "mix" / "fuzzy_dedupe.yaml").read_text())
    dedupe["documents"], dedupe["processes"] = [pattern], 1
    mix["processes"] = 1
    mix["streams"][0]["documents"] = [pattern]
    mix["streams"][0]["output"]["path"] = str(tmp_path / "deduped")
    (tmp_path / "dedupe.yaml").write_text(yaml.safe_dump(dedupe))
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(mix))
    assert cli.main(["dedupe", "-c", str(tmp_path / "dedupe.yaml")]) == 0
    assert cli.main(["mix", "-c", str(tmp_path / "mix.yaml")]) == 0
    kept = {row["id"] for path in sorted((tmp_path / "deduped").glob("*.json.gz")) for row in read_jsonl(path)}
    assert kept == {doc_id for doc_id, kind in kinds.items() if kind in ("original", "unique")}
