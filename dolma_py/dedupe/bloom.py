"""Typed wrapper over the Rust Bloom filter used by `dolma dedupe`.

Keys are 64-bit hashes (from `dolma_py.text`, xxh3-64 seeded with the filter's `seed`); batches are NumPy
uint64 arrays processed in Rust with the GIL released. Unlike dolma's filter, k is capped at
`MAX_HASHES`, any bit count works (not just powers of two, also above 2^32), `from_size` without an expected
count is valid (k = `DEFAULT_HASHES`), files carry a versioned header and are written atomically.

Two layouts: "classic" (file format 1) spreads a key's k bits over the whole filter; "blocked" (format 2, what
dedupe makes new filters with) puts them in one 512-bit block, so a lookup is one cache miss instead of k, and
`check_and_insert` can split a batch over threads by block with the sequential answers. At the same size a
blocked filter has a slightly higher rate, which `plan`/`expected_fpr` include. Both formats load.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from dolma_py import _rust

MAX_HASHES: int = _rust.BLOOM_MAX_HASHES
DEFAULT_HASHES: int = _rust.BLOOM_DEFAULT_HASHES
Layout = Literal["classic", "blocked"]
FORMAT_VERSIONS: dict[str, int] = {"classic": _rust.BLOOM_CLASSIC_FORMAT_VERSION,
                                   "blocked": _rust.BLOOM_BLOCKED_FORMAT_VERSION}
HASH_ALGORITHM: str = _rust.BLOOM_HASH_ALGORITHM

_U64_MAX = (1 << 64) - 1


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 < value <= _U64_MAX:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _seed(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= _U64_MAX:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {value!r}")
    return int(value)


def _as_hashes(hashes: NDArray[np.integer] | Sequence[int]) -> NDArray[np.uint64]:
    """A contiguous 1-D uint64 view of `hashes` (signed 64-bit arrays are reinterpreted, not converted)."""
    array = np.asarray(hashes) if isinstance(hashes, np.ndarray) else np.asarray(hashes, dtype=np.uint64)
    if array.ndim != 1:
        raise ValueError(f"hashes must be a 1-D array, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise TypeError(f"hashes must be an integer array, got dtype {array.dtype}")
    if array.dtype.itemsize == 8:
        array = array.view(np.uint64)
    return np.ascontiguousarray(array, dtype=np.uint64)


class BloomFilter:
    """Thread-safe Bloom filter over uint64 key hashes; construct with `from_expected`, `from_size`,
    `with_shape` or `load`."""

    __slots__ = ("_raw",)

    def __init__(self, raw: _rust.BloomFilter) -> None:
        self._raw = raw

    @classmethod
    def from_expected(
        cls, expected_items: int, fpr: float, *, seed: int = 0, layout: Layout = "classic"
    ) -> BloomFilter:
        """Sized for `expected_items` keys at false-positive rate `fpr` in (0, 1) (see `plan`)."""
        count = _count("expected_items", expected_items)
        return cls(_rust.BloomFilter.from_expected(count, float(fpr), _seed(seed), layout))

    @classmethod
    def from_size(
        cls, size_in_bytes: int, expected_items: int | None = None, *, seed: int = 0, layout: Layout = "classic"
    ) -> BloomFilter:
        """`size_in_bytes` of bits; k = round(bits / expected_items * ln 2) capped to 1..MAX_HASHES, or
        DEFAULT_HASHES (7, optimal at ~10 bits per key) when the expected count is unknown."""
        expected = None if expected_items is None else _count("expected_items", expected_items)
        size = _count("size_in_bytes", size_in_bytes)
        return cls(_rust.BloomFilter.from_size(size, expected, _seed(seed), layout))

    @classmethod
    def with_shape(cls, num_bits: int, num_hashes: int, *, seed: int = 0, layout: Layout = "classic") -> BloomFilter:
        """`num_bits` bits (rounded up to whole 512-bit blocks when blocked) and `num_hashes` (1..MAX_HASHES) hash
        functions."""
        bits, hashes = _count("num_bits", num_bits), _count("num_hashes", num_hashes)
        return cls(_rust.BloomFilter(bits, hashes, _seed(seed), layout))

    @staticmethod
    def plan(expected_items: int, fpr: float, layout: Layout = "classic") -> tuple[int, int]:
        """(num_bits, num_hashes) that `from_expected` would allocate, to check memory before building."""
        return _rust.BloomFilter.plan(_count("expected_items", expected_items), float(fpr), layout)

    @staticmethod
    def expected_fpr(layout: Layout, num_bits: int, num_hashes: int, keys: float) -> float:
        """False-positive rate of a filter of this shape and layout holding `keys` distinct keys."""
        return _rust.BloomFilter.expected_fpr(layout, num_bits, num_hashes, float(keys))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, read_only: bool = False, mmap: bool = False) -> BloomFilter:
        """Open a saved filter. `mmap` loads pages lazily; read-only filters never write the file, writable
        mmapped ones are copy-on-write (changes reach disk only through `save`)."""
        return cls(_rust.BloomFilter.load(os.fspath(path), read_only=read_only, mmap=mmap))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to `path` atomically (temporary file in the same directory, fsync, rename)."""
        self._raw.save(os.fspath(path))

    @property
    def num_bits(self) -> int:
        return self._raw.num_bits

    @property
    def num_hashes(self) -> int:
        return self._raw.num_hashes

    @property
    def seed(self) -> int:
        """Seed the keys must be hashed with; stored in the file so all runs agree."""
        return self._raw.seed

    @property
    def read_only(self) -> bool:
        return self._raw.read_only

    @property
    def layout(self) -> Layout:
        """"classic" (format 1) or "blocked" (format 2)."""
        return self._raw.layout

    @property
    def size_in_bytes(self) -> int:
        return self._raw.size_in_bytes

    def fill_ratio(self) -> float:
        """Fraction of bits set (a popcount over the whole filter)."""
        return self._raw.fill_ratio()

    def estimated_fpr(self) -> float:
        """Current false-positive rate of a lookup: fill_ratio ** num_hashes (classic), the mean over blocks of
        (block fill) ** num_hashes (blocked)."""
        return self._raw.estimated_fpr()

    def estimated_items(self) -> float:
        """Estimated number of distinct keys inserted so far."""
        return self._raw.estimated_items()

    def contains(self, hashes: NDArray[np.integer] | Sequence[int]) -> NDArray[np.bool_]:
        """Whether each key may have been inserted (no false negatives)."""
        return self._raw.contains(_as_hashes(hashes))

    def insert(self, hashes: NDArray[np.integer] | Sequence[int]) -> None:
        """Insert every key; raises ValueError on a read-only filter."""
        self._raw.insert(_as_hashes(hashes))

    def check_and_insert(self, hashes: NDArray[np.integer] | Sequence[int]) -> NDArray[np.bool_]:
        """For each key in order, whether it was already present, inserting it; a key repeated within the
        batch reports True the second time. Blocked filters split large batches over the rayon pool by block,
        with the same answers. Raises ValueError on a read-only filter."""
        return self._raw.check_and_insert(_as_hashes(hashes))

    def merge(self, other: BloomFilter) -> None:
        """OR `other` into this filter; both need the same num_bits, num_hashes and seed."""
        self._raw.merge(other._raw)

    def __repr__(self) -> str:
        return repr(self._raw)
