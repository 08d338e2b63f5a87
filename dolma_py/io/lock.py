"""Run locks: one live run at a time per output directory, so fixed temporary names are never shared.

A lock is the file `_dolma.lock` in an output directory, holding who took it (command, pid, host, start time).
Locally it is held with `fcntl.flock`, which the kernel drops when the process dies, so a lock left by a killed run
is simply taken over. On S3 it is created with a conditional put (`IfNoneMatch="*"`) and kept alive by a heartbeat
thread that rewrites it (`IfMatch` its last ETag); a lock whose last write is older than its lease, by the server's
clock, belongs to a dead run and is taken over with a conditional overwrite, so only one taker wins. A run whose
heartbeat cannot renew its lease before the lease runs out has lost the lock: `ensure_held` then raises, and the
run's writers call it before each commit (a unit's marker, a dedupe checkpoint, the run summary), so a run that
may have been taken over never commits over the new holder.

Locks are per directory, but a run spread over many directories locks their common one (`MAX_LOCKS`). So that runs
locking a directory and runs locking its ancestor still exclude each other, every run, once it holds its locks,
probes the ancestors of its directories (and, when it collapsed, the directories it will write to) for a live lock.
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


class LostLockError(LockedError):
    """This run's lock lapsed (its S3 lease could not be renewed), so another run may hold the outputs now."""


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
        self.lost: str | None = None  # a flock is never lost while the process lives

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

    @staticmethod
    def probe(directory: str) -> dict[str, Any] | None:
        """The holder of a live lock on `directory` (one another process has flocked), else None; takes nothing."""
        try:
            fd = os.open(os.path.join(directory, LOCK_NAME), os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse(os.pread(fd, 1 << 16, 0))
        except OSError:
            return None
        finally:
            os.close(fd)
        return None

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)  # while still holding it, so no one locks the file we delete
        os.close(self.fd)
        self.fd = None


class S3Lock:
    """`_dolma.lock` under an S3 prefix: a conditional put, a heartbeat, and takeover once the lease has lapsed."""

    def __init__(self, prefix: str, command: str, lease_seconds: float | None = None) -> None:
        self.bucket, self.key = split_s3(join(prefix, LOCK_NAME))
        self.command = command
        self.lease = lease_seconds or S3_LEASE_SECONDS
        self.etag: str | None = None
        self.recovered: dict[str, Any] | None = None
        self.lost: str | None = None
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
        if _live(current, holder, self.lease):
            raise LockedError(_describe(self.where, holder))
        try:
            self.etag = self._put(IfMatch=current["ETag"])
        except client.exceptions.ClientError as err:
            if _code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise LockedError(_describe(self.where, holder)) from None  # another run took it first
            raise
        self.recovered = holder

    @staticmethod
    def probe(prefix: str) -> dict[str, Any] | None:
        """The holder of a live lock under `prefix`, else None; takes nothing."""
        bucket, key = split_s3(join(prefix, LOCK_NAME))
        client = s3_client()
        try:
            current = client.get_object(Bucket=bucket, Key=key)
        except client.exceptions.NoSuchKey:
            return None
        holder = _parse(current["Body"].read())
        return holder if _live(current, holder, S3_LEASE_SECONDS) else None

    def _heartbeat(self) -> None:
        """Renew the lease every fifth of it; transient errors are retried until the lease would lapse, and a lock
        overwritten by someone else is lost at once."""
        renewed = time.monotonic()
        while not self._stop.wait(self.lease / 5):
            try:
                self.etag = self._renew()
                renewed = time.monotonic()
            except LockedError as err:
                self._lose(str(err))
                return
            except Exception as err:  # noqa: BLE001 - retried while the lease lasts
                if time.monotonic() - renewed >= self.lease * 0.8:
                    self._lose(f"the lease could not be renewed for {self.lease:.0f} s ({err})")
                    return

    def _renew(self) -> str:
        """Rewrite the lock if it is still ours. A renewal whose reply was lost changed the ETag: the body tells."""
        client = s3_client()
        try:
            return self._put(IfMatch=self.etag or "")
        except client.exceptions.ClientError as err:
            if _code(err) not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise
        try:
            current = client.get_object(Bucket=self.bucket, Key=self.key)
        except client.exceptions.NoSuchKey:
            raise LockedError("it was deleted by someone else") from None
        holder = _parse(current["Body"].read())
        if {key: holder.get(key) for key in self._holder} != self._holder:
            raise LockedError(f"it was taken over ({_describe(self.where, holder)})")
        self.etag = current["ETag"]
        return self._put(IfMatch=self.etag)

    def _lose(self, why: str) -> None:
        self.lost = f"lost the run lock s3://{self.bucket}/{self.key}: {why}"
        print(f"dolma: error: {self.lost}; this run stops before its next commit", file=sys.stderr)

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


