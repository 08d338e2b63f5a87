"""SIGKILL at seeded random moments, then a rerun: every data stage ends with the uninterrupted run's bytes.

Training is killed at chosen moments in test_fault_train (random ones take the full run: benchmarks/faults.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_kills import kill_stage
from fault_pipeline import STAGES, ci_base, stage_specs, trial_root


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return ci_base(tmp_path_factory.getbasetemp())


@pytest.mark.parametrize("stage", [s for s in STAGES if s != "train"])
def test_sigkill_then_rerun_restores_every_byte(pipeline: tuple[Path, Path], stage: str) -> None:
    work, base = pipeline
    report = kill_stage(base, work, stage_specs(str(trial_root(work)))[stage], kills=3, seed=0)
    assert report.kills_hit_live_run() >= 1, f"no kill hit a live run: {report.as_dict()}"
    assert report.survived == len(report.kills), report.as_dict()
