"""Regenerate tests/fixtures/dolma_golden/taggers_fasttext/: dolma 1.2.1's fastText tagger outputs (language id,
Jigsaw toxicity and NSFW, DCLM and Dolma 1.7 quality) on a small corpus, with tiny models trained here.

Trains, with the reference venv's fastText, five tiny supervised models on generated text, under the label names
dolma's taggers expect (lid.176's `__label__<lang>`, Jigsaw's `__label__toxic`/`__label__non_toxic` and
`__label__nsfw`/`__label__non_nsfw`, DCLM's `__label__hq`/`__label__cc`, Dolma 1.7's ten source labels). Writes the
corpus (five languages, empty and whitespace-only documents, multi-paragraph and long ones, sentences for blingfire,
mixed case, `\\r\\n`, tabs, emoji, unknown words) as two documents files, then runs the reference `dolma tag --debug`
(in .bench/venvs/dolma-1.2.1) with each tagger class's `MODEL_PATH` set to its local model (dolma's `cached_path`
returns local paths unchanged). `dolma17-quality` runs without the documents that have no non-whitespace text, on
which dolma crashes (`tokens, _ = zip(*[])`). Each tagger's attribute lines (both files, in order) are stored in
`expected/<tagger>.jsonl.gz`. Run: `.venv/bin/python benchmarks/golden_taggers_fasttext.py`.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PYTHON = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "python"
OUT = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "taggers_fasttext"
EXPERIMENT = "golden"

SENTENCES = {
    "en": [
        "The committee published its annual report on water quality in the northern lakes.",
        "Most of the volunteers arrived early and stayed until the last boxes were packed.",
        "If you want to understand the results, start with the second chapter of the book.",
        "The weather was cold, but the children played in the park all afternoon.",
    ],
    "fr": [
        "Le comité a publié son rapport annuel sur la qualité de l'eau des lacs du nord.",
        "La plupart des bénévoles sont arrivés tôt et sont restés jusqu'à la fin.",
        "Il faisait froid, mais les enfants ont joué dans le parc tout l'après-midi.",
    ],
    "de": [
        "Der Ausschuss hat seinen Jahresbericht über die Wasserqualität der Seen veröffentlicht.",
        "Die meisten Freiwilligen kamen früh und blieben bis zum Schluss.",
        "Es war kalt, aber die Kinder spielten den ganzen Nachmittag im Park.",
    ],
    "es": [
        "El comité publicó su informe anual sobre la calidad del agua de los lagos del norte.",
        "La mayoría de los voluntarios llegaron temprano y se quedaron hasta el final.",
        "Hacía frío, pero los niños jugaron en el parque toda la tarde.",
    ],
    "it": [
        "Il comitato ha pubblicato la relazione annuale sulla qualità dell'acqua dei laghi.",
        "La maggior parte dei volontari è arrivata presto ed è rimasta fino alla fine.",
        "Faceva freddo, ma i bambini hanno giocato nel parco tutto il pomeriggio.",
    ],
}

# Each class's words, from which both training lines and the corpus are drawn.
TOPICS = {
    "toxic": "you stupid idiot hate ugly dumb loser pathetic shut up worthless moron awful",
    "non_toxic": "thank you kind help please welcome great friend share nice wonderful agree",
    "nsfw": "nude explicit adult erotic naked lingerie xxx sexy strip intimate fetish",
    "non_nsfw": "garden recipe weather school museum river library bicycle kitchen forest",
    "hq": "theorem proof hypothesis evidence analysis history explain because therefore research",
    "cc": "click here buy now free shipping deal subscribe login cookies cart discount",
    "wiki": "born village province century located river population census district capital",
    "wikiref": "journal retrieved archived doi isbn press edition cited original volume",
    "sw": "question answer code error function stack variable compile python return",
    "pes2o": "abstract method results patients study significant cohort clinical sample model",
    "adult": "nude explicit adult erotic naked xxx sexy webcam escort fetish",
    "fakenews": "shocking truth exposed secret government hoax they hide miracle cure",
    "math": "integer prime equation matrix derivative integral lemma vector polynomial",
    "books": "chapter she whispered he said the old house darkness door remembered",
    "openhermes": "assistant user instruction response step explain sure here answer helpful",
}
MODELS = {
    # model file -> (labels, word n-grams, hash buckets): the Jigsaw and quality models are bigram ones, as dolma's
    "lang.bin": (list(SENTENCES), 1, 0),
    "hatespeech.bin": (["toxic", "non_toxic"], 2, 64),
    "nsfw.bin": (["nsfw", "non_nsfw"], 2, 64),
    "dclm.bin": (["hq", "cc"], 2, 64),
    "dolma17.bin": (["cc", "wiki", "wikiref", "sw", "pes2o", "adult", "fakenews", "math", "books", "openhermes"], 1, 0),
}
TAGGERS = {
    "ft_lang_id_1e2": "lang.bin",
    "ft_lang_id_doc_v1": "lang.bin",
    "ft_lang_id_en_doc_v2": "lang.bin",
    "ft_lang_id_en_only_v2": "lang.bin",
    "ft_lang_id_en_paragraph_v2": "lang.bin",
    "ft_lang_id_en_paragraph_with_doc_score_v2": "lang.bin",
    "ft_lang_id_paragraph_v1": "lang.bin",
    "jigsaw_hatespeech_document_v2": "hatespeech.bin",
    "jigsaw_hatespeech_sentence_v2": "hatespeech.bin",
    "jigsaw_nsfw_document_v1": "nsfw.bin",
    "jigsaw_nsfw_sencence_v2": "nsfw.bin",
    "dclm-oh-eli5": "dclm.bin",
    "dolma17-quality": "dolma17.bin",
}
# dolma17-quality crashes on documents without a whitespace-separated token
NEEDS_TOKENS = {"dolma17-quality"}


def class_words(label: str) -> list[str]:
    """The words of one label: a language's sentences or a topic's word list."""
    if label in SENTENCES:
        return " ".join(SENTENCES[label]).lower().replace(",", "").replace(".", "").split()
    return TOPICS[label].split()


def training_text(labels: list[str]) -> str:
    """fastText training lines: 60 lines of 4 to 12 words per label, shuffled with a fixed seed."""
    rng = random.Random(0)
    lines = []
    for label in labels:
        words = class_words(label)
        lines += [f"__label__{label} " + " ".join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(60)]
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


def words(label: str, n: int, seed: int) -> str:
    """`n` words of one label, drawn with a fixed seed."""
    return " ".join(random.Random(f"{label}-{seed}").choices(class_words(label), k=n))


SPECIAL_TEXTS = [
    "",
    "   ",
    "   \n\t\n  \n",
    "\n",
    "qwzx vvkj plorf",  # only words no model knows
    "THE COMMITTEE PUBLISHED ITS ANNUAL REPORT. Le Comité A Publié Son Rapport.",
    "  \tThe weather was cold,\tbut the children played.  \n\n",
    "ok\r\nwindows line endings here\r\n\r\nand another paragraph\r\n",
    "Great job 🎉🎉 the children played 👍\n😀😀😀\n",
    "Vertical\x0btab and form\x0cfeed and line\u2028separator and next\x85line in one English text.",
    "x",
    "Mixed: the first half is English, la seconde moitié est en français, und der Rest ist Deutsch.",
    "You stupid idiot. Thank you for your kind help! Shut up, loser? Please share, friend.",
    "Click here to buy now! Free shipping on every deal.\nThe theorem has a proof because the evidence is clear.",
    "Mr. Smith went to Washington. He arrived at 3 p.m. on Jan. 5th! Did he stay? Yes.",
    "\r\r\n\r",
    "İSTANBUL DER AUSSCHUSS\x00HAT SEINEN BERICHT",  # lowercasing lengthens İ; NUL separates words for fastText
]


def corpus() -> list[list[dict]]:
    """The documents of the two files: per-language sentences and paragraphs, per-topic texts, long and
    multi-paragraph documents, mixed ones and the special texts."""
    docs: list[str] = []
    for sentences in SENTENCES.values():
        docs.append(sentences[0])
        docs.append("\n".join(sentences) + "\n")
    for seed, topic in enumerate(TOPICS):
        text = words(topic, 14, seed)
        docs.append(text[0].upper() + text[1:] + ". " + words(topic, 9, seed + 50).capitalize() + "!")
    docs.append("\n\n".join(" ".join(SENTENCES[lang]) for lang in SENTENCES) * 3)  # long, multi-paragraph
    docs.append("\n".join(f"{words('toxic', 6, i)}. {words('non_toxic', 7, i)}." for i in range(6)))
    docs.append("\n".join(words(topic, 8, 7) for topic in ("hq", "cc", "math", "books", "nsfw")) + "\n")
    docs.append(SENTENCES["en"][2] + "\n   \n" + SENTENCES["de"][0] + "\n\n\n" + SENTENCES["fr"][1])
    docs.extend(SPECIAL_TEXTS)
    rows = [{"id": f"doc-{i:03d}", "text": text, "source": "golden"} for i, text in enumerate(docs)]
    half = len(rows) // 2
    return [rows[:half], rows[half:]]


# Runs inside the reference venv: trains each model (one thread, fixed seed) from its training text.
TRAIN_MODELS = r"""
import json, sys
import fasttext

