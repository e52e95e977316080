"""Seeded clip degradations: registry, determinism, shapes, noise statistics, kernels."""

from __future__ import annotations

import numpy as np
import pytest

from srmer.degrade import (
    DEGRADATIONS,
    RealESRGANDegradation,
    describe_degradations,
    get_degradation,
    imresize,
    resize_clip,
)
from srmer.degrade.kernels import (
    bivariate_kernel,
    circular_lowpass_kernel,
    gaussian_kernel,
    random_mixed_kernel,
)
from srmer.degrade.models import _gaussian_noise, _poisson_noise
from srmer.errors import ConfigError, UnknownMethodError
from srmer.quality import psnr_clip


def _clip(t=3, h=48, w=48, rgb=True, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    frames = [base + rng.normal(0, 3, base.shape) for _ in range(t)]
    c = np.clip(np.stack(frames), 0, 255).astype(np.uint8)
    if rgb:
        c = np.stack([c, np.roll(c, 3, axis=2), 255 - c], axis=-1)
    return c


ALL = [
    "bicubic",
    {"name": "blur_noise", "noise_sigma": 5},
    {
        "name": "blur_noise",
        "blur_sigma": [0.5, 2.0],
        "downsample": "decimate",
        "noise_sigma": [1, 4],
    },
    {"name": "jpeg", "quality": [20, 90]},
    "realesrgan",
]


def test_registry_names_and_descriptions():
    assert {"bicubic", "blur_noise", "jpeg", "realesrgan"} <= set(DEGRADATIONS)
    desc = describe_degradations()
    assert all(isinstance(v, str) and v for v in desc.values())


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s if isinstance(s, str) else s["name"])
@pytest.mark.parametrize("rgb", [True, False])
def test_shapes_dtype_and_seeding(spec, rgb):
    clip = _clip(rgb=rgb)
    d = get_degradation(spec)
    a = d.degrade(clip, 16, seed=3)
    b = d.degrade(clip, 16, seed=3)
    assert a.dtype == np.uint8
    assert a.shape == ((3, 16, 16, 3) if rgb else (3, 16, 16))
    np.testing.assert_array_equal(a, b)
    assert d.cache_params()["name"] == (spec if isinstance(spec, str) else spec["name"])


@pytest.mark.parametrize("spec", ALL[1:], ids=lambda s: s if isinstance(s, str) else s["name"])
def test_stochastic_ones_depend_on_seed(spec):
    clip = _clip()
    d = get_degradation(spec)
    outs = [d.degrade(clip, 24, seed=s) for s in range(4)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])


def test_get_degradation_errors():
    with pytest.raises(UnknownMethodError):
        get_degradation("blurry")
    with pytest.raises(ConfigError, match="name"):
        get_degradation({"noise_sigma": 3})
    with pytest.raises(ConfigError, match="noise_sigma"):
        get_degradation({"name": "blur_noise", "noise_sigma": [5, 1]})
    with pytest.raises(ConfigError):
        get_degradation({"name": "blur_noise", "sharpness": 1})
    with pytest.raises(ConfigError, match="downsample"):
        get_degradation({"name": "blur_noise", "downsample": "lanczos"})
    with pytest.raises(ConfigError, match="quality"):
        get_degradation({"name": "jpeg", "quality": 0})
    with pytest.raises(ConfigError, match="unknown parameter"):
        get_degradation({"name": "realesrgan", "noise": 3})
    with pytest.raises(ConfigError):
        get_degradation("bicubic").degrade(np.zeros((2, 8, 8), np.float32), 4)


def test_blur_noise_noise_statistics():
    # Constant clip, no blur, no resize: the output minus the level is the rounded noise.
    clip = np.full((4, 64, 64), 120, np.uint8)
    d = get_degradation({"name": "blur_noise", "blur_sigma": 0, "noise_sigma": 10})
    out = d.degrade(clip, 64, seed=1).astype(np.float64) - 120
    assert abs(out.mean()) < 0.3
    assert out.std() == pytest.approx(np.sqrt(100 + 1 / 12), rel=0.03)
    # independent per frame (sensor noise), not a fixed pattern
    corr = np.corrcoef(out[0].ravel(), out[1].ravel())[0, 1]
    assert abs(corr) < 0.05


