"""Manifests for `dolma ablate` and `dolma ladder run`, built by `dolma curriculum`'s planner and builder.

The core package never imports `mixers`, so the CLI hands the library this builder: a one-phase curriculum over
the configured corpus (its sources, partitions and seed), with the given mix and token count.
"""

from __future__ import annotations

from pathlib import Path

from dolma_py.config.mixtures import CorpusConfig
from dolma_py.errors import ConfigError
from dolma_py.mixtures.units import ManifestBuilder
from mixers.curriculum.spec import CurriculumSpec, PhaseSpec, SourceSpec

PHASE = "train"


def manifest_builder(corpus: CorpusConfig) -> ManifestBuilder:
    """A function (name, mix, tokens, destination) -> manifest directory; an up-to-date manifest is kept."""
    from mixers.curriculum.builder import run_build
    from mixers.curriculum.catalog import build_catalog
    from mixers.curriculum.planner import make_plan

    def build(name: str, mix: dict[str, float], tokens: int, destination: Path) -> Path:
        spec = CurriculumSpec(
            name=name,
            sequence_length=corpus.sequence_length,
            sources={k: SourceSpec(paths=list(v.paths), dtype=v.dtype) for k, v in corpus.sources.items()},
            phases=[PhaseSpec(name=PHASE, tokens=tokens, mix=dict(mix))],
            seed=corpus.seed,
            dtype=corpus.dtype,
            eos_token_id=corpus.eos_token_id,
            partitions=dict(corpus.partitions),
        )
        try:
            spec.validate()
        except ValueError as err:
            raise ConfigError(f"manifest {name!r}: {err}") from None
        summary, _, _ = run_build(make_plan(spec, build_catalog(spec)), str(destination))
        if not summary.ok:
            raise ConfigError(f"manifest {name!r}: {summary.failures[0]['error']}")
        return destination

    return build
