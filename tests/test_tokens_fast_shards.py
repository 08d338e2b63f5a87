"""`dolma tokens` shards are byte-identical whether documents go through the fast BPE path or HF alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dolma_py.config.loader import build
from dolma_py.config.tokens import TokensConfig
from dolma_py.tokens.pipeline import run_tokens
from dolma_py.tokens.tokenizer import DocumentEncoder, TokenizerSettings
from dolma_py.tokens.train_tokenizer import train_shaped_bpe

pytest.importorskip("tiktoken")

WORDS = [
    "the",
    "cat's",
    "naïve",
    "e\u0301t\u00e9",
    "日本語",
    "👍🏽",
    "2026",
    "<|endoftext|>",
    "  ",
    "\n\n",
    "x_y",
    "Über",
]


def _run(docs: Path, tokenizer: Path, dest: Path, fast_bpe: bool) -> dict[str, bytes]:
    data = {
        "documents": [str(docs)],
        "destination": str(dest),
        "tokenizer": {"name_or_path": str(tokenizer), "eos_token_id": 0, "fast_bpe": fast_bpe},
        "max_size": 3000,
        "processes": 1,
        "work_dir": {"output": str(dest) + "-work"},
    }
    result = run_tokens(build(TokensConfig, data, "test"), progress=False)
    assert result.tokens > 5000
    return {p.name: p.read_bytes() for p in sorted(dest.iterdir()) if p.name.startswith("part-")}


@pytest.mark.parametrize("shape", ["gpt2", "neox", "cl100k"])
def test_shards_are_the_same_with_and_without_the_fast_path(tmp_path: Path, shape: str) -> None:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 90))).tolist()) for _ in range(300)]
    tokenizer = tmp_path / "tokenizer.json"
    train_shaped_bpe(texts, 700, shape).save(str(tokenizer))
    assert DocumentEncoder(TokenizerSettings(str(tokenizer))).fast is not None
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    fast = _run(docs, tokenizer, tmp_path / "fast", fast_bpe=True)
    assert len(fast) >= 4  # several shards, each a .npy and a .csv.gz
    assert fast == _run(docs, tokenizer, tmp_path / "hf", fast_bpe=False)


def test_documents_too_long_to_check_against_hf_are_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HF needs tens of bytes per character to encode a document, so the sampled check skips very long ones (a 200 MB
    line needed more than 24 GB); the shards are the same either way."""
    from dolma_py.tokens import tokenized_file

    rng = np.random.default_rng(1)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(20, 90))).tolist()) for _ in range(300)]
    texts[128] = "the cat's naïve"  # line 129, a checked line, is short
    tokenizer = tmp_path / "tokenizer.json"
    train_shaped_bpe(texts, 700, "gpt2").save(str(tokenizer))
    docs = tmp_path / "docs.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
    checked: list[int] = []
    encode = DocumentEncoder.encode

    def spy(self: DocumentEncoder, texts: list[str], *, verify: list[int], use_fast: bool) -> list[list[int]]:
        checked.extend(len(texts[i]) for i in verify)
        return encode(self, texts, verify=verify, use_fast=use_fast)

    monkeypatch.setattr(DocumentEncoder, "encode", spy)
    monkeypatch.setattr(tokenized_file, "VERIFY_MAX_CHARS", 50)
    assert _run(docs, tokenizer, tmp_path / "capped", fast_bpe=True) == _run(docs, tokenizer, tmp_path / "hf",
                                                                            fast_bpe=False)
    long_at_checked_lines = [len(t) for i, t in enumerate(texts) if (i + 1) % tokenized_file.VERIFY_EVERY == 1]
    assert any(n > 50 for n in long_at_checked_lines)  # the check would have taken a long one
    assert checked and all(n <= 50 for n in checked)  # the short one was checked, the long ones were not
