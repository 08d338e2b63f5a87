"""Training throughput of the `dolma train` model on one device: tokens/s and MFU per preset, on random tokens.

    python benchmarks/train_gpu.py                      # 190M and 1B at seq 2048, bf16, torch.compile, on CUDA
    python benchmarks/train_gpu.py --presets 1B --micro-batch 4 --no-compile
    python benchmarks/train_gpu.py --tiny               # CPU smoke check: tiny preset, seq 128, 3 steps

A step is what `dolma train` runs: forward + z-loss, backward, grad clipping at 1.0, (fused on CUDA) AdamW.
MFU = (6 * matmul params + 12 * n_layers * d_model * seq) * tokens/s / peak, peak defaulting to H100 dense bf16
(989 TFLOP/s) on CUDA; the attention term counts the full (not causal-halved) score matrix, as PaLM does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as `python benchmarks/x.py` even where dolma_py is not installed

import torch  # noqa: E402

from dolma_py.config.train import ModelConfig, OptimConfig, SystemConfig  # noqa: E402
from dolma_py.train.distributed import init_runtime  # noqa: E402
from dolma_py.train.loss import shift_labels  # noqa: E402
from dolma_py.train.model import Transformer, flops_per_token  # noqa: E402
from dolma_py.train.schedule import build_optimizer  # noqa: E402


def bench_preset(
    preset: str, seq: int, micro: int, steps: int, warmup: int, compile: bool, device: str, peak: float | None
) -> dict:
    """Time `steps` optimizer steps (after `warmup` untimed ones) of one micro-batch each."""
    rt = init_runtime(SystemConfig(device=device))  # type: ignore[arg-type]
    cfg = ModelConfig(preset=preset, max_seq_len=max(seq, ModelConfig(preset=preset).resolved().max_seq_len or 0))
    torch.manual_seed(0)
    with torch.device(rt.device):
        model = Transformer(cfg)
    if compile:
        model.compile()
    optimizer = build_optimizer(model, OptimConfig(), fused=rt.device.type == "cuda")
    vocab = model.cfg.vocab_size
    batches = torch.randint(0, vocab, (warmup + steps, micro, seq), device=rt.device)

    def step(i: int) -> None:
        with rt.autocast():
            loss, _ = model(batches[i], shift_labels(batches[i]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def sync() -> None:
        if rt.device.type == "cuda":
            torch.cuda.synchronize()

    for i in range(warmup):
        step(i)
    sync()
    if rt.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for i in range(warmup, warmup + steps):
        step(i)
    sync()
    elapsed = time.perf_counter() - start
    tokens_per_s = steps * micro * seq / elapsed
    peak_flops = rt.peak_flops(peak)
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "preset": preset,
        "params": n_params,
        "seq": seq,
        "micro_batch": micro,
        "compile": compile,
        "device": torch.cuda.get_device_name(rt.device) if rt.device.type == "cuda" else "cpu",
        "step_ms": 1000 * elapsed / steps,
        "tokens_per_s": tokens_per_s,
        "mfu": None if peak_flops is None else flops_per_token(cfg, seq) * tokens_per_s / peak_flops,
        "peak_mem_gb": torch.cuda.max_memory_allocated(rt.device) / 2**30 if rt.device.type == "cuda" else None,
    }


def _count(n: int) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.0f}M" if n >= 1e7 else f"{n / 1e6:.2f}M"


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'preset':<7} {'params':>8} {'seq':>5} {'micro':>5} {'step ms':>9} {'tokens/s':>11} {'MFU':>6} {'mem GB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        mfu = "-" if r["mfu"] is None else f"{r['mfu']:.1%}"
        mem = "-" if r["peak_mem_gb"] is None else f"{r['peak_mem_gb']:.1f}"
        print(
            f"{r['preset']:<7} {_count(r['params']):>8} {r['seq']:>5} {r['micro_batch']:>5} {r['step_ms']:>9.1f} "
            f"{r['tokens_per_s']:>11,.0f} {mfu:>6} {mem:>7}"
        )
    if rows:
        print(f"device: {rows[0]['device']}; compile: {rows[0]['compile']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["190M", "1B"], help="model presets to time")
    parser.add_argument("--seq", type=int, default=2048, help="tokens per instance fed to the model")
    parser.add_argument("--micro-batch", type=int, default=8, help="instances per step")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--peak-flops", type=float, default=None, help="peak FLOP/s of the device for MFU")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--tiny", action="store_true", help="smoke check: tiny preset, seq 128, 3 steps, on CPU")
    parser.add_argument("--results", type=Path, help="append one JSON line per preset here")
    args = parser.parse_args(argv)
    if args.tiny:
        args.presets, args.seq, args.micro_batch, args.steps, args.warmup = ["tiny"], 128, 2, 3, 1
        args.no_compile, args.device = True, "cpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [
        bench_preset(
            p, args.seq, args.micro_batch, args.steps, args.warmup, not args.no_compile, args.device, args.peak_flops
        )
        for p in args.presets
    ]
    print_table(rows)
    if args.results:
        with open(args.results, "a", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
