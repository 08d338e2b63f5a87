"""Regenerate tests/fixtures/dolma_golden/dedupe/: dolma 1.2.1's own `dolma dedupe` outputs on small generated inputs.

Each case is a dolma dedupe config run by the reference (installed by benchmarks/setup_reference.sh) with
`processes: 1`, since dolma's first-seen order is only deterministic then. The fixture keeps the documents, each
case's config (with placeholders for the paths) and the attribute lines dolma wrote, decompressed, so CI checks our
dedupe against dolma without installing it:

    python benchmarks/golden_dedupe.py
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DOLMA = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "dolma"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "dedupe"
ROOT = "{root}"  # placeholder for the run directory in the stored configs

# A filter of 1 MiB or more holds these inputs with a negligible false-positive rate on both sides.
BLOOM = {"size_in_bytes": 0, "estimated_doc_count": 10_000, "desired_false_positive_rate": 1e-6, "read_only": False}

CASES: dict[str, dict] = {
    "paragraphs": {"paragraphs": {"attribute_name": "dup_paragraphs"}},
    "paragraphs_filtered": {
        "paragraphs": {"attribute_name": "dup_paragraphs"},
        "skip_empty": True,
        "min_length": 12,
    },
    "paragraphs_min_words": {"paragraphs": {"attribute_name": "dup_paragraphs"}, "min_words": 2},
    "ngrams_stride1": {
        "paragraphs": {"attribute_name": "dup_ngrams", "by_ngram": {"ngram_length": 3, "overlap_threshold": 0.3}}
    },
    "ngrams_stride3": {
        "paragraphs": {
            "attribute_name": "dup_ngrams",
            "by_ngram": {"ngram_length": 3, "stride": 3, "overlap_threshold": 0.3},
        }
    },
    "ngrams_zero_threshold": {
        "paragraphs": {"attribute_name": "dup_ngrams", "by_ngram": {"ngram_length": 4, "overlap_threshold": 0.0}}
    },
    "ngrams_skip_short": {
        "paragraphs": {
            "attribute_name": "dup_ngrams",
            "by_ngram": {"ngram_length": 4, "stride": 2, "overlap_threshold": 0.0, "skip_short_paragraphs": True},
        }
    },
    "documents_text": {"documents": {"attribute_name": "dup_docs", "key": "$.text"}},
    "documents_url": {"documents": {"attribute_name": "dup_urls", "key": "$.metadata.url"}, "skip_empty": True},
}

# (estimated_doc_count, desired_false_positive_rate) pairs whose filter dolma sizes itself (size_in_bytes: 0).
SIZINGS = [(1000, 0.001), (1_000_000, 0.01), (3_000_000, 1e-4), (10_000_000, 1e-6)]

WORDS = (
    "the of and to in is was for on that with as by at from his her an were are which this be has had or one "
    "river city north school music album film team season war party game church station village born world "
    "naïve café façade über straße 東京 日本語 😀 résumé"
).split()


def _paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def make_documents(rng: random.Random) -> list[list[dict]]:
    """Three files of documents with exact, partial and short repeats, empty lines and non-ASCII text."""
    pool = [_paragraph(rng, rng.randint(1, 14)) for _ in range(40)]
    files = []
    doc_id = 0
    for file_index in range(3):
        docs = []
        for _ in range(12):
            paragraphs = []
            for _ in range(rng.randint(1, 6)):
                roll = rng.random()
                if roll < 0.35:
                    paragraphs.append(rng.choice(pool))  # exact repeat
                elif roll < 0.55:
                    words = rng.choice(pool).split()
                    words[rng.randrange(len(words))] = rng.choice(WORDS)  # near repeat
                    paragraphs.append(" ".join(words))
                elif roll < 0.65:
                    paragraphs.append("")  # empty paragraph
                elif roll < 0.7:
                    paragraphs.append("   ")  # whitespace only
                else:
                    paragraphs.append(_paragraph(rng, rng.randint(1, 20)))
            text = "\n".join(paragraphs)
            if rng.random() < 0.3:
                text += "\n"
            url = f"https://example.com/{rng.randint(0, 20)}" if rng.random() < 0.9 else ""
            docs.append(
                {"id": f"doc-{doc_id}", "text": text, "source": "golden", "metadata": {"url": url, "file": file_index}}
            )
            doc_id += 1
        if file_index == 1:
            docs.append(dict(docs[0], id=f"doc-{doc_id}"))  # a whole-document repeat
            doc_id += 1
        files.append(docs)
    return files


def dolma_config(root: str, name: str, dedupe: dict) -> dict:
    return {
        "documents": [f"{root}/documents/*.jsonl.gz"],
        "dedupe": {"name": name, **dedupe},
        "bloom_filter": {"file": f"{root}/{name}.bloom", **BLOOM},
        "processes": 1,
    }


def run_case(documents: Path, name: str, dedupe: dict) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(documents, root / "documents")
        config_path = root / "config.yaml"
        config_path.write_text(yaml.safe_dump(dolma_config(str(root), name, dedupe)))
        subprocess.run([str(REFERENCE_DOLMA), "-c", str(config_path), "dedupe"], check=True, capture_output=True)
        out = {}
        for path in sorted((root / "attributes" / name).glob("*.jsonl.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                out[path.name] = fh.read()
        return out


def dolma_filter_shape(documents: Path, count: int, fpr: float) -> dict:
    """Size in bytes and number of hashers of the filter dolma makes for `count` keys at rate `fpr`."""
    bloom = {"size_in_bytes": 0, "estimated_doc_count": count, "desired_false_positive_rate": fpr, "read_only": False}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(documents, root / "documents")
        config = dolma_config(str(root), "sizing", {"documents": {"attribute_name": "d", "key": "$.id"}})
        config["bloom_filter"].update(bloom)
        (root / "config.yaml").write_text(yaml.safe_dump(config))
        command = [str(REFERENCE_DOLMA), "-c", str(root / "config.yaml"), "dedupe"]
        subprocess.run(command, check=True, capture_output=True)
        header = (root / "sizing.bloom").read_bytes()[:12]
        num_hashers = struct.unpack("<III", header)[2]
        with open(root / "sizing.bloom", "rb") as fh:
            fh.seek(12 + 32 * num_hashers)
            num_words = struct.unpack("<Q", fh.read(8))[0]
    return {"estimated_doc_count": count, "desired_false_positive_rate": fpr, "size_in_bytes": num_words * 4,
            "num_hashers": num_hashers}


def main() -> None:
    if not REFERENCE_DOLMA.exists():
        sys.exit(f"reference dolma not found at {REFERENCE_DOLMA}; run benchmarks/setup_reference.sh")
    shutil.rmtree(FIXTURE, ignore_errors=True)
    documents = FIXTURE / "documents"
    documents.mkdir(parents=True)
    for index, docs in enumerate(make_documents(random.Random(20261203))):
        with gzip.GzipFile(documents / f"part-{index}.jsonl.gz", "wb", mtime=0) as fh:
            fh.write(b"".join(json.dumps(doc, ensure_ascii=False).encode() + b"\n" for doc in docs))
    for name, dedupe in CASES.items():
        case = FIXTURE / name
        case.mkdir()
        (case / "config.yaml").write_text(yaml.safe_dump(dolma_config(ROOT, name, dedupe), sort_keys=False))
        for file_name, text in run_case(documents, name, dedupe).items():
            (case / file_name.removesuffix(".gz")).write_text(text, encoding="utf-8")
        print(f"{name}: {len(list(case.glob('*.jsonl')))} attribute files")
    shapes = [dolma_filter_shape(documents, count, fpr) for count, fpr in SIZINGS]
    (FIXTURE / "filter_sizes.json").write_text(json.dumps(shapes, indent=2) + "\n")
    print(f"filter sizes: {shapes}")


if __name__ == "__main__":
    main()
