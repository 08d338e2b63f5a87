"""`dolma report`: one self-contained, deterministic page with every section, from local and S3 outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_pipeline import build_pipeline, report_argv

from dolma_py.cli.main import main


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("pipeline")
    return root, build_pipeline(root)


def test_page_is_self_contained_deterministic_and_complete(pipeline: tuple[Path, dict[str, list[str]]]) -> None:
    root, options = pipeline
    pages = []
    for name in ("a.html", "b.html"):
        assert main(report_argv(options, str(root / name))) == 0
        pages.append((root / name).read_bytes())
    assert pages[0] == pages[1]
    page = pages[0].decode()
    for fetching in ("<script", "<link", "<img", " src=", "@import", "url(http", "<iframe", "<object"):
        assert fetching not in page, fetching
    assert not re.search(r'href="(?!#)', page), "only in-page links"
    for anchor in ("flow", "mix", "attributes", "dedupe", "tokens", "curriculum", "train"):
        assert f'<section id="{anchor}">' in page
    assert "dropped by <code>exclude[0]</code>" in page and '<mark title="e__pii_regex_v2__EMAIL_ADDRESS">' in page
    assert "e__char_length_v1__length</code> = " in page  # a document-level score beside a dropped example
    assert "exclude[1] &lt;: 200" in page  # the mix threshold drawn on the histogram's legend
    assert "Bloom filter expected false-positive rate" in page and 'role="meter"' in page
    assert "requested against realized" in page and "training loss per phase" in page
    assert page.count("<svg") >= 8


def test_bad_input_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--output", str(tmp_path / "r.html"), "--train", str(tmp_path)]) == 2
    assert f"{tmp_path}/metrics.jsonl: not found" in capsys.readouterr().err


def test_s3_inputs_and_output(pipeline: tuple[Path, dict[str, list[str]]], s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    root, options = pipeline
    for path in sorted((root / "tokens").rglob("*.csv.gz")) + [root / "manifest" / "manifest.json"]:
        s3_client().put_object(Bucket=s3_bucket, Key=str(path.relative_to(root)), Body=path.read_bytes())
    local = {"tokens": options["tokens"], "manifest": options["manifest"]}
    remote = {"tokens": [f"s3://{s3_bucket}/tokens/{Path(p).name}" for p in options["tokens"]],
              "manifest": [f"s3://{s3_bucket}/manifest"]}
    assert main(report_argv(local, str(root / "local.html"))) == 0
    assert main(report_argv(remote, f"s3://{s3_bucket}/report.html")) == 0
    body = s3_client().get_object(Bucket=s3_bucket, Key="report.html")["Body"].read().decode()
    expected = (root / "local.html").read_text().replace(str(root / "manifest"), f"s3://{s3_bucket}/manifest")
    assert body == expected
