"""Records shared by every stage: documents, spans and attribute lines, in dolma's formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from dolma_py.docmodel import check_document


class Span(NamedTuple):
    """A scored range of a document's text; offsets are Unicode code points, end exclusive."""

    start: int
    end: int
    score: float

    def to_json(self) -> list[Any]:
        """The `[start, end, score]` triple dolma writes in attribute files, the score rounded to 5 digits as dolma
        does."""
        return [self.start, self.end, round(float(self.score), 5)]


TaggerOutput = dict[str, list[Span]]
"""What a tagger returns for one document: attribute key (dolma's span type) -> spans."""


@dataclass(slots=True)
class Document:
    """One line of a dolma documents file. `raw` keeps the parsed object so no field is lost."""

    id: str
    text: str
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, obj: Any) -> Document:
        """Validate a parsed JSON object (`docmodel.check_document`); raises `DocumentError`, a `ValueError` naming
        the offending field."""
        check_document(obj)
        return cls(id=obj["id"], text=obj["text"], source=obj.get("source", ""), metadata=obj.get("metadata") or {},
                   raw=obj)
