"""Deterministic sampling and upsampling: each decision is a hash of (seed, stream, purpose, document id).

A document's fate never depends on the file it is in, the process that reads it or the order of reading, so
any process count (or Ray) writes the same bytes. Documents sharing an id share their fate.
"""

from __future__ import annotations

import math
from typing import Any

import xxhash

_SCALE = float(2**64)


def unit_hash(seed: int, stream: str, purpose: str, doc_id: Any) -> float:
    """A uniform number in [0, 1) fixed by the arguments."""
    key = f"{stream}\x00{purpose}\x00{doc_id}".encode("utf-8", "surrogatepass")
    return xxhash.xxh64_intdigest(key, seed=seed & 0xFFFFFFFFFFFFFFFF) / _SCALE


class Sampler:
    """How many copies of a document a stream writes: 0 (sampled out), or upsampled copies."""

    def __init__(self, seed: int, stream: str, sample: float, upsample: float) -> None:
        self.seed = seed
        self.stream = stream
        self.sample = sample
        self.whole = int(math.floor(upsample))
        self.fraction = upsample - self.whole
        self.active = sample < 1.0 or upsample != 1.0

    def copies(self, doc_id: Any) -> int:
        """0 when the document is sampled out; else floor(upsample), plus one with probability frac(upsample)."""
        if self.sample < 1.0 and unit_hash(self.seed, self.stream, "sample", doc_id) >= self.sample:
            return 0
        if self.fraction and unit_hash(self.seed, self.stream, "upsample", doc_id) < self.fraction:
            return self.whole + 1
        return self.whole
