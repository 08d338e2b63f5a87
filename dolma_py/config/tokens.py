"""Schema of `dolma tokens`, accepting dolma's tokens config fields (`tokenizer.*`, `fields.*`, `max_size`, ...)."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import ExecConfig, WorkDirConfig, option

DEFAULT_MAX_SIZE = 1024 * 1024 * 1024

ID_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "string": (str,), "int": (int,), "integer": (int,),
                                         "float": (float, int), "number": (float, int)}
"""dolma's `fields.id_field_type` names an id may have here, and the JSON values each accepts."""


@dataclasses.dataclass
class TokenizerSection:
    """Which tokenizer to use and which special tokens delimit documents."""

    name_or_path: str = option(help="path to a tokenizer.json (or a HF hub name, which needs network access)")
    bos_token_id: int | None = option(None, help="prepended to every document when set")
    eos_token_id: int | None = option(None, help="appended to every document; set it or bos_token_id")
    pad_token_id: int | None = option(None, help="recorded for compatibility; shards hold no padding")
    encode_special_tokens: bool = option(False, help="tokenize special-token strings in text as plain text")
    fast_bpe: bool = option(
        True, help="encode byte-level BPE tokenizers with tiktoken when exact (checked on every 128th document)"
    )
    segment_before_tokenization: bool = option(
        False, help="dolma's experimental paragraph-by-paragraph tokenization",
        no_effect="documents are always tokenized whole, so the ids are the tokenizer's own",
    )
    refresh: int = option(
        0, help="dolma: reload the tokenizer every this many batches (a memory-leak workaround)",
        no_effect="the Rust tokenizer is loaded once per process and does not grow",
    )
    fast: bool = option(
        True, help="dolma: use the fast (Rust) HF tokenizer", no_effect="the Rust `tokenizers` library is always used"
    )


@dataclasses.dataclass
class FieldsSection:
    """Names of the input JSON fields holding the text and the document id."""

    text_field_name: str = option("text", help="field holding the document text (dotted for nested, as dolma)")
    text_field_type: str = option("str", help="JSON type of the text field; dolma tokenizes strings only")
    id_field_name: str | None = option(
        "id", help="field holding the document id (dotted for nested); null for inputs without ids"
    )
    id_field_type: str = option("str", help="JSON type the id must have, in dolma's names: str, int, float, ...")

    def validate(self) -> None:
        if ID_TYPES.get(self.id_field_type) is None:
            raise ValueError(f"'fields.id_field_type' must be one of {', '.join(ID_TYPES)}, got {self.id_field_type!r}")
        if self.text_field_type not in ("str", "string"):
            raise ValueError(f"'fields.text_field_type' must be str (text is tokenized), got {self.text_field_type!r}")


@dataclasses.dataclass(kw_only=True)
class TokensConfig(ExecConfig):
    """`dolma tokens`: tokenize documents into OLMo-readable `.npy` token shards with `.csv.gz` indexes."""

    documents: list[str] = option(help="document paths or globs (local or s3://), JSON lines, optionally .gz/.zst")
    destination: str = option(help="directory (local or s3://) receiving part-*.npy and part-*.csv.gz")
    tokenizer: TokenizerSection | None = option(None, help="tokenizer block (required, or the deprecated key below)")
    tokenizer_name_or_path: str | None = option(
        None, help="dolma's deprecated spelling of tokenizer.name_or_path (with no other tokenizer settings)"
    )
    files_per_process: int | None = option(
        None, help="dolma: input files each process reads",
        no_effect="every input file is its own unit; shards are cut by max_size after a deterministic shuffle",
    )
    ring_size: int = option(
        8, help="dolma: files open at once per process, interleaved into its output",
        no_effect="documents are interleaved by the seeded shuffle over batch_size windows instead",
    )
    sample_ring_prop: bool = option(
        False, help="dolma: sample its ring of files by their sizes",
        no_effect="documents are interleaved by the seeded shuffle over batch_size windows instead",
    )
    debug: bool = option(False, help="dolma: run in one process", no_effect="use --processes 1")
    fields: FieldsSection = option(default_factory=FieldsSection, help="input field names")
    max_size: int = option(DEFAULT_MAX_SIZE, help="largest shard in BYTES (dolma treats this number as tokens)")
    dtype: str | None = option(None, help="uint16 or uint32; default: uint16 when the vocabulary fits, else uint32")
    seed: int = option(3920, help="seed of the document shuffle")
    batch_size: int = option(10_000, help="documents per shuffle window: documents are mixed across files within it")
    skip_bad_lines: bool = option(False, help="skip (and count) malformed input lines instead of failing the file")
    work_dir: WorkDirConfig = option(
        default_factory=WorkDirConfig, help="work_dir.output: local directory for per-file intermediate tokens"
    )

    def validate(self) -> None:
        if not self.documents:
            raise ValueError("'documents' must list at least one path")
        if self.tokenizer is None and self.tokenizer_name_or_path is None:
            raise ValueError("set 'tokenizer.name_or_path' (and tokenizer.eos_token_id)")
        if self.tokenizer is not None and self.tokenizer_name_or_path is not None:
            raise ValueError("give 'tokenizer.name_or_path' or the deprecated 'tokenizer_name_or_path', not both")
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        if self.max_size < 1:
            raise ValueError("'max_size' must be a positive number of bytes")
        if self.batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        if self.dtype is not None and self.dtype not in ("uint16", "uint32"):
            raise ValueError(f"'dtype' must be uint16 or uint32, got {self.dtype!r}")
        if self.tokenizer is not None and self.tokenizer.bos_token_id is None and self.tokenizer.eos_token_id is None:
            raise ValueError(
                "set tokenizer.eos_token_id (or tokenizer.bos_token_id): without one, documents are not separated"
            )
