"""Training crash points: SIGKILL `dolma train` in the middle of a checkpoint save (after the n-th torch file of the
save is half written) or of a metrics write (half of the n-th record's line written), then resume with a plain
`dolma train` and compare the loss curve and the checkpoints with an uninterrupted run's.

The crash points are test-only hooks installed by a wrapper around the CLI (`_HOOK`), in the spirit of
`dolma_py/io/atomic.py`'s `crash_point`, so no library code changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fault_kills import TIMING_FIELDS, bytes_lost, output_tree
from fault_pipeline import StageSpec, make_trial, trial_root

_HOOK = r"""
import json, os, signal, sys
from dolma_py.train import checkpoint, metrics
point, target = sys.argv[1], int(sys.argv[2])
count = [0]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "checkpoint":
    save = checkpoint._save
    def _save(obj, path):
        count[0] += 1
        save(obj, path)
        if count[0] == target:
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
            die()
    checkpoint._save = _save
else:
    write = metrics.MetricsLog.write
    def _write(self, record):
        count[0] += 1
        if count[0] == target and self.enabled:
            line = json.dumps(record) + "\n"
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line[: len(line) // 2])
            die()
        write(self, record)
    metrics.MetricsLog.write = _write
from dolma_py.cli.main import main
sys.exit(main(sys.argv[3:]))
"""


def loss_curve(run_dir: Path) -> list[dict]:
    """The training and eval records of `metrics.jsonl`, without wall-clock fields."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in records]


@dataclass
class CrashResult:
    """One crash point: whether it fired, whether resume completed, and what differs."""

    point: str
    nth: int
    crashed: bool
    rerun_rc: int
    same_loss_curve: bool
    bytes_lost: int
    differing: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.crashed and self.rerun_rc == 0 and self.same_loss_curve and self.bytes_lost == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"survived": self.survived}


def crash_and_resume(base: Path, work: Path, stage: StageSpec, point: str, nth: int) -> CrashResult:
    """Kill the train `stage` at the `nth` checkpoint file or metrics record (`point`), resume, compare."""
    root = trial_root(work)
    make_trial(base, root, stage)
    crashed = subprocess.run([sys.executable, "-c", _HOOK, point, str(nth), *stage.argv],
                             capture_output=True).returncode == -9
    rerun = subprocess.run(stage.command(), capture_output=True, text=True)
    same = rerun.returncode == 0 and loss_curve(root / "run") == loss_curve(base / "run")
    lost, differing = bytes_lost(output_tree(base, stage.outputs), output_tree(root, stage.outputs))
    return CrashResult(point, nth, crashed, rerun.returncode, same, lost, differing)
