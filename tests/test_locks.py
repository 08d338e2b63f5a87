"""Run locks: a second run on the same outputs is refused while the first lives; a dead run's lock is taken over,
locally (flock) and on S3 (conditional put plus lease)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT, write_documents

from dolma_py.cli.main import main
from dolma_py.exec.runner import ExecOptions, run_stage
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.lock import LOCK_NAME, LockedError, S3Lock, run_lock

_HOLD = """
import sys, time
from dolma_py.io.lock import run_lock
with run_lock([sys.argv[1]], "tag"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _hold(path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
    return proc


def _noop(unit: Unit) -> UnitResult:
    Path(unit.outputs[0]).write_text("x")
    return UnitResult(key=unit.key)


def test_second_run_on_the_same_outputs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "documents"
    write_documents(docs / "a.jsonl.gz", [{"id": "a", "text": "hello", "source": "s"}])
    holder = _hold(tmp_path / "attributes" / "e" / "a.jsonl.gz")  # a live run on the same output directory
    try:
        lock = json.loads((tmp_path / "attributes" / "e" / LOCK_NAME).read_text())
        assert lock["pid"] == holder.pid and lock["host"] == socket.gethostname() and lock["command"] == "tag"
        args = ["tag", "--documents", str(docs / "*"), "--taggers", "char_length_v1", "--experiment", "e"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "is locked by another dolma run" in err and f"pid {holder.pid}" in err
        assert not (tmp_path / "attributes" / "e" / "a.jsonl.gz").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder died without releasing: its lock file is left, and the next run takes it over
    assert (tmp_path / "attributes" / "e" / LOCK_NAME).exists()
    assert main(args) == 0
    summary = json.loads((tmp_path / "attributes" / "e" / "_dolma_tag_summary.json").read_text())
    assert summary["units_done"] == 1 and summary["recovered_locks"][0]["pid"] == holder.pid
    assert not (tmp_path / "attributes" / "e" / LOCK_NAME).exists()  # released at the end


def test_stale_lock_with_a_dead_pid_is_recovered(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    pid = int(dead.stdout)
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"command": "mix", "pid": pid, "host": socket.gethostname()}))
    unit = Unit("k", (), (str(out / "a.txt"),))
    summary = run_stage("copy", [unit], _noop, ExecOptions(progress=False))
    assert summary.units_done == 1 and summary.recovered_locks == [
        {"directory": str(out), "command": "mix", "pid": pid, "host": socket.gethostname()}
    ]


def test_locks_nest_within_one_process_but_not_across(tmp_path: Path) -> None:
    with run_lock([str(tmp_path / "a.txt")], "mix"):
        with run_lock([str(tmp_path / "b.txt")], "mix shards"):  # a stage inside the locked run
            pass
        assert (tmp_path / LOCK_NAME).exists()  # still held by the outer run
        proc = subprocess.run(
            [sys.executable, "-c", _HOLD, str(tmp_path / "c.txt")],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode != 0 and b"is locked by another dolma run" in proc.stderr
    assert not (tmp_path / LOCK_NAME).exists()


def test_s3_lock_conditional_put_and_lease(s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    prefix = f"s3://{s3_bucket}/out"
    first = S3Lock(prefix, "mix", lease_seconds=2.0)
    first.acquire()
    body = json.loads(s3_client().get_object(Bucket=s3_bucket, Key=f"out/{LOCK_NAME}")["Body"].read())
    assert body["pid"] == os.getpid() and body["command"] == "mix"
    with pytest.raises(LockedError, match="is locked by another dolma run"):
        S3Lock(prefix, "mix", lease_seconds=2.0).acquire()
    time.sleep(3.5)  # the heartbeat keeps a live holder's lease fresh
    with pytest.raises(LockedError):
        S3Lock(prefix, "mix", lease_seconds=2.0).acquire()
    first.release()
    assert "Contents" not in s3_client().list_objects_v2(Bucket=s3_bucket, Prefix="out/")

    dead = S3Lock(prefix, "tag", lease_seconds=1.0)
    dead.acquire()
    dead._stop.set()  # the run died: no more heartbeats
    time.sleep(2.5)
    taker = S3Lock(prefix, "mix", lease_seconds=1.0)
    taker.acquire()
    assert taker.recovered is not None and taker.recovered["command"] == "tag"
    taker.release()


def test_s3_stage_run_takes_and_releases_the_lock(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    with run_lock([f"s3://{s3_bucket}/out/a.txt"], "tag"):
        with pytest.raises(LockedError):
            S3Lock(f"s3://{s3_bucket}/out", "tag").acquire()
        keys = [o["Key"] for o in s3_client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
        assert keys == [f"out/{LOCK_NAME}"]
    assert "Contents" not in s3_client().list_objects_v2(Bucket=s3_bucket)


def test_lock_directories_one_per_output_directory_until_too_many(tmp_path: Path) -> None:
    from dolma_py.io.lock import MAX_LOCKS, lock_directories

    few = [str(tmp_path / "a" / "x.gz"), str(tmp_path / "a" / "y.gz"), str(tmp_path / "b" / "c" / "z.gz")]
    assert lock_directories(few) == [str(tmp_path / "a"), str(tmp_path / "b" / "c")]
    many = [str(tmp_path / "attrs" / f"d{i}" / "x.gz") for i in range(MAX_LOCKS + 1)]
    assert lock_directories(many) == [str(tmp_path / "attrs")]
    remote = [f"s3://bkt/out/d{i}/x.gz" for i in range(MAX_LOCKS + 1)]
    assert lock_directories([*remote, "s3://other/o/x.gz"]) == ["s3://bkt/out", "s3://other/o"]


_HOLD_MANY = """
import sys, time
from dolma_py.io.lock import run_lock
with run_lock(sys.argv[1:], "tag"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_run_locking_an_ancestor_and_one_locking_below_it_exclude_each_other(tmp_path: Path) -> None:
    from dolma_py.io.lock import MAX_LOCKS

    many = [str(tmp_path / "attrs" / f"d{i}" / "x.gz") for i in range(MAX_LOCKS + 1)]  # collapses onto attrs/
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_MANY, *many], env=env, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        assert (tmp_path / "attrs" / LOCK_NAME).exists() and not (tmp_path / "attrs" / "d3" / LOCK_NAME).exists()
        with pytest.raises(LockedError, match=f"{tmp_path / 'attrs'} is locked by another dolma run"):
            with run_lock([str(tmp_path / "attrs" / "d3" / "y.gz")], "mix"):
                pass
        assert not (tmp_path / "attrs" / "d3" / LOCK_NAME).exists()  # what the refused run took is released
    finally:
        holder.kill()
        holder.wait()

    small = _hold(tmp_path / "attrs" / "d3" / "y.gz")  # now the other way round: the narrow run came first
    try:
        with pytest.raises(LockedError, match=f"{tmp_path / 'attrs' / 'd3'} is locked by another dolma run"):
            with run_lock(many, "tag"):
                pass
        assert not (tmp_path / "attrs" / LOCK_NAME).exists()
    finally:
        small.kill()
        small.wait()
    with run_lock(many, "tag"):  # both holders are gone
        with run_lock([str(tmp_path / "attrs" / "d3" / "y.gz")], "tag shards"):  # nested in one process: allowed
            pass


def _overwrite_lock_then_work(unit: Unit) -> UnitResult:
    """A unit during which another run takes the S3 lock over (as after a long outage of this run's heartbeat)."""
    from dolma_py.io.storage import s3_client

    bucket, key = unit.params["lock"]
    s3_client().put_object(Bucket=bucket, Key=key, Body=json.dumps({"command": "mix", "pid": 1, "host": "other"}))
    time.sleep(1.5)  # the heartbeat (every 0.2 s of a 1 s lease) finds the lock is not its own any more
    Path(unit.outputs[0]).write_text("x")
    return UnitResult(key=unit.key)


def test_a_run_whose_s3_lock_was_taken_over_commits_nothing_more(
    tmp_path: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dolma_py.exec.runner import summary_file
    from dolma_py.io import lock as lock_module
    from dolma_py.io.lock import LostLockError
    from dolma_py.io.storage import exists, s3_client

    monkeypatch.setattr(lock_module, "S3_LEASE_SECONDS", 1.0)
    summary = summary_file(f"s3://{s3_bucket}/out", "tag")
    unit = Unit(key="u", inputs=(), outputs=(str(tmp_path / "out.txt"),),
                params={"lock": (s3_bucket, f"out/{LOCK_NAME}")})
    with pytest.raises(LostLockError, match="lost the run lock .* taken over .*pid 1, host other"):
        run_stage("tag", [unit], _overwrite_lock_then_work, ExecOptions(processes=1, progress=False), summary)
    assert "this run stops before its next commit" in capsys.readouterr().err
    assert not exists(summary) and not os.path.exists(unit.marker)  # neither the marker nor the summary committed
    body = json.loads(s3_client().get_object(Bucket=s3_bucket, Key=f"out/{LOCK_NAME}")["Body"].read())
    assert body["host"] == "other"  # the new holder's lock is left alone


def test_s3_heartbeat_rides_out_a_short_outage_but_not_a_lapsed_lease(s3_bucket: str) -> None:
    lock = S3Lock(f"s3://{s3_bucket}/out", "tag", lease_seconds=1.0)
    lock.acquire()
    renew, failures = lock._renew, {"left": 2}

    def flaky() -> str:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("endpoint unreachable")
        return renew()

    lock._renew = flaky  # type: ignore[method-assign]
    time.sleep(1.2)  # two failed renewals (0.4 s), then renewed again: within the lease
    assert lock.lost is None and failures["left"] == 0
    failures["left"] = 1000
    time.sleep(1.5)
    assert lock.lost is not None and "could not be renewed for 1 s (endpoint unreachable)" in lock.lost
    lock.release()
