"""The MinHash signature kernel alone (`_rust.minhash_signatures`) on one corpus file: MB/s and an output digest.

The file's texts are decoded first, so only the kernel is timed (best of `--repeats`), with the benchmark's
permutations (seed 1, 14 bands of 8) and datatrove's normalization. The digest covers band keys, flags, lengths,
full signatures and `minhash_shingle_text` of every text, so two builds can be checked byte for byte. Run with
`RAYON_NUM_THREADS=1` for the one-thread figure.

    RAYON_NUM_THREADS=1 python benchmarks/bench_minhash_kernel.py \
        .bench/minhash/30mb-seed0/documents/minhash/minhash-0000.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python benchmarks/x.py`

from dolma_py import _rust  # noqa: E402

NORM = (True, True, False, True, True)
"""datatrove's simplify_text: lowercase, punctuation to spaces, digits kept, numbers to 0, diacritics dropped."""


def permutations(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The engine's `a` and `b` (see `FuzzySpec.permutations`)."""
    prime = np.uint64(_rust.MINHASH_PRIME)
    gen = np.random.RandomState(seed)
    return gen.randint(1, prime, dtype=np.uint64, size=count), gen.randint(0, prime, dtype=np.uint64, size=count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="a .jsonl.gz of documents with a 'text' field")
    parser.add_argument("--hashing", choices=("xxh3", "datatrove"), default="xxh3")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = [orjson.loads(line)["text"] for line in gzip.decompress(args.path.read_bytes()).splitlines() if line]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    a, b = permutations(seed=1, count=14 * 8)
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = _rust.minhash_signatures(texts, ngram_length=5, norm=NORM, a=a, b=b, band_size=8, keep_signatures=True,
                                       hashing=args.hashing)
        best = min(best, time.perf_counter() - start)
    digest = hashlib.sha256()
    for array in out:
        digest.update(array.tobytes())
    for text in texts:
        digest.update(_rust.minhash_shingle_text(text, NORM).encode())
    print(f"{args.hashing}: {len(texts)} texts, {megabytes:.2f} MB, best of {args.repeats}: {best:.3f} s = "
          f"{megabytes / best:.1f} MB/s; digest {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
