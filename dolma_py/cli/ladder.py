"""`dolma ladder fit --points POINTS.csv --target-params N --target-tokens D` and `dolma ladder run SPEC.yaml`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dolma_py.config.ladder import LadderFitConfig
from dolma_py.errors import ConfigError

SUMMARY = "model ladders: train a ladder of small models (run), fit L(N, D) and Acc(L) and predict a target (fit)"
CONFIG = LadderFitConfig
USAGE = "usage: dolma ladder {fit --points POINTS.csv --target-params N --target-tokens D | run SPEC.yaml}"
_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def _count(text: str) -> float:
    """A positive number, optionally with a k/M/B/T suffix ("190M", "2.5B")."""
    scale = _SUFFIXES.get(text[-1:].lower(), 1.0)
    try:
        return float(text[:-1] if scale != 1.0 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 1.3e9 or 1.3B, got {text!r}") from None


def fit_main(argv: list[str]) -> int:
    """Parse the fit flags, fit, print the prediction and write ladder_fit.json and the plot."""
    parser = argparse.ArgumentParser(prog="dolma ladder fit", description="fit step 1 (and step 2) and predict")
    parser.add_argument("--points", required=True, help="POINTS.csv")
    parser.add_argument("--target-params", required=True, type=_count, help="target parameters (e.g. 1B)")
    parser.add_argument("--target-tokens", required=True, type=_count, help="target tokens (e.g. 20B)")
    parser.add_argument("--out", help="output directory (default: beside POINTS.csv)")
    parser.add_argument("--plot", default="ladder_fit.png", help="plot file name in --out (.png or .svg)")
    parser.add_argument("--bootstrap", type=int, default=100, help="bootstrap resamples (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)
    config = LadderFitConfig(
        points=args.points,
        target_params=args.target_params,
        target_tokens=args.target_tokens,
        out=args.out,
        plot=args.plot,
        bootstrap=args.bootstrap,
        seed=args.seed,
    )
    try:
        config.validate()
    except ValueError as err:
        raise ConfigError(f"command line: {err}") from None
    return run_fit(config)


def run_fit(config: LadderFitConfig) -> int:
    """Fit and report (needs torch for L-BFGS and matplotlib for the plot)."""
    from dolma_py.mixtures.ladder_fit import fit_ladder, plot_ladder
    from dolma_py.mixtures.points import read_points
    from dolma_py.mixtures.units import write_json
    from dolma_py.train import require_train_extra

    require_train_extra("ladder fit")
    points = read_points(config.points)
    report = fit_ladder(points, config.target_params, config.target_tokens, config.bootstrap, config.seed)
    out = Path(config.out) if config.out else Path(config.points).parent
    write_json(str(out / "ladder_fit.json"), report)
    plot_ladder(points, report, out / config.plot)
    law, pred = report["loss"]["law"], report["loss"]["prediction"]
    print(
        f"L(N, D) = {law['A']:.4g}/N^{law['alpha']:.4f} + {law['B']:.4g}/D^{law['beta']:.4f} + {law['E']:.4f} "
        f"({report['points']} points)"
    )
    interval = f" (95% bootstrap interval {pred['low']:.4f}-{pred['high']:.4f}, {pred['samples']} resamples)"
    print(
        f"predicted loss at N={config.target_params:.4g}, D={config.target_tokens:.4g}: {pred['value']:.4f}"
        f"{interval if pred['samples'] else ''}"
    )
    for task, result in report["tasks"].items():
        acc = result["predicted_accuracy"]
        print(
            f"  {task}: task loss {result['predicted_task_loss']['value']:.4f}, accuracy {acc['value']:.4f} "
            f"({acc['low']:.4f}-{acc['high']:.4f})"
        )
    print(f"wrote {out / 'ladder_fit.json'} and {out / config.plot}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """Dispatch `fit` or `run`."""
    if not argv or argv[0] not in ("fit", "run"):
        raise ConfigError(USAGE)
    if argv[0] == "fit":
        return fit_main(argv[1:])
    return run_main(argv[1:])


def run_main(argv: list[str]) -> int:
    """`dolma ladder run SPEC.yaml [--key value ...]`: train and score the ladder, write POINTS.csv."""
    from dolma_py.config.ladder import LadderRunConfig
    from dolma_py.config.loader import load_config, parse_overrides

    if not argv or argv[0].startswith("--"):
        raise ConfigError(USAGE)
    config = load_config(LadderRunConfig, argv[0], parse_overrides(LadderRunConfig, argv[1:]))
    from dolma_py.train import require_train_extra

    require_train_extra("ladder run")
    from dolma_py.cli.corpus_manifests import manifest_builder
    from dolma_py.mixtures.ladder import run_ladder

    summary = run_ladder(config, manifest_builder(config.corpus))
    print(
        f"next: dolma ladder fit --points {Path(config.work_dir) / 'POINTS.csv'} --target-params N --target-tokens D",
        file=sys.stderr,
    )
    return 0 if summary.ok else 1
