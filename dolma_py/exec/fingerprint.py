"""Config fingerprints: a stable hash of what a unit function receives, recorded in completion markers.

A unit's outputs depend only on its function, its parameters and its inputs, so hashing the function (with the
arguments a `functools.partial` binds, normally the stage's job dataclass) and the unit's params tells whether an
existing output was made under the same config. The hash is over a canonical JSON form, the same in every process
and Python run (no pickle, no `hash()`); a value that has no canonical form is an error naming its type. Lenient
options (`dolma_py/exec/lenient.py`) are left out: a unit that succeeded strictly has the same output leniently.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import math
import os
from typing import Any

import orjson

from dolma_py.exec.lenient import LENIENT_OPTIONS


def canonical(value: Any) -> Any:
    """`value` as plain JSON data: dataclasses by type and fields, callables by qualified name, sets sorted."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if hasattr(value, "dtype") and hasattr(value, "tobytes"):  # NumPy scalars and arrays
        if getattr(value, "shape", None) == ():
            return canonical(value.item())
        digest = hashlib.sha256(value.tobytes()).hexdigest()
        return {"array": str(value.dtype), "shape": list(value.shape), "sha256": digest}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if f.name not in LENIENT_OPTIONS]
        fields = {name: canonical(getattr(value, name)) for name in names}
        return {"type": _name(type(value)), "fields": fields}
    if isinstance(value, functools.partial):
        return {
            "partial": canonical(value.func),
            "args": [canonical(arg) for arg in value.args],
            "keywords": {key: canonical(arg) for key, arg in sorted(value.keywords.items())},
        }
    if isinstance(value, dict):
        return [[canonical(key), canonical(item)] for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))]
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(item) for item in value), key=lambda item: orjson.dumps(item))
    if callable(value) and hasattr(value, "__qualname__"):
        return {"callable": _name(value)}
    raise TypeError(f"cannot fingerprint a {type(value).__name__}; give the stage a dataclass of plain values")


def _name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def fingerprint(*values: Any) -> str:
    """A short hex digest of the canonical form of `values`."""
    return hashlib.sha256(orjson.dumps([canonical(v) for v in values])).hexdigest()[:20]
