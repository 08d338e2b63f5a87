"""Plots rendered at build time to SVG text with matplotlib, byte-identical for the same data.

Every figure is drawn with the SVG backend, a fixed `svg.hashsalt` (element ids depend only on content)
and no date metadata, so the same statistics always give the same bytes, and a page can inline several.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

PALETTE = ("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#000000")
"""Paul Tol's colour-blind-safe qualitative palette."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("svg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "dolma_py", "svg.fonttype": "none", "font.size": 9, "axes.titlesize": 9})
    return plt


def _svg(fig: Any) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline-ready: no XML declaration or doctype


def rebin(edges: Sequence[float], counts: Sequence[float], bins: int) -> tuple[list[float], list[float]]:
    """Equal-width bins (at most `bins`, at most one per count) over a dolma summary's range, each count filed at
    its bin's lower edge. A dolma summary is either its exact buckets (each count belongs at one value) or a
    width histogram (each count spans an edge interval); filing at the lower edge is right for both."""
    if not counts:
        return [], []
    lo, hi = float(edges[0]), float(edges[-1])
    if hi <= lo:
        hi = lo + 1.0
    folded, new_edges = np.histogram(edges[: len(counts)], bins=min(bins, len(counts)), range=(lo, hi), weights=counts)
    return new_edges.tolist(), folded.tolist()


def _x_range(edges: Sequence[float], marks: Sequence[float]) -> tuple[float, float]:
    """The x range covering the bins and the thresholds; a single value is centred on a range of readable width."""
    lo, hi = min([edges[0], *marks]), max([edges[-1], *marks])
    if hi - lo <= 1e-4 * max(1.0, abs(hi)):
        pad = 0.5 * max(1.0, abs(hi))
        lo, hi = lo - pad, hi + pad
    return lo, hi


def histogram_svg(
    panels: Sequence[tuple[str, dict[str, Any], Sequence[tuple[str, float]]]],
    *,
    title: str | None = None,
    width: float = 3.4,
) -> str:
    """One row of histograms: per panel a title, a dolma summary (`bins` edges, `counts`) and labelled
    thresholds drawn as vertical lines; `title` above the row."""
    from matplotlib import ticker

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), 2.4 if title else 2.2), squeeze=False)
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    for ax, (title, summary, thresholds) in zip(axes[0], panels, strict=True):
        edges, counts = rebin(summary["bins"], summary["counts"], 60)
        if counts:
            lo, hi = _x_range(edges, [value for _, value in thresholds])
            span = hi - lo
            widths = np.maximum(np.diff(edges), span / 60)  # a one-value bucket (1e-5 wide) stays visible
            ax.bar(edges[:-1], counts, width=widths, align="edge", color=PALETTE[0], edgecolor="white", linewidth=0.3)
            ax.set_xlim(lo - 0.03 * span, hi + 0.03 * span)
        for index, (label, value) in enumerate(thresholds):
            ax.axvline(value, color=PALETTE[1 + index % 5], linestyle="--", linewidth=1.2, label=f"{label}: {value:g}")
        if thresholds:
            ax.legend(fontsize=7, frameon=False)
        ax.set_title(title, loc="left")
        ax.xaxis.set_major_locator(ticker.MaxNLocator(5))  # long tick labels (10000, 12500) stay apart
        ax.set_ylabel("count")
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig)


def bars_svg(labels: Sequence[str], series: dict[str, Sequence[float]], *, ylabel: str, stacked: bool = False) -> str:
    """Grouped (or stacked) bars: one group per label, one bar (or segment) per series."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(3.5, 0.9 * len(labels) + 2), 2.4))
    x = np.arange(len(labels))
    names = list(series)
    width = 0.8 if stacked else 0.8 / max(1, len(names))
    bottom = np.zeros(len(labels))
    for index, name in enumerate(names):
        values = np.asarray(series[name], dtype=float)
        if stacked:
            ax.bar(x, values, width, bottom=bottom, label=name, color=PALETTE[index % len(PALETTE)])
            bottom += values
        else:
            ax.bar(x - 0.4 + width * (index + 0.5), values, width, label=name, color=PALETTE[index % len(PALETTE)])
    ax.set_xticks(x, labels)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    fig.tight_layout()
    return _svg(fig)


def lines_svg(curves: dict[str, tuple[Sequence[float], Sequence[float]]], *, xlabel: str, ylabel: str) -> str:
    """Line plot of named (x, y) curves."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    for index, (name, (xs, ys)) in enumerate(curves.items()):
        marker = "." if len(xs) < 30 else None
        ax.plot(xs, ys, label=name, color=PALETTE[index % len(PALETTE)], linewidth=1.2, marker=marker)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.0), loc="upper left")
    fig.tight_layout()
    return _svg(fig)
