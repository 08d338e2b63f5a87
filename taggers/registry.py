"""Tagger registry: built-ins, `tagger_modules` (module names or .py paths) and entry points."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from dolma_py.errors import ConfigError
from taggers.base import BaseTagger

ENTRY_POINT_GROUP = "dolma_py.taggers"
"""Third-party packages register taggers by exposing a module in this entry-point group."""

BUILTIN_MODULES = (
    "taggers.length",
    "taggers.c4",
    "taggers.gopher",
    "taggers.pii",
    "taggers.random_number",
    "taggers.blocklist",
    "taggers.repetitions",
    "taggers.code",
    "taggers.fasttext_taggers",
    "taggers.datatrove_adapter",
    "taggers.url_lists",
    "taggers.licenses",
    "taggers.code_secrets",
    "taggers.code_starcoder",
    "taggers.code_composition",
    "taggers.pii_presidio",
    "taggers.language",
    "taggers.tokenizer_length",
    "taggers.punctuation",
)

TaggerFactory = Callable[..., BaseTagger]
T = TypeVar("T", bound=type[BaseTagger])

_TAGGERS: dict[str, type[BaseTagger]] = {}
_PREFIX_FACTORIES: dict[str, Callable[[str], type[BaseTagger]]] = {}
_loaded_builtins = False
_loaded_modules: set[str] = set()


class TaggerNotFound(KeyError):
    """Raised for a tagger name that no built-in, module or entry point registers."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(name: str) -> Callable[[T], T]:
    """Class decorator registering a tagger under `name` (dolma's name where dolma has one)."""

    def wrap(cls: T) -> T:
        existing = _TAGGERS.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"tagger {name!r} is registered twice: {existing.__module__} and {cls.__module__}")
        cls.name = name
        _TAGGERS[name] = cls
        return cls

    return wrap


def register_prefix(prefix: str, resolve: Callable[[str], type[BaseTagger]]) -> None:
    """Resolve names of the form `prefix:rest` dynamically (used by the datatrove adapter)."""
    _PREFIX_FACTORIES[prefix] = resolve


def _load_builtins() -> None:
    global _loaded_builtins
    if _loaded_builtins:
        return
    _loaded_builtins = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()


def load_tagger_modules(modules: Iterable[str]) -> None:
    """Import user modules so their `@register` decorators run; each is a module name, a .py path or a package
    directory. As in dolma, a path's parent directory goes on `sys.path` (appended, so it shadows nothing), letting
    the module import its siblings."""
    for module in modules:
        if module in _loaded_modules:
            continue
        if module.endswith(".py") or "/" in module:
            _import_path(module)
        else:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                if not err.name or not (module == err.name or module.startswith(err.name + ".")):
                    raise  # the module exists but one of its own imports is missing
                raise ConfigError(
                    f"tagger_modules: no module named {module!r} (give a module name or a .py path)"
                ) from None
        _loaded_modules.add(module)


def _import_path(module: str) -> None:
    path = Path(module).resolve()
    if path.is_dir() and (path / "__init__.py").is_file():
        spec = importlib.util.spec_from_file_location(
            _path_module_name(path), path / "__init__.py", submodule_search_locations=[str(path)]
        )
    elif path.is_file():
        spec = importlib.util.spec_from_file_location(_path_module_name(path), path)
    else:
        raise ConfigError(f"tagger_modules: {module!r} is neither a .py file nor a package directory")
    assert spec is not None and spec.loader is not None
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[spec.name]
        raise


def _path_module_name(path: Path) -> str:
    """A module name for a file or package loaded by path, unlikely to collide with an importable module."""
    return "dolma_py_user_taggers_" + re.sub(r"\W", "_", path.stem)


def tagger_class(name: str) -> type[BaseTagger]:
    """The class registered under `name`; raises `TaggerNotFound` listing what exists."""
    _load_builtins()
    if name in _TAGGERS:
        return _TAGGERS[name]
    prefix, sep, rest = name.partition(":")
    if sep and prefix in _PREFIX_FACTORIES:
        return _PREFIX_FACTORIES[prefix](rest)
    raise TaggerNotFound(f"unknown tagger {name!r}; run `dolma list` to see the registered taggers")


def create_tagger(name: str, options: dict[str, Any] | None = None) -> BaseTagger:
    """Instantiate a tagger with its keyword options from the config."""
    cls = tagger_class(name)
    try:
        tagger = cls(**(options or {}))
    except TypeError as err:
        raise ValueError(f"tagger {name!r}: bad options {sorted(options or {})}: {err}") from err
    tagger.name = name
    return tagger


def registered_taggers() -> dict[str, type[BaseTagger]]:
    """Every tagger registered by name (built-ins, entry points and loaded modules), sorted by name."""
    _load_builtins()
    return dict(sorted(_TAGGERS.items()))


def unregister(name: str) -> bool:
    """Remove the tagger registered under `name`; False if there was none."""
    _load_builtins()
    return _TAGGERS.pop(name, None) is not None


def describe_taggers() -> list[tuple[str, str]]:
    """(name, one-line description) for every registered tagger, sorted by name."""
    _load_builtins()
    rows = []
    for name, cls in sorted(_TAGGERS.items()):
        doc = (cls.__doc__ or "").strip().splitlines()
        rows.append((name, doc[0] if doc else ""))
    for prefix in sorted(_PREFIX_FACTORIES):
        rows.append((f"{prefix}:<Class>", f"any {prefix} filter class, with its kwargs, as a pass/fail tagger"))
    return rows
