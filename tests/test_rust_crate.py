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
