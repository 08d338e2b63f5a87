"""Training throughput of `dolma train` on one GPU: tokens/s, MFU and peak memory per model, as a real run trains.

    python benchmarks/train_gpu.py --results benchmarks/results.jsonl     # 190M, 1B, MoE at seq 4096 (< 8 min, H200)
    python benchmarks/train_gpu.py --cases 1B --steps 8                   # one case, longer windows
    python benchmarks/train_gpu.py --smoke                                # CPU: tiny dense + tiny MoE, seconds

Each case writes synthetic token shards and a one-phase manifest (random ids, no network), then runs the trainer
itself (`dolma_py.train.train.train`: bf16 autocast, torch.compile, fused AdamW, chunked loss, gradient
accumulation over several micro-batches per optimizer step, grad clipping) for 2 x `--steps` steps, logging
every `--steps` steps. The trainer's windows exclude the first (compiling) step and the final checkpoint; the
figures are those of the second window, `--steps` warm steps. MFU is the trainer's: causal-attention training
FLOPs of the active parameters over the device's dense bf16 peak (by name; `--peak-flops` overrides). Each case
appends one row to `--results`; a case that fails (say out of memory) is recorded with its error, the others run.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as `python benchmarks/x.py` even where dolma_py is not installed
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import torch  # noqa: E402
from common import append_row  # noqa: E402

from dolma_py.config.train import (  # noqa: E402
    CheckpointConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    MoEConfig,
    OptimConfig,
    ScheduleConfig,
    SystemConfig,
    TrainConfig,
)
from dolma_py.manifest import PhaseInfo, ShardInfo, write_manifest  # noqa: E402
from dolma_py.train.metrics import read_metrics  # noqa: E402
from dolma_py.train.model import Transformer, flops_per_token, matmul_params  # noqa: E402
from dolma_py.train.train import train  # noqa: E402


@dataclass(frozen=True)
class Case:
    """One model to time: its shape, micro-batch and gradient-accumulation steps."""

    name: str
    model: ModelConfig
    micro: int
    accum: int


OLMOE_16E = MoEConfig(num_experts=16, top_k=8, expert_hidden=1024)
"""OLMoE-1B-7B's experts (SwiGLU 1024, top-8) with 16 instead of 64 per layer: the same active parameters
(1.18B in matmuls) and FLOPs per token, 2.1B in all, so model, gradients and AdamW state fit one GPU."""

CASES = {
    "190M": Case("190M", ModelConfig(preset="190M"), micro=8, accum=4),
    "1B": Case("1B", ModelConfig(preset="1B"), micro=4, accum=4),
    "olmoe-1B-16e": Case("olmoe-1B-16e", ModelConfig(preset="1B", vocab_size=50304, moe=OLMOE_16E), micro=4, accum=2),
}
SMOKE = {
    "tiny": Case("tiny", ModelConfig(preset="tiny"), micro=2, accum=2),
    "olmoe-tiny": Case(
        "olmoe-tiny", ModelConfig(preset="tiny", moe=MoEConfig(num_experts=8, top_k=2, expert_hidden=96)), 2, 2
    ),
}


def write_synthetic_manifest(root: Path, vocab: int, seq: int, instances: int, seed: int = 0) -> Path:
    """Random token ids in one raw shard (uint32) and a manifest with one phase of `instances` rows."""
    rng = np.random.default_rng(seed)
    shard = root / "tokens.npy"
    rng.integers(0, vocab, instances * seq, dtype=np.uint32).tofile(shard)
    rows = np.array([[0, i * seq, 0] for i in range(instances)], dtype=np.uint64)
    phase = PhaseInfo("pretrain", instances, instances * seq, {"synthetic": 1.0}, {"synthetic": 1.0})
    return write_manifest(
        str(root / "manifest"), name="synthetic", seed=seed, sequence_length=seq, dtype="uint32", eos_token_id=None,
        shards=[ShardInfo(str(shard), instances * seq)], sources=["synthetic"], phases=[(phase, rows)], validation=None,
    )  # fmt: skip


def run_case(case: Case, args: argparse.Namespace, work: Path) -> dict:
    """Train `case` on synthetic data and return its results row."""
    model = case.model
    resolved = model.resolved()
    steps = 2 * args.steps  # logged after `steps` and 2 x `steps`: the second window is whole and warm
    global_batch = case.micro * case.accum
    root = work / case.name
    root.mkdir(parents=True)
    manifest = write_synthetic_manifest(root, resolved.vocab_size or 0, args.seq, steps * global_batch)
    config = TrainConfig(
        manifest=str(manifest),
        out_dir=str(root / "run"),
        model=ModelConfig(**{**model.__dict__, "max_seq_len": max(args.seq, resolved.max_seq_len or 0)}),
        data=DataConfig(global_batch_size=global_batch, micro_batch_size=case.micro),
        optim=OptimConfig(lr=3e-4),
        schedule=ScheduleConfig(warmup_steps=1),
        eval=EvalConfig(interval=0),
        checkpoint=CheckpointConfig(interval=0),  # only the final one, outside the timed windows
        system=SystemConfig(device=args.device, compile=not args.no_compile, peak_flops=args.peak_flops),
        log_interval=args.steps,
        max_steps=steps,
    )
    with torch.device("meta"):
        params = sum(p.numel() for p in Transformer(model).parameters())
    row = {
        "case": case.name,
        "params": params,
        "active_matmul_params": matmul_params(model),
        "seq": args.seq,
        "micro_batch": case.micro,
        "grad_accum": case.accum,
        "global_batch": global_batch,
        "compile": not args.no_compile,
        "device": torch.cuda.get_device_name() if args.device != "cpu" and torch.cuda.is_available() else "cpu",
        "flops_per_token": flops_per_token(model, args.seq),
    }
    cuda = row["device"] != "cpu"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    try:
        train(config)
    except Exception as err:  # noqa: BLE001 - recorded in the row (with any window logged before); others still run
        traceback.print_exc()
        row["error"] = f"{type(err).__name__}: {err}"[:500]
    finally:
        torch._dynamo.reset()
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
    metrics = root / "run" / "metrics.jsonl"
    windows = [r for r in read_metrics(metrics) if r.get("tokens_per_s") is not None] if metrics.exists() else []
    shutil.rmtree(root)
    if not windows:
        return row | {"wall_s": time.perf_counter() - started}
    last = windows[-1]
    return row | {
        "steps_timed": args.steps,
        "tokens_per_s": last["tokens_per_s"],
        "mfu": last["mfu"],
        "step_s": global_batch * args.seq / last["tokens_per_s"],
        "windows_tokens_per_s": [r["tokens_per_s"] for r in windows],
        "loss": last["loss"],
        "peak_mem_gb": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "wall_s": time.perf_counter() - started,
    }


def print_table(rows: list[dict]) -> None:
    header = f"{'case':<13} {'params':>7} {'seq':>5} {'micro':>5} {'accum':>5} {'step s':>7} {'tokens/s':>11} "
    header += f"{'MFU':>6} {'mem GB':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        if "tokens_per_s" not in r:
            print(f"{r['case']:<13} failed: {r['error']}")
            continue
        mfu = "-" if r["mfu"] is None else f"{r['mfu']:.1%}"
        mem = "-" if r["peak_mem_gb"] is None else f"{r['peak_mem_gb']:.1f}"
        if "error" in r:
            print(f"{r['case']:<13} (failed after its windows: {r['error']})")
        print(
            f"{r['case']:<13} {r['params'] / 1e9:>6.2f}B {r['seq']:>5} {r['micro_batch']:>5} {r['grad_accum']:>5} "
            f"{r['step_s']:>7.2f} {r['tokens_per_s']:>11,.0f} {mfu:>6} {mem:>7}"
        )
    if rows:
        print(f"device: {rows[0]['device']}; compile: {rows[0]['compile']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=[*CASES, *SMOKE], help="cases to run (default: all of the mode)")
    parser.add_argument("--seq", type=int, default=4096, help="sequence length (tokens per instance)")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per timed window (two windows)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    parser.add_argument("--peak-flops", type=float, default=None, help="peak FLOP/s of the device (default: by name)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--smoke", action="store_true", help="CPU check: tiny dense and MoE, seq 64, 2-step windows")
    parser.add_argument("--results", type=Path, help="append one JSON line per case here")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--budget-s", type=float, default=390.0, help="start no further case after this many seconds")
    args = parser.parse_args(argv)
    table = CASES
    if args.smoke:
        table, args.seq, args.steps, args.no_compile, args.device = SMOKE, 64, 2, True, "cpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.cases or list(table)
    cases = [{**CASES, **SMOKE}[n] for n in names]
    work = Path(tempfile.mkdtemp(prefix="train_gpu-", dir=args.work))
    started = time.perf_counter()
    rows = []
    try:
        for case in cases:
            if time.perf_counter() - started > args.budget_s:
                print(f"{case.name}: skipped, past the --budget-s of {args.budget_s:.0f} s", flush=True)
                continue
            rows.append(run_case(case, args, work))
            print(json.dumps(rows[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.results:
        for row in rows:
            append_row(args.results, "train_gpu", {"smoke": args.smoke, "case": row["case"]}, row)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
