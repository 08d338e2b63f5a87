"""SIGKILL at random moments: run a stage as a subprocess, kill its whole process group after a seeded delay drawn
within an uninterrupted run's duration, rerun it to completion, and compare its outputs byte for byte with the
uninterrupted run's.

Left out of the comparison, because they legitimately differ between two complete runs:
- run summaries (`_dolma_<command>_summary.json`: elapsed time, units skipped on resume, locks taken over);
- in `metrics.jsonl`, the throughput fields `tokens_per_s` and `mfu` (wall-clock measurements);
- in checkpoints' torch archives, the member `.data/serialization_id` (torch numbers the saves of each process,
  so a resumed process numbers them anew);
- in the token shards' state file `.dolma_py-tokens.json`, its `stages` list (the summaries of the runs that built it);
- in completion markers, the mtimes of inputs that the run itself wrote under an underscore work directory (fuzzy
  dedupe's `_minhash/` files, inputs of its later stages): their sizes are still compared.
Every other file, hidden bookkeeping included (completion markers, filter progress, token-shard state), must be
identical.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fault_pipeline import StageSpec, make_trial, trial_root

TIMING_FIELDS = ("tokens_per_s", "mfu")
TOKENS_STATE = ".dolma_py-tokens.json"


def _is_summary(name: str) -> bool:
    return name.startswith("_dolma_") and name.endswith("_summary.json")


def _normalized(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == TOKENS_STATE:
        return json.dumps({k: v for k, v in json.loads(data).items() if k != "stages"}, sort_keys=True).encode()
    if path.name.startswith(".") and path.name.endswith(".done"):
        return _marker(data)
    if path.suffix == ".pt":
        return _torch_archive(path)
    if path.name != "metrics.jsonl":
        return data
    lines = []
    for line in data.decode().splitlines():
        record = json.loads(line)
        lines.append(json.dumps({k: v for k, v in record.items() if k not in TIMING_FIELDS}))
    return "\n".join(lines).encode()


def _marker(data: bytes) -> bytes:
    """A completion marker with the mtimes of the run's own work files dropped (their sizes kept)."""
    try:
        record = json.loads(data)
    except ValueError:  # torn by the fault under test: compared as it is
        return data
    inputs = record.get("inputs", {})
    for name, state in inputs.items():
        if any(part.startswith("_") for part in Path(name).parts):
            inputs[name] = state[:1]
    return json.dumps(record, sort_keys=True).encode()


def _torch_archive(path: Path) -> bytes:
    """A torch.save zip's members without `.data/serialization_id` (torch numbers the saves of each process)."""
    if not zipfile.is_zipfile(path):  # torn by the fault under test: compared as it is
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return b"".join(name.encode() + b"\0" + archive.read(name) for name in sorted(archive.namelist())
                        if not name.endswith("/.data/serialization_id"))


def output_tree(root: Path, outputs: tuple[str, ...]) -> dict[str, bytes]:
    """Every compared file under `root`'s `outputs` (relative path -> normalized bytes)."""
    tree = {}
    for out in outputs:
        top = root / out
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            if not _is_summary(path.name):
                tree[str(path.relative_to(root))] = _normalized(path)
    return tree


def bytes_lost(reference: dict[str, bytes], got: dict[str, bytes]) -> tuple[int, list[str]]:
    """Bytes of reference files missing or different in `got`, and the differing paths (extra files count too)."""
    lost, differing = 0, []
    for name in sorted(set(reference) | set(got)):
        if reference.get(name) != got.get(name):
            lost += len(reference.get(name, got.get(name, b"")))
            differing.append(name)
    return lost, differing


@dataclass
class KillResult:
    """One kill: when it was sent, whether it hit a live run, and whether the rerun restored every byte."""

    delay_s: float
    killed: bool
    rerun_rc: int
    bytes_lost: int
    differing: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.rerun_rc == 0 and self.bytes_lost == 0


def start(stage: StageSpec, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `stage` in its own process group (so a kill reaches its pool workers too), logging to `log`."""
    with open(log, "ab") as fh:
        return subprocess.Popen(stage.command(), stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)


def kill_group(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL `proc`'s process group; True if it was still running."""
    alive = proc.poll() is None
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return alive


def kill_and_rerun(base: Path, work: Path, stage: StageSpec, delay_s: float) -> KillResult:
    """A fresh trial of `stage`: SIGKILL after `delay_s`, rerun to completion, compare with the base's outputs."""
    root = trial_root(work)
    make_trial(base, root, stage)
    log = work / f"{stage.name}.log"
    proc = start(stage, log)
    time.sleep(delay_s)
    killed = kill_group(proc)
    rerun = subprocess.run(stage.command(), capture_output=True, text=True)
    if rerun.returncode != 0:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"rerun after a kill at {delay_s:.3f}s failed:\n{rerun.stderr}\n")
    lost, differing = bytes_lost(output_tree(base, stage.outputs), output_tree(root, stage.outputs))
    return KillResult(round(delay_s, 4), killed, rerun.returncode, lost, differing)


def measure_duration(base: Path, work: Path, stage: StageSpec) -> float:
    """Wall time of an uninterrupted run of `stage` on a fresh trial (whose outputs must match the base's)."""
    root = trial_root(work)
    make_trial(base, root, stage)
    started = time.perf_counter()
    proc = subprocess.run(stage.command(), capture_output=True, text=True)
    duration = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{stage.name}: uninterrupted run failed:\n{proc.stderr[-3000:]}")
    lost, differing = bytes_lost(output_tree(base, stage.outputs), output_tree(root, stage.outputs))
    if lost:
        raise RuntimeError(f"{stage.name}: two uninterrupted runs differ in {differing}")
    return duration


@dataclass
class KillReport:
    """All kills of one stage."""

    stage: str
    duration_s: float
    kills: list[KillResult]

    @property
    def survived(self) -> int:
        return sum(k.survived for k in self.kills)

    @property
    def bytes_lost(self) -> int:
        return sum(k.bytes_lost for k in self.kills)

    def kills_hit_live_run(self) -> int:
        """Kills sent while the stage was still running (the others came after it had finished)."""
        return sum(k.killed for k in self.kills)

    def as_dict(self) -> dict:
        return {"stage": self.stage, "duration_s": round(self.duration_s, 3), "kills_tried": len(self.kills),
                "kills_hit_live_run": self.kills_hit_live_run(), "kills_survived": self.survived,
                "bytes_lost": self.bytes_lost, "kills": [asdict(k) for k in self.kills]}


def kill_stage(base: Path, work: Path, stage: StageSpec, *, kills: int, seed: int) -> KillReport:
    """`kills` seeded random kills of `stage`, each followed by a rerun and a byte-for-byte comparison."""
    duration = measure_duration(base, work, stage)
    rng = random.Random(f"{seed}:{stage.name}")
    delays = sorted(rng.uniform(0.0, duration) for _ in range(kills))
    return KillReport(stage.name, duration, [kill_and_rerun(base, work, stage, d) for d in delays])
