"""Process setup for training: device, precision, torchrun process group, and DDP / FSDP2 / compile wrapping."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from dolma_py.config.train import SystemConfig
from dolma_py.errors import ConfigError
from dolma_py.train.together import ControlGroup

PEAK_BF16_FLOPS: tuple[tuple[str, float], ...] = (
    (r"gh200", 989e12),
    (r"h200 nvl", 835e12),
    (r"h200", 989e12),
    (r"h100 nvl", 835e12),
    (r"h100 pcie", 756e12),
    (r"h100", 989e12),  # SXM: "NVIDIA H100 80GB HBM3"
    (r"b200", 2250e12),
    (r"a100", 312e12),  # SXM and PCIe, 40 and 80 GB
    (r"l40s", 362e12),
    (r"l40\b", 181e12),
    (r"l4\b", 121e12),
    (r"a10\b", 125e12),
)
"""Dense (no sparsity) bf16 tensor-core peak FLOP/s from NVIDIA's datasheets, by a pattern searched for in the
lower-cased `torch.cuda.get_device_name()`; the first match wins, so specific names come before general ones."""


def peak_flops_for(device_name: str) -> float | None:
    """Dense bf16 peak FLOP/s of a CUDA device by its name, or None for a device not in `PEAK_BF16_FLOPS`."""
    name = device_name.lower()
    return next((peak for pattern, peak in PEAK_BF16_FLOPS if re.search(pattern, name)), None)


@dataclass
class Runtime:
    """Where this process runs: rank and world size (from torchrun's env), device and autocast dtype."""

    rank: int
    world: int
    device: torch.device
    bf16: bool
    parallel: str
    owns_group: bool
    control: ControlGroup

    @property
    def is_main(self) -> bool:
        """Rank 0 writes logs, checkpoints' shared files, exports and plots."""
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast unless off, or unless FSDP's mixed-precision policy already casts the parameters."""
        if not self.bf16 or (self.world > 1 and self.parallel == "fsdp"):
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def sync(self) -> None:
        """Wait for this device's queued work (a no-op on CPU): what timing needs before reading the clock."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def peak_flops(self, configured: float | None) -> float | None:
        """Peak FLOP/s of one device for MFU: the configured value, else the CUDA device's by name (None for a
        device the table does not know, and on CPU)."""
        if configured is not None:
            return configured
        return peak_flops_for(torch.cuda.get_device_name(self.device)) if self.device.type == "cuda" else None


def init_runtime(cfg: SystemConfig) -> Runtime:
    """Pick the device, join the process group torchrun describes (WORLD_SIZE/RANK/LOCAL_RANK), set threads."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("system.device is 'cuda' but torch sees no CUDA device")
    use_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)  # before the process group, so NCCL's communicator binds this rank's GPU
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    owns_group = False
    if world > 1 and not dist.is_initialized():
        if use_cuda:
            dist.init_process_group("nccl", device_id=device)
        else:
            dist.init_process_group("gloo")
        owns_group = True
    rank = dist.get_rank() if dist.is_initialized() else 0
    world = dist.get_world_size() if dist.is_initialized() else 1
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and use_cuda)
    return Runtime(rank, world, device, bf16, cfg.parallel, owns_group, ControlGroup(world, rank))


def shutdown(rt: Runtime, clean: bool) -> None:
    """Leave the process group if `init_runtime` created it (after a barrier when every rank finished cleanly)."""
    if rt.owns_group and dist.is_initialized():
        if clean:
            dist.barrier()
        dist.destroy_process_group()


def abandon(rt: Runtime) -> None:
    """Leave the process group after a failure without waiting for anyone: the collectives the other ranks are
    blocked in then fail instead of waiting for this rank (NCCL's communicators are aborted)."""
    if not dist.is_initialized():
        return
    abort = getattr(dist.distributed_c10d, "_abort_process_group", None)
    try:
        if abort is not None and rt.device.type == "cuda":
            abort()
        else:
            dist.destroy_process_group()
    except Exception as err:  # noqa: BLE001 - leaving is best effort; the run is failing anyway
        print(f"rank {rt.rank}: leaving the process group failed: {err}", file=sys.stderr)


def wrap_model(model: torch.nn.Module, rt: Runtime, compile: bool) -> torch.nn.Module:
    """Compile (in place, keeping parameter names) and wrap for data parallelism; returns the module to call.

    FSDP2 shards each block and then the root; its policy computes in bf16 and reduces gradients in fp32. The
    optimizer must be built after this call (FSDP2 swaps parameters for sharded DTensors in place).
    """
    if rt.world > 1 and rt.parallel == "fsdp":
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16 if rt.bf16 else None, reduce_dtype=torch.float32)
        for layer in model.layers:  # type: ignore[union-attr]
            if compile:
                layer.compile()
            fully_shard(layer, mp_policy=policy)
        fully_shard(model, mp_policy=policy)
        return model
    if compile:
        model.compile()
    if rt.world > 1:
        device_ids = [rt.device.index] if rt.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, broadcast_buffers=False)
    return model


@contextlib.contextmanager
def gradient_sync(model: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Skip the gradient all-reduce on all but the last micro-batch of a step (DDP no_sync / FSDP2 flag)."""
    if isinstance(model, DistributedDataParallel) and not sync:
        with model.no_sync():
            yield
        return
    set_sync = getattr(model, "set_requires_gradient_sync", None)
    if set_sync is not None:
        set_sync(sync)
    yield


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over ranks in place (no-op in one process)."""
    if dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t
