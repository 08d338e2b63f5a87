"""dolma's `code_secrets_v1`: secrets (keys, tokens, passwords) found by Yelp's detect-secrets in a code file.

Each secret is a span keyed `SECRET_<detector type>` (spaces as `_`), score 1; `doc` is secrets per
whitespace-separated word (-1 for a text without words). As in dolma, the text is scanned as if it were a file
named `code_str.yml` with detect-secrets' default plugins and filters, and a secret's offset is found by searching
the text for its line's first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import DolmaError
from taggers.base import BaseTagger, document_span
from taggers.registry import register

SCANNED_NAME = "code_str.yml"
"""The file name detect-secrets is told it scans; it picks the plugins' file-type rules, so it is dolma's."""


def _detect_secrets() -> Any:
    try:
        import detect_secrets.core.scan as scan
        from detect_secrets.core.secrets_collection import SecretsCollection
        from detect_secrets.settings import default_settings, get_plugins
    except ImportError as err:
        raise DolmaError("code_secrets_v1 needs detect-secrets: pip install 'detect-secrets==1.4.0'") from err
    return scan, SecretsCollection, default_settings, get_plugins


@register("code_secrets_v1")
class CodeSecretsTagger(BaseTagger):
    """Secrets in code (detect-secrets): spans `SECRET_<type>` and document value `doc` (secrets per word)."""

    def __init__(self) -> None:
        self._scan, self._collection, self._settings, self._plugins = _detect_secrets()

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        with self._settings():
            return [self._tag(doc) for doc in docs]

    def _secrets(self, text: str) -> Any:
        """detect-secrets' findings, deduplicated and ordered by line, hash and type as its collection does."""
        collection = self._collection()
        if self._plugins():
            lines = list(enumerate(text.splitlines(), start=1))
            for secret in self._scan._process_line_based_plugins(lines=lines, filename=SCANNED_NAME):
                collection[SCANNED_NAME].add(secret)
        return collection

    def _tag(self, doc: Document) -> TaggerOutput:
        text = doc.text
        lines = text.splitlines()
        out: TaggerOutput = {}
        found = 0
        for _, secret in self._secrets(text):
            value = secret.secret_value or ""
            line = lines[secret.line_number - 1]
            start = text.find(line) + line.find(value)
            end = start + len(value)
            if text[start:end] != value:
                raise DolmaError(f"document {doc.id!r}: cannot locate a {secret.type} secret in line {line!r}")
            out.setdefault("SECRET_" + secret.type.replace(" ", "_"), []).append(Span(start, end, 1.0))
            found += 1
        words = len(text.split())
        out["doc"] = document_span(doc, found / words if words else -1.0)
        return out