def test_blur_noise_without_blur_and_noise_is_bicubic_or_decimation():
    clip = _clip()
    plain = get_degradation({"name": "blur_noise", "blur_sigma": 0})
    # the blur/noise pipeline stays in float until the end (no per-pass uint8 rounding)
    exp = np.clip(np.floor(imresize(clip.astype(np.float64), size=12, axes=(1, 2)) + 0.5), 0, 255)
    np.testing.assert_array_equal(plain.degrade(clip, 12, seed=0), exp.astype(np.uint8))
    assert np.abs(plain.degrade(clip, 12).astype(int) - resize_clip(clip, 12)).max() <= 1
    dec = get_degradation({"name": "blur_noise", "blur_sigma": 0, "downsample": "decimate"})
    # factor 4: LR pixel i has its centre at HR coordinate 4i + 1.5 -> nearest sample 4i + 2
    np.testing.assert_array_equal(dec.degrade(clip, 12, seed=0), clip[:, 2::4, 2::4])


def test_blur_noise_blur_is_gaussian_and_shared_by_frames():
    # An impulse in every frame, decimation by 1 (size = H): the output is the blur kernel,
    # identical in every frame because the sigma is drawn once per clip.
    clip = np.zeros((3, 21, 21), np.uint8)
    clip[:, 10, 10] = 255
    d = get_degradation({"name": "blur_noise", "blur_sigma": [1.0, 2.0], "downsample": "decimate"})
    out = d.degrade(clip, 21, seed=7).astype(np.float64)
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])
    rng = np.random.default_rng(7)
    sigma = rng.uniform(1.0, 2.0)  # the first draw of the clip's generator
    expected = np.zeros((21, 21))
    k = gaussian_kernel(sigma)
    r = k.shape[0] // 2
    expected[10 - r : 10 + r + 1, 10 - r : 10 + r + 1] = 255 * k
    np.testing.assert_allclose(out[0], np.floor(expected + 0.5), atol=1)


def test_jpeg_quality_orders_error():
    clip = _clip()
    ref = resize_clip(clip, 24)
    lo = get_degradation({"name": "jpeg", "quality": 10}).degrade(clip, 24)
    hi = get_degradation({"name": "jpeg", "quality": 95}).degrade(clip, 24)
    assert psnr_clip(ref, hi) > psnr_clip(ref, lo) + 3


def test_realesrgan_plan_is_per_clip():
    # With noise switched off, identical input frames must give identical output frames: every
    # random choice (kernels, resizes, JPEG qualities, order) is shared by the clip.
    clip = np.repeat(_clip(t=1), 4, axis=0)
    d = get_degradation(
        {
            "name": "realesrgan",
            "gaussian_noise_prob": 1.0,
            "gaussian_noise_prob2": 1.0,
            "noise_range": [0, 0],
            "noise_range2": [0, 0],
        }
    )
    for seed in range(3):
        out = d.degrade(clip, 16, seed=seed)
        for t in range(1, 4):
            np.testing.assert_array_equal(out[0], out[t])


