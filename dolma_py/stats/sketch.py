"""A fixed-memory quantile sketch (KLL, Karnin, Lang and Liberty 2016) with deterministic compaction.

Level h holds items of weight 2**h. When a level outgrows its capacity (`k` at the top, shrinking by 2/3 per level
below) it is sorted and every other item moves up a level. KLL picks which half (odd or even positions) at random;
we alternate it per level, stored in the sketch, so a sketch depends only on its inputs and the order of merges,
and the driver merges units in plan order: the same bytes for any process count or executor. Memory is O(k) items
whatever the input size; the rank error is about 1.7/k of the count (k = 200: under 1%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_K = 200


@dataclass
class KllSketch:
    """Approximate quantiles of a stream of numbers in O(k) memory, mergeable."""

    k: int = DEFAULT_K
    levels: list[np.ndarray] = field(default_factory=lambda: [np.empty(0)])
    parity: list[int] = field(default_factory=lambda: [0])
    count: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf

    def _capacity(self, level: int) -> int:
        depth = len(self.levels) - 1 - level
        return max(2, math.ceil(self.k * (2 / 3) ** depth))

    def add(self, values: np.ndarray) -> None:
        """Add a batch of values."""
        if values.size == 0:
            return
        values = np.asarray(values, dtype=np.float64)
        self.count += int(values.size)
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))
        self.levels[0] = np.concatenate([self.levels[0], values])
        self._compress()

    def merge(self, other: KllSketch) -> None:
        """Fold `other` into this sketch, level by level."""
        while len(self.levels) < len(other.levels):
            self.levels.append(np.empty(0))
            self.parity.append(0)
        for level, items in enumerate(other.levels):
            self.levels[level] = np.concatenate([self.levels[level], items])
        self.count += other.count
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        self._compress()

    def _compress(self) -> None:
        level = 0
        while level < len(self.levels):
            items = self.levels[level]
            if items.size > self._capacity(level):
                if level + 1 == len(self.levels):
                    self.levels.append(np.empty(0))
                    self.parity.append(0)
                items = np.sort(items, kind="stable")
                keep = items[-1:] if items.size % 2 else items[:0]  # an odd one out stays at this weight
                pairs = items[: items.size - keep.size]
                promoted = pairs[self.parity[level] :: 2]
                self.parity[level] ^= 1
                self.levels[level] = keep
                self.levels[level + 1] = np.concatenate([self.levels[level + 1], promoted])
            level += 1

    def quantiles(self, qs: list[float]) -> list[float | None]:
        """The values at ranks `q * count` (None for an empty sketch); q=0 and q=1 are the exact min and max."""
        if self.count == 0:
            return [None for _ in qs]
        items = np.concatenate(self.levels)
        weights = np.concatenate([np.full(level.size, 2**h, dtype=np.float64) for h, level in enumerate(self.levels)])
        order = np.argsort(items, kind="stable")
        items, cumulative = items[order], np.cumsum(weights[order])
        total = cumulative[-1]
        out: list[float | None] = []
        for q in qs:
            if q <= 0:
                out.append(self.minimum)
            elif q >= 1:
                out.append(self.maximum)
            else:
                index = int(np.searchsorted(cumulative, q * total, side="left"))
                out.append(float(items[min(index, items.size - 1)]))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "levels": [level.tolist() for level in self.levels],
            "parity": list(self.parity),
            "count": self.count,
            "min": self.minimum if self.count else None,
            "max": self.maximum if self.count else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KllSketch:
        return cls(
            k=data["k"],
            levels=[np.asarray(level, dtype=np.float64) for level in data["levels"]],
            parity=list(data["parity"]),
            count=data["count"],
            minimum=math.inf if data["min"] is None else data["min"],
            maximum=-math.inf if data["max"] is None else data["max"],
        )
