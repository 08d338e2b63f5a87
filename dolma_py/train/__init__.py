"""`dolma train`: a small PyTorch trainer for OLMo-2-style models on curriculum manifests (the `train` extra)."""

from __future__ import annotations

import importlib.util

from dolma_py.errors import DolmaError

EXTRA_MODULES = ("torch", "safetensors", "matplotlib")


def require_train_extra(command: str) -> None:
    """Fail with an install hint when the `train` extra (torch, safetensors, matplotlib) is missing."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise DolmaError(f"`dolma {command}` needs {', '.join(missing)}: pip install 'dolma-py[train]'")
