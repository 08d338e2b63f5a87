"""Quality of a MinHash dedupe run against the planted ground truth of `minhash_corpus`.

A run's outcome is a `Decisions`: per document in plan order (sorted file paths, then line order) whether it was
removed, and its cluster (None for a document in no cluster). Definitions, for a threshold t = 0.8:

- **recall**: of the planted pairs with true Jaccard >= t, the share whose two documents end in the same cluster;
  **removal recall**: the share with at least one of the two removed.
- **precision** of removals: a removed document d is a correct removal when some document the same run KEPT has
  true Jaccard >= t with d (its content survives). **Lenient precision**: some other document at all (kept or
  removed) has true Jaccard >= t with d. `precision_at_0.7` and `precision_at_0.5`: the strict form for
  t = 0.7 and 0.5. Candidates are d's family (exact Jaccards from the ground truth) and d's cluster (Jaccard
  recomputed exactly from the texts for documents outside d's family, which are independent draws and
  otherwise taken as 0).
- **agreement** of two runs: the share of documents with the same keep/remove decision.
- **S-curve**: over the isolated planted pairs (`scurve` and `near80` families: an original and one variant),
  the share detected (both in one cluster) per bin of true Jaccard, beside the theoretical LSH probability
  1 - (1 - s^r)^b for r hashes per band and b bands.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from minhash_corpus import PlantedPair, family_of, jaccard, shingles

from dolma_py.io.documents import iter_lines

THRESHOLD = 0.8
LOWER_THRESHOLDS = (0.7, 0.5)
"""Precision is also given against these: LSH without verification removes pairs below 0.8 (the S-curve)."""
ISOLATED_KINDS = ("scurve", "near80")


@dataclass
class Decisions:
    """One run's keep/remove decision and cluster per document, in plan order."""

    removed: list[bool]
    cluster: list[int | None]


def read_documents(files: Sequence[str]) -> tuple[list[str], list[str], list[int]]:
    """(ids, texts) of every document in plan order, and the number of documents per file."""
    ids, texts, lines = [], [], []
    for path in files:
        before = len(ids)
        for _, line in iter_lines(path):
            doc = orjson.loads(line)
            ids.append(doc["id"])
            texts.append(doc["text"])
        lines.append(len(ids) - before)
    return ids, texts, lines


def datatrove_decisions(remove_dir: Path, lines_per_file: Sequence[int]) -> Decisions:
    """Decisions from datatrove's `NNNNNN.remove` (uint32 lines) and `NNNNNN.clusters` ((line, id) uint32 pairs)
    files; file N is the N-th input file in sorted order."""
    removed: list[bool] = []
    cluster: list[int | None] = []
    for n, lines in enumerate(lines_per_file):
        file_removed, file_cluster = [False] * lines, [None] * lines
        remove = remove_dir / f"{n:06d}.remove"
        if remove.exists():
            for (line,) in struct.iter_unpack("<I", remove.read_bytes()):
                file_removed[line] = True
        clusters = remove_dir / f"{n:06d}.clusters"
        if clusters.exists():
            for line, cid in struct.iter_unpack("<2I", clusters.read_bytes()):
                file_cluster[line] = cid
        removed += file_removed
        cluster += file_cluster
    return Decisions(removed, cluster)


def attribute_decisions(attribute_files: Sequence[str], attribute: str, cluster_key: str | None) -> Decisions:
    """Decisions from dolma attribute files (line-aligned with the documents): removed when `attribute` has a
    span; the cluster from `cluster_key`'s document-level value (a document alone in its cluster counts as none)."""
    removed: list[bool] = []
    cluster: list[int | None] = []
    for path in attribute_files:
        for _, line in iter_lines(path):
            attributes = orjson.loads(line)["attributes"]
            removed.append(bool(attributes.get(attribute)))
            spans = attributes.get(cluster_key) if cluster_key else None
            cluster.append(int(spans[0][2]) if spans else None)
    sizes: dict[int, int] = defaultdict(int)
    for c in cluster:
        if c is not None:
            sizes[c] += 1
    return Decisions(removed, [c if c is not None and sizes[c] > 1 else None for c in cluster])


