"""Schema of `dolma dedupe`, accepting dolma's deduper config fields (plus a few of our own, all optional)."""

from __future__ import annotations

import dataclasses
import math

from dolma_py.config.schema import CompressionConfig, ExecConfig, WorkDirConfig, option


@dataclasses.dataclass
class NgramDedupeConfig:
    """dolma's `dedupe.paragraphs.by_ngram`: flag paragraphs whose n-grams were mostly seen before (BFF-style)."""

    ngram_length: int = option(0, help="words (UAX #29 segments, as dolma) per n-gram; 0 disables n-gram mode")
    stride: int = option(0, help="take every stride-th n-gram (0 or 1: every n-gram)")
    overlap_threshold: float = option(1.0, help="flag a paragraph when this fraction of its n-grams was already seen")
    skip_short_paragraphs: bool = option(
        False, help="skip paragraphs with no n-gram; otherwise paragraphs with fewer than 2 n-grams are matched whole"
    )


@dataclasses.dataclass
class ParagraphDedupeConfig:
    """dolma's `dedupe.paragraphs`."""

    attribute_name: str = option(help="attribute key written for duplicate paragraph spans")
    paragraph_separator: str = option("\n", help="string separating paragraphs; spans include the separator")
    by_ngram: NgramDedupeConfig | None = option(None, help="deduplicate by n-gram overlap instead of whole paragraphs")


@dataclasses.dataclass
class DocumentDedupeConfig:
    """dolma's `dedupe.documents`."""

    attribute_name: str = option(help="attribute key written for duplicate documents")
    key: str = option(help="JSONPath of the dedupe key in each document, e.g. $.metadata.url or $.text")


@dataclasses.dataclass
class NormalizationConfig:
    """How keys are normalized before hashing (ours; dolma hashes the raw text, which is the default)."""

    lowercase: bool = option(False, help="lowercase (full Unicode, like str.lower)")
    collapse_whitespace: bool = option(False, help="collapse whitespace runs to one space and trim")
    strip_punctuation: bool = option(False, help="drop Unicode punctuation and ASCII symbols")
    strip_digits: bool = option(False, help="drop decimal digits")
    normalize_numbers: bool = option(
        False, help="fuzzy only: each number (digits, optionally one decimal separator and digits) becomes 0"
    )
    strip_diacritics: bool = option(False, help="fuzzy only: decompose (NFD) and drop nonspacing marks, e.g. é -> e")

    @classmethod
    def datatrove(cls) -> NormalizationConfig:
        """Fuzzy dedupe's default: datatrove's MinHash `simplify_text` (whitespace is always normalized there)."""
        return cls(lowercase=True, collapse_whitespace=True, strip_punctuation=True, normalize_numbers=True,
                   strip_diacritics=True)


@dataclasses.dataclass
class MinhashDedupeConfig:
    """Ours: fuzzy dedupe of whole documents by MinHash-LSH over word n-grams (see docs/dedupe.md)."""

    attribute_name: str = option(help="attribute key flagging near-duplicates of a kept document")
    ngram_length: int = option(5, help="words per shingle (word n-gram)")
    num_bands: int = option(14, help="LSH bands; two documents are candidates when one band is equal")
    band_size: int = option(8, help="hashes per band (num_bands * band_size permutations in all)")
    seed: int = option(1, help="seed of the permutations (numpy RandomState, as datatrove draws them)")
    keep: str = option("first", help="which document of a cluster is kept: 'first' (plan order) or 'longest'")
    jaccard_threshold: float | None = option(
        None, help="verify each candidate pair: join it only if its Jaccard (see 'jaccard') is >= this"
    )
    jaccard: str = option(
        "estimated", help="how 'jaccard_threshold' measures a pair: 'estimated' (the share of equal signature values) "
        "or 'exact' (the two documents' shingle sets, stored for the run: about 8 bytes per distinct shingle)"
    )
    partitions: int = option(8, help="bucket partitions (by band key): the buckets stage runs one unit per partition")
    hashing: str = option(
        "xxh3", help="'xxh3' (xxh3-64 shingles, exact (a*h+b) mod 2^61-1) or 'datatrove' (its xxh64 shingles and "
        "wrapping uint64 arithmetic: the same signatures as datatrove's)"
    )


