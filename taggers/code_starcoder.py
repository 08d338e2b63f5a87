"""dolma's StarCoder code taggers: XML header, GitHub stars, natural-language share and HTML visible-text share.

`code_starcoder_taggers_v1` and `_v2` read `metadata.ext` (mapped to a language by dolma's extension table,
`data/ext_to_lang_mapping.json`) and `metadata.max_stars_count`. The natural-language share is BigCode's: for Python,
docstrings (`ast`) plus comments (`tokenize`) over the text length; for other languages, Pygments' single- and
multi-line comment tokens over the text length. Error values (-1) and the middle value 0.5 follow dolma.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from functools import cache
from pathlib import Path
from typing import Any

from dolma_py.data import Document, TaggerOutput
from dolma_py.errors import DolmaError
from taggers.base import DocumentTagger, document_span
from taggers.registry import register

EXT_TO_LANG = Path(__file__).parent / "data" / "ext_to_lang_mapping.json"
_DOCSTRING_NODES = {ast.ClassDef: "Class", ast.FunctionDef: "Function/Method", ast.Module: "Module"}
_RATIO_LANGUAGES = ("python", "java", "javascript")


@cache
def ext_to_lang() -> dict[str, str]:
    """dolma's file-extension -> language table."""
    return json.loads(EXT_TO_LANG.read_text())


def _modules() -> tuple[Any, Any, Any]:
    try:
        import pygments
        import pygments.lexers
        import pygments.token
        from bs4 import BeautifulSoup
    except ImportError as err:
        raise DolmaError(
            "StarCoder code taggers need Pygments and BeautifulSoup: pip install 'Pygments==2.21.0' "
            "'beautifulsoup4==4.15.0'"
        ) from err
    return pygments, pygments.lexers, BeautifulSoup


def python_docstrings(source: str) -> str:
    """Docstrings of the module, its classes and functions, ordered by kind then name; '' if it does not parse."""
    try:
        found = [
            (_DOCSTRING_NODES[type(node)], getattr(node, "name", None), ast.get_docstring(node))
            for node in ast.walk(ast.parse(source))
            if type(node) in _DOCSTRING_NODES
        ]
        found.sort(key=lambda item: (item[0], item[1]))
    except Exception:  # BigCode's extraction gives up on any failure
        return ""
    return "\n".join(docstring for _, _, docstring in found if docstring)


def python_comments(source: str) -> str:
    """Comment tokens put back together by `tokenize.untokenize`, without `#`; '' if it does not tokenize."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        comments = [(kind, value) for kind, value, *_ in tokens if kind == tokenize.COMMENT]
        return tokenize.untokenize(comments).replace("#", "")
    except Exception:  # BigCode's extraction gives up on any failure
        return ""


class StarCoderTagger(DocumentTagger):
    """Shared parts: language lookup, comment share and the HTML visible-text share."""

    def __init__(self) -> None:
        self._pygments, self._lexers, self._soup = _modules()
        self.ext_to_lang = ext_to_lang()

    def nl_ratio(self, text: str, language: str) -> float:
        """Share of the text that is natural language (docstrings and comments); raises for an empty text."""
        if language == "python":
            natural = (python_docstrings(text) + "\n" + python_comments(text)).strip()
            return len(natural) / len(text)
        comment = self._pygments.token.Comment
        tokens = self._pygments.lex(text, self._lexers.get_lexer_by_name(language))
        size = sum(len(value) for kind, value in tokens if kind == comment.Multiline or kind == comment.Single)
        return size / len(text)

    def html_text_ratio(self, html: str) -> float:
        """Visible text (no script/style) over the HTML length; 0 when the text is 100 characters or fewer."""
        try:
            soup = self._soup(html, features="html.parser")
        except (TypeError, UnboundLocalError):
            return 0.0
        for element in soup(["script", "style"]):
            element.extract()
        text = soup.get_text()
        return (len(text) / len(html)) * (len(text) > 100)

    def common(self, doc: Document) -> TaggerOutput:
        stars = doc.metadata.get("max_stars_count", 0) or 0
        return {
            "has_xml_template_doc": document_span(doc, 1.0 if "<?xml version=" in doc.text[:100] else 0.0),
            "num_github_stars_doc": document_span(doc, float(stars)),
        }


@register("code_starcoder_taggers_v1")
class CodeStarCoderTagger(StarCoderTagger):
    """StarCoder filters: `has_xml_template_doc`, `num_github_stars_doc`, `nl_ratio_doc`, `code_to_text_ratio_html_doc`.

    dolma's table maps `metadata.ext` to a language; any failure (unknown extension or lexer, empty text) scores -1.
    """

    def tag(self, doc: Document) -> TaggerOutput:
        try:
            language = self.ext_to_lang[doc.metadata.get("ext", "-no-lang")]
            nl_ratio = self.nl_ratio(doc.text, language)
            html_ratio = self.html_text_ratio(doc.text) if language == "html" else 1.0
        except Exception:  # as dolma: any failure scores -1
            nl_ratio = html_ratio = -1.0
        out = self.common(doc)
        out["nl_ratio_doc"] = document_span(doc, nl_ratio)
        out["code_to_text_ratio_html_doc"] = document_span(doc, html_ratio)
        return out


@register("code_starcoder_taggers_v2")
class CodeStarCoderTaggerV2(StarCoderTagger):
    """StarCoder filters, v2: comment share only for Python/Java/JavaScript (`code_to_comment_ratio_doc`, else 0.5)."""

    def tag(self, doc: Document) -> TaggerOutput:
        language = self.ext_to_lang.get(doc.metadata.get("ext", "-no-lang"), "-no-lang")
        if language in _RATIO_LANGUAGES:
            if not doc.text:
                raise DolmaError(f"document {doc.id!r}: empty {language} file (dolma fails on it too)")
            comment_ratio = self.nl_ratio(doc.text, language)
        else:
            comment_ratio = 0.5  # dolma: between the upper and lower filter bounds
        if language == "html":
            try:
                html_ratio = self.html_text_ratio(doc.text)
            except Exception:  # dolma scores any failure (e.g. an empty page) -1
                html_ratio = -1.0
        else:
            html_ratio = 1.0
        out = self.common(doc)
        out["code_to_comment_ratio_doc"] = document_span(doc, comment_ratio)
        out["code_to_text_ratio_html_doc"] = document_span(doc, html_ratio)
        return out
