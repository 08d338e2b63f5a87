"""Held-out loss per source: mean next-token cross-entropy over the validation instances of each source."""

from __future__ import annotations

import numpy as np
import torch

from dolma_py.manifest import InstanceTable
from dolma_py.train.distributed import Runtime, all_reduce_sum
from dolma_py.train.loss import shift_labels


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    table: InstanceTable,
    rows: np.ndarray,
    sources: np.ndarray,
    source_names: list[str],
    micro_batch: int,
    rt: Runtime,
) -> dict[str, float]:
    """Loss per source name over `rows` (this rank's share; every rank must pass the same count), summed over ranks.

    Every forward has the same shape (a short last micro-batch is padded with copies of its last row, which are not
    counted), so a compiled model compiles evaluation once.
    """
    sums = torch.zeros(len(source_names), dtype=torch.float64, device=rt.device)
    counts = torch.zeros(len(source_names), dtype=torch.float64, device=rt.device)
    for i in range(0, len(rows), micro_batch):
        part = rows[i : i + micro_batch]
        n = len(part)
        padded = np.concatenate([part, np.repeat(part[-1:], micro_batch - n)])
        x = torch.from_numpy(table.batch(padded)).to(rt.device)
        src = torch.from_numpy(sources[i : i + n]).to(rt.device)
        with rt.autocast():
            ce = model(x, shift_labels(x), reduction="none")
        per_instance = ce[:n, :-1].mean(dim=1).double()  # the last position has no next token
        sums.index_add_(0, src, per_instance)
        counts.index_add_(0, src, torch.ones_like(per_instance))
    all_reduce_sum(sums)
    all_reduce_sum(counts)
    return {name: float(sums[k] / counts[k]) for k, name in enumerate(source_names) if counts[k] > 0}
