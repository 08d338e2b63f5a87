"""Atomic writes: outputs appear under their final name only when complete.

Local files are written to a fixed hidden temporary name beside the target and renamed; a rerun after a kill
overwrites that temporary, so no stray files survive. S3 objects use a multipart upload that is completed on
success and aborted on failure, so a partial object is never visible. Local directories (checkpoints, manifests)
are assembled the same way: in a hidden staging directory beside the target, then renamed into place.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from dolma_py.io.compression import compressing_writer
from dolma_py.io.paths import is_s3
from dolma_py.io.storage import open_raw


def temporary_name(path: str) -> str:
    """The hidden in-progress name used for a local output."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.inprogress")


@contextmanager
def atomic_write(path: str, *, compress: bool = True, sync: bool = False) -> Iterator[IO[bytes]]:
    """Yield a binary stream (compressed by suffix unless `compress=False`) that becomes `path` on success.

    `sync=True` also fsyncs a local file before the rename, for state that must survive a power cut.
    """
    if is_s3(path):
        raw = open_raw(path, "wb")
        try:
            stream = compressing_writer(raw, path) if compress else raw
            yield stream
            if stream is not raw:
                stream.close()
        except BaseException:
            raw.terminate()  # abort the multipart upload: nothing becomes visible
            raise
        raw.close()
        return
    tmp = temporary_name(path)
    raw = open_raw(tmp, "wb")
    try:
        stream = compressing_writer(raw, path) if compress else raw
        yield stream
        if stream is not raw:
            stream.close()
        if sync:
            raw.flush()
            os.fsync(raw.fileno())
        raw.close()
        os.replace(tmp, path)
    except BaseException:
        raw.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes(path: str, data: bytes, *, compress: bool = True, sync: bool = False) -> None:
    """Atomically write `data` to `path`."""
    with atomic_write(path, compress=compress, sync=sync) as out:
        out.write(data)


def staging_dir(final: str | os.PathLike[str]) -> Path:
    """An empty hidden directory beside the local directory `final`, to assemble it in.

    Its name is fixed (`temporary_name`), so a rerun after a kill clears what was left, and every process of a
    distributed job can compute it.
    """
    tmp = Path(temporary_name(os.fspath(final)))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish_dir(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """Rename the finished `tmp` to `final`; an existing `final` is moved aside first and deleted after."""
    final = Path(final)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.replaced"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


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
