"""URL/domain blocklist tagger: flags documents whose URL, host or a parent domain is on a list file.

List files (local, s3:// or anything `dolma_py.io` opens; .gz/.zst decompressed by suffix) hold one entry
per line, in the formats dolma's `url.py` taggers read: a domain (`example.com`), a URL
(`https://example.com/some/page`), a hosts-file line (`0.0.0.0 example.com`; the IP itself is also
blocked unless it is a loopback/unspecified address) or an Adblock domain rule (`||example.com^`).
Empty lines and lines starting with `#`, `!` or `;` are skipped. Lines in none of these formats are
skipped with one warning per file; a list with no usable entry is a `ConfigError`.

Matching, case-insensitive and ignoring one leading `www.`: a domain entry blocks that host and all its
subdomains; a URL entry blocks exactly that `host[:port]/path` (any scheme, query and fragment ignored,
trailing `/` ignored), as dolma's `link_blocklist_*` taggers do.

Output follows dolma: key `url` -> `[[0, len(text), 1.0]]` when blocked, no key at all otherwise.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dolma_py.data import Document, TaggerOutput
from dolma_py.errors import ConfigError, DataError
from dolma_py.io.documents import open_read
from taggers.base import DocumentTagger, document_span
from taggers.registry import register

LOGGER = logging.getLogger(__name__)

_COMMENT_PREFIXES = ("#", "!", ";")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HOST = re.compile(r"^[\w-]+(?:\.[\w-]+)*\.?$")
_ADBLOCK_DOMAIN = re.compile(r"^\|\|([^/^$|]+)\^")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "localdomain", "local", "broadcasthost"})


@dataclass(frozen=True, slots=True)
class NormalizedUrl:
    """A URL reduced to what blocklists match on: host without `www.`, port and path, all lower-case."""

    host: str
    port: int | None
    path: str

    @classmethod
    def parse(cls, url: str) -> NormalizedUrl | None:
        """None when `url` has no usable host (empty, malformed port, ...)."""
        url = url.strip()
        if not url:
            return None
        try:
            parts = urlsplit(url if _SCHEME.match(url) else "//" + url)
            port = parts.port
        except ValueError:
            return None
        host = (parts.hostname or "").rstrip(".")
        if not host:
            return None
        if host.startswith("www."):
            host = host[4:]
        return cls(host, port, parts.path.rstrip("/").lower())

    @property
    def link(self) -> str:
        """`host[:port]/path`, the key URL entries are stored under."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.host}{port}{self.path}"

    def host_and_parents(self) -> Iterator[str]:
        """The host, then each parent domain (`a.b.c` -> `a.b.c`, `b.c`, `c`); an IP only as itself."""
        host = self.host
        yield host
        if _is_ip(host):
            return
        while "." in host:
            host = host.split(".", 1)[1]
            yield host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_local_ip(text: str) -> bool:
    address = ipaddress.ip_address(text)
    return address.is_loopback or address.is_unspecified


class Blocklist:
    """Domain and link entries parsed from one or more list files."""

    def __init__(self) -> None:
        self.domains: set[str] = set()
        self.links: set[str] = set()

    def __len__(self) -> int:
        return len(self.domains) + len(self.links)

    def add_line(self, line: str) -> bool:
        """Add the entries of one list line; False if the line is in no known format."""
        line = line.strip()
        if not line or line.startswith(_COMMENT_PREFIXES):
            return True
        if match := _ADBLOCK_DOMAIN.match(line):
            return self._add_entry(match.group(1))
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and _is_ip(fields[0]):
            if not _is_local_ip(fields[0]):
                self.domains.add(fields[0].lower())
            added = [self._add_entry(name) for name in fields[1:] if name.lower() not in _LOCAL_NAMES]
            return all(added)
        return len(fields) == 1 and self._add_entry(fields[0])

    def _add_entry(self, entry: str) -> bool:
        url = NormalizedUrl.parse(entry)
        if url is None or not (_HOST.match(url.host) or _is_ip(url.host)):
            return False
        if url.path or url.port is not None:
            self.links.add(url.link)
        else:
            self.domains.add(url.host)
        return True

    def blocks(self, url: NormalizedUrl) -> bool:
        """Whether the exact link, the host or one of its parent domains is listed."""
        if url.link in self.links:
            return True
        return any(name in self.domains for name in url.host_and_parents())


def _list_lines(path: str) -> Iterator[tuple[int, str]]:
    """(1-based number, text) of each line of a list file (local or s3://, decompressed by suffix)."""
    with open_read(path) as stream:
        for number, raw in enumerate(stream, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(path, number, f"blocklist line is not UTF-8 ({err})") from None


def parse_list_files(paths: Sequence[str], add_line: Callable[[str], bool]) -> None:
    """Feed each line of each list file to `add_line`; lines it rejects (False) are counted in one warning per file.

    Shared by every list tagger, so all read local, s3:// and compressed lists the same way.
    """
    for path in paths:
        bad_lines = 0
        first_bad = ""
        for number, line in _list_lines(path):
            if not add_line(line):
                bad_lines += 1
                first_bad = first_bad or f"{path}:{number}: {line.strip()[:200]!r}"
        if bad_lines:
            LOGGER.warning("skipped %d unparseable blocklist lines; first at %s", bad_lines, first_bad)


def load_blocklist(paths: Sequence[str]) -> Blocklist:
    """Parse every list file; raises `ConfigError` if together they hold no entry."""
    blocklist = Blocklist()
    parse_list_files(paths, blocklist.add_line)
    if not len(blocklist):
        raise ConfigError(f"blocklist {list(paths)} has no usable entries")
    return blocklist


def _lookup_field(doc: Document, field: str) -> Any:
    """Value of a dotted document field (`metadata.url`, `id`, `source`, or any key of the raw JSON)."""
    head, *rest = field.split(".")
    roots = {"id": doc.id, "text": doc.text, "source": doc.source, "metadata": doc.metadata}
    value = roots[head] if head in roots else doc.raw.get(head)
    for key in rest:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@register("url_blocklist_v1")
class UrlBlocklistTagger(DocumentTagger):
    """Flags documents whose URL (`metadata.url`, else a URL-like `id`) is on a domain/URL blocklist file.

    Options: `blocklist_path` (one path or a list of paths), `url_field` (dotted document field,
    default `metadata.url`).
    """

    def __init__(self, blocklist_path: str | Sequence[str], url_field: str = "metadata.url") -> None:
        paths = [blocklist_path] if isinstance(blocklist_path, str) else list(blocklist_path)
        if not paths:
            raise ConfigError("option 'blocklist_path' must name at least one list file")
        self.url_field = url_field
        self.blocklist = load_blocklist(paths)

    def document_url(self, doc: Document) -> str:
        """The URL to check: the configured field, else the id when it looks like a URL, else ''."""
        value = _lookup_field(doc, self.url_field)
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"document {doc.id!r}: field {self.url_field!r} must be a string, got {type(value).__name__}"
            )
        if value and value.strip():
            return value
        if _SCHEME.match(doc.id) or doc.id.lower().startswith("www."):
            return doc.id
        return ""

    def tag(self, doc: Document) -> TaggerOutput:
        url = NormalizedUrl.parse(self.document_url(doc))
        if url is not None and self.blocklist.blocks(url):
            return {"url": document_span(doc, 1.0)}
        return {}
