"""Raw byte access to local files and S3 objects (S3 through boto3 and smart_open, streamed, never downloaded whole)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import IO, Any

from dolma_py.errors import DolmaError
from dolma_py.io.paths import is_s3, split_s3


@lru_cache(maxsize=1)
def s3_client() -> Any:
    """One boto3 S3 client per process, from the standard credential chain; honours `AWS_ENDPOINT_URL`."""
    try:
        import boto3
    except ImportError as err:  # pragma: no cover - depends on the install
        raise DolmaError("s3:// paths need the s3 extra: pip install 'dolma-py[s3]'") from err
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    return boto3.session.Session().client("s3", endpoint_url=endpoint)


def _smart_open(path: str, mode: str) -> IO[bytes]:
    import smart_open

    return smart_open.open(path, mode, compression="disable", transport_params={"client": s3_client()})


def open_raw(path: str, mode: str = "rb") -> IO[bytes]:
    """Open `path` for binary reading or writing, without any decompression."""
    if is_s3(path):
        return _smart_open(path, mode)
    if "w" in mode:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return open(path, mode)


def exists(path: str) -> bool:
    """True if the file or object exists."""
    if not is_s3(path):
        return os.path.exists(path)
    bucket, key = split_s3(path)
    client = s3_client()
    try:
        client.head_object(Bucket=bucket, Key=key)
    except client.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def list_files(prefix: str) -> list[str]:
    """All objects under an S3 prefix, following pagination; sorted."""
    bucket, key_prefix = split_s3(prefix)
    paginator = s3_client().get_paginator("list_objects_v2")
    found = []
    for page in paginator.paginate(Bucket=bucket, Prefix=key_prefix):
        found.extend(f"s3://{bucket}/{obj['Key']}" for obj in page.get("Contents", []))
    return sorted(found)


def remove(path: str) -> None:
    """Delete a file or object if it exists."""
    if is_s3(path):
        bucket, key = split_s3(path)
        s3_client().delete_object(Bucket=bucket, Key=key)
    elif os.path.exists(path):
        os.remove(path)
