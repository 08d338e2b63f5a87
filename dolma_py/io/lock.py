"""Run locks: one live run at a time per output directory, so fixed temporary names are never shared.

A lock is the file `_dolma.lock` in an output directory, holding who took it (command, pid, host, start time).
Locally it is held with `fcntl.flock`, which the kernel drops when the process dies, so a lock left by a killed run
is simply taken over. On S3 it is created with a conditional put (`IfNoneMatch="*"`) and kept alive by a heartbeat
thread that rewrites it (`IfMatch` its last ETag); a lock whose last write is older than its lease, by the server's
clock, belongs to a dead run and is taken over with a conditional overwrite, so only one taker wins.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any

from dolma_py.errors import DolmaError
from dolma_py.io.paths import is_s3, join, parent, split_s3
from dolma_py.io.storage import s3_client

LOCK_NAME = "_dolma.lock"
S3_LEASE_SECONDS = 300.0
"""An S3 lock not rewritten for this long is stale; the holder rewrites it every fifth of that."""


class LockedError(DolmaError):
    """Another live run holds the lock on an output directory."""


def _holder(command: str) -> dict[str, Any]:
    return {
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _describe(where: str, holder: dict[str, Any]) -> str:
    who = ", ".join(f"{key} {holder[key]}" for key in ("command", "pid", "host", "started") if key in holder)
    return (
        f"{where} is locked by another dolma run ({who or 'unreadable lock'}); wait for it to finish or stop it. "
        "A lock left by a dead run is taken over automatically"
    )


def _parse(data: bytes) -> dict[str, Any]:
    try:
        holder = json.loads(data)
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


class LocalLock:
    """`_dolma.lock` in a local directory, held with flock for as long as this object is acquired."""

    def __init__(self, directory: str, command: str) -> None:
        self.path = os.path.join(directory or ".", LOCK_NAME)
        self.command = command
        self.fd: int | None = None
        self.recovered: dict[str, Any] | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _parse(os.pread(fd, 1 << 16, 0))
                os.close(fd)
                raise LockedError(_describe(os.path.dirname(self.path), holder)) from None
            except OSError as err:  # e.g. a network file system without flock
                os.close(fd)
                raise DolmaError(f"cannot lock {self.path}: {err}; write outputs to a file system with flock") from None
            # the holder we waited on may have released (unlinking the file) between our open and flock
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous = os.pread(fd, 1 << 16, 0)
        if previous:
            self.recovered = _parse(previous)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder(self.command)).encode(), 0)
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)  # while still holding it, so no one locks the file we delete
        os.close(self.fd)
        self.fd = None


class S3Lock:
    """`_dolma.lock` under an S3 prefix: a conditional put, a heartbeat, and takeover once the lease has lapsed."""

    def __init__(self, prefix: str, command: str, lease_seconds: float = S3_LEASE_SECONDS) -> None:
        self.bucket, self.key = split_s3(join(prefix, LOCK_NAME))
        self.command = command
        self.lease = lease_seconds
        self.etag: str | None = None
        self.recovered: dict[str, Any] | None = None
        self.lost = False
        self._holder = _holder(command)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key.rsplit('/', 1)[0] if '/' in self.key else ''}"

    def _put(self, **condition: str) -> str:
        body = json.dumps({**self._holder, "lease_seconds": self.lease}).encode()
        response = s3_client().put_object(Bucket=self.bucket, Key=self.key, Body=body, **condition)
        return response["ETag"]

    def acquire(self) -> None:
        client = s3_client()
        try:
            self.etag = self._put(IfNoneMatch="*")
        except client.exceptions.ClientError as err:
            if _code(err) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
            self._take_over()
        self._thread = threading.Thread(target=self._heartbeat, name="dolma-s3-lock", daemon=True)
        self._thread.start()

    def _take_over(self) -> None:
        client = s3_client()
        try:
            current = client.get_object(Bucket=self.bucket, Key=self.key)
        except client.exceptions.NoSuchKey:  # released meanwhile: try a fresh put once
            self.etag = self._put(IfNoneMatch="*")
            return
        holder = _parse(current["Body"].read())
        now = parsedate_to_datetime(current["ResponseMetadata"]["HTTPHeaders"]["date"])
        age = (now - current["LastModified"]).total_seconds()
        lease = float(holder.get("lease_seconds", self.lease))
        if age <= lease and not _dead_here(holder):
            raise LockedError(_describe(self.where, holder))
        try:
            self.etag = self._put(IfMatch=current["ETag"])
        except client.exceptions.ClientError as err:
            if _code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise LockedError(_describe(self.where, holder)) from None  # another run took it first
            raise
        self.recovered = holder

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.lease / 5):
            try:
                self.etag = self._put(IfMatch=self.etag or "")
            except Exception as err:  # noqa: BLE001 - reported, the run goes on
                self.lost = True
                print(f"dolma: warning: lost the run lock s3://{self.bucket}/{self.key}: {err}", file=sys.stderr)
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.etag is not None and not self.lost:
            client = s3_client()
            try:
                client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
            except client.exceptions.ClientError as err:
                if _code(err) not in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                    raise
        self.etag = None


def _dead_here(holder: dict[str, Any]) -> bool:
    """Whether the lock's holder ran on this host and its process is gone (a run that could not release its lock,
    say when S3 was unreachable): its lock need not wait out the lease."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


