"""A `bloom_filter.file` on S3, as dolma allows: fetched to the work directory, written back atomically.

The filter is memory-mapped and checked in place, so it must be local while the run goes. `fetch` copies the object
(every partition, and the sidecar) to `<work>/bloom-<hash of the S3 path>/filter`, unless the copy there came from
the same object version (ETag); `upload` puts the local files back, each as one S3 upload that becomes visible only
when complete (boto3 aborts a failed multipart upload).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

from dolma_py.dedupe.filters import SIDECAR_SUFFIX, partition_paths
from dolma_py.errors import ConfigError
from dolma_py.io.atomic import temporary_name, write_bytes
from dolma_py.io.paths import split_s3
from dolma_py.io.storage import s3_client


def local_path(remote: str, work_dir: str | None) -> str:
    """Where the local copy of the filter at `remote` lives."""
    root = work_dir or os.path.join(tempfile.gettempdir(), "dolma_py-bloom")
    return os.path.join(root, f"bloom-{hashlib.sha256(remote.encode()).hexdigest()[:16]}", "filter")


def _etag(remote: str) -> str | None:
    bucket, key = split_s3(remote)
    client = s3_client()
    try:
        return client.head_object(Bucket=bucket, Key=key)["ETag"]
    except client.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _files(base: str, partitions: int) -> list[str]:
    return partition_paths(base, partitions) + [base + SIDECAR_SUFFIX]


def fetch(remote: str, partitions: int, work_dir: str | None, *, read_only: bool) -> str:
    """Copy the filter at `remote` to its local path (when it exists there) and return that path."""
    local = local_path(remote, work_dir)
    os.makedirs(os.path.dirname(local), exist_ok=True)
    tag_file = local + ".etag"
    first = partition_paths(remote, partitions)[0]
    etag = _etag(first)
    if etag is None:
        if read_only:
            raise ConfigError(f"bloom_filter.read_only is set but {remote} does not exist; build the filter first")
        return local
    if os.path.exists(tag_file) and open(tag_file).read() == etag and os.path.exists(local):
        return local
    for source, target in zip(_files(remote, partitions), _files(local, partitions), strict=True):
        bucket, key = split_s3(source)
        if target.endswith(SIDECAR_SUFFIX) and _etag(source) is None:
            continue
        tmp = temporary_name(target)
        s3_client().download_file(bucket, key, tmp)
        os.replace(tmp, target)
    write_bytes(tag_file, etag.encode(), compress=False)
    return local


def upload(remote: str, partitions: int, local: str) -> None:
    """Write the local filter files back to `remote`, and remember the new version as the local copy's."""
    for source, target in zip(_files(local, partitions), _files(remote, partitions), strict=True):
        if os.path.exists(source):
            bucket, key = split_s3(target)
            s3_client().upload_file(source, bucket, key)
    etag = _etag(partition_paths(remote, partitions)[0])
    if etag is not None:
        write_bytes(local + ".etag", etag.encode(), compress=False)
