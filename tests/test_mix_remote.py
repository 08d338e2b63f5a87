"""`dolma mix` reading from and writing to S3 (moto server), and on Ray: the same bytes as a local run."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import tree_bytes
from test_mix_pipeline import make_corpus, output_docs, run, stream


def _local_run(tmp_path: Path, **extra) -> dict[str, bytes]:
    out = tmp_path / "local"
    run(tmp_path, {"streams": [stream(tmp_path, out, **extra)]}, "local.yaml")
    return tree_bytes(out)


def test_s3_round_trip(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    make_corpus(tmp_path, files=2, docs=20)
    client = s3_client()
    for path in sorted(tmp_path.rglob("*.jsonl.gz")):
        client.put_object(Bucket=s3_bucket, Key=f"data/{path.relative_to(tmp_path)}", Body=path.read_bytes())
    extra = {"filter": {"include": ["$.attributes[?(@.meta__flag == 1)]"]}, "output": {"max_size_in_bytes": 900}}
    remote = {
        **stream(tmp_path, tmp_path / "unused", **extra),
        "documents": [f"s3://{s3_bucket}/data/documents/src/*.jsonl.gz"],
    }
    remote["output"]["path"] = f"s3://{s3_bucket}/out"
    (report,), _ = run(tmp_path, {"streams": [remote], "processes": 2}, "s3.yaml")
    assert report.status == "done", report.error

    listing = client.list_objects_v2(Bucket=s3_bucket, Prefix="out/")
    written = {
        obj["Key"][len("out/") :]: client.get_object(Bucket=s3_bucket, Key=obj["Key"])["Body"].read()
        for obj in listing.get("Contents", [])
        # the stream's completion marker (input ETags, not data) and the run summary (timings), as tree_bytes skips
        if not obj["Key"].endswith((".done", "_summary.json"))
    }
    local = _local_run(tmp_path, **extra)
    assert written.keys() == local.keys() and len(written) > 2  # shards + report; staging removed
    report_name = "_dolma_mix_report_mix.json"
    remote_report, local_report = json.loads(written.pop(report_name)), json.loads(local.pop(report_name))
    assert remote_report.pop("inputs_digest") != local_report.pop("inputs_digest")  # the input paths differ
    assert remote_report == local_report
    assert written == local


def test_ray_equals_local(tmp_path: Path, ray_cluster: str) -> None:
    make_corpus(tmp_path, files=3, docs=20)
    extra = {
        "filter": {"syntax": "jq", "include": [".attributes.qual__model__score[0][2] > 0.3"]},
        "output": {"max_size_in_bytes": 1000},
    }
    out = tmp_path / "ray"
    (report,), _ = run(tmp_path, {"streams": [stream(tmp_path, out, **extra)], "ray_address": ray_cluster}, "ray.yaml")
    assert report.status == "done", report.error
    assert len(output_docs(out)) > 0
    assert tree_bytes(out) == _local_run(tmp_path, **extra)
