# Type stubs for the compiled extension `dolma_py._rust` (rust_ext/). Each area keeps its own section;
# use the typed wrappers (`dolma_py.dedupe.bloom`, `dolma_py.text`, taggers) rather than these raw entry points.

from os import PathLike

import numpy as np
from numpy.typing import NDArray

__version__: str

# ---------------------------------------------------------------------------------------------------------------
# Bloom filter (rust_ext/src/bloom.rs, bindings/bloom.rs); wrapper: dolma_py.dedupe.bloom
# ---------------------------------------------------------------------------------------------------------------

BLOOM_MAX_HASHES: int
BLOOM_DEFAULT_HASHES: int
BLOOM_CLASSIC_FORMAT_VERSION: int
BLOOM_BLOCKED_FORMAT_VERSION: int
BLOOM_HASH_ALGORITHM: str

class BloomFilter:
    """Thread-safe Bloom filter over uint64 key hashes; batch methods release the GIL."""

    def __new__(cls, num_bits: int, num_hashes: int, seed: int = 0) -> BloomFilter: ...
    @staticmethod
    def from_expected(expected_items: int, fpr: float, seed: int = 0) -> BloomFilter: ...
    @staticmethod
    def from_size(size_in_bytes: int, expected_items: int | None = None, seed: int = 0) -> BloomFilter: ...
    @staticmethod
    def plan(expected_items: int, fpr: float) -> tuple[int, int]: ...
    @staticmethod
    def load(path: str | PathLike[str], read_only: bool = False, mmap: bool = False) -> BloomFilter: ...
    def save(self, path: str | PathLike[str]) -> None: ...
    @property
    def num_bits(self) -> int: ...
    @property
    def num_hashes(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def size_in_bytes(self) -> int: ...
    def fill_ratio(self) -> float: ...
    def estimated_fpr(self) -> float: ...
    def estimated_items(self) -> float: ...
    def contains(self, hashes: NDArray[np.uint64]) -> NDArray[np.bool_]: ...
    def insert(self, hashes: NDArray[np.uint64]) -> None: ...
    def check_and_insert(self, hashes: NDArray[np.uint64]) -> NDArray[np.bool_]: ...
    def merge(self, other: BloomFilter) -> None: ...

# ---------------------------------------------------------------------------------------------------------------
# Text kernels (rust_ext/src/text.rs, segment.rs, bindings/text.rs); wrapper: dolma_py.text
# All offsets are code points; `offsets` arrays have len(texts) + 1 entries grouping rows per text.
# ---------------------------------------------------------------------------------------------------------------

class Normalization:
    def __init__(
        self,
        *,
        lowercase: bool = False,
        collapse_whitespace: bool = False,
        strip_punctuation: bool = False,
        strip_digits: bool = False,
    ) -> None: ...
    @property
    def lowercase(self) -> bool: ...
    @property
    def collapse_whitespace(self) -> bool: ...
    @property
    def strip_punctuation(self) -> bool: ...
    @property
    def strip_digits(self) -> bool: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

def normalize_texts(texts: list[str] | tuple[str, ...], normalization: Normalization) -> list[str]: ...
def hash_texts(
    texts: list[str] | tuple[str, ...], *, normalization: Normalization | None = None, seed: int = 0
) -> NDArray[np.uint64]: ...
def word_spans(
    texts: list[str] | tuple[str, ...], *, word_mode: str = "bounds"
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]: ...
def word_counts(texts: list[str] | tuple[str, ...], *, word_mode: str = "bounds") -> NDArray[np.int64]: ...
def split_paragraphs(
    texts: list[str] | tuple[str, ...], *, separator: str = "\n", include_separator: bool = True
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]: ...
def paragraph_hashes(
    texts: list[str] | tuple[str, ...] | ParsedTexts,
    *,
    separator: str = "\n",
    normalization: Normalization | None = None,
    seed: int = 0,
    min_length: int = 0,
    min_words: int = 0,
    skip_empty: bool = False,
    word_mode: str = "bounds",
    include_separator: bool = True,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.uint64]]: ...
