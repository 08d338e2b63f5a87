"""fastText classifiers as taggers: dolma's language id, Jigsaw toxicity/NSFW and quality taggers, plus a generic one.

Names, attribute keys and scores follow dolma 1.2.1. Each tagger takes `model_path` (local, s3:// or http(s)://;
the default is dolma's public model URL, so offline users pass their own file). Models load once per process and
are called through fastText's C++ binding, whose `predict` returns plain lists: the `fasttext` package's numpy
wrapper fails under NumPy 2, and its list form (`multilinePredict`) returns wrong probabilities there.
Each line ends with the newline fastText's own `predict` adds, an end-of-sentence token every trained model knows,
so every unit (document, paragraph or sentence) gets a prediction, even an empty or whitespace-only document or one
of unknown words, as in dolma (tests/test_taggers_fasttext_golden.py checks every tagger against dolma's outputs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import ClassVar

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.io.model_cache import cached_model_path
from taggers.base import BaseTagger
from taggers.registry import register

Prediction = list[tuple[str, float]]
"""fastText's answer for one line: (label, probability) pairs, most probable first."""

LABEL_PREFIX = "__label__"
LID_176_URL = "https://dl.fbaipublicfiles.com/fasttext/supervised-models/lid.176.bin"
JIGSAW_HATESPEECH_URL = (
    "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
    "jigsaw_fasttext_bigrams_hatespeech_final.bin"
)
JIGSAW_NSFW_URL = (
    "https://dolma-artifacts.org/fasttext_models/jigsaw_fasttext_bigrams_20230515/"
    "jigsaw_fasttext_bigrams_nsfw_final.bin"
)
DCLM_OH_ELI5_URL = (
    "https://huggingface.co/mlfoundations/fasttext-oh-eli5/resolve/main/"
    "openhermes_reddit_eli5_vs_rw_v2_bigram_200k_train.bin"
)
DOLMA17_QUALITY_URL = (
    "https://dolma-artifacts.org/fasttext_models/dolma-1_7/"
    "cc_wiki_wikiref_sw_pes2o_adult_fakenews_math_books_openhermes.bin"
)

_SURROGATES = re.compile("[\ud800-\udfff]")
_PARAGRAPH = re.compile(r"[^\n]*\n|[^\n]+$")


def _without_surrogates(text: str) -> str:
    """Lone surrogates cannot be encoded as UTF-8; U+FFFD keeps the length, so offsets stay valid."""
    return _SURROGATES.sub("\ufffd", text)


class FastTextModel:
    """A supervised fastText model loaded through `fasttext_pybind` (shipped by every fastText wheel)."""

    def __init__(self, path: str) -> None:
        try:
            import fasttext_pybind
        except ImportError as err:
            raise DolmaError("fastText taggers need fastText: pip install 'fasttext-wheel==0.9.2'") from err
        self._model = fasttext_pybind.fasttext()
        try:
            self._model.loadModel(path)
        except ValueError as err:
            raise DolmaError(f"cannot load fastText model {path!r}: {err}") from err
        self.labels: tuple[str, ...] = tuple(self._model.getLabels("replace")[0])

    def predict(self, lines: Sequence[str], k: int = -1) -> list[Prediction]:
        """Top-`k` labels (all for -1) per line. fastText reads one line, so newlines become spaces; the line then
        ends with the newline that fastText's own `predict` (which dolma calls) appends: it is an end-of-sentence
        token that changes the probabilities."""
        predict = self._model.predict
        out = []
        for line in lines:
            line = line.replace("\n", " ") + "\n"
            try:
                pairs = predict(line, k, 0.0, "replace")
            except TypeError:  # the binding rejects strings holding lone surrogates
                pairs = predict(_without_surrogates(line), k, 0.0, "replace")
            out.append([(label, prob) for prob, label in pairs])
        return out


_MODELS: dict[str, FastTextModel] = {}


def load_model(model_path: str) -> FastTextModel:
    """The model at `model_path` (downloaded if remote), loaded once per process."""
    local = os.path.realpath(cached_model_path(model_path))
    model = _MODELS.get(local)
    if model is None:
        model = _MODELS[local] = FastTextModel(local)
    return model


def document_units(text: str) -> list[tuple[int, int]]:
    """The whole document as one unit."""
    return [(0, len(text))]


def paragraph_units(text: str) -> list[tuple[int, int]]:
    """dolma's paragraphs: each line with its trailing newline; whitespace-only lines are dropped."""
    return [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text) if m.group().strip()]


