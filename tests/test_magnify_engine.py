"""Eulerian magnification as a pre-processing stage: the synthetic apex displacement, the config
field, and the grid with ``magnify_at: hr`` and ``sr``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import srmer
from srmer.video.magnify import magnify


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = srmer.data.synthetic.generate(
        tmp_path_factory.mktemp("evm") / "c2",
        n_subjects=2,
        clips_per_subject=4,
        n_frames=16,
        size=64,
        seed=0,
    )
    return root, srmer.data.load("casme2", root)


def _apex_displacement(clip: np.ndarray, onset: int, apex: int) -> float:
    """Mean Farneback flow magnitude (px) from the onset to the apex frame."""
    g = clip.mean(-1).astype(np.uint8)
    f = cv2.calcOpticalFlowFarneback(g[onset], g[apex], None, 0.5, 3, 9, 3, 5, 1.1, 0)
    return float(np.linalg.norm(f, axis=-1).mean())


def test_magnification_amplifies_the_synthetic_apex_displacement(clips):
    _, ss = clips
    ratios = {2: [], 4: [], "out": []}
    for s in ss:
        c = s.read()
        base = _apex_displacement(c, s.onset_index, s.apex_index)
        for a in (2, 4):
            m = magnify(c, alpha=a, band=(0.03, 0.4))
            ratios[a].append(_apex_displacement(m, s.onset_index, s.apex_index) / base)
        # a band far above the expression's frequencies (its rise and fall spans the clip)
        m = magnify(c, alpha=4, band=(0.45, 0.5))
        ratios["out"].append(_apex_displacement(m, s.onset_index, s.apex_index) / base)
    r2, r4, out = (float(np.median(ratios[k])) for k in (2, 4, "out"))
    # linear EVM scales the in-band motion by about (1 + alpha); the flow estimator and the
    # out-of-band parts of the motion (its onset and offset) keep it a little below that
    assert 2.0 < r2 < 3.3 and 3.3 < r4 < 5.5 and r4 > r2, (r2, r4)
    # outside the band the expression is amplified far less (what grows there is frame-to-frame
    # noise and the sharp edges of the synthetic time course)
    assert out < r2 and out < 0.5 * r4, (out, r4)


def _config(root, **preprocess):
    return {
        "name": "evm",
        "datasets": [{"name": "casme2", "root": str(root)}],
        "preprocess": {"size": 64, **preprocess},
        "resolutions": [32],
        "sr": ["none", "bicubic"],
        "mer": [{"name": "lbptop", "blocks": [2, 2]}],
        "executor": {"workers": 1},
    }


def test_the_config_field_is_validated_before_any_work(clips):
    from srmer.bench.config import parse_config
    from srmer.errors import ConfigError

    root, _ = clips
    cfg = parse_config(_config(root, magnify={"alpha": 5, "band": [0.05, 0.3]}))
    assert cfg.preprocess.magnify.alpha == 5 and cfg.preprocess.magnify_at == "hr"
    with pytest.raises(ConfigError, match=r"field `preprocess.magnify.band`"):
        parse_config(_config(root, magnify={"band": [0.3, 0.1]}))
    with pytest.raises(ConfigError, match=r"preprocess.magnify.alpha"):
        parse_config(_config(root, magnify={"alpha": -1}))
    with pytest.raises(ConfigError, match=r"preprocess.magnify_at"):
        parse_config(_config(root, magnify={}, magnify_at="lr"))


def test_hr_cache_keys_are_unchanged_without_magnification(clips):
    from srmer.bench.config import parse_config
    from srmer.bench.stages.clip import hr_params

    root, _ = clips
    plain = parse_config(_config(root)).preprocess.model_dump(mode="json")
    # the keys of runs before magnification existed: no magnify entries at all
    assert hr_params(plain) == {k: v for k, v in plain.items() if "magnify" not in k}
    at_sr = parse_config(_config(root, magnify={}, magnify_at="sr")).preprocess
    assert hr_params(at_sr.model_dump(mode="json")) == hr_params(plain)


def test_the_grid_runs_with_magnification_at_hr_and_at_sr(clips, tmp_path):
    root, _ = clips
    cache = str(tmp_path / "cache")
    runs = {}
    for name, pre in (
        ("plain", {}),
        ("hr", {"magnify": {"alpha": 4, "band": [0.03, 0.4]}}),
        ("sr", {"magnify": {"alpha": 4, "band": [0.03, 0.4]}, "magnify_at": "sr"}),
    ):
        cfg = {**_config(root, **pre), "cache": cache}
        runs[name] = srmer.run(cfg, output=None, quiet=True)
    for r in runs.values():
        assert len(r.results) == 3 and r.results["war"].between(0, 1).all()
    # magnified clips give other predictions somewhere (the descriptors differ)
    p = {
        k: r.predictions.sort_values(["setting", "clip"])["y_pred"].tolist()
        for k, r in runs.items()
    }
    assert p["hr"] != p["plain"] or p["sr"] != p["plain"]
    # at `sr` the HR clips are the plain run's (cached once), the representations are new
    q = {k: r.results.set_index("setting")["psnr"] for k, r in runs.items()}
    np.testing.assert_allclose(q["sr"].dropna(), q["plain"].dropna())
