"""A prose corpus with planted near-duplicates and their exact 5-gram Jaccard, for the MinHash benchmark.

Every document belongs to a *family*: an original (English-like prose from `dolma_py.sample_corpus`'s writer) and
zero or more derived copies. Family kinds:

- `single`: the original alone (measures false positives);
- `scurve`: one variant edited until its Jaccard to the original is near a target drawn uniformly from [0, 1]
  (isolated pairs, so "same cluster" means "the pair collided in a band");
- `near80`: one variant edited to a Jaccard drawn from [0.77, 0.83], just below or just above 0.8;
- `edits`: one to three variants, each with a fixed word-edit rate (1%..30% of the words);
- `exact`: one to three copies, byte-identical or cosmetic (case and commas changed, equal after normalization).

An edit substitutes, deletes or inserts one word. The ground truth (`ground_truth.jsonl`) lists every pair of
documents within a family with its TRUE Jaccard, computed exactly on the shingle sets: datatrove's `simplify_text`
(default `TextNormConfig`: lowercase, punctuation to spaces, numbers to 0, diacritics removed, whitespace
collapsed), split on spaces, then word 5-grams. Documents of different families are independent draws; their
Jaccard is taken as 0 (the evaluation recomputes it for any pair a deduplicator joins across families).

Documents go to `documents/minhash/minhash-NNNN.jsonl.gz`. The corpus is built in chunks of `files_per_chunk`
files; a family never leaves its chunk but is spread over the chunk's files (documents are shuffled within the
chunk), so duplicates cross file boundaries. Each chunk depends only on (seed, chunk index): the output is
byte-identical for any number of generating processes.

    python benchmarks/minhash_corpus.py ROOT --size-mb 30
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import orjson
from datatrove.utils.text import simplify_text

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as `python benchmarks/x.py` even where dolma_py is not installed

from dolma_py.io.atomic import atomic_dir, write_bytes  # noqa: E402
from dolma_py.sample_corpus import _derive_seed, _Writer  # noqa: E402

NGRAM_LENGTH = 5
SOURCE = "minhash"
KIND_WEIGHTS = {"single": 0.35, "scurve": 0.25, "near80": 0.15, "edits": 0.15, "exact": 0.10}
"""Share of families of each kind."""
EDIT_RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
NEAR80_RANGE = (0.77, 0.83)
TRUTH_FILE = "ground_truth.jsonl"


# ---- shingles and Jaccard ------------------------------------------------------------------------------------
def shingles(text: str, n: int = NGRAM_LENGTH) -> set[str]:
    """The word n-grams datatrove's MinHash hashes: `simplify_text` (default config), split on spaces, joined n-grams.

    A text with fewer than n words has none.
    """
    words = simplify_text(text).split(" ")
    words = [w for w in words if w]
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


class _WordCache:
    """`shingles` computed token by token with each distinct token simplified once: the same sets for texts whose
    normalization acts within whitespace-separated tokens (this corpus: ASCII prose), several times faster. Used only
    to search for edit counts; recorded Jaccards always come from `shingles`."""

    def __init__(self) -> None:
        self.memo: dict[str, list[str]] = {}

    def shingles(self, tokens: Sequence[str], n: int = NGRAM_LENGTH) -> set[str]:
        words: list[str] = []
        for token in tokens:
            simple = self.memo.get(token)
            if simple is None:
                simple = self.memo[token] = simplify_text(token).split()
            words += simple
        return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|; two empty sets have Jaccard 0 (no shingles: nothing to compare)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


# ---- families ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlantedPair:
    """Two documents of one family and their exact shingle Jaccard."""

    kind: str
    a: str
    b: str
    jaccard: float
    edits: int
    """Word edits between b and the original (0 for copies and for pairs of two variants)."""


def _original(w: _Writer) -> str:
    """A title and 3 to 12 paragraphs of topical prose (about 3.5 KB on average)."""
    w.new_topic()
    return "\n".join([w.title(), *(w.paragraph() for _ in range(w.rng.randint(3, 12)))])


def _edited(tokens: Sequence[str], k: int, seed: int, vocab: Sequence[str]) -> list[str]:
    """`tokens` after the first `k` edits of the edit sequence `seed` names (60% substitute, 20% delete,
    20% insert a random word); the first k edits are the same for every k, so Jaccard falls about monotonically."""
    rng = random.Random(seed)
    out = list(tokens)
    for _ in range(k):
        r = rng.random()
        if r < 0.6 and out:
            out[rng.randrange(len(out))] = rng.choice(vocab)
        elif r < 0.8 and len(out) > 1:
            del out[rng.randrange(len(out))]
        else:
            out.insert(rng.randrange(len(out) + 1), rng.choice(vocab))
    return out


def _near_target(original: str, target: float, seed: int, vocab: Sequence[str],
                 cache: _WordCache) -> tuple[str, int]:
    """A variant of `original` whose Jaccard to it is as close to `target` as a binary search over the number of
    edits finds; returns (text, edits)."""
    tokens = original.split(" ")
    base = cache.shingles(tokens)
    memo: dict[int, tuple[list[str], float]] = {}

    def at(k: int) -> tuple[list[str], float]:
        if k not in memo:
            edited = _edited(tokens, k, seed, vocab)
            memo[k] = (edited, jaccard(base, cache.shingles(edited)))
        return memo[k]

    lo, hi = 0, 2 * len(tokens)  # J(lo) >= target > J(hi), assuming J decreases with k
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid)[1] >= target:
            lo = mid
        else:
            hi = mid
    k = min((lo, hi), key=lambda k: abs(at(k)[1] - target))
    return " ".join(at(k)[0]), k


def _cosmetic(text: str, rng: random.Random) -> str:
    """`text` with some words re-cased and commas added or removed: the same shingles after normalization."""
    out = []
    for word in text.split(" "):
        r = rng.random()
        if r < 0.05:
            word = word.upper()
        elif r < 0.10:
            word = word.capitalize()
        elif r < 0.13 and word.endswith(","):
            word = word[:-1]
        elif r < 0.16 and word[-1:].isalpha():
            word += ","
        out.append(word)
    return " ".join(out)


def _family(kind: str, fid: str, w: _Writer, cache: _WordCache) -> tuple[list[str], list[int]]:
    """The texts of one family (original first) and, per text, its edits from the original."""
    rng, vocab = w.rng, w.vocab.words
    original = _original(w)
    texts, edits = [original], [0]
    if kind in ("scurve", "near80"):
        target = rng.uniform(0.0, 1.0) if kind == "scurve" else rng.uniform(*NEAR80_RANGE)
        text, k = _near_target(original, target, _derive_seed(fid, "edits"), vocab, cache)
        texts.append(text)
        edits.append(k)
    elif kind == "edits":
        tokens = original.split(" ")
        for m in range(rng.randint(1, 3)):
            k = max(1, round(rng.choice(EDIT_RATES) * len(tokens)))
            texts.append(" ".join(_edited(tokens, k, _derive_seed(fid, "edits", m), vocab)))
            edits.append(k)
    elif kind == "exact":
        for _ in range(rng.randint(1, 3)):
            texts.append(original if rng.random() < 0.5 else _cosmetic(original, rng))
            edits.append(0)
    return texts, edits


def _chunk(seed: int, chunk: int, docs: int, *, truth: bool = True) -> tuple[list[dict], list[PlantedPair]]:
    """The documents of one chunk in file order (shuffled across the chunk) and, when `truth`, its planted pairs.

    The documents do not depend on `truth`."""
    rng = random.Random(_derive_seed(seed, "minhash-chunk", chunk))
    w, cache = _Writer(seed, rng), _WordCache()
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    rows: list[dict] = []
    pairs: list[PlantedPair] = []
    f = 0
    while len(rows) < docs:
        kind = rng.choices(kinds, weights)[0]
        fid = f"c{chunk:04d}-f{f:05d}"
        texts, edits = _family(kind, fid, w, cache)
        texts, edits = texts[:docs - len(rows)], edits[:docs - len(rows)]
        ids = [f"{fid}-m{m}-{kind}" for m in range(len(texts))]
        rows += [{"id": i, "text": t, "source": SOURCE} for i, t in zip(ids, texts, strict=True)]
        if truth and len(texts) > 1:
            sets = [shingles(t) for t in texts]
            for x, y in combinations(range(len(texts)), 2):
                pairs.append(PlantedPair(kind, ids[x], ids[y], jaccard(sets[x], sets[y]), edits[y] if x == 0 else 0))
        f += 1
    rng.shuffle(rows)
    return rows, pairs


def family_of(doc_id: str) -> str:
    """The family part of a document id (`c0000-f00012` of `c0000-f00012-m1-edits`)."""
    return doc_id[:12]


# ---- writing -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MinhashCorpus:
    """A generated corpus: its root, document files in plan order, and totals."""

    root: Path
    files: list[str]
    docs: int
    text_bytes: int
    pairs: int

    @property
    def truth_path(self) -> Path:
        return self.root / TRUTH_FILE


def _write_chunk(args: tuple[str, int, int, int, int, bool]) -> tuple[int, int, list[dict]]:
    """Write one chunk's files; returns (docs, text bytes, planted pairs as dicts)."""
    root, seed, chunk, files_per_chunk, docs_per_file, truth = args
    rows, pairs = _chunk(seed, chunk, files_per_chunk * docs_per_file, truth=truth)
    for j in range(files_per_chunk):
        part = rows[j * docs_per_file:(j + 1) * docs_per_file]
        path = Path(root) / "documents" / SOURCE / f"{SOURCE}-{chunk * files_per_chunk + j:04d}.jsonl.gz"
        write_bytes(str(path), b"".join(orjson.dumps(r) + b"\n" for r in part))
    return len(rows), sum(len(r["text"].encode()) for r in rows), [asdict(p) for p in pairs]


