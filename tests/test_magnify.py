"""Linear Eulerian video magnification (srmer.video.magnify): identity, gain, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from srmer.errors import SrmerError
from srmer.video.magnify import (
    _RGB2YIQ,
    _ideal_bandpass,
    _laplacian_band,
    _lowpass_weight,
    level_alphas,
    magnify,
)

T, H, W = 64, 64, 64
IN_BAND = 8 / T  # 0.125 cycles per frame, inside the default band (0.05, 0.4), whole periods
OUT_BAND = 2 / T  # 0.031 cycles per frame, below it


def _blob_clip(f: float, amp: float = 0.5, sigma: float = 8.0, rgb: bool = False) -> np.ndarray:
    """A wide Gaussian blob on a grey background moving by ``amp sin(2 pi f t)`` px along x.

    float64 in 0..1; wide (sigma 8 px) so that ``I(x + d) ~ I + d I_x`` holds for the amplified
    motion too.
    """
    d = amp * np.sin(2 * np.pi * f * np.arange(T))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    r2 = (xx[None] - W / 2 - d[:, None, None]) ** 2 + (yy[None] - H / 2) ** 2
    frames = 0.2 + 0.6 * np.exp(-r2 / (2 * sigma**2))
    if rgb:
        frames = np.stack([frames, 0.9 * frames, 0.7 * frames + 0.1], axis=-1)
    return frames


def _displacement(clip: np.ndarray) -> np.ndarray:
    """Per-frame x displacement (px) of a pattern from its temporal mean, to first order.

    Linear EVM amplifies ``I(x + d) - I ~ d I_x``; the least-squares ``d`` of
    ``I_t - I_mean = d * dI_mean/dx`` over all pixels is a sub-pixel estimate of the motion.
    """
    c = clip.astype(np.float64)
    if c.ndim == 4:
        c = c.mean(axis=-1)
    mean = c.mean(axis=0)
    gx = np.gradient(mean, axis=1)
    return ((c - mean) * gx).sum(axis=(1, 2)) / (gx**2).sum()


def _amplitude(d: np.ndarray, f: float, skip: int = 0) -> float:
    """Amplitude of the ``f`` cycles-per-frame sinusoid in ``d[skip:]`` (whole periods)."""
    t = np.arange(len(d))[skip:]
    return float(2 * abs((d[skip:] * np.exp(-2j * np.pi * f * t)).sum()) / len(t))


def _gain(clip_in: np.ndarray, clip_out: np.ndarray, f: float, skip: int = 0) -> float:
    return _amplitude(_displacement(clip_out), f, skip) / _amplitude(
        _displacement(clip_in), f, skip
    )


def _iir_expected(f: float, alpha: float, lo: float = 0.05, hi: float = 0.4) -> float:
    """|1 + alpha G(f)|: the steady-state motion gain through the two-low-pass IIR band-pass."""
    z = np.exp(-2j * np.pi * f)
    r_hi, r_lo = _lowpass_weight(hi), _lowpass_weight(lo)
    g = r_hi / (1 - (1 - r_hi) * z) - r_lo / (1 - (1 - r_lo) * z)
    return float(abs(1 + alpha * g))


CONFIGS = [(p, f) for p in ("laplacian", "gaussian") for f in ("ideal", "iir")]


# -- 1. alpha = 0 is the identity ------------------------------------------------------------------


@pytest.mark.parametrize(("pyramid", "filt"), CONFIGS)
@pytest.mark.parametrize("rgb", [False, True])
def test_alpha_zero_is_identity(pyramid, filt, rgb):
    clip = _blob_clip(IN_BAND, rgb=rgb)
    rng = np.random.default_rng(0)
    noisy = np.clip(clip + 0.05 * rng.standard_normal(clip.shape), 0, 1)
    u8 = np.round(noisy * 255).astype(np.uint8)
    out = magnify(u8, 0.0, pyramid=pyramid, filter=filt)
    assert out.dtype == np.uint8 and out is not u8
    np.testing.assert_array_equal(out, u8)
    for dtype in (np.float32, np.float64):
        x = noisy.astype(dtype)
        out = magnify(x, 0, pyramid=pyramid, filter=filt)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("pyramid", "filt"), CONFIGS)
def test_static_clip_is_unchanged_by_any_alpha(pyramid, filt):
    # no temporal change, nothing in the band: the computed (not short-cut) band is zero
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (1, 48, 40, 3), dtype=np.uint8)
    clip = np.repeat(frame, 20, axis=0)
    out = magnify(clip, 20.0, levels=3, pyramid=pyramid, filter=filt)
    np.testing.assert_array_equal(out, clip)
    f = clip.astype(np.float64) / 255
    out = magnify(f, 20.0, levels=3, pyramid=pyramid, filter=filt)
    np.testing.assert_allclose(out, f, rtol=0, atol=1e-6)


def test_lambda_c_beyond_every_level_is_identity():
    clip = (_blob_clip(IN_BAND) * 255).astype(np.uint8)
    np.testing.assert_array_equal(magnify(clip, 10.0, lambda_c=1e6), clip)


# -- 2. motion in the band is magnified 1 + alpha times, outside it left alone ---------------------


@pytest.mark.parametrize("alpha", [2.0, 4.0])
def test_in_band_motion_is_amplified_one_plus_alpha(alpha):
    clip = _blob_clip(IN_BAND)
    assert _amplitude(_displacement(clip), IN_BAND) == pytest.approx(0.5, rel=0.05)
    out = magnify(clip, alpha)
    assert _gain(clip, out, IN_BAND) == pytest.approx(1 + alpha, rel=0.2)


def test_gaussian_pyramid_amplifies_in_band_motion():
    # the band is taken at a lower resolution: a smooth pattern keeps most of its motion there
    clip = _blob_clip(IN_BAND, sigma=10.0)
    out = magnify(clip, 4.0, levels=2, pyramid="gaussian")
    assert _gain(clip, out, IN_BAND) == pytest.approx(5.0, rel=0.2)


@pytest.mark.parametrize("pyramid", ["laplacian", "gaussian"])
def test_out_of_band_motion_is_left_alone(pyramid):
    clip = _blob_clip(OUT_BAND)
    out = magnify(clip, 4.0, levels=2, pyramid=pyramid)
    assert _gain(clip, out, OUT_BAND) == pytest.approx(1.0, rel=0.15)


def test_band_in_hz_equals_band_in_cycles_per_frame():
    clip = _blob_clip(IN_BAND)
    a = magnify(clip, 4.0, band=(0.05, 0.4))
    b = magnify(clip, 4.0, band=(1.5, 12.0), fps=30.0)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # a band that excludes the motion's 3.75 Hz at 30 fps leaves it alone
    c = magnify(clip, 4.0, band=(0.5, 2.0), fps=30.0)
    assert _gain(clip, c, IN_BAND) == pytest.approx(1.0, rel=0.05)


def test_equal_gains_need_no_pyramid():
    # the shortcut for lambda_c=None: the collapsed pyramid of alpha*bandpass(L_l) is
    # alpha*bandpass of the frames, because the per-pixel temporal filter commutes with pyrUp/Down
    rng = np.random.default_rng(2)
    x = rng.random((16, 40, 52, 3), dtype=np.float32)

    def bandpass(a, g):
        return _ideal_bandpass(a, 0.05, 0.4, g)

    pyr = _laplacian_band(x, [3.0] * 4, bandpass, lambda b: b)
    np.testing.assert_allclose(pyr, bandpass(x, 3.0), atol=1e-4)


def test_level_alphas_follow_the_paper_bound():
    # lambda_l = 2, 4, 8, 16, 32 px; (1 + alpha) lambda / lambda_c - 1, capped at alpha, and the
    # finest and coarsest levels are not magnified (reference code)
    assert level_alphas(5, 10.0, 16.0) == pytest.approx([0.0, 1.75, 4.5, 10.0, 0.0])
    assert level_alphas(4, 1.0, 64.0) == [0.0, 0.0, 0.0, 0.0]  # clamped at 0, never negative
    assert level_alphas(3, 7.0, None) == [7.0, 7.0, 7.0]


def test_lambda_c_attenuates_fine_levels():
    clip = _blob_clip(IN_BAND)
    full = _gain(clip, magnify(clip, 4.0, levels=5), IN_BAND)
    limited = _gain(clip, magnify(clip, 4.0, levels=5, lambda_c=8.0), IN_BAND)
    assert 1.0 < limited < full


# -- 3. dtypes, shapes, colour, IIR ------------------------------------------------------------------


@pytest.mark.parametrize("rgb", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize(("pyramid", "filt"), CONFIGS)
def test_shape_and_dtype_are_kept(rgb, dtype, pyramid, filt):
    clip = _blob_clip(IN_BAND, rgb=rgb)[:32, :48, :56]
    clip = (clip * 255).round().astype(np.uint8) if dtype == np.uint8 else clip.astype(dtype)
    out = magnify(clip, 50.0, levels=3, pyramid=pyramid, filter=filt)
    assert out.shape == clip.shape and out.dtype == clip.dtype
    assert not np.array_equal(out, clip)
    if dtype != np.uint8:
        assert out.min() >= 0.0 and out.max() <= 1.0  # clipped to the value range


def test_uint8_amplifies_like_float():
    clip = _blob_clip(IN_BAND)
    u8 = np.round(clip * 255).astype(np.uint8)
    out = magnify(u8, 4.0)
    assert _gain(u8, out, IN_BAND) == pytest.approx(5.0, rel=0.2)
    ref = np.clip(np.round(magnify(u8.astype(np.float64) / 255, 4.0) * 255), 0, 255)
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_rgb_with_full_chroma_is_per_channel():
    clip = _blob_clip(IN_BAND, rgb=True)
    out = magnify(clip, 3.0, filter="iir")
    for c in range(3):
        np.testing.assert_allclose(out[..., c], magnify(clip[..., c], 3.0, filter="iir"), atol=1e-5)


def test_zero_attenuation_magnifies_luminance_only():
    clip = _blob_clip(IN_BAND, rgb=True)
    out = magnify(clip, 2.0, attenuation=0.0)
    band_yiq = (out - clip) @ _RGB2YIQ.T
    assert np.abs(band_yiq[..., 0]).max() > 0.01
    np.testing.assert_allclose(band_yiq[..., 1:], 0.0, atol=1e-5)
    assert _gain(clip, out, IN_BAND) == pytest.approx(3.0, rel=0.2)


def test_iir_amplifies_in_band_motion():
    clip = _blob_clip(IN_BAND, rgb=True)
    out = magnify(clip, 4.0, filter="iir")
    gain = _gain(clip, out, IN_BAND, skip=16)  # past the causal filter's start-up transient
    expected = _iir_expected(IN_BAND, 4.0)  # ~3.7: the band-pass peak gain is below 1
    assert gain == pytest.approx(expected, rel=0.2)
    assert gain > 3.0


def test_iir_is_causal():
    clip = _blob_clip(IN_BAND)
    changed = clip.copy()
    changed[40:] = clip[0]
    a = magnify(clip, 4.0, filter="iir")
    b = magnify(changed, 4.0, filter="iir")
    np.testing.assert_array_equal(a[:40], b[:40])


# -- 4. bad arguments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"alpha": "big"}, "alpha"),
        ({"levels": 0}, "levels"),
        ({"levels": 2.5}, "levels"),
        ({"levels": 9}, "levels"),
        ({"band": (0.4, 0.05)}, "band"),
        ({"band": (0.0, 0.2)}, "band"),
        ({"band": (0.1, 0.6)}, "band"),
        ({"band": (0.1,)}, "band"),
        ({"band": "ab"}, "band"),
        ({"band": (1.0, 20.0), "fps": 30.0}, "band"),
        ({"band": (0.001, 0.002)}, "band"),  # no FFT bin of 64 frames inside
        ({"fps": 0.0, "band": (1.0, 2.0)}, "fps"),
        ({"filter": "fir"}, "filter"),
        ({"pyramid": "laplace"}, "pyramid"),
        ({"attenuation": -0.5}, "attenuation"),
        ({"lambda_c": 0.0}, "lambda_c"),
        ({"lambda_c": 16.0, "pyramid": "gaussian"}, "lambda_c"),
        ({"lambda_c": 16.0, "levels": 2}, "lambda_c"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, name):
    clip = np.zeros((T, H, W), dtype=np.uint8)
    kwargs = {"alpha": 2.0, **kwargs}
    with pytest.raises(SrmerError, match=name):
        magnify(clip, **kwargs)


def test_bad_clips_are_refused():
    with pytest.raises(SrmerError, match="at least 3 frames"):
        magnify(np.zeros((2, 16, 16, 3), np.uint8), 1.0)
    with pytest.raises(SrmerError, match="shape"):
        magnify(np.zeros((8, 16, 16, 4), np.uint8), 1.0)
    with pytest.raises(SrmerError, match="dtype"):
        magnify(np.zeros((8, 16, 16), np.int16), 1.0)
    with pytest.raises(SrmerError, match="numpy array"):
        magnify([[[0]]], 1.0)


def test_messages_suggest_the_name():
    clip = np.zeros((8, 16, 16), np.uint8)
    with pytest.raises(SrmerError, match="did you mean 'laplacian'"):
        magnify(clip, 1.0, pyramid="laplace", levels=2)
    with pytest.raises(SrmerError, match="at most 3"):
        magnify(clip, 1.0, levels=4)
