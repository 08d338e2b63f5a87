"""Two runs on the same outputs: the second is refused while the first holds its lock, and the first finishes
with the uninterrupted run's bytes."""

from __future__ import annotations

import pytest
from fault_concurrency import concurrent_runs
from fault_pipeline import ci_base, stage_specs, trial_root


@pytest.mark.parametrize("stage", ["tag", "dedupe-ngrams", "mix", "tokens-web", "curriculum"])
def test_second_concurrent_run_is_refused(tmp_path_factory: pytest.TempPathFactory, stage: str) -> None:
    work, base = ci_base(tmp_path_factory.getbasetemp())
    result = concurrent_runs(base, work, stage_specs(str(trial_root(work)))[stage])
    assert result.lock_seen and result.survived, result.as_dict()