class Evaluator:
    """Ground truth and texts of one corpus, and the figures of runs on it."""

    def __init__(self, ids: list[str], texts: list[str], pairs: Sequence[PlantedPair]) -> None:
        self.ids, self.texts, self.pairs = ids, texts, list(pairs)
        self.index = {doc_id: i for i, doc_id in enumerate(ids)}
        self.truth: dict[tuple[int, int], float] = {}
        for p in self.pairs:
            a, b = sorted((self.index[p.a], self.index[p.b]))
            self.truth[a, b] = p.jaccard
        self.family: dict[str, list[int]] = defaultdict(list)
        for i, doc_id in enumerate(ids):
            self.family[family_of(doc_id)].append(i)
        self._shingles: dict[int, set[str]] = {}

    def true_jaccard(self, a: int, b: int) -> float:
        """Exact Jaccard of documents a and b: from the ground truth within a family, else recomputed."""
        a, b = sorted((a, b))
        if (a, b) in self.truth:
            return self.truth[a, b]
        if family_of(self.ids[a]) == family_of(self.ids[b]):
            raise KeyError(f"pair {self.ids[a]} {self.ids[b]} of one family is missing from the ground truth")
        for i in (a, b):
            if i not in self._shingles:
                self._shingles[i] = shingles(self.texts[i])
        return jaccard(self._shingles[a], self._shingles[b])

    def quality(self, run: Decisions) -> dict:
        """Recall, removal recall, precision (strict and lenient) and counts of one run."""
        above = [p for p in self.pairs if p.jaccard >= THRESHOLD]
        same = removal = 0
        for p in above:
            a, b = self.index[p.a], self.index[p.b]
            same += run.cluster[a] is not None and run.cluster[a] == run.cluster[b]
            removal += run.removed[a] or run.removed[b]
        members: dict[int, list[int]] = defaultdict(list)
        for i, c in enumerate(run.cluster):
            if c is not None:
                members[c].append(i)
        best_kept, best_any = [], []
        for d in (i for i, r in enumerate(run.removed) if r):
            candidates = set(self.family[family_of(self.ids[d])])
            if run.cluster[d] is not None:
                candidates.update(members[run.cluster[d]])
            candidates.discard(d)
            scored = [(self.true_jaccard(d, e), e) for e in candidates]
            best_kept.append(max((j for j, e in scored if not run.removed[e]), default=0.0))
            best_any.append(max((j for j, _ in scored), default=0.0))
        n = len(best_kept)

        def share(values: list[float], t: float) -> float | None:
            return round(sum(v >= t for v in values) / n, 5) if n else None

        return {"docs": len(self.ids), "removed": n, "clusters": len(members),
                "pairs_jaccard_ge_0.8": len(above),
                "recall": round(same / len(above), 5) if above else None,
                "removal_recall": round(removal / len(above), 5) if above else None,
                "precision": share(best_kept, THRESHOLD), "lenient_precision": share(best_any, THRESHOLD),
                **{f"precision_at_{t}": share(best_kept, t) for t in LOWER_THRESHOLDS}}

    def scurve(self, run: Decisions, bins: int = 20) -> list[dict]:
        """Per Jaccard bin [k/bins, (k+1)/bins) (the last one closed): isolated pairs, detected ones, and the
        theoretical detection probability averaged over the bin's pairs."""
        rows = [{"lo": k / bins, "hi": (k + 1) / bins, "pairs": 0, "detected": 0, "theory_sum": 0.0}
                for k in range(bins)]
        for p in self.pairs:
            if p.kind not in ISOLATED_KINDS:
                continue
            a, b = self.index[p.a], self.index[p.b]
            row = rows[min(int(p.jaccard * bins), bins - 1)]
            row["pairs"] += 1
            row["detected"] += run.cluster[a] is not None and run.cluster[a] == run.cluster[b]
            row["theory_sum"] += lsh_probability(p.jaccard)
        return rows


