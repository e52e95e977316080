"""LPQ (local phase quantisation) and LPQ-TOP, vectorised over whole volumes.

LPQ (Ojansivu & Heikkila 2008, ``lpq.m``) quantises the signs of the real and imaginary parts of a
short-term Fourier transform (STFT) with a uniform ``M x M`` window at the four frequencies
``[a, 0], [0, a], [a, a], [a, -a]`` (``a = 1/M``), optionally after decorrelating the eight values
under a model covariance. LPQ-TOP (Paivarinta, Rahtu & Heikkila 2011, ``LPQ_TOP.m``) computes LPQ on
every XY, XT and YT slice of a volume and sums the histograms per plane.

Speed: the eight (decorrelated) values are each one 2-D correlation, with the decorrelating rotation
folded into the eight kernels, so a plane costs eight OpenCV ``filter2D`` calls over chunks of
slices stacked into tall images, instead of per-slice ``conv2`` calls and an 8x8 matrix product per
pixel. The filters run in float32; values within a proven float32 error bound of zero are
recomputed in float64, so the codes equal those of a float64 computation (see ``_slice_codes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from srmer.features._common import (
    DescriptorInputError,
    as_volume,
    block_histograms,
    centre_block_ranges,
    normalise_rows,
    pair,
)

__all__ = ["lpq", "lpq_decorrelation", "lpq_top"]

_CHUNK = 1 << 16  # pixels per chunk of stacked slices (float64 buffers stay in L2)
# LPQ_TOP.m / lpq.m multiply D by this almost-unit diagonal before the SVD so that no two
# singular values coincide (which would make the basis arbitrary)
_ALMOST_UNIT = np.array([1.000007, 1.000006, 1.000005, 1.000004, 1.000003, 1.000002, 1.000001, 1.0])
_MODES = ("lpqtop", "lpq_m")
_F32_BOUND = 2.0**-22  # 4x the float32 unit roundoff 2**-24: see _slice_codes


def _filters(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box, cos and -sin taps of ``w1(x) = exp(-2 pi i x / m)``, ``x = -r..r`` (``w0`` = box)."""
    x = np.arange(m) - (m - 1) // 2
    ang = 2.0 * np.pi * x / m
    return np.ones(m), np.cos(ang), -np.sin(ang)


def _model_covariance(shape: tuple[int, int], rho: tuple[float, float], model: str) -> np.ndarray:
    """Covariance of the window's pixels (row-major order) under the LPQ image model."""
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    r = rows.ravel().astype(np.float64)
    c = cols.ravel().astype(np.float64)
    dr = np.abs(r[:, None] - r[None, :])
    dc = np.abs(c[:, None] - c[None, :])
    if model == "euclid":  # lpq.m; LPQ_TOP.m on the XY plane
        return rho[0] ** np.hypot(dr, dc)
    # LPQ_TOP.m on XT/YT: separable, spatial rho along the first axis, temporal along the second
    return (rho[0] ** dr) * (rho[1] ** dc)


@lru_cache(maxsize=32)
def _decorrelation_cached(
    shape: tuple[int, int], rho: tuple[float, float], model: str
) -> np.ndarray:
    m = _basis(shape).reshape(8, -1)  # (8, n_pixels)
    d = m @ _model_covariance(shape, rho, model) @ m.T
    a = np.diag(_ALMOST_UNIT)
    _, _, vh = np.linalg.svd(a @ d @ a)
    v = vh.T
    # LAPACK leaves each singular vector's sign free and a flipped column flips one bit of every
    # code: fix it (largest-magnitude entry positive) so results do not depend on the BLAS build.
    idx = np.argmax(np.abs(v), axis=0)
    v = v * np.sign(v[idx, np.arange(8)])
    v.setflags(write=False)
    return v


