"""Deterministic web-like sample corpus in dolma's layout, for tests, the quickstart and benchmarks.

`generate_corpus` writes `<root>/documents/<source>/<source>-NNNN.jsonl.gz`. Each file depends only on
(seed, source, file index), so runs are byte-identical and files can be generated in parallel. The text
exercises every pipeline stage: prose with boilerplate, lists and code (c4/gopher taggers), emails,
phones and IPs (PII), keyword spam, lorem ipsum, naughty words and javascript notices, paragraphs and
whole documents repeated across files (dedupe), domains a blocklist can match, and several sources.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import random
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import accumulate

import orjson

from dolma_py.io.atomic import write_bytes

DEFAULT_SOURCES: Mapping[str, float] = {"web": 6.0, "wiki": 3.0, "math": 1.0}
"""Source name -> share of files. Only these three styles exist."""

Sources = Mapping[str, float] | Sequence[str]
"""Source weights, or source names sharing files equally."""

BLOCKLIST_DOMAINS: tuple[str, ...] = (
    "cheap-pills-online.biz",
    "casino-jackpot-win.net",
    "free-prizes-now.info",
    "xxx-hot-dates.club",
)
"""Spam domains that appear in `metadata.url` of spam pages; `write_blocklist` lists them."""

_GOOD_DOMAINS = (
    "news.example.com", "blog.example.org", "www.cookingdaily.com", "www.gardenhelp.net",
    "forum.techtalk.io", "www.cityguide.travel", "shop.outdoorgear.com", "www.healthnotes.org",
    "docs.devtools.dev", "www.localpaper.co.uk", "www.sportsfan.com", "stories.readmore.net",
)
_WIKI_DOMAIN = "en.wikipedia.org"
_MATH_DOMAINS = ("math.stackexchange.com", "www.proofwiki.org", "arxiv.org")

_FUNCTION_WORDS = (
    "the of and to a in is that for it as was with be on by this are from at or have an they which one you "
    "were her all she there would their we him been has when who will more no if out so said what up its about "
    "into than them can only other new some could time these two may then do first any my now such like our over "
    "man me even most made after also did many before must through back years where much your way well down "
    "should because each just those people how too little state good very make world still own see men work "
    "long get here between both life being under never day same another know while last might us great old year "
    "off come since against go came right used take three"
).split()

_CONTENT_WORDS = (
    "house water city family school system program question government number night point home company "
    "story fact month lot study book eye job word business issue side kind head service friend father power hour "
    "game line end member law car name president team minute idea kid body information parent face others "
    "level office door health person art war history party result change morning reason research girl guy moment "
    "air teacher force education food garden recipe market travel weather river mountain village music church "
    "energy policy council season player coach price product review customer design report data method process "
    "important different small large national public local social political possible economic available human "
    "include continue provide create consider develop remember understand believe require suggest improve explain "
    "quickly finally recently usually often certainly early simple strong clear recent modern natural medical "
    "community project support country problem experience development knowledge language network industry "
    "student university hospital ancient traditional careful beautiful familiar seasonal regional weekly"
).split()

_ONSETS = "b c d f g h j k l m n p r s t v w y br cl dr fl gr pl st tr sh ch th sp pr".split()
_VOWELS = "a e i o u a e i o ea ou ai ee oo".split()
_CODAS = ["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "rt", "nt"]
_SUFFIXES = ["", "", "", "", "s", "ed", "ing", "er", "ly", "tion", "ment", "ness", "al", "ity"]

_FOREIGN = {
    "es": (
        "de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o este "
        "porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos durante todos "
        "uno les ni contra otros ese eso ante ellos esto antes algunos qué unos otro otras otra él tanto esa "
        "estos mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros ciudad niño "
        "año corazón pequeño información música según después además público política educación"
    ).split(),
    "de": (
        "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden "
        "aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur "
        "oder aber vor zur bis mehr durch man sein wurde sei größer Straße Mädchen schön für Männer Bücher "
        "natürlich Stadt Regierung Geschichte Wissenschaft"
    ).split(),
    "ru": (
        "и в не на я быть он с что а по это она этот к но они мы как из у который то за свой весь год от "
        "так о для ты же все тот мочь вы человек такой его сказать только или ещё бы себя один уже до время "
        "если сам когда другой вот говорить наш мой знать стать при чтобы дело жизнь кто первый очень два "
        "день её новый рука даже во со раз где там под можно ну какой после их работа без самый потом надо"
    ).split(),
    "zh": list(
        "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去"
        "行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从"
    ),
}

_NAV_LINES = (
    "Home | About Us | Contact | Privacy Policy",
    "Skip to main content",
    "Menu",
    "Search",
    "Share this:",
    "Facebook Twitter Pinterest Email",
    "Subscribe to our newsletter",
    "Related Posts",
    "Leave a Reply Cancel reply",
    "Read more",
    "Sign in Register",
    "Categories",
    "Recent Comments",
    "Toggle navigation",
)
_FOOTER_LINES = (
    "This site uses cookies. By continuing to browse the site you are agreeing to our use of cookies.",
    "All rights reserved.",
    "Powered by WordPress",
    "Terms of Service | Privacy | Cookie Settings",
    "Back to top",
    "Please enable JavaScript to view the comments powered by Disqus.",
)
_SPAM_PHRASES = (
    "cheap viagra", "buy cialis online", "best price", "free shipping", "click here", "limited offer",
    "hot singles", "casino bonus", "xxx videos", "escort service", "win big now", "lose weight fast",
)
_LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
    "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
    "ex ea commodo consequat."
)
_FIRST_NAMES = ("john", "maria", "wei", "fatima", "lucas", "anna", "raj", "olga", "kenji", "sarah", "omar", "emma")
_LAST_NAMES = ("smith", "garcia", "chen", "khan", "silva", "novak", "patel", "ivanova", "tanaka", "jones")
_CODE_SNIPPETS = (
    "function {name}(items) {{\n  let total = 0;\n  for (const item of items) {{\n    total += item.{field};\n"
    "  }}\n  return total;\n}}",
    "def {name}(rows):\n    result = {{}}\n    for row in rows:\n        result[row['{field}']] = row\n"
    "    return result",
    "public static int {name}(int[] values) {{\n    int best = values[0];\n    for (int v : values) {{\n"
    "        if (v > best) best = v;\n    }}\n    return best;\n}}",
    "SELECT {field}, COUNT(*) FROM orders WHERE status = 'open' GROUP BY {field};",
    "$ pip install {name}\n$ {name} --{field} 10",
)
_WIKI_SECTIONS = ("History", "Geography", "Economy", "Culture", "Early life", "Career", "Legacy", "See also")
_MATH_SNIPPETS = (
    "Let $f(x) = x^{a} + {b}x$. Find $f'({c})$.",
    "Prove that $\\sum_{{k=1}}^{{n}} k = \\frac{{n(n+1)}}{{2}}$ for every integer $n \\geq {a}$.",
    "If $a + b = {a}$ and $ab = {b}$, what is $a^2 + b^2$?",
    "Compute $\\int_0^{a} x^{b} \\, dx$.",
    "Show that $\\sqrt{{{a}}}$ is irrational.",
    "Solve for $x$: ${a}x - {b} = {c}$.",
)

_PARAGRAPH_POOL_SIZE = 400
_VIRAL_POOL_SIZE = 64
_SIZE_SAMPLE_DOCS = 400
_EPOCH = datetime(2014, 1, 1, tzinfo=UTC)
_CREATED_RANGE_S = 10 * 365 * 24 * 3600
_ADDED = "2024-06-01T00:00:00.000Z"


def _derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from any parts (Python's `hash` is salted per process, so not used)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True)
class _Vocab:
    words: tuple[str, ...]
    cum_weights: tuple[float, ...]
    rare: tuple[str, ...]


@lru_cache(maxsize=4)
def _vocab(seed: int) -> _Vocab:
    """English-like Zipfian vocabulary: real common words up front, then ~20k invented words."""
    rng = random.Random(_derive_seed(seed, "vocab"))
    known = set(_FUNCTION_WORDS + _CONTENT_WORDS)
    invented: list[str] = []
    while len(invented) < 20000:
        syllables = (rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                     for _ in range(rng.choice((1, 1, 2, 2, 2, 3))))
        word = "".join(syllables) + rng.choice(_SUFFIXES)
        if word not in known:
            known.add(word)
            invented.append(word)
    words = tuple(_FUNCTION_WORDS + _CONTENT_WORDS + invented)
    total, cum = 0.0, []
    for rank in range(len(words)):
        total += 1.0 / (rank + 2.7)
        cum.append(total)
    return _Vocab(words, tuple(cum), tuple(invented))


class _Writer:
    """Builds documents for one file from one RNG; every text helper draws only from `self.rng`."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.seed = seed
        self.rng = rng
        self.vocab = _vocab(seed)
        self.topic: tuple[str, ...] = ()

    # ---- prose ----------------------------------------------------------------------------------------
    def sentence(self, n_words: int | None = None) -> str:
        rng = self.rng
        n = n_words or rng.randint(5, 24)
        words = rng.choices(self.vocab.words, cum_weights=self.vocab.cum_weights, k=n)
        if self.topic:
            for _ in range(n // 6):
                words[rng.randrange(n)] = rng.choice(self.topic)
        if n > 8 and rng.random() < 0.4:
            words[rng.randrange(2, n - 2)] += ","
        words[0] = words[0].capitalize()
        r = rng.random()
        end = "." if r < 0.86 else "?" if r < 0.93 else "!" if r < 0.97 else "\u2026"
        return " ".join(words) + end

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 8)))

    def title(self) -> str:
        words = self.rng.choices(self.vocab.words, cum_weights=self.vocab.cum_weights, k=self.rng.randint(3, 9))
        return " ".join(w.capitalize() for w in words)

    def new_topic(self) -> None:
        self.topic = tuple(self.rng.sample(self.vocab.rare, 12))

    def foreign_paragraph(self, lang: str) -> str:
        rng, words = self.rng, _FOREIGN[lang]
        if lang == "zh":
            return "".join("".join(rng.choices(words, k=rng.randint(8, 30))) + "。" for _ in range(rng.randint(2, 6)))
        sentences = []
        for _ in range(rng.randint(2, 7)):
            sent = rng.choices(words, k=rng.randint(6, 20))
            sent[0] = sent[0].capitalize()
            sentences.append(" ".join(sent) + ".")
        return " ".join(sentences)

    # ---- web furniture ----------------------------------------------------------------------------------
    def bullets(self) -> list[str]:
        marker = self.rng.choice(("- ", "* ", "\u2022 ", ""))
        return [marker + self.title() for _ in range(self.rng.randint(3, 8))]

    def person(self) -> tuple[str, str]:
        return self.rng.choice(_FIRST_NAMES), self.rng.choice(_LAST_NAMES)

    def email(self) -> str:
        first, last = self.person()
        domain = self.rng.choice(("gmail.com", "example.com", "mailbox.org", "company.co.uk", "uni.edu"))
        return f"{first}.{last}{self.rng.randint(1, 99)}@{domain}"

    def phone(self) -> str:
        a, b, c = self.rng.randint(200, 989), self.rng.randint(200, 999), self.rng.randint(0, 9999)
        return self.rng.choice((f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}", f"{a}.{b}.{c:04d}"))

    def ip(self) -> str:
        r = self.rng
        first = r.choice(("192.168", f"10.{r.randint(0, 255)}", f"{r.randint(11, 223)}.{r.randint(0, 255)}"))
        return f"{first}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def pii_line(self) -> str:
        first, last = self.person()
        return self.rng.choice((
            f"For questions, contact {first.capitalize()} {last.capitalize()} at {self.email()} "
            f"or call {self.phone()} during office hours.",
            f"Email: {self.email()}",
            f"Phone: {self.phone()}",
            f"The request came from {self.ip()} and was logged by the server at {self.ip()} before the timeout.",
            f"Send your resume to {self.email()} and mention the reference code in the subject line.",
        ))

    def url(self, domains: Sequence[str]) -> str:
        slug = "-".join(self.rng.choices(self.vocab.rare, k=self.rng.randint(2, 5)))
        return f"https://{self.rng.choice(domains)}/{self.rng.randint(2009, 2023)}/{slug}"

    def created(self) -> str:
        when = _EPOCH + timedelta(seconds=self.rng.randrange(_CREATED_RANGE_S))
        return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# ---- page kinds: each returns (text, url) ------------------------------------------------------------------
def _article(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    w.new_topic()
    lines: list[str] = []
    if rng.random() < 0.6:
        lines += rng.sample(_NAV_LINES, rng.randint(1, 4))
    lines.append(w.title())
    if rng.random() < 0.5:
        lines.append(f"Posted on {w.created()[:10]} by {' '.join(w.person()).title()}")
    n_par = max(1, min(25, int(rng.lognormvariate(1.4, 0.6))))
    for _ in range(n_par):
        lines.append(w.paragraph())
        if rng.random() < 0.12:
            lines += w.bullets()
        if rng.random() < 0.08:
            lines.append(w.title())
        if rng.random() < 0.12:
            lines.append(_shared_paragraph(w))
        if rng.random() < 0.05:
            lines.append(w.pii_line())
    if rng.random() < 0.05:
        lines.append(f"Visit https://{rng.choice(_GOOD_DOMAINS)}/contact or write to {w.email()} for details.")
    if rng.random() < 0.03:
        lines.append(f"Some of our partners link to {rng.choice(BLOCKLIST_DOMAINS)} deals.")
    if rng.random() < 0.5:
        lines += rng.sample(_FOOTER_LINES, rng.randint(1, 3))
        lines.append(f"Copyright \u00a9 {rng.randint(2010, 2023)} {w.title()}. All rights reserved.")
    return "\n".join(lines), w.url(_GOOD_DOMAINS)


def _forum(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    w.new_topic()
    lines = [w.title(), f"Started by {rng.choice(_FIRST_NAMES)}{rng.randint(1, 999)}"]
    for _ in range(rng.randint(2, 9)):
        lines.append(f"{rng.choice(_FIRST_NAMES)}_{rng.choice(_LAST_NAMES)} wrote:")
        lines.append(" ".join(w.sentence(rng.randint(3, 15)) for _ in range(rng.randint(1, 3))))
        lines.append(rng.choice(("Reply", "Quote", "Like \U0001F44D", "thanks!!", "+1", "Report")))
    return "\n".join(lines), w.url(("forum.techtalk.io", "www.reddit-like.net", "boards.example.com"))


def _listing(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    lines = [w.title(), "Product details"]
    for _ in range(rng.randint(3, 12)):
        lines.append(f"{w.title()} ${rng.randint(1, 499)}.{rng.randint(0, 99):02d}")
        if rng.random() < 0.4:
            lines.append(w.sentence())
    lines += ["Add to cart", "In stock", "Customer reviews", w.paragraph(), rng.choice(_FOOTER_LINES)]
    return "\n".join(lines), w.url(("shop.outdoorgear.com", "www.bargains.example", "market.example.net"))


def _code_page(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    w.new_topic()
    lines = [w.title(), w.paragraph()]
    for _ in range(rng.randint(1, 3)):
        snippet = rng.choice(_CODE_SNIPPETS).format(name=rng.choice(w.vocab.rare), field=rng.choice(w.vocab.rare))
        lines += [snippet, w.paragraph()]
    return "\n".join(lines), w.url(("docs.devtools.dev", "forum.techtalk.io", "blog.example.org"))


def _foreign(w: _Writer) -> tuple[str, str]:
    lang = w.rng.choice(sorted(_FOREIGN))
    lines = [w.foreign_paragraph(lang) for _ in range(w.rng.randint(2, 7))]
    return "\n\n".join(lines), w.url((f"{lang}.example.com", f"www.noticias-{lang}.example"))


def _spam(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    phrases = rng.sample(_SPAM_PHRASES, 3)
    lines = [" ".join(rng.choices(phrases, k=rng.randint(8, 30))).upper() if rng.random() < 0.3 else w.title()]
    for _ in range(rng.randint(3, 15)):
        r = rng.random()
        if r < 0.4:
            lines.append(" ".join(rng.choices(phrases, k=rng.randint(5, 25))))
        elif r < 0.55:
            lines.append(_LOREM)
        elif r < 0.7:
            lines.append(" ".join(f"#{p.replace(' ', '')}" for p in rng.choices(phrases, k=rng.randint(3, 10))))
        elif r < 0.8:
            lines.append(f"CLICK HERE \u27a1 {w.sentence(5)}")
        else:
            lines.append(phrases[0])
    if rng.random() < 0.3:
        lines.append(f"Contact us: {w.email()} | {w.phone()}")
    return "\n".join(lines), w.url(BLOCKLIST_DOMAINS)


def _javascript_notice(w: _Writer) -> tuple[str, str]:
    notice = w.rng.choice((
        "Please enable JavaScript in your browser to continue.",
        "You need to enable javascript to run this app.",
        "This page requires JavaScript. Please turn it on and reload.",
    ))
    return "\n".join([w.title(), notice, w.sentence(), w.rng.choice(_FOOTER_LINES)]), w.url(_GOOD_DOMAINS)


def _contact(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    lines = ["Contact Us", w.sentence()]
    for _ in range(rng.randint(2, 6)):
        first, last = w.person()
        lines += [f"{first.capitalize()} {last.capitalize()}", f"Email: {w.email()}", f"Phone: {w.phone()}"]
    lines.append(f"Our servers are hosted at {w.ip()} and {w.ip()} for the time being.")
    return "\n".join(lines), w.url(_GOOD_DOMAINS)


def _wiki(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    w.new_topic()
    title = w.title()
    lines = [title, w.paragraph() + f"[{rng.randint(1, 9)}]"]
    for section in rng.sample(_WIKI_SECTIONS, rng.randint(2, 5)):
        lines.append(section)
        for _ in range(rng.randint(1, 4)):
            lines.append(w.paragraph())
    lines.append("References")
    for _ in range(rng.randint(1, 6)):
        first, last = w.person()
        year = rng.randint(1950, 2023)
        lines.append(f"^ {last.capitalize()}, {first[0].upper()}. ({year}). {w.title()}. {w.title()} Press.")
    if rng.random() < 0.05:
        lines.append(_shared_paragraph(w))
    return "\n".join(lines), f"https://{_WIKI_DOMAIN}/wiki/{title.replace(' ', '_')}"


def _math(w: _Writer) -> tuple[str, str]:
    rng = w.rng
    w.new_topic()
    lines = [w.title()]
    for i in range(rng.randint(1, 4)):
        a, b, c = rng.randint(2, 9), rng.randint(2, 30), rng.randint(1, 12)
        lines.append(f"Problem {i + 1}. " + rng.choice(_MATH_SNIPPETS).format(a=a, b=b, c=c))
        lines.append("Solution. " + w.paragraph())
        lines.append(f"$$ x = \\frac{{{b} \\pm \\sqrt{{{b * b - 4 * a * c}}}}}{{{2 * a}}} $$")
        if rng.random() < 0.5:
            lines.append("Theorem. " + w.sentence() + "\nProof. " + w.paragraph() + " \u220e")
    return "\n".join(lines), w.url(_MATH_DOMAINS)


_KINDS = {
    "web": ((_article, 55), (_forum, 9), (_listing, 8), (_code_page, 7), (_foreign, 7), (_spam, 7),
            (_javascript_notice, 3), (_contact, 4)),
    "wiki": ((_wiki, 95), (_foreign, 5)),
    "math": ((_math, 90), (_code_page, 10)),
}
_VIRAL_RATE = {"web": 0.05, "wiki": 0.02, "math": 0.02}


# ---- pools shared by all files (they depend only on the seed) -----------------------------------------------
@lru_cache(maxsize=4)
def _paragraph_pool(seed: int) -> tuple[str, ...]:
    w = _Writer(seed, random.Random(_derive_seed(seed, "paragraphs")))
    return tuple(w.paragraph() for _ in range(_PARAGRAPH_POOL_SIZE))


@lru_cache(maxsize=4)
def _viral_pool(seed: int) -> tuple[tuple[str, str, str], ...]:
    """Whole documents (text, url, created) that reappear in many files: exact duplicates for dedupe."""
    w = _Writer(seed, random.Random(_derive_seed(seed, "viral")))
    out = []
    for _ in range(_VIRAL_POOL_SIZE):
        text, url = (_article if w.rng.random() < 0.8 else _spam)(w)
        out.append((text, url, w.created()))
    return tuple(out)


def _shared_paragraph(w: _Writer) -> str:
    pool = _paragraph_pool(w.seed)
    return pool[_skewed_index(w.rng, len(pool))]


def _skewed_index(rng: random.Random, n: int) -> int:
    """An index in [0, n) biased to small values: a few items are very common, most are rare."""
    return int(n * rng.random() ** 3)


# ---- files ---------------------------------------------------------------------------------------------------
def _source_weights(sources: Sources) -> dict[str, float]:
    """Validate `sources`; a plain sequence of names means equal weights."""
    if isinstance(sources, str):
        sources = [sources]
    weights = dict(sources) if isinstance(sources, Mapping) else dict.fromkeys(sources, 1.0)
    unknown = sorted(set(weights) - set(_KINDS))
    if unknown:
        raise ValueError(f"unknown sources {unknown}; known: {sorted(_KINDS)}")
    if not weights or any(w <= 0 for w in weights.values()):
        raise ValueError(f"sources need positive weights, got {weights}")
    return weights


def _file_plan(num_files: int, sources: Sources) -> list[tuple[str, int]]:
    """(source, index within source) per file: one file per source first, then by weight, greedily."""
    if num_files < 1:
        raise ValueError(f"num_files must be >= 1, got {num_files}")
    sources = _source_weights(sources)
    names = list(sources)
    counts = dict.fromkeys(names, 0)
    plan = []
    for i in range(num_files):
        name = names[i] if i < len(names) else min(names, key=lambda s: (counts[s] + 0.5) / sources[s])
        plan.append((name, counts[name]))
        counts[name] += 1
    return plan


def _file_documents(seed: int, source: str, index: int, docs_per_file: int) -> list[dict]:
    """The documents of one file; document d depends only on (seed, source, index) and the documents before it."""
    rng = random.Random(_derive_seed(seed, "file", source, index))
    w = _Writer(seed, rng)
    kinds, weights = zip(*_KINDS[source], strict=False)
    cum = list(accumulate(weights))
    viral, viral_rate = _viral_pool(seed), _VIRAL_RATE[source]
    docs = []
    for d in range(docs_per_file):
        if rng.random() < viral_rate:
            text, url, created = viral[_skewed_index(rng, len(viral))]
        else:
            text, url = rng.choices(kinds, cum_weights=cum)[0](w)
            created = w.created()
        docs.append({
            "id": f"{source}-{index:04d}-{d:06d}",
            "text": text,
            "source": source,
            "added": _ADDED,
            "created": created,
            "metadata": {"url": url},
        })
    return docs


def _write_file(args: tuple[str, int, str, int, int]) -> str:
    """Write one `.jsonl.gz` file atomically (gzip mtime 0, so the bytes are reproducible)."""
    root, seed, source, index, docs_per_file = args
    path = os.path.join(root, "documents", source, f"{source}-{index:04d}.jsonl.gz")
    docs = _file_documents(seed, source, index, docs_per_file)
    # One buffer, not `write_jsonl`: same bytes, but its per-row gzip writes took 1.5-2x as long here.
    write_bytes(path, b"".join(orjson.dumps(doc) + b"\n" for doc in docs))
    return path


def generate_corpus(
    root: str,
    *,
    num_files: int,
    docs_per_file: int,
    seed: int = 0,
    sources: Sources = DEFAULT_SOURCES,
    processes: int = 1,
) -> list[str]:
    """Write the corpus under `root/documents/`; returns the file paths in plan order. Byte-identical per args."""
    if docs_per_file < 1:
        raise ValueError(f"docs_per_file must be >= 1, got {docs_per_file}")
    jobs = [(root, seed, source, index, docs_per_file) for source, index in _file_plan(num_files, sources)]
    if processes <= 1 or len(jobs) == 1:
        return [_write_file(job) for job in jobs]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        return list(pool.map(_write_file, jobs))


def shape_for_size(size_mb: float, *, docs_per_file: int = 1000, seed: int = 0,
                   sources: Sources = DEFAULT_SOURCES) -> tuple[int, int]:
    """(num_files, docs_per_file) whose uncompressed UTF-8 text is about `size_mb` MB (10^6 bytes).

    The average document size is measured on the first documents of each source. Small targets shrink
    `docs_per_file` so that every source still gets one file.
    """
    if size_mb <= 0:
        raise ValueError(f"size_mb must be > 0, got {size_mb}")
    sources = _source_weights(sources)
    total_weight = sum(sources.values())
    sample = min(docs_per_file, _SIZE_SAMPLE_DOCS)
    bytes_per_doc = sum(
        weight / total_weight * sum(len(d["text"].encode()) for d in _file_documents(seed, name, 0, sample))
        for name, weight in sources.items()
    ) / sample
    target_docs = max(len(sources), round(size_mb * 1e6 / bytes_per_doc))
    if target_docs < len(sources) * docs_per_file:
        return len(sources), math.ceil(target_docs / len(sources))
    return math.ceil(target_docs / docs_per_file), docs_per_file


def generate_corpus_of_size(
    root: str,
    *,
    size_mb: float,
    docs_per_file: int = 1000,
    seed: int = 0,
    sources: Sources = DEFAULT_SOURCES,
    processes: int = 1,
) -> list[str]:
    """Write a corpus of about `size_mb` MB of uncompressed UTF-8 text (for benchmarks); see `shape_for_size`."""
    num_files, per_file = shape_for_size(size_mb, docs_per_file=docs_per_file, seed=seed, sources=sources)
    return generate_corpus(root, num_files=num_files, docs_per_file=per_file, seed=seed,
                           sources=sources, processes=processes)


def write_blocklist(path: str) -> str:
    """Write an example domain blocklist (one domain per line, `#` comments) matching the corpus's spam pages."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# example blocklist for the dolma_py sample corpus: one domain per line\n")
        fh.write("".join(f"{domain}\n" for domain in BLOCKLIST_DOMAINS))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m dolma_py.sample_corpus ROOT`: write the corpus and `ROOT/blocklist.txt`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("root")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--num-files", type=int, default=6)
    size.add_argument("--size-mb", type=float)
    parser.add_argument("--docs-per-file", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    common = dict(docs_per_file=args.docs_per_file, seed=args.seed, processes=args.processes)
    if args.size_mb is not None:
        paths = generate_corpus_of_size(args.root, size_mb=args.size_mb, **common)
    else:
        paths = generate_corpus(args.root, num_files=args.num_files, **common)
    write_blocklist(os.path.join(args.root, "blocklist.txt"))
    print(f"wrote {len(paths)} files under {os.path.join(args.root, 'documents')}")


if __name__ == "__main__":
    main()
