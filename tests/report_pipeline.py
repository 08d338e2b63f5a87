"""A small pipeline's outputs for `dolma report` tests: real tag, dedupe and mix runs over generated documents,
plus token indexes, a curriculum manifest and training metrics in their stages' formats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import yaml
from conftest import write_documents

from dolma_py.cli.main import main

SOURCES = ("news", "forum")
SHORT = "$.attributes[?(@.e__char_length_v1__length && @.e__char_length_v1__length[0][2] < 200)]"


def _text(source: str, n: int) -> str:
    words = " ".join(f"{source}word{(n * 7 + k) % 23}" for k in range(5 + (n * 13) % 40))
    email = f" write to person{n}@example.com today." if n % 5 == 0 else ""
    return f"Title {n} of {source}.\n\n{words}{email}\n\nShared footer paragraph that repeats everywhere."


def build_pipeline(root: Path) -> dict[str, list[str]]:
    """Write the outputs under `root`; returns the `dolma report` options that cover all of them."""
    for source in SOURCES:
        docs = [{"id": f"{source}-{n}", "text": _text(source, n), "source": source} for n in range(30)]
        write_documents(root / "documents" / source / "part-0.jsonl.gz", docs)
    documents = str(root / "documents" / "*" / "*.jsonl.gz")
    assert main(["tag", "--documents", documents, "--taggers", "char_length_v1", "pii_regex_v2",
                 "--experiment", "e"]) == 0
    assert main(["dedupe", "--documents", documents, "--dedupe.name", "dup",
                 "--dedupe.paragraphs.attribute_name", "dup_paragraphs",
                 "--bloom_filter.file", str(root / "filter.bin"), "--bloom_filter.estimated_doc_count", "1000",
                 "--bloom_filter.desired_false_positive_rate", "1e-6"]) == 0
    mix = {"streams": [{
        "name": source,
        "documents": [str(root / "documents" / source / "*.jsonl.gz")],
        "attributes": ["e"],
        "filter": {"exclude": ["$.attributes[?(@.e__pii_regex_v2__EMAIL_ADDRESS)]", SHORT]},
        "output": {"path": str(root / "mixed" / source), "max_size_in_bytes": 1_000_000},
    } for source in SOURCES]}
    (root / "mix.yaml").write_text(yaml.safe_dump(mix))
    assert main(["-c", str(root / "mix.yaml"), "mix"]) == 0
    for index, source in enumerate(SOURCES):
        rows = "".join(f"{k * 50},{k * 50 + 40 + index},{source}-{k},x.json.gz,{k}\n" for k in range(20))
        (root / "tokens" / source).mkdir(parents=True)
        (root / "tokens" / source / "part-0.csv.gz").write_bytes(gzip.compress(rows.encode(), mtime=0))
    manifest = {"name": "tiny", "phases": [
        {"name": "pretrain", "instances": 10, "tokens": 1280, "mix": {"news": 0.7, "forum": 0.3},
         "realized": {"news": 0.69, "forum": 0.31}},
        {"name": "anneal", "instances": 4, "tokens": 512, "mix": {"news": 0.5, "forum": 0.5},
         "realized": {"news": 0.5, "forum": 0.5}},
    ]}
    (root / "manifest").mkdir()
    (root / "manifest" / "manifest.json").write_text(json.dumps(manifest))
    (root / "run").mkdir()
    records = [{"step": s, "phase": "pretrain" if s < 60 else "anneal", "loss": 7 - s / 30} for s in range(0, 100, 10)]
    records += [{"step": s, "eval": {"news": 6.5 - s / 50, "forum": 6.8 - s / 60}, "eval_loss": 6.6} for s in (40, 80)]
    (root / "run" / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return {
        "documents": [documents],
        "attributes": [str(root / "attributes" / "e" / "*" / "*.jsonl.gz")],
        "dedupe": [str(root / "attributes" / "dup" / "*" / "*.jsonl.gz")],
        "mix": [str(root / "mix.yaml")],
        "tokens": [str(root / "tokens" / source) for source in SOURCES],
        "manifest": [str(root / "manifest")],
        "train": [str(root / "run")],
    }


def report_argv(options: dict[str, list[str]], output: str) -> list[str]:
    """`dolma report` arguments for the options `build_pipeline` returned."""
    argv = ["report", "--output", output]
    for key, values in options.items():
        argv += [f"--{key}", *values]
    return argv
