"""S3 outage mid-run (moto on loopback, stopped and restarted with its state): the rerun restores every object and
leaves no multipart upload open; the interrupted run should fail cleanly and not block the rerun."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_pipeline import ci_base
from fault_s3 import RestartableS3, S3Result, s3_outage


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Result]:
    _, base = ci_base(tmp_path_factory.getbasetemp())
    s3 = RestartableS3()
    try:
        yield s3_outage(s3, base / "corpus", "outage", stop_after_s=0.0, outage_s=1.0)
    finally:
        s3.close()


def test_rerun_after_an_outage_restores_every_object_and_no_upload_is_left(outage: S3Result) -> None:
    assert outage.rerun_rc == 0 and outage.bytes_lost == 0 and outage.open_uploads == [], outage.as_dict()


def test_the_interrupted_run_fails_cleanly_and_does_not_block_the_rerun(outage: S3Result) -> None:
    assert outage.survived, outage.as_dict()