def _live(current: dict[str, Any], holder: dict[str, Any], default_lease: float) -> bool:
    """Whether an S3 lock object (a `get_object` reply) belongs to a live run: rewritten within its lease, by the
    server's clock, and not left by a process of this host that is gone."""
    now = parsedate_to_datetime(current["ResponseMetadata"]["HTTPHeaders"]["date"])
    age = (now - current["LastModified"]).total_seconds()
    return age <= float(holder.get("lease_seconds", default_lease)) and not _dead_here(holder)


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


def _directories(outputs: Iterable[str]) -> dict[str, set[str]]:
    """The directories holding `outputs`, grouped by bucket ("" for the local file system)."""
    groups: dict[str, set[str]] = {}
    for path in outputs:
        if is_s3(path):
            groups.setdefault(split_s3(path)[0], set()).add(parent(path))
        else:
            groups.setdefault("", set()).add(os.path.dirname(os.path.abspath(path)))
    return groups


def lock_directories(outputs: Iterable[str]) -> list[str]:
    """The directories to lock for these outputs: each one holding an output, so runs sharing one conflict; a run
    spread over more than `MAX_LOCKS` directories of one bucket (or the local file system) locks their common one."""
    locked: list[str] = []
    for bucket, directories in _directories(outputs).items():
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


def _ancestors(directory: str) -> Iterator[str]:
    """Every directory above `directory`, up to the file system root or the bucket."""
    while True:
        up = parent(directory) if is_s3(directory) else os.path.dirname(directory)
        if up == directory or not up or up.rstrip("/") in ("s3:", "s3:/"):
            return
        yield up
        directory = up


def probed_directories(outputs: Iterable[str], locked: list[str]) -> list[str]:
    """Where a run holding `locked` looks for another live run: the ancestors of what it locked (a run that
    collapsed onto one), and, below a collapsed lock, the directories it writes to (runs that did not collapse)."""
    below = {d for ds in _directories(outputs).values() for d in ds}
    probed = {up for directory in locked for up in _ancestors(directory)} | below
    return sorted(probed - set(locked))


_HELD: dict[str, int] = {}
"""Directories this process holds locked -> nesting depth, so a stage inside a locked run does not lock itself out."""

_TAKEN: list[LocalLock | S3Lock] = []
"""The locks this process holds, which `ensure_held` checks."""


def ensure_held() -> None:
    """Raise `LostLockError` if a run lock this process holds was lost (an S3 lease that could not be renewed):
    another run may own the outputs now, so the caller must not commit anything more."""
    for lock in _TAKEN:
        if lock.lost:
            raise LostLockError(f"{lock.lost}; nothing more was committed; rerun once the other run is done")


def _probe(directory: str) -> dict[str, Any] | None:
    return S3Lock.probe(directory) if is_s3(directory) else LocalLock.probe(directory)


@contextmanager
def run_lock(outputs: Iterable[str], command: str) -> Iterator[list[dict[str, Any]]]:
    """Lock every output directory of a run for its duration; yields the holders of stale locks it took over.

    Raises `LockedError` (and releases what it took) when a live run holds any of them, or an ancestor of them
    (or, below a collapsed lock, one of the directories written to).
    """
    outputs = list(outputs)
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
        if taken:  # probed after locking, so of two overlapping runs starting together at least one sees the other
            for directory in probed_directories(outputs, directories):
                holder = None if _HELD.get(directory) else _probe(directory)
                if holder is not None:
                    raise LockedError(_describe(directory, holder))
        for directory in directories:
            _HELD[directory] = _HELD.get(directory, 0) + 1
        _TAKEN.extend(taken)
        try:
            yield recovered
        finally:
            for lock in taken:
                _TAKEN.remove(lock)
            for directory in directories:
                _HELD[directory] -= 1
                if not _HELD[directory]:
                    del _HELD[directory]
    finally:
        for lock in reversed(taken):
            lock.release()
