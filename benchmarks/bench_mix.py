"""`dolma mix` side by side: reference dolma 1.2.1 vs ours, same corpus, attributes, config and process count.

Three synthetic attribute sets (quality scores, duplicate-paragraph spans, PII counts and email spans) are
generated once next to the cached corpus. Two scenarios run the same typical mix, one with JSONPath filters and
one with the equivalent jq filters; both replace email spans and remove duplicate paragraphs. After timing,
the outputs of the last runs are compared: the same documents, in the same order, with the same text.

    python benchmarks/bench_mix.py --size-mb 200 --processes 2 --repeats 3 [--results benchmarks/results.jsonl]
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from functools import partial
from pathlib import Path

import orjson
import yaml
from common import (
    Corpus,
    Measurement,
    append_results,
    bench_parser,
    dolma_command,
    ensure_corpus,
    measure_sides,
    print_ratio,
    print_setup,
    print_table,
)

from dolma_py.io.atomic import write_bytes
from dolma_py.io.documents import iter_lines

ATTRIBUTE_SETS = ("qual", "dedup", "pii")
SPAN_REPLACEMENT = [
    {"span": "$.attributes.pii__regex__email", "min_score": 0.5, "replacement": "|||EMAIL|||"},
    {"span": "$.attributes.bff_duplicate_paragraph_spans", "min_score": 0.5, "replacement": ""},
]
FILTERS = {
    "jsonpath": {
        "include": ["$.attributes[?(@.qual__model__hq && @.qual__model__hq[0][2] >= 0.2)]"],
        "exclude": [
            "$.attributes[?(@.pii__regex__doc_count && @.pii__regex__doc_count[0][2] > 6)]",
            "$@.attributes[?(@.bff_duplicate_paragraph_spans && @.bff_duplicate_paragraph_spans[0] "
            "&& @.bff_duplicate_paragraph_spans[0][2] >= 1.0 && @.bff_duplicate_paragraph_spans[2])]",
        ],
    },
    "jq": {
        "syntax": "jq",
        "include": [".attributes.qual__model__hq[0][2] >= 0.2"],
        "exclude": [
            ".attributes.pii__regex__doc_count[0][2] > 6",
            "(.attributes.bff_duplicate_paragraph_spans | length) >= 3",
        ],
    },
}


def _attribute_rows(doc: dict, rng: random.Random) -> dict[str, dict]:
    size = len(doc["text"])
    spans = []
    for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):
        start = rng.randint(0, max(0, size - 60))
        spans.append([start, min(size, start + rng.randint(10, 60)), 1.0])
    return {
        "qual": {
            "qual__model__hq": [[0, size, round(rng.random(), 4)]],
            "qual__model__lq": [[0, size, round(rng.random(), 4)]],
        },
        "dedup": {"bff_duplicate_paragraph_spans": sorted(spans)},
        "pii": {
            "pii__regex__email": [[5, 15, 1.0]] if rng.random() < 0.2 and size > 15 else [],
            "pii__regex__doc_count": [[0, size, float(rng.randint(0, 8))]],
        },
    }


def ensure_attributes(corpus: Corpus) -> Path:
    """Synthetic attribute files for every documents file, under `<corpus>/mix-attributes/<set>/`, made once."""
    root = corpus.root / "mix-attributes"
    stamp = root / "stamp.json"
    key = hashlib.sha256((corpus.root / "corpus.json").read_bytes() + Path(__file__).read_bytes()).hexdigest()[:16]
    if stamp.exists() and json.loads(stamp.read_text()).get("key") == key:
        return root
    shutil.rmtree(root, ignore_errors=True)
    print(f"writing {len(ATTRIBUTE_SETS)} synthetic attribute sets under {root} ...", flush=True)
    documents = corpus.root / "documents"
    for path in corpus.files:
        relative = Path(path).relative_to(documents)
        rng = random.Random(str(relative))
        lines: dict[str, list[bytes]] = {name: [] for name in ATTRIBUTE_SETS}
        for _, raw in iter_lines(path):
            doc = orjson.loads(raw)
            for name, attributes in _attribute_rows(doc, rng).items():
                lines[name].append(orjson.dumps({"id": doc["id"], "attributes": attributes}))
        for name, rows in lines.items():
            write_bytes(str(root / name / relative), b"\n".join(rows) + b"\n")
    stamp.write_text(json.dumps({"key": key}))
    return root


def mix_command(
    corpus: Corpus, attributes: Path, scenario: str, processes: int, ours: bool, run_dir: Path
) -> list[str]:
    """Links the attributes into the run directory and writes the mix config there."""
    (run_dir / "attributes").symlink_to(attributes, target_is_directory=True)
    config = {
        "streams": [
            {
                "name": scenario,
                "documents": [corpus.documents_glob(run_dir)],
                "attributes": list(ATTRIBUTE_SETS),
                "filter": FILTERS[scenario],
                "span_replacement": SPAN_REPLACEMENT,
                "output": {
                    "path": str(run_dir / "output"),
                    "max_size_in_bytes": 100_000_000,
                    "discard_fields": ["attributes"],
                },
            }
        ],
        "processes": processes,
    }
    config_path = run_dir / "mix.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return [*dolma_command(ours), "-c", str(config_path), "mix"]


def output_check(run_dir: Path) -> None:
    """A `check` for `measure`: the run wrote at least one shard."""
    if not [p for p in (run_dir / "output").glob("*.json*.gz") if not p.name.startswith("_")]:
        raise RuntimeError(f"{run_dir}: no output shards")


def output_fingerprint(output: Path) -> tuple[int, str]:
    """(documents, hash of their ids and texts in order) over all shards in name order."""
    digest = hashlib.sha256()
    count = 0
    for shard in sorted(p for p in output.glob("*.gz") if not p.name.startswith("_")):
        for _, raw in iter_lines(str(shard)):
            doc = orjson.loads(raw)
            digest.update(orjson.dumps([doc["id"], doc["text"]]))
            count += 1
    return count, digest.hexdigest()[:16]


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--scenarios", nargs="+", default=list(FILTERS), choices=list(FILTERS))
    args = parser.parse_args()

    corpus = ensure_corpus(args.size_mb, processes=args.processes)
    attributes = ensure_attributes(corpus)
    print_setup(corpus, args, f"attribute sets {', '.join(ATTRIBUTE_SETS)}")
    measurements: list[Measurement] = []
    ratios: dict[str, float] = {}
    for scenario in args.scenarios:
        make_cmd = partial(mix_command, corpus, attributes, scenario, args.processes)
        sides = measure_sides(f"mix {scenario}", make_cmd, corpus, args, check=output_check)
        measurements.extend(sides.values())
        ratio = print_ratio(sides)
        if ratio is not None:
            ratios[scenario] = ratio
            theirs_out = output_fingerprint(sides["reference"].last_run_dir / "output")
            ours_out = output_fingerprint(sides["ours"].last_run_dir / "output")
            same = "same" if theirs_out == ours_out else "DIFFERENT"
            print(f"  {scenario}: reference wrote {theirs_out[0]} documents, ours {ours_out[0]}: {same} ids and texts")
    print_table(measurements)
    for scenario, ratio in ratios.items():
        print(f"{scenario}: ours/reference throughput {ratio:.2f}x")
    append_results(args, "mix", measurements, min(ratios.values()) if ratios else None, scenarios=args.scenarios)


if __name__ == "__main__":
    main()