def lsh_probability(s: float, band_size: int = 8, num_bands: int = 14) -> float:
    """Probability that two documents of Jaccard s share at least one band: 1 - (1 - s^r)^b."""
    return 1.0 - (1.0 - s ** band_size) ** num_bands


def agreement(a: Decisions, b: Decisions) -> float:
    """Share of documents with the same keep/remove decision in two runs."""
    same = sum(x == y for x, y in zip(a.removed, b.removed, strict=True))
    return same / len(a.removed)


def scurve_deviation(rows: Sequence[dict]) -> float:
    """Largest |observed - theoretical| detection rate over bins with at least 20 pairs."""
    return max((abs(r["detected"] - r["theory_sum"]) / r["pairs"] for r in rows if r["pairs"] >= 20), default=0.0)


def plot_scurve(curves: dict[str, Sequence[dict]], path: Path, *, band_size: int = 8, num_bands: int = 14) -> None:
    """Detection rate per Jaccard bin for each named run, with the theoretical curve, to `path` (png or svg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    xs = [i / 200 for i in range(201)]
    ax.plot(xs, [lsh_probability(s, band_size, num_bands) for s in xs], color="black", lw=1.2,
            label=f"theory 1-(1-s^{band_size})^{num_bands}")
    for (name, rows), marker in zip(curves.items(), ("o", "s", "^"), strict=False):
        used = [r for r in rows if r["pairs"]]
        ax.plot([(r["lo"] + r["hi"]) / 2 for r in used], [r["detected"] / r["pairs"] for r in used], marker=marker,
                ls="--", lw=0.8, label=name)
    ax.axvline(THRESHOLD, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("true 5-gram Jaccard of the planted pair")
    ax.set_ylabel("share detected (same cluster)")
    ax.set_title(f"MinHash LSH S-curve: {num_bands} bands x {band_size} hashes")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


SLOPE = (0.5, 0.85)
"""True Jaccards where 14 x 8 LSH detects a pair with probability between about 0.03 and 0.97."""


def disagreement(evaluator: Evaluator, a: Decisions, b: Decisions) -> dict:
    """Where two runs' keep/remove decisions differ, by family kind, and how much of it LSH's own randomness
    explains: two runs with independent hash functions detect an isolated pair of Jaccard s with probability P(s)
    each, so they disagree on its later document with probability 2P(1-P). `clustered_on_both_sides`: differing
    documents both runs put in some cluster (a different keeper, or clusters that differ). `agreement_off_slope`:
    the agreement over documents whose family holds no pair with true Jaccard on the S-curve's slope (`SLOPE`)."""
    differ = [x != y for x, y in zip(a.removed, b.removed, strict=True)]
    by_kind: dict[str, int] = defaultdict(int)
    for i, d in enumerate(differ):
        if d:
            by_kind[evaluator.ids[i].rsplit("-", 1)[1]] += 1
    on_slope: set[str] = set()
    expected = 0.0
    for p in evaluator.pairs:
        if SLOPE[0] <= p.jaccard < SLOPE[1]:
            on_slope.add(family_of(p.a))
        if p.kind in ISOLATED_KINDS:
            q = lsh_probability(p.jaccard)
            expected += 2 * q * (1 - q)
    off = [d for i, d in enumerate(differ) if family_of(evaluator.ids[i]) not in on_slope]
    both = sum(d and a.cluster[i] is not None and b.cluster[i] is not None for i, d in enumerate(differ))
    return {"disagreements": sum(differ), "by_kind": dict(sorted(by_kind.items())),
            "clustered_on_both_sides": both,
            "isolated_expected_from_lsh": round(expected, 1),
            "isolated_observed": sum(by_kind.get(k, 0) for k in ISOLATED_KINDS),
            "docs_off_slope": len(off), "agreement_off_slope": round(1 - sum(off) / len(off), 5) if off else None}
