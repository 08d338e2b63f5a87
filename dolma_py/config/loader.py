"""Load a typed config from a YAML/JSON file plus `--dotted.key value` flags; errors name the key and the file."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from typing import Any, TypeVar, Union

from dolma_py.errors import ConfigError

T = TypeVar("T")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def read_config_file(path: str) -> dict[str, Any]:
    """Parse a YAML or JSON config file (local or s3://) into a mapping."""
    from dolma_py.io.storage import open_raw

    try:
        with open_raw(path) as fh:
            text = fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {getattr(err, 'strerror', None) or err}") from None
    import yaml  # here, not at the top: a run given only flags does not pay for importing it

    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def field_type(schema: type, dotted: str) -> Any:
    """The declared type of a dotted key, or None if the schema has no such field."""
    current: Any = schema
    for part in dotted.split("."):
        current = _strip_optional(current)
        if not (isinstance(current, type) and dataclasses.is_dataclass(current)):
            return None
        hints = _hints(current)
        if part not in hints:
            return None
        current = hints[part]
    return current


def _strip_optional(tp: Any) -> Any:
    if _is_union(tp):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _coerce_scalar_from_cli(value: str, tp: Any) -> Any:
    """CLI values arrive as strings; convert them to the declared scalar type."""
    if tp is bool:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    if tp is int:
        return int(value)
    if tp is float:
        return float(value)
    if value.lower() in ("null", "none") and tp is not str:
        return None
    if tp is str:
        return value
    import yaml

    return yaml.safe_load(value)


def _convert(value: Any, tp: Any, key: str, origin: str, from_cli: bool) -> Any:
    """Validate `value` against `tp`, building nested dataclasses; raises `ConfigError` naming `key`."""

    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{origin}: key '{key}' expects {expected}, got {value!r}")

    if tp is Any:
        return value
    if _is_union(tp):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        members = [arg for arg in args if arg is not type(None)]
        if len(members) == 1:  # Optional[X]: report X's own error, e.g. an unknown key inside a section
            return _convert(value, members[0], key, origin, from_cli)
        for member in members:
            try:
                return _convert(value, member, key, origin, from_cli)
            except ConfigError:
                continue
        raise fail(_type_name(tp))
    origin_tp = typing.get_origin(tp)
    if origin_tp is list:
        (item_tp,) = typing.get_args(tp) or (Any,)
        if from_cli and isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise fail(f"a list of {_type_name(item_tp)}")
        return [_convert(v, item_tp, f"{key}[{i}]", origin, from_cli) for i, v in enumerate(value)]
    if origin_tp is dict:
        _, val_tp = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise fail("a mapping")
        return {str(k): _convert(v, val_tp, f"{key}.{k}", origin, from_cli) for k, v in value.items()}
    if origin_tp is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise fail("one of " + ", ".join(repr(c) for c in choices))
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise fail(f"a mapping ({tp.__name__})")
        return build(tp, value, origin, prefix=f"{key}.", from_cli=from_cli)
    if from_cli and isinstance(value, str):
        try:
            value = _coerce_scalar_from_cli(value, tp)
        except ValueError:
            raise fail(_type_name(tp)) from None
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise fail("a boolean")
    if tp is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise fail("an integer")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise fail(_type_name(tp))
    return value


def build(schema: type[T], data: dict[str, Any], origin: str, prefix: str = "", from_cli: bool = False) -> T:
    """Build and validate a dataclass from a mapping: unknown keys, wrong types and missing fields are errors."""
    fields = {f.name: f for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    hints = _hints(schema)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields))
        raise ConfigError(f"{origin}: unknown key '{prefix}{unknown[0]}' (known keys here: {known})")
    kwargs = {}
    for name, fld in fields.items():
        if name in data and "no_effect" in fld.metadata:
            print(f"dolma: note: '{prefix}{name}' has no effect here: {fld.metadata['no_effect']}", file=sys.stderr)
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], prefix + name, origin, from_cli)
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{origin}: required key '{prefix}{name}' is missing")
    instance = schema(**kwargs)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as err:
            raise ConfigError(f"{origin}: {err}") from None
    return instance


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _mark_cli(schema: type, data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Pre-convert CLI strings to the declared types so file values and flag values validate the same way."""
    for dotted, value in overrides.items():
        tp = field_type(schema, dotted)
        if tp is None:
            raise ConfigError(f"command line: unknown option '--{dotted}'")
        _set_dotted(data, dotted, _convert(value, tp, dotted, "command line", from_cli=True))
    return data


def load_config(schema: type[T], config_path: str | None, overrides: dict[str, Any]) -> T:
    """Read the file (if any), apply the flags over it, and validate the result against `schema`."""
    data = read_config_file(config_path) if config_path else {}
    origin = config_path or "command line"
    data = _mark_cli(schema, data, overrides)
    return build(schema, data, origin)


def parse_overrides(schema: type, argv: list[str]) -> dict[str, Any]:
    """Parse `--dotted.key value [value ...]` flags: list fields take several values, booleans may stand alone."""
    overrides: dict[str, Any] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"command line: unexpected argument {token!r} (options look like --key value)")
        name, eq, inline = token[2:].partition("=")
        dotted = name.replace("-", "_")
        negated = dotted.startswith("no_") and field_type(schema, dotted) is None
        if negated:  # dolma's `--no-<flag>` form for booleans
            dotted = dotted[3:]
        tp = field_type(schema, dotted)
        if tp is None:
            raise ConfigError(f"command line: unknown option '--{name}'; see --help")
        values = [inline] if eq else []
        i += 1
        while not eq and i < len(argv) and not argv[i].startswith("--"):
            values.append(argv[i])
            i += 1
        base = _strip_optional(tp)
        if negated:
            if base is not bool or values:
                raise ConfigError(f"command line: '--{name}' only negates a boolean option and takes no value")
            overrides[dotted] = "false"
        elif typing.get_origin(base) is list:
            overrides[dotted] = values
        elif base is bool and not values:
            overrides[dotted] = "true"
        elif len(values) == 1:
            overrides[dotted] = values[0]
        else:
            raise ConfigError(f"command line: option '--{name}' takes one value, got {len(values)}")
    return overrides


def describe_fields(schema: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted key, type, default, help) for every field, recursing into nested sections; for --help."""
    rows = []
    hints = _hints(schema)
    for fld in dataclasses.fields(schema):
        tp = hints[fld.name]
        inner = _strip_optional(tp)
        help_text = fld.metadata.get("help", "")
        if isinstance(inner, type) and dataclasses.is_dataclass(inner):
            rows.extend(describe_fields(inner, f"{prefix}{fld.name}."))
            continue
        if fld.default is not dataclasses.MISSING:
            default = repr(fld.default)
        elif fld.default_factory is not dataclasses.MISSING:
            default = repr(fld.default_factory())
        else:
            default = "required"
        rows.append((prefix + fld.name, _type_name(tp), default, help_text))
    return rows
