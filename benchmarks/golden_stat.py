"""Regenerate tests/fixtures/dolma_golden/stat/: dolma 1.2.1's own `dolma stat` report on small generated inputs.

The inputs are two attribute files covering what the analyzer treats specially: document-level integer and float
scores, several spans per document, empty span lists (counted as one `(0, 0, 0.0)` span), fastText label scores
above 1.0 (capped), a key present in one file only, negative and tiny values. Each case is run by the reference
(benchmarks/setup_reference.sh) from a directory outside the repository, since our `dolma/` package would shadow it.
The fixture keeps the inputs, each case's config and the report lines dolma wrote, byte for byte, so CI checks
`dolma stat` against dolma without installing it:

    python benchmarks/golden_stat.py
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import yaml
from common import REPO_ROOT, require_reference

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "stat"
ROOT = "{root}"  # placeholder for the fixture's attributes directory in the stored configs

CASES: dict[str, dict] = {
    "default": {},
    "few_bins": {"bins": 8},  # more distinct buckets than bins over both files, but not within each
    "regex": {"regex": "length|label"},
}


def _line(doc_id: str, attributes: dict) -> str:
    return json.dumps({"id": doc_id, "attributes": attributes}) + "\n"


def attribute_files() -> dict[str, str]:
    """File name -> contents of the generated attribute set (seeded: the same bytes every time)."""
    rng = random.Random(7)
    files: dict[str, str] = {}
    for index in range(2):
        lines = []
        for n in range(40):
            length = rng.randint(1, 400)
            spans = [[s, s + rng.randint(1, 9), round(rng.random(), 3)] for s in range(0, rng.randint(0, 4) * 10, 10)]
            attributes = {
                "exp__len__length": [[0, length, length]],
                "exp__ratio__score": [[0, length, [0.25, 0.5, 0.75, 0.125][n % 4] + index]],
                "exp__pii__spans": spans,
                "exp__ft__en__label__en": [[0, length, [1.0000001, 0.9, 0.3, 1.2][n % 4]]],
                "exp__signed__value": [[0, length, [-2.5, 1e-7, 3.0, -0.001][n % 4]]],
            }
            if index == 1:
                attributes["exp__late__flag"] = [[0, length, 1]] if n % 3 else []
            lines.append(_line(f"f{index}-{n}", attributes))
        files[f"part-{index}.jsonl"] = "".join(lines)
    return files


def _run_reference(dolma: Path, attributes: Path, case: dict, work: Path) -> list[str]:
    report = work / "report"
    config = {"attributes": [str(attributes / "*.jsonl.gz")], "report": str(report), "processes": 1, **case}
    (work / "stat.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([str(dolma), "-c", str(work / "stat.yaml"), "stat"], cwd=work, check=True, capture_output=True)
    with gzip.open(report / "summaries.jsonl.gz", "rt", encoding="utf-8") as fh:
        return fh.read().splitlines()


def main() -> None:
    dolma = require_reference()
    if FIXTURE.exists():
        shutil.rmtree(FIXTURE)
    (FIXTURE / "attributes").mkdir(parents=True)
    for name, text in attribute_files().items():
        (FIXTURE / "attributes" / name).write_text(text)
    cases = {}
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            attributes = work / "attributes"
            attributes.mkdir()
            for file_name, text in attribute_files().items():
                with gzip.open(attributes / f"{file_name}.gz", "wt", encoding="utf-8") as fh:
                    fh.write(text)
            cases[name] = {"config": case, "report": _run_reference(dolma, attributes, case, work)}
        print(f"{name}: {len(cases[name]['report'])} report lines")
    (FIXTURE / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")


if __name__ == "__main__":
    main()
