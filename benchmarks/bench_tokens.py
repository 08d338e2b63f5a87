"""`dolma tokens` side by side: reference dolma 1.2.1 vs ours, same corpus, tokenizer, processes and threads.

    python benchmarks/bench_tokens.py --size-mb 25 --shape neox --processes 2 --repeats 3 [--results FILE]

The tokenizer is a byte-level BPE of the chosen shape (`train_shaped_bpe`: gpt2, neox = GPT-NeoX-20B / OLMo 1,
cl100k = dolma2, llama3) trained once on the corpus (cached under .bench/tokenizers/) and saved in the legacy merges
format that dolma's tokenizers 0.19 reads. Both sides get RAYON_NUM_THREADS = our per-process tokens thread count
(cpus // processes). After timing, both outputs are checked to hold the same documents with the same token ids
(dolma's order differs run to run; ours is fixed), and ours is checked against HF `tokenizers` on every document.
"""

from __future__ import annotations

import csv
import io
import json
import os
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

SHARD_TOKENS = 50_000_000


def ensure_tokenizer(corpus: Corpus, vocab_size: int, shape: str) -> Path:
    """Train (once) a byte-level BPE of `shape` on the corpus's first files."""
    from dolma_py.tokens.train_tokenizer import train_shaped_bpe

    suffix = "" if shape == "gpt2" else f"-{shape}"
    path = BENCH_DIR / "tokenizers" / f"{corpus.root.name}-bpe{vocab_size}{suffix}.json"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    texts = [orjson.loads(line)["text"] for p in corpus.files[:20] for _, line in iter_lines(p)]
    tok = train_shaped_bpe(texts, vocab_size, shape)
    config = json.loads(tok.to_str())
    config["model"]["merges"] = [" ".join(pair) for pair in config["model"]["merges"]]  # tokenizers 0.19 format
    path.write_text(json.dumps(config))
    return path


def special_ids(tokenizer: Path) -> tuple[int, int]:
    """EOS (`<|endoftext|>`) and a PAD id (the next added token) of a `train_shaped_bpe` tokenizer."""
    added = json.loads(tokenizer.read_text())["added_tokens"]
    eos = next(t["id"] for t in added if t["content"] == "<|endoftext|>")
    return eos, min(t["id"] for t in added if t["id"] != eos)


def tokens_command(corpus: Corpus, tokenizer: Path, processes: int, ours: bool, run_dir: Path) -> list[str]:
    """dolma's `tokens` flags; equal shard sizes (dolma reads `max_size` as tokens, we read it as bytes)."""
    eos, pad = special_ids(tokenizer)
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
        str(eos),
        "--tokenizer.pad_token_id",
        str(pad),
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


def mismatches_with_hf(corpus: Corpus, tokenizer: Path, docs: dict[str, bytes]) -> int:
    """Documents whose ids in `docs` differ from HF `tokenizers` on the stripped text plus EOS (every document)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer))
    eos, _ = special_ids(tokenizer)
    bad = 0
    for path in corpus.files:
        rows = [orjson.loads(line) for _, line in iter_lines(path)]
        rows = [r for r in rows if r["text"].strip()]
        encoded = tok.encode_batch_fast([r["text"].strip() for r in rows], add_special_tokens=False)
        for row, enc in zip(rows, encoded, strict=True):
            expected = np.array([*enc.ids, eos], dtype="<u2").tobytes() if enc.ids else None
            bad += docs.get(row["id"]) != expected
    return bad


def main() -> None:
    parser = bench_parser(__doc__, size_mb=100.0)
    parser.add_argument("--vocab-size", type=int, default=32_000)
    parser.add_argument("--shape", default="gpt2", help="tokenizer shape: gpt2, neox, cl100k or llama3")
    args = parser.parse_args()

    threads = max(1, (os.cpu_count() or 1) // args.processes)  # ours: the tokens stage's threads per process
    os.environ["RAYON_NUM_THREADS"] = str(threads)  # HF tokenizers' pool, on both sides
    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    tokenizer = ensure_tokenizer(corpus, args.vocab_size, args.shape)
    print_setup(corpus, args, f"tokenizer {tokenizer.name}; RAYON_NUM_THREADS={threads}, {threads} tokens threads")
    sides = measure_sides("tokens", partial(tokens_command, corpus, tokenizer, args.processes), corpus, args)
    print_table(list(sides.values()))
    extra = {}
    for name, m in sides.items():
        tokens = count_tokens(m.last_run_dir / "tokens")
        extra[f"{name}_tokens_per_s"] = round(tokens / m.median_wall_s)
        print(f"{name}: {tokens:,} tokens, {tokens / m.median_wall_s:,.0f} tokens/s")
    ratio = print_ratio(sides)
    if "ours" in sides:
        bad = mismatches_with_hf(corpus, tokenizer, read_documents(sides["ours"].last_run_dir / "tokens"))
        print(f"documents whose ids differ from HF tokenizers: {bad}")
        extra["documents_differing_from_hf"] = bad
        if bad:
            raise SystemExit("our ids differ from HF tokenizers")
    if ratio is not None:
        same = read_documents(sides["ours"].last_run_dir / "tokens") == read_documents(
            sides["reference"].last_run_dir / "tokens"
        )
        print(f"same documents and token ids as dolma: {same}")
        extra["same_output_as_reference"] = same
        if not same:
            raise SystemExit("outputs differ from the reference")
    append_results(
        args,
        "tokens",
        list(sides.values()),
        ratio,
        vocab_size=args.vocab_size,
        shape=args.shape,
        rayon_num_threads=threads,
        **extra,
    )


if __name__ == "__main__":
    main()
