"""Disk full mid-run: a clear error, nothing half-written under a final name, and a complete rerun once there is
room."""

from __future__ import annotations

import pytest
from fault_disk import disk_full
from fault_pipeline import ci_base, stage_specs, trial_root


@pytest.mark.parametrize("stage", [
    "tag", "mix", "tokens-web", "dedupe-paragraphs", "curriculum",
])
def test_disk_full_fails_clearly_and_leaves_nothing_half_written(tmp_path_factory: pytest.TempPathFactory,
                                                                 stage: str) -> None:
    work, base = ci_base(tmp_path_factory.getbasetemp())
    result = disk_full(base, work, stage_specs(str(trial_root(work)))[stage])
    assert result.survived, result.as_dict()
