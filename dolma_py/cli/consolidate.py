"""`dolma consolidate CKPT OUT`: a sharded checkpoint as full-state files (`model.pt`, `optim.pt`) in one folder."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from dolma_py.config.schema import option
from dolma_py.errors import ConfigError
from dolma_py.train import require_train_extra

SUMMARY = "write a sharded training checkpoint as full-state model.pt/optim.pt files (resumable, one process)"


@dataclasses.dataclass(kw_only=True)
class ConsolidateConfig:
    """`dolma consolidate`: assemble a checkpoint's shards into whole tensors."""

    checkpoint: str = option(help="checkpoint directory (e.g. RUN/checkpoints/step00001000)")
    output: str = option(help="folder to write model.pt, optim.pt, rng-rank*.pt and state.json into")

    def validate(self) -> None:
        if not self.checkpoint or not self.output:
            raise ValueError("give 'checkpoint' and 'output'")


CONFIG = ConsolidateConfig


def run(config: ConsolidateConfig) -> int:
    """Read every shard in this process and write the full-state checkpoint."""
    require_train_extra("consolidate")
    from dolma_py.train.checkpoint import consolidate

    out = consolidate(Path(config.checkpoint), Path(config.output))
    print(f"consolidate: {config.checkpoint} -> {out}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """The positional form: `dolma consolidate CKPT OUT`."""
    parser = argparse.ArgumentParser(prog="dolma consolidate", description=SUMMARY)
    parser.add_argument("checkpoint", help="checkpoint directory")
    parser.add_argument("output", help="folder to write the full-state checkpoint into")
    args = parser.parse_args(argv)
    config = ConsolidateConfig(checkpoint=args.checkpoint, output=args.output)
    try:
        config.validate()
    except ValueError as err:
        raise ConfigError(f"command line: {err}") from None
    return run(config)
