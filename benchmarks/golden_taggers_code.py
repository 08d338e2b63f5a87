"""Regenerate tests/fixtures/dolma_golden/taggers_code/: dolma 1.2.1's code, license, PII and URL-list tagger outputs.

Writes small inputs (documents, list files in each format dolma reads, a fastText training set), then runs the
reference `dolma tag` (in .bench/venvs/dolma-1.2.1) with every list/model URL replaced by a local file, and keeps
its attribute files. Presidio and spaCy, which the reference venv lacks, are installed once into
.bench/presidio-overlay and put on the path of the Presidio run only.
Run: `.venv/bin/python benchmarks/golden_taggers_code.py` (after benchmarks/setup_reference.sh).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PYTHON = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "python"
OUT = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "taggers_code"

HOSTS = """# hosts file
127.0.0.1 localhost
::1 localhost
0.0.0.0 ads.example.com
0.0.0.0 tracker.net # inline comment
1.2.3.4 evil.org
999.1.1.1 bad.example
0.0.0.0 web.com
   0.0.0.0   spaced.example
"""
DOMAINS = """! adblock-style comment
; semicolon comment
casino.com
WWW.Bet.Example
sub.domain.co.uk
Foo.COM/Path/
||adp.example^
ads.example.com # trailing comment
-not a domain
_under.score.net
example.org:8080/only/here
"""
DOMAINS_SECOND = """porn.example
www.wiki-site.org
"""
LINKS = """# phishing links
https://phish.example.biz/login
http://Example.org:8080/path/
paypal.example.com

https://www.secure-bank.example/verify?id=1
"""
ABP_RULES = """[Adblock Plus 2.0]
! Title: tiny list
||ads.example.com^
||tracker.net^$third-party
/banner/*
@@||good.ads.example.com^
example.com##.ad
||casino.com^$document
"""
ABP_SECOND = """! second list
||phish.example.biz^
|http://exact.example/start
"""
WIKIDATA_ROWS = [
    {"item": "Q1", "url": "https://www.bbc.co.uk/news", "description": "British public broadcaster"},
    {"item": "Q2", "url": "http://news.example.com/", "description": "satire website"},
    {"item": "Q3", "url": "https://a.b.c.d.wiki-site.org/x", "description": None},
    {"item": "Q4", "url": None, "description": "broken row"},
    {"item": "Q5", "url": "https://dating.example.xxx", "description": "dating website"},
]

URL_DOCS = [
    "http://ads.example.com/page",
    "https://sub.ads.example.com/",
    "http://good.ads.example.com/x",
    "https://www.tracker.net/x?y=1",
    "http://tracker.net",
    "http://web.com/",
    "http://eb.com/",
    "https://www.casino.com/slots",
    "HTTP://WWW.Casino.COM/Slots",
    "http://bet.example",
    "http://foo.com/path",
    "http://foo.com/path/deeper",
    "https://phish.example.biz/login/",
    "https://phish.example.biz/other",
    "http://example.org:8080/path",
    "http://example.org:8080/only/here/",
    "paypal.example.com",
    "https://www.secure-bank.example/verify",
    "http://1.2.3.4/",
    "http://0.0.0.0/",
    "http://evil.org/a",
    "http://adp.example/",
    "https://www.bbc.co.uk/sport",
    "https://bbc.co.uk",
    "https://x.y.bbc.co.uk/z",
    "http://news.example.com",
    "http://c.d.wiki-site.org",
    "https://wiki-site.org/",
    "http://exact.example/start/page",
    "http://cdn.example.net/banner/1.png",
    "http://porn.example/",
    "http://dating.example.xxx",
    "http://sub.domain.co.uk/",
    "localhost",
    "",
    None,
]

HTML_DOCS = [
    '<html><a rel="license" href="http://creativecommons.org/licenses/by-sa/4.0/">CC</a></html>',
    "<html><meta name='dc.rights' content='https://creativecommons.org/licenses/by-nc-nd/3.0/deed.de'></html>",
    '<p><A HREF="https://creativecommons.org/publicdomain/zero/1.0/">CC0</A></p>',
    '<a href="http://creativecommons.org/licenses/by/2.5/it/">one</a>\n'
    '<a class="x" href="http://creativecommons.org/licenses/by-nc/4.0/legalcode.fr">two</a>'
    '<a href=&quot;http://creativecommons.org/licenses/by-nd/3.0/&quot;>three</a>',
    '<a href="http://creativecommons.org/licenses/by-nc-sa/2.0">bare</a>',
    "<div>no license here, only creativecommons.org/licenses mention</div>",
    "<html><body>plain page</body></html>",
    '<img src="x"><a href="https://creativecommons.org/licenses/by/4.0/" rel="license">'
    '<a href="https://creativecommons.org/publicdomain/mark/1.0/">pd</a>',
]

PY_CODE = '''#!/usr/bin/env python
# Copyright 2024 Example Corp.
"""Module docstring explaining things."""

import os

AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
password = "hunter2-very-secret"


class Thing:
    """A thing."""

    def run(self):
        """Run it."""
        return os.getcwd()  # trailing comment
'''
JAVA_CODE = """/*
 * Copyright (c) 2020 Someone
 * Licensed under the MIT license.
 */
