"""`dolma tag` side by side: reference dolma 1.2.1 vs ours, same corpus, taggers and process count.

    python benchmarks/bench_tag.py --size-mb 200 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from common import (
    Corpus,
    append_results,
    attributes_check,
    bench_parser,
    dolma_command,
    ensure_corpus,
    measure,
    measure_sides,
    print_ratio,
    print_setup,
    print_table,
)

DEFAULT_TAGGERS = ("c4_v2", "gopher_v1", "pii_regex_v2", "char_length_v1")
EXPERIMENT = "bench"


def tag_command(corpus: Corpus, taggers: Sequence[str], processes: int, ours: bool, run_dir: Path) -> list[str]:
    """dolma's `tag` flags, reading the run directory's `documents` link."""
    return [*dolma_command(ours), "tag", "--documents", corpus.documents_glob(run_dir), "--experiment", EXPERIMENT,
            "--taggers", *taggers, "--processes", str(processes)]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--taggers", nargs="+", default=list(DEFAULT_TAGGERS))
    parser.add_argument("--no-per-tagger", action="store_true", help="skip our one-run-per-tagger breakdown")
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    print_setup(corpus, args, f"taggers {' '.join(args.taggers)}")
    check = attributes_check(corpus, EXPERIMENT)
    sides = measure_sides("tag", partial(tag_command, corpus, args.taggers, args.processes), corpus, args, check=check)
    measurements = list(sides.values())
    if "ours" in sides and not args.no_per_tagger:
        for tagger in args.taggers:
            make_cmd = partial(tag_command, corpus, [tagger], args.processes, True)
            measurements.append(measure(f"ours tag {tagger}", make_cmd, corpus, repeats=1, check=check))
    print_table(measurements)
    append_results(args, "tag", measurements, print_ratio(sides), taggers=args.taggers)


if __name__ == "__main__":
    main()
