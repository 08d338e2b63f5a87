"""`dolma ablate {run,validate} CONFIG.yaml [--key value ...]`: rank candidate mixtures by merged partition models."""

from __future__ import annotations

from dolma_py.config.ablate import AblateConfig
from dolma_py.errors import ConfigError

SUMMARY = "rank candidate data mixtures by averaging per-partition models (run); check against full training (validate)"
CONFIG = AblateConfig
USAGE = "usage: dolma ablate {run,validate} CONFIG.yaml [--key value ...]"


def main(argv: list[str]) -> int:
    """Parse `ACTION CONFIG [overrides]`, then run the ablation (and its validation)."""
    from dolma_py.config.loader import load_config, parse_overrides

    if len(argv) < 2 or argv[0] not in ("run", "validate") or argv[1].startswith("--"):
        raise ConfigError(USAGE)
    config = load_config(AblateConfig, argv[1], parse_overrides(AblateConfig, argv[2:]))
    from dolma_py.train import require_train_extra

    require_train_extra("ablate")
    from dolma_py.cli.corpus_manifests import manifest_builder
    from dolma_py.mixtures.ablate import Ablation

    summary = Ablation(config, manifest_builder(config.corpus)).run(validate=argv[0] == "validate")
    return 0 if summary.ok else 1
