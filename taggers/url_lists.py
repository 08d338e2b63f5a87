"""dolma's URL/domain list taggers (`dolma.taggers.url`): blocklists, adblock-plus lists and the wikidata allowlist.

dolma downloads each list from a fixed URL when the tagger is built; here the option `blocklist_path` (one path or a
list; local, s3://, .gz/.zst by suffix) names local copies of those files, whose URLs are in each class's `urls`.
Lines are parsed, and `metadata.url` is normalised with urllib3's `parse_url`, exactly as dolma does, quirks
included: hosts-file IPs (even 0.0.0.0) are kept as entries, domain taggers strip leading `w` and `.` characters
(`str.lstrip("www.")`), and the wikidata allowlists also match on the last two labels of a host.
Output, as in dolma: key `url` -> `[[0, len(text), 1.0]]` when the URL is listed, nothing otherwise.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from dolma_py.data import Document, TaggerOutput
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.io.storage import exists
from taggers.base import DocumentTagger, document_span
from taggers.blocklist import parse_list_files
from taggers.registry import register

ARTIFACTS = "https://dolma-artifacts.org"
_URL = r"(([a-z0-9\-_]+\.?){2,}|localhost|localdomain)"
_IP_AND_URL = re.compile(rf"([0-9a-f\.\:]+)\s+{_URL}")
_ONLY_URL = re.compile(f"^{_URL}")
_ADP_FORMAT = re.compile(rf"\|+{_URL}\^")


class UrlNotParsed(ValueError):
    """A list line in none of the formats dolma reads; dolma logs and skips it."""


def _is_ip(text: str) -> bool:
    """IPv6 or IPv4, as `socket.inet_pton` accepts them (dolma's check)."""
    for family in (socket.AF_INET6, socket.AF_INET):
        try:
            socket.inet_pton(family, text)
        except OSError:
            continue
        return True
    return False


def parse_url(url: str) -> Any:
    """urllib3's `parse_url`, or None where urllib3 >= 2 rejects a host (e.g. one holding spaces).

    dolma's pinned urllib3 1.26 keeps such hosts verbatim; an entry or URL with a space in its host matches nothing
    real, so treating it as no URL gives the same answers. (urllib3 2 also decodes %-escaped unreserved characters
    in hosts, `ex%41mple.com` -> `example.com`, which 1.26 leaves as they are.)
    """
    import urllib3.util
    from urllib3.exceptions import LocationParseError

    try:
        return urllib3.util.parse_url(url)
    except LocationParseError:
        return None


def list_paths(tagger: str, urls: Sequence[str], blocklist_path: str | Sequence[str] | None) -> list[str]:
    """The configured list files, each checked to exist; errors name the option and the URL(s) to fetch."""
    wanted = "\n  ".join(urls)
    if not blocklist_path:
        raise ConfigError(
            f"tagger {tagger!r} needs the option 'blocklist_path': local copies of dolma's list files\n  {wanted}"
        )
    paths = [blocklist_path] if isinstance(blocklist_path, str) else list(blocklist_path)
    for index, path in enumerate(paths):
        if not exists(path):
            source = urls[index] if len(paths) == len(urls) else wanted
            raise ConfigError(
                f"tagger {tagger!r}: option 'blocklist_path' names {path!r}, which does not exist; "
                f"download it from\n  {source}"
            )
    return paths


class DolmaUrlTagger(DocumentTagger):
    """dolma's `BaseUrlTagger`: an exact `host[:port]/path` blocklist, checked against `metadata.url`."""

    urls: ClassVar[tuple[str, ...]] = ()

    def __init__(self, blocklist_path: str | Sequence[str] | None = None) -> None:
        paths = list_paths(self.name, self.urls, blocklist_path)
        self.load(paths)

    def load(self, paths: Sequence[str]) -> None:
        """Read the list files into the set of cleaned entries; dolma refuses an empty list."""
        self.blocklist: set[str] = set()
        parse_list_files(paths, self._add_line)
        if not self.blocklist:
            raise ConfigError(f"tagger {self.name!r}: the list files {list(paths)} hold no usable entry")

    def _add_line(self, line: str) -> bool:
        try:
            for entry in self.parse_line(line):
                self.blocklist.add(entry)
        except UrlNotParsed:
            return False
        return True

    def parse_line(self, line: str) -> Iterator[str]:
        """Entries of one list line: hosts-file `IP name`, a bare domain/URL or an adblock `||domain^` rule."""
        line = line.strip().lower()
        if not line or line.startswith(("#", ";", "!")):
            return
        if match := _IP_AND_URL.match(line):
            ip, name = match.group(1), match.group(2)
            if not _is_ip(ip):
                raise UrlNotParsed(line)
            yield ip  # dolma means to skip loopback IPs, but its pattern for them never matches
            if name not in ("localhost", "localdomain"):
                yield from self.clean_url(name)
        elif _ONLY_URL.match(line):
            yield from self.clean_url(line)
        elif match := _ADP_FORMAT.match(line):
            yield match.group(1)
        else:
            raise UrlNotParsed(line)

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        """`host[:port]/path`, lower-case, without scheme, query, fragment or trailing `/`."""
        if url is None or not url.strip():
            return
        parsed = parse_url(url)
        if parsed is None:
            return
        port = f":{parsed.port}" if parsed.port else ""
        yield f"{parsed.host}{port}{parsed.path or ''}".rstrip("/").lower()

    def check_url(self, url: str) -> bool:
        """Whether one cleaned form of the document URL is listed."""
        return url in self.blocklist

    def tag(self, doc: Document) -> TaggerOutput:
        url = doc.metadata.get("url") or ""
        if not isinstance(url, str):
            raise DolmaError(f"document {doc.id!r}: metadata.url must be a string, got {type(url).__name__}")
        for cleaned in self.clean_url(url):
            if self.check_url(cleaned):
                return {"url": document_span(doc, 1.0)}
        return {}


class DolmaDomainTagger(DolmaUrlTagger):
    """dolma's `BaseDomainTagger`: entries and URLs reduced to their host, with and without `www.`."""

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        if url is None or not url.strip():
            return
        for cleaned in super().clean_url(url):
            parsed = parse_url(cleaned)
            if parsed is None or not parsed.host:
                return
            host = parsed.host.lstrip("www.")  # noqa: B005 (dolma strips any leading "w" and "." characters)
            yield host
            yield f"www.{host}"


class DolmaLinkTagger(DolmaUrlTagger):
    """dolma's `LinkBlocklistPhishingTagger`: every non-comment line, lower-cased, is an entry as it stands."""

    def parse_line(self, line: str) -> Iterator[str]:
        line = line.strip().lower()
        if not line.startswith("#"):
            yield line


class DolmaAdblockTagger(DolmaUrlTagger):
    """dolma's `AdbUrlTagger`: adblock-plus rules, matched by Brave's adblock engine (the `adblock` package)."""

    def load(self, paths: Sequence[str]) -> None:
        try:
            import adblock
        except ImportError as err:
            raise DolmaError(f"tagger {self.name!r} needs adblock: pip install 'adblock==0.6.0'") from err
        rules: set[str] = set()

        def add_rule(line: str) -> bool:
            if not line.startswith("!"):
                rules.add(line.strip())
            return True

        parse_list_files(paths, add_rule)
        filter_set = adblock.FilterSet()
        filter_set.add_filters(sorted(rules))
        self.engine = adblock.Engine(filter_set=filter_set)

    def check_url(self, url: str) -> bool:
        parsed = parse_url(url)
        if parsed is not None and parsed.scheme is None:
            url = f"http://{url}"
        return bool(self.engine.check_network_urls(url, "", "").matched)


class DolmaWikidataTagger(DolmaDomainTagger):
    """dolma's `AllowlistWikidataTagger`: hosts from wikidata JSON rows (`[{"url": ...}, ...]`, one list per line)."""

    @staticmethod
    def base_domain(url: str) -> str:
        """The last two dot-separated labels when there are more than three (dolma's rule)."""
        if url.count(".") > 2:
            return ".".join(url.rsplit(".", 2)[1:])
        return url

    @classmethod
    def clean_url(cls, url: str) -> Iterator[str]:
        for cleaned in super().clean_url(url):
            yield cleaned
            yield cls.base_domain(cleaned)

    def parse_line(self, line: str) -> Iterator[str]:
        try:
            rows = json.loads(line)
        except json.JSONDecodeError as err:
            raise ConfigError(f"tagger {self.name!r}: a wikidata list line is not JSON ({err})") from None
        for row in rows:
            try:
                for url in self.clean_url(row["url"]):
                    yield from super().parse_line(url)
            except Exception:  # dolma skips any row it cannot read
                pass

    def check_url(self, url: str) -> bool:
        return any(cleaned in self.blocklist for cleaned in self.clean_url(url))


def _files(folder: str, *names: str) -> tuple[str, ...]:
    """dolma's URLs for list files `names` in one folder of its artifacts site."""
    return tuple(f"{ARTIFACTS}/{folder}/{name}" for name in names)


def _define(name: str, base: type[DolmaUrlTagger], urls: tuple[str, ...], doc: str) -> None:
    """Register one of dolma's list taggers: its base behaviour plus the URLs its list files come from."""
    class_name = "".join(part.title() for part in name.split("_")) + "Tagger"
    cls = type(base)(class_name, (base,), {"urls": urls, "__doc__": doc, "__module__": __name__})
    globals()[class_name] = register(name)(cls)


_PROJECT = "blocklist_project/blocklist_project-20240207"
_FIREBOG = "blocklist_firebog/blocklist_firebog-20240208"
_HOSTS = "blocklist_hosts/blocklist_hosts-20240208"
_OISD = "blocklist_oisd/blocklist_oisd-20240205"
_BRAVE = "blocklist_brave/blocklist_brave-20240206"
_PHISHING = _files("blocklist_phishing_db/blocklist_phishing_db-20240205", "domains.txt.gz")
_WIKIDATA = _files(
    "wikidata/wikidata-20220208", "periodical-Q1002697/response.json", "website-Q35127/response.json"
)

_DOMAIN_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "domain_blocklist_utp_v1": (
        "the Université Toulouse Capitole adult list",
        _files("blocklist_utp/blocklist_utp-20240205", "adult/domains"),
    ),
    "domain_blocklist_phishing_v1": ("the Phishing.Database list", _PHISHING),
    "blocklist_project_nsfw_v1": ("the Block List Project's porn list", _files(_PROJECT, "porn.txt")),
    "blocklist_project_social_v1": (
        "the Block List Project's social-network lists",
        _files(_PROJECT, "facebook.txt", "fortnite.txt", "tiktok.txt", "twitter.txt", "whatsapp.txt", "youtube.txt"),
    ),
    "blocklist_project_crime_v1": (
        "the Block List Project's crime lists",
        _files(_PROJECT, "abuse.txt", "fraud.txt", "malware.txt", "phishing.txt", "piracy.txt", "ransomware.txt",
               "scam.txt", "redirect.txt"),
    ),
    "blocklist_project_vice_v1": (
        "the Block List Project's vice lists",
        _files(_PROJECT, "crypto.txt", "drugs.txt", "gambling.txt", "vaping.txt"),
    ),
    "blocklist_project_ads_v1": (
        "the Block List Project's ad and tracking lists",
        _files(_PROJECT, "adobe.txt", "ads.txt", "basic.txt", "smart-tv.txt", "tracking.txt"),
    ),
    "blocklist_firebog_ads_v1": (
        "firebog's ad lists",
        _files(f"{_FIREBOG}/ads", "blue/hosts.txt", "green/AdguardDNS.txt", "green/Admiral.txt",
               "green/adservers.txt", "green/Easylist-2.txt", "green/hosts-2.txt", "green/hosts-3.txt",
               "green/hosts.txt", "green/serverlist.txt", "green/simple_ad.txt"),
    ),
    "blocklist_firebog_crypto_v1": ("firebog's crypto-mining list", _files(_FIREBOG, "crypto/green/hosts_browser.txt")),
    "blocklist_firebog_malicious_v1": (
        "firebog's malicious lists",
        _files(f"{_FIREBOG}/malicious", "blue/phishing-filter-hosts.txt", "blue/Prigent-Malware.txt",
               "green/AntiMalwareHosts.txt", "green/hostfile.txt", "green/hosts-2.txt", "green/hosts.txt",
               "green/latestdomains.txt", "green/main-blacklist.txt", "green/Mandiant_APT1_Report_Appendix_D.txt",
               "green/notrack-malware.txt", "green/phishing_army_blocklist_extended.txt", "green/Prigent-Crypto.txt",
               "green/RPiList-Malware.txt", "green/RPiList-Phishing.txt", "green/simple_malvertising.txt"),
    ),
    "blocklist_firebog_nsfw_v1": (
        "firebog's NSFW lists",
        _files(f"{_FIREBOG}/nsfw", "blue/pi_blocklist_porn_top1m.list.txt", "blue/Prigent-Adult.txt"),
    ),
    "blocklist_firebog_social_v1": ("firebog's social list", _files(_FIREBOG, "social/blue/facebook.txt")),
    "blocklist_firebog_suspicious_v1": (
        "firebog's suspicious lists",
        _files(f"{_FIREBOG}/suspicious", "blue/hosts-2.txt", "blue/hosts-3.txt", "blue/hosts-4.txt",
               "blue/hosts-file.txt", "blue/neohostsbasic.txt", "blue/SNAFU.txt", "blue/spammers.txt",
               "green/hosts.txt", "green/KADhosts.txt", "green/w3kbl.txt"),
    ),
    "blocklist_firebog_trackers_v1": (
        "firebog's tracker lists",
        _files(f"{_FIREBOG}/trackers", "blue/ads-and-tracking-extended.txt", "blue/AmazonFireTV.txt",
               "blue/android-tracking.txt", "blue/notrack-blocklist.txt", "blue/SmartTV.txt", "green/Easyprivacy.txt",
               "green/firstparty-trackers-hosts.txt", "green/hosts.txt", "green/Prigent-Ads.txt", "green/spy.txt"),
    ),
    "blocklist_hosts_adware_malware_v1": (
        "the StevenBlack adware/malware hosts file", _files(_HOSTS, "adware_malware.txt")
    ),
    "blocklist_hosts_fakenews_v1": ("the StevenBlack fake-news hosts file", _files(_HOSTS, "fakenews.txt")),
    "blocklist_hosts_gambling_v1": ("the StevenBlack gambling hosts file", _files(_HOSTS, "gambling.txt")),
    "blocklist_hosts_porn_v1": ("the StevenBlack porn hosts file", _files(_HOSTS, "porn.txt")),
    "blocklist_hosts_social_v1": ("the StevenBlack social hosts file", _files(_HOSTS, "social.txt")),
}
_ADBLOCK_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oisd_small_abp_v1": ("OISD's small list", _files(_OISD, "oisd_small_abp.txt.gz")),
    "oisd_big_abp_v1": ("OISD's big list", _files(_OISD, "oisd_big_abp.txt.gz")),
    "oisd_nsfw_abp_v1": ("OISD's NSFW list", _files(_OISD, "oisd_nsfw_abp.txt.gz")),
    "brave_core_abp_v1": (
        "Brave's core lists",
        _files(_BRAVE, "brave_ad_block_first_party_filters.txt", "brave_ad_block_updater.txt"),
    ),
    "brave_nsfw_abp_v1": ("Brave's anti-porn list", _files(_BRAVE, "blocklists_anti_porn.txt")),
}

for _name, (_title, _urls) in _DOMAIN_LISTS.items():
    _define(_name, DolmaDomainTagger, _urls, f"URL whose host is on {_title} (dolma).")
for _name, (_title, _urls) in _ADBLOCK_LISTS.items():
    _define(_name, DolmaAdblockTagger, _urls, f"URL blocked by {_title} (adblock-plus rules; dolma).")
_define("link_blocklist_phishing_v1", DolmaLinkTagger, _PHISHING,
        "URL (host, port and path) on the Phishing.Database link list (dolma).")
_define("allowlist_wikidata_v1", DolmaWikidataTagger, _WIKIDATA,
        "URL whose host (or its last two labels) is a wikidata periodical/website (dolma).")
_define("allowlist_wikidata_cleaned_v1", DolmaWikidataTagger, _WIKIDATA,
        "Same as allowlist_wikidata_v1: dolma defines a row filter for it but never applies it.")
