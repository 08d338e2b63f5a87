"""Sharded checkpoints (torch.distributed.checkpoint): each rank writes its shard, asynchronously if asked; a run
resumes on another number of processes; soups and export read the shards; `consolidate` writes full-state files."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import free_port  # noqa: E402
from test_train import _worker, make_config, make_manifest, train_records  # noqa: E402

from dolma_py.config.train import CheckpointConfig, EvalConfig, SystemConfig  # noqa: E402
from dolma_py.train.checkpoint import (  # noqa: E402
    MODEL_FILE,
    OPTIM_FILE,
    list_checkpoints,
    model_files,
    read_model_state,
    read_optim_state,
    read_state,
    save_checkpoint,
)
from dolma_py.train.metrics import read_metrics  # noqa: E402
from dolma_py.train.soup import soup_state  # noqa: E402
from dolma_py.train.train import train  # noqa: E402


def assert_states_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    bad = {k: float((a[k] - b[k]).abs().max()) for k in a if not torch.allclose(a[k], b[k], rtol=1e-4, atol=5e-5)}
    assert not bad  # several processes reduce in another order than one: last-bit differences, magnified by Adam


def test_fsdp_shards_resume_on_one_process(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    single, multi = tmp_path / "single", tmp_path / "multi"
    base = make_config(manifest, single, eval=EvalConfig(interval=0))
    train(base)
    two = dataclasses.replace(
        base,
        out_dir=str(multi),
        max_steps=8,
        system=SystemConfig(device="cpu", threads=1, parallel="fsdp"),
        checkpoint=CheckpointConfig(interval=4, async_save=True),  # each rank's shard from a background thread
    )
    torch.multiprocessing.spawn(_worker, args=(2, free_port(), two), nprocs=2)
    assert [p.name for p in list_checkpoints(multi / "checkpoints")] == ["step00000004", "step00000008"]
    ckpt = list_checkpoints(multi / "checkpoints")[-1]
    assert read_state(ckpt)["world_size"] == 2
    for part in ("model", "optim"):  # each rank wrote its own shard, rank 0 the index
        assert sorted(p.name for p in (ckpt / part).iterdir()) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert not (ckpt / MODEL_FILE).exists()
    assert [p.name for p in model_files(ckpt)] == [".metadata", "__0_0.distcp", "__1_0.distcp"]

    # the soup reader assembles whole tensors from the two shards, in one process
    assert_states_close(read_model_state(ckpt), read_model_state(single / "checkpoints" / "step00000008"))

    train(dataclasses.replace(base, out_dir=str(multi), resume=True))  # 2 processes -> 1
    events = [r["event"] for r in read_metrics(multi / "metrics.jsonl") if "event" in r]
    assert not [e for e in events if "reseeded" in e]  # fewer ranks: each has its saved RNG state
    assert_states_close(
        read_model_state(multi / "checkpoints" / "step00000012"), read_model_state(single / "checkpoints/step00000012")
    )
    one, two_then_one = train_records(single), train_records(multi)
    assert [r["step"] for r in one] == [r["step"] for r in two_then_one]
    for a, b in zip(one, two_then_one, strict=True):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4), a["step"]


def test_async_save_writes_the_same_checkpoints(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    sync, background = tmp_path / "sync", tmp_path / "async"
    train(make_config(manifest, sync, max_steps=10))
    train(make_config(manifest, background, max_steps=10, checkpoint=CheckpointConfig(interval=4, async_save=True)))
    names = [p.name for p in list_checkpoints(background / "checkpoints")]
    assert names == ["step00000004", "step00000008", "step00000010"]
    for name in names:
        a, b = (r / "checkpoints" / name for r in (sync, background))
        sa, sb = read_model_state(a), read_model_state(b)
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
        assert read_state(a)["step"] == read_state(b)["step"]
        files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and p.name != "state.json")
        assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file() and p.name != "state.json")
        assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files), name  # deterministic bytes


def test_consolidate_writes_a_full_state_checkpoint_that_resumes(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    train(make_config(manifest, full))
    train(make_config(manifest, part, max_steps=8))
    sharded = part / "checkpoints" / "step00000008"
    from dolma_py.cli.main import main

    assert main(["consolidate", str(sharded), str(tmp_path / "consolidated")]) == 0
    out = tmp_path / "consolidated"
    assert model_files(out) == [out / MODEL_FILE]
    assert sorted(p.name for p in out.iterdir()) == [MODEL_FILE, OPTIM_FILE, "rng-rank00000.pt", "state.json"]
    model = torch.load(out / MODEL_FILE, weights_only=True)
    assert all(torch.equal(model[k], v) for k, v in read_model_state(sharded).items())
    optim = torch.load(out / OPTIM_FILE, weights_only=True)
    assert optim["state"].keys() == read_optim_state(sharded)["state"].keys()
    assert torch.equal(soup_state([out])["norm.weight"], soup_state([sharded])["norm.weight"])

    # the full-state form resumes bit-identically, like the sharded one
    shutil.rmtree(sharded)
    shutil.copytree(out, sharded)
    train(make_config(manifest, part, resume=True))
    a, b = (read_model_state(r / "checkpoints" / "step00000012") for r in (full, part))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_saved_by_hand_is_resumed(tmp_path: Path) -> None:
    """`save_checkpoint` (one process, e.g. the step-0 checkpoint of a run seeded from other weights) writes what
    `dolma train --resume` continues from."""
    from dolma_py.train.model import Transformer
    from dolma_py.train.schedule import build_optimizer

    manifest = make_manifest(tmp_path)
    fresh, seeded = tmp_path / "fresh", tmp_path / "seeded"
    config = make_config(manifest, fresh, max_steps=4, eval=EvalConfig(interval=0))
    train(config)
    torch.manual_seed(config.seed)
    model = Transformer(config.model)
    optimizer = build_optimizer(model, config.optim, fused=False)
    start = read_state(list_checkpoints(fresh / "checkpoints")[0]) | {"step": 0, "instances": 0, "tokens": 0}
    ckpt = save_checkpoint(seeded / "checkpoints", 0, model, optimizer, start)
    assert ckpt.name == "step00000000" and read_state(ckpt)["format_version"] == 2
    train(dataclasses.replace(config, out_dir=str(seeded), resume=True))
    a, b = (read_model_state(r / "checkpoints" / "step00000004") for r in (fresh, seeded))
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same init, so the same run


def test_one_process_checkpoint_resumes_on_two(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    single, grown = tmp_path / "single", tmp_path / "grown"
    base = make_config(manifest, single, max_steps=8, eval=EvalConfig(interval=0))
    train(base)
    train(dataclasses.replace(base, out_dir=str(grown), max_steps=4))
    two = dataclasses.replace(base, out_dir=str(grown), resume=True, system=SystemConfig(device="cpu", threads=1))
    torch.multiprocessing.spawn(_worker, args=(2, free_port(), two), nprocs=2)
    events = [(r["step"], r["event"]) for r in read_metrics(grown / "metrics.jsonl") if "event" in r]
    assert (4, "resumed on 2 processes from 1: ranks >= 1 reseeded") in events
    assert read_state(grown / "checkpoints" / "step00000008")["world_size"] == 2
    assert_states_close(
        read_model_state(grown / "checkpoints" / "step00000008"), read_model_state(single / "checkpoints/step00000008")
    )
