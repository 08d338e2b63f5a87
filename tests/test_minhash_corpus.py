"""The MinHash benchmark's planted-duplicate corpus (benchmarks/minhash_corpus.py): its ground truth is exact, its
bytes do not depend on the process count, and the scoring (benchmarks/minhash_quality.py) counts what it says."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import orjson
import pytest
from datatrove.utils.text import ngrams, simplify_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import minhash_corpus  # noqa: E402
import minhash_quality  # noqa: E402


def _datatrove_shingles(text: str) -> set[str]:
    """The n-grams datatrove's MinhashDedupSignature hashes, with words split on spaces."""
    return {" ".join(g) for g in ngrams(simplify_text(text).split(), 5)}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> minhash_corpus.MinhashCorpus:
    root = tmp_path_factory.mktemp("mh") / "corpus"
    return minhash_corpus.generate(root, size_mb=0.6, docs_per_file=40, files_per_chunk=2, processes=2)


def _texts(corpus: minhash_corpus.MinhashCorpus) -> dict[str, str]:
    ids, texts, _ = minhash_quality.read_documents(corpus.files)
    return dict(zip(ids, texts, strict=True))


def test_planted_jaccards_recomputed_exactly(corpus: minhash_corpus.MinhashCorpus) -> None:
    texts = _texts(corpus)
    pairs = minhash_corpus.read_truth(corpus.truth_path)
    assert len(pairs) == corpus.pairs > 20
    for p in pairs:
        a, b = _datatrove_shingles(texts[p.a]), _datatrove_shingles(texts[p.b])
        assert p.jaccard == len(a & b) / len(a | b), (p.a, p.b)
        assert minhash_corpus.family_of(p.a) == minhash_corpus.family_of(p.b)


def test_families_have_the_planted_shapes(corpus: minhash_corpus.MinhashCorpus) -> None:
    pairs = minhash_corpus.read_truth(corpus.truth_path)
    assert {p.kind for p in pairs} == {"scurve", "near80", "edits", "exact"}
    assert all(p.jaccard == 1.0 for p in pairs if p.kind == "exact")
    near = [p.jaccard for p in pairs if p.kind == "near80"]
    assert all(0.74 <= j <= 0.86 for j in near)
    assert any(j >= 0.8 for j in near) and any(j < 0.8 for j in near)
    assert all(p.edits > 0 for p in pairs if p.kind == "edits" and p.a.endswith("-m0-edits"))
    ids = list(_texts(corpus))
    assert len(ids) == len(set(ids)) == corpus.docs == 4 * 40  # two chunks of two files


def test_word_cache_gives_the_reference_shingles(corpus: minhash_corpus.MinhashCorpus) -> None:
    cache = minhash_corpus._WordCache()
    for text in list(_texts(corpus).values())[:50]:
        assert cache.shingles(text.split(" ")) == minhash_corpus.shingles(text) == _datatrove_shingles(text)


def test_bytes_do_not_depend_on_processes(corpus: minhash_corpus.MinhashCorpus, tmp_path: Path) -> None:
    other = minhash_corpus.generate(tmp_path / "one", size_mb=0.6, docs_per_file=40, files_per_chunk=2, processes=1)
    assert [Path(p).name for p in other.files] == [Path(p).name for p in corpus.files]
    for a, b in zip(other.files, corpus.files, strict=True):
        assert Path(a).read_bytes() == Path(b).read_bytes()
    assert other.truth_path.read_bytes() == corpus.truth_path.read_bytes()


def test_scores_of_known_decisions(corpus: minhash_corpus.MinhashCorpus) -> None:
    ids, texts, _ = minhash_quality.read_documents(corpus.files)
    pairs = minhash_corpus.read_truth(corpus.truth_path)
    evaluator = minhash_quality.Evaluator(ids, texts, pairs)
    nothing = minhash_quality.Decisions([False] * len(ids), [None] * len(ids))
    assert evaluator.quality(nothing)["recall"] == 0.0
    assert evaluator.quality(nothing)["precision"] is None

    # every family one cluster, all but its first document in plan order removed
    families = sorted({minhash_corpus.family_of(i) for i in ids})
    cluster = [families.index(minhash_corpus.family_of(i)) for i in ids]
    removed = [cluster.index(c) != n for n, c in enumerate(cluster)]
    q = evaluator.quality(minhash_quality.Decisions(removed, cluster))
    assert q["recall"] == q["removal_recall"] == 1.0
    assert q["removed"] == len(ids) - len(families)
    first = {c: n for n, c in reversed(list(enumerate(cluster)))}
    expected = sum(evaluator.true_jaccard(n, first[c]) >= 0.8 for n, c in enumerate(cluster) if removed[n])
    assert q["precision"] == round(expected / q["removed"], 5)
    assert minhash_quality.agreement(nothing, minhash_quality.Decisions(removed, cluster)) == 1 - q["removed"] / len(
        ids)


def test_datatrove_outputs_are_read_per_file(tmp_path: Path) -> None:
    (tmp_path / "000001.remove").write_bytes(struct.pack("<2I", 0, 2))
    (tmp_path / "000001.clusters").write_bytes(struct.pack("<6I", 0, 7, 1, 7, 2, 7))
    (tmp_path / "000000.clusters").write_bytes(struct.pack("<2I", 1, 7))
    d = minhash_quality.datatrove_decisions(tmp_path, [2, 3])
    assert d.removed == [False, False, True, False, True]
    assert d.cluster == [None, 7, 7, 7, 7]


def test_attribute_files_are_read(tmp_path: Path) -> None:
    import gzip

    rows = [{"id": "a", "attributes": {"minhash_duplicate": [], "minhash_cluster": [[0, 5, 3]]}},
            {"id": "b", "attributes": {"minhash_duplicate": [[0, 5, 1.0]], "minhash_cluster": [[0, 5, 3]]}},
            {"id": "c", "attributes": {"minhash_duplicate": [], "minhash_cluster": [[0, 5, 4]]}}]
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in rows)))
    d = minhash_quality.attribute_decisions([str(path)], "minhash_duplicate", "minhash_cluster")
    assert d.removed == [False, True, False]
    assert d.cluster == [3, 3, None]  # a cluster of one is no cluster