def _blingfire() -> ModuleType:
    """blingfire, imported only when a sentence-level tagger is used."""
    try:
        import blingfire
    except ImportError as err:
        raise DolmaError("sentence-level fastText taggers need blingfire: pip install 'blingfire==0.1.8'") from err
    return blingfire


def sentence_units(text: str) -> list[tuple[int, int]]:
    """dolma's sentences, from blingfire (which dolma uses when installed)."""
    if not text:
        return []
    split = _blingfire().text_to_sentences_and_offsets
    try:
        return list(split(text)[1])
    except UnicodeEncodeError:
        return list(split(_without_surrogates(text))[1])


LEVELS: dict[str, Callable[[str], list[tuple[int, int]]]] = {
    "document": document_units,
    "paragraph": paragraph_units,
    "sentence": sentence_units,
}


class FastTextTagger(BaseTagger):
    """Splits documents into units, predicts all units of a batch together and scores each prediction."""

    default_model_path: ClassVar[str | None] = None
    level: str = "document"
    k: ClassVar[int] = -1

    def __init__(self, model_path: str | None = None) -> None:
        model_path = model_path or self.default_model_path
        if not model_path:
            raise ConfigError(f"tagger {self.name!r} needs the option model_path")
        if self.level == "sentence":
            _blingfire()  # fail at construction, not at the first batch
        self.model = load_model(model_path)

    def prepare(self, text: str) -> str:
        """The line given to fastText for a unit's text."""
        return text.strip()

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        """Attribute key and score pairs for one unit."""
        raise NotImplementedError

    def finish(self, doc: Document, out: TaggerOutput) -> TaggerOutput:
        """Add document-level attributes computed from the unit spans (none by default)."""
        return out

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        split = LEVELS[self.level]
        units = [split(doc.text) for doc in docs]
        lines = [
            self.prepare(doc.text[start:end]) for doc, spans in zip(docs, units, strict=True) for start, end in spans
        ]
        predictions = iter(self.model.predict(lines, self.k))
        results = []
        for doc, spans in zip(docs, units, strict=False):
            out: TaggerOutput = {}
            for start, end in spans:
                for key, value in self.score(next(predictions)):
                    out.setdefault(key, []).append(Span(start, end, value))
            results.append(self.finish(doc, out))
        return results


def _strip_prefix(label: str) -> str:
    return label[len(LABEL_PREFIX) :] if label.startswith(LABEL_PREFIX) else label


@register("ft_lang_id_doc_v1")
class FastTextLanguageTagger(FastTextTagger):
    """fastText language id (lid.176): one key per language code, scored by probability, per document."""

    default_model_path = LID_176_URL

    def prepare(self, text: str) -> str:
        return text.lower().strip()

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        return [(_strip_prefix(label), prob) for label, prob in prediction]


@register("ft_lang_id_paragraph_v1")
class FastTextLanguageParagraphTagger(FastTextLanguageTagger):
    """fastText language id per paragraph: one key per language code."""

    level = "paragraph"


@register("ft_lang_id_1e2")
class FastTextLanguageMinScoreTagger(FastTextLanguageTagger):
    """fastText language id per document, only languages above 0.01, scores rounded to 2 decimals."""

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        return [(lang, round(prob, 2)) for lang, prob in super().score(prediction) if prob > 0.01]


@register("ft_lang_id_en_doc_v2")
class FastTextEnglishTagger(FastTextLanguageTagger):
    """fastText English score per document: keys `en` and `not_en` (= 1 - en)."""

    include_negative: ClassVar[bool] = True

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        en = next((prob for label, prob in prediction if label == LABEL_PREFIX + "en"), 0.0)
        return [("en", en), ("not_en", 1.0 - en)] if self.include_negative else [("en", en)]


@register("ft_lang_id_en_only_v2")
class FastTextEnglishOnlyTagger(FastTextEnglishTagger):
    """fastText English score per document: key `en` only."""

    include_negative = False


@register("ft_lang_id_en_paragraph_v2")
class FastTextEnglishParagraphTagger(FastTextEnglishTagger):
    """fastText English score per paragraph: keys `en` and `not_en`."""

    level = "paragraph"


