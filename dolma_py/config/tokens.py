"""Schema of `dolma tokens`, accepting dolma's tokens config fields (`tokenizer.*`, `fields.*`, `max_size`, ...)."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import ExecConfig, WorkDirConfig, option

DEFAULT_MAX_SIZE = 1024 * 1024 * 1024


@dataclasses.dataclass
class TokenizerSection:
    """Which tokenizer to use and which special tokens delimit documents."""

    name_or_path: str = option(help="path to a tokenizer.json (or a HF hub name, which needs network access)")
    bos_token_id: int | None = option(None, help="prepended to every document when set")
    eos_token_id: int | None = option(None, help="appended to every document; set it or bos_token_id")
    pad_token_id: int | None = option(None, help="recorded for compatibility; shards hold no padding")
    encode_special_tokens: bool = option(False, help="tokenize special-token strings in text as plain text")
    fast_bpe: bool = option(
        True, help="encode byte-level BPE tokenizers with tiktoken when exact (checked on every 64th document)"
    )


@dataclasses.dataclass
class FieldsSection:
    """Names of the input JSON fields holding the text and the document id."""

    text_field_name: str = option("text", help="field holding the document text")
    id_field_name: str | None = option("id", help="field holding the document id; null for inputs without ids")


@dataclasses.dataclass(kw_only=True)
class TokensConfig(ExecConfig):
    """`dolma tokens`: tokenize documents into OLMo-readable `.npy` token shards with `.csv.gz` indexes."""

    documents: list[str] = option(help="document paths or globs (local or s3://), JSON lines, optionally .gz/.zst")
    destination: str = option(help="directory (local or s3://) receiving part-*.npy and part-*.csv.gz")
    tokenizer: TokenizerSection = option(help="tokenizer block")
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
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        if self.max_size < 1:
            raise ValueError("'max_size' must be a positive number of bytes")
        if self.batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        if self.dtype is not None and self.dtype not in ("uint16", "uint32"):
            raise ValueError(f"'dtype' must be uint16 or uint32, got {self.dtype!r}")
        if self.tokenizer.bos_token_id is None and self.tokenizer.eos_token_id is None:
            raise ValueError(
                "set tokenizer.eos_token_id (or tokenizer.bos_token_id): without one, documents are not separated"
            )
