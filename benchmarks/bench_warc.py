"""`dolma warc` side by side: reference dolma 1.2.1 vs ours, same generated WARC corpus, config and process count.

The corpus (dolma_py.warc.sample, cached under .bench/corpus/warc-<size>mb) is Common Crawl-like: request,
response and metadata records per fetch; HTML in several templates (navigation, scripts, tables, lists) with
charsets declared in the header (50%), a meta tag (30%) or nowhere (20%), UTF-8 on 85% of pages; binaries,
redirects, 404s, revisits and a few chunked bodies. After the runs, the two sides' documents are compared: the
same ids in the same order, every field but `added` and `text` equal, and the share of documents whose text is
equal (chunked bodies differ on purpose) is recorded.

Malformed records are not in the timed corpus, because dolma 1.2.1 fails the whole run on one (an
AttributeError in `WarcRecordInfo`). Instead, both sides run once on two extra files, one WARC with a malformed
record and one truncated `.warc.gz`, and what each did (exit code, files written, documents) is recorded.

    python benchmarks/bench_warc.py --size-mb 50 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from functools import partial
from pathlib import Path

from common import (
    BENCH_DIR,
    Corpus,
    append_results,
    bench_parser,
    dolma_command,
    measure_sides,
    print_ratio,
    print_setup,
    print_table,
)

from dolma_py.io.atomic import atomic_dir
from dolma_py.warc.sample import write_warc

RESPONSES_PER_FILE = 750
DOCUMENT_KINDS = ("html", "redirect", "not_found")
"""Sample kinds that give a document (binaries, revisits and malformed records do not)."""


def ensure_warc_corpus(size_mb: float) -> Corpus:
    """Generate (once) WARC files holding at least `size_mb` MB of uncompressed records."""
    root = BENCH_DIR / "corpus" / f"warc-{size_mb:g}mb"
    meta_path = root / "corpus.json"
    if not meta_path.exists():
        with atomic_dir(root) as staging:
            files, records_bytes, docs, index = [], 0, 0, 0
            while records_bytes < size_mb * 1e6:
                path = staging / "documents" / f"CC-SAMPLE-{index:05d}.warc.gz"
                counts = write_warc(str(path), seed=100 + index, responses=RESPONSES_PER_FILE)
                records_bytes += len(gzip.decompress(path.read_bytes()))
                docs += sum(counts[kind] for kind in DOCUMENT_KINDS)
                files.append(path.name)
                index += 1
            meta = {"files": files, "docs": docs, "records_bytes": records_bytes}
            (staging / "corpus.json").write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    return Corpus(root, [str(root / "documents" / name) for name in meta["files"]], meta["docs"], meta["records_bytes"])


def warc_command(processes: int, ours: bool, run_dir: Path) -> list[str]:
    """dolma's `warc` flags, reading the run directory's `documents` link."""
    return [
        *dolma_command(ours),
        "warc",
        "--documents",
        str(run_dir / "documents" / "*.warc.gz"),
        "--destination",
        str(run_dir / "out"),
        "--source_name",
        "cc",
        "--processes",
        str(processes),
    ]


def _outputs(run_dir: Path) -> dict[str, list[dict]]:
    return {
        path.name: [json.loads(line) for line in gzip.open(path)] for path in sorted((run_dir / "out").glob("*.gz"))
    }


def compare(reference: Path, ours: Path) -> dict[str, float]:
    """Every document dolma wrote must be ours too (same id, same order); counts of those whose fields other than
    `added` and `text` differ, the share whose text is equal, and the documents only ours wrote (chunked bodies
    whose raw chunks are undecodable, which dolma drops)."""
    theirs, mine = _outputs(reference), _outputs(ours)
    if sorted(theirs) != sorted(mine):
        raise RuntimeError(f"output files differ: {sorted(theirs)} vs {sorted(mine)}")
    compared = same_text = other_fields_differ = only_ours = 0
    for name, docs in theirs.items():
        by_id = {doc["id"]: doc for doc in mine[name]}
        if [d["id"] for d in docs] != [d["id"] for d in mine[name] if d["id"] in {r["id"] for r in docs}]:
            raise RuntimeError(f"{name}: dolma's documents are not all ours, in the same order")
        only_ours += len(mine[name]) - len(docs)
        for ref in docs:
            doc = by_id[ref["id"]]
            compared += 1
            same_text += ref["text"] == doc["text"]
            skip = ("added", "text")
            other_fields_differ += {k: v for k, v in ref.items() if k not in skip} != {
                k: v for k, v in doc.items() if k not in skip
            }
    return {
        "docs_compared": compared,
        "text_match": round(same_text / compared, 5),
        "docs_with_other_fields_differing": other_fields_differ,
        "docs_only_ours": only_ours,
    }


def robustness(processes: int) -> dict[str, dict]:
    """Each side once on a WARC with a malformed record beside a truncated `.warc.gz`: what it did."""
    root = BENCH_DIR / "runs" / "warc_robustness"
    shutil.rmtree(root, ignore_errors=True)
    write_warc(str(root / "documents" / "malformed.warc.gz"), seed=7, responses=50, malformed=1)
    write_warc(str(root / "documents" / "truncated.warc.gz"), seed=8, responses=50)
    truncated = root / "documents" / "truncated.warc.gz"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    outcome = {}
    for side, ours in (("reference", False), ("ours", True)):
        run_dir = root / side
        run_dir.mkdir(parents=True)
        (run_dir / "documents").symlink_to(root / "documents", target_is_directory=True)
        done = subprocess.run(warc_command(processes, ours, run_dir), cwd=run_dir, capture_output=True, text=True)
        written = sorted((run_dir / "out").glob("*.jsonl.gz")) if (run_dir / "out").exists() else []
        docs = sum(1 for path in written for _ in gzip.open(path))
        last = [line for line in done.stderr.splitlines() if "Error" in line or "failed" in line][-1:]
        outcome[side] = {
            "returncode": done.returncode,
            "files_written": [p.name for p in written],
            "documents": docs,
            "error": last[0][:300] if last else None,
        }
        print(f"robustness {side}: {outcome[side]}")
    return outcome


def main() -> None:
    parser = bench_parser(__doc__, size_mb=50.0)
    args = parser.parse_args()
    corpus = ensure_warc_corpus(args.size_mb)
    print_setup(corpus, args, "dolma warc, resiliparse, no taggers")

    def check(run_dir: Path) -> None:
        written = list((run_dir / "out").glob("*.jsonl.gz"))
        if len(written) != len(corpus.files):
            raise RuntimeError(f"{run_dir}: {len(written)} outputs for {len(corpus.files)} WARC files")

    sides = measure_sides("warc", partial(warc_command, args.processes), corpus, args, check=check)
    measurements = list(sides.values())
    print_table(measurements)
    agreement = {}
    if len(sides) == 2:
        agreement = compare(sides["reference"].last_run_dir, sides["ours"].last_run_dir)
        print(f"agreement: {agreement}")
    ratio = print_ratio(sides)
    outcome = robustness(args.processes) if len(sides) == 2 else {}
    append_results(
        args,
        "warc",
        measurements,
        ratio,
        records_mb=round(corpus.text_bytes / 1e6, 1),
        files=len(corpus.files),
        **agreement,
        robustness=outcome,
    )


if __name__ == "__main__":
    main()
