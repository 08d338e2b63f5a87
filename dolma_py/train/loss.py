"""The language-model loss without the whole batch's logits: cross-entropy plus z-loss, chunk by chunk.

Logits over a 100k vocabulary in float32 take `tokens x vocab x 4` bytes (6.6 GB for a 1B model's micro-batch of
4 x 4096), and autograd would keep several such copies. Here the LM head is applied to `chunk` tokens at a time:
the forward pass computes a chunk's logits in float32, its log-partition log Z, cross-entropy and z-loss, and at
once the gradients with respect to the hidden states and the head weight (the softmax is needed only there, so it
is never stored); backward scales the stored gradients by the incoming one. Peak extra memory is one chunk's
logits plus gradients the size of the hidden states and of the head weight (Liger-Kernel's "fused linear
cross-entropy", written with PyTorch ops).

    loss = mean_i (log Z_i - logit_i[y_i]) + z_loss * mean_i (log Z_i)^2      over tokens i whose label is not IGNORE

    d loss / d logit_ij = (softmax_ij * (1 + 2 * z_loss * log Z_i) - [j == y_i]) / n
"""

from __future__ import annotations

from typing import Any

import torch

IGNORE = -100
"""Label of positions that are not trained (the last position of an instance has no next token)."""


def shift_labels(tokens: torch.Tensor) -> torch.Tensor:
    """Next-token labels inside each instance: labels[:, t] = tokens[:, t + 1], and IGNORE at the last position."""
    labels = torch.full_like(tokens, IGNORE)
    labels[:, :-1] = tokens[:, 1:]
    return labels


def compute_dtype(h: torch.Tensor) -> torch.dtype:
    """The matmul dtype: autocast's when it is on for this device, else the hidden states' own."""
    if torch.is_autocast_enabled(h.device.type):
        return torch.get_autocast_dtype(h.device.type)
    return h.dtype


class _ChunkedLMLoss(torch.autograd.Function):
    """loss and mean cross-entropy of `h @ weight.T` against `labels`, with gradients computed in the forward pass."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, z_loss: float, chunk: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = compute_dtype(h)
        w = weight.to(dtype)
        valid = labels != IGNORE
        n = valid.sum().clamp(min=1).to(torch.float32)
        need_grad = ctx.needs_input_grad[0] or ctx.needs_input_grad[1]
        need_w = ctx.needs_input_grad[1]
        grad_h = torch.zeros_like(h) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) if need_w else None
        ce_sum = torch.zeros((), dtype=torch.float32, device=h.device)
        z_sum = torch.zeros((), dtype=torch.float32, device=h.device)
        with torch.autocast(h.device.type, enabled=False):
            for start in range(0, h.shape[0], chunk):
                hc = h[start : start + chunk].to(dtype)
                yc = labels[start : start + chunk]
                vc = valid[start : start + chunk]
                logits = (hc @ w.t()).float()
                log_z = torch.logsumexp(logits, dim=-1)
                target = logits.gather(-1, yc.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                ce_sum += torch.where(vc, log_z - target, 0.0).sum()
                z_sum += torch.where(vc, log_z.pow(2), 0.0).sum()
                if not need_grad:
                    continue
                scale = torch.where(vc, (1.0 + 2.0 * z_loss * log_z) / n, 0.0)
                grad = logits.sub_(log_z.unsqueeze(-1)).exp_().mul_(scale.unsqueeze(-1))  # softmax, in place
                rows = torch.arange(len(yc), device=h.device)
                grad[rows, yc.clamp(min=0)] -= torch.where(vc, 1.0 / n, 0.0)
                grad = grad.to(dtype)
                if grad_h is not None:
                    grad_h[start : start + chunk] = grad @ w
                if grad_w is not None:
                    grad_w += (grad.t() @ hc).float()
        ce = ce_sum / n
        ctx.save_for_backward(*(g for g in (grad_h, grad_w) if g is not None))
        ctx.has = (grad_h is not None, grad_w is not None)
        ctx.weight_dtype = weight.dtype
        ctx.mark_non_differentiable(ce)
        return ce + z_loss * z_sum / n, ce

    @staticmethod
    def backward(ctx: Any, grad_loss: torch.Tensor, _grad_ce: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        saved = iter(ctx.saved_tensors)
        grad_h = grad_w = None
        if ctx.has[0]:
            g = next(saved)
            grad_h = g * grad_loss.to(g.dtype)
        if ctx.has[1]:
            grad_w = (next(saved) * grad_loss).to(ctx.weight_dtype)
        return grad_h, grad_w, None, None, None


def chunked_lm_loss(
    h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, z_loss: float, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(cross-entropy + z-loss, cross-entropy) means of the LM head `weight` (vocab, d) over hidden states `h`
    (tokens, d) and `labels` (tokens,), holding at most `chunk` tokens' float32 logits at a time."""
    return _ChunkedLMLoss.apply(h, weight, labels, z_loss, chunk)


@torch.no_grad()
def token_cross_entropy(h: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, chunk: int) -> torch.Tensor:
    """Per-token cross-entropy (float32, 0 where the label is IGNORE), `chunk` tokens' logits at a time."""
    dtype = compute_dtype(h)
    w = weight.to(dtype)
    out = torch.zeros(labels.shape, dtype=torch.float32, device=h.device)
    with torch.autocast(h.device.type, enabled=False):
        for start in range(0, h.shape[0], chunk):
            logits = (h[start : start + chunk].to(dtype) @ w.t()).float()
            yc = labels[start : start + chunk]
            target = logits.gather(-1, yc.clamp(min=0).unsqueeze(-1)).squeeze(-1)
            out[start : start + chunk] = torch.where(yc != IGNORE, torch.logsumexp(logits, dim=-1) - target, 0.0)
    return out
