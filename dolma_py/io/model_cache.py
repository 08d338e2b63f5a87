"""Local copies of model files: remote models (s3://, http(s)://) are downloaded once per machine and reused.

The cache directory is `$DOLMA_PY_CACHE` or `~/.cache/dolma_py/models`; entries are keyed by a hash of the URL,
so a changed model must get a new URL. Downloads go to a temporary file renamed into place under a file lock,
so concurrent processes download once and never see a partial file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import urllib.request
from typing import IO

from dolma_py.errors import ConfigError, DolmaError
from dolma_py.io.paths import is_s3
from dolma_py.io.storage import open_raw

_REMOTE_PREFIXES = ("s3://", "http://", "https://")


def cache_dir() -> str:
    """Where downloaded models live: `$DOLMA_PY_CACHE` or `~/.cache/dolma_py/models`."""
    return os.environ.get("DOLMA_PY_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "dolma_py", "models")


def cached_model_path(path_or_url: str) -> str:
    """A local file holding the model: a local path as is (it must exist), a remote one downloaded once."""
    if not path_or_url.startswith(_REMOTE_PREFIXES):
        if not os.path.isfile(path_or_url):
            raise ConfigError(f"model file {path_or_url!r} does not exist")
        return path_or_url
    directory = cache_dir()
    basename = path_or_url.rstrip("/").rsplit("/", 1)[-1] or "model"
    target = os.path.join(directory, f"{hashlib.sha256(path_or_url.encode()).hexdigest()[:24]}-{basename}")
    if os.path.isfile(target):
        return target
    os.makedirs(directory, exist_ok=True)
    with open(target + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not os.path.isfile(target):
            _download(path_or_url, target)
    return target


def _open_remote(url: str) -> IO[bytes]:
    if is_s3(url):
        return open_raw(url, "rb")
    return urllib.request.urlopen(url)  # noqa: S310 - http(s) only, checked by the caller


def _download(url: str, target: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with _open_remote(url) as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            except Exception as err:
                raise DolmaError(f"cannot download model {url!r}: {err}") from err
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
