"""`dolma.deduper(config)` and `dolma.mixer(config)`: dolma's Python entry points, running dolma_py's stages.

They take the dict dolma's CLI hands its Rust core, validate it against the same typed config `dolma dedupe` and
`dolma mix` use (which accept dolma's keys), and run the stage in this process. Any failure raises
`DolmaRustPipelineError`, as dolma's entry points do. The stages are imported on the first call, keeping
`import dolma` light.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from dolma.core.errors import DolmaRustPipelineError
from dolma_py.errors import DolmaError

T = TypeVar("T")


def deduper(config: dict[str, Any]) -> None:
    """Run `dolma dedupe` on dolma's deduper config dict."""
    from dolma_py.config.dedupe import DedupeConfig
    from dolma_py.dedupe.pipeline import run_dedupe

    typed = _typed(DedupeConfig, config, "deduper")
    try:
        summary, _ = run_dedupe(typed, progress=False)
    except DolmaError as err:
        raise DolmaRustPipelineError(f"Error running deduper: {err}") from err
    if not summary.ok:
        errors = "; ".join(f"{failure['unit']}: {failure['error']}" for failure in summary.failures)
        raise DolmaRustPipelineError(f"Error running deduper: {summary.units_failed} file(s) failed: {errors}")


def mixer(config: dict[str, Any]) -> None:
    """Run `dolma mix` on dolma's mixer config dict."""
    from dolma_py.config.mix import MixConfig
    from mixers.stream.pipeline import run_mix

    typed = _typed(MixConfig, config, "mixer")
    try:
        reports, _ = run_mix(typed, progress=False)
    except DolmaError as err:
        raise DolmaRustPipelineError(f"Error running mixer: {err}") from err
    failed = [f"stream {report.stream!r}: {report.error}" for report in reports if report.status == "failed"]
    if failed:
        raise DolmaRustPipelineError(f"Error running mixer: {'; '.join(failed)}")


def _typed(schema: type[T], config: dict[str, Any], entry_point: str) -> T:
    """The validated config; errors name the key, with `dolma.<entry_point> config` as their origin."""
    from dolma_py.config.loader import build

    if not isinstance(config, dict):
        raise DolmaRustPipelineError(f"dolma.{entry_point} takes a dict config, got {type(config).__name__}")
    try:
        typed = build(schema, copy.deepcopy(config), f"dolma.{entry_point} config")
    except DolmaError as err:
        raise DolmaRustPipelineError(f"Error running {entry_point}: {err}") from err
    if getattr(typed, "dryrun", False):
        raise DolmaRustPipelineError(f"dolma.{entry_point} always runs; 'dryrun' is a command-line option")
    return typed
