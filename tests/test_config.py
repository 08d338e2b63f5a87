"""Typed configs: file + dotted flags, readable errors before any work, generated --help."""

from __future__ import annotations

from pathlib import Path

import pytest

from dolma_py.cli.main import main
from dolma_py.config.loader import describe_fields, load_config, parse_overrides
from dolma_py.config.tag import TagConfig, TaggerSpec
from dolma_py.errors import ConfigError


def load(tmp_path: Path, text: str | None, argv: list[str], name: str = "c.yaml") -> TagConfig:
    path = None
    if text is not None:
        path = tmp_path / name
        path.write_text(text)
    return load_config(TagConfig, str(path) if path else None, parse_overrides(TagConfig, argv))


def test_file_then_flags_override(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        "documents: [a/documents/*.gz]\ntaggers: [char_length_v1]\nprocesses: 1\nwork_dir: {output: /tmp/w}\n",
        ["--processes", "4", "--taggers", "x", "y", "--work_dir.input", "/tmp/i", "--skip-bad-lines"],
    )
    assert config.processes == 4
    assert config.taggers == ["x", "y"]
    assert config.work_dir.output == "/tmp/w" and config.work_dir.input == "/tmp/i"
    assert config.skip_bad_lines is True
    assert config.documents == ["a/documents/*.gz"]
    negated = load(tmp_path, "documents: [x]\ntaggers: [a]\noverwrite: true\n", ["--no-overwrite"])
    assert negated.overwrite is False


def test_json_config_and_tagger_mappings(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '{"documents": ["d/documents/x.gz"], "taggers": ["a", {"name": "ft", "model_path": "m.bin", "k": 2}]}',
        [],
        name="c.json",
    )
    assert config.tagger_specs == [TaggerSpec("a"), TaggerSpec("ft", (("k", 2), ("model_path", "m.bin")))]


@pytest.mark.parametrize(
    ("text", "argv", "message"),
    [
        ("documents: [x]\ntaggers: [a]\nprocesess: 2\n", [], r"c.yaml: unknown key 'procesess'"),
        ("documents: [x]\ntaggers: [a]\nwork_dir: {outptu: x}\n", [], r"unknown key 'work_dir.outptu'"),
        ("documents: [x]\ntaggers: [a]\nprocesses: two\n", [], r"key 'processes' expects an integer"),
        ("documents: x\ntaggers: [a]\n", [], r"key 'documents' expects a list of str"),
        ("taggers: [a]\n", [], r"required key 'documents' is missing"),
        ("documents: [x]\ntaggers: [a]\n", ["--processes", "many"], r"command line: key 'processes' expects int"),
        ("documents: [x]\ntaggers: [a]\n", ["--nope", "1"], r"unknown option '--nope'"),
        ("documents: [x]\ntaggers: []\n", [], r"'taggers' must list at least one tagger"),
        ("documents: [x]\ntaggers: [{model_path: m}]\n", [], r"needs a 'name' string"),
        ("documents: [x, y]\ntaggers: [a]\ndestination: [z]\n", [], r"'destination' has 1 entries"),
        ("documents: [x\n", [], r"c.yaml: not valid YAML"),
    ],
)
def test_errors_name_key_and_file(tmp_path: Path, text: str, argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, text, argv)


def test_help_lists_every_field_with_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "--help"]) == 0
    out = capsys.readouterr().out
    for key, *_ in describe_fields(TagConfig):
        assert f"--{key}" in out
    assert "--work_dir.output" in out and "default: 1" in out and "default: required" in out


def test_cli_reports_config_errors_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("documents: [x]\ntaggers: [a]\nbogus: 1\n")
    assert main(["-c", str(config), "tag"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dolma: error:") and "bogus" in err and str(config) in err and "Traceback" not in err
    assert main(["nosuchcommand"]) == 2


def test_help_piped_into_a_reader_that_closes_early_is_not_an_error() -> None:
    import os
    import subprocess
    import sys

    from conftest import REPO_ROOT

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "dolma_py.cli.main", "dedupe", "--help"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.read(10)
    proc.stdout.close()  # as `| head -1` does
    _, err = proc.communicate()
    assert proc.returncode == 0 and b"Traceback" not in err
