"""Atomic, durable writes: outputs appear under their final name only when complete, and stay after a power cut.

Local files are written to a fixed hidden temporary name beside the target, fsynced, renamed, and the directory
fsynced, so "the output exists" always means "the output is complete and on disk". A rerun after a kill overwrites
the temporary (the run lock in `dolma_py/io/lock.py` keeps two runs off the same names). S3 objects use a multipart
upload that is completed on success and aborted on any failure, including a failed completion and SIGTERM/SIGINT
(`terminate_as_exception`); `abort_leftover_uploads` cleans up after a SIGKILL. Local directories (checkpoints,
manifests) are assembled in a hidden staging directory, then swapped into place so the final name never disappears.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from dolma_py.io.compression import compressing_writer
from dolma_py.io.paths import is_s3, split_s3
from dolma_py.io.storage import open_raw, s3_client

CRASH_ENV = "DOLMA_PY_CRASH_AT"
"""Tests set this to a crash point's name to SIGKILL the process there (see `crash_point`)."""


def crash_point(name: str) -> None:
    """SIGKILL this process when `$DOLMA_PY_CRASH_AT` names this point: how tests prove a kill loses nothing."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def temporary_name(path: str) -> str:
    """The hidden in-progress name used for a local output."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.inprogress")


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make the entries of a local directory (a rename into it) durable."""
    fd = os.open(os.fspath(path) or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_write(
    path: str, *, compress: bool = True, sync: bool = True, codec_of: str | None = None
) -> Iterator[IO[bytes]]:
    """Yield a binary stream (compressed by suffix unless `compress=False`; by `codec_of`'s suffix when given, as
    dolma's `compression.output` writes a codec the name does not say) that becomes `path` on success.

    Local files are durable when this returns (file fsync, rename, directory fsync); `sync=False` skips the fsyncs,
    for scratch files whose loss a power cut may cause. S3 objects are durable once the upload completes.
    """
    if is_s3(path):
        raw = open_raw(path, "wb")
        try:
            stream = compressing_writer(raw, codec_of or path) if compress else raw
            yield stream
            if stream is not raw:
                stream.close()
            raw.close()  # completes the multipart upload; a failure here aborts it below
        except BaseException:
            raw.terminate()  # abort the multipart upload: nothing becomes visible, no parts are billed
            raise
        return
    tmp = temporary_name(path)
    raw = open_raw(tmp, "wb")
    try:
        stream = compressing_writer(raw, codec_of or path) if compress else raw
        yield stream
        if stream is not raw:
            stream.close()
        raw.flush()
        if sync:
            os.fsync(raw.fileno())
        raw.close()
        os.replace(tmp, path)
        if sync:
            fsync_dir(os.path.dirname(os.path.abspath(path)))
    except BaseException:
        raw.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes(
    path: str, data: bytes, *, compress: bool = True, sync: bool = True, codec_of: str | None = None
) -> None:
    """Atomically and durably write `data` to `path`, compressed as `codec_of`'s suffix (default: `path`'s) says."""
    with atomic_write(path, compress=compress, sync=sync, codec_of=codec_of) as out:
        out.write(data)


@contextmanager
def terminate_as_exception() -> Iterator[None]:
    """Within the block, SIGTERM raises `SystemExit(143)` in the main thread (SIGINT already raises
    KeyboardInterrupt), so `atomic_write` aborts S3 uploads and removes temporaries instead of leaking them."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def install_termination_handler() -> None:
    """For worker processes: SIGTERM unwinds the running unit (aborting its uploads) instead of killing it."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def abort_leftover_uploads(outputs: Iterable[str]) -> int:
    """Abort unfinished S3 multipart uploads to any of `outputs` (left by a killed run); returns how many.

    Only call this while holding the run lock on these outputs, so no live upload of another run is aborted.
    """
    by_bucket: dict[str, set[str]] = {}
    for path in outputs:
        if is_s3(path):
            bucket, key = split_s3(path)
            by_bucket.setdefault(bucket, set()).add(key)
    aborted = 0
    for bucket, keys in sorted(by_bucket.items()):
        prefix = os.path.commonprefix(sorted(keys))
        paginator = s3_client().get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["Key"] in keys:
                    s3_client().abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                    aborted += 1
    return aborted


# --- directories ----------------------------------------------------------------------------------------------


def replaced_name(final: str | os.PathLike[str]) -> Path:
    """Where the fallback publish parks the previous `final` for the moment between its two renames."""
    final = Path(final)
    return final.parent / f".{final.name}.replaced"


def recover_dir(final: str | os.PathLike[str]) -> None:
    """Undo a publish killed between its two renames: bring the parked previous `final` back; drop stale copies."""
    final, old = Path(final), replaced_name(final)
    if not old.exists():
        return
    if final.exists():
        shutil.rmtree(old)
    else:
        os.rename(old, final)
        fsync_dir(final.parent)


def staging_dir(final: str | os.PathLike[str]) -> Path:
    """An empty hidden directory beside the local directory `final`, to assemble it in.

    Its name is fixed (`temporary_name`), so a rerun after a kill clears what was left, and every process of a
    distributed job can compute it. A publish interrupted by a kill is recovered first (`recover_dir`).
    """
    recover_dir(final)
    tmp = Path(temporary_name(os.fspath(final)))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _sync_tree(root: Path) -> None:
    """fsync every file and directory under `root`, so what a rename publishes is on disk."""
    for directory, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(directory)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _load_renameat2() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


_renameat2 = _load_renameat2()


def exchange(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Atomically swap two existing paths (Linux `renameat2(RENAME_EXCHANGE)`); False where unsupported."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(a), None, os.fspath(b))


def publish_dir(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Make the finished, durable `tmp` the directory `final`; `final` never goes missing, even for a kill.

    A new `final` is one rename. An existing one is swapped with `tmp` in one atomic exchange and the old copy
    deleted after. Where the file system cannot exchange, the old `final` is renamed to `.<name>.replaced` first,
    and a kill between the two renames is undone by `recover_dir` (which `staging_dir` runs) on the next write.
    """
    tmp, final = Path(tmp), Path(final)
    _sync_tree(tmp)
    if not final.exists():
        os.rename(tmp, final)
    elif exchange(tmp, final):
        crash_point("publish_dir:exchanged")
        shutil.rmtree(tmp)
    else:
        old = replaced_name(final)
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
        crash_point("publish_dir:moved_aside")
        os.rename(tmp, final)
        shutil.rmtree(old)
    fsync_dir(final.parent)


@contextmanager
def atomic_dir(final: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging directory that replaces the local directory `final` on success and is deleted on error."""
    tmp = staging_dir(final)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish_dir(tmp, final)
