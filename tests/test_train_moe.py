"""Mixture-of-experts (OLMoE recipe) on CPU: the routed layer against a per-token hand computation, active-parameter
FLOPs, learning with routing statistics, exact resume, determinism, and DDP with experts that get no tokens."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from conftest import REPO_ROOT, free_port  # noqa: E402
from test_train import V, _worker, learning_config, make_config, make_manifest, train_records  # noqa: E402

from dolma_py.config.loader import load_config  # noqa: E402
from dolma_py.config.train import (  # noqa: E402
    EvalConfig,
    ModelConfig,
    MoEConfig,
    SystemConfig,
    TrainConfig,
)
from dolma_py.errors import DolmaError  # noqa: E402
from dolma_py.train.checkpoint import list_checkpoints, read_model_state  # noqa: E402
from dolma_py.train.export import export_hf  # noqa: E402
from dolma_py.train.loss import shift_labels  # noqa: E402
from dolma_py.train.model import MoE, Transformer, flops_per_token, matmul_params  # noqa: E402
from dolma_py.train.train import train  # noqa: E402

MOE = ModelConfig(vocab_size=V, moe=MoEConfig(num_experts=4, top_k=2, expert_hidden=32))


def test_moe_layer_is_top_k_routing_by_hand() -> None:
    torch.manual_seed(0)
    model = Transformer(MOE)
    layer = model.layers[0].mlp
    assert isinstance(layer, MoE)
    x = torch.randn(3, 5, 64)
    out, aux = layer(x)
    h = x.reshape(-1, 64)
    probs = (h @ layer.router.weight.t()).softmax(-1)
    expected = torch.zeros_like(h)
    counts = torch.zeros(4)
    for t in range(h.shape[0]):  # each token: its 2 most probable experts, weighted by their probabilities
        for e in probs[t].topk(2).indices.tolist():
            ffn = torch.nn.functional.silu(layer.gate_proj[e] @ h[t]) * (layer.up_proj[e] @ h[t])
            expected[t] += probs[t, e] * (layer.down_proj[e] @ ffn)
            counts[e] += 1
    torch.testing.assert_close(out.reshape(-1, 64), expected, rtol=1e-5, atol=1e-6)
    assert aux["load"].tolist() == counts.tolist() and int(aux["load"].sum()) == 15 * 2  # dropless
    torch.testing.assert_close(aux["lb"], 4 * (counts / 30 * probs.mean(0)).sum())
    torch.testing.assert_close(aux["z"], torch.logsumexp(h @ layer.router.weight.t(), -1).pow(2).mean())

    # the model adds both routing losses, averaged over layers, with their coefficients
    ids = torch.randint(0, V, (2, 12))
    loss, parts = model(ids, shift_labels(ids))
    extra = 0.01 * parts["lb_loss"] + 0.001 * parts["router_z_loss"]
    lm_only = dataclasses.replace(MOE, moe=dataclasses.replace(MOE.moe, lb_loss=0.0, router_z_loss=0.0))
    plain = Transformer(lm_only)
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(loss, plain(ids, shift_labels(ids))[0] + extra)
    assert parts["expert_load"].shape == (2, 4)


def test_active_parameter_flops() -> None:
    # per block: q k v o 4 * 64 * 64, router 64 * 4, and 2 of the 4 experts' 3 matrices of 64 x 32; LM head 64 * V
    active = 2 * (4 * 64 * 64 + 64 * 4 + 2 * 3 * 64 * 32) + V * 64
    assert matmul_params(MOE) == active == 61_952
    assert flops_per_token(MOE, 32) == 6 * active + 6 * 2 * 64 * 33
    with torch.device("meta"):
        total = sum(p.numel() for p in Transformer(MOE).parameters())
    assert total - active == V * 64 + 2 * 2 * 3 * 64 * 32 + (4 * 2 + 1) * 64  # embedding, idle experts, norms


def moe_config(manifest: Path, out: Path, **changes: object) -> TrainConfig:
    return make_config(manifest, out, model=MOE, **changes)


def test_moe_learns_and_logs_routing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(learning_config(tmp_path, model=MOE))
    records = train_records(run)
    assert len(records) == 40 and records[0]["loss"] > 3.8 and records[-1]["loss"] < 1.0
    for r in records:
        assert r["dropped_tokens"] == 0 and len(r["expert_load"]) == 4
        assert sum(r["expert_load"]) == pytest.approx(1.0, abs=1e-4)
        assert r["expert_load_max"] >= 1.0 and r["lb_loss"] >= 0.99 and r["router_z_loss"] > 0
    assert records[-1]["expert_load_max"] < 2.5  # the load-balancing loss keeps every expert in use
    with pytest.raises(DolmaError, match="export of a mixture-of-experts model is not supported"):
        export_hf(list_checkpoints(run / "checkpoints")[-1], tmp_path / "hf")


def test_moe_resume_is_exact_and_runs_are_deterministic(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    full, again, part = tmp_path / "full", tmp_path / "again", tmp_path / "part"
    train(moe_config(manifest, full))
    train(moe_config(manifest, again))
    train(moe_config(manifest, part, max_steps=10))
    shutil.rmtree(list_checkpoints(part / "checkpoints")[-1])  # resume from step 8
    train(moe_config(manifest, part, resume=True))
    final = [read_model_state(r / "checkpoints" / "step00000012") for r in (full, again, part)]
    for other in final[1:]:
        assert all(torch.equal(final[0][k], other[k]) for k in final[0])
    strip = lambda recs: [{k: v for k, v in r.items() if k not in ("tokens_per_s", "mfu")} for r in recs]  # noqa: E731
    assert strip(train_records(full)) == strip(train_records(again)) == strip(train_records(part))


def test_moe_under_ddp_with_two_processes(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    single, multi = tmp_path / "single", tmp_path / "multi"
    sparse = dataclasses.replace(MOE, moe=MoEConfig(num_experts=8, top_k=1, expert_hidden=16))  # idle experts
    base = make_config(manifest, single, model=sparse, max_steps=3, eval=EvalConfig(interval=0))
    train(base)
    config = dataclasses.replace(base, out_dir=str(multi), system=SystemConfig(device="cpu", threads=1))
    torch.multiprocessing.spawn(_worker, args=(2, free_port(), config), nprocs=2)
    one, two = train_records(single), train_records(multi)
    assert [r["step"] for r in two] == [1, 2, 3] and two[0]["loss"] == pytest.approx(one[0]["loss"], rel=1e-5)
    assert two[0]["expert_load"] == pytest.approx(one[0]["expert_load"], abs=1e-5)


def test_olmoe_configs_load() -> None:
    tiny = load_config(TrainConfig, str(REPO_ROOT / "configs/train/olmoe-tiny.yaml"), {})
    assert (tiny.model.moe.num_experts, tiny.model.moe.top_k) == (8, 2)
    big = load_config(TrainConfig, str(REPO_ROOT / "configs/train/olmoe-1B-7B.yaml"), {}).model
    with torch.device("meta"):
        total = sum(p.numel() for p in Transformer(big).parameters())
    assert round(total / 1e9, 2) == 6.92 and round((matmul_params(big) + 50304 * 2048) / 1e9, 2) == 1.28
    with pytest.raises(ValueError, match=r"top_k=9 must be in \[1, model.moe.num_experts=8\]"):
        ModelConfig(moe=MoEConfig(num_experts=8, top_k=9)).validate()
