"""`dolma curriculum plan|build SPEC.yaml [--key value ...]`: check a curriculum, or write its manifest."""

from __future__ import annotations

import sys

from dolma_py.errors import ConfigError
from mixers.curriculum.spec import CurriculumSpec

SUMMARY = "plan (plan) or write (build) a phased curriculum manifest over token shards"
CONFIG = CurriculumSpec
USAGE = "usage: dolma curriculum {plan,build} SPEC.yaml [--overwrite] [--spec.key value ...]"


def main(argv: list[str]) -> int:
    """Parse `ACTION SPEC [--overwrite] [overrides]`, then plan or build."""
    from dolma_py.config.loader import parse_overrides
    from mixers.curriculum.builder import run_build
    from mixers.curriculum.catalog import build_catalog
    from mixers.curriculum.planner import format_plan, make_plan
    from mixers.curriculum.spec import load_spec

    if len(argv) < 2 or argv[0] not in ("plan", "build") or argv[1].startswith("--"):
        raise ConfigError(USAGE)
    action, spec_path, rest = argv[0], argv[1], argv[2:]
    overwrite = "--overwrite" in rest
    rest = [arg for arg in rest if arg != "--overwrite"]
    spec = load_spec(spec_path, parse_overrides(CurriculumSpec, rest))
    plan = make_plan(spec, build_catalog(spec))
    print(format_plan(plan))
    if action == "plan":
        return 0
    if spec.destination is None:
        raise ConfigError(f"{spec_path}: set 'destination' (or --destination DIR) to say where the manifest goes")
    summary, where, built = run_build(plan, spec.destination, overwrite=overwrite)
    state = "written" if built else "already up to date (same spec and shards); --overwrite rebuilds it"
    print(f"manifest {spec.destination}: {state}", file=sys.stderr)
    print(f"  summary: {where}", file=sys.stderr)
    return 0 if summary.ok else 1