def generate(root: str | Path, *, size_mb: float, seed: int = 0, docs_per_file: int = 1000,
             files_per_chunk: int = 4, processes: int = 2, truth: bool = True) -> MinhashCorpus:
    """Write a corpus of about `size_mb` MB of text (whole chunks, at least one) to `root`, and its ground truth
    when `truth` (without, generating is about twice as fast: for scaling runs that need no quality figures)."""
    root = Path(root)
    first = _write_chunk((str(root), seed, 0, files_per_chunk, docs_per_file, truth))
    chunks = max(1, round(size_mb * 1e6 / first[1]))
    jobs = [(str(root), seed, c, files_per_chunk, docs_per_file, truth) for c in range(1, chunks)]
    with ProcessPoolExecutor(max(1, processes)) as pool:
        results = [first, *pool.map(_write_chunk, jobs)]
    with open(root / TRUTH_FILE, "wb") as fh:
        for _, _, pairs in results:
            fh.write(b"".join(orjson.dumps(p) + b"\n" for p in pairs))
    files = sorted(str(p) for p in (root / "documents" / SOURCE).glob("*.jsonl.gz"))
    return MinhashCorpus(root, files, sum(r[0] for r in results), sum(r[1] for r in results),
                         sum(len(r[2]) for r in results))


