"""A fast path for byte-level BPE tokenizers (GPT-2, GPT-NeoX/OLMo, cl100k/dolma2, Llama-3) through tiktoken's core.

tiktoken merges the adjacent pair whose concatenation has the lowest rank; HF merges the adjacent pair that comes
first in the merge list. Give tiktoken only the reachable merge results (HF's BPE of the token's own bytes gives
back the token), ranked in merge order. Then, if no two merges give the same token, the two agree on every input.
Proof sketch: a span that becomes one token t evolves exactly as t's bytes do alone (no merge crosses its edges).
So an unreachable result is never formed by HF either; and at a first step where tiktoken would merge a pair (x, y)
that is not the merge of t = x + y, HF alone on t's bytes would stop at [x, y], so t would be unreachable.
`FastBPE.build` checks this with HF itself, maps ranks back to HF ids (ids may be in any order), splits out added
tokens the way HF's added vocabulary does, applies NFC, and rewrites the split regex where Oniguruma reads it
differently; a tokenizer outside these shapes gets None from `from_tokenizer` (the reason is logged once) and the
caller uses HF. Callers still verify a sample of documents against HF (see `tokenized_file`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from tokenizers import Tokenizer

log = logging.getLogger(__name__)

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
NEVER_IN_UTF8 = frozenset([0xC0, 0xC1, *range(0xF5, 0x100)])
"""Bytes that valid UTF-8 never produces: a vocabulary may lack their tokens (GPT-NeoX-20B's does)."""
_logged: set[str] = set()


class Unsupported(Exception):
    """The tokenizer's shape is outside what the fast path reproduces exactly; the message says why."""


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


_BOUNDED = re.compile(r"\{\d+(?:,\d*)?\}")


def onig_to_fancy(pattern: str) -> str:
    """`pattern` as HF's Oniguruma (Ruby syntax) reads it, rewritten for tiktoken's fancy-regex.

    Two readings differ: Oniguruma's `X{n,m}+` is `(?:X{n,m})+` (not possessive), and its `^`/`$` are line anchors.
    """
    out: list[str] = []
    groups: list[int] = []
    last = 0  # where the last atom starts in `out`
    i = 0
    while i < len(pattern):
        c = pattern[i]
        bounded = _BOUNDED.match(pattern, i) if c == "{" else None
        if c == "\\":
            end = pattern.index("}", i) + 1 if pattern[i + 1 : i + 3] in ("p{", "P{") else i + 2
            last, token = len(out), pattern[i:end]
        elif c == "[":
            end = _class_end(pattern, i)
            last, token = len(out), pattern[i:end]
        elif c == "(":
            groups.append(len(out))
            end, token = i + 1, c
        elif c == ")":
            last, end, token = groups.pop(), i + 1, c
        elif bounded is not None:
            end, token = bounded.end(), bounded.group()
            if pattern[end : end + 1] == "+":
                out[last:] = ["(?:", *out[last:], token, ")"]
                token, end = "+", end + 1
        elif c in "^$":
            last, end, token = len(out), i + 1, f"(?m:{c})"
        else:
            last, end, token = len(out), i + 1, c
        out.append(token)
        i = end
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """The index just past the character class opening at `start` (nested classes and escapes included)."""
    depth, i = 0, start
    while True:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            depth += 1
            if pattern[i + 1 : i + 2] == "^":
                i += 1
            if pattern[i + 1 : i + 2] == "]":
                i += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1


def _split_pattern(pre: dict[str, Any] | None) -> str:
    """The regex tiktoken must split with; `Unsupported` unless the pre-tokenizer is a byte-level shape."""
    if pre is None:
        raise Unsupported("no pre-tokenizer")
    if pre.get("type") == "ByteLevel":
        if pre.get("add_prefix_space") or not pre.get("use_regex", True):
            raise Unsupported("ByteLevel pre-tokenizer with add_prefix_space or without its regex")
        return GPT2_PATTERN
    steps = (pre.get("pretokenizers") or []) if pre.get("type") == "Sequence" else []
    if len(steps) == 2:
        split, byte_level = steps
        if (
            split.get("type") == "Split"
            and split.get("behavior") == "Isolated"
            and not split.get("invert")
            and "Regex" in (split.get("pattern") or {})
            and byte_level.get("type") == "ByteLevel"
            and not byte_level.get("add_prefix_space")
            and not byte_level.get("use_regex")
        ):
            return onig_to_fancy(split["pattern"]["Regex"])
    raise Unsupported(f"pre-tokenizer {pre.get('type')} is not ByteLevel or Sequence[Split(regex), ByteLevel]")


def _check_model(config: dict[str, Any]) -> dict[str, Any]:
    model = config.get("model") or {}
    normalizer = config.get("normalizer")
    if config.get("truncation") is not None or config.get("padding") is not None:
        raise Unsupported("truncation or padding is enabled")
    if normalizer is not None and normalizer.get("type") != "NFC":
        raise Unsupported(f"normalizer {normalizer.get('type')} (only NFC is reproduced)")
    if model.get("type") != "BPE" or model.get("dropout") or model.get("byte_fallback"):
        raise Unsupported("the model is not plain BPE (or uses dropout / byte fallback)")
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        raise Unsupported("the BPE model uses a subword prefix or word suffix")
    return model


def _bare_model(model: dict[str, Any]) -> Tokenizer:
    """The BPE model alone on whitespace-separated words (ByteLevel's characters hold no whitespace), merging even
    whole-vocabulary words; no normalizer or added tokens."""
    bare = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "WhitespaceSplit"},
        "post_processor": None,
        "decoder": None,
        "model": {**model, "ignore_merges": False},
    }
    return Tokenizer.from_str(json.dumps(bare))


