"""PSNR / SSIM with the SR-paper conventions: known values and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from srmer.errors import SrmerError
from srmer.quality import psnr, psnr_clip, rgb_to_y, ssim, ssim_clip


def _img(seed=0, shape=(40, 48, 3)):
    rng = np.random.default_rng(seed)
    base = rng.integers(30, 220, shape).astype(np.float64)
    # smooth it a bit so SSIM's structure term is meaningful
    from scipy.ndimage import uniform_filter

    return np.clip(uniform_filter(base, size=(3, 3, 1)[: len(shape)]), 0, 255).astype(np.uint8)


def test_identical_images():
    a = _img()
    assert psnr(a, a) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a[..., 0], a[..., 0]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("d", [1, 3, 10])
def test_constant_offset_psnr_exact(d):
    a = _img()
    b = a.astype(np.int16) + d
    b = b.astype(np.uint8)  # values stay below 255 by construction (max 219 + 10)
    assert psnr(a, b) == pytest.approx(20 * math.log10(255 / d), abs=1e-12)
    # grey and cropped variants too
    assert psnr(a[..., 1], b[..., 1], crop_border=4) == pytest.approx(20 * math.log10(255 / d))


def test_y_channel_formula_and_psnr():
    a = _img(1)
    y = rgb_to_y(a)
    r, g, b = (a[..., i].astype(np.float64) for i in range(3))
    np.testing.assert_allclose(y, 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)
    assert rgb_to_y(np.full((1, 1, 3), 255))[0, 0] == pytest.approx(235.0)
    c = _img(2)
    exp = 10 * math.log10(255**2 / np.mean((rgb_to_y(a) - rgb_to_y(c))[3:-3, 3:-3] ** 2))
    assert psnr(a, c, crop_border=3, y_channel=True) == pytest.approx(exp, rel=1e-12)


def _direct_ssim(x, y):
    # Direct formula on every 11x11 valid window, written independently (loops).
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    g1 = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    w = np.outer(g1, g1)
    w /= w.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i : i + 11, j : j + 11], y[i : i + 11, j : j + 11]
            mx, my = (w * px).sum(), (w * py).sum()
            vx = (w * (px - mx) ** 2).sum()
            vy = (w * (py - my) ** 2).sum()
            cxy = (w * (px - mx) * (py - my)).sum()
            vals.append(
                ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(vals))


def test_ssim_matches_direct_formula_shifted_copy():
    a = _img(3, (24, 26))
    b = np.clip(a.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    got = ssim(a, b)
    assert got < 1
    assert got == pytest.approx(_direct_ssim(a, b), abs=1e-10)


def test_ssim_matches_direct_formula_noisy():
    a = _img(4, (22, 25))
    rng = np.random.default_rng(5)
    b = np.clip(a + rng.normal(0, 15, a.shape), 0, 255)
    assert ssim(a, b) == pytest.approx(_direct_ssim(a, b), abs=1e-10)


def test_ssim_matches_skimage_valid_region():
    a = _img(6)
    rng = np.random.default_rng(7)
    b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    per_channel = []
    for c in range(3):
        _, smap = structural_similarity(
            a[..., c].astype(np.float64),
            b[..., c].astype(np.float64),
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
            full=True,
        )
        per_channel.append(smap[5:-5, 5:-5].mean())
    assert ssim(a, b) == pytest.approx(np.mean(per_channel), abs=1e-10)
    # y channel: same on the luma plane
    _, smap = structural_similarity(
        rgb_to_y(a),
        rgb_to_y(b),
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    assert ssim(a, b, y_channel=True) == pytest.approx(smap[5:-5, 5:-5].mean(), abs=1e-10)


def test_clip_versions_are_frame_means():
    a = np.stack([_img(s) for s in range(3)])
    b = np.stack(
        [np.clip(f.astype(np.int16) + k + 1, 0, 255).astype(np.uint8) for k, f in enumerate(a)]
    )
    assert psnr_clip(a, b) == pytest.approx(
        np.mean([psnr(x, y) for x, y in zip(a, b, strict=True)])
    )
    assert ssim_clip(a, b, crop_border=2) == pytest.approx(
        np.mean([ssim(x, y, crop_border=2) for x, y in zip(a, b, strict=True)])
    )


def test_errors():
    a = _img()
    with pytest.raises(SrmerError):
        psnr(a, a[:-1])
    with pytest.raises(SrmerError):
        ssim(a[:8, :8], a[:8, :8])
    with pytest.raises(SrmerError):
        psnr(a, a, crop_border=30)
    with pytest.raises(SrmerError):
        psnr_clip(a[..., 0], a[..., 0])
