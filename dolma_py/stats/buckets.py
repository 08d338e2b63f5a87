"""dolma 1.2.1's fixed-precision histogram buckets.

dolma's `FixedBucketsValTracker` files a value under `(floor(m * 10**5), e)` where `value = m * 2**e`
(`math.frexp`): 10**5 buckets per power of two, so a bucket's width is relative to its value. We keep the same
buckets as integer counts keyed by one int64 code (adding counts is exact and independent of order), and
summarize them to `bins` histogram bins the way dolma does (the buckets themselves when there are no more than
`bins`, else `numpy.histogram` over the bucket values weighted by their counts). dolma summarizes each file to
`bins` bins, then merges the files' summaries by filing each bin's lower edge with its count (`add_summary`);
`from_summary` does the same, so our report equals dolma's whatever the number of distinct values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PRECISION = 10**5
"""Buckets per power of two: dolma's `FixedBucketsValTracker(n=int(log10(100_000)))`."""
_K_OFFSET = 1 << 20  # mantissa buckets lie in (-10**5, 10**5); shifted to be non-negative inside a code
_E_SCALE = 1 << 21


def bucket_codes(values: np.ndarray) -> np.ndarray:
    """The int64 bucket code of each finite value: `e * 2**21 + floor(m * 10**5) + 2**20`."""
    mantissa, exponent = np.frexp(values)
    k = np.floor(mantissa * PRECISION).astype(np.int64)
    return exponent.astype(np.int64) * _E_SCALE + k + _K_OFFSET


def _decode(code: int) -> tuple[int, int]:
    exponent, rest = divmod(code, _E_SCALE)
    return rest - _K_OFFSET, exponent


def bucket_value(k: int, e: int) -> float:
    """A bucket's lower edge, computed as dolma does (`m / n * 2**e` in Python arithmetic)."""
    return k / PRECISION * 2**e


def upper_edge(value: float) -> float:
    """The upper edge of the bucket holding `value` (dolma's `get_bin_upper_bound`)."""
    m, e = math.frexp(value)
    return (math.floor(m * PRECISION) + 1) / PRECISION * 2**e


@dataclass
class Buckets:
    """Counts per fixed bucket, plus dolma's `total` (values added) and `sum` (their sum, in input order)."""

    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    sum: int | float = 0

    def add(self, values: list[int] | list[float]) -> None:
        """Add a batch of values in input order (the sum is accumulated left to right, as dolma does)."""
        if not values:
            return
        codes, counts = np.unique(bucket_codes(np.asarray(values, dtype=np.float64)), return_counts=True)
        for code, count in zip(codes.tolist(), counts.tolist(), strict=True):
            self.counts[code] = self.counts.get(code, 0) + count
        self.total += len(values)
        self.sum = sum(values, self.sum)

    def add_counts(self, values: list[float], counts: list[int]) -> None:
        """File each value with its count (the bins of a summary), leaving `total` and `sum` alone."""
        for code, count in zip(bucket_codes(np.asarray(values, dtype=np.float64)).tolist(), counts, strict=True):
            self.counts[code] = self.counts.get(code, 0) + count

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Buckets:
        """Buckets rebuilt from a summary as dolma's `add_summary` does: each bin's lower edge with its count, the
        summary's own total and sum."""
        buckets = cls(total=summary["total"], sum=summary["sum"])
        buckets.add_counts(summary["bins"][: len(summary["counts"])], summary["counts"])
        return buckets

    def merge(self, other: Buckets) -> None:
        """Add `other`'s counts (exact), its total, and its sum (callers merge in plan order)."""
        for code, count in other.counts.items():
            self.counts[code] = self.counts.get(code, 0) + count
        self.total += other.total
        self.sum = self.sum + other.sum

    def summarize(self, bins: int) -> dict[str, Any]:
        """dolma's summary: `counts`, `bins` (edges: one more than counts), `total` and `sum`."""
        pairs = sorted((bucket_value(*_decode(code)), count) for code, count in self.counts.items())
        values = [value for value, _ in pairs]
        counts = [count for _, count in pairs]
        if len(pairs) <= bins:
            edges = [float(v) for v in values] + ([upper_edge(max(values))] if values else [])
            return {"counts": counts, "bins": edges, "total": self.total, "sum": self.sum}
        hist, edges = np.histogram(a=values, bins=bins, weights=counts)
        return {"counts": hist.tolist(), "bins": edges.tolist(), "total": self.total, "sum": self.sum}
