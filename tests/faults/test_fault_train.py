"""SIGKILL inside a checkpoint save and inside a metrics write: resume gives the uninterrupted loss curve."""

from __future__ import annotations

import pytest
from fault_pipeline import ci_base, stage_specs, trial_root
from fault_train import CrashResult, crash_and_resume

POINTS = [("checkpoint", 4), ("metrics", 7)]  # the 4th checkpoint's rng file; the 7th record (after step 5's save)


@pytest.fixture(scope="module", params=POINTS, ids=[f"{p}-{n}" for p, n in POINTS])
def crash(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> CrashResult:
    work, base = ci_base(tmp_path_factory.getbasetemp())
    point, nth = request.param
    return crash_and_resume(base, work, stage_specs(str(trial_root(work)))["train"], point, nth)


def test_resume_after_a_kill_mid_write_gives_the_same_loss_curve(crash: CrashResult) -> None:
    assert crash.crashed and crash.rerun_rc == 0 and crash.same_loss_curve, crash.as_dict()
    assert all(name.endswith("/optim.pt") for name in crash.differing), crash.differing


def test_resume_after_a_kill_mid_write_is_byte_identical(crash: CrashResult) -> None:
    assert crash.bytes_lost == 0, crash.differing
