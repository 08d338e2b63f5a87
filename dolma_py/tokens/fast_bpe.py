"""A fast path for byte-level BPE tokenizers (GPT-2, GPT-NeoX, cl100k/dolma2 style) through tiktoken's Rust core.

tiktoken merges the adjacent pair whose concatenation has the lowest rank; with ranks = HF ids this is HF's
merge order whenever every merge result's id grows with its merge index, which `FastBPE.from_tokenizer` checks
together with the rest of the tokenizer's shape (no normalizer but NFC, GPT-2 regex or Split+ByteLevel
pre-tokenizer, plain BPE model, no truncation/padding). Anything else returns None and the caller uses HF.
Documents containing an added/special token's text are left to HF, which splits them out first. Callers verify a
deterministic sample of documents against HF (see `tokenized_file`), since the shape checks cannot prove equality
for every hand-edited vocabulary.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tokenizers import Tokenizer

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def byte_level_alphabet() -> dict[str, int]:
    """HF/GPT-2 ByteLevel's printable stand-in character for each byte, inverted: char -> byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return {c: b for b, c in chars.items()}


def _split_pattern(pre: dict[str, Any] | None) -> str | None:
    """The regex tiktoken must split with, or None when the pre-tokenizer is not a supported byte-level shape."""
    if pre is None:
        return None
    if pre.get("type") == "ByteLevel":
        if pre.get("add_prefix_space") or not pre.get("use_regex", True):
            return None
        return GPT2_PATTERN
    if pre.get("type") == "Sequence":
        steps = pre.get("pretokenizers") or []
        if len(steps) != 2:
            return None
        split, byte_level = steps
        if (
            split.get("type") != "Split"
            or split.get("behavior") != "Isolated"
            or split.get("invert")
            or "Regex" not in (split.get("pattern") or {})
        ):
            return None
        if byte_level.get("type") != "ByteLevel" or byte_level.get("add_prefix_space") or byte_level.get("use_regex"):
            return None
        return split["pattern"]["Regex"]
    return None


def _mergeable_ranks(model: dict[str, Any], added_ids: set[int]) -> dict[bytes, int] | None:
    """Token bytes -> id for the model's vocabulary, or None when ids do not follow merge order."""
    alphabet = byte_level_alphabet()
    ranks: dict[bytes, int] = {}
    for token, token_id in model["vocab"].items():
        if token_id in added_ids:
            continue
        if any(ch not in alphabet for ch in token):
            return None
        ranks[bytes(alphabet[ch] for ch in token)] = token_id
    if any(bytes([b]) not in ranks for b in range(256)):
        return None
    previous = -1
    results = set()
    for merge in model.get("merges") or []:
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        token_id = model["vocab"].get(left + right)
        if token_id is None or token_id <= previous:
            return None
        previous = token_id
        results.add(token_id)
    multi_byte = {i for raw, i in ranks.items() if len(raw) > 1}
    return ranks if multi_byte <= results else None


class FastBPE:
    """tiktoken encoder equivalent to a HF byte-level BPE tokenizer, run over a thread pool."""

    def __init__(self, encoding: Any, added: re.Pattern[str] | None, nfc: bool, threads: int) -> None:
        self.encoding = encoding
        self.added = added
        self.nfc = nfc
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer, threads: int | None = None) -> FastBPE | None:
        """The fast path for `tokenizer`, or None when its shape is not supported (or tiktoken is missing)."""
        try:
            import tiktoken
        except ImportError:
            return None
        config = json.loads(tokenizer.to_str())
        model = config.get("model") or {}
        normalizer = config.get("normalizer")
        if config.get("truncation") is not None or config.get("padding") is not None:
            return None
        if normalizer is not None and normalizer.get("type") != "NFC":
            return None
        if model.get("type") != "BPE" or model.get("dropout") or model.get("byte_fallback"):
            return None
        if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
            return None
        pattern = _split_pattern(config.get("pre_tokenizer"))
        if pattern is None:
            return None
        added_tokens = config.get("added_tokens") or []
        ranks = _mergeable_ranks(model, {t["id"] for t in added_tokens})
        if ranks is None:
            return None
        try:
            encoding = tiktoken.Encoding("dolma_py-fast-bpe", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
        except ValueError:
            return None
        contents = sorted({t["content"] for t in added_tokens if t["content"]}, key=len, reverse=True)
        added = re.compile("|".join(re.escape(c) for c in contents)) if contents else None
        return cls(encoding, added, normalizer is not None, threads or os.cpu_count() or 1)

    def _encode_one(self, text: str) -> list[int] | None:
        if self.added is not None and self.added.search(text):
            return None
        if self.nfc:
            text = unicodedata.normalize("NFC", text)
        return self.encoding.encode_ordinary(text)

    def _encode_many(self, texts: list[str]) -> list[list[int] | None]:
        return [self._encode_one(t) for t in texts]

    def encode_batch(self, texts: list[str]) -> list[list[int] | None]:
        """Ids per text; None where the text holds an added token's content (HF must split it out).

        Texts go to the threads in a few contiguous chunks (tiktoken releases the GIL while encoding).
        """
        if self.pool is None or len(texts) < 2:
            return self._encode_many(texts)
        pieces = 4 * self.threads
        step = -(-len(texts) // pieces)
        chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
        return [ids for chunk in self.pool.map(self._encode_many, chunks) for ids in chunk]
