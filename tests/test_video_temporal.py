"""Temporal interpolation model (TIM) and linear interpolation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from srmer.video import TIMRankWarning, linear_interpolate, preprocess_clip, tim_interpolate


def _literal_tim(frames: np.ndarray, n_out: int) -> np.ndarray:
    """TIM (Zhou et al. 2011) step by step, with a plain economy SVD (small data only)."""
    n = frames.shape[0]
    x = frames.reshape(n, -1).astype(np.float64).T
    mu = x.mean(axis=1, keepdims=True)
    u, s, vt = np.linalg.svd(x - mu, full_matrices=False)
    u, s, vt = u[:, : n - 1], s[: n - 1], vt[: n - 1]
    q = np.diag(s) @ vt
    lap = 2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)
    lap[0, 0] = lap[-1, -1] = 1
    _, v = np.linalg.eigh(lap)
    v0 = v[:, 1:]
    w = np.linalg.inv(q @ q.T) @ q @ v0
    m = np.array(
        [
            q[:, 0] @ w[:, j - 1] / np.sin(j * np.pi / n + np.pi * (n - j) / (2 * n))
            for j in range(1, n)
        ]
    )
    out = []
    for pos in np.linspace(0, 1, n_out):
        p = pos * (1 - 1 / n) + 1 / n
        vv = np.array([np.sin(p * k * np.pi + np.pi * (n - k) / (2 * n)) for k in range(1, n)])
        out.append(u @ np.linalg.solve(w.T, vv * m) + mu[:, 0])
    return np.array(out).reshape(n_out, *frames.shape[1:])


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    return rng.random((9, 6, 7, 3)) * 255


def test_matches_literal_reference(frames):
    for n_out in (4, 16, 9, 30):
        np.testing.assert_allclose(
            tim_interpolate(frames, n_out), _literal_tim(frames, n_out), atol=1e-7
        )


def test_reproduces_input_when_n_out_equals_n(frames):
    np.testing.assert_allclose(tim_interpolate(frames, 9), frames, atol=1e-8)
    u8 = np.clip(frames, 0, 255).astype(np.uint8)
    out = tim_interpolate(u8, 9)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, u8)


def test_curve_passes_through_every_input_frame(frames):
    # positions i/(N-1) are the input frames: with n_out = 4 (N-1) + 1 every 4th output is one
    out = tim_interpolate(frames, 4 * 8 + 1)
    np.testing.assert_allclose(out[::4], frames, atol=1e-7)


def test_output_is_smooth_in_time(frames):
    # TIM's curve is a sum of sinusoids (C-infinity): sampling twice as densely shrinks the
    # largest second difference ~4x. Piecewise-linear interpolation has kinks at the input
    # frames, so its second differences shrink only ~2x.
    def max_d2(fn, n_out):
        y = fn(frames, n_out).reshape(n_out, -1)
        return np.abs(np.diff(y, 2, axis=0)).max()

    r_tim = max_d2(tim_interpolate, 201) / max_d2(tim_interpolate, 401)
    r_lin = max_d2(linear_interpolate, 201) / max_d2(linear_interpolate, 401)
    assert r_tim == pytest.approx(4.0, rel=0.1)
    assert r_lin == pytest.approx(2.0, rel=0.1)


def test_rank_fallback_on_duplicated_frames_is_taken_and_reported(frames):
    dup = np.concatenate([frames[:4], frames[3:4], frames[4:]])  # frame 3 twice
    with pytest.warns(TIMRankWarning, match="rank"):
        out, info = tim_interpolate(dup, 16, return_info=True)
    assert info["method"] == "linear" and "rank" in info["reason"]
    np.testing.assert_allclose(out, linear_interpolate(dup, 16))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, ok = tim_interpolate(frames, 16, return_info=True)
    assert ok["method"] == "tim"
    with pytest.warns(TIMRankWarning):
        one = tim_interpolate(frames[:1], 5)
    assert one.shape == (5, 6, 7, 3)


def test_preprocess_reports_fallback(frames):
    u8 = np.clip(frames, 0, 255).astype(np.uint8)
    clip, info = preprocess_clip(u8, size=6, frames=5)
    assert clip.shape == (5, 6, 6, 3) and info["temporal"] == "tim"
    dup = np.concatenate([u8, u8[-1:]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported through info, not warned per clip
        clip, info = preprocess_clip(dup, size=6, frames=5)
    assert info["temporal"] == "linear" and "rank" in info["temporal_note"]


def test_linear_interpolate():
    x = np.arange(4, dtype=np.float64)[:, None, None] * np.ones((1, 2, 2))
    out = linear_interpolate(x, 7)
    np.testing.assert_allclose(out[:, 0, 0], np.linspace(0, 3, 7))
    np.testing.assert_array_equal(linear_interpolate(x, 4), x)
    u = np.array([[[0]], [[255]]], np.uint8)
    assert linear_interpolate(u, 3)[1, 0, 0] == 128  # 127.5 rounds up
    assert linear_interpolate(u[:1], 3).shape == (3, 1, 1)
