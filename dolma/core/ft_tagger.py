"""dolma's `BaseFastTextTagger`: split a document into units, `predict_slice` each one, one span per prediction.

`self.classifier.predict` answers like the `fasttext` package's `_FastText.predict` (labels and a NumPy array of
probabilities, the line given to fastText with a trailing newline) but calls fastText's C++ binding, through the
model loader of `taggers.fasttext_taggers`: the package's own wrapper fails under NumPy 2. Models load from local
paths only; dolma would download a remote one, which dolma_py never does at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from dolma.core.data_types import DocResult, Document, Span, TextSlice
from dolma.core.errors import DolmaConfigError
from dolma.core.taggers import BaseTagger
from dolma.core.utils import split_paragraphs, split_sentences
from taggers.fasttext_taggers import load_model


class Prediction(NamedTuple):
    """One label predicted for a text slice, with its score."""

    label: str
    score: float


class FastTextClassifier:
    """The subset of `fasttext.FastText._FastText` that taggers call, on fastText's C++ binding."""

    def __init__(self, model_path: str) -> None:
        self._model = load_model(model_path)._model

    def predict(
        self, text: str | list[str], k: int = 1, threshold: float = 0.0, on_unicode_error: str = "strict"
    ) -> tuple[Any, Any]:
        """Top-`k` labels (all for -1) with probability >= `threshold`: `(labels, probabilities)` for one line,
        or a list of labels and a list of probabilities for a list of lines. A line must not contain a newline."""
        if isinstance(text, list):  # as fastText's multilinePredict: label lists and float32 arrays
            answers = [self._predict_line(line, k, threshold, on_unicode_error) for line in text]
            return [list(labels) for labels, _ in answers], [probs.astype(np.float32) for _, probs in answers]
        return self._predict_line(text, k, threshold, on_unicode_error)

    def _predict_line(self, line: str, k: int, threshold: float, on_unicode_error: str) -> tuple[Any, np.ndarray]:
        if "\n" in line:
            raise ValueError("predict processes one line at a time (remove '\\n')")
        pairs = self._model.predict(line + "\n", k, threshold, on_unicode_error)
        probs, labels = zip(*pairs, strict=True) if pairs else ([], ())
        return labels, np.array(probs)

    def get_labels(self, include_freq: bool = False, on_unicode_error: str = "strict") -> Any:
        """The model's labels (with their counts when `include_freq`)."""
        labels, freqs = self._model.getLabels(on_unicode_error)
        return (labels, np.array(freqs)) if include_freq else labels

    @property
    def labels(self) -> list[str]:
        return self.get_labels()


class BaseFastTextTagger(BaseTagger):
    """A fastText tagger at sentence, paragraph or document level; subclasses implement `predict_slice`."""

    SENTENCE_LEVEL_TAGGER = "sentence"
    PARAGRAPH_LEVEL_TAGGER = "paragraph"
    DOCUMENT_LEVEL_TAGGER = "document"

    def __init__(self, model_path: str, model_mode: str) -> None:
        if "://" in str(model_path):
            raise DolmaConfigError(
                f"fastText model_path {model_path!r} is remote; dolma_py does not download models at run time: "
                "download it once and pass its local path"
            )
        self.classifier = FastTextClassifier(str(model_path))
        self.mode = model_mode

    def predict(self, doc: Document) -> DocResult:
        if self.mode == self.SENTENCE_LEVEL_TAGGER:
            units = split_sentences(doc.text)
        elif self.mode == self.PARAGRAPH_LEVEL_TAGGER:
            units = split_paragraphs(doc.text)
        elif self.mode == self.DOCUMENT_LEVEL_TAGGER:
            units = [TextSlice(doc=doc.text, start=0, end=len(doc.text))]
        else:
            raise ValueError(f"Unknown mode {self.mode}")
        spans = [
            Span(start=unit.start, end=unit.end, type=prediction.label, score=prediction.score)
            for unit in units
            for prediction in self.predict_slice(unit)
        ]
        return DocResult(doc=doc, spans=spans)

    def predict_slice(self, text_slice: TextSlice) -> Iterable[Prediction]:
        raise NotImplementedError("Please implement the predict slice method")