def ngram_hashes(
    texts: list[str] | tuple[str, ...],
    n: int,
    *,
    stride: int = 1,
    normalization: Normalization | None = None,
    seed: int = 0,
    word_mode: str = "bounds",
) -> tuple[NDArray[np.int64], NDArray[np.uint64]]: ...
def paragraph_ngram_hashes(
    texts: list[str] | tuple[str, ...] | ParsedTexts,
    n: int,
    *,
    stride: int = 1,
    separator: str = "\n",
    normalization: Normalization | None = None,
    seed: int = 0,
    min_length: int = 0,
    min_words: int = 0,
    skip_empty: bool = False,
    word_mode: str = "bounds",
    include_separator: bool = True,
) -> tuple[
    NDArray[np.int64],  # offsets (paragraphs per text)
    NDArray[np.int64],  # start
    NDArray[np.int64],  # end
    NDArray[np.uint64],  # paragraph hashes
    NDArray[np.int64],  # num_words
    NDArray[np.int64],  # ngram_offsets (n-grams per paragraph)
    NDArray[np.uint64],  # ngram hashes
]: ...

# ---------------------------------------------------------------------------------------------------------------
# Documents and attribute lines for dedupe (rust_ext/src/jsonl.rs, attributes.rs, bindings/jsonl.rs,
# bindings/attributes.rs); callers: dolma_py.dedupe.reader, dolma_py.dedupe.output
# ---------------------------------------------------------------------------------------------------------------

class ParsedTexts:
    """Texts of documents parsed by `parse_documents`, kept in Rust; the paragraph kernels take them as texts."""

    def __len__(self) -> int: ...
    def nonempty(self) -> NDArray[np.bool_]: ...

DOCUMENT_FIELDS: list[tuple[str, bool, str]]
"""The document model's field rules (jsonl.rs `FIELDS`): (field, required, what its value must be), e.g.
`("metadata", False, "an object or null")`; `dolma_py.docmodel` builds the Python checks from it."""

DOCUMENT_REJECTIONS: list[str]
"""Every kind of bad line `parse_documents` reports; `dolma_py.docmodel.MESSAGES` words each one."""

def count_lines(block: bytes) -> int:
    """Lines of `block` as `block.split(b"\\n")` cuts them: one more than its newlines."""

def parse_documents(
    block: bytes,
) -> tuple[
    list[str | None],  # per line: its id (None where the line has no string id)
    ParsedTexts,  # the texts of the lines holding a valid document
    NDArray[np.int64],  # which lines those are
    list[tuple[int, str, str | None, str | None, int | None]],  # per bad line: (index, kind, field, got, byte)
]:
    """Check and read the JSON document lines of `block` (cut as `block.split(b"\\n")` cuts them) in Rust, the
    document model of `jsonl.rs`."""

def attribute_lines(
    name: str,
    ids: list[str | None],
    with_key: NDArray[np.bool_],
    first: NDArray[np.int64],
    starts: NDArray[np.int64],
    ends: NDArray[np.int64],
    scores: NDArray[np.float64],
) -> bytes:
    """dolma attribute lines, one per id, each ending in a newline."""

# ---------------------------------------------------------------------------------------------------------------
# Core taggers (rust_ext/src/gopher.rs, c4.rs, pii.rs, wordsplit.rs, pyunicode.rs, bindings/taggers.rs);
# wrappers: taggers.gopher, taggers.c4, taggers.pii, taggers.length. Offsets are code points; float scores are
# rounded to five decimals like dolma writes them.
# ---------------------------------------------------------------------------------------------------------------

GOPHER_KEYS: tuple[str, ...]
C4_NAUGHTY: int
C4_JAVASCRIPT_WORD: int
C4_JAVASCRIPT_SUBSTRING: int
C4_LOREM_IPSUM: int
C4_CURLY_BRACE: int
C4_NO_ENDING_PUNCTUATION: int
C4_TOO_FEW_WORDS: int

def gopher_stats_batch(texts: list[str], ignore_empty_lines: bool = False) -> list[float]:
    """len(GOPHER_KEYS) values per text, in that order; NaN where dolma emits nothing."""

