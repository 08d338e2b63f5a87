"""The Rust crate's own unit tests (`cargo test`), run as part of the suite so one command covers everything."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CRATE = Path(__file__).resolve().parent.parent / "rust_ext"


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is needed to build the extension in the first place")
def test_cargo_test_passes() -> None:
    result = subprocess.run(["cargo", "test", "--quiet"], cwd=CRATE, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "test result: ok" in result.stdout


def test_type_stubs_name_exactly_what_the_extension_exports() -> None:
    """`dolma_py/_rust.pyi` declares every public name of the compiled module, and nothing it lacks."""
    import ast

    from dolma_py import _rust

    tree = ast.parse((CRATE.parent / "dolma_py" / "_rust.pyi").read_text())
    declared = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    declared |= {node.target.id for node in tree.body if isinstance(node, ast.AnnAssign)}
    exported = {name for name in dir(_rust) if not name.startswith("_")}
    assert declared - {"__version__"} == exported
