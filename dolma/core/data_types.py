"""dolma 1.2.1's data types for tagger code: documents, spans, results and text slices, with dolma's behaviour.

The `*Spec` records are what dolma decodes input lines into and encodes attribute lines from; here they are plain
slotted dataclasses (dolma uses msgspec structs) with the same fields and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

TaggerOutputValueType: TypeAlias = tuple[int, int, float]
TaggerOutputType: TypeAlias = list[TaggerOutputValueType]
TaggerOutputDictType: TypeAlias = dict[str, TaggerOutputType]


@dataclass(slots=True)
class InputSpec:
    """The fields of a document line that dolma's taggers see."""

    id: str
    text: str
    source: str = ""
    created: str = ""
    added: str = ""
    version: str | None = None


@dataclass(slots=True)
class InputSpecWithMetadata(InputSpec):
    """A document line with its `metadata` object, for taggers that need it."""

    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class InputSpecWithMetadataAndAttributes(InputSpecWithMetadata):
    """A document line joined with its attributes."""

    attributes: dict[str, list[tuple[int, int, float]]] | None = None


@dataclass(slots=True)
class OutputSpec:
    """One attribute line."""

    id: str
    attributes: dict[str, list[TaggerOutputValueType]]
    source: str | None = None


class Document:
    """A document as `predict` receives it: source, id, text and version."""

    __slots__ = "source", "version", "id", "text"

    def __init__(self, source: str, id: str, text: str, version: str | None = None) -> None:  # noqa: A002
        self.source = source
        self.version = version
        self.id = id
        self.text = text

    @classmethod
    def from_spec(cls, spec: InputSpec) -> Document:
        return Document(source=spec.source, version=spec.version, id=spec.id, text=spec.text)

    def to_spec(self) -> InputSpec:
        return InputSpec(source=self.source, version=self.version, id=self.id, text=self.text)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Document:
        return Document(source=d["source"], version=d["version"], id=d["id"], text=d["text"])

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "version": self.version, "id": self.id, "text": self.text}

    def __str__(self) -> str:
        attributes_string = ",".join([f"{k}:{v!r}" for k, v in self.to_json().items()])
        return f"{self.__class__.__name__}({attributes_string})"


