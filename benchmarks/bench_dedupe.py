"""`dolma dedupe` side by side: reference dolma 1.2.1 vs ours, same corpus, flags, filter sizing and process count.

Two modes: exact paragraphs, and paragraph 13-grams with overlap threshold 0.8 (BFF-style).

    python benchmarks/bench_dedupe.py --size-mb 200 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]

Both sides run with RAYON_NUM_THREADS set to `--processes`.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from common import (
    Corpus,
    append_results,
    attributes_check,
    bench_parser,
    dolma_command,
    ensure_corpus,
    measure_sides,
    print_ratio,
    print_setup,
    print_table,
)

NAME = "bench_dedupe"
ATTRIBUTE = "bff_duplicate_paragraph_spans"
MODES = {
    "paragraphs": [],
    "ngrams": ["--dedupe.paragraphs.by_ngram.ngram_length", "13",
               "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.8"],
}


def dedupe_command(corpus: Corpus, mode: str, processes: int, expected_keys: int, fpr: float, ours: bool,
                   run_dir: Path) -> list[str]:
    """dolma's dedupe flags; the filter file lives in the run directory."""
    read_only = ["--bloom_filter.read_only", "false"] if ours else ["--no-bloom_filter.read_only"]
    return [*dolma_command(ours), "dedupe", "--documents", corpus.documents_glob(run_dir), "--dedupe.name", NAME,
            "--dedupe.paragraphs.attribute_name", ATTRIBUTE, *MODES[mode],
            "--bloom_filter.file", str(run_dir / "filter.bin"), *read_only,
            "--bloom_filter.estimated_doc_count", str(expected_keys),
            "--bloom_filter.desired_false_positive_rate", str(fpr), "--processes", str(processes)]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--expected-keys", type=int, default=50_000_000,
                        help="bloom_filter.estimated_doc_count given to both (13-grams: about one key per word)")
    parser.add_argument("--fpr", type=float, default=0.001, help="bloom_filter.desired_false_positive_rate")
    args = parser.parse_args()
    os.environ["RAYON_NUM_THREADS"] = str(args.processes)  # both sides: as many Rust threads as processes

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    print_setup(corpus, args, f"modes {' '.join(args.modes)}; RAYON_NUM_THREADS={args.processes}")
    check = attributes_check(corpus, NAME, "filter.bin")
    for mode in args.modes:
        make_cmd = partial(dedupe_command, corpus, mode, args.processes, args.expected_keys, args.fpr)
        sides = measure_sides(f"dedupe {mode}", make_cmd, corpus, args, check=check)
        print_table(list(sides.values()))
        append_results(args, f"dedupe-{mode}", list(sides.values()), print_ratio(sides), mode=mode,
                       expected_keys=args.expected_keys, fpr=args.fpr)


if __name__ == "__main__":
    main()
