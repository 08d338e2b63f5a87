"""Schemas of `dolma ladder fit` (a POINTS.csv and a target) and `dolma ladder run` (a ladder spec).

Pure dataclasses (no torch import) so `dolma ladder --help` works without the `train` extra.
"""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import option


@dataclasses.dataclass(kw_only=True)
class LadderFitConfig:
    """`dolma ladder fit`: fit L(N, D) (and Acc(L) per task) to a ladder's points and predict a target."""

    points: str = option(help="POINTS.csv: params,tokens,loss[,final][,task,accuracy,task_loss]")
    target_params: float = option(help="parameters of the model to predict")
    target_tokens: float = option(help="tokens the target is trained on")
    out: str | None = option(None, help="directory for ladder_fit.json and the plot (default: beside POINTS.csv)")
    plot: str = option("ladder_fit.png", help="plot file name in `out` (.png or .svg)")
    bootstrap: int = option(100, help="bootstrap resamples for the prediction interval (0: none)")
    seed: int = option(0, help="seed of the bootstrap resampling")

    def validate(self) -> None:
        if self.target_params <= 0 or self.target_tokens <= 0:
            raise ValueError("target_params and target_tokens must be > 0")
        if self.bootstrap < 0:
            raise ValueError(f"bootstrap must be >= 0, got {self.bootstrap}")
        if not self.plot.lower().endswith((".png", ".svg")):
            raise ValueError(f"plot must end in .png or .svg, got {self.plot!r}")