@dataclasses.dataclass
class DedupeSettings:
    """dolma's `dedupe` block: what is deduplicated and which items are too small to consider."""

    name: str | None = option(None, help="attribute experiment name (attributes/<name>/); default: the attribute_name")
    documents: DocumentDedupeConfig | None = option(None, help="deduplicate whole documents by a key")
    paragraphs: ParagraphDedupeConfig | None = option(None, help="deduplicate paragraphs (exactly or by n-grams)")
    minhash: MinhashDedupeConfig | None = option(None, help="ours: fuzzy dedupe of documents by MinHash-LSH")
    skip_empty: bool = option(False, help="ignore empty or whitespace-only keys/paragraphs")
    min_length: int = option(0, help="ignore keys/paragraphs shorter than this many characters (code points)")
    min_words: int = option(0, help="ignore keys/paragraphs with fewer words (UAX #29 segments) than this")
    normalization: NormalizationConfig | None = option(
        None, help="normalization applied before hashing (default: none; for minhash, datatrove's)"
    )
    num_partitions: int = option(1, help="dolma's hash-partitioned dedupe: the keys are split into this many parts")
    partition_index: int = option(0, help="the part this run handles, in [0, num_partitions) (one run per machine)")
    file_partition: bool = option(
        False, help="partition whole files (by a hash of their path) instead of keys; ours: keys are then not split"
    )
    document_dir: str = option("documents", help="path component replaced by attributes/<name> for the outputs")

    @property
    def _partition_suffix(self) -> str:
        """dolma names a partition's attribute and experiment `<name>_<partition_index>`."""
        return f"_{self.partition_index}" if self.num_partitions > 1 else ""

    @property
    def section(self) -> DocumentDedupeConfig | ParagraphDedupeConfig | MinhashDedupeConfig:
        """The one mode block given: documents, paragraphs or minhash."""
        section = self.documents or self.paragraphs or self.minhash
        assert section is not None
        return section

    @property
    def attribute_name(self) -> str:
        return self.section.attribute_name + self._partition_suffix

    @property
    def experiment(self) -> str:
        return (self.name or self.section.attribute_name) + self._partition_suffix

    @property
    def text_normalization(self) -> NormalizationConfig:
        """The normalization in effect: the block given, else none (exact modes) or datatrove's (minhash)."""
        if self.normalization is not None:
            return self.normalization
        return NormalizationConfig.datatrove() if self.minhash is not None else NormalizationConfig()

    @property
    def partitions_keys(self) -> bool:
        """Whether this run checks only the keys of its partition (dolma's span-level partitioning)."""
        return self.num_partitions > 1 and not self.file_partition


@dataclasses.dataclass
class BloomFilterConfig:
    """dolma's `bloom_filter` block: where the filter lives and how large a new one is."""

    file: str = option(help="filter file (local or s3://): loaded if it exists, saved at the end unless read_only")
    read_only: bool = option(False, help="only look keys up (decontamination); never insert or save")
    size_in_bytes: int = option(0, help="size of a new filter; 0 sizes it from the two fields below, as dolma does")
    estimated_doc_count: int = option(0, help="keys expected in a new filter (sizes it, or picks k for size_in_bytes)")
    desired_false_positive_rate: float = option(
        0.0, help="false-positive rate a new filter is sized for, in (0, 1); the run warns past 1.5x this rate"
    )
    fail_on_saturation: bool = option(
        False, help="fail the run, instead of warning, once the expected false-positive rate passes 1.5x the desired"
    )
    seed: int = option(0, help="hash seed of a new filter (an existing filter keeps its own)")
    partitions: int = option(1, help="split the filter by key range into this many parts (one Ray actor each)")

    def check(self) -> None:
        """Called by `DedupeConfig.validate` (not by the loader), which first decides whether a filter belongs."""
        if not self.file:
            raise ValueError("'bloom_filter.file' must name a file")
        if self.size_in_bytes < 0:
            raise ValueError(f"'bloom_filter.size_in_bytes' must be >= 0, got {self.size_in_bytes}")
        if self.estimated_doc_count < 0:
            raise ValueError(f"'bloom_filter.estimated_doc_count' must be >= 0, got {self.estimated_doc_count}")
        fpr = self.desired_false_positive_rate
        if not (0.0 <= fpr < 1.0 and math.isfinite(fpr)):
            raise ValueError(f"'bloom_filter.desired_false_positive_rate' must be in [0, 1), got {fpr}")
        if not self.read_only and self.size_in_bytes == 0 and (self.estimated_doc_count == 0 or fpr == 0):
            raise ValueError(
                "size a new bloom filter with 'bloom_filter.size_in_bytes', or with both "
                "'bloom_filter.estimated_doc_count' and 'bloom_filter.desired_false_positive_rate'"
            )
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"'bloom_filter.seed' must be in [0, 2^64), got {self.seed}")
        if self.partitions < 1:
            raise ValueError(f"'bloom_filter.partitions' must be >= 1, got {self.partitions}")