@register("ft_lang_id_en_paragraph_with_doc_score_v2")
class FastTextEnglishParagraphDocScoreTagger(FastTextEnglishParagraphTagger):
    """Per-paragraph `en`/`not_en` plus `doc_en`/`doc_not_en`: paragraph scores weighted by length."""

    def finish(self, doc: Document, out: TaggerOutput) -> TaggerOutput:
        if doc.text:
            doc_en = sum((span.end - span.start) * span.score for span in out.get("en", [])) / len(doc.text)
            doc_not_en = 1.0 - doc_en
        else:
            doc_en = doc_not_en = 0.0
        out["doc_en"] = [Span(0, len(doc.text), doc_en)]
        out["doc_not_en"] = [Span(0, len(doc.text), doc_not_en)]
        return out


@register("jigsaw_hatespeech_document_v2")
class JigsawHatespeechTagger(FastTextTagger):
    """Jigsaw toxicity per document: keys are the model's labels (`__label__toxic`, `__label__non_toxic`)."""

    default_model_path = JIGSAW_HATESPEECH_URL

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        # dolma lists the label without "non" first; key order only affects the attribute file's layout
        return sorted(prediction, key=lambda pair: "non" in pair[0])


@register("jigsaw_hatespeech_sentence_v2")
class JigsawHatespeechSentenceTagger(JigsawHatespeechTagger):
    """Jigsaw toxicity per sentence (blingfire sentences, as dolma)."""

    level = "sentence"


@register("jigsaw_nsfw_document_v1")
class JigsawNsfwTagger(JigsawHatespeechTagger):
    """Jigsaw NSFW per document: keys `__label__nsfw`, `__label__non_nsfw`."""

    default_model_path = JIGSAW_NSFW_URL


@register("jigsaw_nsfw_sencence_v2")
class JigsawNsfwSentenceTagger(JigsawNsfwTagger):
    """Jigsaw NSFW per sentence (dolma's name, typo included)."""

    level = "sentence"


@register("dclm-oh-eli5")
class DclmQualityTagger(FastTextTagger):
    """DCLM's OpenHermes/ELI5 quality classifier per document: key `score`, the probability of `hq`."""

    default_model_path = DCLM_OH_ELI5_URL
    k = 1

    def __init__(self, model_path: str | None = None) -> None:
        super().__init__(model_path)
        if set(self.model.labels) != {"__label__hq", "__label__cc"}:
            raise ConfigError(
                f"tagger {self.name!r} needs a model with labels __label__hq and __label__cc, "
                f"got {list(self.model.labels)}; use the `fasttext` tagger for other classifiers"
            )

    def prepare(self, text: str) -> str:
        return " ".join(text.strip().splitlines())

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        return [("score", prob if label == "__label__hq" else 1.0 - prob) for label, prob in prediction]


@register("dolma17-quality")
class Dolma17QualityTagger(FastTextTagger):
    """Dolma 1.7's quality classifier per document: one key per label, scored by probability. A document without
    a whitespace-separated token is scored as the empty line, where dolma 1.2.1 crashes (`zip(*[])`)."""

    default_model_path = DOLMA17_QUALITY_URL

    def __init__(self, model_path: str | None = None) -> None:
        super().__init__(model_path)
        from tokenizers.pre_tokenizers import WhitespaceSplit

        self._splitter = WhitespaceSplit()

    def prepare(self, text: str) -> str:
        return " ".join(token for token, _ in self._splitter.pre_tokenize_str(text))

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        return [(_strip_prefix(label), prob) for label, prob in prediction]


@register("fasttext")
class GenericFastTextTagger(FastTextTagger):
    """Any supervised fastText classifier: one key per label (without `__label__`), per document/paragraph/sentence.

    Options: `model_path` (required), `level` (document, paragraph or sentence; default document) and
    `labels` (report only these labels, with or without `__label__`; 0.0 for one a prediction lacks).
    """

    def __init__(
        self, model_path: str | None = None, level: str = "document", labels: Sequence[str] | None = None
    ) -> None:
        if level not in LEVELS:
            raise ConfigError(f"tagger {self.name!r}: level must be one of {sorted(LEVELS)}, got {level!r}")
        self.level = level
        super().__init__(model_path)
        known = [_strip_prefix(label) for label in self.model.labels]
        if isinstance(labels, str):
            labels = [labels]
        self.labels = [_strip_prefix(label) for label in labels] if labels else None
        unknown = sorted(set(self.labels or ()) - set(known))
        if unknown:
            raise ConfigError(f"tagger {self.name!r}: labels {unknown} are not in the model, which has {known}")

    def score(self, prediction: Prediction) -> list[tuple[str, float]]:
        scores = [(_strip_prefix(label), prob) for label, prob in prediction]
        if self.labels is None or not scores:
            return scores
        found = dict(scores)
        return [(label, found.get(label, 0.0)) for label in self.labels]
