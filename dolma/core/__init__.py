"""dolma's `dolma.core` namespace: data types, the tagger base class and the registry."""

from dolma.core.data_types import DocResult, Document, Span
from dolma.core.registry import TaggerRegistry
from dolma.core.taggers import BaseTagger

__all__ = [
    "BaseTagger",
    "DocResult",
    "Document",
    "Span",
    "TaggerRegistry",
]
