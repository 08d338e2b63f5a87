"""Disk full: the trial lives on a tmpfs sized to its inputs plus half the stage's outputs, so a write fails with
ENOSPC mid-run. The run must fail with a clear message, every data file under its final name must be complete
(identical to the uninterrupted run's, or a whole file of its kind: a state file recording less progress) or
absent, and after the disk is grown a rerun must complete identically.

Mounting needs root (CAP_SYS_ADMIN); elsewhere `RLIMIT_FSIZE` (set in the child) caps each file at half the stage's
largest output instead, and writes past it fail with EFBIG.
"""

from __future__ import annotations

import gzip
import json
import resource
import shutil
import subprocess
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fault_kills import bytes_lost, output_tree
from fault_pipeline import StageSpec, make_trial, trial_root

PAGE = 4096
CLEAR_MESSAGES = ("No space left on device", "File too large")


def _mount_tmpfs(path: Path, size: int) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], check=True)


def _pages(size: int) -> int:
    return -(-size // PAGE) * PAGE


def _tree_size(path: Path) -> int:
    """What the files under `path` take on a tmpfs (whole pages)."""
    return sum(_pages(p.stat().st_size) for p in path.rglob("*") if p.is_file())


def _visible(name: str) -> bool:
    return not any(part.startswith((".", "_")) for part in Path(name).parts[1:])


def _whole(path: Path) -> bool:
    """True when a file that differs from the reference is still a complete file of its kind (a state file that
    recorded less progress); formats without an end marker (.npy, .bin) never count as whole."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_bytes())
        elif path.suffix == ".jsonl":
            for line in path.read_text().splitlines(keepends=True):
                if not line.endswith("\n"):
                    return False
                json.loads(line)
        elif path.suffix == ".gz":
            gzip.decompress(path.read_bytes())
        elif path.suffix == ".pt":
            return zipfile.is_zipfile(path)
        else:
            return False
    except (ValueError, OSError, EOFError):
        return False
    return True


@dataclass
class DiskFullResult:
    """What a run that ran out of space did, and whether the rerun restored everything."""

    stage: str
    mode: str  # "tmpfs" or "rlimit_fsize"
    limit_bytes: int
    rc: int
    message: str
    problems: list[str] = field(default_factory=list)
    rerun_rc: int | None = None
    bytes_lost: int = 0

    @property
    def survived(self) -> bool:
        return not self.problems and self.rerun_rc == 0 and self.bytes_lost == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"survived": self.survived}


def _capped(limit: int):  # noqa: ANN202 - a preexec_fn
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def disk_full(base: Path, work: Path, stage: StageSpec) -> DiskFullResult:
    """Run `stage` out of space, check what is visible, then grow the disk and rerun (see the module docstring)."""
    root = trial_root(work)
    reference = output_tree(base, stage.outputs)
    out_bytes = sum(_pages(len(v)) for v in reference.values())
    shutil.rmtree(root, ignore_errors=True)
    make_trial(base, work / "disk-input", stage)
    in_bytes = _tree_size(work / "disk-input")
    limit = in_bytes + out_bytes // 2
    mounted = _mount_tmpfs(root, limit)
    try:
        if mounted:
            shutil.copytree(work / "disk-input", root, dirs_exist_ok=True, symlinks=True)
            proc = subprocess.run(stage.command(), capture_output=True, text=True)
            mode = "tmpfs"
        else:
            shutil.move(work / "disk-input", root)
            limit = max(len(v) for v in reference.values()) // 2
            proc = subprocess.run(stage.command(), capture_output=True, text=True, preexec_fn=_capped(limit))
            mode = "rlimit_fsize"
        output = proc.stdout + proc.stderr
        message = next((line for line in output.splitlines() if any(m in line for m in CLEAR_MESSAGES)),
                       output.strip()[-300:])
        result = DiskFullResult(stage.name, mode, limit, proc.returncode, message[:400])
        if proc.returncode == 0:
            result.problems.append("the run succeeded although its outputs did not fit")
        if "Traceback" in output:
            result.problems.append("the run crashed with a traceback")
        if not any(m in output for m in CLEAR_MESSAGES):
            result.problems.append("the error does not say the disk is full")
        got = output_tree(root, stage.outputs)
        torn = [name for name, data in got.items()
                if _visible(name) and reference.get(name) != data and not _whole(root / name)]
        if torn:
            result.problems.append(f"half-written files under final names: {torn[:5]}")
        if mounted:
            subprocess.run(["mount", "-o", f"remount,size={limit + out_bytes * 4 + 10**7}", str(root)], check=True)
        rerun = subprocess.run(stage.command(), capture_output=True, text=True)
        result.rerun_rc = rerun.returncode
        result.bytes_lost, _ = bytes_lost(reference, output_tree(root, stage.outputs))
        return result
    finally:
        if mounted:
            _umount(root)
        shutil.rmtree(work / "disk-input", ignore_errors=True)
