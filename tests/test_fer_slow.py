"""Slow: FSR-FER on the synthetic static set beats bicubic + HR classifier at x8 (demo config)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[1] / "src" / "srmer" / "configs" / "fer_demo.yaml"


@pytest.mark.slow
def test_fsr_fer_beats_bicubic_at_x8(tmp_path):
    from srmer.fer import run_fsr_fer
    from srmer.fer.config import load_fer_config

    cfg = load_fer_config(CONFIG)
    # the demo config with a larger budget (40 epochs, 600 FSR iterations of 32 faces): measured
    # x8 accuracy 15.2% bicubic vs 24.3% FSR-FER (docs/fsr_fer.md); the demo itself gives 15.2 vs 20.0
    cfg = cfg.model_copy(
        update={
            "progress": False,
            "backbone": cfg.backbone.model_copy(update={"epochs": 40}),
            "fsr": cfg.fsr.model_copy(update={"iterations": 600, "batch_size": 32}),
        }
    )
    tables = run_fsr_fer(cfg, tmp_path)
    t1 = tables["table1"]
    # the HR classifier must have learnt something, or the comparison is meaningless
    assert t1.loc["HR", "x2"] > 100 / 7 + 20
    assert t1.loc["FSR-FER", "x8"] > t1.loc["Bicubic", "x8"] + 3.0, t1
    # averaged over x2..x8 FSR-FER is not worse than bicubic either
    assert t1.loc["FSR-FER", "avg"] > t1.loc["Bicubic", "avg"], t1
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000