for model, (train_file, ngrams, buckets) in json.loads(sys.argv[1]).items():
    classifier = fasttext.train_supervised(
        input=train_file, dim=4, epoch=20, lr=0.5, wordNgrams=ngrams, bucket=buckets, minCount=1, thread=1,
        seed=0, verbose=0)
    classifier.save_model(model)
"""

# Runs inside the reference venv: each tagger class loads its local model, then `dolma tag` runs.
REFERENCE_RUNNER = r"""
import json, sys
from dolma.cli.__main__ import main
from dolma.core.registry import TaggerRegistry

spec = json.loads(sys.argv[1])
for name, model in spec["models"].items():
    TaggerRegistry.get(name).MODEL_PATH = model
main(spec["argv"])
"""


def train_models(models_dir: Path, work: Path) -> dict[str, Path]:
    """The tiny models, trained by the reference's fastText; returns their paths by file name."""
    models_dir.mkdir(parents=True)
    spec = {}
    for name, (labels, ngrams, buckets) in MODELS.items():
        train_file = work / f"{name}.txt"
        train_file.write_text(training_text(labels), encoding="utf-8")
        spec[str(models_dir / name)] = [str(train_file), ngrams, buckets]
    subprocess.run([str(REFERENCE_PYTHON), "-c", TRAIN_MODELS, json.dumps(spec)], check=True, cwd=work)
    return {name: models_dir / name for name in MODELS}


