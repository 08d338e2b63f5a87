"""dolma's `metadata.url`: the target URI cleaned, canonicalized (w3lib), normalized (url-normalize), without its
scheme, a leading `www.`/`wwwN.` and trailing slashes, exactly as dolma 1.2.1's `UrlNormalizer`.

w3lib and url-normalize cost more than a third of a page's time. For the common plain shape (http or https, an
ASCII host of letters, digits and inner hyphens without a port or punycode, a path of letters, digits, `.`, `_`,
`-` and single slashes, no dot segments, no fragment, and a query, if any, of `key=value` pairs in those
characters) both only lowercase the host, keep the path and sort the query's pairs, so the result is built
directly; every other URL goes through w3lib and url-normalize.
"""

from __future__ import annotations

import re
from functools import lru_cache

_EDGES = re.compile(r"(^['\"<]+)|([/'\">]+$)")
_WWW = re.compile(r"(^(www\d*\.))|(/+$)", re.IGNORECASE)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PAIR = r"[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]+"
_PLAIN = re.compile(
    rf"https?://({_LABEL}(?:\.{_LABEL})*)((?:/[A-Za-z0-9_.-]+)*/?)(?:\?({_PAIR}(?:&{_PAIR})*))?\Z", re.ASCII
)
_DOT_SEGMENT = re.compile(r"/\.{1,2}(?:/|\Z)")


def _plain(clean: str) -> str | None:
    """The normalized form of a plain URL (see the module docstring), or None when it is not one."""
    match = _PLAIN.match(clean)
    if match is None:
        return None
    host, path, query = match.groups()
    if "xn--" in host.lower() or _DOT_SEGMENT.search(path) or host[-1].isdigit():
        return None
    if query is None:
        return _WWW.sub("", host.lower() + (path or "/"))
    pairs = sorted(tuple(pair.split("=")) for pair in query.split("&"))
    return _WWW.sub("", f"{host.lower()}{path or '/'}?{'&'.join(f'{k}={v}' for k, v in pairs)}")


@lru_cache(maxsize=65536)
def normalize_url(url: str) -> str:
    """The normalized form dolma writes as `metadata.url` (cached: crawls repeat URLs across revisits)."""
    clean = _EDGES.sub("", url)
    plain = _plain(clean)
    if plain is not None:
        return plain
    from url_normalize import url_normalize
    from w3lib.url import canonicalize_url

    normalized = str(url_normalize(canonicalize_url(clean)))
    _, normalized = normalized.split("://", 1)
    return _WWW.sub("", normalized)


def normalize_url_slowly(url: str) -> str:
    """dolma's own steps for every URL (no plain-URL shortcut): what `normalize_url` must equal."""
    from url_normalize import url_normalize
    from w3lib.url import canonicalize_url

    normalized = str(url_normalize(canonicalize_url(_EDGES.sub("", url))))
    _, normalized = normalized.split("://", 1)
    return _WWW.sub("", normalized)
