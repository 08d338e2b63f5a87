"""dolma 1.2.1's code, license and URL-list taggers: our `dolma tag` output equals the golden fixtures dolma wrote
(benchmarks/golden_taggers_code.py), plus the errors for missing list/model files and packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dolma_py.cli.main import main
from dolma_py.data import Document
from dolma_py.errors import ConfigError, DolmaError
from taggers.registry import create_tagger, describe_taggers

GOLDEN = Path(__file__).parent / "fixtures" / "dolma_golden" / "taggers_code"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
PORTED = {
    *MANIFEST["lists"],
    "cc_re",
    "cc_re_fast",
    "code_composition",
    "code_secrets_v1",
    "code_starcoder_taggers_v1",
    "code_starcoder_taggers_v2",
    "pii_presidio_v1",
}


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def composition_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The golden's tiny code/prose/comment model, trained again here (one thread and a seed: the same model)."""
    import fasttext

    model = fasttext.train_supervised(
        input=str(GOLDEN / "inputs" / "code_composition_train.txt"), **MANIFEST["fasttext_params"]
    )
    path = tmp_path_factory.mktemp("model") / "code_composition.bin"
    model.save_model(str(path))
    return str(path)


def list_file(tmp_path: Path, name: str) -> str:
    """The tagger's golden list files as one file (dolma merges its files into one set, so this is equivalent).

    One path per tagger keeps the CLI config free of list-valued options, which the tag stage cannot cache yet.
    """
    files = [GOLDEN / "inputs" / "lists" / f for f in MANIFEST["lists"][name]]
    if len(files) == 1:
        return str(files[0])
    merged = tmp_path / "lists" / f"{name}.txt"
    merged.parent.mkdir(exist_ok=True)
    merged.write_text("".join(f.read_text() for f in files))
    return str(merged)


def run_isolated(code: str) -> str:
    """Run Python code in a fresh interpreter and return its stdout: spaCy (which Presidio imports) stays out of
    the test process, whose other tests check that taggers load without it."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def spacy_pipeline(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A blank English spaCy pipeline, as the golden's Presidio run used (no model can be downloaded)."""
    path = tmp_path_factory.mktemp("spacy") / "blank_en"
    run_isolated(f"import spacy; spacy.blank('en').to_disk({str(path)!r})")
    return str(path)


def tagger_entries(tmp_path: Path, group: str, models: dict[str, str]) -> list[Any]:
    """Config entries for a group's taggers, with the local files dolma's URLs were replaced by."""
    entries: list[Any] = []
    for name in MANIFEST["groups"][group]:
        if name in MANIFEST["lists"]:
            entries.append({"name": name, "blocklist_path": list_file(tmp_path, name)})
        elif name == "code_composition":
            entries.append({"name": name, "model_path": models["fasttext"]})
        elif name == "pii_presidio_v1":
            entries.append({"name": name, "model": models["spacy"]})
        else:
            entries.append(name)
    return entries


