"""Durable outputs: fsync before rename and of the directory after, directory publishing that survives a SIGKILL
between its steps, S3 uploads aborted on a failed completion, on SIGTERM and after a kill, and fresh resume markers
(inputs' state, config fingerprint, and whether a lenient option let bad input through)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from conftest import REPO_ROOT

from dolma_py.errors import DataError
from dolma_py.exec.runner import ExecOptions, run_stage
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io import atomic
from dolma_py.io.atomic import CRASH_ENV, atomic_dir, atomic_write, publish_dir, staging_dir, write_bytes


def test_file_is_fsynced_before_rename_and_directory_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", "dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"))
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        calls.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_bytes(str(tmp_path / "a.jsonl.gz"), b"x\n")
    assert calls == [("fsync", "file"), ("replace", "a.jsonl.gz"), ("fsync", "dir")]


def test_directory_publish_syncs_its_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    with atomic_dir(tmp_path / "ckpt") as tmp:
        (tmp / "model.pt").write_bytes(b"weights")
    assert (tmp_path / "ckpt" / "model.pt").read_bytes() == b"weights"
    assert any(path.endswith("model.pt") for path in synced)  # the file, under its staging name
    assert synced[-1] == str(tmp_path)  # and last the parent, after the rename


_PUBLISH = """
import sys
from pathlib import Path
from dolma_py.io import atomic
if sys.argv[2] == "fallback":
    atomic._renameat2 = None
