"""`random_number_v1`: a uniform number per document for random sampling in mixer filters (key `random`).

dolma draws from a process-seeded generator, so its values depend on process ids and document order; ours is a
hash of the document id and `seed`, so reruns, resumed runs and any parallelism give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import xxhash

from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.registry import register

RESOLUTION = 100_000
"""Values are multiples of 1e-5 in [0, 1): dolma rounds scores to five decimals, and 0.99999 stays below 1."""


def id_uniform(doc_id: str, seed: int) -> float:
    """A number in [0, 1), uniform over ids: the top bits of xxh3-64(id, seed) scaled to `RESOLUTION` steps."""
    digest = xxhash.xxh3_64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=seed)
    return ((digest * RESOLUTION) >> 64) / RESOLUTION


@register("random_number_v1")
class RandomNumberV1(BaseTagger):
    """A number in [0, 1) derived from the document id and `seed` (key `random`)."""

    def __init__(self, seed: int = 1) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 < seed < 2**64:
            raise ValueError(f"random_number_v1: seed must be a positive 64-bit integer, got {seed!r}")
        self.seed = seed

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [{"random": [Span(0, len(doc.text), id_uniform(doc.id, self.seed))]} for doc in docs]
