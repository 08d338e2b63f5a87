"""Our `dolma dedupe` attributes against dolma 1.2.1's, on the benchmark corpus, line by line.

dolma runs with one process (with more, the occurrence it keeps depends on thread timing; docs/dedupe.md), ours with
`--processes`. Every line must name the same document and carry the same spans and scores, except where dolma's span
of a document's last paragraph ends past the text (its code-point offset compared with a byte length; the
documented difference in docs/compatibility.md). Exits 1 on any other difference.

    python benchmarks/compare_dedupe.py --size-mb 100 --processes 2
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from functools import partial
from pathlib import Path

from bench_dedupe import ATTRIBUTE, MODES, NAME, dedupe_command
from common import Corpus, ensure_corpus, measure


def attribute_spans(run_dir: Path, relative: str) -> list[tuple[str, list[list[float]]]]:
    """(id, spans) per line of one attribute file of a run."""
    with gzip.open(run_dir / "attributes" / NAME / relative, "rt") as lines:
        return [(row["id"], row["attributes"].get(ATTRIBUTE) or []) for row in map(json.loads, lines)]


def ends_past_text(ours: list[list[float]], theirs: list[list[float]], length: int) -> bool:
    """The same spans but for the last one's end: the text's end in ours, past it in dolma's."""
    return (len(ours) == len(theirs) > 0 and ours[:-1] == theirs[:-1] and ours[-1][0::2] == theirs[-1][0::2]
            and ours[-1][1] == length < theirs[-1][1])


def compare(corpus: Corpus, ours: Path, reference: Path) -> dict[str, int]:
    """Counts of lines, spans, dolma's last-paragraph ends past the text, and other differences (printed)."""
    counts = dict(lines=0, spans=0, ends_past_text=0, other=0)
    for path in corpus.files:
        relative = os.path.relpath(path, corpus.root / "documents")
        with gzip.open(path, "rt") as docs:
            texts = [json.loads(line)["text"] for line in docs]
        mine, theirs = attribute_spans(ours, relative), attribute_spans(reference, relative)
        for line, (text, (id_a, a), (id_b, b)) in enumerate(zip(texts, mine, theirs, strict=True), 1):
            counts["lines"] += 1
            counts["spans"] += len(a)
            if id_a == id_b and a == b:
                continue
            if id_a == id_b and ends_past_text(a, b, len(text)):
                counts["ends_past_text"] += 1
                continue
            counts["other"] += 1
            if counts["other"] <= 5:
                print(f"  differs: {relative} line {line}: ours {id_a} {a[:4]}, dolma {id_b} {b[:4]}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--processes", type=int, default=2, help="ours; dolma always runs with one")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    args = parser.parse_args()
    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    failed = False
    for mode in args.modes:
        runs = {}
        for side, ours, processes in (("reference", False, 1), ("ours", True, args.processes)):
            os.environ["RAYON_NUM_THREADS"] = str(processes)
            make_cmd = partial(dedupe_command, corpus, mode, processes, 50_000_000, 0.001, ours)
            runs[side] = measure(f"compare {side} {mode}", make_cmd, corpus, repeats=1).last_run_dir
        counts = compare(corpus, runs["ours"], runs["reference"])
        print(f"{mode}: {counts['lines']:,} lines, {counts['spans']:,} of our spans; {counts['ends_past_text']:,} "
              f"lines differ only where dolma's last span ends past the text; {counts['other']:,} other differences")
        failed |= counts["other"] > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