@dataclasses.dataclass(kw_only=True)
class DedupeConfig(ExecConfig):
    """`dolma dedupe`: flag duplicate documents, paragraphs or n-gram-overlapping paragraphs with a Bloom filter,
    or (`dedupe.minhash`) near-duplicate documents by MinHash-LSH."""

    documents: list[str] = option(help="document paths or globs (local or s3://), under a 'documents' directory")
    dedupe: DedupeSettings = option(help="what to deduplicate (dolma's dedupe block)")
    bloom_filter: BloomFilterConfig | None = option(
        None, help="the Bloom filter (dolma's bloom_filter block); required by documents/paragraphs, not by minhash"
    )
    work_dir: WorkDirConfig = option(
        default_factory=WorkDirConfig, help="work_dir.output holds checkpoints (default: beside bloom_filter.file)"
    )
    skip_bad_lines: bool = option(False, help="write an empty attributes line for a bad input line instead of failing")
    batch_size: int = option(
        2048, help="documents hashed per call into the Rust core (paragraph modes parse JSON lines by 4 MiB blocks)"
    )
    checkpoint_files: int = option(64, help="checkpoint the filter about every this many files")
    checkpoint_seconds: float = option(600.0, help="... or after this many seconds, whichever comes first")
    compression: CompressionConfig = option(
        default_factory=CompressionConfig,
        help="dolma's compression block: input forces the documents' codec, output the attribute files' (default: the "
        "input's); attribute files keep the documents' names either way, as in dolma",
    )
    is_s3_volume: bool = option(
        False, help="dolma: inputs are on a mounted S3 volume",
        no_effect="outputs are renamed into place locally; read and write s3:// paths directly instead",
    )

    @property
    def hashes_on_threads(self) -> bool:
        """A writable paragraph or n-gram run hashes files on threads: zlib and the Rust core read and hash them
        without the GIL. Document keys go through a Python JSONPath, so worker processes hash those."""
        bloom = self.bloom_filter
        return self.dedupe.paragraphs is not None and bloom is not None and not bloom.read_only

    @property
    def uses_local_pool(self) -> bool:
        return super().uses_local_pool and not self.hashes_on_threads

    def validate(self) -> None:
        if not self.documents:
            raise ValueError("'documents' must list at least one path")
        dedupe = self.dedupe
        if sum(mode is not None for mode in (dedupe.documents, dedupe.paragraphs, dedupe.minhash)) != 1:
            raise ValueError("give exactly one of 'dedupe.documents', 'dedupe.paragraphs' and 'dedupe.minhash'")
        if not dedupe.attribute_name:
            raise ValueError("the attribute_name of 'dedupe.documents'/'dedupe.paragraphs'/'dedupe.minhash' "
                             "must not be empty")
        if dedupe.num_partitions < 1 or not 0 <= dedupe.partition_index < dedupe.num_partitions:
            raise ValueError(
                f"'dedupe.partition_index' must be in [0, dedupe.num_partitions={dedupe.num_partitions}), "
                f"got {dedupe.partition_index}"
            )
        if not dedupe.document_dir or "/" in dedupe.document_dir:
            raise ValueError(f"'dedupe.document_dir' must be one path component, got {dedupe.document_dir!r}")
        if dedupe.min_length < 0 or dedupe.min_words < 0:
            raise ValueError("'dedupe.min_length' and 'dedupe.min_words' must be >= 0")
        if dedupe.documents is not None and not dedupe.documents.key.startswith("$"):
            key = dedupe.documents.key
            raise ValueError(f"'dedupe.documents.key' must be a JSONPath starting with '$', got {key!r}")
        if dedupe.paragraphs is not None:
            if not dedupe.paragraphs.paragraph_separator:
                raise ValueError("'dedupe.paragraphs.paragraph_separator' must not be empty")
            ngram = dedupe.paragraphs.by_ngram
            if ngram is not None:
                if ngram.ngram_length < 0 or ngram.stride < 0:
                    raise ValueError("'dedupe.paragraphs.by_ngram.ngram_length' and '.stride' must be >= 0")
                if not 0.0 <= ngram.overlap_threshold <= 1.0:
                    raise ValueError(
                        f"'dedupe.paragraphs.by_ngram.overlap_threshold' must be in [0, 1], "
                        f"got {ngram.overlap_threshold}"
                    )
        if dedupe.minhash is not None:
            self._validate_minhash(dedupe.minhash)
        else:
            norm = dedupe.text_normalization
            if norm.normalize_numbers or norm.strip_diacritics:
                raise ValueError("'dedupe.normalization.normalize_numbers' and '.strip_diacritics' apply to "
                                 "'dedupe.minhash' only; exact dedupe hashes with dolma's four options")
            if self.bloom_filter is None:
                raise ValueError("'bloom_filter' is required by 'dedupe.documents' and 'dedupe.paragraphs'")
            self.bloom_filter.check()
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        if self.batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        if self.checkpoint_files < 1 or self.checkpoint_seconds <= 0:
            raise ValueError("'checkpoint_files' must be >= 1 and 'checkpoint_seconds' > 0")

    def _validate_minhash(self, minhash: MinhashDedupeConfig) -> None:
        dedupe = self.dedupe
        if self.bloom_filter is not None:
            raise ValueError("fuzzy dedupe ('dedupe.minhash') uses no Bloom filter: remove the 'bloom_filter' block")
        if dedupe.num_partitions > 1 or dedupe.file_partition:
            raise ValueError("'dedupe.num_partitions'/'file_partition' split exact dedupe across runs; fuzzy dedupe "
                             "is one run (its buckets are partitioned by 'dedupe.minhash.partitions')")
        if dedupe.skip_empty or dedupe.min_length or dedupe.min_words:
            raise ValueError("'dedupe.skip_empty', 'min_length' and 'min_words' apply to exact dedupe; fuzzy dedupe "
                             "never flags a document with fewer words than 'dedupe.minhash.ngram_length'")
        for name in ("ngram_length", "num_bands", "band_size", "partitions"):
            if getattr(minhash, name) < 1:
                raise ValueError(f"'dedupe.minhash.{name}' must be >= 1, got {getattr(minhash, name)}")
        if minhash.num_bands * minhash.band_size > 4096:
            raise ValueError("'dedupe.minhash.num_bands' * 'band_size' must be <= 4096 permutations")
        if not 0 <= minhash.seed < 2**32:
            raise ValueError(f"'dedupe.minhash.seed' must be in [0, 2^32), got {minhash.seed}")
        if minhash.hashing not in ("xxh3", "datatrove"):
            raise ValueError(f"'dedupe.minhash.hashing' must be 'xxh3' or 'datatrove', got {minhash.hashing!r}")
        if minhash.keep not in ("first", "longest"):
            raise ValueError(f"'dedupe.minhash.keep' must be 'first' or 'longest', got {minhash.keep!r}")
        threshold = minhash.jaccard_threshold
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"'dedupe.minhash.jaccard_threshold' must be in [0, 1], got {threshold}")
        if minhash.jaccard not in ("estimated", "exact"):
            raise ValueError(f"'dedupe.minhash.jaccard' must be 'estimated' or 'exact', got {minhash.jaccard!r}")
        if minhash.jaccard == "exact" and threshold is None:
            raise ValueError("'dedupe.minhash.jaccard: exact' verifies pairs against 'jaccard_threshold': set it")
