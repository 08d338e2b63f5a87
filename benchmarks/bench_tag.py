"""`dolma tag` side by side: reference dolma 1.2.1 vs ours, same corpus, taggers and process count.

    python benchmarks/bench_tag.py --size-mb 200 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
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

DEFAULT_TAGGERS = ("c4_v2", "gopher_v1", "pii_regex_v2", "char_length_v1")
EXPERIMENT = "bench"


def tag_command(dolma: Sequence[str], corpus: Corpus, taggers: Sequence[str], processes: int):
    """A `make_cmd` for `measure`: dolma's `tag` flags, reading the run directory's `documents` link."""

    def make(run_dir: Path) -> list[str]:
        return [*dolma, "tag", "--documents", corpus.documents_glob(run_dir), "--experiment", EXPERIMENT,
                "--taggers", *taggers, "--processes", str(processes)]

    return make


def attributes_check(corpus: Corpus):
    """A `check` for `measure`: one attribute file per documents file."""

    def check(run_dir: Path) -> None:
        written = list((run_dir / "attributes" / EXPERIMENT).glob("*/*.jsonl.gz"))
        if len(written) != len(corpus.files):
            raise RuntimeError(f"{run_dir}: {len(written)} attribute files for {len(corpus.files)} documents files")

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=200.0, help="uncompressed text in the corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--taggers", nargs="+", default=list(DEFAULT_TAGGERS))
    parser.add_argument("--skip-reference", action="store_true", help="only run ours")
    parser.add_argument("--skip-ours", action="store_true", help="only run the reference")
    parser.add_argument("--no-per-tagger", action="store_true", help="skip our one-run-per-tagger breakdown")
    parser.add_argument("--results", help="append a JSON line with all numbers to this file")
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    print(f"corpus: {len(corpus.files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text; "
          f"taggers {' '.join(args.taggers)}; {args.processes} processes; {args.repeats} repeats", flush=True)
    check = attributes_check(corpus)
    measurements: list[Measurement] = []
    reference = ours = None
    if not args.skip_reference:
        dolma = [str(require_reference())]
        reference = measure("reference tag", tag_command(dolma, corpus, args.taggers, args.processes), corpus,
                            repeats=args.repeats, check=check)
        measurements.append(reference)
    if not args.skip_ours:
        ours = measure("ours tag", tag_command(ours_command(), corpus, args.taggers, args.processes), corpus,
                       repeats=args.repeats, check=check)
        measurements.append(ours)
        if not args.no_per_tagger:
            for tagger in args.taggers:
                measurements.append(measure(f"ours tag {tagger}", tag_command(ours_command(), corpus, [tagger],
                                                                               args.processes),
                                            corpus, repeats=1, check=check))
    print_table(measurements)
    ratio = print_ratio(ours, reference) if ours and reference else None
    if args.results:
        params = {"size_mb": args.size_mb, "processes": args.processes, "repeats": args.repeats,
                  "taggers": args.taggers}
        append_results(args.results, "tag", params, measurements, ratio)


if __name__ == "__main__":
    main()
