"""Linear Eulerian video magnification (EVM) of a whole clip, as one pure function.

Wu, Rubinstein, Shih, Guttag, Durand, Freeman, "Eulerian Video Magnification for Revealing Subtle
Changes in the World", ACM Transactions on Graphics (Proc. SIGGRAPH) 31(4), 2012.

Linear EVM decomposes every frame into a spatial pyramid, band-passes each pyramid coefficient's
time series, multiplies the band by ``alpha`` and adds it back: for a small motion ``d(t)`` in
the pass band, ``I(x + d) ~ I + d I_x`` becomes ``I + (1 + alpha) d I_x``, i.e. the motion is
magnified ``1 + alpha`` times (section 3 of the paper).

Where this follows the authors' MATLAB reference code
------------------------------------------------------
- Pyramids: the 5-tap binomial kernel ``[1 4 6 4 1] / 16`` with mirrored borders (matlabPyrTools'
  ``binom5`` and ``reflect1`` are OpenCV's ``pyrDown``/``pyrUp`` kernel and ``BORDER_REFLECT_101``).
  ``"laplacian"`` is ``amplify_spatial_lpyr_temporal_*``; ``"gaussian"`` is
  ``amplify_spatial_Gdown_temporal_ideal``: only the coarsest Gaussian level is band-passed,
  amplified, brought back to full size and added to the frames.
- IIR filter: the difference of two causal first-order low-passes
  ``y[n] = y[n-1] + r (x[n] - y[n-1])``, both started at the first frame (so the band starts at
  zero), as in ``amplify_spatial_lpyr_temporal_iir``.
- Colour: the band is magnified in NTSC YIQ and the two chroma channels are scaled by
  ``attenuation`` (the code's ``chromAttenuation``); the result is clipped to the value range.
- With ``lambda_c``: per-level ``alpha`` from the paper's bound ``(1 + alpha) delta(t) < lambda / 8``
  (eqs. 14-15, Fig. 6): ``delta = lambda_c / (8 (1 + alpha))`` and
  ``alpha_l = min(alpha, lambda_l / (8 delta) - 1)``, and -- as the reference code does -- the finest
  level and the coarsest (low-pass residual) level are not magnified at all.

Where it does not
-----------------
- ``band`` means cut-off frequencies for both filters (cycles per frame, or Hz with ``fps``). The
  reference IIR code takes the smoothing weights ``r1, r2`` directly; here each cut-off is turned
  into the weight whose low-pass is 3 dB down at that frequency (the reference's baby example,
  ``r1 = 0.4, r2 = 0.05``, is ``band ~ (0.0082, 0.083)`` cycles per frame).
- The ideal filter keeps both the positive and the mirrored negative frequencies of the band (a
  real-input FFT), so its pass-band gain is 1. The reference ``ideal_bandpassing`` zeroes the
  negative half and takes the real part of the inverse FFT, which halves the magnified signal.
  Band edges count as inside (the reference uses strict inequalities).
- ``lambda_l``, the representative wavelength of Laplacian level ``l`` (0 = finest), is
  ``2 ** (l + 1)`` pixels, the Nyquist wavelength of that level. The reference uses
  ``sqrt(H^2 + W^2) / 3`` for the coarsest level of its full-height pyramid and halves it per
  level, which comes to 0.9-1.1 times the same values for 256x256 to 640x480 frames but would
  depend on the frame size and level count here, where ``levels`` is chosen by the caller.
- The reference's ``exaggeration_factor = 2`` ("boost alpha above the bound ... for better
  visualization") is left out, and ``alpha_l`` is clamped at 0 (the reference lets it go negative
  for wavelengths below ``lambda_c / (1 + alpha)``, which would reverse those motions).
- Without ``lambda_c`` every level gets the same ``alpha`` and no level is skipped, so the output
  is exactly the paper's linear model ``I + alpha * bandpass(I)``.
- The Gaussian path returns to full size with repeated ``pyrUp`` instead of MATLAB's bicubic
  ``imresize``.
- Everything is computed in float32 on whole clips (frames are not streamed).

Because the pyramid, the temporal filter and the YIQ transform are all linear, the magnified band
is computed on its own and added to the input frames: the pyramid of the input is never collapsed,
``alpha = 0`` returns the input exactly, and with equal gains on every Laplacian level the
collapsed pyramid of ``alpha * bandpass`` is ``alpha * bandpass`` of the frames themselves (the
temporal filter acts per pixel and commutes with the per-frame spatial filters), so that case
filters the full-resolution clip directly without building a pyramid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import cv2
import numpy as np
import scipy.fft as sp_fft

from srmer.errors import SrmerError, did_you_mean

__all__ = ["level_alphas", "magnify"]

PYRAMIDS = ("laplacian", "gaussian")
FILTERS = ("ideal", "iir")

# NTSC RGB -> YIQ, as MATLAB's rgb2ntsc (used by the reference code); the inverse is computed, not
# rounded, so that attenuation = 1 maps the band to itself exactly.
_RGB2YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=np.float64
)

# matlabPyrTools' maxPyrHt: a level is halved again only while both sides are at least the filter
# length (5 taps), so the coarsest level never becomes smaller than the kernel's support.
_MIN_SIDE = 5

# Columns per FFT chunk: a (T x chunk) float32 block of about 1 MiB stays in cache, which makes the
# strided FFT along time ~1.5x faster than one transform over the whole array.
_FFT_BLOCK_BYTES = 1 << 20
_BAND_EPS = 1e-9


def _fail(msg: str) -> SrmerError:
    return SrmerError(f"magnify: {msg}")


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise _fail(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _pyramid_sizes(h: int, w: int) -> list[tuple[int, int]]:
    """(h, w) of every level OpenCV's pyrDown can make under the matlabPyrTools rule, finest first."""
    sizes = [(h, w)]
    while min(sizes[-1]) >= _MIN_SIDE:
        ph, pw = sizes[-1]
        sizes.append(((ph + 1) // 2, (pw + 1) // 2))
    return sizes


def level_alphas(levels: int, alpha: float, lambda_c: float | None) -> list[float]:
    """Magnification of each Laplacian level, finest (index 0) first.

    Parameters
    ----------
    levels : int
        Number of pyramid levels, the low-pass residual included.
    alpha : float
        Requested magnification (>= 0).
    lambda_c : float or None
        Spatial cut-off wavelength in pixels. ``None``: ``alpha`` on every level.

    Returns
    -------
    list of float
        ``levels`` gains. With ``lambda_c``: ``clip((1 + alpha) * lambda_l / lambda_c - 1, 0,
        alpha)`` with ``lambda_l = 2 ** (l + 1)`` px, i.e. ``lambda_l / (8 delta) - 1`` with the
        paper's ``delta = lambda_c / (8 (1 + alpha))``; the finest and the coarsest level get 0,
        as in the reference code. ``alpha`` is reached for ``lambda_l >= lambda_c`` and the gain
        falls linearly to 0 at ``lambda_l = lambda_c / (1 + alpha)``.
    """
    if lambda_c is None:
        return [float(alpha)] * levels
    delta = lambda_c / (8.0 * (1.0 + alpha))
    gains = []
    for lev in range(levels):
        if lev in (0, levels - 1):
            gains.append(0.0)
            continue
        lam = 2.0 ** (lev + 1)
        gains.append(float(min(alpha, max(0.0, lam / (8.0 * delta) - 1.0))))
    return gains


def _lowpass_weight(cutoff: float) -> float:
    """Weight ``r`` of ``y[n] = y[n-1] + r (x[n] - y[n-1])`` whose gain is 1/sqrt(2) at ``cutoff``.

    ``cutoff`` is in cycles per frame, in (0, 0.5]. From ``|r / (1 - a e^{-jw})|^2 = 1/2`` with
    ``a = 1 - r``: ``a^2 - (4 - 2 cos w) a + 1 = 0``; the root in (0, 1) is taken.
    """
    c = 2.0 - math.cos(2.0 * math.pi * cutoff)
    return 1.0 - (c - math.sqrt(c * c - 1.0))


def _ideal_bandpass(x: np.ndarray, lo: float, hi: float, gain: float) -> np.ndarray:
    """``gain`` times the ideal band-pass of ``x`` (T, ...) float32 along axis 0 (FFT, periodic)."""
    t = x.shape[0]
    freqs = np.fft.rfftfreq(t)  # cycles per frame
    mask = ((freqs >= lo - _BAND_EPS) & (freqs <= hi + _BAND_EPS)).astype(np.float32) * gain
    mask = mask[:, None]
    flat = x.reshape(t, -1)
    out = np.empty_like(flat)
    step = max(64, _FFT_BLOCK_BYTES // (4 * t))
    for s in range(0, flat.shape[1], step):
        # the first frame is taken off (it changes only the zeroed DC bin), so float32 rounding
        # scales with the pixel's changes, not with its value: a static pixel's band is exactly 0
        block = flat[:, s : s + step] - flat[0, s : s + step]
        spec = sp_fft.rfft(block, axis=0)
        spec *= mask
        out[:, s : s + step] = sp_fft.irfft(spec, n=t, axis=0)
    return out.reshape(x.shape)


def _iir_bandpass(x: np.ndarray, lo: float, hi: float, gain: float) -> np.ndarray:
    """``gain`` times the causal two-low-pass IIR band-pass of ``x`` (T, ...) float32 along axis 0."""
    r_hi, r_lo = _lowpass_weight(hi), _lowpass_weight(lo)
    # Both low-passes start at the first frame, as in the reference, so the band starts at 0.
    # They run on x - x[0] from a zero state (the same band: the filter passes no DC), so float32
    # rounding scales with the pixel's changes, not its value. A loop over frames with
    # whole-frame updates beats scipy's lfilter along a strided axis ~10x.
    lp_hi = np.zeros_like(x[0])
    lp_lo = np.zeros_like(x[0])
    dx = np.empty_like(x[0])
    tmp = np.empty_like(x[0])
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        np.subtract(x[i], x[0], out=dx)
        np.subtract(dx, lp_hi, out=tmp)
        tmp *= r_hi
        lp_hi += tmp
        np.subtract(dx, lp_lo, out=tmp)
        tmp *= r_lo
        lp_lo += tmp
        np.subtract(lp_hi, lp_lo, out=out[i])
        out[i] *= gain
    return out


def _down(clip: np.ndarray) -> np.ndarray:
    return np.stack([cv2.pyrDown(f) for f in clip])


def _up(clip: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    dst = (size[1], size[0])
    return np.stack([cv2.pyrUp(f, dstsize=dst) for f in clip])


def _laplacian_band(
    x: np.ndarray,
    gains: Sequence[float],
    bandpass: Callable[[np.ndarray, float], np.ndarray],
    post: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Collapsed Laplacian pyramid of ``gains[l] * bandpass(L_l)`` (the magnified band), float32."""
    gauss = [x]
    for _ in range(len(gains) - 1):
        gauss.append(_down(gauss[-1]))
    top = len(gains) - 1
    acc: np.ndarray | None = None
    for lev in range(top, -1, -1):
        size = gauss[lev].shape[1:3]
        if acc is not None:
            acc = _up(acc, size)
        if gains[lev] > 0:
            band = gauss[lev] if lev == top else gauss[lev] - _up(gauss[lev + 1], size)
            filt = post(bandpass(band, gains[lev]))
            acc = filt if acc is None else np.add(acc, filt, out=acc)
        gauss[lev + 1 :] = []  # coarser levels are no longer needed
    assert acc is not None  # all-zero gains return early in magnify
    return acc


def _gaussian_band(
    x: np.ndarray,
    levels: int,
    gain: float,
    bandpass: Callable[[np.ndarray, float], np.ndarray],
    post: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``gain * bandpass`` of the coarsest Gaussian level, brought back to full size, float32."""
    sizes = [x.shape[1:3]]
    low = x
    for _ in range(levels - 1):
        low = _down(low)
        sizes.append(low.shape[1:3])
    band = post(bandpass(low, gain))
    for size in reversed(sizes[:-1]):
        band = _up(band, size)
    return band


def _check_clip(clip: object) -> np.ndarray:
    if not isinstance(clip, np.ndarray):
        raise _fail(f"clip must be a numpy array (T, H, W[, 3]), got {type(clip).__name__}")
    if not (clip.ndim == 3 or (clip.ndim == 4 and clip.shape[3] == 3)):
        raise _fail(
            f"clip must have shape (T, H, W, 3) for RGB or (T, H, W) for grey, got {clip.shape}"
        )
    if clip.dtype != np.uint8 and not np.issubdtype(clip.dtype, np.floating):
        raise _fail(
            f"clip dtype must be uint8 (0..255) or float (0..1), got {clip.dtype}; "
            "convert it with clip.astype(np.float32) / 255 or to uint8"
        )
    if clip.shape[0] < 3:
        raise _fail(
            f"clip has {clip.shape[0]} frame(s); temporal filtering needs at least 3 frames"
        )
    if min(clip.shape[1:3]) < 1:
        raise _fail(f"clip frames are empty (shape {clip.shape})")
    return clip


def magnify(
    clip: np.ndarray,
    alpha: float,
    levels: int = 4,
    band: tuple[float, float] = (0.05, 0.4),
    fps: float | None = None,
    pyramid: str = "laplacian",
    filter: str = "ideal",
    attenuation: float = 1.0,
    lambda_c: float | None = None,
) -> np.ndarray:
    """Magnify the small motions and colour changes of a clip in a temporal band (linear EVM).

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey frames, ``T >= 3``; uint8 (0..255) or float
        (0..1).
    alpha : float
        Magnification (>= 0): an in-band motion ``d(t)`` becomes about ``(1 + alpha) d(t)`` while
        ``(1 + alpha) d`` stays small against the pattern's spatial wavelength. 0 returns the
        input unchanged.
    levels : int
        Pyramid levels, the full-resolution level included (>= 1; each extra level halves the
        frame, and a level is halved only while both its sides are >= 5 px). ``"laplacian"``:
        the number of bands, the low-pass residual included; it changes the result only
        together with ``lambda_c``. ``"gaussian"``: the band is taken at level ``levels - 1``
        (the frames pyrDown-ed ``levels - 1`` times; the reference code's ``level``).
    band : (float, float)
        Pass band ``(lo, hi)``, ``0 < lo < hi``: cut-off frequencies in cycles per frame
        (``hi <= 0.5``) when ``fps`` is None, else in Hz (``hi <= fps / 2``).
    fps : float or None
        Frame rate of the clip, when ``band`` is given in Hz.
    pyramid : {"laplacian", "gaussian"}
        Spatial decomposition (see the module notes).
    filter : {"ideal", "iir"}
        ``"ideal"``: FFT along time (the clip is treated as periodic), everything outside
        ``[lo, hi]`` zeroed, pass-band gain 1. ``"iir"``: the causal difference of two
        first-order low-passes with 3 dB cut-offs ``hi`` and ``lo`` (the reference's IIR
        filter); its peak gain is below 1 and it needs a few ``1 / lo`` frames to settle.
    attenuation : float
        Chroma attenuation (>= 0): the magnified band's I and Q channels (NTSC YIQ) are scaled by
        it, so 1 magnifies colour like luminance and 0 magnifies luminance only. Ignored for
        grey clips.
    lambda_c : float or None
        Spatial cut-off wavelength in pixels (> 0), Laplacian pyramid only (``levels >= 3``):
        limits each level's magnification to the paper's bound and skips the finest and the
        coarsest level (:func:`level_alphas`). None: ``alpha`` on every level.

    Returns
    -------
    ndarray
        Same shape and dtype as ``clip``: uint8 rounded and clipped to 0..255, float clipped to
        0..1 (as the reference code clips).

    Raises
    ------
    SrmerError
        A bad argument; the message names it and says what is allowed.
    """
    clip = _check_clip(clip)
    alpha = _real("alpha", alpha)
    if alpha < 0:
        raise _fail(f"alpha must be >= 0 (0 leaves the clip unchanged), got {alpha!r}")
    if pyramid not in PYRAMIDS:
        raise _fail(
            f"pyramid must be one of {', '.join(PYRAMIDS)}, got {pyramid!r}"
            f"{did_you_mean(pyramid, PYRAMIDS)}"
        )
    if filter not in FILTERS:
        raise _fail(
            f"filter must be one of {', '.join(FILTERS)}, got {filter!r}"
            f"{did_you_mean(filter, FILTERS)}"
        )
    if isinstance(levels, bool) or not isinstance(levels, Integral) or levels < 1:
        raise _fail(f"levels must be an integer >= 1, got {levels!r}")
    levels = int(levels)
    h, w = clip.shape[1:3]
    max_levels = len(_pyramid_sizes(h, w))
    if levels > max_levels:
        raise _fail(
            f"levels={levels} is too many for {h}x{w} frames: at most {max_levels} (a level is "
            f"halved only while both its sides are >= {_MIN_SIDE} px); lower levels"
        )
    if fps is not None:
        fps = _real("fps", fps)
        if fps <= 0:
            raise _fail(f"fps must be > 0 (or None for a band in cycles per frame), got {fps!r}")
    try:
        lo, hi = (_real("band", b) for b in band)
    except (TypeError, ValueError, SrmerError):
        raise _fail(f"band must be two finite numbers (lo, hi), got {band!r}") from None
    nyquist = 0.5 if fps is None else fps / 2
    unit = "cycles per frame" if fps is None else f"Hz at fps={fps:g}"
    if not 0 < lo < hi <= nyquist:
        raise _fail(f"band must satisfy 0 < lo < hi <= {nyquist:g} ({unit}), got {tuple(band)!r}")
    if fps is not None:
        lo, hi = lo / fps, hi / fps
    attenuation = _real("attenuation", attenuation)
    if attenuation < 0:
        raise _fail(f"attenuation must be >= 0 (1 = no chroma attenuation), got {attenuation!r}")
    if lambda_c is not None:
        lambda_c = _real("lambda_c", lambda_c)
        if lambda_c <= 0:
            raise _fail(f"lambda_c must be > 0 pixels (or None), got {lambda_c!r}")
        if pyramid != "laplacian":
            raise _fail(
                "lambda_c limits the magnification of Laplacian levels; use "
                "pyramid='laplacian' or lambda_c=None"
            )
        if levels < 3:
            raise _fail(
                f"lambda_c needs levels >= 3 (the finest and the coarsest level are not "
                f"magnified), got levels={levels}"
            )
    t = clip.shape[0]
    if filter == "ideal":
        k = np.arange(t // 2 + 1) / t
        if not np.any((k >= lo - _BAND_EPS) & (k <= hi + _BAND_EPS)):
            raise _fail(
                f"band {tuple(band)!r} holds no frequency of a {t}-frame clip (the ideal filter "
                f"sees multiples of 1/{t} cycles per frame); widen the band or use more frames"
            )

    gains = level_alphas(levels, alpha, lambda_c) if pyramid == "laplacian" else [alpha]
    if max(gains) == 0:
        return clip.copy()

    bandpass = _ideal_bandpass if filter == "ideal" else _iir_bandpass

    def run(x: np.ndarray, gain: float) -> np.ndarray:
        return bandpass(x, lo, hi, gain)

    if clip.ndim == 4 and attenuation != 1.0:
        # scale I and Q of the band: RGB -> YIQ -> diag(1, a, a) -> RGB, one 3x3 matrix
        cmat = np.linalg.inv(_RGB2YIQ) @ np.diag([1.0, attenuation, attenuation]) @ _RGB2YIQ
        cmat_t = cmat.T.astype(np.float32)

        def post(b: np.ndarray) -> np.ndarray:
            return b @ cmat_t

    else:

        def post(b: np.ndarray) -> np.ndarray:
            return b

    x = np.ascontiguousarray(clip, dtype=np.float32)
    if pyramid == "gaussian":
        delta = _gaussian_band(x, levels, alpha, run, post)
    elif len(set(gains)) == 1:
        # equal gains on every level: the collapsed pyramid of the band is the band of the frames
        delta = post(run(x, alpha))
    else:
        delta = _laplacian_band(x, gains, run, post)

    if clip.dtype == np.uint8:
        delta += x
        delta += 0.5
        np.floor(delta, out=delta)
        np.clip(delta, 0, 255, out=delta)
        return delta.astype(np.uint8)
    out = clip + delta  # in the clip's own float precision
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(clip.dtype, copy=False)
