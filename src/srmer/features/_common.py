"""Shared helpers of the block-based descriptors: input checks, block grids and block histograms."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from srmer.errors import SrmerError

# calcHist returns float32 counts: keep every call's pixel count below 2**24 so they stay exact.
_CALCHIST_MAX = 1 << 24


class DescriptorInputError(SrmerError, ValueError):
    """A descriptor got an unusable volume or parameter (message names it and the fix)."""


def as_volume(volume: np.ndarray, name: str = "volume") -> np.ndarray:
    """Check a grey ``(T, H, W)`` volume; bool becomes uint8, other dtypes pass through unchanged."""
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise DescriptorInputError(
            f"{name} must be a grey (T, H, W) array, got shape {vol.shape}; convert RGB clips "
            f"with srmer.video.io.to_grey first"
        )
    if vol.dtype == bool:
        vol = vol.astype(np.uint8)
    if not (np.issubdtype(vol.dtype, np.integer) or np.issubdtype(vol.dtype, np.floating)):
        raise DescriptorInputError(f"{name} has dtype {vol.dtype}; use uint8 or float grey levels")
    return vol


def pair(value: int | Sequence[int], name: str, minimum: int = 1) -> tuple[int, int]:
    """A positive ``(rows, cols)`` pair from an int or a 2-sequence."""
    if np.isscalar(value):
        value = (value, value)
    try:
        a, b = (int(v) for v in value)  # type: ignore[union-attr]
        ok = all(float(v) == int(v) for v in value) and min(a, b) >= minimum  # type: ignore[union-attr]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DescriptorInputError(
            f"{name}={value!r} is not a pair of integers >= {minimum}; use e.g. {name}=(5, 5)"
        )
    return a, b


def triple(value: int | Sequence[int], name: str, minimum: int = 1) -> tuple[int, int, int]:
    """A ``(x, y, t)``-style triple of integers >= ``minimum`` from an int or a 3-sequence."""
    if np.isscalar(value):
        value = (value, value, value)
    try:
        vals = tuple(int(v) for v in value)  # type: ignore[union-attr]
        ok = (
            len(vals) == 3
            and all(float(v) == int(v) for v in value)  # type: ignore[union-attr]
            and min(vals) >= minimum
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DescriptorInputError(
            f"{name}={value!r} is not three integers >= {minimum}; use e.g. {name}=(1, 1, 4)"
        )
    return vals  # type: ignore[return-value]


def positive_int(value: object, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (floats with a whole value accepted), else a clear error."""
    try:
        ok = float(value) == int(value) and int(value) >= minimum  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok or isinstance(value, bool):
        raise DescriptorInputError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)  # type: ignore[arg-type]


def split_edges(n: int, parts: int) -> np.ndarray:
    """Boundaries of ``numpy.array_split(range(n), parts)``: ``parts + 1`` increasing ints.

    The first ``n % parts`` parts are one longer, exactly as :func:`numpy.array_split` cuts.
    """
    q, r = divmod(n, parts)
    sizes = np.full(parts, q, dtype=np.int64)
    sizes[:r] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def centre_block_ranges(n: int, parts: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Per block, the slice of the centre axis ``[lo, hi)`` that falls in the block.

    The full axis ``[0, n)`` is split like :func:`numpy.array_split`; a centre counts in the block
    containing it. Returned ranges index the centre array (start at ``lo`` = 0); an empty block gives
    ``(k, k)``.
    """
    edges = split_edges(n, parts)
    out = []
    for i in range(parts):
        a = min(max(int(edges[i]), lo), hi)
        b = min(max(int(edges[i + 1]), lo), hi)
        out.append((a - lo, b - lo))
    return out


def block_histograms(
    codes: np.ndarray,
    nbins: int,
    row_ranges: Sequence[tuple[int, int]],
    col_ranges: Sequence[tuple[int, int]],
) -> np.ndarray:
    """Integer histograms of ``codes`` per block.

    Parameters
    ----------
    codes : ndarray, shape (Y, T, X), uint8 or uint16, C-contiguous
        Codes in 0..nbins-1, laid out with the block rows' axis first so that one block row is a
        contiguous slab and one block is a plain 2-D strided view of it.
    nbins : int
        Number of bins.
    row_ranges, col_ranges : sequences of (start, stop)
        Block extents along Y and X (from :func:`centre_block_ranges`).

    Returns
    -------
    ndarray, shape (len(row_ranges) * len(col_ranges), nbins), int64
        Counts, blocks in row-major order.
    """
    _, nt, nx = codes.shape
    out = np.zeros((len(row_ranges) * len(col_ranges), nbins), dtype=np.int64)
    use_cv = codes.dtype == np.uint8 and nbins <= 256
    k = 0
    for r0, r1 in row_ranges:
        slab = codes[r0:r1].reshape(-1, nx)
        for c0, c1 in col_ranges:
            if r1 > r0 and c1 > c0 and nt > 0:
                view = slab[:, c0:c1]
                if use_cv:
                    # OpenCV's 8-bit histogram (a table lookup per pixel, strided 2-D input, no
                    # copy) is ~5x faster than np.bincount, which first casts to intp.
                    step = max(1, _CALCHIST_MAX // (c1 - c0))
                    for s in range(0, view.shape[0], step):
                        h = cv2.calcHist([view[s : s + step]], [0], None, [nbins], [0, nbins])
                        out[k] += np.rint(np.asarray(h).ravel()).astype(np.int64)
                else:
                    out[k] = np.bincount(view.ravel(), minlength=nbins)[:nbins]
            k += 1
    return out


def normalise_rows(h: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (float64); an all-zero row stays zero."""
    h = np.asarray(h, dtype=np.float64)
    s = h.sum(axis=-1, keepdims=True)
    return np.divide(h, s, out=np.zeros_like(h), where=s > 0)
