"""Temporal consistency metric: zero for HR, blind to temporally constant errors, sees flicker."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from srmer.errors import SrmerError
from srmer.quality.temporal import hr_flows, temporal_consistency, warping_errors


def _translating_clip(t: int = 4, size: int = 64, step: int = 2, seed: int = 0) -> np.ndarray:
    """A smooth textured image shifted right by ``step`` whole pixels per frame (T, size, size, 3)."""
    rng = np.random.default_rng(seed)
    big = rng.uniform(0, 255, (size // 4, (size + t * step) // 4 + 1, 3)).astype(np.float32)
    big = cv2.resize(big, (big.shape[1] * 4, size), interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 1.0)
    frames = [big[:, t * step - k * step : t * step - k * step + size] for k in range(t)]
    return np.clip(np.stack(frames), 20, 235).astype(np.uint8)


def test_flow_recovers_integer_translation():
    hr = _translating_clip()
    flows, masks = hr_flows(hr)
    # frame t+1 is frame t moved right by 2: frame_{t+1}(x) = frame_t(x - 2), so flow_x = -2
    inner = (slice(8, -8), slice(8, -8))
    assert np.median(flows[0][inner][..., 0]) == pytest.approx(-2.0, abs=0.1)
    assert np.median(flows[0][inner][..., 1]) == pytest.approx(0.0, abs=0.1)
    assert masks[0][inner].mean() > 0.9


def test_hr_and_constant_errors_score_zero():
    hr = _translating_clip()
    assert temporal_consistency(hr, hr) == 0.0
    shifted = (hr.astype(np.int16) + 10).astype(np.uint8)  # values stay within 30..245
    assert temporal_consistency(shifted, hr) < 0.05


def test_flicker_matches_analytic_value():
    """Independent Gaussian noise per frame: |n_{t+1} - W(n_t)| has mean 2*sigma/sqrt(pi) when the
    flow is an integer shift (the warp moves the noise without interpolating it)."""
    hr = _translating_clip(t=5)
    rng = np.random.default_rng(1)
    sigma = 4.0
    noisy = np.clip(hr + rng.normal(0, sigma, hr.shape), 0, 255)
    # keep the float noise exact (no rounding) by scoring the float clip directly
    errs = warping_errors(noisy.astype(np.float32), hr.astype(np.float32))
    expected = 2 * sigma / math.sqrt(math.pi)
    assert np.mean(errs["diff"]) == pytest.approx(expected, rel=0.15)
    # static noise pattern moving with the content is temporally consistent
    pattern = rng.normal(0, sigma, hr.shape[1:])
    moving = np.stack([np.roll(pattern, 2 * k, axis=1) for k in range(len(hr))])
    consistent = warping_errors((hr + moving).astype(np.float32), hr.astype(np.float32))
    assert np.mean(consistent["diff"]) < 0.3 * np.mean(errs["diff"])


def test_grey_clips_and_errors():
    hr = _translating_clip()[..., 0]
    assert temporal_consistency(hr, hr) == 0.0
    with pytest.raises(SrmerError, match="differ in shape"):
        temporal_consistency(hr[:, :32], hr)
    with pytest.raises(SrmerError, match="T >= 2"):
        temporal_consistency(hr[:1], hr[:1])
    with pytest.raises(SrmerError, match="flow must be"):
        temporal_consistency(hr, hr, method="raft")
    assert np.isfinite(temporal_consistency(hr, hr, method="farneback"))
