"""TV-L1 flow, optical strain and flow images on synthetic motions whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from srmer.features.flow import flow_images, optical_strain, tvl1_flow


def _texture(n: int = 96, seed: int = 0, sigma: float = 2.0) -> np.ndarray:
    """Smooth random texture, float64 in [0, 255] (smooth so TV-L1 can track sub-pixel motion)."""
    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.random((n, n)), (0, 0), sigma)
    return (t - t.min()) / (t.max() - t.min()) * 255.0


def _warp(img: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    return cv2.remap(
        img.astype(np.float32), map_x.astype(np.float32), map_y.astype(np.float32),
        cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


def test_translation_right_gives_positive_u():
    a = _texture()
    b = np.roll(a, 2, axis=1)  # content moves +2 px in x
    flow = tvl1_flow(a.astype(np.uint8), b.astype(np.uint8))
    assert flow.shape == (96, 96, 2) and flow.dtype == np.float32
    inner = flow[10:-10, 10:-10]
    assert np.median(inner[..., 0]) == pytest.approx(2.0, abs=0.1)
    assert abs(np.median(inner[..., 1])) < 0.1


def test_translation_down_and_rgb_input():
    a = _texture(seed=1)
    b = np.roll(a, -1, axis=0)  # content moves up by 1 px
    rgb_a = np.repeat(a.astype(np.uint8)[..., None], 3, axis=2)
    rgb_b = np.repeat(b.astype(np.uint8)[..., None], 3, axis=2)
    flow = tvl1_flow(rgb_a, rgb_b)
    inner = flow[10:-10, 10:-10]
    assert np.median(inner[..., 1]) == pytest.approx(-1.0, abs=0.1)
    assert abs(np.median(inner[..., 0])) < 0.1


def test_identical_frames_zero_flow_and_size_mismatch():
    a = _texture(32).astype(np.uint8)
    assert np.abs(tvl1_flow(a, a)).max() < 1e-3
    with pytest.raises(ValueError, match="same size"):
        tvl1_flow(a, a[:-1])


def test_expansion_flow_and_strain():
    n, s = 96, 1.06
    a = _texture(n, seed=2)
    c = (n - 1) / 2
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    # b(x) = a(c + (x - c) / s): the face grows by s about the centre, so u = (s - 1)(x - c).
    b = _warp(a, c + (xx - c) / s, c + (yy - c) / s)
    flow = tvl1_flow(a.astype(np.uint8), np.clip(b, 0, 255).astype(np.uint8))
    u, v = flow[..., 0], flow[..., 1]
    sl = np.s_[16:-16, 16:-16]
    # u grows left to right with slope s - 1, v top to bottom
    slope_u = np.polyfit(xx[sl].ravel(), u[sl].ravel(), 1)[0]
    slope_v = np.polyfit(yy[sl].ravel(), v[sl].ravel(), 1)[0]
    assert slope_u == pytest.approx(s - 1, rel=0.2)
    assert slope_v == pytest.approx(s - 1, rel=0.2)
    strain = optical_strain(u, v)
    assert (strain >= 0).all()
    # pure expansion: u_x = v_y = s - 1, no shear -> strain sqrt(2) (s - 1)
    assert np.median(strain[sl]) == pytest.approx(np.sqrt(2) * (s - 1), rel=0.35)


def _strain_loops(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Slow reference: central differences inside, one-sided at the border, written out."""
    h, w = u.shape

    def d(f, i, j, axis):
        if axis == 1:
            if j == 0:
                return f[i, 1] - f[i, 0]
            if j == w - 1:
                return f[i, j] - f[i, j - 1]
            return (f[i, j + 1] - f[i, j - 1]) / 2
        if i == 0:
            return f[1, j] - f[0, j]
        if i == h - 1:
            return f[i, j] - f[i - 1, j]
        return (f[i + 1, j] - f[i - 1, j]) / 2

    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            ux, uy = d(u, i, j, 1), d(u, i, j, 0)
            vx, vy = d(v, i, j, 1), d(v, i, j, 0)
            out[i, j] = np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
    return out


def test_strain_matches_loops_and_linear_fields():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=(2, 9, 11))
    np.testing.assert_allclose(optical_strain(u, v), _strain_loops(u, v), rtol=1e-5, atol=1e-6)
    yy, xx = np.mgrid[0:12, 0:12].astype(float)
    # linear field: u_x = .3, v_y = -.2, u_y + v_x = .1 + .4
    s = optical_strain(0.3 * xx + 0.1 * yy, -0.2 * yy + 0.4 * xx)
    np.testing.assert_allclose(s, np.sqrt(0.09 + 0.04 + 0.5 * 0.25), rtol=1e-6)
    # rigid translation has no strain
    assert np.abs(optical_strain(np.full((5, 5), 3.0), np.full((5, 5), -1.0))).max() == 0


def test_flow_images_shape_range_and_order():
    a = _texture(64, seed=4)
    b = np.roll(a, 2, axis=1)
    x = flow_images(a.astype(np.uint8), b.astype(np.uint8), size=28)
    assert x.shape == (3, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    raw = flow_images(a.astype(np.uint8), b.astype(np.uint8), size=(20, 24), channels=("u", "v"),
                      normalise="none")  # fmt: skip
    assert raw.shape == (2, 20, 24)
    assert np.median(raw[0]) == pytest.approx(2.0, abs=0.15)  # u first, in input pixels
    m = flow_images(a.astype(np.uint8), b.astype(np.uint8), size=16, channels=("u",),
                    normalise="max_abs")  # fmt: skip
    assert np.abs(m).max() == pytest.approx(1.0) and np.median(m) > 0  # sign kept


def test_flow_images_upsamples_small_frames():
    a = _texture(16, seed=5, sigma=1.0).astype(np.uint8)
    x = flow_images(a, np.roll(a, 1, axis=1), size=28)
    assert x.shape == (3, 28, 28) and np.isfinite(x).all()


def test_flow_images_rejects_unknown_channel():
    a = _texture(16).astype(np.uint8)
    with pytest.raises(ValueError, match="channels"):
        flow_images(a, a, channels=("u", "w"))
