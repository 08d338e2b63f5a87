"""Language-ID taggers under dolma 1.2.1's names and keys: cld2, cld3, langdetect and lingua.

Every tagger scores the whole document or each non-blank paragraph (newline included) and writes one key per
language code with its score; the `_en_` variants keep only `en` (0.0 when the detector did not name English) and
most add `not_<lang>` = 1 - score; the `_with_doc_score_` variants add `doc_en`/`doc_not_en`, the paragraph `en`
scores weighted by length. Detectors are optional packages, imported when a tagger is built and shared by all
taggers of a process.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any, ClassVar

import regex

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import DolmaError
from taggers.base import BaseTagger
from taggers.length import split_paragraphs
from taggers.registry import register

Prediction = list[tuple[str, float]]
"""A detector's answer for one text: (language code, score) pairs."""


def require(module: str, requirement: str, tagger: str) -> ModuleType:
    """Import an optional detector package, or fail naming the package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DolmaError(f"tagger {tagger!r} needs the package {requirement}: pip install '{requirement}'") from err


def english_only(prediction: Prediction) -> Prediction:
    """dolma's English filter: the `en` pairs, or `en` 0.0 when there is none."""
    return [(lang, score) for lang, score in prediction if lang == "en"] or [("en", 0.0)]


def above_one_percent(prediction: Prediction) -> Prediction:
    """dolma's `_1e2` filter: languages scoring above 0.01, scores rounded to 2 decimals."""
    return [(lang, round(score, 2)) for lang, score in prediction if score > 0.01]


class LanguageTagger(BaseTagger):
    """dolma's `BaseLanguageTagger` over a batch: all units (documents or paragraphs) are predicted together."""

    on_paragraphs: ClassVar[bool] = False
    include_negative: ClassVar[bool] = False
    only_english: ClassVar[bool] = False
    min_score_filter: ClassVar[bool] = False
    with_doc_score: ClassVar[bool] = False

    def predict_text(self, text: str) -> Prediction:
        """The detector's (language, score) pairs for one text; engines define this or `predict_texts`."""
        raise NotImplementedError

    def predict_texts(self, texts: list[str]) -> list[Prediction]:
        """The detector's (language, score) pairs for each text (one at a time unless the engine batches)."""
        return [self.predict_text(text) for text in texts]

    def units(self, text: str) -> list[tuple[int, int]]:
        """The scored ranges of one document: the whole text, or its non-blank paragraphs."""
        return split_paragraphs(text) if self.on_paragraphs else [(0, len(text))]

    def filtered(self, prediction: Prediction) -> Prediction:
        if self.min_score_filter:
            prediction = above_one_percent(prediction)
        return english_only(prediction) if self.only_english else prediction

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        units = [self.units(doc.text) for doc in docs]
        texts = [doc.text[start:end] for doc, bounds in zip(docs, units, strict=True) for start, end in bounds]
        predictions = iter(self.predict_texts(texts))
        return [
            self.document_output(doc, [(start, end, self.filtered(next(predictions))) for start, end in bounds])
            for doc, bounds in zip(docs, units, strict=True)
        ]

    def document_output(self, doc: Document, scored: list[tuple[int, int, Prediction]]) -> TaggerOutput:
        """Spans keyed by language, then the negatives, then the document score, in dolma's order."""
        spans = [(lang, Span(start, end, score)) for start, end, prediction in scored for lang, score in prediction]
        if self.include_negative:
            spans += [(f"not_{lang}", Span(s.start, s.end, 1.0 - s.score)) for lang, s in spans]
        out: TaggerOutput = {}
        for key, span in spans:
            out.setdefault(key, []).append(span)
        if self.with_doc_score:
            length = len(doc.text)
            doc_en = sum((s.end - s.start) * s.score for s in out.get("en", [])) / length if length else 0.0
            out["doc_en"] = [Span(0, length, doc_en)]
            out["doc_not_en"] = [Span(0, length, 1.0 - doc_en if length else 0.0)]
        return out


class Cld2Tagger(LanguageTagger):
    """CLD2 (pycld2) on the text, else on its ASCII transliteration, else on it without control characters."""

    BAD_CHARS = regex.compile(r"[\p{Cc}\p{Cs}]+")

    def __init__(self) -> None:
        self.cld2 = require("pycld2", "pycld2==0.42", self.name)
        anyascii = require("anyascii", "anyascii==0.3.3", self.name).anyascii
        self.attempts = (lambda text: text, anyascii, lambda text: self.BAD_CHARS.sub("", text))

    def predict_text(self, text: str) -> Prediction:
        """dolma's codes are the first two letters of CLD2's language *name* ("GERMAN" -> "ge"), scored by the
        percent of text in it; nothing unless CLD2 calls the result reliable."""
        details: Sequence[Any] = ()
        is_reliable = False
        for prepare in self.attempts:
            try:
                is_reliable, _, details = self.cld2.detect(prepare(text))
                break
            except self.cld2.error:
                continue
        return [(d[0][:2].lower(), d[2] / 100.0) for d in details if d[0] != "UNKNOWN_LANGUAGE" and is_reliable]


@register("cld2_doc_v2")
class Cld2DocTagger(Cld2Tagger):
    """CLD2 per document: one key per language (first two letters of its name), scored by percent of text."""


@register("cld2_paragraph_v2")
class Cld2ParagraphTagger(Cld2Tagger):
    """CLD2 per paragraph: one key per language."""

    on_paragraphs = True


@register("cld2_en_doc_v2")
class Cld2EnglishDocTagger(Cld2Tagger):
    """CLD2 English score per document: keys `en` and `not_en`."""

    only_english = True
    include_negative = True