def write_inputs(inputs: Path) -> list[Path]:
    """The documents files (plain JSON lines); returns their paths."""
    (inputs / "documents").mkdir(parents=True)
    files = []
    for k, rows in enumerate(corpus()):
        path = inputs / "documents" / f"part-{k}.jsonl"
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        files.append(path)
    return files


def run_reference(files: list[Path], models: dict[str, str], work: Path, skip_tokenless: bool) -> list[Path]:
    """`dolma tag --debug` of the taggers in `models` on both files (without token-less documents if
    `skip_tokenless`); returns the attribute files, in order."""
    docs_dir = work / "documents"
    docs_dir.mkdir(parents=True)
    for path in files:
        lines = path.read_bytes().split(b"\n")[:-1]  # not splitlines(): texts hold U+2028 and U+0085
        kept = [line + b"\n" for line in lines if not (skip_tokenless and not json.loads(line)["text"].split())]
        with gzip.GzipFile(docs_dir / f"{path.name}.gz", "wb", mtime=0) as stream:
            stream.write(b"".join(kept))
    argv = ["tag", "--documents", str(docs_dir / "*.jsonl.gz"), "--taggers", *models]
    argv += ["--experiment", EXPERIMENT, "--debug", "--processes", "1"]
    spec = json.dumps({"models": models, "argv": argv})
    subprocess.run([str(REFERENCE_PYTHON), "-c", REFERENCE_RUNNER, spec], check=True, cwd=work)
    return [work / "attributes" / EXPERIMENT / f"{path.name}.gz" for path in files]


def split_by_tagger(attribute_files: list[Path], taggers: list[str]) -> dict[str, list[dict]]:
    """Per tagger, its `{"id", "attributes"}` lines over all files, keys keeping dolma's full names (in which
    characters other than [A-Za-z0-9_] become `_`: `dclm-oh-eli5` writes `golden__dclm_oh_eli5__score`)."""
    out: dict[str, list[dict]] = {name: [] for name in taggers}
    for path in attribute_files:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                row = json.loads(line)
                for name in taggers:
                    prefix = f"{EXPERIMENT}__{re.sub('[^A-Za-z0-9_]', '_', name)}__"  # dolma's make_variable_name
                    attributes = {k: v for k, v in row["attributes"].items() if k.startswith(prefix)}
                    out[name].append({"id": row["id"], "attributes": attributes})
    return out


def main() -> None:
    if not REFERENCE_PYTHON.exists():
        sys.exit(f"reference venv missing: {REFERENCE_PYTHON} (run benchmarks/setup_reference.sh)")
    shutil.rmtree(OUT, ignore_errors=True)
    expected = OUT / "expected"
    expected.mkdir(parents=True)
    files = write_inputs(OUT / "inputs")
    with tempfile.TemporaryDirectory() as tmp:
        models = train_models(OUT / "inputs" / "models", Path(tmp))
        for skip in (False, True):
            group = {name: str(models[m]) for name, m in TAGGERS.items() if (name in NEEDS_TOKENS) == skip}
            attribute_files = run_reference(files, group, Path(tmp) / f"skip-{skip}", skip_tokenless=skip)
            for name, rows in split_by_tagger(attribute_files, list(group)).items():
                data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
                (expected / f"{name}.jsonl.gz").write_bytes(gzip.compress(data.encode("utf-8"), mtime=0))
    # which model each tagger was given, read back by tests/test_taggers_fasttext_golden.py
    (OUT / "inputs" / "taggers.json").write_text(json.dumps(TAGGERS, indent=1, sort_keys=True) + "\n")
    (OUT / "README.md").write_text(
        "dolma 1.2.1 outputs for the fastText taggers; regenerate with `benchmarks/golden_taggers_fasttext.py`.\n\n"
        "`inputs/models/*.bin` are tiny fastText models trained on generated text (see the script for their labels); "
        "`inputs/documents/part-{0,1}.jsonl` were tagged by the reference `dolma tag --experiment golden --debug` "
        "with each tagger's `MODEL_PATH` set to its model; `expected/<tagger>.jsonl.gz` holds each tagger's "
        "attribute lines for both files, in order. `dolma17-quality` was not run on the documents without a "
        "non-whitespace token, on which dolma crashes.\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
