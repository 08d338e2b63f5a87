"""Regenerate tests/fixtures/dolma_golden/taggers_lang/: dolma 1.2.1's language-ID, token-count, punctuation and
repetition tagger outputs on a small multilingual corpus.

Writes the corpus (several languages, short and long documents, paragraphs, blank lines, emoji, characters outside
the BMP, control characters) as two documents files, trains a tiny BPE tokenizer in the reference venv, then runs
the reference `dolma tag --debug` (in .bench/venvs/dolma-1.2.1) with `Tokenizer.from_pretrained` answering every
hub name with that tokenizer. Each tagger's attribute lines (both files, in order, keys sorted) are stored in
`expected/<tagger>.jsonl.gz`. The cld3 taggers skip the empty document, on which dolma's cld3 taggers crash.

dolma's cld3 taggers need pycld3 (`import cld3`), which benchmarks/setup_reference.sh does not install and PyPI
has only as a source package whose generated C++ predates Python 3.11; build it once with protoc:

    apt-get install -y protobuf-compiler libprotobuf-dev
    python3.11 -m venv /tmp/b && /tmp/b/bin/pip install "cython<3.1" setuptools wheel
    pip download --no-deps --no-binary :all: pycld3==0.22 && tar xzf pycld3-0.22.tar.gz && cd pycld3-0.22
    USE_CYTHON=1 /tmp/b/bin/pip wheel --no-build-isolation --no-deps . -w dist
    .bench/venvs/dolma-1.2.1/bin/pip install --no-deps dist/pycld3-0.22-*.whl

Run: `.venv/bin/python benchmarks/golden_taggers_lang.py`.
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
OUT = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "taggers_lang"
EXPERIMENT = "golden"

SENTENCES = {
    "en": [
        "The committee published its annual report on water quality in the northern lakes.",
        "Most of the volunteers arrived early and stayed until the last boxes were packed.",
        "If you want to understand the results, start with the second chapter of the book.",
        "Our small team has been working on this open source library for three years.",
        "The weather was cold, but the children played in the park all afternoon.",
    ],
    "fr": [
        "Le comité a publié son rapport annuel sur la qualité de l'eau des lacs du nord.",
        "La plupart des bénévoles sont arrivés tôt et sont restés jusqu'à la fin.",
        "Pour comprendre les résultats, il faut commencer par le deuxième chapitre du livre.",
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
    "ru": [
        "Комитет опубликовал ежегодный доклад о качестве воды в северных озёрах.",
        "Большинство добровольцев пришли рано и остались до самого конца.",
        "Было холодно, но дети весь день играли в парке.",
    ],
    "ja": [
        "委員会は北部の湖の水質に関する年次報告書を発表しました。",
        "ボランティアの多くは早く到着し、最後まで残りました。",
        "寒かったが、子供たちは午後ずっと公園で遊んだ。",
    ],
    "zh": [
        "委员会发布了关于北方湖泊水质的年度报告。",
        "大多数志愿者很早就到了，一直待到最后。",
        "天气很冷，但孩子们整个下午都在公园里玩。",
    ],
    "ar": [
        "نشرت اللجنة تقريرها السنوي عن جودة المياه في البحيرات الشمالية.",
        "وصل معظم المتطوعين مبكرا وبقوا حتى النهاية.",
    ],
}

SPECIAL_TEXTS = [
    "",
    "   \n\t\n  ",
    "Great job 🎉🎉 👍\n😀😀😀\n!!! ??? ...\n\n— « » … ‼\n",
    "𝔗𝔥𝔦𝔰 𝔦𝔰 𝔞 𝔣𝔯𝔞𝔨𝔱𝔲𝔯 𝔰𝔢𝔫𝔱𝔢𝔫𝔠𝔢 and this part is plain English text.\n𠀀𠀁𠂢 are rare CJK characters.\n",
    "Family 👨‍👩‍👧 and flags 🇫🇷🇩🇪 in an English sentence about travelling across Europe by train.",
    "Hello\x01world, this\x7f line has control\x85 characters in an English sentence.\x00",
    "Contact us at someone@example.com or visit https://www.example.com/page?id=3 for the full report.",
    "12345 67890\n3.14159\n-- ** --\n",
    "Prices: $5 + €3 = 8 | a^b ~c `d` <tag> 100% #1 @home\n$$ ++ ==\n",
    "ok\r\nwindows line endings here\r\n\r\nand another paragraph\r\n",
    "na na na na na na na na na na na na na na\nabcabcabcabcabc\n\nthe same the same the same the same the same",
    "x",
    "Mixed: the first half is English, la seconde moitié est en français, und der Rest ist Deutsch.",
]


def corpus() -> list[list[dict]]:
    """The documents of the two files: single sentences, long multi-paragraph documents, mixed-language ones."""
    docs: list[str] = []
    for sentences in SENTENCES.values():
        docs.append(sentences[0])
        docs.append("\n".join(sentences) + "\n")
    for lang in ("en", "fr", "de"):
        paragraphs = [" ".join(SENTENCES[lang][i:] + SENTENCES[lang][:i]) for i in range(len(SENTENCES[lang]))]
        docs.append("\n\n".join(paragraphs * 2))
    docs.append("\n".join(SENTENCES[lang][1] for lang in SENTENCES))
    docs.append(SENTENCES["en"][2] + "\n   \n" + SENTENCES["ja"][0] + "\n\n\n" + SENTENCES["ru"][1])
    docs.extend(SPECIAL_TEXTS)
    rows = [{"id": f"doc-{i:03d}", "text": text, "source": "golden"} for i, text in enumerate(docs)]
    half = len(rows) // 2
    return [rows[:half], rows[half:]]


TAGGERS = {
    "language": [
        "cld2_doc_v2",
        "cld2_en_doc_v2",
        "cld2_en_paragraph_v2",
        "cld2_en_paragraph_with_doc_score_v2",
        "cld2_paragraph_v2",
        "langdetect_doc_en_v1",
        "langdetect_doc_v1",
        "langdetect_en_paragraph_v1",
        "langdetect_paragraph_v1",
        "lingua_1e2",
        "lingua_doc_en_v1",
        "lingua_doc_v1",
        "lingua_en_only_v1",
        "lingua_en_par_v1",
        "lingua_par_v1",
    ],
    "cld3": ["cld3_en_doc_v2", "cld3_en_paragraph_v2", "cld3_en_paragraph_with_doc_score_v2"],
    "length": [
        "uniseg_length_paragraphs_v1",
        "uniseg_length_paragraphs_with_doc_length_v1",
        "uniseg_length_paragraphs_with_empty_v1",
        "uniseg_length_v1",
        "olmo_pretokenizer_v1",
        "olmo_pretokenizer_with_paragraphs_v1",
        "tokenizers_AI2_OLMo_v1",
        "tokenizers_EleutherAI_GPT_NeoX_20B",
        "dolma_v1_tokenizer",
        "dolma_v2_tokenizer",
        "not_alphanum_paragraph_v1",
    ],
    "repetitions": [
        "repetitions_v1",
        "paragraph_repetitions_v1",
        "tokenizer_repetitions_v1",
        "paragraph_tokenizer_repetitions_v1",
        "tokenizer_repetitions_v2r2",
    ],
}
# Trains, in the reference venv, a byte-level BPE whose post-processor adds BOS/EOS (so dolma_v*_tokenizer's
# special tokens show in the counts).
TRAIN_TOKENIZER = r"""
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

