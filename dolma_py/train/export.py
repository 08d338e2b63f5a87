"""Export a checkpoint as a Hugging Face `Olmo2ForCausalLM` folder: `config.json` + `model.safetensors`.

Our parameter names are Hugging Face's without the `model.` prefix (the LM head keeps its name), so export is a
rename; weights stay float32 (cast on load with `torch_dtype=...`). The layout is documented in docs/train.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from dolma_py.config.train import ModelConfig
from dolma_py.errors import DolmaError
from dolma_py.io.atomic import atomic_dir
from dolma_py.train.checkpoint import read_model_state, read_state


def hf_config(model: ModelConfig, eos_token_id: int | None) -> dict[str, Any]:
    """`config.json` for transformers' Olmo2 (multi-head attention, untied embeddings, no biases)."""
    m = model.resolved()
    return {
        "architectures": ["Olmo2ForCausalLM"],
        "model_type": "olmo2",
        "vocab_size": m.vocab_size,
        "hidden_size": m.d_model,
        "intermediate_size": m.mlp_hidden,
        "num_hidden_layers": m.n_layers,
        "num_attention_heads": m.n_heads,
        "num_key_value_heads": m.n_heads,
        "hidden_act": "silu",
        "max_position_embeddings": m.max_seq_len,
        "initializer_range": m.init_std,
        "rms_norm_eps": m.norm_eps,
        "rope_theta": m.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "tie_word_embeddings": False,
        "use_cache": True,
        "bos_token_id": None,
        "eos_token_id": eos_token_id,
        "pad_token_id": None,
        "torch_dtype": "float32",
    }


def hf_name(name: str) -> str:
    """Our state-dict key -> the Hugging Face key."""
    return name if name.startswith("lm_head.") else f"model.{name}"


def export_hf(checkpoint: Path, out: Path) -> Path:
    """Write `out/config.json` and `out/model.safetensors` from a checkpoint (or soup) directory, atomically."""
    return write_hf(read_model_state(checkpoint), read_state(checkpoint), out)


def write_hf(state: dict[str, torch.Tensor], meta: dict[str, Any], out: Path) -> Path:
    """Export a model state dict, described by a checkpoint's state.json content `meta`, to the folder `out`."""
    model_cfg = ModelConfig(**meta["config"]["model"])
    if model_cfg.moe.num_experts:
        raise DolmaError(
            "Hugging Face export of a mixture-of-experts model is not supported: transformers' Olmo2 has no experts, "
            "and its Olmoe uses pre-norm blocks rather than OLMo 2's reordered norm; use the checkpoint (or a soup)"
        )
    eos = (meta.get("manifest") or {}).get("eos_token_id")
    tensors = {hf_name(k): v.contiguous() for k, v in state.items()}
    with atomic_dir(out) as tmp:
        save_file(tensors, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf_config(model_cfg, eos), indent=2) + "\n", encoding="utf-8")
    return out
