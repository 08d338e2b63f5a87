"""The `dolma` import surface: dolma 1.2.1 tagger modules run unchanged under our `dolma tag`, giving dolma's own
attribute files (goldens from benchmarks/golden_dolma_api.py); dolma's data types; `dolma.deduper`/`dolma.mixer`."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import REPO_ROOT, read_jsonl, tree_bytes, write_documents

from dolma_py.cli.main import main
from dolma_py.errors import ConfigError
from dolma_py.io.paths import sanitize_name

GOLDEN = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "dolma_api"
MODULES = GOLDEN / "modules"
RUNS = json.loads((GOLDEN / "runs.json").read_text())["runs"]
MODULE_FILES = [str(MODULES / "dolma_api_taggers.py"), str(MODULES / "dolma_api_fasttext.py")]


def attribute_lines(root: Path) -> dict[str, list[str]]:
    """Each attribute file under `root` as its lines' `{"id", "attributes"}`, serialized with key order kept.

    dolma also writes the document's `source` on every attribute line; dolma_py's lines carry id and attributes."""
    files = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        rows = [json.loads(line) for line in lines]
        files[str(path.relative_to(root))] = [json.dumps({"id": r["id"], "attributes": r["attributes"]}) for r in rows]
    return files


def golden_lines(run: dict[str, Any]) -> dict[str, list[str]]:
    experiments = [run["experiment"]] if run["experiment"] else [sanitize_name(t) for t in run["taggers"]]
    return {name: lines for name, lines in attribute_lines(GOLDEN / "attributes").items()
            if name.split("/")[0] in experiments}


def tag_args(root: Path, run: dict[str, Any], modules: list[str], processes: int) -> list[str]:
    args = ["tag", "--documents", str(root / "documents" / "*.jsonl.gz"), "--taggers", *run["taggers"],
            "--tagger_modules", *modules, "--processes", str(processes)]
    return args + (["--experiment", run["experiment"]] if run["experiment"] else [])


def copy_documents(root: Path) -> None:
    shutil.copytree(GOLDEN / "documents", root / "documents")


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize("run", RUNS, ids=[r["experiment"] or "per_tagger" for r in RUNS])
def test_dolma_modules_by_path_give_dolmas_attribute_files(
    tmp_path: Path, run: dict[str, Any], processes: int
) -> None:
    copy_documents(tmp_path)
    assert main(tag_args(tmp_path, run, MODULE_FILES, processes)) == 0
    ours = attribute_lines(tmp_path / "attributes")
    expected = golden_lines(run)
    assert sorted(ours) == sorted(expected)
    for name, lines in expected.items():
        assert ours[name] == lines, name


def test_dolma_modules_by_name_in_a_fresh_process(tmp_path: Path) -> None:
    run = RUNS[0]
    copy_documents(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(MODULES), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "dolma_py.cli.main",
         *tag_args(tmp_path, run, ["dolma_api_taggers", "dolma_api_fasttext"], 2)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert attribute_lines(tmp_path / "attributes") == golden_lines(run)


def load_probe() -> Any:
    spec = importlib.util.spec_from_file_location("dolma_api_probe_under_test", MODULES / "dolma_api_probe.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_types_and_splitters_answer_like_dolma() -> None:
    ours = json.loads(json.dumps(load_probe().probe()))
    expected = json.loads((GOLDEN / "probe.json").read_text())
    assert sorted(ours) == sorted(expected)
    for key in expected:
        assert ours[key] == expected[key], key


def test_import_dolma_loads_no_torch_and_no_model() -> None:
    code = ("import sys, dolma, dolma.core.ft_tagger, dolma.core.utils, dolma.core.registry; "
            "assert 'torch' not in sys.modules, 'torch'; "
            "from taggers.fasttext_taggers import _MODELS; assert not _MODELS; print(sorted(dolma.__all__))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "add_tagger" in proc.stdout and "deduper" in proc.stdout and "mixer" in proc.stdout


BAD_MODULE = '''
from dolma import BaseTagger, add_tagger
from dolma.core.data_types import DocResult, Span


@add_tagger("api_bad_returns_none")
class ReturnsNone(BaseTagger):
    def predict(self, doc):
        return None


@add_tagger("api_bad_raises")
class Raises(BaseTagger):
    def predict(self, doc):
        return DocResult(doc=doc, spans=[Span(0, 1, "x", 1 / len(doc.text))])
'''


@pytest.fixture(scope="module")
def bad_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once: a module registers its taggers once per process, as under the CLI."""
    module = tmp_path_factory.mktemp("bad") / "bad_dolma_taggers.py"
    module.write_text(BAD_MODULE)
    return module


