"""Two runs on the same outputs: the first is frozen (SIGSTOP) once it holds its run lock, a second is started and
must be refused, then the first is resumed (SIGCONT) and must finish with the uninterrupted run's outputs.

A stage that never shows a lock while it runs is started twice at once instead, and the report says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from fault_kills import bytes_lost, output_tree, start
from fault_pipeline import StageSpec, make_trial, trial_root

from dolma_py.io.lock import LOCK_NAME


@dataclass
class ConcurrencyResult:
    """How the second run fared and whether the first one's outputs are intact."""

    stage: str
    lock_seen: bool
    second_rc: int
    second_refused: bool
    second_message: str
    first_rc: int
    bytes_lost: int

    @property
    def survived(self) -> bool:
        return self.second_refused and self.first_rc == 0 and self.bytes_lost == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"survived": self.survived}


def _lock_exists(root: Path, stage: StageSpec) -> bool:
    for out in stage.outputs:
        top = root / out
        if (top / LOCK_NAME).exists() or (top.parent / LOCK_NAME).exists():
            return True
        if top.is_dir() and any(top.rglob(LOCK_NAME)):
            return True
    return False


def concurrent_runs(base: Path, work: Path, stage: StageSpec, *, timeout_s: float = 120.0,
                    attempts: int = 5) -> ConcurrencyResult:
    """Run `stage` twice on the same outputs (see the module docstring)."""
    root = trial_root(work)
    lock_seen = False
    for _ in range(attempts):
        make_trial(base, root, stage)
        first = start(stage, work / f"{stage.name}.first.log")
        lock_seen = _freeze_holding_lock(first, root, stage, timeout_s)
        if lock_seen:
            break
        first.wait(timeout=timeout_s)
    if lock_seen:
        second = subprocess.run(stage.command(), capture_output=True, text=True, timeout=timeout_s)
        os.killpg(first.pid, signal.SIGCONT)
    else:  # no lock to wait for: start both at once
        make_trial(base, root, stage)
        first = start(stage, work / f"{stage.name}.first.log")
        second = subprocess.run(stage.command(), capture_output=True, text=True, timeout=timeout_s)
    first_rc = first.wait(timeout=timeout_s)
    message = (second.stderr.strip().splitlines() or [""])[-1][:300]
    refused = second.returncode != 0 and "locked by another dolma run" in second.stderr
    lost, _ = bytes_lost(output_tree(base, stage.outputs), output_tree(root, stage.outputs))
    return ConcurrencyResult(stage.name, lock_seen, second.returncode, refused, message, first_rc, lost)


def _freeze_holding_lock(first: subprocess.Popen, root: Path, stage: StageSpec, timeout_s: float) -> bool:
    """Stop `first` while it holds its lock; False (and `first` left running) if it never showed one or released
    it between the check and the stop (a fast run can finish in that gap)."""
    deadline = time.monotonic() + timeout_s
    while first.poll() is None and time.monotonic() < deadline:
        if _lock_exists(root, stage):
            try:
                os.killpg(first.pid, signal.SIGSTOP)
            except ProcessLookupError:  # it finished in the gap
                return False
            if _lock_exists(root, stage):
                return True
            os.killpg(first.pid, signal.SIGCONT)
            return False
        time.sleep(0.002)
    return False
