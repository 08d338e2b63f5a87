"""dolma's text splitters that tagger code imports, returning `TextSlice`s, on dolma_py's implementations."""

from __future__ import annotations

import re

from dolma.core.data_types import TextSlice
from taggers import length
from taggers.fasttext_taggers import sentence_units

_LINE = re.compile(r"[^\n]*\n|[^\n]+$")


def split_paragraphs(text: str, remove_empty: bool = True) -> list[TextSlice]:
    """Each line with its trailing newline (the last may lack one); whitespace-only lines are dropped unless
    `remove_empty` is False."""
    if remove_empty:
        bounds = length.split_paragraphs(text)
    else:
        bounds = [(match.start(), match.end()) for match in _LINE.finditer(text)]
    return [TextSlice(doc=text, start=start, end=end) for start, end in bounds]


def split_sentences(text: str, remove_empty: bool = True) -> list[TextSlice]:
    """Sentences found by blingfire, as dolma splits them when blingfire is installed."""
    if remove_empty is not True:
        raise NotImplementedError("remove_empty=False is not implemented yet")
    return [TextSlice(doc=text, start=start, end=end) for start, end in sentence_units(text)]
