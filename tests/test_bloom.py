"""The Rust Bloom filter through its typed wrapper: sizing, accuracy, persistence, read-only and merge."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from dolma_py import text
from dolma_py.dedupe.bloom import DEFAULT_HASHES, FORMAT_VERSIONS, MAX_HASHES, BloomFilter


def random_keys(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64)


def test_no_false_negatives_on_exact_duplicates() -> None:
    docs = [f"document {i} with some words {i * 7919}" for i in range(50_000)]
    keys = text.hash_texts(docs, seed=3)
    bloom = BloomFilter.from_expected(len(docs), 0.01, seed=3)
    first = bloom.check_and_insert(keys)
    assert first.dtype == np.bool_ and first.shape == (len(docs),)
    assert first.mean() < 0.02
    assert bloom.contains(keys).all()
    assert bloom.check_and_insert(text.hash_texts(docs, seed=3)).all()


@pytest.mark.parametrize("fpr", [0.01, 0.001])
def test_measured_fpr_is_close_to_configured(fpr: float) -> None:
    n = 10_000_000 if fpr == 0.01 else 1_000_000
    bloom = BloomFilter.from_expected(n, fpr)
    bloom.insert(random_keys(n, seed=1))
    probes = random_keys(10_000_000, seed=2)
    measured = bloom.contains(probes).mean()
    assert fpr / 1.5 <= measured <= fpr * 1.5, measured
    assert bloom.estimated_fpr() == pytest.approx(fpr, rel=0.2)
    assert bloom.estimated_items() == pytest.approx(n, rel=0.02)
    assert bloom.num_bits % 64 != 0  # the optimal size is not a power of two, nor word aligned


def test_sizing_and_hash_count_cap() -> None:
    num_bits, num_hashes = BloomFilter.plan(1_000_000, 0.01)
    assert num_hashes == 7
    assert num_bits == pytest.approx(-1e6 * math.log(0.01) / math.log(2) ** 2, rel=0.01)
    assert BloomFilter.from_size(1 << 20, expected_items=1000).num_hashes == MAX_HASHES
    plain = BloomFilter.from_size(1 << 20)
    assert (plain.num_hashes, plain.num_bits, plain.size_in_bytes) == (DEFAULT_HASHES, 8 << 20, 1 << 20)
    tiny = BloomFilter.from_expected(1, 0.5)
    assert tiny.num_hashes == 1 and tiny.num_bits >= 1
    assert BloomFilter.plan(1000, 1e-12)[1] == MAX_HASHES
    with pytest.raises(ValueError, match="cannot allocate"):
        BloomFilter.from_size(2**60)  # fails cleanly instead of aborting the process


@pytest.mark.parametrize(
    "make",
    [
        lambda: BloomFilter.from_expected(100, 0.0),
        lambda: BloomFilter.from_expected(100, 1.0),
        lambda: BloomFilter.from_expected(100, -0.1),
        lambda: BloomFilter.from_expected(100, 1.5),
        lambda: BloomFilter.from_expected(100, float("nan")),
        lambda: BloomFilter.from_expected(0, 0.01),
        lambda: BloomFilter.from_expected(-5, 0.01),
        lambda: BloomFilter.from_size(0),
        lambda: BloomFilter.from_size(-1),
        lambda: BloomFilter.from_size(1024, expected_items=0),
        lambda: BloomFilter.with_shape(0, 3),
        lambda: BloomFilter.with_shape(64, 0),
        lambda: BloomFilter.with_shape(64, MAX_HASHES + 1),
        lambda: BloomFilter.with_shape(64, 3, seed=-1),
        lambda: BloomFilter.plan(10, 0.0),
    ],
)
def test_bad_values_raise_clear_errors(make) -> None:
    with pytest.raises(ValueError, match="must"):
        make()


def test_check_and_insert_sees_repeats_within_a_batch() -> None:
    bloom = BloomFilter.with_shape(1 << 16, 4)
    assert bloom.check_and_insert(np.array([5, 6, 5, 5], dtype=np.uint64)).tolist() == [False, False, True, True]
    assert bloom.check_and_insert([6, 7, 7]).tolist() == [True, False, True]
    assert bloom.contains(np.array([-1], dtype=np.int64)).tolist() == [False]  # int64 reinterpreted as uint64
    bloom.insert(np.array([-1], dtype=np.int64))
    assert bloom.contains(np.array([2**64 - 1], dtype=np.uint64)).tolist() == [True]
    assert bloom.contains(np.array([], dtype=np.uint64)).shape == (0,)
    with pytest.raises(TypeError):
        bloom.contains(np.array([1.0]))
    with pytest.raises(ValueError, match="1-D"):
        bloom.contains(np.zeros((2, 2), dtype=np.uint64))


def test_strided_input_is_accepted() -> None:
    bloom = BloomFilter.with_shape(10_000, 3)
    keys = random_keys(200, seed=9)
    bloom.insert(keys[::2])
    assert bloom.contains(keys[::2]).all()


def test_concurrent_inserts_from_threads() -> None:
    bloom = BloomFilter.from_expected(400_000, 0.01)
    chunks = [random_keys(100_000, seed=s) for s in range(4)]
    threads = [threading.Thread(target=bloom.insert, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(bloom.contains(c).all() for c in chunks)


def test_fill_ratio_and_estimated_fpr() -> None:
    bloom = BloomFilter.with_shape(1000, 2)
    assert bloom.fill_ratio() == 0.0 and bloom.estimated_fpr() == 0.0
    bloom.insert(random_keys(100, seed=4))
    fill = bloom.fill_ratio()
    assert 0.1 < fill < 0.2
    assert bloom.estimated_fpr() == pytest.approx(fill**2)


@pytest.mark.parametrize("num_bits", [1 << 16, 1 << 20, 1000, 999_983, 64 * 1000 + 1])
@pytest.mark.parametrize("mmap", [False, True])
def test_save_load_round_trip(tmp_path, num_bits: int, mmap: bool) -> None:
    bloom = BloomFilter.with_shape(num_bits, 5, seed=12345)
    keys = random_keys(min(num_bits // 20, 20_000), seed=num_bits)
    bloom.insert(keys)
    path = tmp_path / "nested" / "filter.bin"
    bloom.save(path)
    assert sorted(os.listdir(path.parent)) == ["filter.bin"]
    loaded = BloomFilter.load(path, mmap=mmap)
    assert (loaded.num_bits, loaded.num_hashes, loaded.seed, loaded.read_only) == (num_bits, 5, 12345, False)
    assert loaded.fill_ratio() == bloom.fill_ratio()
    assert loaded.contains(keys).all()
    probes = random_keys(5000, seed=77)
    assert (loaded.contains(probes) == bloom.contains(probes)).all()
    loaded.save(tmp_path / "again.bin")
    assert (tmp_path / "again.bin").read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("layout", "header"), [("classic", 72), ("blocked", 128)])
def test_file_header_is_versioned(tmp_path, layout: str, header: int) -> None:
    path = tmp_path / "f.bin"
    BloomFilter.with_shape(1024, 3, seed=7, layout=layout).save(path)
    raw = path.read_bytes()
    assert raw[:8] == b"DPYBLOOM"
    assert int.from_bytes(raw[8:12], "little") == FORMAT_VERSIONS[layout]
    assert b"xxh3_64" in raw[:72]
    assert len(raw) == header + 1024 // 8
    assert BloomFilter.load(path).layout == layout


@pytest.mark.parametrize("fpr", [0.01, 0.001])
def test_blocked_filter_measured_rate_is_within_the_planned_bound(fpr: float) -> None:
    """A blocked filter sized for n keys at `fpr`, holding n keys, answers fresh keys falsely at about `fpr`
    (2 million probes: a relative standard error of 2% at 1e-3) and never misses an inserted key."""
    keys = random_keys(300_000, seed=1)
    bloom = BloomFilter.from_expected(len(keys), fpr, layout="blocked")
    assert bloom.layout == "blocked"
    assert not bloom.check_and_insert(keys).all()
    assert bloom.contains(keys).all()
    probes = random_keys(2_000_000, seed=2)
    probes = probes[~np.isin(probes, keys)]
    measured = bloom.contains(probes).mean()
    predicted = BloomFilter.expected_fpr("blocked", bloom.num_bits, bloom.num_hashes, len(keys))
    assert predicted <= fpr
    assert measured <= fpr * 1.1, (measured, predicted)
    assert abs(measured / predicted - 1) < 0.1, (measured, predicted)


def test_blocked_check_and_insert_is_the_same_on_any_thread_count(tmp_path) -> None:
    """The block-parallel check-and-insert gives the sequential answers and bits (RAYON_NUM_THREADS 1 vs 4)."""
    script = (
        "import sys, numpy as np; from dolma_py.dedupe.bloom import BloomFilter\n"
        "rng = np.random.default_rng(3); keys = rng.integers(0, 2**63, 400_000, dtype=np.uint64)\n"
        "keys = np.concatenate([keys, keys[:100_000], keys[::7]])\n"
        "bloom = BloomFilter.with_shape(1 << 21, 6, layout='blocked')\n"
        "seen = np.concatenate([bloom.check_and_insert(keys), bloom.check_and_insert(keys[::3])])\n"
        "np.save(sys.argv[1] + '.npy', seen); bloom.save(sys.argv[1] + '.bin')\n"
    )
    for threads in (1, 4):
        env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / f"t{threads}")], env=env, check=True)
    assert (tmp_path / "t1.bin").read_bytes() == (tmp_path / "t4.bin").read_bytes()
    assert (np.load(tmp_path / "t1.npy") == np.load(tmp_path / "t4.npy")).all()


def test_writable_mmap_leaves_file_until_save(tmp_path) -> None:
    path = tmp_path / "f.bin"
    BloomFilter.with_shape(1 << 16, 3).save(path)
    before = path.read_bytes()
    bloom = BloomFilter.load(path, mmap=True)
    keys = random_keys(1000, seed=5)
    bloom.insert(keys)
    assert path.read_bytes() == before
    bloom.save(path)
    assert BloomFilter.load(path, read_only=True).contains(keys).all()


@pytest.mark.parametrize("mmap", [False, True])
def test_read_only_never_changes_the_file(tmp_path, mmap: bool) -> None:
    path = tmp_path / "f.bin"
    source = BloomFilter.with_shape(1 << 16, 3)
    source.insert(random_keys(1000, seed=6))
    source.save(path)
    before, mtime = path.read_bytes(), os.stat(path).st_mtime_ns
    bloom = BloomFilter.load(path, read_only=True, mmap=mmap)
    assert bloom.read_only
    keys = random_keys(10, seed=8)
    for mutate in (bloom.insert, bloom.check_and_insert, lambda k: bloom.merge(source)):
        with pytest.raises(ValueError, match="read-only"):
            mutate(keys)
    assert not bloom.contains(keys).any()
    assert bloom.fill_ratio() == source.fill_ratio()
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime


def test_merge_ors_and_checks_shape() -> None:
    a, b = BloomFilter.with_shape(50_000, 4, seed=1), BloomFilter.with_shape(50_000, 4, seed=1)
    ka, kb = random_keys(1000, seed=10), random_keys(1000, seed=11)
    a.insert(ka)
    b.insert(kb)
    a.merge(b)
    assert a.contains(ka).all() and a.contains(kb).all()
    assert not b.contains(ka).all()
    for other in (BloomFilter.with_shape(50_001, 4, seed=1), BloomFilter.with_shape(50_000, 5, seed=1),
                  BloomFilter.with_shape(50_000, 4, seed=2)):
        with pytest.raises(ValueError, match="cannot merge"):
            a.merge(other)


def test_loading_bad_files_gives_clear_errors(tmp_path) -> None:
    path = tmp_path / "f.bin"
    BloomFilter.with_shape(640, 3).save(path)
    good = path.read_bytes()
    for edit, message in [
        (lambda b: b"NOTBLOOM" + b[8:], "magic"),
        (lambda b: b[:8] + (99).to_bytes(4, "little") + b[12:], "version 99"),
        (lambda b: b[:-8], "bytes"),
        (lambda b: b[:20], "header"),
    ]:
        path.write_bytes(edit(good))
        with pytest.raises(ValueError, match=message) as info:
            BloomFilter.load(path)
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        BloomFilter.load(tmp_path / "missing.bin")
