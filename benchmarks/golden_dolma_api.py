"""Regenerate tests/fixtures/dolma_golden/dolma_api/: dolma-style tagger modules run by the reference dolma 1.2.1.

Writes the tagger modules (document-level, span-level with several span types and defaults, with metadata, and
fastText at document, paragraph and sentence level on a model trained here), small documents and a probe of
dolma's data types; then runs the reference `dolma tag --tagger_modules ...` and stores its attribute files, and
the probe's answers under the reference interpreter. tests/test_dolma_api.py checks dolma_py against them.

    .venv/bin/python benchmarks/golden_dolma_api.py     (needs benchmarks/setup_reference.sh)
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import REPO_ROOT, require_reference

from dolma_py.io.atomic import atomic_dir

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "dolma_api"

TAGGERS_MODULE = '''"""dolma-style taggers: document scores, typed spans with defaults, and one reading metadata."""

import re

from dolma import BaseTagger, add_tagger
from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, Span
from dolma.core.taggers import BaseTaggerWithMetadata
from dolma.core.utils import split_paragraphs


@add_tagger("api_doc_stats")
class DocStats(BaseTagger):
    def predict(self, doc: Document) -> DocResult:
        text = doc.text
        end = len(text)
        return DocResult(
            doc=doc,
            spans=[
                Span(start=0, end=end, type="num_words", score=len(text.split())),
                Span(0, end, "upper_ratio", sum(c.isupper() for c in text) / max(1, end)),
                Span(0, end, "third", 1 / 3),
                Span(0, end, "has-digit", float(any(c.isdigit() for c in text))),
                Span(0, end, "same-key", 0.25),
                Span(0, end, "same_key", 0.75),  # both are named ..._same_key: dolma writes the last
            ],
        )


@add_tagger("api_spans")
class ParagraphSpans(BaseTagger):
    @property
    def defaults(self):
        return ["long_paragraph", "short_paragraph"]

    def predict(self, doc: Document) -> DocResult:
        spans = []
        for para in split_paragraphs(doc.text):
            kind = "long_paragraph" if len(para.text) > 40 else "short_paragraph"
            spans.append(Span(para.start, para.end, kind, score=len(para.text.split()) / 7))
        for match in re.finditer(r"\\b[A-Z]\\w*", doc.text):
            spans.append(Span(match.start(), match.end(), "capitalized"))
        spans.append(Span(0, 0, "", 1.0))  # an empty type: dolma drops it
        return DocResult(doc=doc, spans=spans)


@add_tagger("api-with.metadata")
class MetadataTagger(BaseTaggerWithMetadata):
    def predict(self, doc: DocumentWithMetadata) -> DocResult:
        end = len(doc.text)
        return DocResult(
            doc=doc,
            spans=[
                Span(0, end, "has_url", 1.0 if doc.metadata.get("url") else 0.0),
                Span(0, end, "n_metadata_keys", len(doc.metadata)),
                Span(0, end, "source_length", len(doc.source)),
                Span(0, end, "versioned", 1.0 if doc.version else 0.0),
            ],
        )
'''

FASTTEXT_MODULE = '''"""dolma-style fastText taggers on the topic model beside this file, at three levels."""

import os

from dolma import add_tagger
from dolma.core.data_types import TextSlice
from dolma.core.ft_tagger import BaseFastTextTagger, Prediction

MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "topic_model.bin")


class TopicTagger(BaseFastTextTagger):
    MODE = BaseFastTextTagger.DOCUMENT_LEVEL_TAGGER
    K = -1
    THRESHOLD = 0.0

    def __init__(self):
        super().__init__(model_path=MODEL_PATH, model_mode=self.MODE)

    def predict_slice(self, text_slice: TextSlice):
        line = text_slice.text.lower().replace("\\n", " ").strip()
        labels, probs = self.classifier.predict(line, k=self.K, threshold=self.THRESHOLD)
        return [Prediction(label=label.replace("__label__", ""), score=prob) for label, prob in zip(labels, probs)]


@add_tagger("api_ft_doc")
class DocTopics(TopicTagger):
    pass


@add_tagger("api_ft_paragraph")
class ParagraphTopics(TopicTagger):
    MODE = BaseFastTextTagger.PARAGRAPH_LEVEL_TAGGER


@add_tagger("api_ft_sentence")
class SentenceTopics(TopicTagger):
    MODE = BaseFastTextTagger.SENTENCE_LEVEL_TAGGER
    K = 2
    THRESHOLD = 0.2
'''

PROBE_MODULE = '''"""Exercises dolma's data types and splitters; `probe()` answers in JSON types, for comparison."""

from dolma.core.data_types import DocResult, Document, DocumentWithMetadata, InputSpec, OutputSpec, Span, TextSlice
from dolma.core.taggers import BaseTagger
from dolma.core.utils import split_paragraphs, split_sentences