def _merge_results(model: dict[str, Any]) -> list[str]:
    """The token each merge produces, in merge order."""
    merges = [m.split(" ", 1) if isinstance(m, str) else m for m in model.get("merges") or []]
    return [left + right for left, right in merges]


def _unreachable(model: dict[str, Any], results: list[str]) -> set[str]:
    """Merge results that HF's BPE does not make of their own bytes: HF never produces them, so tiktoken must not."""
    encoding = _bare_model(model).encode(" ".join(results), add_special_tokens=False)
    words: list[list[int]] = [[] for _ in results]
    for word, token_id in zip(encoding.word_ids, encoding.ids, strict=True):
        words[word].append(token_id)
    vocab = model["vocab"]
    return {token for token, ids in zip(results, words, strict=True) if ids != [vocab[token]]}


def _ranks(model: dict[str, Any], added: set[str]) -> tuple[dict[bytes, int], list[int] | None]:
    """tiktoken's mergeable ranks and the rank -> HF id table (None when ranks are the ids themselves).

    Single bytes take any unique rank (tiktoken compares only ranks of pairs); merge i's result takes a rank that grows
    with i, unreachable results none. Bytes that valid UTF-8 never produces may be missing from the vocabulary: they
    get ranks that are never emitted.
    """
    alphabet = byte_level_alphabet()
    vocab: dict[str, int] = model["vocab"]
    byte_ids = {alphabet[ch]: i for ch, i in vocab.items() if len(ch) == 1 and ch in alphabet}
    missing = set(range(256)) - set(byte_ids)
    if missing - NEVER_IN_UTF8:
        raise Unsupported(f"the vocabulary has no token for bytes {sorted(missing - NEVER_IN_UTF8)}")
    results = _merge_results(model)
    if len(set(results)) != len(results):
        raise Unsupported("two merges produce the same token")
    unreachable = _unreachable(model, results)
    made = {*results, *(ch for ch in vocab if len(ch) == 1 and ch in alphabet), *added} - unreachable
    if model.get("ignore_merges") and any(token not in made for token in vocab):
        raise Unsupported("ignore_merges with vocabulary tokens that the merges do not produce")
    results = [r for r in results if r not in unreachable]
    result_ids = [vocab[r] for r in results]
    to_bytes = {r: bytes(alphabet[ch] for ch in r) for r in results}
    if all(a < b for a, b in zip(result_ids, result_ids[1:], strict=False)):
        spare = max(vocab.values()) + 1
        ranks = {bytes([b]): i for b, i in byte_ids.items()}
        ranks.update({bytes([b]): spare + k for k, b in enumerate(sorted(missing))})
        ranks.update({to_bytes[r]: i for r, i in zip(results, result_ids, strict=True)})
        return ranks, None
    ranks = {bytes([b]): b for b in range(256)}
    ranks.update({to_bytes[r]: 256 + k for k, r in enumerate(results)})
    table = [byte_ids.get(b, -1) for b in range(256)] + result_ids
    return ranks, table


@dataclass(frozen=True)
class AddedTokens:
    """HF's added-vocabulary split: tokens matched on the raw text, then on each normalized piece (leftmost-longest)."""

    raw: re.Pattern[str] | None
    normalized: re.Pattern[str] | None
    ids: dict[str, int]  # content -> the rank standing for its id (the id itself when ranks are ids)
    as_text: frozenset[str]  # special tokens spelled out as text (`encode_special_tokens`)
    to_hf: frozenset[str]  # lstrip / rstrip / single_word tokens: documents holding them go to HF


