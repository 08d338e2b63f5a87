"""The curriculum spec (YAML): sources of token shards, an optional validation hold-out and partitions, and phases.

```yaml
name: toy
sequence_length: 2048
seed: 42
destination: manifests/toy            # where `build` writes the manifest
sources:
  web: {paths: ["tokens/web/*.npy"]}
  code: {paths: ["tokens/code/*.npy"]}
validation: {fraction: 0.01}          # or {tokens: 1000000}; per source, optionally `sources: [web]`
partitions: {web: 2}                  # web becomes web@0/2 and web@1/2, equal halves
phases:
  - name: pretrain
    tokens: 10M                       # an integer, or a number with a k/M/B/T suffix
    mix: {web@0/2: 0.8, code: 0.2}
    max_repetition: {code: 2}         # default 1: no instance is used twice over the whole run
```
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from dolma_py.config.loader import load_config
from dolma_py.config.schema import option
from dolma_py.errors import ConfigError

RATIO_TOLERANCE = 1e-6
_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbBgGtT]?)\s*$")
_PARTITION = re.compile(r"^(?P<base>[^@]+)@(?P<index>\d+)/(?P<count>\d+)$")


def parse_count(value: int | float | str, what: str) -> int:
    """An integer token count, written as a number or with a k/M/B/T suffix ("50B")."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a token count, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _COUNT.match(value)
        if match is None:
            raise ConfigError(f"{what}: expected a token count like 1000000 or 50B, got {value!r}")
        number = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if number < 0 or number != int(number):
        raise ConfigError(f"{what}: expected a non-negative whole number of tokens, got {value!r}")
    return int(number)


@dataclasses.dataclass
class SourceSpec:
    """A named source: globs of `.npy` shards written by `dolma tokens`."""

    paths: list[str] = option(help="globs of raw .npy token shards")
    dtype: str | None = option(None, help="uint16/uint32; default: read from the shards' tokens run record")


@dataclasses.dataclass
class ValidationSpec:
    """Held out from training, per source: a fraction of its instances or a token count."""

    fraction: float | None = option(None, help="share of each source's instances held out")
    tokens: int | str | None = option(None, help="tokens held out from each source")
    sources: list[str] | None = option(None, help="sources contributing validation data; default: all")

    def validate(self) -> None:
        if (self.fraction is None) == (self.tokens is None):
            raise ValueError("validation: give exactly one of 'fraction' or 'tokens'")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise ValueError(f"validation.fraction must be in (0, 1), got {self.fraction}")


@dataclasses.dataclass
class PhaseSpec:
    """One training phase: a token budget and the share of it each source supplies."""

    name: str = option(help="phase name")
    tokens: int | str = option(help="tokens in the phase (rounded down to whole instances)")
    mix: dict[str, float] = option(help="source -> ratio; ratios sum to 1")
    max_repetition: dict[str, float] = option(
        default_factory=dict, help="source -> most times any instance may be used by the end of this phase (default 1)"
    )


