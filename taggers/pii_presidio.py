"""dolma's `pii_presidio_v1`: emails, phone numbers and IP addresses found by Microsoft Presidio, post-processed.

Spans `EMAIL_ADDRESS`, `PHONE_NUMBER`, `IP_ADDRESS` (score 1) and `doc`, PII spans per word, after dolma's
false-positive rules: an email needs a `.` in its domain and an addressee other than `(`; a phone number or IP with
`isbn`, `doi` or `#` within 100 characters is dropped. Where dolma divides by zero (a text without words) and
crashes the run, `doc` is -1.0, as for our `pii_regex_v1`.
Presidio runs on a spaCy pipeline: dolma uses Presidio's default, `en_core_web_lg`, which spaCy downloads from
GitHub; here the option `model` names an installed pipeline package or a pipeline directory. The three entities
come from Presidio's pattern recognizers; the pipeline supplies tokens and lemmas for its context scoring.
dolma 1.2.1 itself never builds this tagger: its check looks for a module named `presidio-analyzer` (not
`presidio_analyzer`), fails, and raises "Presidio is not available"; this is the tagger that code meant to run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import ConfigError, DolmaError
from taggers.base import DocumentTagger
from taggers.registry import register

DEFAULT_MODEL = "en_core_web_lg"
ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
WINDOW = 100
# dolma's pattern, "\b" (a backspace, not a word boundary) included: it matches almost nothing, so phone numbers
# are almost never dropped for a URL in the text
_URL = re.compile(
    "(?i)\b((?:https?://|www\\d{0,3}[.]|[a-z0-9.\\-]+[.][a-z]{2,4}/)(?:[^\\s()<>]+|\\(([^\\s()<>]+|"
    "(\\([^\\s()<>]+\\)))*\\))+(?:\\(([^\\s()<>]+|(\\([^\\s()<>]+\\)))*\\)|[^\\s`!()\\[\\]"
    "{};:'\".,<>?«»“”‘’]))"
)


def _analyzer(tagger: str, model: str) -> Any:
    """Presidio's analyzer on the spaCy pipeline `model`; fails before any work when either is missing."""
    # Presidio's email check asks tldextract for the public-suffix list: use the copy tldextract ships rather than
    # download one at run time (offline machines, and answers that do not change with the live list)
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError as err:
        raise DolmaError(
            f"tagger {tagger!r} needs Presidio and spaCy: pip install 'presidio-analyzer==2.2.366', plus an English "
            f"spaCy pipeline named by the option 'model' (dolma uses {DEFAULT_MODEL})"
        ) from err
    if not (spacy.util.is_package(model) or Path(model).exists()):
        raise ConfigError(
            f"tagger {tagger!r}: option 'model' is {model!r}, which is neither an installed spaCy pipeline nor a "
            f"directory; install one (dolma uses {DEFAULT_MODEL}) or give a pipeline's path"
        )
    return AnalyzerEngine(nlp_engine=SpacyNlpEngine(models=[{"lang_code": "en", "model_name": model}]))


def keep_span(text: str, kind: str, start: int, end: int) -> bool:
    """dolma's post-processing rules for one Presidio finding."""
    if kind == "EMAIL_ADDRESS":
        addressee, domain = text[start:end].split("@")[:2]
        return addressee.strip() != "(" and "." in domain
    context = text[max(0, start - WINDOW) : min(len(text), end + WINDOW)]
    if "isbn" in context or "doi" in context or "#" in context:
        return False
    return kind == "IP_ADDRESS" or _URL.search(text) is None


@register("pii_presidio_v1")
class PiiPresidioTagger(DocumentTagger):
    """Emails, phone numbers and IPs by Presidio (spaCy pipeline: option `model`); `doc` is PII spans per word."""

    def __init__(self, model: str = DEFAULT_MODEL) -> None:
        self.analyzer = _analyzer(self.name, model)

    def tag(self, doc: Document) -> TaggerOutput:
        text = doc.text
        found = self.analyzer.analyze(text=text, entities=list(ENTITIES), language="en")
        out: TaggerOutput = {}
        kept = 0
        for result in found:
            if keep_span(text, result.entity_type, result.start, result.end):
                out.setdefault(result.entity_type, []).append(Span(result.start, result.end, 1.0))
                kept += 1
        words = len(text.split())
        out["doc"] = [Span(0, len(text), kept / words if words else -1.0)]
        return out