def lpq_decorrelation(
    window: int | Sequence[int], rho: float | Sequence[float], model: str = "euclid"
) -> np.ndarray:
    """The 8x8 decorrelating (whitening) rotation ``V`` of LPQ.

    Parameters
    ----------
    window : int or (rows, cols)
        Odd window sizes along the plane's first and second axes.
    rho : float or (rho_first, rho_second)
        Correlation of neighbouring pixels in the model.
    model : {"euclid", "separable"}
        ``euclid``: ``C = rho_first ** d`` with ``d`` the Euclidean distance between window pixels
        (``lpq.m``; ``LPQ_TOP.m`` on XY). ``separable``: ``C = rho_first**|dr| * rho_second**|dc|``
        (``LPQ_TOP.m`` on XT and YT, spatial first, temporal second).

    Returns
    -------
    ndarray, shape (8, 8), float64
        ``V`` from ``svd(A D A)`` with ``D = M C M^T`` (``M``: real/imaginary STFT basis rows in the
        order Re F1, Im F1, ..., Im F4; ``A`` the almost-unit diagonal of the reference code); the
        decorrelated values are ``F @ V``. Column signs: largest-magnitude entry positive.
    """
    shape = pair(window, "window", minimum=1)
    rho_t = (float(rho), float(rho)) if np.isscalar(rho) else tuple(float(r) for r in rho)  # type: ignore[arg-type]
    if model not in ("euclid", "separable"):
        raise DescriptorInputError(f"model={model!r}; use 'euclid' or 'separable'")
    return _decorrelation_cached(shape, rho_t, model)  # type: ignore[arg-type]


def _basis(window: tuple[int, int]) -> np.ndarray:
    """The eight real 2-D STFT kernels (Re q1, Im q1, ..., Im q4), ``conv2`` orientation."""
    b0, c0, s0 = _filters(window[0])
    b1, c1, s1 = _filters(window[1])
    w1r, w1c = c0 + 1j * s0, c1 + 1j * s1
    q = [np.outer(b0, w1c), np.outer(w1r, b1), np.outer(w1r, w1c), np.outer(w1r, np.conj(w1c))]
    return np.stack([f(qq) for qq in q for f in (np.real, np.imag)])


@lru_cache(maxsize=32)
def _kernels(window: tuple[int, int], v_key: bytes | None) -> tuple[np.ndarray, ...]:
    """Eight correlation kernels whose outputs are the (decorrelated) values ``(F @ V)_j``."""
    basis = _basis(window)
    if v_key is not None:
        v = np.frombuffer(v_key, dtype=np.float64).reshape(8, 8)
        basis = np.einsum("ij,iab->jab", v, basis)  # the rotation folded into the filters
    # cv2.filter2D correlates; conv2 (lpq.m) convolves: rotate the kernels by 180 degrees
    return tuple(np.ascontiguousarray(k[::-1, ::-1]) for k in basis)


