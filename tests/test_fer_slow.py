"""Slow: FSR-FER on the synthetic static set beats bicubic + HR classifier at x8 (demo config)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / "src" / "srmer" / "configs" / "fer_demo.yaml"


@pytest.mark.slow
def test_fsr_fer_beats_bicubic_at_x8(tmp_path):
    from srmer.fer import run_fsr_fer
    from srmer.fer.config import load_fer_config

    cfg = load_fer_config(CONFIG).model_copy(update={"progress": False})
    tables = run_fsr_fer(cfg, tmp_path)
    t1 = tables["table1"]
    # the HR classifier must have learnt something, or the comparison is meaningless
    assert t1.loc["HR", "x2"] > 100 / 7 + 20
    assert t1.loc["FSR-FER", "x8"] > t1.loc["Bicubic", "x8"] + 3.0, t1
    # averaged over x2..x8 FSR-FER is not worse than bicubic either
    assert t1.loc["FSR-FER", "avg"] > t1.loc["Bicubic", "avg"], t1
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000
