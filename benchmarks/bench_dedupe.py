"""`dolma dedupe` side by side: reference dolma 1.2.1 vs ours, same corpus, flags, filter sizing and process count.

Two modes: exact paragraphs, and paragraph 13-grams with overlap threshold 0.8 (BFF-style).

    python benchmarks/bench_dedupe.py --size-mb 200 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from common import (
    Corpus,
    Measurement,
    append_results,
    ensure_corpus,
    measure,
    ours_command,
    print_ratio,
    print_table,
    require_reference,
)

NAME = "bench_dedupe"
ATTRIBUTE = "bff_duplicate_paragraph_spans"
MODES = {
    "paragraphs": [],
    "ngrams": ["--dedupe.paragraphs.by_ngram.ngram_length", "13",
               "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.8"],
}


def dedupe_command(dolma: Sequence[str], corpus: Corpus, mode: str, processes: int, *, ours: bool,
                   expected_keys: int, fpr: float):
    """A `make_cmd` for `measure`: dolma's dedupe flags; the filter file lives in the run directory."""

    def make(run_dir: Path) -> list[str]:
        read_only = ["--bloom_filter.read_only", "false"] if ours else ["--no-bloom_filter.read_only"]
        return [*dolma, "dedupe", "--documents", corpus.documents_glob(run_dir), "--dedupe.name", NAME,
                "--dedupe.paragraphs.attribute_name", ATTRIBUTE, *MODES[mode],
                "--bloom_filter.file", str(run_dir / "filter.bin"), *read_only,
                "--bloom_filter.estimated_doc_count", str(expected_keys),
                "--bloom_filter.desired_false_positive_rate", str(fpr), "--processes", str(processes)]

    return make


def attributes_check(corpus: Corpus):
    """A `check` for `measure`: one attribute file per documents file, and a saved filter."""

    def check(run_dir: Path) -> None:
        written = list((run_dir / "attributes" / NAME).glob("*/*.jsonl.gz"))
        if len(written) != len(corpus.files) or not (run_dir / "filter.bin").exists():
            raise RuntimeError(f"{run_dir}: {len(written)} attribute files for {len(corpus.files)} documents files")

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=200.0, help="uncompressed text in the corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--expected-keys", type=int, default=50_000_000,
                        help="bloom_filter.estimated_doc_count given to both (13-grams: about one key per word)")
    parser.add_argument("--fpr", type=float, default=0.001, help="bloom_filter.desired_false_positive_rate")
    parser.add_argument("--skip-reference", action="store_true", help="only run ours")
    parser.add_argument("--skip-ours", action="store_true", help="only run the reference")
    parser.add_argument("--results", help="append a JSON line with all numbers to this file")
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    print(f"corpus: {len(corpus.files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text; "
          f"modes {' '.join(args.modes)}; {args.processes} processes; {args.repeats} repeats", flush=True)
    check = attributes_check(corpus)
    for mode in args.modes:
        measurements: list[Measurement] = []
        reference = ours = None
        sizing = {"expected_keys": args.expected_keys, "fpr": args.fpr}
        if not args.skip_reference:
            cmd = dedupe_command([str(require_reference())], corpus, mode, args.processes, ours=False, **sizing)
            reference = measure(f"reference dedupe {mode}", cmd, corpus, repeats=args.repeats, check=check)
            measurements.append(reference)
        if not args.skip_ours:
            cmd = dedupe_command(ours_command(), corpus, mode, args.processes, ours=True, **sizing)
            ours = measure(f"ours dedupe {mode}", cmd, corpus, repeats=args.repeats, check=check)
            measurements.append(ours)
        print_table(measurements)
        ratio = print_ratio(ours, reference) if ours and reference else None
        if args.results:
            params = {"size_mb": args.size_mb, "processes": args.processes, "repeats": args.repeats, "mode": mode,
                      **sizing}
            append_results(args.results, f"dedupe-{mode}", params, measurements, ratio)


if __name__ == "__main__":
    main()
