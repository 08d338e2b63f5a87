"""dolma's `metadata.url`: the target URI cleaned, canonicalized (w3lib), normalized (url-normalize), without its
scheme, a leading `www.`/`wwwN.` and trailing slashes, exactly as dolma 1.2.1's `UrlNormalizer`."""

from __future__ import annotations

import re
from functools import lru_cache

_EDGES = re.compile(r"(^['\"<]+)|([/'\">]+$)")
_WWW = re.compile(r"(^(www\d*\.))|(/+$)", re.IGNORECASE)


@lru_cache(maxsize=65536)
def normalize_url(url: str) -> str:
    """The normalized form dolma writes as `metadata.url` (cached: crawls repeat URLs across revisits)."""
    from url_normalize import url_normalize
    from w3lib.url import canonicalize_url

    clean = _EDGES.sub("", url)
    normalized = str(url_normalize(canonicalize_url(clean)))
    _, normalized = normalized.split("://", 1)
    return _WWW.sub("", normalized)
