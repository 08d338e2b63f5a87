"""`dolma tokens` side by side: reference dolma 1.2.1 vs ours, same corpus, tokenizer and process count.

    python benchmarks/bench_tokens.py --size-mb 100 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]

The tokenizer is a byte-level BPE trained once on the corpus (cached under .bench/tokenizers/) and saved in the
legacy merges format that dolma's tokenizers 0.19 reads. After timing, both outputs are checked to hold the same
documents with the same token ids (dolma's order differs run to run; ours is fixed).
"""

from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

import numpy as np
import orjson
from common import (
    BENCH_DIR,
    Corpus,
    append_results,
    bench_parser,
    dolma_command,
    ensure_corpus,
    measure_sides,
    print_ratio,
    print_setup,
    print_table,
)

from dolma_py.io.documents import iter_lines, open_read

EOS, PAD = 0, 1
SHARD_TOKENS = 50_000_000


def ensure_tokenizer(corpus: Corpus, vocab_size: int) -> Path:
    """Train (once) a GPT-2-style byte-level BPE on the corpus's first files."""
    from dolma_py.tokens.train_tokenizer import train_byte_level_bpe

    path = BENCH_DIR / "tokenizers" / f"{corpus.root.name}-bpe{vocab_size}.json"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [orjson.loads(line)["text"] for p in corpus.files[:20] for _, line in iter_lines(p)]
    tok = train_byte_level_bpe(texts, vocab_size)
    config = json.loads(tok.to_str())
    config["model"]["merges"] = [" ".join(pair) for pair in config["model"]["merges"]]  # tokenizers 0.19 format
    path.write_text(json.dumps(config))
    return path


def tokens_command(corpus: Corpus, tokenizer: Path, processes: int, ours: bool, run_dir: Path) -> list[str]:
    """dolma's `tokens` flags; equal shard sizes (dolma reads `max_size` as tokens, we read it as bytes)."""
    cmd = [
        *dolma_command(ours),
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


def read_documents(tokens_dir: Path) -> dict[str, bytes]:
    """Document id -> its token ids (as bytes), from every shard's `.csv.gz` index."""
    docs = {}
    for index_path in sorted(tokens_dir.glob("*.csv.gz")):
        ids = np.memmap(index_path.with_name(index_path.name[: -len(".csv.gz")] + ".npy"), dtype="<u2", mode="r")
        with open_read(str(index_path)) as raw:
            for start, end, doc_id, *_ in csv.reader(io.TextIOWrapper(raw, encoding="utf-8", newline="")):
                docs[doc_id] = ids[int(start) : int(end)].tobytes()
    return docs


def count_tokens(tokens_dir: Path) -> int:
    return sum(p.stat().st_size for p in tokens_dir.glob("*.npy")) // 2


def main() -> None:
    parser = bench_parser(__doc__, size_mb=100.0)
    parser.add_argument("--vocab-size", type=int, default=32_000)
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    tokenizer = ensure_tokenizer(corpus, args.vocab_size)
    print_setup(corpus, args, f"tokenizer {tokenizer.name}")
    sides = measure_sides("tokens", partial(tokens_command, corpus, tokenizer, args.processes), corpus, args)
    print_table(list(sides.values()))
    extra = {}
    for name, m in sides.items():
        tokens = count_tokens(m.last_run_dir / "tokens")
        extra[f"{name}_tokens_per_s"] = round(tokens / m.median_wall_s)
        print(f"{name}: {tokens:,} tokens, {tokens / m.median_wall_s:,.0f} tokens/s")
    ratio = print_ratio(sides)
    if ratio is not None:
        same = read_documents(sides["ours"].last_run_dir / "tokens") == read_documents(
            sides["reference"].last_run_dir / "tokens"
        )
        print(f"same documents and token ids as dolma: {same}")
        extra["same_output_as_reference"] = same
        if not same:
            raise SystemExit("outputs differ from the reference")
    append_results(args, "tokens", list(sides.values()), ratio, vocab_size=args.vocab_size, **extra)


if __name__ == "__main__":
    main()
