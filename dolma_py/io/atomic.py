"""Atomic writes: outputs appear under their final name only when complete.

Local files are written to a fixed hidden temporary name beside the target and renamed; a rerun after a kill
overwrites that temporary, so no stray files survive. S3 objects use a multipart upload that is completed on
success and aborted on failure, so a partial object is never visible.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from dolma_py.io.compression import compressing_writer
from dolma_py.io.paths import is_s3
from dolma_py.io.storage import open_raw


def temporary_name(path: str) -> str:
    """The hidden in-progress name used for a local output."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.inprogress")


@contextmanager
def atomic_write(path: str, *, compress: bool = True) -> Iterator[IO[bytes]]:
    """Yield a binary stream (compressed by suffix unless `compress=False`) that becomes `path` on success."""
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
        raw.close()
        os.replace(tmp, path)
    except BaseException:
        raw.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_bytes(path: str, data: bytes, *, compress: bool = True) -> None:
    """Atomically write `data` to `path`."""
    with atomic_write(path, compress=compress) as out:
        out.write(data)