def test_realesrgan_plan_frequencies_follow_published_probabilities():
    d = RealESRGANDegradation()
    rng = np.random.default_rng(0)
    plans = [d.plan(rng) for _ in range(1000)]
    s1 = np.array([p["resize1"][0] for p in plans])
    up, keep = np.mean(s1 > 1), np.mean(s1 == 1)
    assert up == pytest.approx(0.2, abs=0.04) and keep == pytest.approx(0.1, abs=0.03)
    assert s1.min() >= 0.15 and s1.max() <= 1.5
    gauss = np.mean([p["noise1"][0] == "gaussian" for p in plans])
    grey = np.mean([p["noise1"][2] for p in plans])
    assert gauss == pytest.approx(0.5, abs=0.05) and grey == pytest.approx(0.4, abs=0.05)
    sig = np.array([p["noise1"][1] for p in plans if p["noise1"][0] == "gaussian"])
    assert sig.min() >= 1 and sig.max() <= 30
    assert np.mean([p["blur2"] for p in plans]) == pytest.approx(0.8, abs=0.04)
    assert np.mean([p["final_sinc"] is not None for p in plans]) == pytest.approx(0.8, abs=0.04)
    q = np.array([p["jpeg1"] for p in plans])
    assert q.min() >= 30 and q.max() <= 95
    sizes = {p["kernel1"].shape[0] for p in plans}
    assert sizes == {7, 9, 11, 13, 15, 17, 19, 21}
    final = {p["final_sinc"].shape[0] for p in plans if p["final_sinc"] is not None}
    assert final == sizes
    assert all(abs(p["kernel1"].sum() - 1) < 1e-9 for p in plans[:50])


def test_noise_helpers_statistics():
    rng = np.random.default_rng(0)
    x = np.full((2, 64, 64, 3), 0.5, np.float32)
    g = _gaussian_noise(x, 20.0, grey=False, rng=rng) - 0.5
    assert g.std() == pytest.approx(20 / 255, rel=0.03)
    gg = _gaussian_noise(x, 20.0, grey=True, rng=rng)
    np.testing.assert_array_equal(gg[..., 0], gg[..., 2])
    assert not np.array_equal(g[..., 0], g[..., 1])
    # Poisson: zero-mean noise of variance scale^2 * img / vals (vals = 1 for a constant image)
    p = _poisson_noise(x, 0.1, grey=False, rng=rng) - 0.5
    img = np.rint(0.5 * 255) / 255
    assert p.mean() == pytest.approx(0.0, abs=2e-3)
    assert p.std() == pytest.approx(0.1 * np.sqrt(img), rel=0.05)
    pg = _poisson_noise(x, 0.1, grey=True, rng=rng)
    np.testing.assert_array_equal(pg[..., 0], pg[..., 1])


def test_kernels():
    k = gaussian_kernel(1.5)
    assert k.shape == (11, 11) and k.sum() == pytest.approx(1)
    g1 = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(k, np.outer(g1, g1) / np.outer(g1, g1).sum(), atol=1e-15)
    # anisotropic: rotating by 90 degrees swaps the axes
    a = bivariate_kernel(15, 3.0, 1.0, 0.0)
    b = bivariate_kernel(15, 1.0, 3.0, np.pi / 2)
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert a[7, 7 + 3] > a[7 + 3, 7]  # wider along x (columns)
    # generalized with beta = 1 is the Gaussian; plateau has heavier tails than the Gaussian
    np.testing.assert_allclose(
        bivariate_kernel(9, 2, 2, 0, "generalized", 1.0), bivariate_kernel(9, 2, 2, 0)
    )
    pl = bivariate_kernel(9, 1, 1, 0, "plateau", 1.0)
    q = (np.arange(9) - 4.0) ** 2
    exp_pl = 1 / (np.add.outer(q, q) + 1)
    np.testing.assert_allclose(pl, exp_pl / exp_pl.sum())
    s = circular_lowpass_kernel(np.pi / 2, 13, pad_to=21)
    assert s.shape == (21, 21) and s.sum() == pytest.approx(1)
    np.testing.assert_allclose(s, s.T, atol=1e-15)
    assert s[4:17, 4:17].min() < 0  # sinc side lobes (ringing)
    ker, info = random_mixed_kernel(np.random.default_rng(1), 7, (0, 1, 0, 0, 0, 0), (0.2, 3))
    assert info["type"] == "aniso" and ker.shape == (7, 7)