def _added_tokens(entries: list[dict[str, Any]], nfc: bool, encode_special: bool) -> AddedTokens:
    ids: dict[str, int] = {}
    raw: list[str] = []
    normalized: list[str] = []
    as_text, to_hf = set(), set()
    for t in entries:
        content = t["content"]
        if t.get("normalized") and nfc:
            content = unicodedata.normalize("NFC", content)
        if not content or content in ids:
            continue
        ids[content] = t["id"]
        (normalized if t.get("normalized") else raw).append(content)
        if encode_special and t.get("special"):
            as_text.add(content)
        if t.get("lstrip") or t.get("rstrip") or t.get("single_word"):
            to_hf.add(content)

    def alternation(contents: list[str]) -> re.Pattern[str] | None:
        ordered = sorted(contents, key=len, reverse=True)  # longest first: Python's leftmost match is then longest
        return re.compile("|".join(re.escape(c) for c in ordered)) if ordered else None

    return AddedTokens(alternation(raw), alternation(normalized), ids, frozenset(as_text), frozenset(to_hf))


class FastBPE:
    """tiktoken encoder equivalent to a HF byte-level BPE tokenizer, run over a thread pool."""

    def __init__(self, encoding: Any, table: list[int] | None, added: AddedTokens, nfc: bool, threads: int) -> None:
        self.encoding = encoding
        self.core = encoding._core_bpe  # noqa: SLF001 - encode_ordinary without the Python wrapper's checks
        self.table = table
        self.added = added
        self.nfc = nfc
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None

    @classmethod
    def build(cls, tokenizer: Tokenizer, threads: int | None = None) -> FastBPE:
        """The fast path for `tokenizer`; raises `Unsupported` with the reason when it cannot be exact."""
        import tiktoken

        config = json.loads(tokenizer.to_str())
        model = _check_model(config)
        pattern = _split_pattern(config.get("pre_tokenizer"))
        ranks, table = _ranks(model, {t["content"] for t in config.get("added_tokens") or []})
        try:
            encoding = tiktoken.Encoding("dolma_py-fast-bpe", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
        except ValueError as err:
            raise Unsupported(f"tiktoken rejects the split regex ({err})") from None
        nfc = config.get("normalizer") is not None
        added = _added_tokens(config.get("added_tokens") or [], nfc, bool(tokenizer.encode_special_tokens))
        if table is not None:  # added tokens take ranks past the model's, mapped to their ids by the same table
            table += added.ids.values()
            ranks_of = dict(zip(added.ids, range(len(table) - len(added.ids), len(table)), strict=True))
            added = replace(added, ids=ranks_of)
        return cls(encoding, table, added, nfc, threads or os.cpu_count() or 1)

    @classmethod
    def from_tokenizer(cls, tokenizer: Tokenizer, threads: int | None = None) -> FastBPE | None:
        """The fast path for `tokenizer`, or None (logging why, once per reason) when it would not be exact."""
        try:
            return cls.build(tokenizer, threads)
        except (Unsupported, ImportError) as err:
            reason = str(err) if isinstance(err, Unsupported) else "tiktoken is not installed"
            if reason not in _logged:
                _logged.add(reason)
                log.info("tokens: HF tokenizers encodes every document (no fast BPE path: %s)", reason)
            return None

    def _split(self, text: str, pattern: re.Pattern[str] | None, out: list[str | int]) -> bool:
        """Append `text` split at added tokens (as ranks) into text pieces; False when HF must encode the document."""
        start = 0
        if pattern is not None:
            for m in pattern.finditer(text):
                content = m.group()
                if content in self.added.as_text:
                    continue
                if content in self.added.to_hf:
                    return False
                out.append(text[start : m.start()])
                out.append(self.added.ids[content])
                start = m.end()
        out.append(text[start:])
        return True

    def _encode_one(self, text: str) -> list[int] | None:
        """HF's steps: split out raw added tokens, normalize each piece, split out normalized ones, then BPE."""
        raw: list[str | int] = []
        if not self._split(text, self.added.raw, raw):
            return None
        pieces: list[str | int] = []
        for piece in raw:
            if isinstance(piece, str):
                if self.nfc:
                    piece = unicodedata.normalize("NFC", piece)
                if not self._split(piece, self.added.normalized, pieces):
                    return None
            else:
                pieces.append(piece)
        if len(pieces) == 1:
            ranks = self.core.encode_ordinary(pieces[0])
        else:
            ranks = []
            for piece in pieces:
                if isinstance(piece, int):
                    ranks.append(piece)
                elif piece:
                    ranks += self.core.encode_ordinary(piece)
        table = self.table
        return ranks if table is None else [table[r] for r in ranks]

    def _encode_many(self, texts: list[str]) -> list[list[int] | None]:
        return [self._encode_one(t) for t in texts]

    def encode_batch(self, texts: list[str]) -> list[list[int] | None]:
        """HF's ids per text; None where HF must encode the text itself (an lstrip/rstrip/single_word added token).

        Texts go to the threads in a few contiguous chunks (tiktoken releases the GIL while encoding).
        """
        if self.pool is None or len(texts) < 2:
            return self._encode_many(texts)
        pieces = 4 * self.threads
        step = -(-len(texts) // pieces)
        chunks = [texts[i : i + step] for i in range(0, len(texts), step)]
        return [ids for chunk in self.pool.map(self._encode_many, chunks) for ids in chunk]