package demo;

// a line comment
public class Demo {
    private static final String TOKEN = "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";
    /** Javadoc. */
    public static void main(String[] args) { System.out.println("hi"); }
}
"""
JS_CODE = """// utility module
// second comment line
const slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
/* block */ function f(a) { return a + 1; }
"""
HTML_CODE = (
    "<?xml version=\"1.0\"?>\n<html><head><style>body {color: red}</style><script>var x = 1;</script></head>"
    "<body><p>" + "This page has a reasonable amount of visible prose text for the ratio. " * 3 + "</p></body></html>"
)
C_CODE = """#include <stdio.h>
-- not really c
int main(void) { return 0; }
"""
BROKEN_PY = 'def broken(:\n    """never parsed"""\n    # comment survives? no\n'
SECRET_KEYS = """-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEA1234567890abcdef
-----END RSA PRIVATE KEY-----
api_key: "8d6f3f0b2f1c4e6d9a7b5c3e1f0a2b4c"
"""
CODE_DOCS = [
    {"text": PY_CODE, "metadata": {"ext": "py", "max_stars_count": 12}},
    {"text": JAVA_CODE, "metadata": {"ext": "java", "max_stars_count": None}},
    {"text": JS_CODE, "metadata": {"ext": "js"}},
    {"text": HTML_CODE, "metadata": {"ext": "html", "max_stars_count": 3}},
    {"text": "<html><body>tiny</body></html>", "metadata": {"ext": "htm"}},
    {"text": C_CODE, "metadata": {"ext": "c"}},
    {"text": BROKEN_PY, "metadata": {"ext": "py"}},
    {"text": SECRET_KEYS, "metadata": {"ext": "yaml"}},
    {"text": "no extension known", "metadata": {"ext": "unknown-ext"}},
    {"text": "plain words without metadata", "metadata": {}},
    {"text": "   ", "metadata": {"ext": "md"}},
]

_CODE_LINES = [
    "def add(a, b): return a + b",
    "for i in range(10): print(i)",
    "x = [y * 2 for y in items if y]",
    "import numpy as np",
    "return self.value",
    "if (x > 0) { y = x; }",
    "int main(void) { return 0; }",
    "const f = (a) => a + 1;",
]
_PROSE_LINES = [
    "The quick brown fox jumps over the lazy dog.",
    "This library makes it easy to clean text data.",
    "We present a new method for training models.",
    "Please read the documentation before you start.",
    "The results show a clear improvement over baselines.",
    "In this section we describe the data we used.",
]
_COMMENT_LINES = ["# increment the counter", "// TODO: fix this later", "/* helper for parsing */", "# see below"]
COMPOSITION_DOCS = [
    "\n".join(_PROSE_LINES[:3] + _CODE_LINES[:3] + _PROSE_LINES[3:5]),
    "\n".join(_CODE_LINES),
    "\n\n   \n".join(_PROSE_LINES),
    "ok\nhi\n" + _COMMENT_LINES[0] + "\n" + _CODE_LINES[4],
    "",
    "\n".join(line for pair in zip(_CODE_LINES, _COMMENT_LINES, strict=False) for line in pair),
]

PII_DOCS = [
    "Contact me at john.doe@example.com or call (555) 123-4567 today.\n",
    "Server at 192.168.1.20 answered; backup 10.0.0.1 did not. ",
    "ISBN 978 555 123 4567 is a book, not a phone; isbn noted.",
    "Write to (@weird or to nobody@localhost and admin@site.org please.\n",
    "Issue #42: the host 8.8.8.8 leaked, see doi 10.1000/182 for details.",
    "Nothing personal here at all, just words.",
    "Email first.last+tag@sub.domain.co.uk\nPhone: +1 212 555 0199\nIP: 2001:db8::1\n",
]

# tagger -> list files, in dolma's order of URLs
URL_TAGGERS: dict[str, list[str]] = {
    "allowlist_wikidata_cleaned_v1": ["wikidata.json", "wikidata.json"],
    "allowlist_wikidata_v1": ["wikidata.json", "wikidata.json"],
    "blocklist_firebog_ads_v1": ["hosts.txt", "domains.txt"],
    "blocklist_firebog_crypto_v1": ["hosts.txt"],
    "blocklist_firebog_malicious_v1": ["domains.txt", "domains_second.txt"],
    "blocklist_firebog_nsfw_v1": ["domains_second.txt", "hosts.txt"],
    "blocklist_firebog_social_v1": ["domains.txt"],
    "blocklist_firebog_suspicious_v1": ["hosts.txt"],
    "blocklist_firebog_trackers_v1": ["domains.txt"],
    "blocklist_hosts_adware_malware_v1": ["hosts.txt"],
    "blocklist_hosts_fakenews_v1": ["domains.txt"],
    "blocklist_hosts_gambling_v1": ["hosts.txt"],
    "blocklist_hosts_porn_v1": ["domains_second.txt"],
    "blocklist_hosts_social_v1": ["hosts.txt"],
    "blocklist_project_ads_v1": ["hosts.txt", "domains.txt", "domains_second.txt"],
    "blocklist_project_crime_v1": ["domains.txt"],
    "blocklist_project_nsfw_v1": ["hosts.txt"],
    "blocklist_project_social_v1": ["domains_second.txt"],
    "blocklist_project_vice_v1": ["domains.txt", "hosts.txt"],
    "brave_core_abp_v1": ["rules.abp", "rules_second.abp"],
    "brave_nsfw_abp_v1": ["rules_second.abp"],
    "domain_blocklist_phishing_v1": ["links.txt.gz"],
    "domain_blocklist_utp_v1": ["domains.txt"],
    "link_blocklist_phishing_v1": ["links.txt.gz"],
    "oisd_big_abp_v1": ["rules.abp"],
    "oisd_nsfw_abp_v1": ["rules_second.abp"],
    "oisd_small_abp_v1": ["rules.abp", "rules_second.abp"],
}
GROUPS: dict[str, list[str]] = {
    "urls": sorted(URL_TAGGERS),
    "html": ["cc_re", "cc_re_fast"],
    "code": ["code_secrets_v1", "code_starcoder_taggers_v1", "code_starcoder_taggers_v2",
             "code_copyright_comments_v1", "code_redpajama_taggers_v1"],
    "composition": ["code_composition"],
    "pii": ["pii_presidio_v1"],
}

FASTTEXT_PARAMS = {"epoch": 30, "lr": 0.5, "dim": 8, "bucket": 0, "minn": 0, "maxn": 0, "thread": 1, "seed": 1,
                   "verbose": 0}
"""fastText settings for the composition model; the test trains the same model with them."""

# Runs inside the reference venv: point every list/model URL at the local file, then run `dolma tag`.
REFERENCE_RUNNER = r"""
import json, os, sys
spec = json.load(open(sys.argv[1]))
if spec["presidio"]:
    sys.path.append(spec["overlay"])  # after the venv's own packages: adds Presidio and spaCy, replaces nothing
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # Presidio's email check: the bundled suffix list