@pytest.mark.parametrize(
    ("tagger", "doc_id", "problem"),
    [("api_bad_returns_none", "ok", "TypeError: predict() must return a DocResult, got NoneType"),
     ("api_bad_raises", "d-empty", "ZeroDivisionError: division by zero")],
)
def test_bad_predict_fails_naming_the_tagger_and_document(
    tmp_path: Path, bad_module: Path, tagger: str, doc_id: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [{"id": "ok", "text": "fine"}, {"id": "d-empty", "text": ""}]
    write_documents(tmp_path / "documents" / "a.jsonl.gz", docs)
    args = ["tag", "--documents", str(tmp_path / "documents" / "*.gz"), "--taggers", tagger,
            "--tagger_modules", str(bad_module)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"tagger {tagger!r}" in err and f"failed on document {doc_id!r}: {problem}" in err
    assert not (tmp_path / "attributes" / tagger / "a.jsonl.gz").exists()


PACKAGE_INIT = '''
from dolma import BaseTagger, add_tagger
from dolma.core.data_types import DocResult, Span

from api_pkg_sibling import SCORE  # a module beside the package, importable as in dolma
from .inner import span_type


@add_tagger("api_pkg_tagger")
class PackageTagger(BaseTagger):
    def predict(self, doc):
        return DocResult(doc=doc, spans=[Span(0, len(doc.text), span_type(), SCORE)])
'''


def test_tagger_module_as_package_directory_importing_siblings(tmp_path: Path) -> None:
    package = tmp_path / "modules" / "api_pkg_taggers"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PACKAGE_INIT)
    (package / "inner.py").write_text("def span_type():\n    return 'from-inner'\n")
    (tmp_path / "modules" / "api_pkg_sibling.py").write_text("SCORE = 2 / 3\n")
    write_documents(tmp_path / "documents" / "a.jsonl.gz", [{"id": "a", "text": "abc"}])
    args = ["tag", "--documents", str(tmp_path / "documents" / "*.gz"), "--taggers", "api_pkg_tagger",
            "--tagger_modules", str(package)]
    assert main(args) == 0
    (row,) = read_jsonl(tmp_path / "attributes" / "api_pkg_tagger" / "a.jsonl.gz")
    assert row["attributes"] == {"api_pkg_tagger__api_pkg_tagger__from_inner": [[0, 3, 0.66667]]}


def test_missing_tagger_module_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", [{"id": "a", "text": "x"}])
    base = ["tag", "--documents", str(tmp_path / "documents" / "*.gz"), "--taggers", "x", "--tagger_modules"]
    assert main([*base, str(tmp_path / "nope.py")]) == 2
    assert "tagger_modules: " in capsys.readouterr().err
    assert main([*base, "no_such_dolma_module_xyz"]) == 2
    assert "no module named 'no_such_dolma_module_xyz'" in capsys.readouterr().err


def test_registry_add_get_has_remove_items() -> None:
    from dolma import BaseTagger, TaggerRegistry, add_tagger
    from dolma.core.data_types import DocResult

    @add_tagger("api_registry_probe")
    class Probe(BaseTagger):
        def predict(self, doc):
            return DocResult(doc=doc, spans=[])

    assert TaggerRegistry.has("api_registry_probe") and TaggerRegistry.get("api_registry_probe") is Probe
    assert TaggerRegistry.has("char_length_v1")  # dolma_py's built-ins, as dolma's registry lists its own
    names = [name for name, _ in TaggerRegistry.items()]
    assert names == sorted(names) and "api_registry_probe" in names
    with pytest.raises(ValueError, match="Tagger api_registry_probe already exists"):
        add_tagger("api_registry_probe")(type("Other", (BaseTagger,), {}))
    rerun = type("Probe", (BaseTagger,), {"__module__": "__main__"})
    assert add_tagger("api_registry_probe")(rerun) is rerun and TaggerRegistry.get("api_registry_probe") is Probe
    with pytest.raises(TypeError, match="dolma.BaseTagger"):
        add_tagger("api_not_a_tagger")(object)
    assert TaggerRegistry.remove("api_registry_probe") and not TaggerRegistry.has("api_registry_probe")
    assert not TaggerRegistry.remove("api_registry_probe")
    with pytest.raises(ValueError, match="Unknown tagger api_registry_probe"):
        TaggerRegistry.get("api_registry_probe")


def test_fasttext_classifier_matches_fasttext_predict_and_refuses_remote_models() -> None:
    from dolma.core.errors import DolmaConfigError
    from dolma.core.ft_tagger import BaseFastTextTagger

    tagger = BaseFastTextTagger(str(MODULES / "topic_model.bin"), BaseFastTextTagger.DOCUMENT_LEVEL_TAGGER)
    labels, probs = tagger.classifier.predict("ball goal team", k=2)
    assert labels[0] == "__label__sports" and len(labels) == 2 and probs.shape == (2,)
    many_labels, many_probs = tagger.classifier.predict(["ball goal team", "oven recipe"], k=1)
    assert many_labels == [["__label__sports"], ["__label__cooking"]]
    assert many_probs[0].dtype == np.float32 and many_probs[0][0] == np.float32(probs[0])
    assert tagger.classifier.labels == ["__label__sports", "__label__cooking", "__label__tech"]
    with pytest.raises(ValueError, match="one line at a time"):
        tagger.classifier.predict("two\nlines")
    with pytest.raises(NotImplementedError, match="predict slice"):
        tagger.predict(__import__("dolma").core.Document(source="s", id="i", text="t"))
    with pytest.raises(ConfigError, match="missing_model.bin"):
        BaseFastTextTagger(str(MODULES / "missing_model.bin"), BaseFastTextTagger.DOCUMENT_LEVEL_TAGGER)
    with pytest.raises(DolmaConfigError, match="https://example.com/model.bin"):
        BaseFastTextTagger("https://example.com/model.bin", BaseFastTextTagger.DOCUMENT_LEVEL_TAGGER)


DEDUPE_DOCS = [
    {"id": f"d{i}", "text": text, "source": "s"}
    for i, text in enumerate(["same para\nunique one\n", "same para\nother\n", "same para\n", "fresh\nunique one\n"])
]


def dedupe_cli_config(root: Path) -> dict[str, Any]:
    """A dolma dedupe YAML config as a user writes it for `dolma dedupe -c`."""
    return {
        "documents": [str(root / "documents" / "*.jsonl.gz")],
        "dedupe": {"name": "dups", "paragraphs": {"attribute_name": "bff_duplicate_paragraph_spans"},
                   "skip_empty": True},
        "bloom_filter": {"file": str(root / "filter.bin"), "read_only": False, "estimated_doc_count": 1000,
                         "desired_false_positive_rate": 0.001},
        "work_dir": {"input": str(root / "work" / "in"), "output": str(root / "work" / "out")},
        "processes": 1,
    }


def dolma_deduper_dict(root: Path) -> dict[str, Any]:
    """The dict dolma's CLI hands `dolma.deduper` for the same config (its defaults filled in)."""
    cli = dedupe_cli_config(root)
    return {
        "dedupe": {**cli["dedupe"], "min_length": 0, "min_words": 0, "num_partitions": 1, "partition_index": 0,
                   "file_partition": False, "document_dir": "documents",
                   "paragraphs": {**cli["dedupe"]["paragraphs"], "by_ngram": None, "paragraph_separator": "\n"}},
        "documents": cli["documents"],
        "bloom_filter": {**cli["bloom_filter"], "size_in_bytes": 0},
        "is_s3_volume": False,
        "work_dir": cli["work_dir"],
        "processes": 1,
        "compression": {"input": None, "output": None},
    }


def run_both(tmp_path: Path, via_api: Any, via_cli: Any) -> None:
    """Run the stage through the API and the CLI on fresh copies of the same inputs, in the same place: every file
    the run leaves (outputs, filter, work dir; not the run summaries) is the same either way."""
    trees = []
    for run in (via_api, via_cli):
        root = tmp_path / "run"
        shutil.rmtree(root, ignore_errors=True)
        write_documents(root / "documents" / "a.jsonl.gz", DEDUPE_DOCS[:2])
        write_documents(root / "documents" / "b.jsonl.gz", DEDUPE_DOCS[2:])
        inputs = set(tree_bytes(root))
        run(root)
        trees.append(tree_bytes(root))
        assert set(trees[-1]) - inputs, "the run wrote nothing"
    assert trees[0] == trees[1]


def test_deduper_dict_config_matches_the_cli(tmp_path: Path) -> None:
    import dolma

    def cli(root: Path) -> None:
        config = tmp_path / "dedupe.yaml"
        config.write_text(yaml.safe_dump(dedupe_cli_config(root)))
        assert main(["-c", str(config), "dedupe"]) == 0

    run_both(tmp_path, lambda root: dolma.deduper(dolma_deduper_dict(root)), cli)
    spans = read_jsonl(tmp_path / "run" / "attributes" / "dups" / "a.jsonl.gz")[1]["attributes"]
    assert spans == {"bff_duplicate_paragraph_spans": [[0, 10, 1.0]]}


def test_deduper_bad_config_raises_dolmas_error_naming_the_key(tmp_path: Path) -> None:
    import dolma

    config = dolma_deduper_dict(tmp_path)
    config["dedupe"]["unknown_key"] = 1
    with pytest.raises(dolma.DolmaRustPipelineError, match="dolma.deduper config: unknown key 'dedupe.unknown_key'"):
        dolma.deduper(config)
    with pytest.raises(dolma.DolmaRustPipelineError, match="'dryrun' is a command-line option"):
        dolma.deduper({**dolma_deduper_dict(tmp_path), "dryrun": True})


def mixer_dict(root: Path) -> dict[str, Any]:
    """The dict dolma's CLI hands `dolma.mixer` (also a valid `dolma mix` config)."""
    return {
        "work_dir": {"input": str(root / "work" / "in"), "output": str(root / "work" / "out")},
        "processes": 1,
        "shuffle": False,
        "streams": [{
            "name": "mixed",
            "documents": [str(root / "documents" / "*.jsonl.gz")],
            "attributes": [],
            "output": {"path": str(root / "mixed"), "max_size_in_bytes": 1_000_000},
            "compression": {"input": None, "output": None},
            "filter": {"include": [], "exclude": ['.id == "d2"'], "syntax": "jq"},
        }],
    }


def test_mixer_dict_config_matches_the_cli(tmp_path: Path) -> None:
    import dolma

    def cli(root: Path) -> None:
        config = tmp_path / "mix.json"
        config.write_text(json.dumps(mixer_dict(root)))
        assert main(["-c", str(config), "mix"]) == 0

    run_both(tmp_path, lambda root: dolma.mixer(mixer_dict(root)), cli)
    # shuffle: false, as dolma: one output per input under <output>/documents/
    outputs = sorted((tmp_path / "run" / "mixed" / "documents").glob("*.jsonl.gz"))
    assert [p.name for p in outputs] == ["a.jsonl.gz", "b.jsonl.gz"]
    assert [doc["id"] for path in outputs for doc in read_jsonl(path)] == ["d0", "d1", "d3"]


def test_mixer_failure_raises_dolmas_error(tmp_path: Path) -> None:
    import dolma

    config = mixer_dict(tmp_path)
    config["streams"][0]["output"]["max_size_in_bytes"] = 0
    with pytest.raises(dolma.DolmaRustPipelineError, match="max_size_in_bytes"):
        dolma.mixer(config)
