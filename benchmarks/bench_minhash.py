"""Fuzzy (MinHash-LSH) dedupe side by side: datatrove's four MinHash stages vs our `dolma dedupe` (name: fuzzy).

Both sides get the same planted-duplicate corpus (`minhash_corpus.py`), 5-grams, 14 bands x 8 hashes, seed 1,
64-bit hashes and `--processes` workers (datatrove's `LocalPipelineExecutor(workers=)`, our `processes:`, and
RAYON_NUM_THREADS on both). They take turns, alternating which goes first. Each side runs end to end as one
subprocess whose process tree's memory is sampled (peak RSS and PSS). Afterwards the last run of each side is
scored against the ground truth (`minhash_quality.py`: recall, precision, S-curve) and against the other side
(keep/remove agreement), and the S-curve is plotted.

    python benchmarks/bench_minhash.py --size-mb 30 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
    python benchmarks/bench_minhash.py --skip-reference --skip-ours --scaling-sizes 250 500 1000 --repeats 1 ...
    python benchmarks/bench_minhash.py --ours-hashing datatrove   # ours with datatrove's exact signatures
    python benchmarks/bench_minhash.py --skip-reference --ours-verify exact   # ours, pairs verified by exact Jaccard

`--scaling-sizes` runs ours alone on generated corpora of those sizes (no ground truth; each deleted after its
run) to show docs/s and peak memory against size; it never runs unless asked.

What each side writes: datatrove's last stage writes the kept documents (jsonl.gz); ours writes the attribute
files (`attributes/fuzzy/`), which `dolma mix` then filters on (not timed here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import minhash_corpus
import minhash_quality
import orjson
from common import (
    BENCH_DIR,
    REPO_ROOT,
    Corpus,
    Measurement,
    append_results,
    attributes_check,
    bench_parser,
    measure,
    measure_interleaved,
    ours_command,
    print_ratio,
    print_table,
)

from dolma_py.io.documents import iter_lines

EXPERIMENT = "fuzzy"
ATTRIBUTE = "minhash_duplicate"
CLUSTER_KEY = f"{ATTRIBUTE}_cluster_id"
"""Where our engine writes a clustered document's cluster id (the cluster's smallest doc key)."""
PLOT = REPO_ROOT / "benchmarks" / "plots" / "minhash_scurve.png"
DATATROVE_SCRIPT = REPO_ROOT / "benchmarks" / "minhash_datatrove.py"


def ours_cmd(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """`dolma -c cfg.yaml dedupe` with the issue's fuzzy config (and `minhash.hashing`, and verification when
    asked), written into the run directory."""
    minhash = {"attribute_name": ATTRIBUTE, "ngram_length": 5, "num_bands": 14, "band_size": 8, "seed": 1,
               "hashing": args.ours_hashing}
    if args.ours_verify != "none":
        minhash.update(jaccard_threshold=args.ours_jaccard_threshold, jaccard=args.ours_verify)
    config = {
        "documents": [str(run_dir / "documents" / minhash_corpus.SOURCE / "*.jsonl.gz")],
        "dedupe": {"name": EXPERIMENT, "minhash": minhash},
        "processes": args.processes,
    }
    path = run_dir / "cfg.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return [*ours_command(), "-c", str(path), "dedupe"]


def reference_cmd(processes: int, tokenizer: str, run_dir: Path) -> list[str]:
    """datatrove's Signature -> Buckets -> Cluster -> Filter on the run's documents."""
    return [sys.executable, str(DATATROVE_SCRIPT), str(run_dir / "documents" / minhash_corpus.SOURCE),
            str(run_dir / "datatrove"), "--workers", str(processes), "--tokenizer", tokenizer]


def as_corpus(c: minhash_corpus.MinhashCorpus) -> Corpus:
    return Corpus(c.root, c.files, c.docs, c.text_bytes)


def evaluate(corpus: minhash_corpus.MinhashCorpus, sides: dict[str, Measurement],
             plot: Path) -> dict[str, object]:
    """Quality of each side's last run, their agreement and the S-curves (plotted to `plot`)."""
    ids, texts, lines = minhash_quality.read_documents(corpus.files)
    evaluator = minhash_quality.Evaluator(ids, texts, minhash_corpus.read_truth(corpus.truth_path))
    decisions: dict[str, minhash_quality.Decisions] = {}
    for side, m in sides.items():
        run_dir = m.last_run_dir
        if side == "reference":
            decisions["datatrove"] = minhash_quality.datatrove_decisions(run_dir / "datatrove" / "remove_ids", lines)
        else:
            files = sorted(str(p) for p in (run_dir / "attributes" / EXPERIMENT / minhash_corpus.SOURCE)
                           .glob("*.jsonl.gz"))
            decisions["ours"] = minhash_quality.attribute_decisions(files, ATTRIBUTE, CLUSTER_KEY)
    out: dict[str, object] = {}
    curves = {}
    for name, d in decisions.items():
        quality = evaluator.quality(d)
        rows = evaluator.scurve(d)
        quality["scurve_max_deviation"] = round(minhash_quality.scurve_deviation(rows), 4)
        quality["scurve"] = [[r["lo"], r["pairs"], r["detected"], round(r["theory_sum"], 2)] for r in rows]
        out[name] = quality
        curves[name] = rows
        print(f"  {name}: " + json.dumps({k: v for k, v in quality.items() if k != "scurve"}), flush=True)
    if len(decisions) == 2:
        out["agreement"] = round(minhash_quality.agreement(decisions["datatrove"], decisions["ours"]), 5)
        out["disagreement"] = minhash_quality.disagreement(evaluator, decisions["datatrove"], decisions["ours"])
        print(f"  keep/remove agreement: {out['agreement']:.4%}; {json.dumps(out['disagreement'])}", flush=True)
    minhash_quality.plot_scurve(curves, plot)
    print(f"  S-curve plot: {plot}", flush=True)
    return out


