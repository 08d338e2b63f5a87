"""`dolma train -c CONFIG [--key value ...]`: train an OLMo-2-style model on a curriculum manifest.

Several processes: `torchrun --nproc_per_node N -m dolma_py.cli.main train -c CONFIG` (DDP, or FSDP2 with
`--system.parallel fsdp`). `--resume` continues from the newest checkpoint; `--plot` draws out_dir/loss.png.
"""

from __future__ import annotations

import sys

from dolma_py.config.train import TrainConfig
from dolma_py.train import require_train_extra

SUMMARY = "train an OLMo-2-style model on a curriculum manifest (needs dolma-py[train]; multi-GPU via torchrun)"
CONFIG = TrainConfig


def run(config: TrainConfig) -> int:
    """Train (every torchrun rank runs this) and print where the results went."""
    require_train_extra("train")
    from dolma_py.exec.runner import summary_file
    from dolma_py.train.train import train

    result = train(config)
    print(
        f"train: {result.steps} steps, last loss {result.loss if result.loss is None else round(result.loss, 4)}, "
        f"checkpoint {result.checkpoint}, metrics {result.metrics}, summary {summary_file(config.out_dir, 'train')}",
        file=sys.stderr,
    )
    return 0
