"""S3 outage: `dolma tag` reads documents from and writes attributes to S3; the server is stopped once the run has
started writing, then restarted with its state: after a short outage (which smart_open's retries, 6 x 10 s, may
bridge) or once the run has given up. The run must complete or fail cleanly (an error, not a crash), and a rerun must
end with the uninterrupted run's objects and no multipart upload left open.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fault_pipeline import DOLMA

from dolma_py.io.lock import LOCK_NAME

SERVER = Path(__file__).with_name("fault_s3server.py")
UNCAUGHT = re.compile(r"^[\w.]+(Error|Exception)\b")
"""The last line of an uncaught exception's traceback."""
PREFIX = "data/attributes/"
SUMMARY_KEY = "data/attributes/e/_dolma_tag_summary.json"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RestartableS3:
    """The server of `fault_s3server.py` in a child process, and a boto3 client for it."""

    def __init__(self) -> None:
        import boto3

        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}
        self.proc = subprocess.Popen([sys.executable, str(SERVER), str(self.port)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self._answer()
        self.client = boto3.session.Session(**{k.lower(): v for k, v in CREDENTIALS.items()
                                               if k != "AWS_DEFAULT_REGION"},
                                            region_name="us-east-1").client("s3", endpoint_url=self.endpoint)

    def _answer(self) -> None:
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ok"

    def command(self, what: str) -> None:
        """`stop` or `start` the server."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        self._answer()

    def close(self) -> None:
        """Stop the server process."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def objects(self, bucket: str, prefix: str) -> dict[str, bytes]:
        """Every object under `prefix` but run summaries (key -> bytes)."""
        keys = [o["Key"] for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                                           Prefix=prefix)
                for o in page.get("Contents", [])]
        return {k: self.client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in sorted(keys)
                if not k.rsplit("/", 1)[-1].startswith("_dolma_")}

    def open_uploads(self, bucket: str) -> list[str]:
        """Keys with a multipart upload still open."""
        return [u["Key"] for u in self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


@dataclass
class S3Result:
    """One outage: the interrupted run, the rerun, and what was left."""

    stop_after_s: float
    outage_s: float | None
    rc: int
    message: str
    rerun_rc: int
    open_uploads: list[str]
    bytes_lost: int
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return asdict(self) | {"survived": self.survived}


def _upload_corpus(s3: RestartableS3, bucket: str, corpus: Path) -> None:
    s3.client.create_bucket(Bucket=bucket)
    for path in sorted(corpus.glob("documents/*/*.jsonl.gz")):
        data = gzip.compress(gzip.decompress(path.read_bytes()), mtime=0)
        s3.client.put_object(Bucket=bucket, Key=f"data/documents/{path.parent.name}/{path.name}", Body=data)


def _tag(s3: RestartableS3, bucket: str) -> list[str]:
    return [DOLMA, "tag", "--documents", f"s3://{bucket}/data/documents/*/*.jsonl.gz", "--experiment", "e",
            "--taggers", "char_length_v1", "whitespace_tokenizer_v1", "gopher_v1", "--processes", "1"]


def _locks(s3: RestartableS3, bucket: str) -> list[str]:
    listing = s3.client.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    return [o["Key"] for o in listing if o["Key"].endswith(LOCK_NAME)]


def _wait_for_lock(s3: RestartableS3, bucket: str, proc: subprocess.Popen[str]) -> bool:
    while proc.poll() is None:
        if _locks(s3, bucket):
            return True
        time.sleep(0.01)
    return False


def s3_outage(s3: RestartableS3, corpus: Path, bucket: str, stop_after_s: float, outage_s: float | None) -> S3Result:
    """Stop the server `stop_after_s` after the run takes its first lock (0: with the run frozen right then, so the
    outage lands at a known point) and restart it `outage_s`
    later (None: once the run has ended); rerun, and compare with an uninterrupted run in the same bucket."""
    _upload_corpus(s3, bucket, corpus)
    subprocess.run(_tag(s3, bucket), env=s3.env, capture_output=True, check=True)
    reference = s3.objects(bucket, PREFIX)
    for key in [*reference, SUMMARY_KEY]:
        s3.client.delete_object(Bucket=bucket, Key=key)
    proc = subprocess.Popen(_tag(s3, bucket), env=s3.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = _wait_for_lock(s3, bucket, proc)
    if stop_after_s:
        time.sleep(stop_after_s)
        ended_before_stop = proc.poll() is not None
        s3.command("stop")
    else:  # frozen while the server stops, so the outage lands exactly after the first lock is taken
        ended_before_stop = proc.poll() is not None
        os.kill(proc.pid, signal.SIGSTOP)
        s3.command("stop")
        os.kill(proc.pid, signal.SIGCONT)
    try:
        if outage_s is not None:
            time.sleep(outage_s)
            s3.command("start")
        out, err = proc.communicate(timeout=600)
    finally:
        if outage_s is None:
            s3.command("start")
    message = (err.strip().splitlines() or [""])[-1][:300]
    rerun = subprocess.run(_tag(s3, bucket), env=s3.env, capture_output=True, text=True)
    problems = []
    if not started or ended_before_stop:
        problems.append("the run was not interrupted (it ended before the server stopped)")
    if proc.returncode not in (0, 1, 2) or UNCAUGHT.match(message):
        problems.append(f"the interrupted run crashed (exit status {proc.returncode}, uncaught): {message}")
    elif proc.returncode != 0 and ("<bound method" in message or not message):
        problems.append(f"unclear error: {message}")
    if "locked by another dolma run" in rerun.stderr:
        problems.append("rerun refused: the failed run's S3 lock outlives it until its lease ends")
        for key in _locks(s3, bucket):
            s3.client.delete_object(Bucket=bucket, Key=key)
        rerun = subprocess.run(_tag(s3, bucket), env=s3.env, capture_output=True, text=True)
    got = s3.objects(bucket, PREFIX)
    lost = sum(len(v) for k, v in reference.items() if got.get(k) != v) + sum(
        len(v) for k, v in got.items() if k not in reference)
    result = S3Result(round(stop_after_s, 3), outage_s, proc.returncode, message, rerun.returncode,
                      s3.open_uploads(bucket), lost, problems)
    if rerun.returncode != 0:
        result.problems.append(f"rerun failed: {rerun.stderr.strip()[-300:]}")
    if result.open_uploads:
        result.problems.append(f"multipart uploads left open: {result.open_uploads}")
    if lost:
        result.problems.append(f"{lost} bytes differ from the uninterrupted run")
    return result
