"""HTML to text, with dolma 1.2.1's two linearizers and their default options."""

from __future__ import annotations

import logging
from typing import Protocol

LINEARIZERS = ("resiliparse", "trafilatura")


class Linearizer(Protocol):
    def linearize(self, html: str) -> str:
        """The text of one decoded HTML page."""


class ResiliparseLinearizer:
    """resiliparse's `extract_plain_text` with dolma's options: formatting kept, main content only, list bullets,
    comments kept, no alt texts, links, form fields or noscript."""

    def __init__(self) -> None:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        self._extract = extract_plain_text
        self._parse = HTMLTree.parse

    def linearize(self, html: str) -> str:
        return self._extract(
            html=self._parse(html),
            preserve_formatting=True,
            main_content=True,
            list_bullets=True,
            alt_texts=False,
            links=False,
            form_fields=False,
            noscript=False,
            comments=True,
            skip_elements=None,
        )


class TrafilaturaLinearizer:
    """`trafilatura.extract` as plain text with dolma's options; its caches are reset every 10,000 pages, as
    trafilatura advises to bound memory."""

    FLUSH_AFTER = 10_000

    def __init__(self) -> None:
        import trafilatura
        import trafilatura.meta

        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
        self._trafilatura = trafilatura
        self._counter = 0

    def linearize(self, html: str) -> str:
        output = self._trafilatura.extract(
            filecontent=html,
            output_format="txt",
            include_comments=False,
            include_links=False,
            include_tables=False,
            no_fallback=False,
            favor_precision=False,
            favor_recall=False,
            include_formatting=False,
        )
        if self._counter >= self.FLUSH_AFTER:
            self._trafilatura.meta.reset_caches()
            self._counter = 0
        self._counter += 1
        return output or ""


def make_linearizer(name: str) -> Linearizer:
    """The linearizer called `name` in dolma's config."""
    if name == "resiliparse":
        return ResiliparseLinearizer()
    if name == "trafilatura":
        return TrafilaturaLinearizer()
    raise ValueError(f"unknown linearizer {name!r}; choose one of {', '.join(LINEARIZERS)}")
