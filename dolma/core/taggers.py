"""dolma 1.2.1's tagger interface (`predict(doc) -> DocResult`), run by dolma_py's batch pipeline.

`BaseTagger` is a `taggers.base.BaseTagger`: its `tag_batch` builds dolma's input record for each document, calls
dolma's `tag` (so a tagger overriding `tag` or `group_output` keeps working) and hands the grouped spans to the
pipeline, which names them `<experiment>__<tagger>__<type>` like dolma. A span type of "" is dropped, as dolma does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from dolma.core.data_types import (
    DocResult,
    Document,
    DocumentWithMetadata,
    InputSpec,
    InputSpecWithMetadata,
    TaggerOutputDictType,
)
from dolma_py import data
from taggers import base

TAGGER_SCORE_PRECISION = 5
"""Digits after the decimal point kept in attribute scores."""


class TaggerError(RuntimeError):
    """A user tagger failed on a document; the message names the tagger and the document."""


class BaseTagger(base.BaseTagger):
    """Subclass this, implement `predict`, and register the class with `dolma.add_tagger("name")`."""

    FIELDS: ClassVar[list[str]] = ["text"]

    @classmethod
    def train(cls, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("This tagger does not support training")

    @classmethod
    def test(cls, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("This tagger does not support testing")

    @property
    def defaults(self) -> list[str]:
        """Span types written (as empty lists) even when `predict` returns no span of that type."""
        return []

    def predict(self, doc: Document) -> DocResult:
        raise NotImplementedError

    def group_output(self, doc_result: DocResult) -> TaggerOutputDictType:
        """Spans grouped by type as `(start, end, score)`, scores rounded to `TAGGER_SCORE_PRECISION` digits."""
        spans = getattr(doc_result, "spans", None)
        if spans is None:
            raise TypeError(f"predict() must return a DocResult, got {type(doc_result).__name__}")
        tagger_output: TaggerOutputDictType = {field: [] for field in self.defaults}
        for span in spans:
            output = (span.start, span.end, round(float(span.score), TAGGER_SCORE_PRECISION))
            tagger_output.setdefault(span.type, []).append(output)
        return tagger_output

    def tag(self, row: InputSpec) -> TaggerOutputDictType:
        """dolma's per-document entry point: predict, then group."""
        return self.group_output(self.predict(Document.from_spec(row)))

    def tag_batch(self, docs: Sequence[data.Document]) -> list[data.TaggerOutput]:
        outputs = []
        for doc in docs:
            try:
                outputs.append(_tagger_output(self.tag(self._input_spec(doc))))
            except Exception as err:
                raise TaggerError(
                    f"tagger {self.name!r} ({type(self).__module__}.{type(self).__qualname__}) failed on document "
                    f"{doc.id!r}: {type(err).__name__}: {err}"
                ) from err
        return outputs

    def _input_spec(self, doc: data.Document) -> InputSpec:
        """dolma's record of a document line, as its `tag` receives it."""
        return InputSpec(**_spec_fields(doc))


class BaseTaggerWithMetadata(BaseTagger):
    """A tagger whose `predict` receives a `DocumentWithMetadata` (metadata is `{}` when a line has none)."""

    def predict(self, doc: DocumentWithMetadata) -> DocResult:  # type: ignore[override]
        raise NotImplementedError

    def tag(self, row: InputSpecWithMetadata) -> TaggerOutputDictType:  # type: ignore[override]
        return self.group_output(self.predict(DocumentWithMetadata.from_spec(row)))

    def _input_spec(self, doc: data.Document) -> InputSpecWithMetadata:
        return InputSpecWithMetadata(**_spec_fields(doc), metadata=doc.metadata)


def _spec_fields(doc: data.Document) -> dict[str, Any]:
    raw = doc.raw
    return {
        "id": doc.id,
        "text": doc.text,
        "source": doc.source,
        "created": raw.get("created", ""),
        "added": raw.get("added", ""),
        "version": raw.get("version"),
    }


def _tagger_output(grouped: TaggerOutputDictType) -> data.TaggerOutput:
    """dolma's grouped output as pipeline spans; the empty type is skipped, as dolma's writer skips it."""
    out: data.TaggerOutput = {}
    for key, values in grouped.items():
        if not isinstance(key, str):
            raise TypeError(f"span type must be a string, got {key!r}")
        if key:
            out[key] = [data.Span(start, end, score) for start, end, score in values]
    return out
