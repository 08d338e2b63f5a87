"""Two gloo ranks as two independent processes (no launcher that kills the survivors): an error on one rank stops
both, in bounded time, and both report that rank's message."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from conftest import REPO_ROOT, free_port  # noqa: E402
from test_train import V, make_manifest  # noqa: E402

from dolma_py.manifest import Manifest  # noqa: E402
from dolma_py.train.data import CurriculumBatches  # noqa: E402

_RANK = r"""
import os, sys
fail_step = int(os.environ.get("FAIL_FORWARD", "0"))
if fail_step and os.environ["RANK"] == "1":  # an error nobody checks for: rank 1's n-th training forward raises
    from dolma_py.train import model
    forward, calls = model.Transformer.forward, [0]
    def failing(self, idx, labels=None, reduction="mean"):
        if labels is not None and reduction == "mean":
            calls[0] += 1
            if calls[0] == fail_step:
                raise RuntimeError("injected failure in the forward pass")
        return forward(self, idx, labels, reduction)
    model.Transformer.forward = failing
from dolma_py.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

LIMIT_S = 90.0


def run_two_ranks(
    manifest: Path, out: Path, *extra: str, env: dict[str, str] | None = None, rank1: tuple[str, ...] = ()
) -> list[tuple[int, str]]:
    """Start rank 0 and rank 1 of `dolma train` as separate processes (rank 1 with `rank1` appended to its
    arguments); their exit codes and stderr."""
    port = str(free_port())
    args = [
        "train", "--manifest", str(manifest), "--out_dir", str(out), "--model.vocab_size", str(V),
        "--data.global_batch_size", "8", "--data.micro_batch_size", "4", "--system.device", "cpu",
        "--system.threads", "1", "--eval.interval", "0", "--checkpoint.interval", "0", "--log_interval", "1",
        *extra,
    ]  # fmt: skip
    procs = []
    for rank in (0, 1):
        rank_env = os.environ | (env or {})
        rank_env.update(
            MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
            PYTHONPATH=str(REPO_ROOT),
        )  # fmt: skip
        argv = [sys.executable, "-c", _RANK, *args, *(rank1 if rank else ())]
        procs.append(subprocess.Popen(argv, env=rank_env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL))
    started = time.monotonic()
    results = []
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=max(1.0, LIMIT_S - (time.monotonic() - started)))
            results.append((proc.returncode, err.decode()))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return results


def poison(manifest_dir: Path, rank: int, step: int, token: int) -> None:
    """Write `token` into one instance that `rank` of 2 reads at `step` (and no other rank reads at any step)."""
    manifest = Manifest.open(str(manifest_dir))
    batches = CurriculumBatches(manifest, 8, 4, rank, 2)
    row = int(batches.rows(step)[0])
    shard, start, _ = (int(v) for v in batches.phase_at(step).table.rows()[row])
    path = manifest.instances(0)._shards[shard].path  # noqa: SLF001 - the test reaches into its own fixture
    data = np.fromfile(path, dtype=np.uint16)
    data[start + 5] = token
    data.tofile(path)


def test_a_bad_token_on_one_rank_stops_both_with_its_message(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    poison(manifest, rank=1, step=2, token=V + 6)
    (rc0, err0), (rc1, err1) = run_two_ranks(manifest, tmp_path / "run")
    message = f"phase 'pretrain' step 2: token id {V + 6} >= model.vocab_size={V}"
    assert rc1 != 0 and message in err1, err1
    assert rc0 != 0 and f"rank 1 failed (step 2): {message}" in err0, err0


def test_an_unchecked_error_on_one_rank_stops_the_other(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    started = time.monotonic()
    (rc0, err0), (rc1, err1) = run_two_ranks(manifest, tmp_path / "run", env={"FAIL_FORWARD": "5"})
    assert rc1 != 0 and "RuntimeError: injected failure in the forward pass" in err1, err1
    assert rc0 != 0 and "rank 1 failed: RuntimeError: injected failure in the forward pass" in err0, err0
    assert time.monotonic() - started < 60  # rank 0 was blocked in the gradient all-reduce: it did not wait it out


def test_a_failing_export_on_rank_0_stops_rank_1(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    blocker = tmp_path / "export"
    blocker.write_text("a file where the export folder should go\n")
    (rc0, err0), (rc1, err1) = run_two_ranks(manifest, tmp_path / "run", "--max_steps", "2", "--export", str(blocker))
    assert rc0 != 0 and rc1 != 0, (err0, err1)
    assert "rank 0 failed (export)" in err1, err1


def test_ranks_with_different_configs_stop_before_the_first_step(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    (rc0, err0), (rc1, err1) = run_two_ranks(manifest, tmp_path / "run", rank1=("--optim.lr", "0.5"))
    message = "rank 1's config, manifest or checkpoint differs from rank 0's; every rank must run the same"
    assert rc0 != 0 and rc1 != 0 and message in err0 and message in err1, (err0, err1)
    assert "step 1 [" not in err0  # nothing was trained
