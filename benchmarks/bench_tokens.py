"""`dolma tokens` side by side: reference dolma 1.2.1 vs ours, same corpus, tokenizer and process count.

    python benchmarks/bench_tokens.py --size-mb 100 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]

The tokenizer is a byte-level BPE trained once on the corpus (cached under .bench/tokenizers/) and saved in the
legacy merges format that dolma's tokenizers 0.19 reads. After timing, both outputs are checked to hold the same
documents with the same token ids (dolma's order differs run to run; ours is fixed).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
from common import (
    BENCH_DIR,
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

EOS, PAD = 0, 1
SHARD_TOKENS = 50_000_000


def ensure_tokenizer(corpus: Corpus, vocab_size: int) -> Path:
    """Train (once) a GPT-2-style byte-level BPE on the corpus's first files."""
    from dolma_py.tokens.train_tokenizer import train_byte_level_bpe

    path = BENCH_DIR / "tokenizers" / f"{corpus.root.name}-bpe{vocab_size}.json"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [orjson.loads(line)["text"] for p in corpus.files[:20] for line in gzip.open(p, "rb")]
    tok = train_byte_level_bpe(texts, vocab_size)
    config = json.loads(tok.to_str())
    config["model"]["merges"] = [" ".join(pair) for pair in config["model"]["merges"]]  # tokenizers 0.19 format
    path.write_text(json.dumps(config))
    return path


def tokens_command(dolma: Sequence[str], corpus: Corpus, tokenizer: Path, processes: int, ours: bool):
    """A `make_cmd` for `measure`; equal shard sizes (dolma reads `max_size` as tokens, we read it as bytes)."""

    def make(run_dir: Path) -> list[str]:
        cmd = [
            *dolma,
            "tokens",
            "--documents",
            corpus.documents_glob(run_dir),
            "--destination",
            str(run_dir / "tokens"),
            "--tokenizer.name_or_path",
            str(tokenizer),
            "--tokenizer.eos_token_id",
            str(EOS),
            "--tokenizer.pad_token_id",
            str(PAD),
            "--processes",
            str(processes),
            "--dtype",
            "uint16",
            "--max_size",
            str(SHARD_TOKENS * 2 if ours else SHARD_TOKENS),
        ]
        if ours:
            cmd += ["--work_dir.output", str(run_dir / "work")]
        return cmd

    return make


def read_documents(tokens_dir: Path) -> dict[str, bytes]:
    """Document id -> its token ids (as bytes), from every shard's `.csv.gz` index."""
    docs = {}
    for index_path in sorted(tokens_dir.glob("*.csv.gz")):
        ids = np.memmap(index_path.with_name(index_path.name[: -len(".csv.gz")] + ".npy"), dtype="<u2", mode="r")
        with gzip.open(index_path, "rb") as raw:
            for start, end, doc_id, *_ in csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline="")):
                docs[doc_id] = ids[int(start) : int(end)].tobytes()
    return docs


def count_tokens(tokens_dir: Path) -> int:
    return sum(p.stat().st_size for p in tokens_dir.glob("*.npy")) // 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=100.0, help="uncompressed text in the corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--vocab-size", type=int, default=32_000)
    parser.add_argument("--skip-reference", action="store_true", help="only run ours")
    parser.add_argument("--skip-ours", action="store_true", help="only run the reference")
    parser.add_argument("--results", help="append a JSON line with all numbers to this file")
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    tokenizer = ensure_tokenizer(corpus, args.vocab_size)
    print(
        f"corpus: {len(corpus.files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text; "
        f"tokenizer {tokenizer.name}; {args.processes} processes; {args.repeats} repeats",
        flush=True,
    )
    measurements: list[Measurement] = []
    runs: dict[str, tuple[Measurement, Path]] = {}
    for name, ours in (("reference", False), ("ours", True)):
        if (ours and args.skip_ours) or (not ours and args.skip_reference):
            continue
        command = ours_command() if ours else [str(require_reference())]
        m = measure(
            f"{name} tokens",
            tokens_command(command, corpus, tokenizer, args.processes, ours),
            corpus,
            repeats=args.repeats,
        )
        last = BENCH_DIR / "runs" / f"{name}_tokens" / f"r{args.repeats - 1}" / "tokens"
        measurements.append(m)
        runs[name] = (m, last)
    print_table(measurements)
    extra = {}
    for name, (m, last) in runs.items():
        tokens = count_tokens(last)
        extra[f"{name}_tokens_per_s"] = round(tokens / m.median_wall_s)
        print(f"{name}: {tokens:,} tokens, {tokens / m.median_wall_s:,.0f} tokens/s")
    ratio = None
    if len(runs) == 2:
        ratio = print_ratio(runs["ours"][0], runs["reference"][0])
        same = read_documents(runs["ours"][1]) == read_documents(runs["reference"][1])
        print(f"same documents and token ids as dolma: {same}")
        extra["same_output_as_reference"] = same
        if not same:
            raise SystemExit("outputs differ from the reference")
    if args.results:
        params = {
            "size_mb": args.size_mb,
            "processes": args.processes,
            "repeats": args.repeats,
            "vocab_size": args.vocab_size,
            **extra,
        }
        append_results(args.results, "tokens", params, measurements, ratio)


if __name__ == "__main__":
    main()
