"""`dolma report` opened as a person would: headless Chromium loads the page with no console error, no failed
resource and no exception, and renders something that is not blank. Skipped, saying why, without a browser
(Debian: `apt-get install -y chromium`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from browser import find_browser, visit
from report_pipeline import build_pipeline, report_argv

from dolma_py.cli.main import main

BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on this machine (Debian: apt-get install -y chromium)"
)


def _ink(png: bytes) -> tuple[tuple[int, int], float, int]:
    """The screenshot's size, the fraction of pixels that are not white, and how many colours it uses."""
    import numpy as np
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image.resize((image.width // 4, image.height // 4))).reshape(-1, 3).astype(int)
    inked = float((pixels.sum(axis=1) < 720).mean())
    return image.size, inked, len(np.unique(pixels, axis=0))


def test_detector_sees_errors_and_missing_resources(tmp_path: Path) -> None:
    """The check itself can fail: a page with a missing image and a console error is reported."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><p>x</p><img src="missing.png"><script>console.error("boom")</script>')
    errors = visit(BROWSER, page.as_uri()).errors
    assert any("ERR_FILE_NOT_FOUND" in e for e in errors) and any("boom" in e for e in errors), errors


def test_report_renders_without_errors(tmp_path: Path) -> None:
    options = build_pipeline(tmp_path)
    output = tmp_path / "report.html"
    assert main(report_argv(options, str(output))) == 0
    for width in (1280, 420):  # a laptop and a phone
        seen = visit(BROWSER, output.as_uri(), width=width)
        assert seen.errors == [], seen.errors
        (width_px, height_px), inked, colours = _ink(seen.screenshot)
        assert width_px == width and height_px > 2000, (width_px, height_px)  # no sideways overflow; all laid out
        assert inked > 0.02 and colours > 20, (inked, colours)
