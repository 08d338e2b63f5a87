"""Session fixtures: a real S3-compatible server on loopback (moto's standalone server) and a local Ray cluster."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from dolma_py.manifest import PhaseInfo, ShardInfo, write_manifest

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Start moto's S3 server in its own process and point boto3 (in this and child processes) at it."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        wait_for_port(port)
        from dolma_py.io.storage import s3_client

        s3_client.cache_clear()
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from dolma_py.io.storage import s3_client

        s3_client.cache_clear()


@pytest.fixture()
def s3_bucket(s3_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh bucket per test, named after the test."""
    from dolma_py.io.storage import s3_client

    name = "b-" + "".join(c if c.isalnum() else "-" for c in request.node.name.lower())[:50].strip("-")
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A local Ray head node started with `ray start`; yields its address for `--ray-address`."""
    pytest.importorskip("ray")
    ray_bin = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    assert ray_bin, "the ray CLI is not installed"
    port = free_port()
    subprocess.run(
        [
            ray_bin,
            "start",
            "--head",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([ray_bin, "stop", "--force"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write_documents(path: Path, docs: list[dict], compress: bool = True) -> Path:
    """Write documents as JSON lines (gzip by default) for tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(doc) + "\n" for doc in docs).encode()
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def read_jsonl(path: Path) -> list[dict]:
    """Read a (gzip) JSON-lines file; lines end at b"\n" only (U+2028 and friends are text, not line breaks)."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return [json.loads(line) for line in data.split(b"\n") if line]


def tagger_attributes(rows: list[dict], experiment: str, tagger: str) -> list[dict]:
    """One tagger's attributes per line (keys `<experiment>__<tagger>__<key>`, the tagger's name sanitized as
    dolma does), with the line's id."""
    prefix = f"{experiment}__{re.sub('[^A-Za-z0-9_]', '_', tagger)}__"
    return [{"id": r["id"], "attributes": {k: v for k, v in r["attributes"].items() if k.startswith(prefix)}}
            for r in rows]


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (relative path -> bytes), excluding run summaries and completion markers (which
    record the inputs' paths and mtimes, not data)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "summary" not in p.name and not (p.name.startswith(".") and p.name.endswith(".done"))
    }


def write_token_shards(root: Path, tokens: Sequence[np.ndarray], name: str) -> list[ShardInfo]:
    """Write each token array as a raw (headerless) shard `root / name.format(k)`; their `ShardInfo`s."""
    shards = []
    for k, array in enumerate(tokens):
        path = root / name.format(k)
        array.tofile(path)
        shards.append(ShardInfo(str(path), array.size))
    return shards


def write_test_manifest(
    path: Path,
    shards: list[ShardInfo],
    *,
    sequence_length: int,
    sources: Sequence[str],
    phases: Sequence[tuple[PhaseInfo, np.ndarray]],
    validation: np.ndarray | None,
    name: str = "toy",
    seed: int = 0,
) -> Path:
    """`write_manifest` over uint16 token shards whose EOS id is 0, as the tests' shards are."""
    return write_manifest(
        str(path),
        name=name,
        seed=seed,
        sequence_length=sequence_length,
        dtype="uint16",
        eos_token_id=0,
        shards=shards,
        sources=list(sources),
        phases=phases,
        validation=validation,
    )
