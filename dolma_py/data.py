"""Records shared by every stage: documents, spans and attribute lines, in dolma's formats."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


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
        """Validate a parsed JSON object; raises `ValueError` naming the offending field."""
        if not isinstance(obj, dict):
            raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
        doc_id = obj.get("id")
        if doc_id is None:
            raise ValueError("field 'id' is missing")
        if not isinstance(doc_id, str):
            raise ValueError(f"field 'id' must be a string, got {type(doc_id).__name__}")
        text = obj.get("text")
        if text is None:
            raise ValueError("field 'text' is missing")
        if not isinstance(text, str):
            raise ValueError(f"field 'text' must be a string, got {type(text).__name__}")
        source = obj.get("source") or ""
        if not isinstance(source, str):
            raise ValueError(f"field 'source' must be a string, got {type(source).__name__}")
        metadata = obj.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError(f"field 'metadata' must be an object, got {type(metadata).__name__}")
        return cls(id=doc_id, text=text, source=source, metadata=metadata, raw=obj)
