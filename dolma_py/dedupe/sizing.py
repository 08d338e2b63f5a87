"""How large a new Bloom filter is (never smaller than dolma 1.2.1 makes it), and watching it fill as keys arrive."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from dolma_py.config.dedupe import BloomFilterConfig
from dolma_py.dedupe.bloom import MAX_HASHES, BloomFilter, Layout
from dolma_py.errors import DolmaError

DOLMA_MIN_BYTES = 1 << 20
"""dolma's `suggest_size_in_bytes` starts at 1 MiB and doubles."""

NEW_FILTER_LAYOUT: Layout = "blocked"
"""New filters put each key's bits in one cache line (one memory access per key); older classic files still load."""

SATURATION_FACTOR = 1.5
"""Warn (or fail) once the expected false-positive rate passes this multiple of the desired one."""


def dolma_prob_of_false_positive(size_in_bytes: int, expected: int, num_hashes: int) -> float:
    """dolma's `prob_of_false_positive`: (1 - (1 - 1/m)^(k n))^k."""
    m = size_in_bytes * 8
    return (1.0 - (1.0 - 1.0 / m) ** (num_hashes * expected)) ** num_hashes


def dolma_suggested_bytes(expected: int, fpr: float) -> int:
    """dolma's `suggest_size_in_bytes`: 1 MiB doubled until its rate with k = ceil(m / n * ln 2) is at most `fpr`."""
    size = DOLMA_MIN_BYTES
    while size < sys.maxsize // 2:
        k = math.ceil(size * 8 / expected * math.log(2))
        if dolma_prob_of_false_positive(size, expected, k) <= fpr:
            break
        size *= 2
    return size


def partition_bytes(config: BloomFilterConfig) -> int:
    """Bytes of each of `config.partitions` partitions of a new filter.

    `size_in_bytes` when given; else the larger of dolma's size and the smallest one whose rate, with our k capped
    at `MAX_HASHES`, meets `desired_false_positive_rate` (dolma's k can reach thousands, ours stays at most 16).
    """
    if config.size_in_bytes > 0:
        return max(1, config.size_in_bytes // config.partitions)
    expected, fpr = config.estimated_doc_count, config.desired_false_positive_rate
    ours = math.ceil(BloomFilter.plan(expected, fpr, NEW_FILTER_LAYOUT)[0] / 8)
    return max(1, max(dolma_suggested_bytes(expected, fpr), ours) // config.partitions)


def fewest_hashes(num_bits: int, keys: int, fpr: float, layout: Layout = NEW_FILTER_LAYOUT) -> int:
    """The smallest k (at most `MAX_HASHES`) whose rate for `keys` keys in `num_bits` bits is at most `fpr`: every
    hash is a random memory access, so a filter sized above the rate's need (dolma's power-of-two sizes) checks
    fewer bits instead of using the room to fall further below the rate."""
    for k in range(1, MAX_HASHES + 1):
        if expected_rate(num_bits, k, keys, layout) <= fpr:
            return k
    return MAX_HASHES


def expected_rate(num_bits: int, num_hashes: int, keys: float, layout: Layout) -> float:
    """False-positive rate of a `layout` filter of `num_bits` bits and `num_hashes` hashes holding `keys` distinct
    keys (classic: (1 - e^(-kn/m))^k; blocked: averaged over the Poisson number of keys per block)."""
    return BloomFilter.expected_fpr(layout, num_bits, num_hashes, keys)


@dataclass
class SaturationWatch:
    """Counts distinct keys inserted into a filter and warns once, or fails, when it holds too many for its rate.

    A key is counted when the filter had not seen it, so false positives make the count a slight underestimate.
    Keys spread evenly over the partitions, so each holds `keys / partitions`.
    """

    num_bits: int  # per partition
    num_hashes: int
    layout: Layout
    partitions: int
    desired_rate: float | None
    fail: bool
    keys: int = 0
    warned: bool = False

    @classmethod
    def for_filter(
        cls, config: BloomFilterConfig, num_bits: int, num_hashes: int, layout: Layout, keys: int
    ) -> SaturationWatch:
        """The desired rate is `desired_false_positive_rate`, else the filter's rate at `estimated_doc_count`."""
        desired = config.desired_false_positive_rate or None
        if desired is None and config.estimated_doc_count:
            desired = expected_rate(num_bits * config.partitions, num_hashes, config.estimated_doc_count, layout)
        return cls(num_bits, num_hashes, layout, config.partitions, desired, config.fail_on_saturation, keys)

    @property
    def rate(self) -> float:
        return expected_rate(self.num_bits, self.num_hashes, self.keys / self.partitions, self.layout)

    def add(self, new_keys: int) -> None:
        """Count `new_keys` more distinct keys; past the limit, warn the first time or raise with `fail`."""
        self.keys += new_keys
        if self.warned or self.desired_rate is None or self.rate <= SATURATION_FACTOR * self.desired_rate:
            return
        self.warned = True
        message = (
            f"bloom filter saturated: {self.keys:,} distinct keys inserted give an expected false-positive rate of "
            f"{self.rate:.3g}, over {SATURATION_FACTOR}x the desired {self.desired_rate:.3g}; duplicates are being "
            "over-reported. Raise bloom_filter.estimated_doc_count (or bloom_filter.size_in_bytes) and rerun "
            "with --overwrite"
        )
        if self.fail:
            raise DolmaError(message + " (bloom_filter.fail_on_saturation is set)")
        print(f"dedupe: warning: {message}", file=sys.stderr)
