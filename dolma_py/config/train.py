"""Schema of `dolma train`: model preset, batch, optimizer, LR schedule, eval, checkpoints and system options.

Pure dataclasses (no torch import) so `dolma train --help` works without the `train` extra.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from dolma_py.config.schema import option

PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 64, "n_layers": 2, "n_heads": 4, "mlp_hidden": 192, "vocab_size": 512, "max_seq_len": 512},
    "190M": {
        "d_model": 768,
        "n_layers": 12,
        "n_heads": 12,
        "mlp_hidden": 3072,
        "vocab_size": 100352,
        "max_seq_len": 4096,
    },
    "370M": {
        "d_model": 1024,
        "n_layers": 16,
        "n_heads": 16,
        "mlp_hidden": 4096,
        "vocab_size": 100352,
        "max_seq_len": 4096,
    },
    "760M": {
        "d_model": 1536,
        "n_layers": 16,
        "n_heads": 16,
        "mlp_hidden": 6144,
        "vocab_size": 100352,
        "max_seq_len": 4096,
    },
    "1B": {
        "d_model": 2048,
        "n_layers": 16,
        "n_heads": 16,
        "mlp_hidden": 8192,
        "vocab_size": 100352,
        "max_seq_len": 4096,
    },
}
"""Model shapes. Ladder names count non-embedding + input-embedding parameters (OLMo's ladder convention);
vocab 100352 is OLMo 2's padded dolma2 tokenizer. `1B` is OLMo 2 1B's shape (1.28B by that count, 1.48B in all)."""


RUNTIME_FIELDS = ("loss_chunk",)
"""Model options that change how the loss is computed, not the weights or the result."""


@dataclasses.dataclass
class MoEConfig:
    """Mixture-of-experts MLPs (OLMoE): each block's SwiGLU is replaced by `num_experts` routed SwiGLU experts."""

    num_experts: int = option(0, help="experts per block (0: a dense SwiGLU MLP)")
    top_k: int = option(2, help="experts each token is routed to (dropless: every routed token is computed)")
    expert_hidden: int | None = option(None, help="SwiGLU inner size of one expert (default: model.mlp_hidden)")
    lb_loss: float = option(0.01, help="weight of the load-balancing loss (Switch: E * sum_e load_e * prob_e)")
    router_z_loss: float = option(0.001, help="weight of the router z-loss (mean squared logsumexp of router logits)")

    def validate(self) -> None:
        if self.num_experts < 0:
            raise ValueError(f"model.moe.num_experts must be >= 0, got {self.num_experts}")
        if self.num_experts and not 1 <= self.top_k <= self.num_experts:
            raise ValueError(f"model.moe.top_k={self.top_k} must be in [1, model.moe.num_experts={self.num_experts}]")
        if self.expert_hidden is not None and self.expert_hidden < 1:
            raise ValueError("model.moe.expert_hidden must be >= 1")
        if self.lb_loss < 0 or self.router_z_loss < 0:
            raise ValueError("model.moe.lb_loss and model.moe.router_z_loss must be >= 0")


@dataclasses.dataclass
class ModelConfig:
    """Transformer shape: a preset, with any field given here overriding the preset's value."""

    preset: str = option("tiny", help=f"model shape preset: {', '.join(PRESETS)}")
    d_model: int | None = option(None, help="hidden size (default: from the preset)")
    n_layers: int | None = option(None, help="transformer blocks (default: from the preset)")
    n_heads: int | None = option(None, help="attention heads (default: from the preset)")
    mlp_hidden: int | None = option(None, help="SwiGLU inner size (default: from the preset)")
    vocab_size: int | None = option(None, help="embedding rows; must exceed every token id (default: from the preset)")
    max_seq_len: int | None = option(None, help="longest input the RoPE tables cover (default: from the preset)")
    rope_theta: float = option(500_000.0, help="RoPE base frequency")
    norm_eps: float = option(1e-6, help="RMSNorm epsilon")
    init_std: float = option(0.02, help="std of the truncated-normal (+-3 std) weight init")
    z_loss: float = option(1e-5, help="weight of the z-loss (mean squared log-partition of the logits)")
    moe: MoEConfig = option(default_factory=MoEConfig, help="mixture-of-experts MLPs (off by default)")
    loss_chunk: int = option(
        4096, help="tokens whose float32 logits the loss holds at once (memory, not the model: may change on resume)"
    )

    def __post_init__(self) -> None:
        if isinstance(self.moe, dict):  # read back from a checkpoint's state.json
            self.moe = MoEConfig(**self.moe)

    def validate(self) -> None:
        self.moe.validate()
        if self.preset not in PRESETS:
            raise ValueError(f"model.preset {self.preset!r} is unknown; presets: {', '.join(PRESETS)}")
        shape = self.resolved()
        for name in ("d_model", "n_layers", "n_heads", "mlp_hidden", "vocab_size", "max_seq_len"):
            if getattr(shape, name) < 1:
                raise ValueError(f"model.{name} must be >= 1, got {getattr(shape, name)}")
        assert shape.d_model is not None and shape.n_heads is not None
        if shape.d_model % shape.n_heads or (shape.d_model // shape.n_heads) % 2:
            raise ValueError(
                f"model.d_model={shape.d_model} must split into model.n_heads={shape.n_heads} heads of even size (RoPE)"
            )
        if self.loss_chunk < 1:
            raise ValueError(f"model.loss_chunk must be >= 1, got {self.loss_chunk}")
        if self.rope_theta <= 0 or self.norm_eps <= 0 or self.init_std <= 0 or self.z_loss < 0:
            raise ValueError("model.rope_theta, model.norm_eps and model.init_std must be > 0 and model.z_loss >= 0")

    def shape(self) -> dict[str, object]:
        """The resolved fields that define the weights (all but memory knobs like `loss_chunk`): what a resume or a
        soup must match."""
        return {k: v for k, v in dataclasses.asdict(self.resolved()).items() if k not in RUNTIME_FIELDS}

    def resolved(self) -> ModelConfig:
        """A copy with every shape field filled in from the preset."""
        base = PRESETS.get(self.preset, {})
        filled: dict[str, object] = {k: (v if getattr(self, k) is None else getattr(self, k)) for k, v in base.items()}
        if self.moe.num_experts and self.moe.expert_hidden is None:
            filled["moe"] = dataclasses.replace(self.moe, expert_hidden=filled.get("mlp_hidden", self.mlp_hidden))
        return dataclasses.replace(self, **filled)


@dataclasses.dataclass
class DataConfig:
    """How many instances make an optimizer step, and how many one process runs through the model at once."""

    global_batch_size: int = option(8, help="instances per optimizer step, over all processes")
    micro_batch_size: int = option(4, help="instances per forward/backward on one process (gradient accumulation)")

    def validate(self) -> None:
        if self.global_batch_size < 1 or self.micro_batch_size < 1:
            raise ValueError("data.global_batch_size and data.micro_batch_size must be >= 1")


@dataclasses.dataclass
class OptimConfig:
    """AdamW; weight decay applies to matrices except the input embedding (never to norms)."""

    lr: float = option(4e-4, help="peak learning rate")
    beta1: float = option(0.9, help="AdamW beta1")
    beta2: float = option(0.95, help="AdamW beta2")
    eps: float = option(1e-8, help="AdamW epsilon")
    weight_decay: float = option(0.1, help="decoupled weight decay of the decayed group")
    grad_clip: float = option(1.0, help="clip the global gradient norm to this (0: no clipping)")

    def validate(self) -> None:
        if self.lr <= 0:
            raise ValueError(f"optim.lr must be > 0, got {self.lr}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError("optim.beta1 and optim.beta2 must be in [0, 1)")
        if self.eps <= 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("optim.eps must be > 0; optim.weight_decay and optim.grad_clip must be >= 0")


@dataclasses.dataclass
class ScheduleConfig:
    """Pretraining phases: warmup then cosine or constant; the anneal phase: linear to zero (OLMo 2 mid-training)."""

    warmup_steps: int = option(0, help="linear warmup steps at the start of training")
    decay: Literal["cosine", "constant"] = option("cosine", help="LR shape after warmup over the pretraining phases")
    final_lr_ratio: float = option(0.1, help="cosine ends at optim.lr * final_lr_ratio")
    anneal_phase: str | None = option(
        None,
        help="name of the manifest's last phase to anneal: LR decays linearly from where the previous phase ended to 0",
    )

    def validate(self) -> None:
        if self.warmup_steps < 0:
            raise ValueError("schedule.warmup_steps must be >= 0")
        if not 0 <= self.final_lr_ratio <= 1:
            raise ValueError("schedule.final_lr_ratio must be in [0, 1]")


@dataclasses.dataclass
class EvalConfig:
    """Held-out loss per source on the manifest's validation split."""

    interval: int = option(100, help="evaluate every this many steps and after the last step (0: never)")
    max_instances: int = option(256, help="validation instances used (the first ones of the split)")
    micro_batch_size: int | None = option(None, help="instances per eval forward (default: data.micro_batch_size)")

    def validate(self) -> None:
        if self.interval < 0 or self.max_instances < 0:
            raise ValueError("eval.interval and eval.max_instances must be >= 0")
        if self.micro_batch_size is not None and self.micro_batch_size < 1:
            raise ValueError("eval.micro_batch_size must be >= 1")


@dataclasses.dataclass
class CheckpointConfig:
    """Sharded checkpoints under `<out_dir>/checkpoints/step<N>` (each rank writes its shard), published atomically."""

    interval: int = option(1000, help="save every this many steps and after the last step (0: only at the end)")
    keep: int = option(0, help="keep only the newest this many checkpoints (0: keep all)")
    async_save: bool = option(
        False, help="write the shards in a background thread while training goes on (published at the next save)"
    )

    def validate(self) -> None:
        if self.interval < 0 or self.keep < 0:
            raise ValueError("checkpoint.interval and checkpoint.keep must be >= 0")


@dataclasses.dataclass
class SystemConfig:
    """Device, precision and parallelism; multi-process runs are launched with torchrun."""

    device: Literal["auto", "cpu", "cuda"] = option("auto", help="auto: cuda when available, else cpu")
    precision: Literal["auto", "fp32", "bf16"] = option("auto", help="auto: bf16 autocast on cuda, fp32 on cpu")
    compile: bool = option(False, help="torch.compile the model")
    parallel: Literal["ddp", "fsdp"] = option(
        "ddp", help="with several processes: DDP, or FSDP2 (fully_shard) for large models"
    )
    peak_flops: float | None = option(
        None,
        help="peak FLOP/s of one device for MFU (default: the CUDA device's dense bf16 peak by name; none on cpu)",
    )
    threads: int | None = option(None, help="torch CPU threads (default: torch's choice)")

    def validate(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise ValueError("system.threads must be >= 1")
        if self.peak_flops is not None and self.peak_flops <= 0:
            raise ValueError("system.peak_flops must be > 0")


@dataclasses.dataclass(kw_only=True)
class TrainConfig:
    """`dolma train`: train an OLMo-2-style model on a curriculum manifest."""

    manifest: str = option(help="curriculum manifest directory (from `dolma curriculum build`)")
    out_dir: str = option(help="run directory: metrics.jsonl, checkpoints/, loss.png")
    seed: int = option(0, help="seed of the weight init and the RNGs")
    max_steps: int | None = option(
        None, help="stop after this many steps (the LR schedule still spans the whole manifest)"
    )
    resume: bool = option(False, help="continue from the newest checkpoint in out_dir/checkpoints")
    log_interval: int = option(10, help="log train metrics every this many steps")
    plot: bool = option(False, help="after training, draw out_dir/loss.png from metrics.jsonl")
    export: str | None = option(None, help="after training, export the final weights as a Hugging Face folder here")
    model: ModelConfig = option(default_factory=ModelConfig, help="model shape")
    data: DataConfig = option(default_factory=DataConfig, help="batching")
    optim: OptimConfig = option(default_factory=OptimConfig, help="optimizer")
    schedule: ScheduleConfig = option(default_factory=ScheduleConfig, help="LR schedule")
    eval: EvalConfig = option(default_factory=EvalConfig, help="held-out evaluation")
    checkpoint: CheckpointConfig = option(default_factory=CheckpointConfig, help="checkpointing")
    system: SystemConfig = option(default_factory=SystemConfig, help="device and parallelism")

    def validate(self) -> None:
        for section in (self.model, self.data, self.optim, self.schedule, self.eval, self.checkpoint, self.system):
            section.validate()
        if not self.manifest:
            raise ValueError("'manifest' must name a manifest directory")
        if not self.out_dir:
            raise ValueError("'out_dir' must name a run directory")
        if self.max_steps is not None and self.max_steps < 0:
            raise ValueError("'max_steps' must be >= 0")
        if self.log_interval < 1:
            raise ValueError("'log_interval' must be >= 1")
        if self.data.global_batch_size % self.data.micro_batch_size:
            raise ValueError(
                f"data.global_batch_size={self.data.global_batch_size} must be a multiple of "
                f"data.micro_batch_size={self.data.micro_batch_size}"
            )


@dataclasses.dataclass(kw_only=True)
class SoupConfig:
    """`dolma soup`: average checkpoints' weights (uniformly or weighted), write a checkpoint and/or a HF folder."""

    checkpoints: list[str] = option(help="checkpoint directories (e.g. RUN/checkpoints/step00001000)")
    output: str | None = option(None, help="write the souped checkpoint directory here")
    weights: list[float] | None = option(None, help="one weight per checkpoint, normalized to sum 1 (default: uniform)")
    export: str | None = option(None, help="also export the soup as a Hugging Face folder here")

    def validate(self) -> None:
        if not self.checkpoints:
            raise ValueError("'checkpoints' must list at least one checkpoint directory")
        if self.output is None and self.export is None:
            raise ValueError("give 'output' (a checkpoint directory) and/or 'export' (a Hugging Face folder)")
        if self.weights is not None:
            if len(self.weights) != len(self.checkpoints):
                raise ValueError(f"'weights' has {len(self.weights)} values for {len(self.checkpoints)} checkpoints")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError(f"'weights' must be >= 0 with a positive sum, got {self.weights}")