class C4Rules:
    """C4 rules compiled with a naughty-word list (entries with a space are phrases)."""

    def __new__(cls, naughty_entries: list[str]) -> C4Rules: ...
    def tag_batch(self, texts: list[str]) -> list[tuple[int, int, list[int]]]:
        """Per text: (C4_* flag bits, line count, flat [start, end, rule bits] of lines breaking a rule)."""

def pii_regex_batch(texts: list[str]) -> list[tuple[int, list[int]]]:
    """Per text: (word count, flat [kind, start, end] after dolma's post-processing); kind 0 email, 1 phone, 2 IP."""

def pii_regex_fast_batch(texts: list[str]) -> list[list[int] | None]:
    """Per text: flat [kind, start, end] matched per paragraph, or None for texts with > 10,000 '?'."""

def word_piece_count_batch(texts: list[str]) -> list[int]:
    """len(regex.split(r"\\w+|[^\\w\\s]+", text)) per text."""

# ---------------------------------------------------------------------------------------------------------------
# Character repetitions (rust_ext/src/repetitions.rs, bindings/repetitions.rs); wrapper: taggers.repetitions
# Matches of dolma's re.finditer(r"(.+?)(\s?\1){3,}", text), per text or per '\n'-terminated paragraph.
# ---------------------------------------------------------------------------------------------------------------

def char_repetitions_batch(
    texts: list[str], per_paragraph: bool
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(offsets, starts, ends, periods, counts): text k's matches are rows offsets[k]:offsets[k+1]; starts/ends in
    code points, periods = len(group(1)), counts = group(0).count(group(1)) (dolma's score)."""

# ---------------------------------------------------------------------------------------------------------------
# MinHash-LSH (rust_ext/src/minhash.rs, bindings/minhash.rs); wrappers: dolma_py.dedupe.fuzzy
# `norm` is (lowercase, strip_punctuation, strip_digits, normalize_numbers, strip_diacritics); `hashing` is "xxh3"
# or "datatrove". Texts are a list of str or the texts of `parse_documents`.
# ---------------------------------------------------------------------------------------------------------------

MINHASH_PRIME: int

def minhash_signatures(
    texts: list[str] | ParsedTexts,
    *,
    ngram_length: int,
    norm: tuple[bool, bool, bool, bool, bool],
    a: NDArray[np.uint64],
    b: NDArray[np.uint64],
    band_size: int,
    keep_signatures: bool,
    hashing: str = "xxh3",
) -> tuple[NDArray[np.uint64], NDArray[np.bool_], NDArray[np.int64], NDArray[np.uint64] | None]:
    """(band_keys[n, num_bands], has_signature[n], lengths[n] in code points, signatures[n, num_hashes] or None)."""

def minhash_shingle_text(text: str, norm: tuple[bool, bool, bool, bool, bool]) -> str:
    """The normalized words of `text` joined by spaces (what shingles are cut from)."""

def minhash_shingle_sets(
    texts: list[str] | ParsedTexts, *, ngram_length: int, norm: tuple[bool, bool, bool, bool, bool],
    hashing: str = "xxh3",
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """(values, counts): each text's sorted distinct shingle hashes, concatenated, and how many each has."""

def minhash_exact_jaccard(
    values: NDArray[np.uint64], offsets: NDArray[np.int64], left: NDArray[np.int64], right: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Exact Jaccard of each pair of sets (left[i], right[i]); set k is values[offsets[k]:offsets[k + 1]]."""

def minhash_merge_runs(paths: list[str | PathLike[str]], starts: list[int], ends: list[int]) -> NDArray[np.uint64]:
    """Distinct sorted candidate edges [doc, first] of the runs: paths[i] records starts[i]:ends[i]."""

class MinhashClusters:
    """Union-find over doc keys."""

    def __new__(cls) -> MinhashClusters: ...
    def add_edges(self, edges: NDArray[np.uint64]) -> None:
        """Join the two documents of every row of `edges` (shape [n, 2])."""
    def components(self) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
        """(docs, roots): every document with an edge, sorted, and its cluster's smallest doc key."""
    def __len__(self) -> int: ...
