"""Stage 4, one unit per document file: its attribute file, line-aligned with the documents.

Every document gets `<attribute>`: `[[0, len(text), 1.0]]` when it is a near-duplicate of its cluster's kept
document, else `[]`; a document in a cluster of two or more also gets `<attribute>_cluster_id` and
`<attribute>_cluster_size` as `[[0, len(text), value]]` (the id is the smallest doc_key of the cluster,
`file_index * 2^32 + line_index`). A bad line (kept under `skip_bad_lines`) gets `{"id": ..., "attributes": {}}`.
"""

from __future__ import annotations

import numpy as np
import orjson

from dolma_py.dedupe.fuzzy.spec import LINE_BITS, FuzzySpec, read_u64, split_doc_keys
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import crash_point, write_bytes
from dolma_py.io.documents import CODEC_SUFFIX


def output_unit(spec: FuzzySpec, unit: Unit) -> UnitResult:
    """Write the attribute file of plan file `unit.params` from its ids, lengths and its slice of the clusters."""
    index = unit.params
    files = spec.signature_files(index)
    with open(files[2], "rb") as stream:
        ids = orjson.loads(stream.read())
    lengths = np.fromfile(files[1], dtype="<i8").tolist()
    table = read_u64(spec.clusters_file, 4)
    low, high = np.uint64(index << LINE_BITS), np.uint64((index + 1) << LINE_BITS)
    start, end = np.searchsorted(table[:, 0], [low, high])
    rows = np.asarray(table[start:end])
    _, lines_of_rows = split_doc_keys(rows[:, 0])
    clustered = {
        line: (int(cluster), int(size), doc != kept)
        for line, doc, cluster, kept, size in zip(
            lines_of_rows.tolist(),
            rows[:, 0].tolist(),
            rows[:, 1].tolist(),
            rows[:, 2].tolist(),
            rows[:, 3].tolist(),
            strict=True,
        )
    }
    name = spec.attribute
    lines: list[bytes] = []
    duplicates = 0
    for line, (doc_id, length) in enumerate(zip(ids, lengths, strict=True)):
        if length < 0:
            lines.append(orjson.dumps({"id": doc_id, "attributes": {}}))
            continue
        attributes: dict[str, list[list[float]]] = {name: []}
        found = clustered.get(line)
        if found is not None:
            cluster, size, duplicate = found
            if duplicate:
                attributes[name] = [[0, length, 1.0]]
                duplicates += 1
            attributes[f"{name}_cluster_id"] = [[0, length, cluster]]
            attributes[f"{name}_cluster_size"] = [[0, length, size]]
        lines.append(orjson.dumps({"id": doc_id, "attributes": attributes}))
    data = b"\n".join(lines) + b"\n" if lines else b""
    codec_of = None if spec.output_codec == "infer" else "attributes" + CODEC_SUFFIX[spec.output_codec]
    write_bytes(unit.outputs[0], data, codec_of=codec_of)
    crash_point("minhash:output_written")  # tests: a kill between a unit's output and its marker
    documents = sum(1 for length in lengths if length >= 0)
    counters = {"duplicate_documents": duplicates}
    return UnitResult(key=unit.key, documents=documents, counters=counters)