final = Path(sys.argv[1])
tmp = atomic.staging_dir(final)
(tmp / "version").write_text("new")
atomic.publish_dir(tmp, final)
"""


@pytest.mark.parametrize(
    ("mode", "point"), [("exchange", "publish_dir:exchanged"), ("fallback", "publish_dir:moved_aside")]
)
def test_kill_inside_publish_never_loses_the_directory(tmp_path: Path, mode: str, point: str) -> None:
    if mode == "exchange" and not atomic.exchange(tmp_path, tmp_path):
        pytest.skip("this file system cannot exchange directories")
    final = tmp_path / "ckpt"
    final.mkdir()
    (final / "version").write_text("old")
    env = {**os.environ, CRASH_ENV: point, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-c", _PUBLISH, str(final), mode], env=env, check=False)
    assert run.returncode == -signal.SIGKILL
    if mode == "exchange":
        assert (final / "version").read_text() == "new"  # the swap is atomic: already the new copy
    else:
        assert not final.exists() and (atomic.replaced_name(final) / "version").read_text() == "old"
    atomic.recover_dir(final)  # what the next write does first (staging_dir)
    assert (final / "version").exists()
    staging_dir(final)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".ckpt.inprogress", "ckpt"]


def test_publish_replaces_an_existing_directory(tmp_path: Path) -> None:
    final = tmp_path / "out"
    for version in ("one", "two"):
        tmp = staging_dir(final)
        (tmp / "v").write_text(version)
        publish_dir(tmp, final)
    assert (final / "v").read_text() == "two" and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _copy_unit(unit: Unit) -> UnitResult:
    data = Path(unit.inputs[0]).read_bytes()
    write_bytes(unit.outputs[0], data, compress=False)
    return UnitResult(key=unit.key, documents=data.count(b"\n"))


def test_resume_redoes_units_whose_input_or_config_changed(tmp_path: Path) -> None:
    inputs = [tmp_path / f"in{i}.txt" for i in range(3)]
    for path in inputs:
        path.write_bytes(b"a\n")

    def units(params: object = None) -> list[Unit]:
        return [Unit(str(p), (str(p),), (str(tmp_path / "out" / p.name),), params) for p in inputs]

    options = ExecOptions(progress=False)
    assert run_stage("copy", units(), _copy_unit, options).units_done == 3
    assert run_stage("copy", units(), _copy_unit, options).units_skipped == 3
    inputs[1].write_bytes(b"b\nb\n")  # regenerated at the same path
    summary = run_stage("copy", units(), _copy_unit, options)
    assert (summary.units_done, summary.units_skipped) == (1, 2)
    assert (tmp_path / "out" / "in1.txt").read_bytes() == b"b\nb\n"
    os.utime(inputs[2], ns=(time.time_ns(), time.time_ns() + 10**9))  # same bytes, new mtime: redone as well
    assert run_stage("copy", units(), _copy_unit, options).units_done == 1
    assert run_stage("copy", units({"threshold": 0.5}), _copy_unit, options).units_done == 3  # config changed
    (tmp_path / "out" / "in0.txt").unlink()  # an output lost: redone even though its marker is there
    assert run_stage("copy", units({"threshold": 0.5}), _copy_unit, options).units_done == 1


def test_s3_upload_is_aborted_when_completing_fails(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from dolma_py.io.storage import s3_client

    client = s3_client()
    real = client.complete_multipart_upload

    def fail(**kwargs: object) -> None:
        raise RuntimeError("network gone")

    monkeypatch.setattr(client, "complete_multipart_upload", fail)
    with pytest.raises(RuntimeError, match="network gone"), atomic_write(f"s3://{s3_bucket}/out/a.jsonl.gz") as out:
        out.write(b"x" * 100)
    monkeypatch.setattr(client, "complete_multipart_upload", real)
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert "Contents" not in client.list_objects_v2(Bucket=s3_bucket)


_SLOW_UPLOAD = """
import sys, time
from dolma_py.io.atomic import atomic_write, terminate_as_exception
with terminate_as_exception(), atomic_write(sys.argv[1], compress=False) as out:
    out.write(b"x" * 100)
    print("writing", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_s3_upload_is_aborted_when_the_run_is_stopped(s3_bucket: str, how: signal.Signals) -> None:
    from dolma_py.io.storage import s3_client

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_UPLOAD, f"s3://{s3_bucket}/out/a.gz"], env=env, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"writing\n"
    assert len(s3_client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])) == 1
    proc.send_signal(how)
    assert proc.wait(timeout=60) != 0
    assert s3_client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_rerun_aborts_uploads_a_killed_run_left(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    client = s3_client()
    source = tmp_path / "in.txt"
    source.write_bytes(b"a\n")
    ours, other = f"s3://{s3_bucket}/out/in.txt", "elsewhere/keep.txt"
    client.create_multipart_upload(Bucket=s3_bucket, Key="out/in.txt")  # as a SIGKILLed run leaves it
    client.create_multipart_upload(Bucket=s3_bucket, Key=other)  # not one of our outputs: left alone
    unit = Unit(str(source), (str(source),), (ours,))
    summary = run_stage("copy", [unit], _copy_unit, ExecOptions(progress=False))
    assert summary.units_done == 1 and summary.aborted_uploads == 1
    assert [u["Key"] for u in client.list_multipart_uploads(Bucket=s3_bucket)["Uploads"]] == [other]
    assert run_stage("copy", [unit], _copy_unit, ExecOptions(progress=False)).units_skipped == 1


@dataclass(frozen=True)
class _Job:
    skip_bad_lines: bool


def _count_unit(job: _Job, unit: Unit) -> UnitResult:
    lines = Path(unit.inputs[0]).read_text().splitlines()
    bad = sum(line == "bad" for line in lines)
    if bad and not job.skip_bad_lines:
        raise DataError(unit.inputs[0], lines.index("bad") + 1, "bad line")
    write_bytes(unit.outputs[0], "".join(f"{line}\n" for line in lines if line != "bad").encode(), compress=False)
    return UnitResult(key=unit.key, bad_lines=bad)


def test_lenient_rerun_reuses_strict_work_and_strict_rerun_redoes_lenient_work(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text("a\n")
    bad.write_text("a\nbad\n")
    units = [Unit(str(p), (str(p),), (str(tmp_path / "out" / p.name),)) for p in (good, bad)]
    options = ExecOptions(progress=False)

    def run(skip: bool) -> tuple[int, int, int]:
        summary = run_stage("count", units, partial(_count_unit, _Job(skip)), options)
        return summary.units_done, summary.units_skipped, summary.units_failed

    assert run(False) == (1, 0, 1)
    assert run(True) == (1, 1, 0)  # only the failed file is redone: skip_bad_lines is not part of the fingerprint
    assert run(True) == (0, 2, 0)
    assert run(False) == (0, 1, 1)  # the file that skipped a line is redone strictly (and fails); the clean one stays


def _write_then_fail(unit: Unit) -> UnitResult:
    write_bytes(unit.outputs[0], b"made under another config\n", compress=False)
    raise RuntimeError("killed before the marker")


def test_an_old_marker_never_vouches_for_outputs_a_later_run_replaced(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"a\n")
    unit = Unit(str(source), (str(source),), (str(tmp_path / "out.txt"),))
    options = ExecOptions(progress=False)
    assert run_stage("copy", [unit], _copy_unit, options).units_done == 1
    assert run_stage("copy", [unit], _write_then_fail, options).units_failed == 1  # another config, died midway
    assert run_stage("copy", [unit], _copy_unit, options).units_done == 1  # not skipped on the first marker
    assert (tmp_path / "out.txt").read_bytes() == b"a\n"
