"""Batches from a curriculum manifest, addressed by the global step alone, so resuming needs only the step.

Phase k trains for `instances_k // global_batch_size` steps over its rows in manifest order (the remainder is
dropped); step s reads global rows [j*G, (j+1)*G) of its phase, and rank r takes the r-th contiguous slice of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dolma_py.errors import ConfigError
from dolma_py.manifest import InstanceTable, Manifest


@dataclass(frozen=True)
class Phase:
    """A phase's place in the run: its name, instance table and step range [start, end)."""

    name: str
    table: InstanceTable
    start: int
    end: int

    @property
    def steps(self) -> int:
        """Optimizer steps the phase trains for."""
        return self.end - self.start


class CurriculumBatches:
    """This rank's micro-batches for any global step of a manifest's phases."""

    def __init__(self, manifest: Manifest, global_batch: int, micro_batch: int, rank: int = 0, world: int = 1):
        if global_batch % (micro_batch * world):
            raise ConfigError(
                f"data.global_batch_size={global_batch} must be a multiple of "
                f"data.micro_batch_size={micro_batch} x {world} processes"
            )
        self.manifest = manifest
        self.global_batch = global_batch
        self.micro_batch = micro_batch
        self.rank = rank
        self.world = world
        self.phases: list[Phase] = []
        start = 0
        for i, info in enumerate(manifest.phases):
            table = manifest.instances(i)
            steps = len(table) // global_batch
            if steps == 0:
                raise ConfigError(
                    f"manifest {manifest.path}: phase {info.name!r} has {len(table)} instances, fewer than one step of "
                    f"data.global_batch_size={global_batch}"
                )
            self.phases.append(Phase(info.name, table, start, start + steps))
            start += steps
        if not self.phases:
            raise ConfigError(f"manifest {manifest.path} has no phases")

    @property
    def total_steps(self) -> int:
        """Optimizer steps over all phases: the length of the run."""
        return self.phases[-1].end

    def phase_at(self, step: int) -> Phase:
        """The phase that global step `step` (0-based) belongs to."""
        for phase in self.phases:
            if phase.start <= step < phase.end:
                return phase
        raise IndexError(f"step {step} is past the manifest's {self.total_steps} steps")

    def rows(self, step: int) -> np.ndarray:
        """Indices, into the step's phase table, of the rows this rank reads at `step`."""
        phase = self.phase_at(step)
        per_rank = self.global_batch // self.world
        first = (step - phase.start) * self.global_batch + self.rank * per_rank
        return np.arange(first, first + per_rank)

    def micro_batches(self, step: int) -> list[np.ndarray]:
        """This rank's instances at `step` as (micro_batch, sequence_length) int64 arrays."""
        batch = self.phase_at(step).table.batch(self.rows(step))
        return [batch[i : i + self.micro_batch] for i in range(0, len(batch), self.micro_batch)]


def validation_rows(
    manifest: Manifest, max_instances: int, rank: int = 0, world: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """This rank's share (strided) of the first `max_instances` validation rows, and each row's source index.

    The count is rounded down to a multiple of `world` so every rank runs the same number of forward passes.
    """
    table = manifest.validation()
    if table is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    used = min(len(table), max_instances) // world * world
    rows = np.arange(rank, used, world)
    sources = np.array([table.source_index(int(i)) for i in rows], dtype=np.int64)
    return rows, sources
