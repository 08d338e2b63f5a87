"""Regenerate tests/fixtures/dolma_golden/mix_safety/: what dolma 1.2.1's `dolma mix` does on a jq runtime error
and how it names its shards, measured by running the reference on tiny generated inputs.

Cases: a jq `exclude` rule that errors at run time on one document (does the run fail, and with what message, or
does it keep or drop documents?), a JSONPath rule on a path that does not exist (JSONPath has no runtime errors),
and one stream per `compression.output` (the shard file names; dolma needs a filter, so a no-op one).
tests/test_mix_safety.py checks dolma_py against the stored `cases.json`:

    .venv/bin/python benchmarks/golden_mix_safety.py     (needs benchmarks/setup_reference.sh)
"""

from __future__ import annotations

import gzip
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from common import REPO_ROOT, require_reference

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "mix_safety"
DOCUMENTS = [
    {"id": "0", "text": "12", "source": "s"},
    {"id": "1", "text": "hello", "source": "s"},
    {"id": "2", "text": "7", "source": "s"},
]
CASES: dict[str, dict[str, Any]] = {
    "jq_runtime_error": {"filter": {"syntax": "jq", "exclude": ["(.text | tonumber) > 3"]}},
    "jsonpath_missing_path": {"filter": {"exclude": ["$.text.foo[?(@ > 3)]"]}},
    "names_gz": {"compression": {"output": "gz"}, "filter": {"exclude": ["$.text.foo[?(@ > 3)]"]}},
    "names_zst": {"compression": {"output": "zst"}, "filter": {"exclude": ["$.text.foo[?(@ > 3)]"]}},
    "names_none": {"compression": {"output": ""}, "filter": {"exclude": ["$.text.foo[?(@ > 3)]"]}},
}
"""Case name -> the stream's settings besides documents and output (the stream is named after the case)."""


def run_case(dolma: Path, root: Path, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Run one stream through the reference; what came out: exit status, error line, files and kept ids."""
    out = root / f"out_{name}"
    stream = {"name": name, "documents": [str(root / "documents" / "*.gz")], "output": {"path": str(out)}, **settings}
    config = {"streams": [stream], "work_dir": {"input": str(root / f"wi_{name}"), "output": str(root / f"wo_{name}")}}
    path = root / f"{name}.json"
    path.write_text(json.dumps(config))
    run = subprocess.run([str(dolma), "-c", str(path), "mix"], capture_output=True, text=True, check=False)
    errors = [line.split("] ", 1)[-1] for line in run.stderr.splitlines() if " ERROR " in line]
    files = sorted(p.name for p in out.iterdir()) if out.exists() else []
    kept = []
    for shard in sorted(out.glob(f"{name}-*.json.gz")):
        kept.extend(json.loads(line)["id"] for line in gzip.decompress(shard.read_bytes()).decode().splitlines())
    return {"failed": run.returncode != 0, "errors": [e.replace(str(root), "{root}") for e in errors],
            "files": files, "kept_ids": kept}


def main() -> None:
    dolma = require_reference()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "documents").mkdir()
        lines = "".join(json.dumps(doc) + "\n" for doc in DOCUMENTS)
        (root / "documents" / "a.jsonl.gz").write_bytes(gzip.compress(lines.encode(), mtime=0))
        results = {name: run_case(dolma, root, name, settings) for name, settings in CASES.items()}
    FIXTURE.mkdir(parents=True, exist_ok=True)
    payload = {"documents": DOCUMENTS, "cases": CASES, "results": results}
    (FIXTURE / "cases.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {FIXTURE / 'cases.json'}")


if __name__ == "__main__":
    main()
