"""datatrove's four-stage MinHash dedupe on a folder of dolma documents: the reference side of bench_minhash.py.

    python benchmarks/minhash_datatrove.py DOCUMENTS_DIR OUTPUT_DIR --workers 2 [--tokenizer whitespace|spacy]

Stages (each a `LocalPipelineExecutor` with `--workers` processes): `MinhashDedupSignature` (one task per input
file) -> `MinhashDedupBuckets` (one task per band) -> `MinhashDedupCluster` (one task; datatrove's clustering is
single-process) -> `MinhashDedupFilter` (one task per input file, writing the kept documents as jsonl.gz).
Parameters: 5-grams, 14 bands of 8 hashes, seed 1, 64-bit xxhash, datatrove's default `TextNormConfig`.

Words: datatrove's English word tokenizer is spaCy's blank "en" model (no downloaded data), which splits a few
normalized words further (`thats` -> `that s`). `--tokenizer whitespace` (the default here) splits the normalized
text on spaces instead, which is what our engine and the ground truth do, so both sides hash the same shingles;
`--tokenizer spacy` runs datatrove's own default.

Hashing: datatrove 0.10.1 passes `str` n-grams to `xxhash.xxh64_intdigest`, which xxhash 4 rejects ("Strings must
be encoded before hashing"); `utf8_xxhash64` restores xxhash 3's behaviour (hash the UTF-8 bytes) before the
steps are built, so datatrove's default `hash_fc="xxhash"` runs unchanged otherwise.

Outputs under OUTPUT_DIR: `signatures/`, `buckets/`, `remove_ids/` (`NNNNNN.remove`: uint32 line numbers of the
removed documents of input file N; `NNNNNN.clusters`: (line, cluster id) uint32 pairs of every clustered document),
`deduplicated/` and `logs/`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import datatrove.utils.hashes.xxhash as datatrove_xxhash
import xxhash
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.utils.hashing import HashConfig
from datatrove.utils.word_tokenizers import WordTokenizer

CONFIG = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1,
                       hash_config=HashConfig(precision=64, hash_fc="xxhash"))


def utf8_xxhash64(data: str | bytes) -> int:
    """xxh64 of `data`, a `str` taken as its UTF-8 bytes (as xxhash 3 did)."""
    return xxhash.xxh64_intdigest(data.encode() if isinstance(data, str) else data)


class SpaceWordTokenizer(WordTokenizer):
    """Words are the space-separated tokens of the (already normalized) text. MinHash only calls `word_tokenize`."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        raise NotImplementedError("SpaceWordTokenizer only splits words (all that MinHash needs)")

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        raise NotImplementedError("SpaceWordTokenizer only splits words (all that MinHash needs)")


def run(documents: Path, output: Path, *, workers: int, tokenizer: str) -> None:
    """The four stages, one after the other."""
    files = sorted(documents.glob("*.jsonl.gz"))
    if not files:
        raise SystemExit(f"no *.jsonl.gz under {documents}")
    language = SpaceWordTokenizer() if tokenizer == "whitespace" else "eng"
    datatrove_xxhash.xxhash64 = utf8_xxhash64  # read by create_hash_func when MinhashDedupSignature is built

    def reader() -> JsonlReader:
        return JsonlReader(str(documents), glob_pattern="*.jsonl.gz")

    stages = [
        ([reader(), MinhashDedupSignature(output_folder=str(output / "signatures"), config=CONFIG,
                                          language=language)], len(files)),
        ([MinhashDedupBuckets(input_folder=str(output / "signatures"), output_folder=str(output / "buckets"),
                              config=CONFIG)], CONFIG.num_buckets),
        ([MinhashDedupCluster(input_folder=str(output / "buckets"), output_folder=str(output / "remove_ids"),
                              config=CONFIG, save_cluster_id=True)], 1),
        ([reader(), MinhashDedupFilter(input_folder=str(output / "remove_ids")),
          JsonlWriter(str(output / "deduplicated"))], len(files)),
    ]
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=min(workers, tasks),
                              logging_dir=str(output / "logs" / f"stage{i + 1}")).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("documents", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tokenizer", choices=("whitespace", "spacy"), default="whitespace")
    args = parser.parse_args()
    run(args.documents, args.output, workers=args.workers, tokenizer=args.tokenizer)


if __name__ == "__main__":
    main()
