"""Plan a curriculum: how many instances each phase takes from each pool, and whether the data suffices.

Each pool is consumed as one stream across phases: epoch e of the stream is a seeded permutation of the pool, and a
phase takes the next `n` instances from where the previous phase stopped. So a later phase first gets data no
earlier phase used, whole passes come before any repeat, and a partial pass is a seeded subset. `max_repetition: k`
caps the stream at k passes by the end of the phase (default 1: no instance is ever used twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dolma_py.errors import ConfigError
from mixers.curriculum.catalog import Catalog
from mixers.curriculum.spec import CurriculumSpec


class InfeasibleSpec(ConfigError):
    """The spec asks for more data than the sources hold within their repetition caps."""


@dataclass(frozen=True)
class Allocation:
    """One pool's share of one phase."""

    pool: str
    ratio: float
    requested_tokens: int
    instances: int
    start: int
    available_instances: int
    pool_instances: int
    max_repetition: float

    @property
    def end(self) -> int:
        """Stream position after this phase."""
        return self.start + self.instances

    @property
    def repetitions(self) -> float:
        """Passes over the pool consumed by the end of this phase (1.0 = every instance used once)."""
        return self.end / self.pool_instances if self.pool_instances else 0.0


@dataclass
class PhasePlan:
    """A phase's instance count and its allocations, in pool order."""

    name: str
    instances: int
    tokens: int
    mix: dict[str, float]
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def realized(self) -> dict[str, float]:
        """Share of the phase's instances each pool supplies."""
        return {a.pool: a.instances / self.instances for a in self.allocations if a.ratio > 0 or a.instances}


@dataclass
class Plan:
    """The whole curriculum's plan, ready to build or print."""

    spec: CurriculumSpec
    catalog: Catalog
    pools: list[str]
    phases: list[PhasePlan]

    @property
    def manifest_sources(self) -> list[str]:
        """Source names of the manifest: every pool, then partitioned sources that only appear in validation."""
        return self.pools + [name for name in self.catalog.validation if name not in self.pools]

    @property
    def validation_instances(self) -> int:
        return sum(p.size for p in self.catalog.validation.values())


def apportion(total: int, mix: dict[str, float], order: list[str]) -> dict[str, int]:
    """Integer counts summing to `total`, proportional to `mix` (largest remainder; ties go to earlier pools)."""
    quotas = np.array([mix.get(name, 0.0) * total for name in order], dtype=np.float64)
    counts = np.floor(quotas).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        remainders = quotas - counts
        ranked = sorted(range(len(order)), key=lambda i: (-remainders[i], i))
        for i in ranked[:short]:
            counts[i] += 1
    return {name: int(c) for name, c in zip(order, counts, strict=False)}


def make_plan(spec: CurriculumSpec, catalog: Catalog) -> Plan:
    """Allocate every phase; raises `InfeasibleSpec` listing every source that runs short, with the shortfall."""
    length = spec.sequence_length
    order = spec.pool_names()
    cursor = {name: 0 for name in order}
    phases = []
    shortfalls = []
    for phase in spec.phases:
        requested = spec.phase_tokens(phase)
        instances = requested // length
        counts = apportion(instances, phase.mix, order)
        plan = PhasePlan(phase.name, instances, instances * length, dict(phase.mix))
        for name in order:
            size = catalog.pools[name].size
            cap = float(phase.max_repetition.get(name, 1.0))
            limit = int(np.floor(cap * size + 1e-9))
            alloc = Allocation(
                pool=name,
                ratio=float(phase.mix.get(name, 0.0)),
                requested_tokens=int(round(phase.mix.get(name, 0.0) * requested)),
                instances=counts[name],
                start=cursor[name],
                available_instances=max(0, limit - cursor[name]),
                pool_instances=size,
                max_repetition=cap,
            )
            if alloc.instances > alloc.available_instances:
                missing = (alloc.instances - alloc.available_instances) * length
                used = f", {cursor[name] * length:,} already used by earlier phases" if cursor[name] else ""
                shortfalls.append(
                    f"phase {phase.name!r}: source {name!r} needs {alloc.instances * length:,} tokens but has "
                    f"{alloc.available_instances * length:,} available within max_repetition {cap:g} "
                    f"(pool {size * length:,} tokens{used}); shortfall {missing:,} tokens"
                )
            plan.allocations.append(alloc)
            cursor[name] += alloc.instances
        phases.append(plan)
    if shortfalls:
        raise InfeasibleSpec("infeasible curriculum:\n  " + "\n  ".join(shortfalls))
    return Plan(spec=spec, catalog=catalog, pools=order, phases=phases)


def format_plan(plan: Plan) -> str:
    """A table per phase: requested vs available tokens, repetitions and realized ratio, per source."""
    length = plan.spec.sequence_length
    lines = [
        f"curriculum {plan.spec.name!r}: sequence_length {length}, dtype {plan.catalog.dtype.name}, "
        f"{len(plan.catalog.shards)} shards, seed {plan.spec.seed}"
    ]
    header = f"  {'source':<24} {'ratio':>8} {'requested':>16} {'available':>16} {'repetitions':>12} {'realized':>10}"
    for phase in plan.phases:
        lines.append(f"phase {phase.name!r}: {phase.instances:,} instances, {phase.tokens:,} tokens")
        lines.append(header)
        for a in phase.allocations:
            if a.ratio == 0 and a.instances == 0:
                continue
            lines.append(
                f"  {a.pool:<24} {a.ratio:>8.4f} {a.requested_tokens:>16,} {a.available_instances * length:>16,} "
                f"{a.repetitions:>12.3f} {a.instances / phase.instances:>10.6f}"
            )
    if plan.catalog.validation:
        lines.append(f"validation: {plan.validation_instances:,} instances held out")
        for name, pool in plan.catalog.validation.items():
            lines.append(f"  {name:<24} {pool.size * length:>16,} tokens")
    return "\n".join(lines)
