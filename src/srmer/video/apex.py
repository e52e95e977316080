"""Onset / apex helpers.

CASME II and SAMM annotate the apex frame; SMIC-HS does not, and the usual substitute is the
middle frame. :func:`motion_apex` is the documented alternative: the
frame that differs most from the onset.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from srmer.errors import SrmerError

__all__ = ["middle_apex", "motion_apex", "motion_curve"]


def middle_apex(n: int, onset: int = 0) -> int:
    """Index of the middle frame of a clip of ``n`` frames starting at ``onset``.

    ``onset + (n - 1) // 2``, i.e. ``onset + (offset - onset) // 2`` with ``offset = onset + n - 1``
    (SMIC-HS convention). For ``n = 4`` frames 0..3 it returns 1.
    """
    if int(n) != n or n < 1:
        raise SrmerError(f"middle_apex: need at least one frame, got n={n!r}")
    return int(onset) + (int(n) - 1) // 2


def _grey_float(clip: np.ndarray) -> np.ndarray:
    c = np.asarray(clip, dtype=np.float64)
    if c.ndim == 4 and c.shape[-1] == 3:
        c = 0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2]
    elif c.ndim == 4 and c.shape[-1] == 1:
        c = c[..., 0]
    if c.ndim != 3:
        raise SrmerError(f"expected a clip (T, H, W[, 3]), got shape {np.shape(clip)}")
    return c


def motion_curve(clip: np.ndarray, sigma: float = 1.0, reference: int = 0) -> np.ndarray:
    """Mean absolute grey-level difference of every frame from the reference (onset) frame.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W[, 3])``, uint8 or float.
    sigma : float
        Spatial Gaussian smoothing (pixels) applied to every frame first, so sensor noise does
        not dominate the small differences of a micro-expression; 0 disables it.
    reference : int
        Index of the reference frame.

    Returns
    -------
    ndarray
        ``(T,)`` float64; 0 at the reference frame.
    """
    g = _grey_float(clip)
    if sigma > 0:
        g = ndimage.gaussian_filter(g, sigma=(0, sigma, sigma), mode="nearest")
    return np.abs(g - g[reference]).mean(axis=(1, 2))


def motion_apex(clip: np.ndarray, sigma: float = 1.0, smooth: int = 3, reference: int = 0) -> int:
    """Spot the apex as the frame that differs most from the onset.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W[, 3])`` onset..offset frames.
    sigma : float
        Spatial smoothing before differencing (see :func:`motion_curve`).
    smooth : int
        Width of a moving average over the difference curve (1 disables), so a single noisy
        or blinking frame does not win on its own.
    reference : int
        Onset frame index.

    Returns
    -------
    int
        Frame index of the apex (0-based within the clip).

    Notes
    -----
    A simple, documented substitute for annotation (e.g. SMIC-HS): ``argmax_t`` of the smoothed
    mean absolute difference between frame ``t`` and the onset. It picks the frame furthest
    from neutral, which for a clean onset -> apex -> offset clip is the apex; head motion or
    lighting drift that grows through the clip biases it towards later frames, which is why
    the middle frame (:func:`middle_apex`) stays the default for SMIC-HS.
    """
    curve = motion_curve(clip, sigma=sigma, reference=reference)
    if smooth > 1 and curve.size >= smooth:
        curve = ndimage.uniform_filter1d(curve, size=int(smooth), mode="nearest")
    return int(np.argmax(curve))
