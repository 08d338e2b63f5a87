"""Stage 3, one unit in the driver: a deterministic union-find over every partition's edges.

Edges are added partition by partition (one partition's edges in memory at a time) into a Rust union-find that
holds only documents with an edge (a hash map entry, a parent and a key: about 40 bytes each), never the corpus.
A cluster's id is its smallest doc_key; its kept document is that one (`keep: first`, plan order) or its longest
(`keep: longest`, ties in plan order). The result, `clusters.bin`, has one row per clustered document:
`doc, cluster_id, kept, size` (uint64), sorted by doc.
"""

from __future__ import annotations

import numpy as np

from dolma_py import _rust
from dolma_py.dedupe.fuzzy.spec import FuzzySpec, gather_by_file, read_u64
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import write_bytes


def cluster_unit(spec: FuzzySpec, unit: Unit) -> UnitResult:
    """Union every edge file, pick each cluster's kept document, write `clusters.bin`."""
    clusters = _rust.MinhashClusters()
    for path in unit.inputs:
        if path.endswith(".edges"):
            clusters.add_edges(np.ascontiguousarray(read_u64(path, 2)))
    docs, roots = clusters.components()
    _, inverse, sizes = np.unique(roots, return_inverse=True, return_counts=True)
    kept = roots if spec.keep == "first" else longest(spec, docs, roots)
    table = np.empty((len(docs), 4), dtype="<u8")
    table[:, 0], table[:, 1], table[:, 2], table[:, 3] = docs, roots, kept, sizes[inverse]
    write_bytes(unit.outputs[0], table.tobytes(), compress=False)
    counters = {"clustered_documents": len(docs), "clusters": len(sizes), "duplicates": len(docs) - len(sizes)}
    return UnitResult(key=unit.key, counters=counters)


def longest(spec: FuzzySpec, docs: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Per document, its cluster's longest document (code points; ties: the first in plan order)."""

    def load(index: int) -> np.ndarray:
        return np.fromfile(spec.signature_files(index)[1], dtype="<i8")

    lengths = gather_by_file(docs, load, np.empty(len(docs), dtype=np.int64))
    order = np.lexsort((docs, -lengths, roots))  # by cluster, then longest first, then plan order
    first_of_cluster = np.ones(len(order), dtype=bool)
    first_of_cluster[1:] = roots[order][1:] != roots[order][:-1]
    winners = docs[order][first_of_cluster]
    cluster_roots = roots[order][first_of_cluster]
    return winners[np.searchsorted(cluster_roots, roots)]


def cluster_inputs(spec: FuzzySpec, num_files: int) -> tuple[str, ...]:
    """The edge files (and, for keep=longest, the lengths)."""
    edges = tuple(spec.edges_file(p) for p in range(spec.partitions))
    if spec.keep != "longest":
        return edges
    return edges + tuple(spec.signature_files(index)[1] for index in range(num_files))
