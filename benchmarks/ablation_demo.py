"""Demonstration of `dolma ablate validate` on a generated four-domain token corpus, with tiny models on CPU.

    python benchmarks/ablation_demo.py --results benchmarks/results.jsonl

Five partitions (web@0/2, web@1/2, code, math, books), a seed model trained on a uniform mix of them, one model per
partition from the seed, eight candidate mixtures (one weighted) scored by the average of their partitions' models,
and, for validation, a model trained from the seed on each candidate's full mixture (the same total tokens).
Prints and records the Pearson and Spearman correlation of proxy against true perplexity, and copies the plots to
docs/img/. Numbers are whatever the run gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_ROOT, append_row  # noqa: E402
from mixtures_corpus import DOMAINS, write_base, write_corpus  # noqa: E402

from dolma_py.cli.main import main as dolma  # noqa: E402

CANDIDATES = [
    {"name": "web", "partitions": ["web@0/2", "web@1/2"]},
    {"name": "code+math", "partitions": ["code", "math"]},
    {"name": "web+code", "partitions": ["web@0/2", "code"]},
    {"name": "web+books", "partitions": ["web@0/2", "books"]},
    {"name": "math+books", "partitions": ["math", "books"]},
    {"name": "code+math+books", "partitions": ["code", "math", "books"]},
    {"name": "all", "partitions": ["web@0/2", "web@1/2", "code", "math", "books"]},
    {"name": "web3:code1", "mix": {"web@0/2": 3, "code": 1}},
]


def config(root: Path, args: argparse.Namespace) -> dict:
    d = args.d_model
    return {
        "work_dir": str(root / "work"),
        "corpus": {
            "sources": {
                name: {"paths": [str(root / "train" / name / "*.npy")]}
                for name in [d.name for d in DOMAINS] + (["base"] if args.base_seed else [])
            },
            "partitions": {"web": 2},
            "sequence_length": args.seq + 1,
            "dtype": "uint16",
        },
        "seed": {"tokens": args.seed_tokens, **({"mix": {"base": 1.0}} if args.base_seed else {})},
        "tokens_per_partition": args.tokens_per_partition,
        "candidates": CANDIDATES,
        "eval": {dom.name: {"paths": [str(root / "heldout" / dom.name / "*.npy")]} for dom in DOMAINS},
        "eval_instances": 128,
        "eval_batch": 32,
        "train": {
            "model": {
                "vocab_size": 256,
                "d_model": d,
                "n_layers": 2,
                "n_heads": max(2, d // 16),
                "mlp_hidden": int(d * 8 / 3) // 8 * 8,
                "max_seq_len": args.seq,
            },
            "data": {"global_batch_size": 16, "micro_batch_size": 16},
            "optim": {"lr": args.lr},
            "schedule": {"warmup_steps": 20},
            "system": {"device": "cpu", "threads": args.threads},
            "checkpoint_interval": 200,
            "log_interval": 100,
        },
        "processes": args.processes,
        "seeded_lr": args.seeded_lr,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO_ROOT / ".bench" / "mixtures" / "ablation"))
    parser.add_argument("--d-model", type=int, default=48)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--seed-tokens", type=int, default=300_000)
    parser.add_argument(
        "--base-seed",
        action="store_true",
        help="train the seed on a separate base corpus of all four domains, not on the partitions",
    )
    parser.add_argument("--lr", type=float, default=3e-3, help="peak LR of every run")
    parser.add_argument("--seeded-lr", type=float, help="peak LR of the runs from the seed (default: --lr)")
    parser.add_argument("--tokens-per-partition", type=int, default=300_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", help="append a row to this results.jsonl")
    parser.add_argument("--docs", default=str(REPO_ROOT / "docs" / "img"), help="copy the plots here")
    args = parser.parse_args()
    root = Path(args.root)
    started = time.perf_counter()
    write_corpus(root, train_tokens=1_200_000, heldout_tokens=20_000)
    if args.base_seed:
        write_base(root, int(1.1 * args.seed_tokens))
    spec = root / "ablate.yaml"
    spec.write_text(yaml.safe_dump(config(root, args), sort_keys=False))
    rc = dolma(["ablate", "validate", str(spec)])
    if rc:
        return rc
    elapsed = time.perf_counter() - started
    work = root / "work"
    report = json.loads((work / "validation.json").read_text())
    corr = report["correlation"]
    print((work / "ablation.md").read_text())
    print((work / "validation.md").read_text())
    print(json.dumps(corr, indent=2))
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "ablation.png", docs / "ablation_demo.png")
    shutil.copy(work / "validation.png", docs / "ablation_demo_validation.png")
    params = {k: v for k, v in vars(args).items() if k not in ("results", "docs", "root")}
    params.update(candidates=len(CANDIDATES), partitions=5, domains=[d.name for d in DOMAINS])
    results = {
        "correlation": corr,
        "ranking": (work / "ablation.csv").read_text().splitlines(),
        "validation": (work / "validation.csv").read_text().splitlines(),
        "elapsed_s": round(elapsed, 1),
    }
    if args.results:
        append_row(Path(args.results), "ablation_demo", params, results)
    print(
        f"ablation demo: {elapsed:.0f} s; mean-perplexity Pearson {corr['mean']['pearson']:.3f}, Spearman "
        f"{corr['mean']['spearman']:.3f} over {corr['mean']['n']} candidates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
