"""Regenerate tests/fixtures/dolma_golden/tokens/: dolma 1.2.1's `dolma tokens` on small generated documents.

The documents use dolma's less common fields (a nested text field, integer ids with `fields.id_field_type: int`)
and the config sets the keys our design makes moot (`ring_size`, `files_per_process`, `tokenizer.refresh`, ...).
The fixture keeps the tokenizer, the documents, the config, dolma's shards themselves and, per document id, the
token ids dolma wrote, so CI compares our shards and reads dolma's without installing dolma:

    python benchmarks/golden_tokens.py
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DOLMA = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "dolma"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "tokens"
ROOT = "{root}"

WORDS = "the river city north school music album film team season 東京 café naïve 😀 a an of to in 1999 2024".split()


def make_documents(rng: random.Random) -> list[list[dict]]:
    files, doc_id = [], 0
    for _ in range(2):
        docs = []
        for _ in range(15):
            text = "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in range(3))
            docs.append({"id": doc_id, "metadata": {"body": text}, "source": "golden"})
            doc_id += 1
        files.append(docs)
    return files


def train_tokenizer(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def dolma_config(root: str) -> dict:
    return {
        "documents": [f"{root}/documents/*.jsonl.gz"],
        "destination": f"{root}/tokens",
        "tokenizer": {"name_or_path": f"{root}/tokenizer.json", "eos_token_id": 0, "pad_token_id": 1,
                      "refresh": 0, "fast": True, "segment_before_tokenization": False},
        "fields": {"text_field_name": "metadata.body", "text_field_type": "str", "id_field_name": "id",
                   "id_field_type": "int"},
        "processes": 1,
        "files_per_process": 1,
        "ring_size": 8,
        "sample_ring_prop": False,
        "max_size": 100_000,
        "seed": 3920,
        "dtype": "uint16",
    }


def tokens_by_id(destination: Path) -> dict[str, list[int]]:
    """Every document's ids, from each shard's index (start, end, id, src, loc)."""
    out = {}
    for index in sorted(destination.glob("*.csv.gz")):
        tokens = np.memmap(index.with_suffix("").with_suffix(".npy"), dtype=np.uint16, mode="r")
        with gzip.open(index, "rt") as fh:
            for start, end, doc_id, _, _ in csv.reader(io.StringIO(fh.read())):
                out[doc_id] = tokens[int(start):int(end)].tolist()
    return out


def main() -> None:
    if not REFERENCE_DOLMA.exists():
        sys.exit(f"reference dolma not found at {REFERENCE_DOLMA}; run benchmarks/setup_reference.sh")
    shutil.rmtree(FIXTURE, ignore_errors=True)
    (FIXTURE / "documents").mkdir(parents=True)
    files = make_documents(random.Random(7))
    config = json.loads(train_tokenizer([d["metadata"]["body"] for docs in files for d in docs]).to_str())
    config["model"]["merges"] = [" ".join(pair) for pair in config["model"]["merges"]]  # what tokenizers 0.19 reads
    (FIXTURE / "tokenizer.json").write_text(json.dumps(config, ensure_ascii=False))
    for index, docs in enumerate(files):
        with gzip.GzipFile(FIXTURE / "documents" / f"part-{index}.jsonl.gz", "wb", mtime=0) as fh:
            fh.write(b"".join(json.dumps(d, ensure_ascii=False).encode() + b"\n" for d in docs))
    (FIXTURE / "config.yaml").write_text(yaml.safe_dump(dolma_config(ROOT), sort_keys=False))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(FIXTURE / "documents", root / "documents")
        shutil.copy(FIXTURE / "tokenizer.json", root / "tokenizer.json")
        (root / "config.yaml").write_text(yaml.safe_dump(dolma_config(str(root))))
        subprocess.run([str(REFERENCE_DOLMA), "-c", str(root / "config.yaml"), "tokens"], check=True,
                       capture_output=True)
        ids = tokens_by_id(root / "tokens")
        shutil.copytree(root / "tokens", FIXTURE / "dolma_shards")  # as dolma wrote them: no run record beside
    (FIXTURE / "tokens_by_id.json").write_text(json.dumps(ids, sort_keys=True) + "\n")
    print(f"{len(ids)} documents tokenized by dolma 1.2.1")


if __name__ == "__main__":
    main()
