"""Regenerate tests/fixtures/dolma_golden/surface.json: every command, config key and tagger name dolma 1.2.1 has.

Read from the installed reference (benchmarks/setup_reference.sh) itself, so docs/compatibility.md can be checked for
completeness in CI:

    python benchmarks/golden_surface.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PYTHON = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "python"
OUT = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "surface.json"

# Runs inside the reference venv, outside the repository (whose `dolma/` package would shadow the reference's).
PROBE = r'''
import dataclasses, json, typing
from dolma.cli.main import AVAILABLE_COMMANDS
from dolma.core.registry import TaggerRegistry

def dataclass_of(tp):
    while True:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is typing.Union:
            rest = [a for a in args if a is not type(None)]
            if len(rest) != 1:
                return None
            tp = rest[0]
        elif origin in (list, typing.List) and args:
            tp = args[0]
        else:
            return tp if dataclasses.is_dataclass(tp) else None

def keys(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        inner = dataclass_of(hints[f.name])
        if inner is not None:
            yield from keys(inner, prefix + f.name + ".")
        else:
            yield prefix + f.name

commands = {name: sorted(set(keys(cli.CONFIG))) for name, cli in AVAILABLE_COMMANDS.items()}
print(json.dumps({"commands": commands, "taggers": sorted(name for name, _ in TaggerRegistry.items())}))
'''


def main() -> None:
    result = subprocess.run([str(REFERENCE_PYTHON), "-c", PROBE], check=True, capture_output=True, text=True,
                            cwd="/")
    surface = json.loads(result.stdout.strip().splitlines()[-1])
    OUT.write_text(json.dumps(surface, indent=1, sort_keys=True) + "\n")
    print(f"{len(surface['commands'])} commands, {sum(map(len, surface['commands'].values()))} keys, "
          f"{len(surface['taggers'])} taggers")


if __name__ == "__main__":
    main()
