"""HF `tokenizers` wrapper: batch-encodes documents (in parallel, in Rust) and adds dolma's BOS/EOS framing."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from dolma_py.errors import ConfigError

UINT16_VOCAB = 1 << 16


@dataclass(frozen=True)
class TokenizerSettings:
    """How documents are encoded; all but `fast_bpe` (which never changes the ids) enter the run fingerprint."""

    name_or_path: str
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    encode_special_tokens: bool = False
    fast_bpe: bool = True


def load_tokenizer(name_or_path: str) -> Tokenizer:
    """A local tokenizer.json (or a directory holding one); otherwise a HF hub name, which needs network access."""
    path = os.path.join(name_or_path, "tokenizer.json") if os.path.isdir(name_or_path) else name_or_path
    if os.path.isfile(path):
        try:
            return Tokenizer.from_file(path)
        except Exception as err:  # noqa: BLE001 - the Rust loader raises a bare Exception
            raise ConfigError(f"tokenizer.name_or_path: {path} is not a valid tokenizer.json ({err})") from None
    try:
        return Tokenizer.from_pretrained(name_or_path)
    except Exception as err:  # noqa: BLE001 - network and hub errors surface as a bare Exception
        raise ConfigError(
            f"tokenizer.name_or_path: {name_or_path!r} is not a local file and could not be fetched from the "
            f"HuggingFace hub ({err}); download its tokenizer.json and give that path"
        ) from None


def choose_dtype(vocab_size: int, dtype: str | None) -> np.dtype:
    """uint16 when every id fits (vocab_size <= 65536), else uint32; a dtype too small for the vocab is an error."""
    needed = np.dtype(np.uint16) if vocab_size <= UINT16_VOCAB else np.dtype(np.uint32)
    if dtype is None:
        return needed
    chosen = np.dtype(dtype)
    if chosen not in (np.dtype(np.uint16), np.dtype(np.uint32)):
        raise ConfigError(f"dtype must be uint16 or uint32, got {dtype!r}")
    if vocab_size > np.iinfo(chosen).max + 1:
        raise ConfigError(f"dtype {chosen} cannot hold ids of a vocabulary of {vocab_size:,} tokens; use uint32")
    return chosen


class FastPathMismatch(Exception):
    """The fast BPE path and HF tokenizers disagree on a verified document (index into the batch)."""

    def __init__(self, index: int) -> None:
        super().__init__(f"fast BPE path disagrees with HF tokenizers on batch item {index}")
        self.index = index


class DocumentEncoder:
    """Encodes batches of texts to ids, with BOS/EOS added the way dolma adds them.

    Byte-level BPE tokenizers go through `FastBPE` (tiktoken) when `settings.fast_bpe` is set and the tokenizer's shape
    allows it; the documents listed in `verify` are also encoded by HF and must agree.
    """

    def __init__(self, settings: TokenizerSettings, threads: int | None = None) -> None:
        from dolma_py.tokens.fast_bpe import FastBPE

        self.settings = settings
        self.tokenizer = load_tokenizer(settings.name_or_path)
        self.tokenizer.encode_special_tokens = settings.encode_special_tokens
        self.vocab_size = self.tokenizer.get_vocab_size(with_added_tokens=True)
        self.fast = FastBPE.from_tokenizer(self.tokenizer, threads) if settings.fast_bpe else None
        for name in ("bos_token_id", "eos_token_id"):
            value = getattr(settings, name)
            if value is not None and not 0 <= value < self.vocab_size:
                raise ConfigError(f"tokenizer.{name} = {value} is outside the vocabulary (size {self.vocab_size:,})")

    def fingerprint(self) -> str:
        """The serialized tokenizer plus framing settings: any change re-tokenizes."""
        s = self.settings
        return f"{self.tokenizer.to_str()}|bos={s.bos_token_id}|eos={s.eos_token_id}|est={s.encode_special_tokens}"

    def _hf(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)]

    def _fast(self, texts: list[str], verify: list[int]) -> list[list[int]]:
        assert self.fast is not None
        encoded = self.fast.encode_batch(texts)
        missing = [i for i, ids in enumerate(encoded) if ids is None]
        checked = [i for i in verify if encoded[i] is not None]
        todo = missing + checked
        for i, ids in zip(todo, self._hf([texts[i] for i in todo]), strict=False):
            if encoded[i] is None:
                encoded[i] = ids
            elif encoded[i] != ids:
                raise FastPathMismatch(i)
        return encoded  # type: ignore[return-value]

    def encode(self, texts: list[str], verify: list[int] | None = None, use_fast: bool = True) -> list[list[int]]:
        """Ids per text, BOS prepended and EOS appended unless already there (dolma's rule); [] for no tokens.

        Raises `FastPathMismatch` when the fast path is used and disagrees with HF on a text listed in `verify`.
        """
        bos, eos = self.settings.bos_token_id, self.settings.eos_token_id
        raw = self._fast(texts, verify or []) if use_fast and self.fast is not None else self._hf(texts)
        out = []
        for ids in raw:
            if ids:
                if bos is not None and ids[0] != bos:
                    ids.insert(0, bos)
                if eos is not None and ids[-1] != eos:
                    ids.append(eos)
            out.append(ids)
        return out