tokenizer = Tokenizer(models.BPE())
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<bos>", "<eos>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
tokenizer.train_from_iterator(open(sys.argv[1], encoding="utf-8").read().split("\n"), trainer=trainer)
tokenizer.post_processor = processors.TemplateProcessing(
    single="<bos> $A <eos>", special_tokens=[("<bos>", 0), ("<eos>", 1)])
tokenizer.save(sys.argv[2])
"""

# Runs inside the reference venv: every hub tokenizer name loads the local file, then `dolma tag` runs.
REFERENCE_RUNNER = r"""
import json, sys
import tokenizers
from dolma.cli.__main__ import main

spec = json.loads(sys.argv[1])
tokenizers.Tokenizer.from_pretrained = staticmethod(lambda name, *args, **kwargs: tokenizers.Tokenizer.from_file(
    spec["tokenizer"]))
main(spec["argv"])
"""


def reference_has_cld3() -> bool:
    """Whether the reference venv can import pycld3's `cld3` module."""
    probe = subprocess.run([str(REFERENCE_PYTHON), "-c", "import cld3"], capture_output=True, cwd=tempfile.gettempdir())
    return probe.returncode == 0


def write_inputs(inputs: Path) -> list[Path]:
    """The documents files (plain JSON lines) of the fixture; returns their paths."""
    (inputs / "documents").mkdir(parents=True)
    files = []
    for k, rows in enumerate(corpus()):
        path = inputs / "documents" / f"part-{k}.jsonl"
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        files.append(path)
    return files


