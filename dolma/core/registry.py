"""dolma's `TaggerRegistry`, backed by dolma_py's registry, so `@add_tagger` taggers run under `dolma tag`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from dolma.core.taggers import BaseTagger
from taggers import base, registry

T = TypeVar("T", bound=type)


class TaggerRegistry:
    """Class-level registry, as in dolma: `add(name)` decorates a tagger class; `get(name)` returns a class."""

    @classmethod
    def items(cls) -> Iterator[tuple[str, type[base.BaseTagger]]]:
        """Every registered (name, class), dolma_py's built-ins included, sorted by name."""
        yield from registry.registered_taggers().items()

    @classmethod
    def add(cls, name: str) -> Callable[[T], T]:
        """Register a `dolma.BaseTagger` (or dolma_py tagger) class under `name`.

        As in dolma, another class under a taken name is an error unless it is defined in `__main__` (a script
        re-run), which keeps the first class."""

        def _add(tagger_cls: T) -> T:
            if not (isinstance(tagger_cls, type) and issubclass(tagger_cls, base.BaseTagger)):
                raise TypeError(
                    f"add_tagger({name!r}) decorates a subclass of dolma.BaseTagger, got {tagger_cls!r}"
                )
            existing = registry.registered_taggers().get(name)
            if existing is not None and existing is not tagger_cls:
                if tagger_cls.__module__ == "__main__":
                    return tagger_cls
                raise ValueError(f"Tagger {name} already exists ({existing.__module__}.{existing.__qualname__})")
            registry.register(name)(tagger_cls)
            return tagger_cls

        return _add

    @classmethod
    def remove(cls, name: str) -> bool:
        """Remove a tagger from the registry; False if it was not there."""
        return registry.unregister(name)

    @classmethod
    def has(cls, name: str) -> bool:
        """Whether a tagger is registered under `name`."""
        return name in registry.registered_taggers()

    @classmethod
    def get(cls, name: str) -> type[base.BaseTagger]:
        """The class registered under `name`; `ValueError` listing the known names if there is none."""
        taggers = registry.registered_taggers()
        if name not in taggers:
            raise ValueError(f"Unknown tagger {name}; available taggers: {', '.join(taggers)}")
        return taggers[name]


__all__ = ["BaseTagger", "TaggerRegistry"]
