"""`dolma mix` never loses data silently: jq runtime errors fail the file as in dolma 1.2.1 (the opt-in that counts
them is named in the report and summaries), shards carry dolma's names, and changed inputs at the same paths are
mixed again instead of leaving stale shards."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT, read_jsonl, write_documents
from test_mix_pipeline import make_corpus, output_docs, run, stream

from dolma_py.config.loader import load_config
from dolma_py.config.mix import MixConfig
from mixers.stream.pipeline import run_mix

GOLDEN = json.loads((REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "mix_safety" / "cases.json").read_text())


def _golden_run(tmp_path: Path, name: str, **extra: Any) -> tuple[Any, Path]:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", GOLDEN["documents"])
    out = tmp_path / f"out_{name}"
    config = {
        "streams": [{"name": name, "documents": [str(tmp_path / "documents" / "*.gz")], "output": {"path": str(out)},
                     **GOLDEN["cases"][name]}],
        **extra,
    }
    (report,), _ = run(tmp_path, config, f"{name}.yaml")
    return report, out


def _data_files(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if not p.name.startswith(("_", "."))) if out.exists() else []


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_same_outcome_and_shard_names_as_dolma(tmp_path: Path, name: str) -> None:
    expected = GOLDEN["results"][name]
    report, out = _golden_run(tmp_path, name)
    assert (report.status == "failed") == expected["failed"]
    # dolma leaves a `.tmp` shard behind on failure; we leave nothing visible
    assert _data_files(out) == [f for f in expected["files"] if not f.endswith(".tmp")]
    if name.startswith("names_gz") or name == "jsonpath_missing_path":
        assert [d["id"] for d in output_docs(out, name)] == expected["kept_ids"]


def test_jq_error_names_file_line_rule_and_message(tmp_path: Path) -> None:
    report, _ = _golden_run(tmp_path, "jq_runtime_error")
    expected_error = GOLDEN["results"]["jq_runtime_error"]["errors"][0]
    assert "cannot parse hello as JSON" in expected_error
    message = report.error or ""
    assert f"{tmp_path / 'documents' / 'a.jsonl.gz'}:2:" in message  # the second document errors
    assert "jq error in exclude[0] '(.text | tonumber) > 3'" in message and "hello" in message


def test_counting_jq_errors_is_an_opt_in_named_in_report_and_summary(tmp_path: Path) -> None:
    report, out = _golden_run(tmp_path, "jq_runtime_error", fail_on_jq_error=False)
    assert report.status == "done" and report.jq_errors == {"exclude[0]": 1}
    assert report.lenient == ["fail_on_jq_error=false"]
    assert [d["id"] for d in output_docs(out, "jq_runtime_error")] == ["1"]  # 12 and 7 exceed 3; "hello" errors: kept
    stored = json.loads((out / "_dolma_mix_report_jq_runtime_error.json").read_text())
    assert stored["lenient"] == ["fail_on_jq_error=false"]


def test_cli_summaries_name_lenient_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dolma_py.cli.main import main
    from dolma_py.exec.lenient import lenient_options, lenient_run
    from dolma_py.exec.runner import RunSummary

    write_documents(tmp_path / "documents" / "a.jsonl.gz", GOLDEN["documents"])
    config = {"streams": [{"name": "s", "documents": [str(tmp_path / "documents" / "*.gz")],
                           "output": {"path": str(tmp_path / "out")}, **GOLDEN["cases"]["jq_runtime_error"]}],
              "fail_on_jq_error": False}
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump(config))
    assert main(["-c", str(tmp_path / "mix.yaml"), "mix"]) == 0
    assert "lenient options (bad input counted, not failed): fail_on_jq_error=false" in capsys.readouterr().err
    parsed = load_config(MixConfig, str(tmp_path / "mix.yaml"), {})
    assert lenient_options(parsed) == ["fail_on_jq_error=false"]
    with lenient_run(parsed):
        assert RunSummary("mix").lenient == ["fail_on_jq_error=false"]
    assert RunSummary("mix").lenient == []


def _bump_mtime(path: Path) -> None:
    later = time.time_ns() + 2 * 10**9
    os.utime(path, ns=(later, later))


def test_retagged_attributes_at_the_same_paths_are_mixed_again(tmp_path: Path) -> None:
    make_corpus(tmp_path, files=2, docs=20)
    out = tmp_path / "out"
    config = {"streams": [stream(tmp_path, out, filter={"syntax": "jq", "exclude": [".attributes.meta__flag == 1"]})]}
    (first,), _ = run(tmp_path, config)
    assert first.status == "done"
    (again,), _ = run(tmp_path, config)
    assert again.status == "skipped"

    attr = tmp_path / "attributes" / "meta" / "src" / "part-1.jsonl.gz"
    rows = read_jsonl(attr)
    for row in rows:  # re-tagged: every document of this file is now flagged
        row["attributes"]["meta__flag"] = 1
    attr.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), mtime=0))
    _bump_mtime(attr)
    (redone,), _ = run(tmp_path, config)
    assert redone.status == "done"
    ids = {d["id"] for d in output_docs(out)}
    assert not any(i.startswith("d1-") for i in ids) and any(i.startswith("d0-") for i in ids)
    assert redone.documents_out < first.documents_out


def test_regenerated_documents_at_the_same_paths_are_mixed_again(tmp_path: Path) -> None:
    docs = make_corpus(tmp_path, files=1, docs=10)
    out = tmp_path / "out"
    config = {"streams": [stream(tmp_path, out)]}
    run(tmp_path, config)
    path = tmp_path / "documents" / "src" / "part-0.jsonl.gz"
    changed = [{**doc, "text": doc["text"] + " (v2)"} for doc in docs]
    write_documents(path, changed)
    _bump_mtime(path)
    (report,), _ = run(tmp_path, config)
    assert report.status == "done"
    assert all(d["text"].endswith(" (v2)") for d in output_docs(out)) and len(output_docs(out)) == len(docs)


def test_a_stream_run_locks_its_output_directory(tmp_path: Path) -> None:
    from dolma_py.io.lock import LockedError, run_lock

    make_corpus(tmp_path, files=1, docs=5)
    out = tmp_path / "out"
    (tmp_path / "mix.yaml").write_text(yaml.safe_dump({"streams": [stream(tmp_path, out)]}))
    parsed = load_config(MixConfig, str(tmp_path / "mix.yaml"), {})
    hold = "import sys, time\nfrom dolma_py.io.lock import run_lock\nwith run_lock([sys.argv[1]], 'mix'):\n" \
           "    print('locked', flush=True)\n    time.sleep(60)\n"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", hold, str(out / "x")], env=env, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
        with pytest.raises(LockedError):
            run_mix(parsed, progress=False)
    finally:
        proc.kill()
        proc.wait()
    with run_lock([str(out / "x")], "mix"):  # this process may nest its own stages inside its lock
        (report,), _ = run_mix(parsed, progress=False)
    assert report.status == "done"


def test_a_stream_written_by_an_older_part_format_is_redone_not_refused(tmp_path: Path) -> None:
    docs = tmp_path / "documents" / "a.jsonl.gz"
    write_documents(docs, [{"id": "1", "text": "hello"}, {"id": "2", "text": "world"}])
    config = {"streams": [{"name": "s", "documents": [str(docs)], "attributes": [],
                           "output": {"path": str(tmp_path / "out")}, "filter": {"include": ["$@.id"]}}]}
    (tmp_path / "mix.yaml").write_text(json.dumps(config))
    parsed = load_config(MixConfig, str(tmp_path / "mix.yaml"), {})
    (report,), _ = run_mix(parsed, progress=False)
    assert report.status == "done"
    report_path = tmp_path / "out" / "_dolma_mix_report_s.json"
    old = json.loads(report_path.read_text())
    old.pop("format")
    old["fingerprint"] = "written-by-0.1"  # what the report of the previous release holds
    report_path.write_text(json.dumps(old))
    (report,), _ = run_mix(parsed, progress=False)
    assert report.status == "done" and report.documents_out == 2
