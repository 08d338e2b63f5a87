"""Demonstration of `dolma ladder run` + `dolma ladder fit` on the generated four-domain corpus, tiny models on CPU.

    python benchmarks/ladder_demo.py --results benchmarks/results.jsonl

A ladder of 4 sizes (d_model 16, 24, 32, 48; 2 layers) x 3 token multiples (1, 2, 4 x 10 tokens per parameter) on a
uniform mix of the four domains, every checkpoint scored on the held-out shards and on a multiple-choice
continuation task (pick the true next 8 tokens among 4 continuations from the same domain). Then a held-out larger
model (d_model 96, 3.6x the largest rung's parameters) is trained the same way, and its final loss and accuracy are
compared with the fit's prediction. Numbers are whatever the run gives.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO_ROOT, append_row  # noqa: E402
from mixtures_corpus import DOMAINS, sample, write_corpus  # noqa: E402

from dolma_py.cli.main import main as dolma  # noqa: E402
from dolma_py.mixtures.points import read_points  # noqa: E402


def shape(d: int, seq: int) -> dict:
    return {
        "vocab_size": 256,
        "d_model": d,
        "n_layers": 2,
        "n_heads": max(2, d // 16),
        "mlp_hidden": int(d * 8 / 3) // 8 * 8,
        "max_seq_len": seq,
    }


def write_task(path: Path, questions: int, seed: int) -> None:
    """Continuation questions: 32 tokens of a held-out-style document, the true next 8 tokens and 3 continuations
    taken from other documents of the same domain."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as fh:
        for i in range(questions):
            k = i % len(DOMAINS)
            docs = sample(DOMAINS[k], 4 * 40, seed=1000 + i, chain_seed=k, doc_length=40).reshape(4, 40).tolist()
            answer = int(rng.integers(0, 4))
            choices = [doc[32:] for doc in docs]
            fh.write(json.dumps({"context": docs[answer][:32], "choices": choices, "answer": answer}) + "\n")


def spec(root: Path, work: Path, sizes: list[int], multiples: list[float], args: argparse.Namespace) -> Path:
    data = {
        "work_dir": str(work),
        "corpus": {
            "sources": {d.name: {"paths": [str(root / "train" / d.name / "*.npy")]} for d in DOMAINS},
            "sequence_length": args.seq + 1,
            "dtype": "uint16",
        },
        "mix": {d.name: 1 / len(DOMAINS) for d in DOMAINS},
        "sizes": [{"name": f"d{d}", "model": shape(d, args.seq)} for d in sizes],
        "token_multiples": multiples,
        "tokens_per_param": args.tokens_per_param,
        "eval": {d.name: {"paths": [str(root / "heldout" / d.name / "*.npy")]} for d in DOMAINS},
        "tasks": {"continuation": str(root / "continuation.jsonl")},
        "checkpoints_per_run": 4,
        "eval_instances": 64,
        "eval_batch": 32,
        "train": {
            "data": {"global_batch_size": 16, "micro_batch_size": 16},
            "optim": {"lr": 3e-3},
            "schedule": {"warmup_steps": 20},
            "system": {"device": "cpu", "threads": args.threads},
            "log_interval": 500,
        },
        "processes": args.processes,
    }
    path = work.with_suffix(".yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(REPO_ROOT / ".bench" / "mixtures" / "ladder"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 24, 32, 48])
    parser.add_argument("--multiples", type=float, nargs="+", default=[1, 2, 4])
    parser.add_argument("--target", type=int, default=96, help="d_model of the held-out larger model")
    parser.add_argument("--tokens-per-param", type=float, default=10.0)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--results", help="append a row to this results.jsonl")
    parser.add_argument("--docs", default=str(REPO_ROOT / "docs" / "img"), help="copy the plot here")
    args = parser.parse_args()
    root = Path(args.root)
    started = time.perf_counter()
    from dolma_py.config.train import ModelConfig
    from dolma_py.mixtures.ladder import ladder_params

    biggest = max(
        max(args.multiples) * ladder_params(ModelConfig(**shape(max(args.sizes), args.seq))),
        ladder_params(ModelConfig(**shape(args.target, args.seq))),
    )
    per_domain = int(1.1 * args.tokens_per_param * biggest / len(DOMAINS))  # no instance is used twice
    write_corpus(root, train_tokens=max(1_000_000, per_domain), heldout_tokens=20_000)
    write_task(root / "continuation.jsonl", 100, seed=7)
    if dolma(["ladder", "run", str(spec(root, root / "ladder", args.sizes, args.multiples, args))]):
        return 1
    if dolma(["ladder", "run", str(spec(root, root / "target", [args.target], [1.0], args))]):
        return 1
    target = [p for p in read_points(root / "target" / "POINTS.csv") if p.final][0]
    rc = dolma(
        [
            "ladder",
            "fit",
            "--points",
            str(root / "ladder" / "POINTS.csv"),
            "--target-params",
            str(target.params),
            "--target-tokens",
            str(target.tokens),
            "--bootstrap",
            "100",
        ]
    )
    if rc:
        return rc
    elapsed = time.perf_counter() - started
    report = json.loads((root / "ladder" / "ladder_fit.json").read_text())
    pred = report["loss"]["prediction"]
    task = report["tasks"]["continuation"]
    outcome = {
        "target": {
            "params": target.params,
            "tokens": target.tokens,
            "loss": target.loss,
            "accuracy": target.accuracy,
            "task_loss": target.task_loss,
        },
        "predicted_loss": pred,
        "loss_error": pred["value"] / target.loss - 1,
        "predicted_task_loss": task["predicted_task_loss"]["value"],
        "task_loss_error": task["predicted_task_loss"]["value"] / target.task_loss - 1,
        "predicted_accuracy": task["predicted_accuracy"],
        "accuracy_error": task["predicted_accuracy"]["value"] - target.accuracy,
        "law": report["loss"]["law"],
        "sigmoid": task["sigmoid"],
        "ladder_points": report["points"],
        "elapsed_s": round(elapsed, 1),
    }
    print(json.dumps(outcome, indent=2))
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "ladder" / "ladder_fit.png", docs / "ladder_demo.png")
    if args.results:
        params = {k: v for k, v in vars(args).items() if k not in ("results", "docs", "root")}
        append_row(Path(args.results), "ladder_demo", params, outcome)
    print(
        f"ladder demo: {elapsed:.0f} s; target loss {target.loss:.4f}, predicted {pred['value']:.4f} "
        f"({100 * outcome['loss_error']:+.2f}%); accuracy {target.accuracy:.3f}, predicted "
        f"{task['predicted_accuracy']['value']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
