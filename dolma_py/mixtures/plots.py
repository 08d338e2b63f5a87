"""Matplotlib plumbing for the mixtures plots: an Agg figure, saved atomically as PNG or SVG by the path's suffix."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "dolma_py"  # stable element ids: reruns write identical SVG
import matplotlib.pyplot as plt  # noqa: E402

from dolma_py.errors import DolmaError  # noqa: E402
from dolma_py.io.atomic import write_bytes  # noqa: E402

FORMATS = {".png": "png", ".svg": "svg"}


def figure(panels: int, width: float = 6.5, height: float = 4.5) -> tuple[Any, list[Any]]:
    """A figure of `panels` side-by-side axes."""
    fig, axes = plt.subplots(1, panels, figsize=(width * panels, height), squeeze=False)
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    return fig, list(axes[0])


def save(fig: Any, path: Path) -> None:
    """Write `fig` to `path` (PNG or SVG; SVG without its date, so reruns are byte-identical) and close it."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        plt.close(fig)
        raise DolmaError(f"{path}: plots are written as .png or .svg")
    fig.tight_layout()
    buf = io.BytesIO()
    metadata = {"Date": None} if kind == "svg" else {"Software": None}
    fig.savefig(buf, format=kind, dpi=120, metadata=metadata)
    plt.close(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(str(path), buf.getvalue(), compress=False)
