"""The HTML report opens in a real headless Chromium and its figures render.

Needs Debian's chromium (``apt-get install -y chromium``); skipped where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from srmer.bench.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed"),
    pytest.mark.slow,  # two browser launches + a report: ~20 s on a shared 2-core machine
]


def _make_run_dir(root: Path) -> Path:
    # The fabricated run directory of test_report.py (tests/ is not a package).
    spec = importlib.util.spec_from_file_location(
        "_test_report", Path(__file__).with_name("test_report.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_run_dir(root, datasets=("casme2",))


def _screenshot(html: Path, png: Path, profile: Path, height: int) -> None:
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
        f"--window-size=1280,{height}", html.as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def test_report_renders_in_chromium(tmp_path):
    from PIL import Image

    html = write_report(_make_run_dir(tmp_path))
    png = tmp_path / "shot.png"
    _screenshot(html, png, tmp_path / "profile", 6000)
    img = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    assert img.shape[:2] == (6000, 1280)
    # Non-blank: a good share of rows carry ink, and there is colour (figures, red/blue cells).
    ink_rows = (img.min(axis=2) < 200).any(axis=1).mean()
    assert ink_rows > 0.3, ink_rows
    chroma = img.max(axis=2) - img.min(axis=2)
    assert (chroma > 60).mean() > 0.005  # coloured pixels: bars, scatter points, heat maps

    # Control: the same page with every embedded PNG broken. The colour must come from the figures
    # (tables are black on white apart from a few red/blue numbers), so it has to drop sharply.
    broken = tmp_path / "broken.html"
    text = re.sub(
        r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,AAAA", html.read_text()
    )
    broken.write_text(text)
    png2 = tmp_path / "shot_broken.png"
    _screenshot(broken, png2, tmp_path / "profile2", 6000)
    img2 = np.asarray(Image.open(png2).convert("RGB")).astype(np.int16)
    chroma2 = img2.max(axis=2) - img2.min(axis=2)
    n_fig, n_ctrl = int((chroma > 100).sum()), int((chroma2 > 100).sum())
    print(f"saturated pixels with figures {n_fig}, with broken figures {n_ctrl}")
    assert n_fig > 20_000 and n_fig > 10 * max(n_ctrl, 1), (n_fig, n_ctrl)
    for d in ("profile", "profile2"):
        shutil.rmtree(tmp_path / d, ignore_errors=True)
