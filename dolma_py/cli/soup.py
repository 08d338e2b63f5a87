"""`dolma soup CKPT... [-o OUT] [--weights W...] [--export HF_DIR]`: average checkpoints into one model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dolma_py.config.train import SoupConfig
from dolma_py.errors import ConfigError
from dolma_py.train import require_train_extra

SUMMARY = "average checkpoints' weights (model soup); write a checkpoint and/or a Hugging Face folder"
CONFIG = SoupConfig


def run(config: SoupConfig) -> int:
    """Average the checkpoints and write the soup checkpoint and/or Hugging Face folder."""
    require_train_extra("soup")
    from dolma_py.train.soup import write_soup

    write_soup(
        [Path(c) for c in config.checkpoints],
        None if config.output is None else Path(config.output),
        config.weights,
        None if config.export is None else Path(config.export),
    )
    written = [p for p in (config.output, config.export) if p is not None]
    print(f"soup of {len(config.checkpoints)} checkpoints -> {', '.join(written)}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """The positional form: checkpoints as arguments, `-o/--output`, `--weights`, `--export`."""
    parser = argparse.ArgumentParser(prog="dolma soup", description=SUMMARY)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint directories")
    parser.add_argument("-o", "--output", help="souped checkpoint directory to write")
    parser.add_argument("--weights", nargs="+", type=float, help="one weight per checkpoint (normalized)")
    parser.add_argument("--export", help="Hugging Face folder to write")
    args = parser.parse_args(argv)
    config = SoupConfig(checkpoints=args.checkpoints, output=args.output, weights=args.weights, export=args.export)
    try:
        config.validate()
    except ValueError as err:
        raise ConfigError(f"command line: {err}") from None
    return run(config)