TEXT = "Hello world. Second sentence here!\\n\\n  \\nNew paragraph \\U0001F600 with emoji. Done.\\nlast"


class Probe(BaseTagger):
    @property
    def defaults(self):
        return ["empty"]

    def predict(self, doc):
        return DocResult(doc=doc, spans=[Span(0, 5, "a", 1 / 3), Span(1, 2, "b", 2), Span(0, 1, "a", 0.123456789)])


def _slices(slices):
    return [[s.start, s.end, s.text] for s in slices]


def probe():
    doc = Document(source="src", id="x1", text=TEXT, version="v1")
    mdoc = DocumentWithMetadata(source="src", id="x2", text=TEXT, metadata={"url": "u"})
    spans = [
        Span(0, 5, "greet", 0.123456789),
        Span(6, 11, "word"),
        Span(3, 8, "x", score=2, experiment="e", tagger="t"),
    ]
    result = DocResult(doc=doc, spans=spans)
    tagged = DocResult(doc=doc, spans=[Span(0, 5, "k", 0.5, experiment="e", tagger="t"), spans[2]])
    doc_spec, out_spec = tagged.to_spec()
    parsed = DocResult.from_spec(
        InputSpec(id="x1", text=TEXT, source="src"),
        OutputSpec(id="x1", attributes={"e__t__k": [[0, 5, 0.5]], "plain": [[1, 2, 1]]}),
    )
    return {
        "doc_str": str(doc),
        "doc_json": doc.to_json(),
        "doc_from_json": str(Document.from_json(doc.to_json())),
        "mdoc_str": str(mdoc),
        "mdoc_json": mdoc.to_json(),
        "mdoc_default_metadata": DocumentWithMetadata(source="s", id="i", text="t").to_json(),
        "span_str": [str(s) for s in spans],
        "span_repr": repr(spans[0]),
        "mention": [s.mention(TEXT, window=w) for s in spans for w in (0, 3, 100)],
        "select": [s.select(doc) for s in spans],
        "len": [len(s) for s in spans],
        "span_json": [s.to_json() for s in spans],
        "span_json_text": [s.to_json(text=TEXT, window=2) for s in spans],
        "span_eq": [spans[0] == Span(0, 5, "greet", 0.123456789), spans[0] == Span(0, 5, "other", 0.1), spans[0] == 1],
        "span_to_spec": list(spans[2].to_spec()),
        "span_from_spec": [
            [s.start, s.end, s.type, s.score, s.experiment, s.tagger]
            for s in (Span.from_spec("a__b__c__d", (1, 2, 0.5)), Span.from_spec("plain", (1.0, 2.0, 1)))
        ],
        "result_json": result.to_json(),
        "result_json_doc": result.to_json(with_doc=True, window=1),
        "result_str": str(result),
        "result_from_json": str(DocResult.from_json(result.to_json(with_doc=True))),
        "result_to_spec": [doc_spec.id, doc_spec.text, out_spec.id, out_spec.source, out_spec.attributes],
        "result_from_spec": str(parsed),
        "text_slice": str(TextSlice(TEXT, 6, 11)),
        "paragraphs": _slices(split_paragraphs(TEXT)),
        "paragraphs_with_empty": _slices(split_paragraphs(TEXT, remove_empty=False)),
        "sentences": _slices(split_sentences(TEXT)),
        "no_sentences": _slices(split_sentences("")),
        "tag": Probe().tag(InputSpec(id="i", text=TEXT, source="s")),
    }