@register("cld2_en_paragraph_v2")
class Cld2EnglishParagraphTagger(Cld2EnglishDocTagger):
    """CLD2 English score per paragraph: keys `en` and `not_en`."""

    on_paragraphs = True


@register("cld2_en_paragraph_with_doc_score_v2")
class Cld2EnglishParagraphDocScoreTagger(Cld2EnglishParagraphTagger):
    """CLD2 per-paragraph `en`/`not_en` plus `doc_en`/`doc_not_en`, the paragraph scores weighted by length."""

    with_doc_score = True


class Cld3Tagger(LanguageTagger):
    """CLD3 English probability (0.0 when CLD3 names another language), through the `gcld3` module of cld3-py.

    dolma calls pycld3's `get_language`, a `NNetLanguageIdentifier(0, 1024)` that answers None for an empty text
    or an undetermined language, where dolma then crashes; here those score `en` 0.0.
    """

    include_negative = True

    def __init__(self) -> None:
        gcld3 = require("gcld3", "cld3-py==3.1.0", self.name)
        self.identifier = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1024)

    def predict_text(self, text: str) -> Prediction:
        """`en` with CLD3's probability when English is the most likely language, else 0.0."""
        result = self.identifier.FindLanguage(text=text) if text else None
        return [("en", float(result.probability) if result is not None and result.language == "en" else 0.0)]


@register("cld3_en_doc_v2")
class Cld3EnglishDocTagger(Cld3Tagger):
    """CLD3 English score per document: keys `en` and `not_en`."""


@register("cld3_en_paragraph_v2")
class Cld3EnglishParagraphTagger(Cld3Tagger):
    """CLD3 English score per paragraph: keys `en` and `not_en`."""

    on_paragraphs = True


@register("cld3_en_paragraph_with_doc_score_v2")
class Cld3EnglishParagraphDocScoreTagger(Cld3EnglishParagraphTagger):
    """CLD3 per-paragraph `en`/`not_en` plus `doc_en`/`doc_not_en`, the paragraph scores weighted by length."""

    with_doc_score = True


@functools.cache
def langdetect_factory() -> Any:
    """langdetect's detector factory with its bundled profiles and seed 0, loaded once per process."""
    from langdetect import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


class LangdetectTagger(LanguageTagger):
    """langdetect with its bundled profiles and seed 0, as dolma sets it up, so scores are deterministic."""

    def __init__(self) -> None:
        langdetect = require("langdetect", "langdetect==1.0.9", self.name)
        self.detector = langdetect_factory().create()
        self.error = langdetect.LangDetectException

    def predict_text(self, text: str) -> Prediction:
        """Every language langdetect reports, with its probability; nothing for a text without features."""
        try:
            self.detector.append(text)
            return [(str(r.lang.strip().lower()), float(r.prob)) for r in self.detector.get_probabilities()]
        except self.error:
            return []
        finally:
            self.detector.text = ""
            self.detector.langprob = None


@register("langdetect_doc_v1")
class LangdetectDocTagger(LangdetectTagger):
    """langdetect per document: one key per language, scored by probability."""


@register("langdetect_paragraph_v1")
class LangdetectParagraphTagger(LangdetectTagger):
    """langdetect per paragraph: one key per language."""

    on_paragraphs = True


@register("langdetect_doc_en_v1")
class LangdetectEnglishDocTagger(LangdetectTagger):
    """langdetect English score per document: keys `en` and `not_en`."""

    only_english = True
    include_negative = True


@register("langdetect_en_paragraph_v1")
class LangdetectEnglishParagraphTagger(LangdetectEnglishDocTagger):
    """langdetect English score per paragraph: keys `en` and `not_en`."""

    on_paragraphs = True


@functools.cache
def lingua_detector() -> Any:
    """A lingua detector over all its languages, built once per process (its models load on first use)."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*Language.all()).build()


class LinguaTagger(LanguageTagger):
    """lingua over all its languages (ISO 639-1 codes), the detector built once per process."""

    def __init__(self) -> None:
        require("lingua", "lingua-language-detector==2.1.1", self.name)
        self.detector = lingua_detector()

    def predict_texts(self, texts: list[str]) -> list[Prediction]:
        """Every language's confidence, highest first; equal ones (lingua orders them differently from run to run)
        by code, so attribute files are byte-identical across runs."""
        values = self.detector.compute_language_confidence_values_in_parallel(texts)
        return [
            sorted(((v.language.iso_code_639_1.name.lower(), float(v.value)) for v in row), key=lambda p: (-p[1], p[0]))
            for row in values
        ]


@register("lingua_doc_v1")
class LinguaDocTagger(LinguaTagger):
    """lingua per document: one key per language (all of them), scored by confidence."""


@register("lingua_1e2")
class LinguaMinScoreTagger(LinguaTagger):
    """lingua per document: languages above 0.01, scores rounded to 2 decimals."""

    min_score_filter = True


@register("lingua_par_v1")
class LinguaParagraphTagger(LinguaTagger):
    """lingua per paragraph: one key per language."""

    on_paragraphs = True


@register("lingua_doc_en_v1")
class LinguaEnglishDocTagger(LinguaTagger):
    """lingua English score per document: keys `en` and `not_en`."""

    only_english = True
    include_negative = True


@register("lingua_en_only_v1")
class LinguaEnglishOnlyTagger(LinguaTagger):
    """lingua English score per document: key `en` only."""

    only_english = True


@register("lingua_en_par_v1")
class LinguaEnglishParagraphTagger(LinguaEnglishDocTagger):
    """lingua English score per paragraph: keys `en` and `not_en`."""

    on_paragraphs = True