@dataclasses.dataclass
class CurriculumSpec:
    """A whole curriculum: sources, hold-outs, partitions and phases."""

    name: str = option(help="curriculum name")
    sequence_length: int = option(help="tokens per training instance")
    sources: dict[str, SourceSpec] = option(help="source name -> shards")
    phases: list[PhaseSpec] = option(help="phases, in training order")
    seed: int = option(0, help="seed of every shuffle")
    destination: str | None = option(None, help="directory `dolma curriculum build` writes the manifest to")
    dtype: str | None = option(None, help="token dtype when shards carry no tokens run record")
    eos_token_id: int | None = option(None, help="EOS id recorded in the manifest; default: from the tokens run record")
    validation: ValidationSpec | None = option(None, help="validation hold-out")
    partitions: dict[str, int] = option(default_factory=dict, help="source -> N: split into N equal parts name@i/N")

    def validate(self) -> None:
        if self.sequence_length < 1:
            raise ValueError(f"sequence_length must be >= 1, got {self.sequence_length}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if not self.sources:
            raise ValueError("sources: define at least one source")
        if not self.phases:
            raise ValueError("phases: define at least one phase")
        for name in self.sources:
            if "@" in name or not name:
                raise ValueError(f"source name {name!r} must be non-empty and must not contain '@'")
        for name, count in self.partitions.items():
            if name not in self.sources:
                raise ValueError(f"partitions: unknown source {name!r}; sources are {sorted(self.sources)}")
            if count < 1:
                raise ValueError(f"partitions.{name} must be >= 1, got {count}")
        if self.validation is not None:
            if self.validation.tokens is not None:
                parse_count(self.validation.tokens, "validation.tokens")
            for name in self.validation.sources or []:
                if name not in self.sources:
                    raise ValueError(f"validation.sources: unknown source {name!r}")
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError(f"phase names must be unique, got {names}")
        usable = set(self.pool_names())
        for phase in self.phases:
            self._check_phase(phase, usable)

    def _check_phase(self, phase: PhaseSpec, usable: set[str]) -> None:
        where = f"phase {phase.name!r}"
        if parse_count(phase.tokens, f"{where}: tokens") < self.sequence_length:
            raise ValueError(f"{where}: tokens must be at least one instance ({self.sequence_length} tokens)")
        for key in list(phase.mix) + list(phase.max_repetition):
            if key not in usable:
                raise ValueError(f"{where}: unknown source {key!r}; {self._usable_hint(key, usable)}")
        negative = [k for k, v in phase.mix.items() if v < 0]
        if negative:
            raise ValueError(f"{where}: ratio of {negative[0]!r} is negative")
        total = sum(phase.mix.values())
        if abs(total - 1.0) > RATIO_TOLERANCE:
            raise ValueError(f"{where}: mix ratios sum to {total:.9g}, not 1 (tolerance {RATIO_TOLERANCE})")
        for key, k in phase.max_repetition.items():
            if k <= 0:
                raise ValueError(f"{where}: max_repetition of {key!r} must be > 0, got {k}")

    def _usable_hint(self, key: str, usable: set[str]) -> str:
        match = _PARTITION.match(key)
        if key in self.partitions:
            n = self.partitions[key]
            return f"{key!r} is partitioned: use {key}@0/{n} .. {key}@{n - 1}/{n}"
        if match and match.group("base") in self.sources:
            base = match.group("base")
            n = self.partitions.get(base)
            return (
                f"{base!r} has no partitions"
                if n is None
                else f"{base!r} has partitions {base}@0/{n} .. {base}@{n - 1}/{n}"
            )
        return f"usable sources are {sorted(usable)}"

    def pool_names(self) -> list[str]:
        """Names a phase can draw from: unpartitioned sources, and `name@i/N` for partitioned ones."""
        names = []
        for name in self.sources:
            n = self.partitions.get(name)
            names.extend([name] if n is None else [f"{name}@{i}/{n}" for i in range(n)])
        return names

    def phase_tokens(self, phase: PhaseSpec) -> int:
        """The phase's requested token count."""
        return parse_count(phase.tokens, f"phase {phase.name!r}: tokens")

    def validation_tokens(self) -> int | None:
        """The per-source validation token count, when given as tokens."""
        if self.validation is None or self.validation.tokens is None:
            return None
        return parse_count(self.validation.tokens, "validation.tokens")


def split_pool_name(name: str) -> tuple[str, int, int]:
    """`web@1/4` -> ("web", 1, 4); a plain name -> (name, 0, 1)."""
    match = _PARTITION.match(name)
    if match is None:
        return name, 0, 1
    return match.group("base"), int(match.group("index")), int(match.group("count"))


def load_spec(path: str, overrides: dict[str, Any] | None = None) -> CurriculumSpec:
    """Read and validate a spec file; `overrides` are `--dotted.key value` flags applied on top."""
    return load_config(CurriculumSpec, path, overrides or {})
