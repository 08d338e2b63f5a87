"""A `bloom_filter.file` on S3, as dolma allows: fetched to the work directory, written back as one version.

The filter is memory-mapped and checked in place, so it must be local while the run goes. `upload` puts every file
of the filter (each partition, and the sidecar) back, each as one S3 upload that becomes visible only when complete
(boto3 aborts a failed multipart upload), then, last, `<file>.versions.json`: the ETag of each. `fetch` reads that
record and refuses a filter whose files do not all carry the recorded ETags (an upload stopped between files), and
copies it to `<work>/bloom-<hash of the S3 path>/filter` unless the copy there is of the same version.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import orjson

from dolma_py.dedupe.filters import SIDECAR_SUFFIX, partition_paths
from dolma_py.errors import ConfigError
from dolma_py.io.atomic import fsync_dir, temporary_name, write_bytes
from dolma_py.io.paths import split_s3
from dolma_py.io.storage import s3_client

VERSIONS_SUFFIX = ".versions.json"


def local_path(remote: str, work_dir: str | None) -> str:
    """Where the local copy of the filter at `remote` lives."""
    root = work_dir or os.path.join(tempfile.gettempdir(), "dolma_py-bloom")
    return os.path.join(root, f"bloom-{hashlib.sha256(remote.encode()).hexdigest()[:16]}", "filter")


def _files(base: str, partitions: int) -> list[str]:
    return partition_paths(base, partitions) + [base + SIDECAR_SUFFIX]


def _etag(remote: str) -> str | None:
    bucket, key = split_s3(remote)
    client = s3_client()
    try:
        return client.head_object(Bucket=bucket, Key=key)["ETag"]
    except client.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _remote_versions(remote: str, partitions: int) -> dict[str, str] | None:
    """The recorded ETag of every file of the filter, checked against S3; None when there is no filter."""
    bucket, key = split_s3(remote + VERSIONS_SUFFIX)
    if _etag(remote + VERSIONS_SUFFIX) is None:
        if _etag(partition_paths(remote, partitions)[0]) is not None:
            raise ConfigError(f"bloom filter {remote} has no {VERSIONS_SUFFIX} record; it was not written by a run")
        return None
    versions = orjson.loads(s3_client().get_object(Bucket=bucket, Key=key)["Body"].read())
    for path, etag in versions.items():
        if _etag(path) != etag:
            raise ConfigError(
                f"bloom filter {remote}: {path} is not the version its {VERSIONS_SUFFIX} records (an upload was "
                "interrupted); rerun the run that wrote it, or remove the filter"
            )
    return versions


def fetch(remote: str, partitions: int, work_dir: str | None, *, read_only: bool) -> str:
    """Copy the filter at `remote` to its local path (when it exists there) and return that path."""
    local = local_path(remote, work_dir)
    os.makedirs(os.path.dirname(local), exist_ok=True)
    versions = _remote_versions(remote, partitions)
    if versions is None:
        if read_only:
            raise ConfigError(f"bloom_filter.read_only is set but {remote} does not exist; build the filter first")
        return local
    record = orjson.dumps(versions, option=orjson.OPT_SORT_KEYS)
    copied = local + VERSIONS_SUFFIX
    if os.path.exists(copied) and os.path.exists(local):
        with open(copied, "rb") as fh:
            if fh.read() == record:
                return local
    for source, target in zip(_files(remote, partitions), _files(local, partitions), strict=True):
        if source not in versions:
            continue
        bucket, key = split_s3(source)
        tmp = temporary_name(target)
        s3_client().download_file(bucket, key, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    fsync_dir(os.path.dirname(local))
    write_bytes(copied, record, compress=False)  # last: the copy is trusted only once every file is in place
    return local


def upload(remote: str, partitions: int, local: str) -> None:
    """Write the local filter files back to `remote`, then the record of their versions."""
    versions = {}
    for source, target in zip(_files(local, partitions), _files(remote, partitions), strict=True):
        if os.path.exists(source):
            bucket, key = split_s3(target)
            s3_client().upload_file(source, bucket, key)
            etag = _etag(target)
            assert etag is not None
            versions[target] = etag
    bucket, key = split_s3(remote + VERSIONS_SUFFIX)
    s3_client().put_object(Bucket=bucket, Key=key, Body=orjson.dumps(versions, option=orjson.OPT_SORT_KEYS))