from dolma.core.registry import TaggerRegistry
from dolma.cli.__main__ import main

for name, paths in spec["lists"].items():
    TaggerRegistry.get(name).BLOCKLIST_PATHS = paths
TaggerRegistry.get("code_composition").MODEL_PATH = spec["model"]
if spec["presidio"]:
    # dolma 1.2.1 never finds Presidio (it checks for a module named "presidio-analyzer"), so pii_presidio_v1
    # always fails to build; give its own code the analyzer it meant to import, on the blank pipeline
    import dolma.taggers.pii as pii
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    models = [{"lang_code": "en", "model_name": spec["spacy_model"]}]
    pii.PRESIDIO_AVAILABLE = True
    pii.AnalyzerEngine = lambda: AnalyzerEngine(nlp_engine=SpacyNlpEngine(models=models))
main(spec["argv"])
"""
PRESIDIO_OVERLAY = REPO_ROOT / ".bench" / "presidio-overlay"
PRESIDIO_PACKAGES = ["presidio-analyzer==2.2.366", "spacy>=3.7,<3.8", "numpy==1.26.4"]
"""Presidio and spaCy for the reference, installed beside its venv (`--target`), not into it: spaCy 3.7 still
runs on the NumPy 1 that dolma 1.2.1 needs."""


def presidio_overlay() -> Path:
    """The folder holding Presidio and spaCy for the reference run, installed on first use."""
    if not (PRESIDIO_OVERLAY / "presidio_analyzer").is_dir():
        pip = [str(REFERENCE_PYTHON), "-m", "pip", "install", "-q", "--target", str(PRESIDIO_OVERLAY)]
        subprocess.run([*pip, *PRESIDIO_PACKAGES], check=True)
    return PRESIDIO_OVERLAY


def blank_spacy_pipeline(python: str, target: Path, extra_path: Path | None = None) -> None:
    """An untrained English spaCy pipeline (tokenizer only), saved to `target`: enough for Presidio's pattern
    recognizers, and buildable without downloading a model."""
    code = "import spacy, sys; spacy.blank('en').to_disk(sys.argv[1])"
    if extra_path is not None:
        code = f"import sys; sys.path.append({str(extra_path)!r}); " + code
    subprocess.run([python, "-c", code, str(target)], check=True, cwd=target.parent)


def composition_training_lines() -> list[str]:
    """fastText training lines for a tiny code/prose/comment classifier (labels as in dolma's model)."""
    lines = [f"__label__code {line}" for line in _CODE_LINES]
    lines += [f"__label__prose {line}" for line in _PROSE_LINES]
    lines += [f"__label__comment {line}" for line in _COMMENT_LINES]
    return lines * 4


def write_inputs(root: Path) -> None:
    """Documents (plain JSONL) and list files, as committed under the fixture's `inputs/`."""
    lists = root / "lists"
    lists.mkdir(parents=True)
    for name, text in [("hosts.txt", HOSTS), ("domains.txt", DOMAINS), ("domains_second.txt", DOMAINS_SECOND),
                       ("rules.abp", ABP_RULES), ("rules_second.abp", ABP_SECOND)]:
        (lists / name).write_text(text)
    with gzip.GzipFile(lists / "links.txt.gz", "wb", mtime=0) as stream:
        stream.write(LINKS.encode())
    (lists / "wikidata.json").write_text(json.dumps(WIKIDATA_ROWS) + "\n")
    (root / "code_composition_train.txt").write_text("\n".join(composition_training_lines()) + "\n")

    docs = root / "documents"
    docs.mkdir()
    rows = {
        "urls": [
            {"id": f"u{i}", "text": f"page {i} " * (i % 3 + 1), "source": "web", "metadata": {} if url is None else
             {"url": url}}
            for i, url in enumerate(URL_DOCS)
        ],
        "html": [
            {"id": f"h{i}", "text": f"extracted text {i}", "source": "warc", "metadata": {"html": html}}
            for i, html in enumerate(HTML_DOCS)
        ],
        "code": [{"id": f"c{i}", "source": "stack", **doc} for i, doc in enumerate(CODE_DOCS)],
        "composition": [{"id": f"p{i}", "text": text, "source": "mixed"} for i, text in enumerate(COMPOSITION_DOCS)],
        "pii": [{"id": f"x{i}", "text": text, "source": "web"} for i, text in enumerate(PII_DOCS)],
    }
    for group, group_rows in rows.items():
        (docs / f"{group}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in group_rows))


def train_composition_model(train_file: Path, model_file: Path) -> None:
    """The tiny code_composition model, trained in the reference venv (one thread and a seed: reproducible)."""
    code = (
        "import fasttext, json, sys\n"
        "m = fasttext.train_supervised(input=sys.argv[1], **json.loads(sys.argv[3]))\n"
        "m.save_model(sys.argv[2])\n"
    )
    params = json.dumps(FASTTEXT_PARAMS)
    args = [str(REFERENCE_PYTHON), "-c", code, str(train_file), str(model_file), params]
    subprocess.run(args, check=True, cwd=model_file.parent)


def run_reference(inputs: Path, work: Path, model: Path) -> dict[str, Path]:
    """`dolma tag` once per documents group; returns group -> its (gzipped JSONL) attribute file."""
    lists = {name: [str(inputs / "lists" / f) for f in files] for name, files in URL_TAGGERS.items()}
    overlay = presidio_overlay()
    spacy_model = work / "spacy_blank_en"
    blank_spacy_pipeline(str(REFERENCE_PYTHON), spacy_model, overlay)
    outputs = {}
    for group, taggers in GROUPS.items():
        docs_dir = work / group / "documents"
        docs_dir.mkdir(parents=True)
        with gzip.open(docs_dir / f"{group}.jsonl.gz", "wb") as stream:
            stream.write((inputs / "documents" / f"{group}.jsonl").read_bytes())
        argv = ["tag", "--documents", str(docs_dir / f"{group}.jsonl.gz"), "--taggers", *taggers,
                "--experiment", "golden", "--debug"]
        spec = work / group / "spec.json"
        spec.write_text(json.dumps({"lists": lists, "model": str(model), "argv": argv, "presidio": group == "pii",
                                    "overlay": str(overlay), "spacy_model": str(spacy_model)}))
        # run outside the repository, whose own `dolma/` package would shadow the reference's
        subprocess.run([str(REFERENCE_PYTHON), "-c", REFERENCE_RUNNER, str(spec)], check=True, cwd=work)
        outputs[group] = work / group / "attributes" / "golden" / f"{group}.jsonl.gz"
    return outputs


def main() -> None:
    if not REFERENCE_PYTHON.exists():
        sys.exit(f"reference venv missing: {REFERENCE_PYTHON} (run benchmarks/setup_reference.sh)")
    shutil.rmtree(OUT, ignore_errors=True)
    write_inputs(OUT / "inputs")
    expected = OUT / "expected"
    expected.mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "code_composition.bin"
        train_composition_model(OUT / "inputs" / "code_composition_train.txt", model)
        for group, path in run_reference(OUT / "inputs", Path(tmp), model).items():
            with gzip.open(path, "rt") as stream:
                (expected / f"{group}.jsonl").write_text(stream.read())
    manifest = {"groups": GROUPS, "lists": URL_TAGGERS, "fasttext_params": FASTTEXT_PARAMS}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (OUT / "README.md").write_text(
        "dolma 1.2.1 outputs for the code, license and URL-list taggers; regenerate with "
        "`benchmarks/golden_taggers_code.py`.\n\n"
        "`inputs/documents/<group>.jsonl` were tagged by the reference `dolma tag --experiment golden`, with each "
        "list URL replaced by the files in `inputs/lists/` named in `manifest.json`, and the code_composition model "
        "trained from `inputs/code_composition_train.txt` with `fasttext_params`; `pii_presidio_v1` ran Presidio "
        "2.2.366 on a blank English spaCy pipeline (`spacy.blank('en')`), with dolma's broken Presidio check bypassed "
        "(dolma 1.2.1 looks for a module named `presidio-analyzer`, never finds it, and refuses to build the "
        "tagger). `expected/<group>.jsonl` are its attribute files.\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
