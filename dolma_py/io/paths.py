"""Paths: local and s3:// locations, glob expansion (with `**`), and dolma's documents/attributes mirroring."""

from __future__ import annotations

import glob
import os
import re
from functools import lru_cache

from dolma_py.errors import ConfigError

_GLOB_CHARS = re.compile(r"[*?\[]")


def is_s3(path: str) -> bool:
    """True for `s3://bucket/key` locations."""
    return path.startswith("s3://")


def split_s3(path: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> ("bucket", "a/b")."""
    bucket, _, key = path[len("s3://") :].partition("/")
    return bucket, key


def join(base: str, *parts: str) -> str:
    """Join path components with '/', for local paths and S3 alike."""
    out = base.rstrip("/") if base.strip("/") else base
    for part in parts:
        part = part.strip("/")
        out = f"{out}/{part}" if out and not out.endswith("/") else f"{out}{part}"
    return out


def parent(path: str) -> str:
    """The directory (or S3 prefix) containing `path`."""
    return path.rstrip("/").rsplit("/", 1)[0]


def common_dir(files: list[str]) -> str:
    """The deepest directory (or S3 prefix) containing every file in `files`."""
    split = [f.split("/")[:-1] for f in files]
    common = split[0]
    for parts in split[1:]:
        size = 0
        while size < min(len(common), len(parts)) and common[size] == parts[size]:
            size += 1
        common = common[:size]
    return "/".join(common)


def has_glob(pattern: str) -> bool:
    """True if `pattern` contains glob characters."""
    return bool(_GLOB_CHARS.search(pattern))


def static_prefix(pattern: str) -> str:
    """The directory part of `pattern` before its first glob component."""
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if has_glob(part):
            return "/".join(parts[:i])
    return parent(pattern)


@lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob to a regex: `**/` spans directories, `*` and `?` stay within one."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def is_hidden(relative: str) -> bool:
    """True when a component of `relative` starts with `_` or `.`: summaries, reports, markers and locks, never data
    (the Hadoop and pyarrow convention)."""
    return any(part[:1] in ("_", ".") for part in relative.split("/") if part)


def _visible(matches: list[str], root: str) -> list[str]:
    """`matches` without the hidden ones, judged on the part below `root` (the part the user did not spell out)."""
    prefix = root.rstrip("/") + "/" if root else ""
    return [m for m in matches if not is_hidden(m[len(prefix):] if m.startswith(prefix) else m)]


DATA_SUFFIXES = (".jsonl", ".json", ".gz", ".zst", ".zstd", ".parquet", ".pq")
"""Names of data files: a directory a glob matches under such a name is a mistake, not something to skip."""


def _refuse_directories_named_as_files(pattern: str, listed: list[str]) -> None:
    """Report a directory named like a data file (`part-0.jsonl.gz/`) that a glob matches, instead of skipping it
    silently as every other directory is."""
    for path in listed:
        if path.rstrip("/").lower().endswith(DATA_SUFFIXES) and os.path.isdir(path):
            raise ConfigError(f"{path} is a directory, not a documents file, yet matches {pattern!r}")


def expand(patterns: list[str] | str) -> list[str]:
    """Expand globs and directories to a sorted, de-duplicated list of existing files (local or S3).

    Directories and S3 prefixes without a glob are listed recursively. Files and folders named `_*` or `.*` below
    what the pattern spells out are skipped. A pattern that matches nothing is an error, since silently processing
    nothing is never wanted.
    """
    from dolma_py.io.storage import list_files

    if isinstance(patterns, str):
        patterns = [patterns]
    found: set[str] = set()
    for pattern in patterns:
        if is_s3(pattern) and has_glob(pattern):
            regex = glob_regex(pattern)
            root = static_prefix(pattern)
            matches = _visible([p for p in list_files(root + "/") if regex.match(p)], root)
        elif is_s3(pattern):
            listed = list_files(pattern.rstrip("/") + "/")
            matches = _visible(listed, pattern) if listed else [p for p in list_files(pattern) if p == pattern]
        elif has_glob(pattern):
            root = static_prefix(pattern)
            listed = _visible(glob.glob(pattern, recursive=True), root)
            _refuse_directories_named_as_files(pattern, listed)
            matches = [p for p in listed if os.path.isfile(p)]
        elif os.path.isdir(pattern):
            listed = _visible(glob.glob(os.path.join(glob.escape(pattern), "**", "*"), recursive=True), pattern)
            _refuse_directories_named_as_files(pattern, listed)
            matches = [p for p in listed if os.path.isfile(p)]
        else:
            matches = [pattern] if os.path.isfile(pattern) else []
        if not matches:
            raise ConfigError(f"no files match {pattern!r}")
        found.update(matches)
    return sorted(found)


PARQUET_SUFFIXES = (".parquet", ".pq")


def is_parquet(path: str) -> bool:
    """True for Parquet files, which are read with pyarrow rather than line by line."""
    return path.lower().endswith(PARQUET_SUFFIXES)


def attribute_file_name(doc_path: str) -> str:
    """Attribute files keep the document file's name, except that Parquet documents get `.jsonl.gz` attributes."""
    if is_parquet(doc_path):
        return doc_path.rsplit(".", 1)[0] + ".jsonl.gz"
    return doc_path


def attributes_path(doc_path: str, experiment: str, document_dir: str = "documents") -> str:
    """Map `<root>/documents/<rest>` to `<root>/attributes/<experiment>/<rest>` (dolma's attribute layout);
    `document_dir` names the component replaced, as dolma's `dedupe.document_dir` does."""
    parts = attribute_file_name(doc_path).split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == document_dir:
            return "/".join(parts[:i] + ["attributes", experiment] + parts[i + 1 :])
    raise ConfigError(
        f"{doc_path!r} has no {document_dir!r} component, so its attributes path cannot be derived; "
        f"put documents under <root>/{document_dir}/ or give `destination`"
    )


def rebase(path: str, old_prefix: str, new_prefix: str) -> str:
    """Move `path` from under `old_prefix` to under `new_prefix`, keeping the relative part."""
    old = old_prefix.rstrip("/") + "/"
    if not path.startswith(old):
        raise ConfigError(f"{path!r} is not under {old_prefix!r}")
    return join(new_prefix, path[len(old) :])


def sanitize_name(name: str) -> str:
    """Attribute name components are restricted to [A-Za-z0-9_], as dolma does."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)
