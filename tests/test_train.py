"""`dolma train` on CPU: model shape, learning, exact resume, soups, export, phases/LR, DDP and FSDP, bad configs."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import REPO_ROOT, free_port, write_test_manifest, write_token_shards  # noqa: E402

from dolma_py.config.train import (  # noqa: E402
    PRESETS,
    CheckpointConfig,
    DataConfig,
    EvalConfig,
    ModelConfig,
    OptimConfig,
    ScheduleConfig,
    SystemConfig,
    TrainConfig,
)
from dolma_py.errors import ConfigError, DolmaError  # noqa: E402
from dolma_py.manifest import Manifest, PhaseInfo  # noqa: E402
from dolma_py.train.checkpoint import list_checkpoints, read_model_state, read_optim_state, read_state  # noqa: E402
from dolma_py.train.data import CurriculumBatches  # noqa: E402
from dolma_py.train.loss import IGNORE, chunked_lm_loss, shift_labels  # noqa: E402
from dolma_py.train.metrics import read_metrics  # noqa: E402
from dolma_py.train.model import Transformer, flops_per_token, matmul_params  # noqa: E402
from dolma_py.train.schedule import LRSchedule  # noqa: E402
from dolma_py.train.soup import soup_state, write_soup  # noqa: E402
from dolma_py.train.train import train  # noqa: E402

V, SEQ = 64, 33
STEPS = {"a": 1, "b": 3}
"""Learnable corpus: source `a` counts up by 1 (mod V), `b` by 3, from a random start per instance."""


def make_manifest(
    root: Path, phases: tuple[tuple[str, int], ...] = (("pretrain", 64), ("anneal", 32)), val: int = 16
) -> Path:
    """Raw uint16 shards (one per source, instance-aligned) and a manifest whose phases draw disjoint instances."""
    rng = np.random.default_rng(0)
    per_source = sum(n for _, n in phases) // 2 + val // 2
    tokens = []
    for step in STEPS.values():
        starts = rng.integers(0, V, per_source)
        tokens.append(((starts[:, None] + step * np.arange(SEQ)[None, :]) % V).astype(np.uint16).reshape(-1))
    shards = write_token_shards(root, tokens, "shard-{}.npy")
    next_slot = 0

    def take(n: int) -> np.ndarray:
        nonlocal next_slot
        slots = np.arange(next_slot, next_slot + n // 2)
        next_slot += n // 2
        rows = np.array([[src, slot * SEQ, src] for slot in slots for src in (0, 1)], dtype=np.uint64)
        return rows[rng.permutation(len(rows))]

    half = {"a": 0.5, "b": 0.5}
    tables = [(PhaseInfo(name, n, n * SEQ, half, half), take(n)) for name, n in phases]
    validation = take(val) if val else None
    return write_test_manifest(
        root / "manifest", shards, sequence_length=SEQ, sources=list(STEPS), phases=tables, validation=validation
    )


def make_config(manifest: Path, out: Path, /, **changes: object) -> TrainConfig:
    base = TrainConfig(
        manifest=str(manifest),
        out_dir=str(out),
        model=ModelConfig(vocab_size=V),
        data=DataConfig(global_batch_size=8, micro_batch_size=4),
        optim=OptimConfig(lr=1e-2),
        schedule=ScheduleConfig(warmup_steps=2, anneal_phase="anneal"),
        eval=EvalConfig(interval=4),
        checkpoint=CheckpointConfig(interval=4),
        system=SystemConfig(device="cpu", threads=1),
        log_interval=1,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def train_records(run: Path) -> list[dict]:
    return [r for r in read_metrics(run / "metrics.jsonl") if "loss" in r]


# --- model ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "total", "ladder"),
    [
        ("tiny", 172_608, 139_840),
        ("190M", 267_424_512, 190_354_176),
        ("370M", 474_022_912, 371_262_464),
        ("760M", 912_360_960, 758_220_288),
        ("1B", 1_484_916_736, 1_279_395_840),
    ],
)
def test_preset_parameter_counts(preset: str, total: int, ladder: int) -> None:
    with torch.device("meta"):
        model = Transformer(ModelConfig(preset=preset))
    cfg = model.cfg
    n = sum(p.numel() for p in model.parameters())
    assert n == total
    assert n - cfg.vocab_size * cfg.d_model == ladder  # the ladder name counts non-embedding + input embedding
    assert matmul_params(cfg) == n - cfg.vocab_size * cfg.d_model - (4 * cfg.n_layers + 1) * cfg.d_model
    assert set(PRESETS) == {"tiny", "190M", "370M", "760M", "1B"}


def test_flops_per_token_is_a_hand_count() -> None:
    """d 8, 1 layer, 2 heads, SwiGLU 16, vocab 10, 4 tokens, counted by hand (2 FLOPs per multiply-add)."""
    cfg = ModelConfig(d_model=8, n_layers=1, n_heads=2, mlp_hidden=16, vocab_size=10, max_seq_len=4)
    per_token_matmul = 2 * (4 * 8 * 8 + 3 * 8 * 16 + 10 * 8)  # q k v o, gate up down, LM head: 1440
    # causal attention over the sequence: query t meets t + 1 keys, 8 multiply-adds for q.k and 8 for the values
    attention = sum(2 * (8 + 8) * (t + 1) for t in range(4))  # 320 for the 4 tokens
    forward_per_token = per_token_matmul + attention / 4  # 1520
    assert flops_per_token(cfg, 4) == 3 * forward_per_token == 4560  # backward = 2 x forward
    # the matmul part against torch's FLOP counter over a real forward pass (which counts attention as non-causal)
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        Transformer(cfg)(torch.zeros(1, 4, dtype=torch.long))
    counts = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    assert counts["aten.mm"] == 4 * per_token_matmul
    assert sum(n for op, n in counts.items() if "attention" in op) == 4 * 8 * 4 * 4  # full 4 x 4 scores: 512 > 320


def test_peak_flops_by_device_name() -> None:
    from dolma_py.train.distributed import peak_flops_for

    names = {
        "NVIDIA H100 80GB HBM3": 989e12,
        "NVIDIA H100 PCIe": 756e12,
        "NVIDIA H100 NVL": 835e12,
        "NVIDIA H200": 989e12,
        "NVIDIA GH200 480GB": 989e12,
        "NVIDIA A100-SXM4-40GB": 312e12,
        "NVIDIA A100 80GB PCIe": 312e12,
        "NVIDIA L40S": 362e12,
        "NVIDIA L40": 181e12,
        "NVIDIA L4": 121e12,
        "NVIDIA A10": 125e12,
        "NVIDIA B200": 2250e12,
    }
    assert {name: peak_flops_for(name) for name in names} == names
    assert peak_flops_for("NVIDIA A10G") is None and peak_flops_for("Tesla T4") is None  # unknown: no guessed MFU


def test_cuda_rank_sets_its_device_before_joining_nccl(monkeypatch: pytest.MonkeyPatch) -> None:
    """The order NCCL needs, checked with torch's CUDA and process-group calls replaced by recorders (no GPU here)."""
    import torch.distributed as dist

    from dolma_py.train import distributed, together

    calls: list[tuple] = []
    joined = [False]

    def init_process_group(backend: str, **kwargs: object) -> None:
        calls.append(("init_process_group", backend, kwargs))
        joined[0] = True

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.append(("set_device", device)))
    monkeypatch.setattr(dist, "is_initialized", lambda: joined[0])
    monkeypatch.setattr(dist, "init_process_group", init_process_group)
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(together.ControlGroup, "__init__", lambda self, world, rank: None)
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        rt = distributed.init_runtime(SystemConfig(device="cuda"))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    cuda1 = torch.device("cuda", 1)
    assert calls == [("set_device", cuda1), ("init_process_group", "nccl", {"device_id": cuda1})]
    assert (rt.rank, rt.world, rt.device, rt.bf16) == (1, 2, cuda1, True)


