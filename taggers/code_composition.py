"""dolma's `code_composition`: a fastText classifier labels each line (code, prose, comment...); counts per document.

Per document (all spans `[0, len(text)]`): `boundaries` (code <-> prose switches between consecutive classified
lines), then for each label in order of first appearance `<label>_pct` (share of lines, rounded to 2 places),
`<label>` (line count) and `<label>_entropy` (mean entropy, in bits, of the line predictions). Lines are stripped;
empty ones are skipped and those of 3 characters or fewer are labelled `other` without asking the model (so is a
line the model gives no label, where dolma fails with an IndexError). As in dolma, a label is the model's label with
leading `_`, `l`, `a`, `b`, `e` characters stripped (`lstrip("__label__")`).
dolma downloads the model from MODEL_URL; here `model_path` names a local (or s3://, http(s)://) copy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

from dolma_py.data import Document, TaggerOutput
from dolma_py.errors import ConfigError
from taggers.base import BaseTagger, document_span
from taggers.fasttext_taggers import Prediction, load_model
from taggers.registry import register

MODEL_URL = "hf://techarb/code-prose-composition/code-comment-prose-model.bin"
SHORT_LINE = 3
"""Lines this long or shorter are `other` without a prediction."""


def entropy(probabilities: Sequence[float]) -> float:
    """Shannon entropy in bits of one prediction's label probabilities."""
    return -sum(p * math.log2(p) for p in probabilities if p > 0)


@register("code_composition")
class CodeCompositionTagger(BaseTagger):
    """Code/prose composition of a document from a per-line fastText model: boundaries, shares, counts, entropy."""

    def __init__(self, model_path: str | None = None) -> None:
        if not model_path:
            raise ConfigError(
                f"tagger {self.name!r} needs the option model_path: a local copy of dolma's model {MODEL_URL}"
            )
        if "://" not in model_path and not os.path.isfile(model_path):
            raise ConfigError(
                f"tagger {self.name!r}: option 'model_path' names {model_path!r}, which does not exist; "
                f"it should hold dolma's model {MODEL_URL}"
            )
        self.model = load_model(model_path)

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        doc_lines = [[line for line in (raw.strip() for raw in doc.text.splitlines()) if line] for doc in docs]
        asked = [line for lines in doc_lines for line in lines if len(line) > SHORT_LINE]
        predictions = iter(self._predict(asked))
        return [
            self._tag(doc, [next(predictions) if len(line) > SHORT_LINE else [] for line in lines])
            for doc, lines in zip(docs, doc_lines, strict=True)
        ]

    def _predict(self, lines: list[str]) -> list[Prediction]:
        """All label probabilities per line, each line ending in a newline as fastText's Python `predict` sends it
        (the end-of-line token changes the probabilities); `FastTextModel.predict` sends lines without it."""
        predict = self.model._model.predict
        out = []
        for line in lines:
            try:
                pairs = predict(line + "\n", -1, 0.0, "replace")
            except TypeError:  # the binding rejects lone surrogates (dolma fails on them)
                pairs = predict(line.encode("utf-8", "replace").decode("utf-8") + "\n", -1, 0.0, "replace")
            out.append([(label, prob) for prob, label in pairs])
        return out

    @staticmethod
    def _label(prediction: Prediction) -> str:
        if not prediction:
            return "other"
        return prediction[0][0].lstrip("__label__")  # noqa: B005 (dolma's quirk, kept for equal keys)

    def _tag(self, doc: Document, predictions: list[Prediction]) -> TaggerOutput:
        counts: dict[str, int] = {}
        entropies: dict[str, list[float]] = {}
        active = None
        boundaries = 0
        for prediction in predictions:
            label = self._label(prediction)
            counts[label] = counts.get(label, 0) + 1
            entropies.setdefault(label, []).append(entropy([prob for _, prob in prediction]))
            if active in ("code", "prose") and label in ("code", "prose") and label != active:
                boundaries += 1
            active = label
        total = sum(counts.values())
        out: TaggerOutput = {"boundaries": document_span(doc, boundaries)}
        for label, count in counts.items():
            out[f"{label}_pct"] = document_span(doc, round(count / total, 2))
            out[label] = document_span(doc, count)
            out[f"{label}_entropy"] = document_span(doc, sum(entropies[label]) / len(entropies[label]))
        return out