def read_truth(path: str | Path) -> list[PlantedPair]:
    """The planted pairs of `ground_truth.jsonl`."""
    with open(path, "rb") as fh:
        return [PlantedPair(**orjson.loads(line)) for line in fh]


def ensure_corpus(root: Path, size_mb: float, *, seed: int = 0, docs_per_file: int = 1000, processes: int = 2,
                  truth: bool = True) -> MinhashCorpus:
    """The corpus under `root`, generated once; regenerated when the parameters or this module's source change."""
    stats_path = root / "corpus.json"
    generator = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    wanted = {"size_mb": size_mb, "seed": seed, "docs_per_file": docs_per_file, "generator": generator,
              "truth": truth}
    if stats_path.exists():
        stats = json.loads(stats_path.read_text())
        if {k: stats.get(k) for k in wanted} == wanted and all(Path(p).exists() for p in stats["files"]):
            return MinhashCorpus(root, stats["files"], stats["docs"], stats["text_bytes"], stats["pairs"])
    print(f"generating a {size_mb:g} MB planted-duplicate corpus under {root} ...", flush=True)
    started = time.perf_counter()
    with atomic_dir(root) as tmp:
        made = generate(tmp, size_mb=size_mb, seed=seed, docs_per_file=docs_per_file, processes=processes,
                        truth=truth)
    files = [str(root / Path(p).relative_to(tmp)) for p in made.files]
    corpus = MinhashCorpus(root, files, made.docs, made.text_bytes, made.pairs)
    stats_path.write_text(json.dumps({**wanted, "files": files, "docs": corpus.docs,
                                      "text_bytes": corpus.text_bytes, "pairs": corpus.pairs}, indent=1))
    print(f"  {len(files)} files, {corpus.docs} docs, {corpus.text_bytes / 1e6:.1f} MB of text, {corpus.pairs} "
          f"planted pairs in {time.perf_counter() - started:.0f} s", flush=True)
    return corpus


def summarize(pairs: Iterable[PlantedPair]) -> dict[str, int]:
    """Planted pairs per kind, and how many have Jaccard >= 0.8."""
    counts: dict[str, int] = {}
    for p in pairs:
        counts[p.kind] = counts.get(p.kind, 0) + 1
        counts["jaccard>=0.8"] = counts.get("jaccard>=0.8", 0) + (p.jaccard >= 0.8)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root")
    parser.add_argument("--size-mb", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs-per-file", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    corpus = ensure_corpus(Path(args.root), args.size_mb, seed=args.seed, docs_per_file=args.docs_per_file,
                           processes=args.processes)
    print(json.dumps(summarize(read_truth(corpus.truth_path))))


if __name__ == "__main__":
    main()
