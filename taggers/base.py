"""The tagger interface: a batch of documents in, spans per attribute key out."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

from dolma_py.data import Document, Span, TaggerOutput


class BaseTagger(abc.ABC):
    """Scores a batch of documents at once, so vectorised or Rust implementations fit.

    Subclasses are registered with `taggers.registry.register`; keyword options from the
    config (a model path, a list file) arrive in `__init__`.
    """

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        """Return one `{key: [Span, ...]}` per document, in the same order."""


class DocumentTagger(BaseTagger):
    """A tagger that scores one document at a time."""

    @abc.abstractmethod
    def tag(self, doc: Document) -> TaggerOutput:
        """Spans for one document, keyed by attribute key."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [self.tag(doc) for doc in docs]


def document_span(doc: Document, score: float) -> list[Span]:
    """A document-level value, written as `[0, len(text), score]` like dolma does."""
    return [Span(0, len(doc.text), score)]
