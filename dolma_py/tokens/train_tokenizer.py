"""Train byte-level BPE tokenizers with HF `tokenizers`: for the quickstart, tests and benchmarks (no hub access).

Besides the GPT-2 shape, `train_shaped_bpe` reproduces the shapes of real tokenizers that cannot be downloaded here:
GPT-NeoX-20B / OLMo 1 (NFC, no tokens for bytes valid UTF-8 never has, whitespace-run added tokens), cl100k / dolma2
and Llama 3 (a Split regex before ByteLevel, special tokens after the BPE vocabulary; Llama 3 with `ignore_merges`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from dolma_py.tokens.fast_bpe import NEVER_IN_UTF8, byte_level_alphabet

SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>", "<|bos|>")
"""Ids 0, 1 and 2: EOS, PAD and BOS."""

CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]"""
    r"""|\s+(?!\S)|\s"""
)
LLAMA3_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"""
    r"""|\s+(?!\S)|\s+"""
)
SHAPES = ("gpt2", "neox", "cl100k", "llama3")


def _train(texts: Iterable[str], vocab_size: int, pre: Any, special: Iterable[str], nfc: bool = False) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    if nfc:
        tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def train_byte_level_bpe(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """A GPT-2-style byte-level BPE tokenizer trained on `texts`, with `SPECIAL_TOKENS` first."""
    return _train(texts, vocab_size, pre_tokenizers.ByteLevel(add_prefix_space=False), SPECIAL_TOKENS)


def renumber(tokenizer: Tokenizer, new_id: Callable[[int], int | None]) -> Tokenizer:
    """The tokenizer with every id (vocabulary and added tokens) mapped by `new_id`; None drops the token."""
    config = json.loads(tokenizer.to_str())
    vocab = {tok: new_id(i) for tok, i in config["model"]["vocab"].items()}
    config["model"]["vocab"] = {tok: i for tok, i in vocab.items() if i is not None}
    config["added_tokens"] = [{**t, "id": new_id(t["id"])} for t in config["added_tokens"]]
    return Tokenizer.from_str(json.dumps(config))


def drop_bytes_outside_utf8(tokenizer: Tokenizer) -> Tokenizer:
    """Remove the tokens of the bytes valid UTF-8 never produces, renumbering the rest densely (GPT-NeoX-20B's way)."""
    char_of = {b: c for c, b in byte_level_alphabet().items()}
    unused = {char_of[b] for b in NEVER_IN_UTF8}
    vocab = tokenizer.get_vocab(with_added_tokens=False)
    dropped = sorted(vocab[c] for c in unused if c in vocab)
    return renumber(tokenizer, lambda i: None if i in dropped else i - sum(d < i for d in dropped))


def _specials_last(tokenizer: Tokenizer, count: int) -> Tokenizer:
    """Move the first `count` ids (the trainer's special tokens) after the BPE vocabulary, as cl100k and Llama 3 do."""
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    return renumber(tokenizer, lambda i: i + size - count if i < count else i - count)


def train_shaped_bpe(texts: Iterable[str], vocab_size: int, shape: str) -> Tokenizer:
    """A tokenizer of one of `SHAPES` trained on `texts`; its EOS is `<|endoftext|>`."""
    if shape == "gpt2":
        return train_byte_level_bpe(texts, vocab_size)
    if shape == "neox":
        tok = _train(texts, vocab_size, pre_tokenizers.ByteLevel(add_prefix_space=False), SPECIAL_TOKENS[:2], nfc=True)
        tok = drop_bytes_outside_utf8(tok)
        tok.add_tokens([AddedToken(" " * n, normalized=True) for n in range(24, 1, -1)])
        return tok
    if shape in ("cl100k", "llama3"):
        split = Regex(CL100K_PATTERN if shape == "cl100k" else LLAMA3_PATTERN)
        pre = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(split, behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        specials = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>")
        tok = _specials_last(_train(texts, vocab_size, pre, specials), len(specials))
        if shape == "llama3":
            config = json.loads(tok.to_str())
            config["model"]["ignore_merges"] = True
            tok = Tokenizer.from_str(json.dumps(config))
        return tok
    raise ValueError(f"unknown tokenizer shape {shape!r}; expected one of {', '.join(SHAPES)}")