def test_model_is_olmo2_shaped() -> None:
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=V))
    names = dict(model.named_parameters())
    assert not [n for n in names if n.endswith("bias")]
    assert {
        "layers.0.self_attn.q_norm.weight",
        "layers.0.self_attn.k_norm.weight",
        "layers.0.post_attention_layernorm.weight",
        "layers.0.post_feedforward_layernorm.weight",
        "layers.0.mlp.gate_proj.weight",
        "norm.weight",
    } <= set(names)
    assert names["embed_tokens.weight"].data_ptr() != names["lm_head.weight"].data_ptr()
    w = names["layers.1.mlp.up_proj.weight"].detach()
    assert float(w.abs().max()) <= 0.06 + 1e-7 and abs(float(w.std()) - 0.0197) < 0.001  # trunc normal(0.02, +-3 std)
    assert torch.equal(names["layers.0.self_attn.q_norm.weight"], torch.ones(64))

    x = torch.randint(0, V, (2, 16))
    loss, parts = model(x, shift_labels(x))  # the whole instance goes in; its last position has no label
    logits = model(x).float()[:, :-1]
    log_z = torch.logsumexp(logits, -1)
    expected_ce = torch.nn.functional.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten())
    torch.testing.assert_close(parts["ce"], expected_ce)
    torch.testing.assert_close(loss, expected_ce + 1e-5 * log_z.pow(2).mean())
    per_token = model(x, shift_labels(x), reduction="none")
    assert per_token.shape == (2, 16) and torch.all(per_token[:, -1] == 0)
    torch.testing.assert_close(per_token[:, :-1].mean(), expected_ce)
    # causal: changing a later token leaves earlier logits untouched
    y = x.clone()
    y[:, 10] = (y[:, 10] + 1) % V
    torch.testing.assert_close(model(y)[:, :10], model(x)[:, :10])


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_loss_matches_the_plain_loss_and_gradient(chunk: int) -> None:
    """The chunked loss against autograd through whole fp32 logits: same loss, ce and gradients, with IGNOREd
    labels skipped; under bf16 autocast against the plain loss on the bf16 logits."""
    gen = torch.Generator().manual_seed(0)
    n, d, vocab, z = 50, 16, 40, 1e-2
    h = torch.randn(n, d, generator=gen, requires_grad=True)
    w = (0.3 * torch.randn(vocab, d, generator=gen)).requires_grad_()
    labels = torch.randint(0, vocab, (n,), generator=gen)
    labels[::6] = IGNORE

    def plain(h: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = (h @ w.t()).float()
        keep = labels != IGNORE
        log_z = torch.logsumexp(logits[keep], -1)
        ce = torch.nn.functional.cross_entropy(logits[keep], labels[keep])
        return ce + z * log_z.pow(2).mean(), ce

    (loss, ce), (ref_loss, ref_ce) = chunked_lm_loss(h, w, labels, z, chunk), plain(h, w)
    torch.testing.assert_close(loss, ref_loss)
    torch.testing.assert_close(ce, ref_ce)
    got = torch.autograd.grad(3.0 * loss, (h, w))
    want = torch.autograd.grad(3.0 * ref_loss, (h, w))
    for g, r in zip(got, want, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        (loss, _), (ref_loss, _) = chunked_lm_loss(h, w, labels, z, chunk), plain(h, w)
        got = torch.autograd.grad(loss, (h, w))
        want = torch.autograd.grad(ref_loss, (h, w))
    torch.testing.assert_close(loss, ref_loss, rtol=1e-2, atol=1e-2)
    assert got[0].dtype == h.dtype and got[1].dtype == w.dtype
    for g, r in zip(got, want, strict=True):
        torch.testing.assert_close(g, r.float(), rtol=2e-2, atol=2e-3)


def test_the_loss_never_holds_the_whole_batch_of_logits() -> None:
    """Every tensor made in a forward + backward with labels is smaller than the (tokens, vocab) logits."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Largest(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.numel = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor):
                    self.numel = max(self.numel, t.numel())
            return out

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=2048, loss_chunk=16)  # 2 x 64 tokens: whole logits would be 262,144 values
    model = Transformer(cfg)
    x = torch.randint(0, 2048, (2, 64))
    with Largest() as chunked:
        model(x, shift_labels(x))[0].backward()
    assert chunked.numel < 2 * 64 * 2048 and chunked.numel >= 16 * 2048  # one chunk's logits at most
    with Largest() as plain:
        torch.nn.functional.cross_entropy(model(x).flatten(0, 1), x.flatten()).backward()
    assert plain.numel >= 2 * 64 * 2048  # the same model through the plain loss does hold them


def test_eval_shapes_are_fixed(tmp_path: Path) -> None:
    """A short last eval micro-batch is padded (its copies not counted): every forward has one shape."""
    from dolma_py.train.distributed import Runtime
    from dolma_py.train.evaluate import evaluate
    from dolma_py.train.together import ControlGroup

    manifest = Manifest.open(str(make_manifest(tmp_path)))
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=V))
    shapes = []
    model.register_forward_pre_hook(lambda _m, args: shapes.append(tuple(args[0].shape)))
    rt = Runtime(0, 1, torch.device("cpu"), False, "ddp", False, ControlGroup(1, 0))
    table, rows = manifest.validation(), np.arange(7)
    sources = np.array([table.source_index(int(i)) for i in rows])
    losses = evaluate(model, table, rows, sources, manifest.sources, 3, rt)
    assert shapes == [(3, SEQ)] * 3  # 3 + 3 + 1 rows, the last padded to 3
    shapes.clear()
    one_by_one = evaluate(model, table, rows, sources, manifest.sources, 1, rt)
    assert shapes == [(1, SEQ)] * 7 and losses == pytest.approx(one_by_one, rel=1e-6)


def test_throughput_windows_leave_out_eval_and_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from dolma_py.train import train as train_module

    real = train_module.evaluate

    def slow_evaluate(*args: object, **kwargs: object) -> dict[str, float]:
        time.sleep(2.0)  # some 100 tiny steps
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate", slow_evaluate)
    run = tmp_path / "run"
    train(make_config(make_manifest(tmp_path), run, eval=EvalConfig(interval=4), log_interval=2))
    rates = [r["tokens_per_s"] for r in train_records(run)]
    assert len(rates) == 6 and all(r > 0 for r in rates)
    # each window after an eval would take > 2 s for 2 steps (< 264 tokens/s) if the eval were counted in it
    assert min(rates[1:]) > 400, rates


# --- data and schedule ----------------------------------------------------------------------------------------


def test_phase_switch_and_anneal_to_zero(tmp_path: Path) -> None:
    manifest = Manifest.open(str(make_manifest(tmp_path)))
    batches = CurriculumBatches(manifest, global_batch=8, micro_batch=4)
    assert [(p.name, p.start, p.end) for p in batches.phases] == [("pretrain", 0, 8), ("anneal", 8, 12)]
    assert batches.phase_at(7).name == "pretrain" and batches.phase_at(8).name == "anneal"
    anneal_rows = manifest.instances("anneal").batch(np.arange(8))
    np.testing.assert_array_equal(np.concatenate(batches.micro_batches(8)), anneal_rows)
    np.testing.assert_array_equal(
        np.concatenate(batches.micro_batches(7)), manifest.instances("pretrain").batch(np.arange(56, 64))
    )
    # rank r of 2 reads the r-th half of the same global batch
    halves = [np.concatenate(CurriculumBatches(manifest, 8, 4, rank, 2).micro_batches(9)) for rank in (0, 1)]
    np.testing.assert_array_equal(np.concatenate(halves), manifest.instances("anneal").batch(np.arange(8, 16)))

    sched = LRSchedule(
        ScheduleConfig(warmup_steps=2, final_lr_ratio=0.1, anneal_phase="anneal"), 1.0, [("pretrain", 8), ("anneal", 4)]
    )
    assert [sched(0), sched(1)] == [0.5, 1.0]
    assert sched(7) > 0.1 and sched(8) == pytest.approx(0.1)  # cosine reaches 0.1 where the anneal starts
    assert [sched(t) for t in range(8, 13)] == pytest.approx([0.1, 0.075, 0.05, 0.025, 0.0])
    constant = LRSchedule(
        ScheduleConfig(decay="constant", anneal_phase="anneal"), 2.0, [("pretrain", 8), ("anneal", 4)]
    )
    assert constant(7) == 2.0 and constant(10) == pytest.approx(1.0)
    only_anneal = LRSchedule(ScheduleConfig(anneal_phase="anneal"), 2.0, [("anneal", 4)])
    assert only_anneal(0) == 2.0 and only_anneal(4) == 0.0

    run = tmp_path / "run"
    train(make_config(tmp_path / "manifest", run, eval=EvalConfig(interval=0)))
    records = read_metrics(run / "metrics.jsonl")
    events = [(r["step"], r["event"]) for r in records if "event" in r]
    assert events == [(0, "phase 'pretrain' starts (8 steps)"), (8, "phase 'anneal' starts (4 steps)")]
    steps = {r["step"]: r for r in records if "loss" in r}
    assert [steps[s]["phase"] for s in (8, 9)] == ["pretrain", "anneal"]
    assert steps[12]["lr"] == pytest.approx(steps[9]["lr"] / 4)  # last anneal step: 1/4 of the way from 0
    assert steps[9]["lr"] == pytest.approx(1e-2 * 0.1)  # anneal starts where the cosine ended


# --- training ---------------------------------------------------------------------------------------------------


def learning_config(tmp_path: Path, **changes: object) -> TrainConfig:
    """A 40-step run on one 320-instance phase (eval every 20 steps, no checkpoints), long enough for the loss to
    fall; its output goes to `tmp_path / "run"`."""
    manifest = make_manifest(tmp_path, phases=(("pretrain", 320),), val=16)
    return make_config(manifest, tmp_path / "run", schedule=ScheduleConfig(warmup_steps=5), data=DataConfig(8, 8),
                       eval=EvalConfig(interval=20), checkpoint=CheckpointConfig(interval=0), **changes)


def test_loss_falls_and_eval_per_source(tmp_path: Path) -> None:
    run = tmp_path / "run"
    config = learning_config(tmp_path, plot=True)
    result = train(config)
    losses = [r["loss"] for r in train_records(run)]
    assert len(losses) == 40 and losses[0] > 3.8  # ~ln(64) at the start
    assert result.loss == losses[-1] < 0.8
    evals = [r for r in read_metrics(run / "metrics.jsonl") if "eval" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert set(evals[-1]["eval"]) == {"a", "b"} and evals[-1]["eval_loss"] < evals[0]["eval_loss"] < 3.0
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step00000040"]
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_is_bit_identical(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    train(make_config(manifest, full))
    train(make_config(manifest, part, max_steps=10))
    ckpts = list_checkpoints(part / "checkpoints")
    assert [p.name for p in ckpts] == ["step00000004", "step00000008", "step00000010"]
    state = read_state(ckpts[1])
    assert (state["step"], state["instances"], state["phase"]) == (8, 64, "anneal")
    # lose the newest checkpoint as if the run died after step 10: resume at the phase switch (step 8),
    # dropping what was logged after checkpoint 8 (the anneal event, steps 9-10)
    shutil.rmtree(ckpts[2])
    train(make_config(manifest, part, resume=True))

    final_full, final_part = (read_model_state(r / "checkpoints" / "step00000012") for r in (full, part))
    assert final_full.keys() == final_part.keys()
    assert all(torch.equal(final_full[k], final_part[k]) for k in final_full)
    optim = [read_optim_state(r / "checkpoints/step00000012") for r in (full, part)]
    for name, slots in optim[0]["state"].items():
        assert all(torch.equal(v, optim[1]["state"][name][k]) for k, v in slots.items())
    strip = lambda recs: [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in recs]  # noqa: E731
    assert strip(read_metrics(part / "metrics.jsonl")) == strip(read_metrics(full / "metrics.jsonl"))

    # a finished run resumes to a no-op; a fresh start over existing checkpoints is refused
    assert train(make_config(manifest, part, resume=True)).steps == 12
    with pytest.raises(ConfigError, match="already holds checkpoints; pass --resume"):
        train(make_config(manifest, part))
    with pytest.raises(ConfigError, match="model.d_model differs"):
        train(make_config(manifest, part, resume=True, model=ModelConfig(vocab_size=V, d_model=32)))


def test_soup_and_export(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    run = tmp_path / "run"
    train(make_config(manifest, run, max_steps=8, eval=EvalConfig(interval=0)))
    a, b = (run / "checkpoints" / name for name in ("step00000004", "step00000008"))
    sa, sb = read_model_state(a), read_model_state(b)

    write_soup([a, b], tmp_path / "soup")
    soup = read_model_state(tmp_path / "soup")
    assert all(torch.equal(soup[k], ((sa[k].double() + sb[k].double()) / 2).float()) for k in sa)
    weighted = soup_state([a, b], [1.0, 3.0])
    assert all(torch.equal(weighted[k], (sa[k].double() * 0.25 + sb[k].double() * 0.75).float()) for k in sa)

    from dolma_py.cli.soup import main as soup_main

    assert soup_main([str(a), str(b), "--weights", "1", "3", "--export", str(tmp_path / "hf")]) == 0
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        "olmo2",
        64,
        2,
        V,
    )
    assert (config["rope_theta"], config["tie_word_embeddings"], config["eos_token_id"]) == (500000.0, False, 0)
    from safetensors.torch import load_file

    tensors = load_file(str(tmp_path / "hf" / "model.safetensors"))
    assert set(tensors) == {k if k.startswith("lm_head") else f"model.{k}" for k in weighted}
    assert torch.equal(tensors["model.layers.1.self_attn.k_norm.weight"], weighted["layers.1.self_attn.k_norm.weight"])

    with pytest.raises(ConfigError, match="'weights' has 1 values for 2 checkpoints"):
        soup_main([str(a), str(b), "--weights", "1", "-o", str(tmp_path / "x")])
    other = tmp_path / "other"
    train(
        make_config(
            manifest, other, max_steps=4, model=ModelConfig(vocab_size=V, n_layers=1), eval=EvalConfig(interval=0)
        )
    )
    with pytest.raises(DolmaError, match="model.n_layers=1 differs"):
        soup_state([a, other / "checkpoints" / "step00000004"])


def test_export_matches_transformers_olmo2(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    manifest = make_manifest(tmp_path)
    run = tmp_path / "run"
    train(make_config(manifest, run, max_steps=4, eval=EvalConfig(interval=0), export=str(tmp_path / "hf")))
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"))
    ours = Transformer(ModelConfig(vocab_size=V))
    ours.load_state_dict(read_model_state(run / "checkpoints" / "step00000004"))
    x = torch.randint(0, V, (2, SEQ))
    with torch.no_grad():
        torch.testing.assert_close(hf(x).logits, ours(x), rtol=1e-5, atol=1e-5)


# --- errors and CLI ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": ScheduleConfig(anneal_phase="pretrain")}, "must be the last phase"),
        ({"schedule": ScheduleConfig(anneal_phase="cooldown")}, "'cooldown' is not a manifest phase"),
        ({"schedule": ScheduleConfig(warmup_steps=9, anneal_phase="anneal")}, "exceeds the 8 pretraining steps"),
        ({"data": DataConfig(8, 3)}, "multiple of data.micro_batch_size=3"),
        ({"data": DataConfig(64, 8)}, "phase 'anneal' has 32 instances, fewer than one step"),
        ({"model": ModelConfig(vocab_size=32)}, "token id .* >= model.vocab_size=32"),
        ({"model": ModelConfig(vocab_size=V, max_seq_len=16)}, "needs model.max_seq_len >= 33"),
        ({"model": ModelConfig(preset="2B")}, "model.preset '2B' is unknown"),
        ({"model": ModelConfig(d_model=60)}, "must split into model.n_heads=4 heads of even size"),
        ({"manifest": "/nonexistent"}, "manifest not found"),
    ],
)
def test_bad_configs_fail_clearly(tmp_path: Path, changes: dict, message: str) -> None:
    manifest = make_manifest(tmp_path)
    with pytest.raises(DolmaError, match=message):
        train(make_config(manifest, tmp_path / "run", **changes))


def test_cli_config_and_lazy_torch(tmp_path: Path) -> None:
    from dolma_py.config.loader import load_config, parse_overrides

    manifest = make_manifest(tmp_path)
    args = [
        "--manifest",
        str(manifest),
        "--out_dir",
        str(tmp_path / "run"),
        "--model.vocab_size",
        "64",
        "--max_steps",
        "2",
        "--resume",
        "--system.threads",
        "1",
    ]
    config = load_config(TrainConfig, str(REPO_ROOT / "configs/train/tiny.yaml"), parse_overrides(TrainConfig, args))
    assert (config.model.preset, config.model.vocab_size, config.resume, config.max_steps) == ("tiny", 64, True, 2)
    from dolma_py.cli.train import run

    assert run(config) == 0
    assert [r["step"] for r in train_records(tmp_path / "run")] == [2]  # log_interval 10: the last step is logged
    with pytest.raises(ConfigError, match="global_batch_size=10 must be a multiple"):
        load_config(TrainConfig, None, parse_overrides(TrainConfig, args + ["--data.global_batch_size", "10"]))
    for path in sorted((REPO_ROOT / "configs/train").glob("*.yaml")):
        load_config(TrainConfig, str(path), {})

    probe = "import sys, dolma_py.cli.train, dolma_py.cli.soup; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from dolma_py import train as train_pkg

    real = train_pkg.importlib.util.find_spec
    try:
        train_pkg.importlib.util.find_spec = lambda name: None if name == "torch" else real(name)  # type: ignore[assignment]
        with pytest.raises(DolmaError, match=r"needs torch: pip install 'dolma-py\[train\]'"):
            train_pkg.require_train_extra("train")
    finally:
        train_pkg.importlib.util.find_spec = real  # type: ignore[assignment]


# --- several processes ------------------------------------------------------------------------------------------


def _worker(rank: int, world: int, port: int, config: TrainConfig) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world)
    )
    train(config)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_processes_match_one(tmp_path: Path, parallel: str) -> None:
    manifest = make_manifest(tmp_path)
    single, multi = tmp_path / "single", tmp_path / "multi"
    base = make_config(manifest, single, max_steps=6, eval=EvalConfig(interval=3))
    train(base)
    config = dataclasses.replace(
        base,
        out_dir=str(multi),
        system=SystemConfig(device="cpu", threads=1, parallel=parallel),  # type: ignore[arg-type]
    )
    torch.multiprocessing.spawn(_worker, args=(2, free_port(), config), nprocs=2)
    one, two = read_metrics(single / "metrics.jsonl"), read_metrics(multi / "metrics.jsonl")
    assert [r["step"] for r in one] == [r["step"] for r in two]
    for a, b in zip(one, two, strict=False):
        for key in ("loss", "ce", "grad_norm", "lr"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), (a["step"], key)
        if "eval" in a:
            assert b["eval"] == pytest.approx(a["eval"], rel=1e-5)
    state = read_state(multi / "checkpoints" / "step00000006")
    assert state["world_size"] == 2
    w1, w2 = (read_model_state(r / "checkpoints" / "step00000006") for r in (single, multi))
    bad = {k: float((w1[k] - w2[k]).abs().max()) for k in w1 if not torch.allclose(w1[k], w2[k], rtol=1e-4, atol=5e-5)}
    assert not bad  # Adam magnifies last-bit gradient differences in near-zero gradients
    assert sorted(p.name for p in (multi / "checkpoints" / "step00000006").glob("rng-*")) == [
        "rng-rank00000.pt",
        "rng-rank00001.pt",
    ]


def test_gpu_benchmark_runs_on_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`benchmarks/train_gpu.py --smoke`: the GPU script end to end on CPU (synthetic shards, the trainer, rows)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_gpu", REPO_ROOT / "benchmarks" / "train_gpu.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_gpu", bench)  # its dataclasses look their module up
    spec.loader.exec_module(bench)
    results = tmp_path / "results.jsonl"
    assert bench.main(["--smoke", "--threads", "1", "--peak-flops", "1e12", "--results", str(results)]) == 0
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["benchmark"] for r in rows] == ["train_gpu", "train_gpu"]
    assert [r["params"] for r in rows] == [{"smoke": True, "case": "tiny"}, {"smoke": True, "case": "olmoe-tiny"}]
    tiny, moe = (r["results"] for r in rows)
    assert (tiny["case"], tiny["params"], tiny["seq"], tiny["device"]) == ("tiny", 172_608, 64, "cpu")
    assert tiny["grad_accum"] == 2 and tiny["global_batch"] == 4
    assert moe["case"] == "olmoe-tiny" and moe["active_matmul_params"] < moe["params"]
    for row in (tiny, moe):
        assert row["tokens_per_s"] > 0 and len(row["windows_tokens_per_s"]) == 2
        assert row["mfu"] == pytest.approx(row["flops_per_token"] * row["tokens_per_s"] / 1e12)
    assert tiny["flops_per_token"] == flops_per_token(ModelConfig(), 64)
    assert "olmoe-tiny" in capsys.readouterr().out