def run_tag(tmp_path: Path, group: str, models: dict[str, str], parts: int) -> list[dict[str, Any]]:
    """Tag the group's documents, split into `parts` files run by as many processes; rows in input order.

    One process runs in this one; the Presidio group uses two, so spaCy loads only in the workers.
    """
    rows = (GOLDEN / "inputs" / "documents" / f"{group}.jsonl").read_text().splitlines(keepends=True)
    size = -(-len(rows) // parts)
    docs = tmp_path / "documents"
    docs.mkdir()
    for part in range(parts):
        (docs / f"part-{part}.jsonl").write_text("".join(rows[part * size : (part + 1) * size]))
    config = tmp_path / "tag.json"
    taggers = tagger_entries(tmp_path, group, models)
    config.write_text(json.dumps({"documents": [str(docs / "*.jsonl")], "taggers": taggers, "experiment": "golden",
                                  "processes": parts}))
    assert main(["tag", "-c", str(config)]) == 0
    out = tmp_path / "attributes" / "golden"
    return [row for part in range(parts) for row in read_rows(out / f"part-{part}.jsonl")]


@pytest.mark.parametrize(
    ("group", "parts"), [("urls", 2), ("html", 1), ("code", 1), ("composition", 1), ("pii", 2)]
)
def test_outputs_equal_dolma(
    tmp_path: Path, composition_model: str, spacy_pipeline: str, group: str, parts: int
) -> None:
    ours = run_tag(tmp_path, group, {"fasttext": composition_model, "spacy": spacy_pipeline}, parts)
    expected = read_rows(GOLDEN / "expected" / f"{group}.jsonl")
    assert [row["id"] for row in ours] == [row["id"] for row in expected]
    for mine, theirs in zip(ours, expected, strict=True):
        assert mine["attributes"] == theirs["attributes"], mine["id"]


def test_list_taggers_take_several_files_like_dolma() -> None:
    docs = [Document.from_json(json.loads(line)) for line in
            (GOLDEN / "inputs" / "documents" / "urls.jsonl").read_text().splitlines()]
    expected = read_rows(GOLDEN / "expected" / "urls.jsonl")
    for name, files in MANIFEST["lists"].items():
        tagger = create_tagger(name, {"blocklist_path": [str(GOLDEN / "inputs" / "lists" / f) for f in files]})
        flagged = [bool(out) for out in tagger.tag_batch(docs)]
        assert flagged == [f"golden__{name}__url" in row["attributes"] for row in expected], name


def test_every_ported_name_is_registered_and_in_the_golden() -> None:
    names = {name for name, _ in describe_taggers()}
    assert PORTED <= names
    golden = {name for taggers in MANIFEST["groups"].values() for name in taggers}
    assert PORTED <= golden
    tagged = {key.split("__")[1] for group in MANIFEST["groups"] for row in read_rows(GOLDEN / "expected" /
              f"{group}.jsonl") for key in row["attributes"]}
    assert PORTED <= tagged  # each one flagged or scored at least one golden document


def test_list_tagger_without_its_file_names_the_option_and_dolma_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'blocklist_path'.*\n.*blocklist_utp-20240205/adult/domains"):
        create_tagger("domain_blocklist_utp_v1")
    missing = str(tmp_path / "porn.txt")
    with pytest.raises(ConfigError, match=r"'blocklist_path' names .*porn\.txt.*does not exist.*\n.*/porn\.txt"):
        create_tagger("blocklist_hosts_porn_v1", {"blocklist_path": missing})


def test_list_tagger_fails_before_any_work_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "a.jsonl").write_text('{"id": "a", "text": "x", "metadata": {"url": "a.com"}}\n')
    config = tmp_path / "tag.json"
    config.write_text(json.dumps({"documents": [str(tmp_path / "documents" / "a.jsonl")],
                                  "taggers": [{"name": "oisd_small_abp_v1", "blocklist_path": "/nonexistent.txt"}]}))
    assert main(["tag", "-c", str(config)]) != 0
    assert "oisd_small_abp.txt.gz" in capsys.readouterr().err
    assert not (tmp_path / "attributes" / "oisd_small_abp_v1" / "a.jsonl").exists()


def test_empty_list_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(ConfigError, match="no usable entry"):
        create_tagger("blocklist_hosts_social_v1", {"blocklist_path": str(empty)})


def test_code_composition_needs_a_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model_path.*hf://techarb/code-prose-composition"):
        create_tagger("code_composition")
    with pytest.raises(ConfigError, match="model_path.*missing.bin"):
        create_tagger("code_composition", {"model_path": str(tmp_path / "missing.bin")})


def test_cc_re_needs_html() -> None:
    with pytest.raises(DolmaError, match="metadata.html"):
        create_tagger("cc_re").tag_batch([Document(id="d", text="t")])


@pytest.mark.parametrize(
    ("name", "module", "package"),
    [
        ("code_secrets_v1", "detect_secrets", "detect-secrets==1.4.0"),
        ("code_starcoder_taggers_v1", "pygments", "Pygments"),
        ("code_starcoder_taggers_v2", "bs4", "beautifulsoup4"),
    ],
)
def test_missing_package_is_named(monkeypatch: pytest.MonkeyPatch, name: str, module: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(DolmaError, match=package):
        create_tagger(name)


def test_adblock_list_needs_adblock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "adblock", None)
    rules = str(GOLDEN / "inputs" / "lists" / "rules.abp")
    with pytest.raises(DolmaError, match="adblock==0.6.0"):
        create_tagger("brave_nsfw_abp_v1", {"blocklist_path": rules})


def test_presidio_needs_a_spacy_pipeline_and_presidio(tmp_path: Path) -> None:
    code = f"""
import sys
from taggers.registry import create_tagger
try:
    create_tagger("pii_presidio_v1", {{"model": {str(tmp_path / "nowhere")!r}}})
except Exception as err:
    print(type(err).__name__, err)
sys.modules["presidio_analyzer"] = None  # as if it were not installed
try:
    create_tagger("pii_presidio_v1")
except Exception as err:
    print(type(err).__name__, err)
"""
    missing_model, missing_package = run_isolated(code).splitlines()
    assert missing_model.startswith("ConfigError") and "option 'model'" in missing_model
    assert "nowhere" in missing_model and "en_core_web_lg" in missing_model
    assert missing_package.startswith("DolmaError") and "presidio-analyzer==2.2.366" in missing_package


def test_presidio_scores_a_text_without_words_minus_one(spacy_pipeline: str) -> None:
    code = f"""
from dolma_py.data import Document
from taggers.registry import create_tagger
tagger = create_tagger("pii_presidio_v1", {{"model": {spacy_pipeline!r}}})
print(tagger.tag_batch([Document(id="e", text=" \\n")]))
"""
    assert run_isolated(code).strip() == "[{'doc': [Span(start=0, end=2, score=-1.0)]}]"