def train_tokenizer(inputs: Path, work: Path) -> Path:
    """The tiny tokenizer, trained on the corpus texts by the reference's `tokenizers`."""
    text = work / "train.txt"
    texts = [row["text"] for rows in corpus() for row in rows]
    text.write_text("\n".join(texts), encoding="utf-8")
    target = inputs / "tokenizer.json"
    subprocess.run([str(REFERENCE_PYTHON), "-c", TRAIN_TOKENIZER, str(text), str(target)], check=True, cwd=work)
    return target


def run_reference(files: list[Path], tokenizer: Path, taggers: list[str], work: Path, skip_empty: bool) -> list[Path]:
    """`dolma tag --debug` on both files with one experiment (without empty-text documents if `skip_empty`);
    returns the attribute files, in order."""
    docs_dir = work / "documents"
    docs_dir.mkdir(parents=True)
    for path in files:
        lines = path.read_bytes().split(b"\n")[:-1]  # not splitlines(): texts hold U+0085
        kept = [line + b"\n" for line in lines if not (skip_empty and json.loads(line)["text"] == "")]
        with gzip.GzipFile(docs_dir / f"{path.name}.gz", "wb", mtime=0) as stream:
            stream.write(b"".join(kept))
    argv = ["tag", "--documents", str(docs_dir / "*.jsonl.gz"), "--taggers", *taggers]
    argv += ["--experiment", EXPERIMENT, "--debug", "--processes", "1"]
    spec = json.dumps({"tokenizer": str(tokenizer), "argv": argv})
    subprocess.run([str(REFERENCE_PYTHON), "-c", REFERENCE_RUNNER, spec], check=True, cwd=work)
    return [work / "attributes" / EXPERIMENT / f"{path.name}.gz" for path in files]


def split_by_tagger(attribute_files: list[Path], taggers: list[str]) -> dict[str, list[dict]]:
    """Per tagger, its `{"id", "attributes"}` lines over all files, keys keeping dolma's full names."""
    out: dict[str, list[dict]] = {name: [] for name in taggers}
    for path in attribute_files:
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for line in stream:
                row = json.loads(line)
                for name in taggers:
                    prefix = f"{EXPERIMENT}__{name}__"
                    attributes = {k: v for k, v in row["attributes"].items() if k.startswith(prefix)}
                    out[name].append({"id": row["id"], "attributes": attributes})
    return out


def main() -> None:
    if not REFERENCE_PYTHON.exists():
        sys.exit(f"reference venv missing: {REFERENCE_PYTHON} (run benchmarks/setup_reference.sh)")
    if not reference_has_cld3():
        sys.exit("the reference venv lacks pycld3 (`import cld3`): build it as this script's docstring says")
    shutil.rmtree(OUT, ignore_errors=True)
    expected = OUT / "expected"
    expected.mkdir(parents=True)
    files = write_inputs(OUT / "inputs")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = train_tokenizer(OUT / "inputs", Path(tmp))
        for group, taggers in TAGGERS.items():
            # pycld3 answers None for an empty text, on which dolma's cld3 taggers crash
            attribute_files = run_reference(files, tokenizer, taggers, Path(tmp) / group, skip_empty=group == "cld3")
            for name, rows in split_by_tagger(attribute_files, taggers).items():
                # keys sorted: lingua orders languages of equal confidence differently from run to run
                data = "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)
                (expected / f"{name}.jsonl.gz").write_bytes(gzip.compress(data.encode("utf-8"), mtime=0))
    (OUT / "README.md").write_text(
        "dolma 1.2.1 outputs for the language-ID, token-count, punctuation and repetition taggers; regenerate with "
        "`benchmarks/golden_taggers_lang.py`.\n\n"
        "`inputs/documents/part-{0,1}.jsonl` were tagged by the reference `dolma tag --experiment golden --debug`, "
        "with every hub tokenizer replaced by `inputs/tokenizer.json`; `expected/<tagger>.jsonl.gz` holds each "
        "tagger's attribute lines for both files, in order. The cld3 taggers (pycld3 0.22) were not run on the "
        "empty document, on which dolma crashes.\n"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