def _totals(files: Sequence[str]) -> tuple[int, int]:
    """(documents, UTF-8 text bytes) of `files`."""
    docs = text_bytes = 0
    for path in files:
        for _, line in iter_lines(path):
            docs += 1
            text_bytes += len(orjson.loads(line)["text"].encode())
    return docs, text_bytes


def scaling(args: argparse.Namespace, sizes: Sequence[float]) -> None:
    """Ours alone on the first files of one generated corpus of the largest of `sizes` MB (no ground truth), as
    many whole files as make each size; the corpus is deleted afterwards."""
    root = BENCH_DIR / "minhash" / f"scaling-{max(sizes):g}mb-seed{args.seed}"
    full = minhash_corpus.ensure_corpus(root, max(sizes), seed=args.seed, processes=args.processes, truth=False)
    per_file = full.text_bytes / len(full.files)
    for size in sorted(sizes):
        k = min(len(full.files), max(1, round(size * 1e6 / per_file)))
        subset = BENCH_DIR / "minhash" / f"scaling-subset-{size:g}mb"
        shutil.rmtree(subset, ignore_errors=True)
        (subset / "documents" / minhash_corpus.SOURCE).mkdir(parents=True)
        for path in full.files[:k]:
            (subset / "documents" / minhash_corpus.SOURCE / Path(path).name).symlink_to(path)
        corpus = Corpus(subset, [str(subset / "documents" / minhash_corpus.SOURCE / Path(p).name)
                                 for p in full.files[:k]], *_totals(full.files[:k]))
        print(f"scaling: {k} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.0f} MB", flush=True)
        m = measure(f"ours minhash {size:g}mb", lambda d: ours_cmd(args, d), corpus,
                    repeats=args.repeats, check=attributes_check(corpus, EXPERIMENT))
        print_table([m])
        append_results(argparse.Namespace(**{**vars(args), "size_mb": size}), "minhash-scaling", [m], None,
                       corpus_mb=round(corpus.text_bytes / 1e6, 1), ours_hashing=args.ours_hashing,
                       files=k, seed=args.seed, rayon_num_threads=args.processes)
        shutil.rmtree(m.last_run_dir.parent, ignore_errors=True)
        shutil.rmtree(subset, ignore_errors=True)
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = bench_parser(__doc__, size_mb=30.0)
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--datatrove-tokenizer", choices=("whitespace", "spacy"), default="whitespace",
                        help="datatrove's word splitter (see minhash_datatrove.py); whitespace = same shingles")
    parser.add_argument("--ours-hashing", choices=("xxh3", "datatrove"), default="xxh3",
                        help="our dedupe.minhash.hashing: xxh3 (default) or datatrove (its signatures exactly)")
    parser.add_argument("--ours-verify", choices=("none", "estimated", "exact"), default="none",
                        help="our dedupe.minhash.jaccard (verification of candidate pairs), none by default")
    parser.add_argument("--ours-jaccard-threshold", type=float, default=0.8,
                        help="our dedupe.minhash.jaccard_threshold when --ours-verify is given")
    parser.add_argument("--scaling-sizes", type=float, nargs="*", default=[],
                        help="also run ours alone on corpora of these sizes (MB), e.g. 250 500 1000")
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.processes)

    if not (args.skip_reference and args.skip_ours):
        corpus = minhash_corpus.ensure_corpus(BENCH_DIR / "minhash" / f"{args.size_mb:g}mb-seed{args.seed}",
                                              args.size_mb, seed=args.seed, processes=args.processes)
        print(f"corpus: {len(corpus.files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text, "
              f"{corpus.pairs} planted pairs; {args.processes} processes; {args.repeats} repeats; datatrove "
              f"tokenizer {args.datatrove_tokenizer}", flush=True)
        commands = {}
        if not args.skip_reference:
            commands["reference minhash"] = lambda d: reference_cmd(args.processes, args.datatrove_tokenizer, d)
        if not args.skip_ours:
            commands["ours minhash"] = lambda d: ours_cmd(args, d)
        measured = measure_interleaved(commands, as_corpus(corpus), repeats=args.repeats)
        sides = {name.split()[0]: m for name, m in measured.items()}
        print_table(list(sides.values()))
        ratio = print_ratio(sides)
        quality = evaluate(corpus, sides, args.plot)
        append_results(args, "minhash", list(sides.values()), ratio, seed=args.seed, planted_pairs=corpus.pairs,
                       datatrove_tokenizer=args.datatrove_tokenizer, ours_hashing=args.ours_hashing,
                       ours_verify=args.ours_verify, ours_jaccard_threshold=args.ours_jaccard_threshold,
                       rayon_num_threads=args.processes,
                       **quality)
    if args.scaling_sizes:
        scaling(args, args.scaling_sizes)


if __name__ == "__main__":
    main()