class DocumentWithMetadata(Document):
    """A document with its `metadata` mapping (empty when the line has none)."""

    __slots__ = ("metadata",)

    def __init__(self, *args: Any, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metadata = metadata or {}

    @classmethod
    def from_spec(cls, spec: InputSpecWithMetadata) -> DocumentWithMetadata:  # type: ignore[override]
        return DocumentWithMetadata(
            source=spec.source, version=spec.version, id=spec.id, text=spec.text, metadata=spec.metadata
        )

    def to_spec(self) -> InputSpecWithMetadata:
        return InputSpecWithMetadata(
            source=self.source, version=self.version, id=self.id, text=self.text, metadata=self.metadata
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocumentWithMetadata:
        return DocumentWithMetadata(
            source=d["source"], version=d["version"], id=d["id"], text=d["text"], metadata=d["metadata"]
        )

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "metadata": self.metadata}

    def __str__(self) -> str:
        return super().__str__().rstrip(")") + f",metadata={'...' if self.metadata else 'none'})"


class DocumentWithMetadataAndAttributes(DocumentWithMetadata):
    """A document with metadata and the attributes joined to it."""

    def __init__(
        self, *args: Any, attributes: dict[str, list[tuple[int, int, float]]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.attributes = attributes or {}

    @classmethod
    def from_spec(  # type: ignore[override]
        cls, spec: InputSpecWithMetadataAndAttributes
    ) -> DocumentWithMetadataAndAttributes:
        return DocumentWithMetadataAndAttributes(
            source=spec.source,
            version=spec.version,
            id=spec.id,
            text=spec.text,
            metadata=spec.metadata,
            attributes=spec.attributes,
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocumentWithMetadataAndAttributes:
        return DocumentWithMetadataAndAttributes(
            source=d["source"],
            version=d["version"],
            id=d["id"],
            text=d["text"],
            metadata=d["metadata"],
            attributes=d["attributes"],
        )

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "attributes": self.attributes}

    def to_spec(self) -> InputSpecWithMetadataAndAttributes:
        return InputSpecWithMetadataAndAttributes(
            source=self.source,
            version=self.version,
            id=self.id,
            text=self.text,
            metadata=self.metadata,
            attributes=self.attributes,
        )

    def __str__(self) -> str:
        return super().__str__().rstrip(")") + f",attributes={'...' if self.attributes else 'none'})"


class Span:
    """A typed, scored range of a document's text; the type becomes the attribute key's last part."""

    __slots__ = "start", "end", "type", "score", "experiment", "tagger"

    def __init__(
        self,
        start: int,
        end: int,
        type: str,  # noqa: A002
        score: float = 1.0,
        experiment: str | None = None,
        tagger: str | None = None,
    ) -> None:
        self.start = start
        self.end = end
        self.type = type
        self.score = float(score)
        self.experiment = experiment
        self.tagger = tagger

    def mention(self, text: str, window: int = 0) -> str:
        """The span's text, widened by `window` characters on each side."""
        return text[max(0, self.start - window) : min(len(text), self.end + window)]

    def select(self, doc: Document) -> str:
        """The span's text in `doc`."""
        return doc.text[self.start : self.end]

    @classmethod
    def from_spec(cls, attribute_name: str, attribute_value: TaggerOutputValueType) -> Span:
        """A span from an attribute key `<experiment>__<tagger>__<type>` and one `[start, end, score]` value."""
        if "__" in attribute_name:
            exp_name, tgr_name, attr_type = attribute_name.split("__", 2)
        else:
            exp_name = tgr_name = attr_type = attribute_name
        start, end, score = attribute_value
        return Span(
            start=int(start), end=int(end), type=attr_type, score=float(score), experiment=exp_name, tagger=tgr_name
        )

    def to_spec(self) -> tuple[str, TaggerOutputValueType]:
        """The attribute key and `(start, end, score)`; the span needs its experiment and tagger set."""
        assert self.experiment is not None, "Experiment name must be set to convert to spec"
        assert self.tagger is not None, "Tagger name must be set to convert to spec"
        return f"{self.experiment}__{self.tagger}__{self.type}", (self.start, self.end, self.score)

    def __len__(self) -> int:
        return self.end - self.start

    @classmethod
    def from_json(cls, di: dict[str, Any]) -> Span:
        return Span(start=di["start"], end=di["end"], type=di["type"], score=di["score"])

    def to_json(self, text: str | None = None, window: int = 0) -> dict[str, Any]:
        """`{start, end, type, score}`, plus the `mention` (widened by `window`) when `text` is given."""
        span_repr: dict[str, Any] = {"start": self.start, "end": self.end, "type": self.type, "score": self.score}
        if text is not None:
            span_repr["mention"] = self.mention(text=text, window=window)
        return span_repr

    def __str__(self) -> str:
        cls_name = self.__class__.__name__
        return f"{cls_name}(start={self.start},end={self.end},type={self.type!r},score={self.score:.5f})"

    def __repr__(self) -> str:
        return str(self)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, self.__class__):
            return False
        return (
            self.start == other.start
            and self.end == other.end
            and self.type == other.type
            and self.score == other.score
        )


class DocResult:
    """What `predict` returns: the document and its spans."""

    __slots__ = "doc", "spans"

    def __init__(self, doc: Document, spans: list[Span]) -> None:
        self.doc = doc
        self.spans = spans

    @classmethod
    def from_spec(cls, doc: InputSpec, *attrs_groups: OutputSpec) -> DocResult:
        """A result from a document record and its attribute lines (ids must match)."""
        spans: list[Span] = []
        for attrs in attrs_groups:
            assert doc.id == attrs.id, f"doc.id={doc.id} != attrs.id={attrs.id}"
            spans.extend(
                Span.from_spec(attribute_name=attr_name, attribute_value=attr_value)
                for attr_name, attr_values in attrs.attributes.items()
                for attr_value in attr_values
            )
        return DocResult(doc=Document.from_spec(doc), spans=spans)

    def to_spec(self) -> tuple[InputSpec, OutputSpec]:
        """The document record and its attribute line; every span needs its experiment and tagger set."""
        attributes: dict[str, list[TaggerOutputValueType]] = {}
        for span in self.spans:
            attr_name, attr_value = span.to_spec()
            attributes.setdefault(attr_name, []).append(attr_value)
        return self.doc.to_spec(), OutputSpec(source=self.doc.source, id=self.doc.id, attributes=attributes)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocResult:
        return DocResult(doc=Document.from_json(d["doc"]), spans=[Span.from_json(span) for span in d["spans"]])

    def to_json(self, with_doc: bool = False, window: int = 0) -> dict[str, Any]:
        """`{"spans": [...]}` with each span's mention, plus the document when `with_doc`."""
        d: dict[str, Any] = {"spans": [span.to_json(text=self.doc.text, window=window) for span in self.spans]}
        if with_doc:
            d["doc"] = self.doc.to_json()
        return d

    def __str__(self) -> str:
        return f"{self.__class__.__name__}(doc={self.doc},spans=[{','.join(str(s) for s in self.spans)}])"


class TextSlice:
    """A slice of text from a document."""

    __slots__ = "doc", "start", "end"

    def __init__(self, doc: str, start: int, end: int) -> None:
        self.doc = doc
        self.start = start
        self.end = end

    @property
    def text(self) -> str:
        return self.doc[self.start : self.end]

    def __str__(self) -> str:
        return f"{self.__class__.__name__}(text={self.text!r},start={self.start},end={self.end})"
