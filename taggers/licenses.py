"""Creative Commons license links in a document's HTML (`metadata.html`), as dolma's `cc_re` and `cc_re_fast`.

Both are meant as WARC pre-taggers. Each match is one document-level span keyed `cc_<license>`; the i-th match
(from 0) scores `0.5 + 0.5 / (i + 1)`, so repeated licenses lower the confidence, as in dolma.
The patterns are dkpro-c4corpus's basic and fast license detectors, in dolma's wording (`regex` syntax).
"""

from __future__ import annotations

from typing import ClassVar

import regex

from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.errors import DolmaError
from taggers.base import DocumentTagger
from taggers.registry import register

_PRE_SEARCH = ("creativecommons.org/licenses", "creativecommons.org/publicdomain")
_TYPE = "by(-nc)?(-nd)?(-sa)?"
_VERSION = r"\d+\.\d+"
_LANG = r"\w{2}"


@register("cc_re")
class CreativeCommonsTagger(DocumentTagger):
    """Creative Commons licenses linked from `<a>`/`<meta>` tags of `metadata.html`: `cc_<type>[_<ver>][_<lang>]`."""

    pattern: ClassVar[regex.Pattern[str]] = regex.compile(
        "<(a|A|meta)\\s[\\w\\p{Punct}\\s=]*\n*(href|HREF|content)"
        "=('|\"|&quot;)?http(s*)://creativecommons\\.org/"
        f"((licenses/(?P<type>{_TYPE}))|(?P<type>publicdomain/(zero|certification|mark)))"
        f"(?P<version>/{_VERSION})?"
        f"((/{_LANG})?/((deed|legalcode)\\.)?(?P<lang>{_LANG}))?.*?('|\"|&quot;).*?>"
    )

    def tag(self, doc: Document) -> TaggerOutput:
        html = doc.metadata.get("html")
        if html is None:
            raise DolmaError(f"tagger {self.name!r}: document {doc.id!r} has no metadata.html")
        out: TaggerOutput = {}
        if not any(marker in html for marker in _PRE_SEARCH):
            return out
        groups = self.pattern.groupindex
        for index, match in enumerate(self.pattern.finditer(html)):
            license_name = match.group("type")
            if "version" in groups and (version := match.group("version")) is not None:
                license_name += f"_{version.strip('/')}"
            if "lang" in groups and (lang := match.group("lang")) is not None:
                license_name += f"_{lang}"
            out.setdefault(f"cc_{license_name}", []).append(Span(0, len(doc.text), 0.5 + 0.5 / (index + 1.0)))
        return out


@register("cc_re_fast")
class CreativeCommonsFastTagger(CreativeCommonsTagger):
    """Creative Commons license URLs anywhere in `metadata.html` (faster pattern): `cc_<type>`."""

    pattern = regex.compile(
        "http[s]?://creativecommons\\.org/licenses/"
        '(?P<type>by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd|publicdomain)["/ >]'
    )