'''

TOPICS = {
    "sports": "ball goal team score match player coach league stadium referee".split(),
    "cooking": "oven recipe flour butter salt simmer pan garlic bake dough".split(),
    "tech": "code server python compiler memory network cloud debug kernel laptop".split(),
}
FILLER = "the a of and to in is it with".split()


def documents() -> list[list[dict]]:
    """Two small files: topical paragraphs, mixed documents, empty and whitespace-only text, emoji, metadata."""
    rng = random.Random(7)

    def sentence(topic: str, words: int = 6) -> str:
        picked = rng.choices(TOPICS[topic], k=words) + rng.choices(FILLER, k=2)
        rng.shuffle(picked)
        return " ".join(picked).capitalize() + "."

    part0 = [
        {"id": "a0", "text": f"{sentence('sports')} {sentence('sports')}", "source": "web",
         "metadata": {"url": "https://example.com/a0", "lang": "en"}},
        {"id": "a1", "text": f"{sentence('cooking')}\n\n{sentence('tech', 12)} {sentence('tech')}\n", "source": "web",
         "version": "v2"},
        {"id": "a2", "text": "", "source": "web"},
        {"id": "a3", "text": "   \n \t\n", "source": "books", "metadata": {}},
        {"id": "a4", "text": f"Emoji \U0001f600 {sentence('cooking')}\nUnknown zzz qqq 42.\n{sentence('sports')}",
         "source": "web", "metadata": {"url": ""}},
    ]
    part1 = [
        {"id": "b0", "text": "\n".join(sentence(t) for t in ("tech", "sports", "cooking", "tech")), "source": "news",
         "metadata": {"url": "https://example.com/b0", "year": 2023, "tags": ["x"]}},
        {"id": "b1", "text": "zzz qqq www", "source": "news"},
        {"id": "b2", "text": f"ALL CAPS {sentence('sports', 20).upper()} 1999", "source": "news",
         "added": "2023-01-01T00:00:00Z", "created": "2020-01-01T00:00:00Z"},
        {"id": "b3", "text": "Ünïcödé naïve café — “quotes” …\nSecond line here, short.", "source": "web"},
    ]
    return [part0, part1]


def train_text() -> str:
    rng = random.Random(0)
    lines = []
    for _ in range(300):
        topic = rng.choice(sorted(TOPICS))
        words = rng.choices(TOPICS[topic], k=6) + rng.choices(FILLER, k=3)
        rng.shuffle(words)
        lines.append(f"__label__{topic} {' '.join(words)}")
    return "\n".join(lines) + "\n"


RUNS = [
    {"taggers": ["api_doc_stats", "api_spans", "api-with.metadata", "api_ft_doc", "api_ft_paragraph",
                 "api_ft_sentence"], "experiment": None},
    {"taggers": ["api_spans", "api-with.metadata", "api_doc_stats"], "experiment": "api_exp"},
]
"""The `dolma tag` runs stored: one experiment per tagger (dolma's default), and three taggers in one experiment."""


def write_gz_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data, mtime=0))


def main() -> None:
    dolma = require_reference()
    with atomic_dir(FIXTURE) as staging, tempfile.TemporaryDirectory() as tmp:
        generate(staging, dolma, Path(tmp))
    files = sorted(p.relative_to(FIXTURE) for p in FIXTURE.rglob("*") if p.is_file())
    print(f"wrote {len(files)} files under {FIXTURE}:", *files, sep="\n  ")


def generate(out: Path, dolma: Path, tmp: Path) -> None:
    """Write the fixture into `out`, running the reference `dolma` (and its interpreter) in `tmp`."""
    python = dolma.parent / "python"
    modules = out / "modules"
    modules.mkdir(parents=True)
    (modules / "dolma_api_taggers.py").write_text(TAGGERS_MODULE)
    (modules / "dolma_api_fasttext.py").write_text(FASTTEXT_MODULE)
    (modules / "dolma_api_probe.py").write_text(PROBE_MODULE)
    for index, rows in enumerate(documents()):
        write_gz_jsonl(out / "documents" / f"part-{index}.jsonl.gz", rows)

    train = tmp / "train.txt"
    train.write_text(train_text())
    subprocess.run(
        [str(python), "-c", "import fasttext, sys; fasttext.train_supervised(sys.argv[1], dim=8, epoch=10, "
         "bucket=0, wordNgrams=1, thread=1, seed=0, verbose=0).save_model(sys.argv[2])",
         str(train), str(modules / "topic_model.bin")],
        check=True,
    )

    # dolma 1.2.1 re-imports a module given by .py path in each worker and fails ("has no attribute
    # '__path__'"), so the reference run imports the modules by name from PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(modules)}
    for run in RUNS:
        work = tmp / "run"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(out / "documents", work / "documents")
        cmd = [str(dolma), "tag", "--documents", str(work / "documents" / "*.jsonl.gz"),
               "--taggers", *run["taggers"], "--tagger_modules", "dolma_api_taggers", "dolma_api_fasttext",
               "--processes", "2"]
        if run["experiment"]:
            cmd += ["--experiment", run["experiment"]]
        subprocess.run(cmd, check=True, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
        for path in sorted((work / "attributes").rglob("*.jsonl.gz")):
            # dolma's gzip headers carry the time; recompressed without it, a rerun rewrites identical bytes
            target = out / path.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()), mtime=0))

    probe = subprocess.run(
        [str(python), "-c", "import json, dolma_api_probe; print(json.dumps(dolma_api_probe.probe()))"],
        check=True, env=env, cwd=tmp, capture_output=True, text=True,
    ).stdout
    (out / "probe.json").write_text(json.dumps(json.loads(probe), indent=1, ensure_ascii=False) + "\n")
    (out / "runs.json").write_text(json.dumps({"dolma": "1.2.1", "runs": RUNS}, indent=1) + "\n")


if __name__ == "__main__":
    main()
