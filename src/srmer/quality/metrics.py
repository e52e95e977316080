"""PSNR and SSIM with the conventions SR papers report them with.

SR papers (and Zhou et al.'s Table V) compute both on 0..255 images in double precision, optionally
on the BT.601 luma channel and with ``scale`` pixels shaved from each border; SSIM is Wang et
al.'s with an 11x11 Gaussian window (sigma 1.5) and 'valid' filtering. scikit-image's defaults
(7x7 uniform window, sample covariance) give different numbers, so the formulas are written here
on top of OpenCV's separable filter.
"""

from __future__ import annotations

import cv2
import numpy as np

from srmer.errors import SrmerError

__all__ = ["psnr", "psnr_clip", "rgb_to_y", "ssim", "ssim_clip"]

_PEAK = 255.0


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma as MATLAB's ``rgb2ycbcr`` on 0..255 values, not rounded.

    Parameters
    ----------
    img : ndarray
        ``(..., 3)`` RGB, uint8 or float in 0..255.

    Returns
    -------
    ndarray
        ``(...)`` float64, ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` (16..235).
    """
    x = np.asarray(img, dtype=np.float64)
    return 16.0 + (65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0


def _prepare(
    a: np.ndarray, b: np.ndarray, crop_border: int, y_channel: bool, what: str
) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise SrmerError(f"{what}: images differ in shape {a.shape} vs {b.shape}; resize one first")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise SrmerError(f"{what}: expected (H, W) grey or (H, W, 3) RGB, got shape {a.shape}")
    if y_channel and a.ndim == 3 and a.shape[2] == 3:
        a, b = rgb_to_y(a), rgb_to_y(b)
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    c = int(crop_border)
    if c < 0:
        raise SrmerError(f"{what}: crop_border must be >= 0, got {crop_border}")
    if c:
        if min(a.shape[:2]) <= 2 * c:
            raise SrmerError(f"{what}: crop_border={c} leaves nothing of a {a.shape[:2]} image")
        a = a[c:-c, c:-c]
        b = b[c:-c, c:-c]
    return a, b


def psnr(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Peak signal-to-noise ratio in dB, peak 255.

    Parameters
    ----------
    a, b : ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, uint8 or float in 0..255; same shape.
    crop_border : int
        Pixels removed from each side before the comparison (papers use the SR scale).
    y_channel : bool
        Compare the BT.601 luma (:func:`rgb_to_y`) of RGB inputs.

    Returns
    -------
    float
        ``10 log10(255^2 / MSE)`` with the MSE over all pixels and channels in float64;
        ``inf`` for identical images.

    References
    ----------
    The convention of the SR literature's evaluation scripts (e.g. BasicSR ``calculate_psnr``).
    """
    x, y = _prepare(a, b, crop_border, y_channel, "psnr")
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(_PEAK**2 / mse))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    # MATLAB fspecial('gaussian', 11, 1.5): normalised samples of exp(-x^2 / 2 sigma^2); the 2-D
    # window is the outer product of this 1-D one, so the filter is applied separably.
    r = (size - 1) / 2.0
    x = np.arange(size, dtype=np.float64) - r
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _ssim_2d(x: np.ndarray, y: np.ndarray) -> float:
    c1 = (0.01 * _PEAK) ** 2
    c2 = (0.03 * _PEAK) ** 2
    g = _gaussian_window()
    if min(x.shape) < g.size:
        raise SrmerError(f"ssim: images of {x.shape} are smaller than the 11x11 window")

    def filt(img: np.ndarray) -> np.ndarray:
        # 'valid' filtering: filter, then drop the 5 border pixels where the window sticks out.
        out = cv2.sepFilter2D(img, cv2.CV_64F, g, g, borderType=cv2.BORDER_REFLECT)
        return out[5:-5, 5:-5]

    mu1, mu2 = filt(x), filt(y)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = filt(x * x) - mu1_sq
    s2 = filt(y * y) - mu2_sq
    s12 = filt(x * y) - mu12
    smap = ((2 * mu12 + c1) * (2 * s12 + c2)) / ((mu1_sq + mu2_sq + c1) * (s1 + s2 + c2))
    return float(smap.mean())


def ssim(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Structural similarity (Wang et al. 2004) as SR papers compute it.

    Parameters
    ----------
    a, b : ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, uint8 or float in 0..255; same shape, at least
        11x11 after cropping.
    crop_border : int
        Pixels removed from each side first.
    y_channel : bool
        Compare the BT.601 luma of RGB inputs.

    Returns
    -------
    float
        Mean SSIM over the 'valid' region (5 px trimmed after filtering); for RGB without
        ``y_channel``, the mean of the three per-channel values. 1 for identical images.

    Notes
    -----
    Gaussian window 11x11, sigma 1.5; K1 = 0.01, K2 = 0.03, L = 255; population (biased) local
    variances, as Wang et al.'s ``ssim_index.m``. Equals scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=255)`` restricted to the valid region.

    References
    ----------
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error
    visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    x, y = _prepare(a, b, crop_border, y_channel, "ssim")
    if x.ndim == 2:
        return _ssim_2d(np.ascontiguousarray(x), np.ascontiguousarray(y))
    vals = [
        _ssim_2d(np.ascontiguousarray(x[..., c]), np.ascontiguousarray(y[..., c]))
        for c in range(x.shape[2])
    ]
    return float(np.mean(vals))


def _clip_check(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise SrmerError(f"{what}: clips differ in shape {a.shape} vs {b.shape}")
    if a.ndim not in (3, 4):
        raise SrmerError(f"{what}: expected a clip (T, H, W) or (T, H, W, 3), got {a.shape}")
    return a, b


def psnr_clip(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Mean over frames of :func:`psnr` for clips ``(T, H, W[, 3])``.

    A frame that is identical in both clips has infinite PSNR, which makes the mean infinite;
    this matches the per-image convention and only happens for lossless reconstructions.
    """
    a, b = _clip_check(a, b, "psnr_clip")
    return float(np.mean([psnr(x, y, crop_border, y_channel) for x, y in zip(a, b, strict=True)]))


def ssim_clip(a: np.ndarray, b: np.ndarray, crop_border: int = 0, y_channel: bool = False) -> float:
    """Mean over frames of :func:`ssim` for clips ``(T, H, W[, 3])``."""
    a, b = _clip_check(a, b, "ssim_clip")
    return float(np.mean([ssim(x, y, crop_border, y_channel) for x, y in zip(a, b, strict=True)]))
