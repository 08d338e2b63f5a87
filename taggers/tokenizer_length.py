"""Length taggers that count tokens, under dolma 1.2.1's names and keys: Unicode words (uniseg), OLMo
pre-tokens and Hugging Face tokenizer tokens.

dolma downloads the tokenizers of `tokenizers_*` and `dolma_v*_tokenizer` from the Hugging Face hub by name; here
they read a local `tokenizer.json` (or an s3:// / http(s):// copy, cached once) given by `tokenizer_name_or_path`,
whose documented default is dolma's hub name: without the option the tagger fails, naming it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.io.model_cache import cached_model_path
from taggers.base import BaseTagger
from taggers.language import require
from taggers.length import split_paragraphs
from taggers.registry import register
from taggers.repetitions import paragraph_offsets

_REMOTE_PREFIXES = ("s3://", "http://", "https://")


def uniseg_words(tagger: str) -> Any:
    """`uniseg.wordbreak.words`, the Unicode (UAX #29) word splitter dolma counts with."""
    return require("uniseg.wordbreak", "uniseg==0.10.1", tagger).words


@register("uniseg_length_v1")
class UnisegLengthV1(BaseTagger):
    """Unicode words of the stripped text, whitespace runs included, as dolma counts them (key `length`)."""

    def __init__(self) -> None:
        self.words = uniseg_words(self.name)

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc in docs:
            text = doc.text.strip()
            count = sum(1 for _ in self.words(text)) if text else 0
            out.append({"length": [Span(0, len(doc.text), float(count))]})
        return out


@register("uniseg_length_paragraphs_v1")
class UnisegParagraphsV1(BaseTagger):
    """Unicode words (whitespace excluded) per non-blank paragraph: keys `paragraph` and `negative_paragraph`
    (the count negated, so mixer filters can drop short paragraphs with a greater-than test)."""

    with_empty: ClassVar[bool] = False
    with_document: ClassVar[bool] = False

    def __init__(self) -> None:
        self.words = uniseg_words(self.name)

    def paragraph_length(self, text: str) -> int:
        return sum(1 for word in self.words(text.strip()) if word.strip())

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc in docs:
            bounds = list(paragraph_offsets(doc.text)) if self.with_empty else split_paragraphs(doc.text)
            lengths = [float(self.paragraph_length(doc.text[start:end])) for start, end in bounds]
            result: TaggerOutput = {}
            if bounds:
                result["paragraph"] = [Span(s, e, n) for (s, e), n in zip(bounds, lengths, strict=True)]
                result["negative_paragraph"] = [Span(s, e, -n) for (s, e), n in zip(bounds, lengths, strict=True)]
            if self.with_document:
                result["document"] = [Span(0, len(doc.text), sum(lengths, 0.0))]
                result["negative_document"] = [Span(0, len(doc.text), -sum(lengths, 0.0))]
            out.append(result)
        return out


@register("uniseg_length_paragraphs_with_empty_v1")
class UnisegParagraphsWithEmptyV1(UnisegParagraphsV1):
    """`uniseg_length_paragraphs_v1` over every paragraph, blank ones included (scored 0)."""

    with_empty = True


@register("uniseg_length_paragraphs_with_doc_length_v1")
class UnisegParagraphsWithDocLengthV1(UnisegParagraphsV1):
    """`uniseg_length_paragraphs_v1` plus their sums, keys `document` and `negative_document`."""

    with_document = True


@functools.cache
def olmo_pre_tokenizer() -> Any:
    """dolma's OLMo pre-tokenizer: punctuation and digits isolated (with a leading space), then byte-level.

    dolma writes `[[:punct:]]`, which the Oniguruma of its tokenizers 0.19 reads as Unicode punctuation (`\\p{P}`)
    and newer ones as punctuation and symbols (emoji, `$`, `+`, ...); `\\p{P}` gives dolma's counts with either.
    """
    from tokenizers import Regex, pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(pattern=Regex(" ?\\p{P}"), behavior="isolated", invert=False),
            pre_tokenizers.Split(pattern=Regex(" ?\\d"), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )


def pre_token_count(text: str) -> int:
    """Pre-tokens of `text` under the OLMo pre-tokenizer."""
    return len(olmo_pre_tokenizer().pre_tokenize_str(text))


@register("olmo_pretokenizer_v1")
class OlmoPreTokenizerV1(BaseTagger):
    """OLMo pre-tokens of the document (key `length`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [{"length": [Span(0, len(doc.text), float(pre_token_count(doc.text)))]} for doc in docs]


@register("olmo_pretokenizer_with_paragraphs_v1")
class OlmoPreTokenizerParagraphsV1(BaseTagger):
    """OLMo pre-tokens per non-blank paragraph (key `paragraph`) and their sum (key `document`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc in docs:
            paragraphs = [Span(s, e, float(pre_token_count(doc.text[s:e]))) for s, e in split_paragraphs(doc.text)]
            result: TaggerOutput = {"paragraph": paragraphs} if paragraphs else {}
            result["document"] = [Span(0, len(doc.text), sum((p.score for p in paragraphs), 0.0))]
            out.append(result)
        return out


def load_tokenizer(tagger: str, tokenizer_name_or_path: str, hub_default: str) -> Any:
    """A `tokenizers.Tokenizer` from a `tokenizer.json` file; a bad path fails naming the option."""
    from tokenizers import Tokenizer

    option = f"tagger {tagger!r}: option tokenizer_name_or_path"
    if not tokenizer_name_or_path.startswith(_REMOTE_PREFIXES) and not os.path.isfile(tokenizer_name_or_path):
        raise ConfigError(
            f"{option}: {tokenizer_name_or_path!r} is not a file; give a tokenizer.json (local, s3:// or http(s)://)"
            f" - dolma_py does not download hub names such as dolma's default {hub_default!r}"
        )
    try:
        path = cached_model_path(tokenizer_name_or_path)
    except DolmaError as err:
        raise ConfigError(f"{option}: {err}") from None
    try:
        return Tokenizer.from_file(path)
    except Exception as err:  # tokenizers raises a bare Exception for unreadable files
        raise ConfigError(f"{option}: cannot load {tokenizer_name_or_path!r} as a tokenizer.json: {err}") from None


class TokenCountTagger(BaseTagger):
    """Tokens of each document under a Hugging Face tokenizer, counted over a batch at once."""

    hub_default: ClassVar[str] = ""
    key: ClassVar[str] = "tokens"

    def __init__(self, tokenizer_name_or_path: str | None = None) -> None:
        self.tokenizer = load_tokenizer(self.name, tokenizer_name_or_path or self.hub_default, self.hub_default)

    def counts(self, texts: list[str]) -> list[int]:
        """Token counts without special tokens, as dolma's `tokenizers_*` taggers encode."""
        return [len(e) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        counts = self.counts([doc.text for doc in docs])
        return [{self.key: [Span(0, len(doc.text), float(n))]} for doc, n in zip(docs, counts, strict=True)]


@register("tokenizers_AI2_OLMo_v1")
class OlmoV1TokenCount(TokenCountTagger):
    """Tokens under OLMo v1's tokenizer (key `tokens`); option `tokenizer_name_or_path`, a tokenizer.json of
    `allenai/eleuther-ai-gpt-neox-20b-pii-special`."""

    hub_default = "allenai/eleuther-ai-gpt-neox-20b-pii-special"


@register("tokenizers_EleutherAI_GPT_NeoX_20B")
class GptNeoX20BTokenCount(TokenCountTagger):
    """Tokens under GPT-NeoX-20B's tokenizer (key `tokens`); option `tokenizer_name_or_path`, a tokenizer.json of
    `EleutherAI/gpt-neox-20B`."""

    hub_default = "EleutherAI/gpt-neox-20B"


@register("dolma_v1_tokenizer")
class DolmaV1TokenCount(TokenCountTagger):
    """Tokens of the stripped text, special tokens included, 0 when blank (key `length`); option
    `tokenizer_name_or_path`, a tokenizer.json of `allenai/gpt-neox-olmo-dolma-v1_5`."""

    hub_default = "allenai/gpt-neox-olmo-dolma-v1_5"
    key = "length"

    def counts(self, texts: list[str]) -> list[int]:
        stripped = [text.strip() for text in texts]
        encodings = iter(self.tokenizer.encode_batch([text for text in stripped if text]))
        return [len(next(encodings)) if text else 0 for text in stripped]


@register("dolma_v2_tokenizer")
class DolmaV2TokenCount(DolmaV1TokenCount):
    """`dolma_v1_tokenizer` with a tokenizer.json of `allenai/dolma2-tokenizer` (option `tokenizer_name_or_path`)."""

    hub_default = "allenai/dolma2-tokenizer"
