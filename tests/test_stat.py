"""`dolma stat`: dolma 1.2.1's report byte for byte, deterministic for any process count and on Ray, S3, resume."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import tree_bytes

from dolma_py.cli.main import main
from dolma_py.stats.sketch import KllSketch

GOLDEN = Path(__file__).parent / "fixtures" / "dolma_golden" / "stat"
CASES = json.loads((GOLDEN / "cases.json").read_text())


def _attributes(root: Path) -> str:
    """The golden inputs, gzipped under `root/attributes/`; returns their glob."""
    (root / "attributes").mkdir(parents=True)
    for path in sorted((GOLDEN / "attributes").glob("*.jsonl")):
        (root / "attributes" / f"{path.name}.gz").write_bytes(gzip.compress(path.read_bytes(), mtime=0))
    return str(root / "attributes" / "*.jsonl.gz")


def _flags(config: dict) -> list[str]:
    return [part for key, value in config.items() for part in (f"--{key}", str(value))]


def _report_lines(report: Path) -> list[str]:
    return gzip.decompress((report / "summaries.jsonl.gz").read_bytes()).decode().splitlines()


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_equals_dolma(tmp_path: Path, case: str) -> None:
    pattern = _attributes(tmp_path)
    report = tmp_path / "report"
    assert main(["stat", "--attributes", pattern, "--report", str(report), *_flags(CASES[case]["config"])]) == 0
    assert _report_lines(report) == CASES[case]["report"]


def test_identical_for_any_process_count_and_resumed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = _attributes(tmp_path)
    trees = {}
    for processes in (1, 2):
        report = tmp_path / f"report-{processes}"
        assert main(["stat", "--attributes", pattern, "--report", str(report), "--processes", str(processes)]) == 0
        trees[processes] = {k: v for k, v in tree_bytes(report).items() if not k.startswith("_work")}
    assert trees[1] == trees[2]
    assert {"summaries.jsonl.gz", "quantiles.json"} <= set(trees[1])
    assert sum(name.startswith("histograms/") and name.endswith(".svg") for name in trees[1]) == 6
    capsys.readouterr()
    assert main(["stat", "--attributes", pattern, "--report", str(tmp_path / "report-1")]) == 0
    assert "0 files done, 2 skipped" in capsys.readouterr().err
    assert {k: v for k, v in tree_bytes(tmp_path / "report-1").items() if not k.startswith("_work")} == trees[1]
    # a run killed after one unit: one partial and its marker left, no report yet; the rerun gives the same bytes
    killed = tmp_path / "report-1"
    for path in [*killed.glob("*.gz"), *killed.glob("*.json"), *killed.glob("histograms/*")]:
        path.unlink()
    partial = sorted((killed / "_work").glob("*.json"))[0]
    partial.unlink()
    (partial.parent / f".{partial.name}.done").unlink()
    assert main(["stat", "--attributes", pattern, "--report", str(killed)]) == 0
    assert "1 files done, 1 skipped" in capsys.readouterr().err
    assert {k: v for k, v in tree_bytes(killed).items() if not k.startswith("_work")} == trees[1]


def test_histograms_can_be_left_out(tmp_path: Path) -> None:
    pattern = _attributes(tmp_path)
    assert main(["stat", "--attributes", pattern, "--report", str(tmp_path / "r"), "--histograms", "false"]) == 0
    assert not (tmp_path / "r" / "histograms").exists() and (tmp_path / "r" / "summaries.jsonl.gz").exists()


def test_quantiles_document_and_span_level(tmp_path: Path) -> None:
    pattern = _attributes(tmp_path)
    assert main(["stat", "--attributes", pattern, "--report", str(tmp_path / "r")]) == 0
    data = json.loads((tmp_path / "r" / "quantiles.json").read_text())
    assert data["documents"] == 80
    late = data["keys"]["exp__late__flag"]
    assert late["documents"] == 40  # only the second file has it
    assert late["document"]["spans"]["values"][0] == 0 and late["document"]["spans"]["values"][-1] == 1
    length = data["keys"]["exp__len__length"]["span"]["length"]
    assert length["count"] == 80 and 1 <= length["values"][5] <= 400  # the median document length


def test_bad_line_names_file_line_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "1", "attributes": {"k": [[0, 1, 0.5]]}}\n'
                                      '{"id": "2", "attributes": {"k": [[0, "x", 0.5]]}}\n')
    assert main(["stat", "--attributes", str(tmp_path / "a.jsonl")]) == 1
    assert f"{tmp_path / 'a.jsonl'}:2: attribute 'k': span offsets must be integers" in capsys.readouterr().err


def test_no_files_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stat", "--attributes", str(tmp_path / "none" / "*.gz")]) == 2
    assert "no files match" in capsys.readouterr().err


def test_ray_matches_local(tmp_path: Path, ray_cluster: str) -> None:
    pattern = _attributes(tmp_path)
    trees = {}
    for name, extra in (("local", ["--processes", "2"]), ("ray", ["--ray-address", ray_cluster])):
        report = tmp_path / name
        assert main(["stat", "--attributes", pattern, "--report", str(report), *extra]) == 0
        trees[name] = {k: v for k, v in tree_bytes(report).items() if not k.startswith("_work")}
    assert trees["local"] == trees["ray"]


def test_s3_attributes_and_report_match_local(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    pattern = _attributes(tmp_path)
    for path in sorted((tmp_path / "attributes").glob("*.gz")):
        s3_client().put_object(Bucket=s3_bucket, Key=f"attributes/{path.name}", Body=path.read_bytes())
    assert main(["stat", "--attributes", pattern, "--report", str(tmp_path / "local")]) == 0
    remote = f"s3://{s3_bucket}/report"
    assert main(["stat", "--attributes", f"s3://{s3_bucket}/attributes/*.gz", "--report", remote]) == 0
    local = {k: v for k, v in tree_bytes(tmp_path / "local").items() if not k.startswith("_work")}
    for name, body in local.items():
        assert s3_client().get_object(Bucket=s3_bucket, Key=f"report/{name}")["Body"].read() == body, name
    shutil.rmtree(tmp_path / "local")


def test_sketch_rank_error_and_deterministic_merge() -> None:
    rng = np.random.default_rng(0)
    values = rng.lognormal(size=200_000)
    parts = np.array_split(values, 7)

    def sketch_of(chunks: list[np.ndarray]) -> KllSketch:
        merged = KllSketch()
        for chunk in chunks:
            part = KllSketch()
            for batch in np.array_split(chunk, 5):
                part.add(batch)
            merged.merge(part)
        return merged

    first, second = sketch_of(parts), sketch_of(parts)
    assert first.to_json() == second.to_json()
    assert sum(level.size for level in first.levels) < 2_000  # fixed memory: O(k) items for 200k values
    ordered = np.sort(values)
    for q, estimate in zip((0.01, 0.25, 0.5, 0.9, 0.99), first.quantiles([0.01, 0.25, 0.5, 0.9, 0.99]), strict=True):
        rank = np.searchsorted(ordered, estimate) / values.size
        assert abs(rank - q) < 0.02, (q, rank)
    assert first.quantiles([0.0, 1.0]) == [values.min(), values.max()]
