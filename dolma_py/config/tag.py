"""Schema of `dolma tag`, accepting dolma's tag config fields."""

from __future__ import annotations

import dataclasses
from typing import Any

from dolma_py.config.schema import ExecConfig, WorkDirConfig, option


@dataclasses.dataclass(frozen=True)
class TaggerSpec:
    """A tagger name plus its keyword options (a config entry is a name or `{name: ..., **options}`)."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def parse(cls, entry: str | dict[str, Any]) -> TaggerSpec:
        if isinstance(entry, str):
            return cls(entry)
        options = dict(entry)
        name = options.pop("name", None)
        if not isinstance(name, str):
            raise ValueError(f"a tagger entry given as a mapping needs a 'name' string: {entry!r}")
        return cls(name, tuple(sorted(options.items())))


_PROFILE = "dolma profiles its tagger loop with cProfile; profile ours with `python -m cProfile` or py-spy"


@dataclasses.dataclass
class ProfileConfig:
    """dolma's `profile` block (cProfile around the tagger loop), accepted so dolma configs run unchanged."""

    enable: bool = option(False, help="dolma: profile the run", no_effect=_PROFILE)
    output: str | None = option(None, help="dolma: where the profile is written", no_effect=_PROFILE)
    steps: int | None = option(None, help="dolma: documents to profile", no_effect=_PROFILE)
    sort_key: str = option("tottime", help="dolma: profile sort key", no_effect=_PROFILE)
    lines: int = option(100, help="dolma: profile lines printed", no_effect=_PROFILE)


@dataclasses.dataclass(kw_only=True)
class TagConfig(ExecConfig):
    """`dolma tag`: run taggers over documents, writing line-aligned attribute files."""

    documents: list[str] = option(help="document paths or globs (local or s3://), under a 'documents' directory")
    taggers: list[str | dict[str, Any]] = option(help="tagger names, or {name: ..., option: value} mappings")
    experiment: str | None = option(None, help="experiment name; default: each tagger's own name")
    destination: list[str] | None = option(
        None,
        help="attribute prefixes, one per documents entry; default: mirror documents/ into attributes/<experiment>/",
    )
    tagger_modules: list[str] = option(
        default_factory=list, help="extra modules (names or .py paths) registering taggers"
    )
    ignore_existing: bool = option(False, help="dolma's name for --overwrite: re-tag files whose outputs exist")
    skip_bad_lines: bool = option(
        False, help="write an empty attributes line for a bad input line instead of failing the file"
    )
    batch_size: int = option(1024, help="documents passed to each tagger per call")
    work_dir: WorkDirConfig = option(default_factory=WorkDirConfig, help="dolma's work_dir block")
    debug: bool = option(False, help="dolma: tag in one process, without a pool", no_effect="use --processes 1")
    profile: ProfileConfig = option(default_factory=ProfileConfig, help="dolma's profiler block")

    def validate(self) -> None:
        if not self.documents:
            raise ValueError("'documents' must list at least one path")
        if not self.taggers:
            raise ValueError("'taggers' must list at least one tagger")
        if self.destination is not None and len(self.destination) != len(self.documents):
            raise ValueError(
                f"'destination' has {len(self.destination)} entries but 'documents' has {len(self.documents)}; "
                "give one per entry"
            )
        if self.batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        for entry in self.taggers:
            TaggerSpec.parse(entry)

    @property
    def tagger_specs(self) -> list[TaggerSpec]:
        return [TaggerSpec.parse(entry) for entry in self.taggers]