def _slice_codes(
    stack: np.ndarray, window: tuple[int, int], v: np.ndarray | None, strict: bool
) -> np.ndarray:
    """LPQ codes of every 2-D slice of ``stack`` (S, R, C) over its 'valid' part.

    Slices are processed a chunk at a time as one tall image (slices stacked vertically): a window
    centred on a valid row touches only its own slice, so the rows where the filter straddles two
    slices are simply discarded.

    Precision: the filters run in float32 (2-3x faster than float64 in OpenCV), and every value whose
    float32 result lies within a proven error bound of zero is recomputed in float64, so the codes
    are those of a float64 computation: a float32 sum of ``n`` products ``x * k`` (``x`` exact or
    rounded to float32, ``k`` rounded) is within ``(n + 2) * 2**-24 * sum|k| * max|x|`` of the exact
    value; ``_F32_BOUND`` covers windows up to 9x9 with a margin of 2 or more (measured errors are
    ~30x smaller). Values within ``1e-10 * max|x| * sum|k|`` of zero count as exact zeros.
    """
    kernels = _kernels(window, None if v is None else v.tobytes())
    n_s, n_r, n_c = stack.shape
    wr, wc = window
    r0, r1 = (wr - 1) // 2, (wc - 1) // 2
    vr, vc = n_r - 2 * r0, n_c - 2 * r1
    out = np.zeros((n_s, vr, vc), dtype=np.uint8)
    per = max(1, _CHUNK // (n_r * n_c))
    rows = min(per, n_s) * n_r
    src32 = np.empty((rows, n_c), dtype=np.float32)
    buf32 = np.empty_like(src32)
    src64 = np.empty((rows, n_c), dtype=np.float64)
    buf64 = np.empty_like(src64)
    bits = np.empty((min(per, n_s), vr, vc), dtype=bool)
    ubuf = np.empty_like(bits)
    absg = np.empty(bits.shape, dtype=np.float32)
    # Values that are zero in exact arithmetic (flat or linear patches; e.g. f0 - f1/2 - f2/2 with
    # window 3) come out as +-1e-13 rounding noise whose sign depends on the summation order: decide
    # them as exact zeros (>= 0 -> 1, > 0 -> 0), so codes do not depend on the convolution code.
    top = max(float(np.abs(stack).max()) if stack.size else 0.0, 1.0)
    ksum = [float(np.abs(kern).sum()) for kern in kernels]
    tols = [1e-10 * top * ks for ks in ksum]
    bounds = [(wr * wc + 2) * _F32_BOUND * top * ks for ks in ksum]
    kern32 = [kern.astype(np.float32) for kern in kernels]

    def decide(g: np.ndarray, j: int, out_bits: np.ndarray | None = None) -> np.ndarray:
        if strict:
            return np.greater(g, tols[j], out=out_bits)
        return np.greater_equal(g, -tols[j], out=out_bits)

    for s in range(0, n_s, per):
        k = min(per, n_s - s)
        n = k * n_r
        chunk = stack[s : s + k].reshape(-1, n_c)
        src32[:n] = chunk
        have64 = direct64 = False
        code, bt = out[s : s + k], bits[:k]

        def exact(j: int, n: int = n, k: int = k) -> np.ndarray:
            cv2.filter2D(src64[:n], cv2.CV_64F, kernels[j], dst=buf64[:n])
            return buf64[:n].reshape(k, n_r, n_c)[:, r0 : n_r - r0, r1 : n_c - r1]

        for j in range(8):
            if direct64:  # this chunk is mostly near-zero values (flat): float64 straight away
                decide(exact(j), j, bt)
            else:
                cv2.filter2D(src32[:n], cv2.CV_32F, kern32[j], dst=buf32[:n])
                g = buf32[:n].reshape(k, n_r, n_c)[:, r0 : n_r - r0, r1 : n_c - r1]
                np.greater(g, 0.0, out=bt)
                unsure = np.less_equal(np.abs(g, out=absg[:k]), bounds[j], out=ubuf[:k])
                n_unsure = int(np.count_nonzero(unsure))
                if n_unsure and not have64:
                    src64[:n] = chunk
                    have64 = True
                if n_unsure > 0.02 * g.size:  # e.g. flat regions: redo the chunk in float64
                    direct64 = True
                    decide(exact(j), j, bt)
                elif n_unsure:  # a few values: their windows, one dot product each
                    flat = np.flatnonzero(unsure)  # 1-D nonzero is several times faster
                    si, rest = np.divmod(flat, vr * vc)
                    ri, ci = np.divmod(rest, vc)
                    win = sliding_window_view(src64[:n].reshape(k, n_r, n_c), (wr, wc), axis=(1, 2))
                    g64 = np.einsum("nab,ab->n", win[si, ri, ci], kernels[j])
                    bt[si, ri, ci] = decide(g64, j)
            bu = bt.view(np.uint8)
            np.left_shift(bu, j, out=bu)
            np.bitwise_or(code, bu, out=code)
    return out


def lpq_top(
    volume: np.ndarray,
    window: int | Sequence[int] = (5, 5, 5),
    rho: float | Sequence[float] | None = None,
    decorrelate: bool = True,
    blocks: int | Sequence[int] = (1, 1),
    mode: str = "lpqtop",
) -> np.ndarray:
    """LPQ-TOP histograms of a grey clip (Paivarinta et al. 2011), optionally per block.

    Parameters
    ----------
    volume : ndarray, shape (T, H, W)
        Grey clip, uint8 or float (any scale: only signs are quantised).
    window : int or (wx, wy, wt)
        Odd STFT window sizes (>= 3) along x, y and t; ``a = 1/w`` per axis.
    rho : float or (rho_s, rho_t) or None
        Model correlation of neighbouring pixels in space and time. ``None``: ``(0.1, 0.1)`` in mode
        ``lpqtop`` (``LPQ_TOP.m`` defaults), ``(0.9, 0.9)`` in mode ``lpq_m`` (``lpq.m``'s 0.9).
    decorrelate : bool
        Decorrelate the eight STFT values before quantising (:func:`lpq_decorrelation`).
    blocks : int or (rows, cols)
        Block grid over the full frame (``numpy.array_split``); a window centre counts in the block
        containing it. ``(1, 1)``: the whole clip, as ``LPQ_TOP.m``.
    mode : {"lpqtop", "lpq_m"}
        ``lpqtop``: bit = value >= 0, covariance ``rho_s**d`` (Euclidean) on XY and
        ``rho_s**|ds| * rho_t**|dt|`` on XT/YT (``LPQ_TOP.m``). ``lpq_m``: bit = value > 0 and
        ``lpq.m``'s ``rho**d`` model on every plane (``rho_s`` on XY, ``rho_t`` on XT/YT).

    Returns
    -------
    ndarray, shape (rows * cols * 768,), float32
        Per block (row-major): the 256-bin XY, XT and YT histograms, each summing to 1 (0 when a
        block holds no window centre of that plane).

    Raises
    ------
    DescriptorInputError
        Even or < 3 window, a volume smaller than the window along some axis, bad rho/mode.

    Notes
    -----
    Slices and orientation: XY slices are the frames (first axis y, second x); XT slices (one per
    row y) have first axis x and second axis t; YT slices (one per column x) first axis y, second t.
    Per slice, with ``conv2`` orientation (the kernel flipped, as ``lpq.m``), F1 = ``w0`` along the
    first axis and ``w1`` along the second, F2 = ``w1, w0``, F3 = ``w1, w1``, F4 = ``w1, conj(w1)``;
    bit ``j`` of the code is the sign test of the ``j``-th of Re F1, Im F1, ..., Im F4 (after the
    decorrelation ``F @ V``). Only 'valid' positions (full window inside the slice) are coded: XY
    codes exist for every frame, XT/YT codes for ``t`` in ``[rt, T-rt)``.

    Exact zeros: values that are zero in exact arithmetic (flat or linear patches) come out of any
    float convolution as +-1e-13 noise whose sign depends on the summation order; values within
    ``1e-10 * max|volume| * sum|kernel|`` of zero are taken as zero (bit 1 for ``>=``, 0 for ``>``).
    MATLAB's codes there are rounding noise, so they can differ on perfectly flat regions.

    Deviations: ``LPQ_TOP.m`` calls its slices of ``permute(V, [1 3 2])`` "XT", which for an
    ``H x W x T`` volume are the y-t slices, so its XT and YT histograms are our YT and XT (a block
    permutation of the vector). The SVD's column signs are fixed here (largest-magnitude entry
    positive) where MATLAB leaves them to LAPACK; a different sign permutes the code bins.

    References
    ----------
    V. Ojansivu and J. Heikkila, "Blur insensitive texture classification using local phase
    quantization", ICISP 2008. J. Paivarinta, E. Rahtu and J. Heikkila, "Volume local phase
    quantization for blur-insensitive dynamic texture classification", SCIA 2011.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).integers(0, 256, (8, 24, 24), dtype=np.uint8)
    >>> lpq_top(clip).shape
    (768,)
    """
    vol = as_volume(volume)
    if mode not in _MODES:
        raise DescriptorInputError(f"mode={mode!r} is unknown; use 'lpqtop' or 'lpq_m'")
    if np.isscalar(window):
        window = (window, window, window)  # type: ignore[assignment]
    try:
        wx, wy, wt = (int(w) for w in window)  # type: ignore[union-attr]
        ok = all(int(w) == w and w >= 3 and int(w) % 2 == 1 for w in window)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DescriptorInputError(
            f"window={window!r} must be three odd integers >= 3 (wx, wy, wt), e.g. window=(5, 5, 5)"
        )
    if rho is None:
        rho = (0.1, 0.1) if mode == "lpqtop" else (0.9, 0.9)
    rho_pair = (rho, rho) if np.isscalar(rho) else tuple(rho)  # type: ignore[arg-type]
    if len(rho_pair) != 2 or not all(
        isinstance(r, int | float | np.floating) and 0 < float(r) < 1 for r in rho_pair
    ):
        raise DescriptorInputError(
            f"rho={rho!r} must be one or two numbers in (0, 1), e.g. (0.1, 0.1)"
        )
    rho_s, rho_t = (float(r) for r in rho_pair)
    n_rows, n_cols = pair(blocks, "blocks")
    t_len, h, w = vol.shape
    if t_len < wt or h < wy or w < wx:
        raise DescriptorInputError(
            f"volume of shape (T, H, W)={vol.shape} is smaller than the window (wt, wy, wx)="
            f"({wt}, {wy}, {wx}); use a smaller window or a longer/larger clip"
        )
    strict = mode == "lpq_m"
    temporal_model = "separable" if mode == "lpqtop" else "euclid"

    rx, ry = (wx - 1) // 2, (wy - 1) // 2
    # (slices as (S, first, second), window, rho, model, codes -> (y, t, x) axes, centre ranges)
    planes = [
        (vol, (wy, wx), (rho_s, rho_s), "euclid", (1, 0, 2), (ry, h - ry), (rx, w - rx)),  # XY
        (
            vol.transpose(1, 2, 0),
            (wx, wt),
            (rho_s, rho_t),
            temporal_model,
            (0, 2, 1),
            (0, h),
            (rx, w - rx),
        ),  # XT
        (
            vol.transpose(2, 1, 0),
            (wy, wt),
            (rho_s, rho_t),
            temporal_model,
            (1, 2, 0),
            (ry, h - ry),
            (0, w),
        ),  # YT
    ]
    hists = []
    for stack, win, rh, model, to_ytx, (y0, y1), (x0, x1) in planes:
        if strict:  # lpq.m: one rho, Euclidean model, on every plane
            rh = (rh[1], rh[1])
        v = _decorrelation_cached(win, rh, model) if decorrelate else None
        codes = _slice_codes(np.ascontiguousarray(stack), win, v, strict)
        codes = np.ascontiguousarray(codes.transpose(to_ytx))
        rows = centre_block_ranges(h, n_rows, y0, y1)
        cols = centre_block_ranges(w, n_cols, x0, x1)
        hists.append(block_histograms(codes, 256, rows, cols))
    out = np.concatenate([normalise_rows(hh) for hh in hists], axis=1)
    return out.astype(np.float32).ravel()


def lpq(
    image: np.ndarray,
    window: int = 7,
    rho: float = 0.9,
    decorrelate: bool = True,
    strict: bool = True,
) -> np.ndarray:
    """LPQ histogram of one grey image, as ``lpq.m`` (STFT uniform window, mode 'nh').

    Parameters
    ----------
    image : ndarray, shape (H, W)
        Grey image (any numeric dtype).
    window : int
        Odd window size M >= 3 (``lpq.m`` default 7 in its demos, 3 as its argument default).
    rho : float
        Model correlation (``lpq.m``: 0.9).
    decorrelate : bool
        Apply the decorrelation.
    strict : bool
        ``True``: bit = value > 0 (``lpq.m``); ``False``: >= 0.

    Returns
    -------
    ndarray, shape (256,), float32
        Normalised histogram of the codes of the 'valid' positions.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise DescriptorInputError(f"image must be 2-D (H, W), got shape {img.shape}")
    if int(window) != window or window < 3 or window % 2 == 0:
        raise DescriptorInputError(f"window={window!r} must be an odd integer >= 3")
    if min(img.shape) < window:
        raise DescriptorInputError(f"image {img.shape} is smaller than window={window}")
    v = _decorrelation_cached((window, window), (rho, rho), "euclid") if decorrelate else None
    codes = _slice_codes(np.ascontiguousarray(img[None]), (window, window), v, strict)
    h = np.bincount(codes.ravel(), minlength=256).astype(np.float64)
    return (h / h.sum()).astype(np.float32)
