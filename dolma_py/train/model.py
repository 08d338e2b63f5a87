"""An OLMo-2-style decoder-only transformer in one file.

Per block: x = x + norm(attn(x)); x = x + norm(mlp(x)) (RMSNorm on the sublayer outputs), RMSNorm on the full q and
k projections (QK-norm), RoPE (rotate-half), SwiGLU, no biases, untied input/output embeddings, a final RMSNorm.
Module names follow Hugging Face's `Olmo2ForCausalLM` so export is a rename-free copy (see export.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from dolma_py.config.train import ModelConfig
from dolma_py.train.loss import chunked_lm_loss, compute_dtype, token_cross_entropy


class RMSNorm(nn.Module):
    """RMS normalization computed in float32, with a learned per-channel scale."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * h).to(x.dtype)


def rope_tables(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape (max_len, head_dim) for rotate-half RoPE, in float32."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim)
    angles = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (batch, heads, time, head_dim) queries or keys by their positions."""
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat((-x2, x1), dim=-1)
    return (x.float() * cos + rotated.float() * sin).to(x.dtype)


class Attention(nn.Module):
    """Causal multi-head self-attention with QK-norm and RoPE, through scaled_dot_product_attention."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, d, bias=False)
        self.v_proj = nn.Linear(d, d, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.q_norm = RMSNorm(d, cfg.norm_eps)
        self.k_norm = RMSNorm(d, cfg.norm_eps)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q = self.q_norm(self.q_proj(x)).view(B, T, self.n_heads, -1).transpose(1, 2)
        k = self.k_norm(self.k_proj(x)).view(B, T, self.n_heads, -1).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.n_heads, -1).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=False)
        self.up_proj = nn.Linear(cfg.d_model, cfg.mlp_hidden, bias=False)
        self.down_proj = nn.Linear(cfg.mlp_hidden, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    """Dropless top-k routed SwiGLU experts (OLMoE): every token goes to its `top_k` experts by router probability.

    The router's softmax is over all experts, and an expert's output is weighted by the token's (not renormalized)
    probability for it, as in OLMoE. Tokens are sorted by expert and each expert runs on exactly the tokens routed
    to it, so none is dropped (no capacity factor). Returns the output and the routing losses and counts:
    `lb` = E * sum_e (share of assignments to e) * (mean router probability of e), Switch Transformer's
    load-balancing loss; `z` = mean squared logsumexp of the router logits; `load` = assignments per expert.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        m = cfg.moe
        assert m.expert_hidden is not None
        self.num_experts, self.top_k = m.num_experts, m.top_k
        self.router = nn.Linear(cfg.d_model, m.num_experts, bias=False)
        self.gate_proj = nn.Parameter(torch.empty(m.num_experts, m.expert_hidden, cfg.d_model))
        self.up_proj = nn.Parameter(torch.empty(m.num_experts, m.expert_hidden, cfg.d_model))
        self.down_proj = nn.Parameter(torch.empty(m.num_experts, cfg.d_model, m.expert_hidden))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        shape = x.shape
        h = x.reshape(-1, shape[-1])
        logits = self.router(h).float()
        probs = logits.softmax(dim=-1)
        weights, experts = probs.topk(self.top_k, dim=-1)  # (tokens, k)
        flat = experts.reshape(-1)
        order = flat.argsort(stable=True)
        load = torch.bincount(flat, minlength=self.num_experts)
        # each token once per expert it goes to, grouped by expert; in the matmul dtype (bf16 under autocast), since
        # these top_k copies of the tokens are kept for backward
        routed = h.to(compute_dtype(h))[order // self.top_k]
        y = self._experts(routed, load)[order.argsort()].view(h.shape[0], self.top_k, -1)  # (token, k) order
        out = (y * weights.unsqueeze(-1).to(y.dtype)).sum(dim=1)
        share = load.float() / flat.numel()
        aux = {
            "lb": self.num_experts * (share * probs.mean(dim=0)).sum(),
            "z": torch.logsumexp(logits, dim=-1).pow(2).mean(),
            "load": load,
        }
        return out.view(shape), aux

    @torch.compiler.disable  # token counts per expert are data-dependent: run eagerly rather than recompile
    def _experts(self, routed: torch.Tensor, load: torch.Tensor) -> torch.Tensor:
        """Each expert's SwiGLU over its contiguous run of `routed` tokens (`load[e]` of them)."""
        outs = []
        for e, part in enumerate(routed.split(load.tolist())):  # an expert with no tokens still joins autograd
            hidden = F.silu(F.linear(part, self.gate_proj[e])) * F.linear(part, self.up_proj[e])
            outs.append(F.linear(hidden, self.down_proj[e]))
        return torch.cat(outs)


class Block(nn.Module):
    """One transformer block with OLMo 2's reordered norm (normalize the sublayer output, then add)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp: nn.Module = MoE(cfg) if cfg.moe.num_experts else MLP(cfg)
        self.post_feedforward_layernorm = RMSNorm(cfg.d_model, cfg.norm_eps)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
        """The block's output, and the MoE routing losses and counts (None for a dense MLP)."""
        x = x + self.post_attention_layernorm(self.self_attn(x, cos, sin))
        out = self.mlp(x)
        out, aux = out if isinstance(out, tuple) else (out, None)
        return x + self.post_feedforward_layernorm(out), aux


class Transformer(nn.Module):
    """The language model: embeddings, blocks, final norm, untied LM head; returns logits or the loss."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg = cfg.resolved()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg.d_model // cfg.n_heads, cfg.max_seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Truncated-normal init (std init_std, cut at +-3 std) of every matrix; norms start at one."""
        std = self.cfg.init_std
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
            elif isinstance(module, MoE):
                for weight in (module.gate_proj, module.up_proj, module.down_proj):
                    nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
            elif isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)

    def forward(
        self, idx: torch.Tensor, labels: torch.Tensor | None = None, reduction: str = "mean"
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits (B, T, vocab) when `labels` is None. With `labels` (B, T; IGNORE where untrained, see
        `loss.shift_labels`): `reduction="mean"` gives (cross-entropy + z-loss, {"ce": cross-entropy}) means over the
        labelled tokens, `reduction="none"` the (B, T) float32 cross-entropy per token. The loss never holds the
        whole batch's float32 logits (see loss.py)."""
        B, T = idx.shape
        if T > self.cfg.max_seq_len:
            raise ValueError(f"input of {T} tokens is longer than model.max_seq_len={self.cfg.max_seq_len}")
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        x = self.embed_tokens(idx)
        routing = []
        for layer in self.layers:
            x, aux = layer(x, cos, sin)
            if aux is not None:
                routing.append(aux)
        h = self.norm(x)
        if labels is None:
            return self.lm_head(h)
        h, flat = h.flatten(0, 1), labels.flatten()
        chunk = self.cfg.loss_chunk
        if reduction == "none":
            return token_cross_entropy(h, self.lm_head.weight, flat, chunk).view(B, T)
        loss, ce = chunked_lm_loss(h, self.lm_head.weight, flat, self.cfg.z_loss, chunk)
        parts = {"ce": ce.detach()}
        if routing:  # MoE: the routing losses, averaged over layers, and the assignments per (layer, expert)
            lb = torch.stack([r["lb"] for r in routing]).mean()
            z = torch.stack([r["z"] for r in routing]).mean()
            loss = loss + self.cfg.moe.lb_loss * lb + self.cfg.moe.router_z_loss * z
            parts |= {"lb_loss": lb.detach(), "router_z_loss": z.detach()}
            parts["expert_load"] = torch.stack([r["load"] for r in routing])
        return loss, parts


def matmul_params(cfg: ModelConfig) -> int:
    """Parameters that take part in a token's matrix multiplies: every block matrix plus the LM head (not the
    embedding lookup). With MoE, the active ones: the router and `top_k` experts' matrices per block."""
    c = cfg.resolved()
    assert c.d_model and c.mlp_hidden and c.n_layers and c.vocab_size
    if c.moe.num_experts:
        assert c.moe.expert_hidden
        mlp = c.d_model * c.moe.num_experts + c.moe.top_k * 3 * c.d_model * c.moe.expert_hidden
    else:
        mlp = 3 * c.d_model * c.mlp_hidden
    return c.n_layers * (4 * c.d_model * c.d_model + mlp) + c.vocab_size * c.d_model


def flops_per_token(cfg: ModelConfig, seq_len: int) -> int:
    """Training FLOPs per token of an instance of `seq_len` tokens: forward + backward = 3 x forward.

    Forward: 2 FLOPs per multiply-add, so 2 * matmul params per token, plus causal attention: the query at position
    t scores and mixes t + 1 keys (q.k and the weighted sum of values, 2 * d_model multiply-adds each), which
    averages to 2 * d_model * (seq_len + 1) FLOPs per token and layer. Training: 6 * N + 6 * n_layers * d_model *
    (seq_len + 1), half of PaLM's non-causal 12 * n_layers * d_model * seq_len attention term.
    """
    c = cfg.resolved()
    assert c.n_layers and c.d_model
    return 6 * matmul_params(c) + 6 * c.n_layers * c.d_model * (seq_len + 1)
