"""Any datatrove filter as a tagger: `datatrove:<ClassName>` with the filter's kwargs as options.

`<ClassName>` is looked up in `datatrove.pipeline.filters` (e.g. `datatrove:GopherQualityFilter`); a dotted
`module.Class` naming any `BaseFilter` subclass also works. Output for each document:
- `pass` -> `[[0, len(text), 1.0]]` if the filter keeps the document, `0.0` if it drops it;
- when dropped with a reason, `reason_<reason>` -> `[[0, len(text), 1.0]]`, the reason lower-cased with
  every run of characters outside `[a-z0-9]` turned into one `_` (`"gopher_short_doc"` ->
  `reason_gopher_short_doc`, `"< 3 paragraphs"` -> `reason_3_paragraphs`). Mixer filters can then use
  `..._pass == 0` or the presence of one reason key.
Filters that split text into words or sentences (Gopher, C4, FineWeb, ...) get `taggers.words` through
their own `language` argument, which datatrove accepts as a ready `WordTokenizer`: no spaCy, NLTK or
download, and nothing patched globally. Filters see a copy of each document; edits they make (C4 rewrites
`text`) do not leak out.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Sequence
from typing import Any

from dolma_py.data import Document, TaggerOutput
from taggers import words
from taggers.base import BaseTagger, document_span
from taggers.registry import TaggerNotFound, register_prefix

_REASON_CHARS = re.compile(r"[^a-z0-9]+")


def reason_key(reason: str) -> str:
    """Attribute key for a datatrove drop reason: `reason_` plus the reason reduced to `[a-z0-9_]`."""
    return "reason_" + (_REASON_CHARS.sub("_", reason.lower()).strip("_") or "unknown")


@functools.cache
def _tokenizer_class() -> type:
    """datatrove's `WordTokenizer` interface over `taggers.words` (built lazily: datatrove is slow to import)."""
    from datatrove.utils.word_tokenizers import WordTokenizer

    class FastWordTokenizer(WordTokenizer):
        """Language-independent rules from `taggers.words`; `language` is kept only as a label."""

        def word_tokenize(self, text: str) -> list[str]:
            return words.split_words(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return words.split_sentences(text)

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return words.sentence_spans(text)

    return FastWordTokenizer


@functools.cache
def word_tokenizer(language: str) -> Any:
    """One shared tokenizer per language label, since datatrove caches tokenizers by instance."""
    return _tokenizer_class()(language)


class DatatroveFilterTagger(BaseTagger):
    """Runs one datatrove filter on each document and records pass/fail and the drop reason."""

    filter_class: type

    def __init__(self, **options: Any) -> None:
        parameters = inspect.signature(self.filter_class.__init__).parameters
        language = options.get("language", parameters["language"].default if "language" in parameters else None)
        if isinstance(language, str):
            options = {**options, "language": word_tokenizer(language)}
        self.filter = self.filter_class(**options)

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        from datatrove.data import Document as DatatroveDocument
        from datatrove.pipeline.filters.base_filter import get_filter_result

        batch = [DatatroveDocument(text=doc.text, id=doc.id, metadata=dict(doc.metadata)) for doc in docs]
        outputs: list[TaggerOutput] = []
        for doc, result in zip(docs, self.filter.filter_batch(batch), strict=True):
            keep, reason = get_filter_result(result)
            out: TaggerOutput = {"pass": document_span(doc, 1.0 if keep else 0.0)}
            if not keep and reason:
                out[reason_key(str(reason))] = document_span(doc, 1.0)
            outputs.append(out)
        return outputs


@functools.cache
def resolve_filter(name: str) -> type[BaseTagger]:
    """Tagger class for `datatrove:<name>`; raises `TaggerNotFound` naming the available filters."""
    from datatrove.pipeline import filters
    from datatrove.pipeline.filters.base_filter import BaseFilter

    if "." in name:
        module_name, _, class_name = name.rpartition(".")
        try:
            found = getattr(importlib.import_module(module_name), class_name, None)
        except ImportError as err:
            raise TaggerNotFound(f"datatrove filter {name!r}: cannot import {module_name!r}: {err}") from err
    else:
        found = getattr(filters, name, None)
    if not (isinstance(found, type) and issubclass(found, BaseFilter)):
        available = sorted(
            attr for attr, value in vars(filters).items() if isinstance(value, type) and issubclass(value, BaseFilter)
        )
        raise TaggerNotFound(f"unknown datatrove filter {name!r}; available: {', '.join(available)}")
    return type(
        f"Datatrove{found.__name__}Tagger",
        (DatatroveFilterTagger,),
        {"filter_class": found, "__signature__": _options_signature(found)},
    )


def _options_signature(filter_class: type) -> inspect.Signature:
    """The filter's keyword options (minus `exclusion_writer`), so configs are checked before any work."""
    parameters = list(inspect.signature(filter_class.__init__).parameters.values())[1:]
    return inspect.Signature(
        [
            param.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            if param.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
            else param
            for param in parameters
            if param.name != "exclusion_writer" and param.kind is not inspect.Parameter.VAR_POSITIONAL
        ]
    )


register_prefix("datatrove", resolve_filter)
