"""Held-out loss per source: mean next-token cross-entropy over the validation instances of each source."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from dolma_py.manifest import InstanceTable
from dolma_py.train.distributed import Runtime, all_reduce_sum


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
    """Loss per source name over `rows` (this rank's share; every rank must pass the same count), summed over ranks."""
    sums = torch.zeros(len(source_names), dtype=torch.float64, device=rt.device)
    counts = torch.zeros(len(source_names), dtype=torch.float64, device=rt.device)
    for i in range(0, len(rows), micro_batch):
        x = torch.from_numpy(table.batch(rows[i : i + micro_batch])).to(rt.device)
        src = torch.from_numpy(sources[i : i + micro_batch]).to(rt.device)
        with rt.autocast():
            logits = model(x[:, :-1])
        ce = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten(), reduction="none")
        per_instance = ce.view(x.shape[0], -1).mean(dim=1).double()
        sums.index_add_(0, src, per_instance)
        counts.index_add_(0, src, torch.ones_like(per_instance))
    all_reduce_sum(sums)
    all_reduce_sum(counts)
    return {name: float(sums[k] / counts[k]) for k, name in enumerate(source_names) if counts[k] > 0}