MAX_LOCKS = 64
"""Beyond this many output directories (per file system or bucket) a run locks their common directory instead."""


def lock_directories(outputs: Iterable[str]) -> list[str]:
    """The directories to lock for these outputs: each one holding an output, so runs sharing one conflict; a run
    spread over more than `MAX_LOCKS` directories of one bucket (or the local file system) locks their common one."""
    groups: dict[str, set[str]] = {}
    for path in outputs:
        if is_s3(path):
            groups.setdefault(split_s3(path)[0], set()).add(parent(path))
        else:
            groups.setdefault("", set()).add(os.path.dirname(os.path.abspath(path)))
    locked: list[str] = []
    for bucket, directories in groups.items():
        common = _common_directory(bucket, directories) if len(directories) > MAX_LOCKS else None
        locked.extend([common] if common else directories)
    return sorted(locked)


def _common_directory(bucket: str, directories: set[str]) -> str | None:
    """The deepest directory holding all of `directories`, or None at a file system root (which is not ours)."""
    if bucket:
        keys = [split_s3(d)[1] for d in directories]
        prefix = os.path.commonpath(keys) if all(keys) else ""
        return f"s3://{bucket}/{prefix}".rstrip("/") if prefix else f"s3://{bucket}"
    common = os.path.commonpath(sorted(directories))
    return None if common == os.path.dirname(common) else common


_HELD: dict[str, int] = {}
"""Directories this process holds locked -> nesting depth, so a stage inside a locked run does not lock itself out."""


@contextmanager
def run_lock(outputs: Iterable[str], command: str) -> Iterator[list[dict[str, Any]]]:
    """Lock every output directory of a run for its duration; yields the holders of stale locks it took over.

    Raises `LockedError` (and releases what it took) when a live run holds any of them.
    """
    directories = lock_directories(outputs)
    taken: list[LocalLock | S3Lock] = []
    recovered: list[dict[str, Any]] = []
    try:
        for directory in directories:
            if _HELD.get(directory):
                continue
            lock: LocalLock | S3Lock = S3Lock(directory, command) if is_s3(directory) else LocalLock(directory, command)
            lock.acquire()
            taken.append(lock)
            if lock.recovered is not None:
                recovered.append({"directory": directory, **lock.recovered})
        for directory in directories:
            _HELD[directory] = _HELD.get(directory, 0) + 1
        try:
            yield recovered
        finally:
            for directory in directories:
                _HELD[directory] -= 1
                if not _HELD[directory]:
                    del _HELD[directory]
    finally:
        for lock in reversed(taken):
            lock.release()
