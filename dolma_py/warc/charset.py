"""dolma's charset decision: the HTTP header's charset first, then detection; the result is stripped.

dolma 1.2.1 detects with `charset_normalizer.detect`, which dominates its time on pages without a header charset.
Two cases are decided here without it, where detection cannot give another string: a body of pure ASCII, and a
body that is valid UTF-8, when neither carries a BOM or declares (in the first 8 KiB, which charset_normalizer
searches first) an encoding that is not ASCII-compatible or not UTF-8. Everything else goes to `detect` itself.
Where dolma crashes its whole file (an unknown header charset, a detected codec that cannot decode), the record
is retried by detection or counted as undecodable instead.
"""

from __future__ import annotations

import codecs

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
_ASCII_DECLARED = frozenset(("ascii", "utf_8"))
"""Declared encodings under which an ASCII body decodes to itself and detection answers in kind."""


def _declared(content: bytes) -> str | None:
    from charset_normalizer.utils import any_specified_encoding

    return any_specified_encoding(content)


def _obvious(content: bytes) -> str | None:
    """The decoded text where detection is certain to agree (ASCII or undeclared UTF-8), else None."""
    if content.startswith(_BOMS):
        return None
    if content.isascii():
        declared = _declared(content)
        if declared is None or declared in _ASCII_DECLARED or declared.startswith(("iso8859", "cp125", "latin")):
            return content.decode("ascii")
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _declared(content) in (None, "utf_8") else None


def _detected(content: bytes) -> str:
    from charset_normalizer import detect

    encoding = detect(content)["encoding"]
    if not encoding:
        return ""
    try:
        return content.decode(str(encoding))
    except (UnicodeDecodeError, LookupError):
        return ""


def decode_body(content: bytes, http_charset: str | None) -> str:
    """The body as dolma decodes it, stripped; "" when it is empty or undecodable in any charset."""
    if http_charset:
        try:
            text = content.decode(http_charset).strip()
        except (UnicodeDecodeError, LookupError):
            text = ""
        if text:
            return text
    obvious = _obvious(content)
    if obvious is not None:
        return obvious.strip()
    return _detected(content).strip()
