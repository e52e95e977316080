"""Gradient-orientation descriptors: HOG-TOP, HIGO-TOP and 3DHOG (block-based).

No public reference code exists for these micro-expression variants, so every choice is stated
here and in each docstring:

* gradients: central differences ``v[i+1] - v[i-1]`` along x, y and t of the float volume (no
  smoothing, as Dalal & Triggs found best), at the centres ``t in [1, T-2]``, ``y in [1, H-2]``,
  ``x in [1, W-2]`` (every voxel whose six axis neighbours exist);
* plane orientations: XY ``atan2(g_y, g_x)`` (image coordinates, y down), XT ``atan2(g_t, g_x)``,
  YT ``atan2(g_t, g_y)``; a voxel with a zero in-plane gradient has no orientation and votes in no
  bin of that plane;
* bins: hard assignment (no interpolation between bins), ``bins`` equal sectors of ``[0, pi)``
  (unsigned, default, Dalal-Triggs) or ``[0, 2 pi)`` (``signed=True``); an orientation on a sector
  boundary (within 1e-6 sector; integer gradients hit 45 degrees exactly) belongs to the sector
  starting there;
* regions: the block grid of LBP-TOP (``numpy.array_split`` of the full frame, a centre counts in the
  block containing it), the usual substitute for landmark regions when none are annotated;
* normalisation: each histogram (per block and plane, or per 3DHOG cell) divided by its sum (L1), so
  blocks of different size weigh the same, like the LBP-TOP histograms; an empty histogram stays 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from srmer.features._common import (
    DescriptorInputError,
    as_volume,
    centre_block_ranges,
    normalise_rows,
    pair,
    positive_int,
)

__all__ = ["higo_top", "hog3d", "hog_top"]

_BOUNDARY_EPS = 1e-6  # in sectors: see _orientation_bins
_INT_RANGE = 255  # |difference| of uint8 grey levels


def _gradients(vol: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central differences ``(g_x, g_y, g_t)`` at the centres, each ``(T-2, H-2, W-2)``.

    int16 for uint8 volumes (exact), float64 otherwise.
    """
    t_len, h, w = vol.shape
    if t_len < 3 or h < 3 or w < 3:
        raise DescriptorInputError(
            f"volume of shape (T, H, W)={vol.shape} is too small for central differences; "
            f"gradient descriptors need at least 3 frames of 3x3 pixels"
        )
    # uint8: int16 differences are exact (and feed the lookup tables); otherwise float64
    v = vol.astype(np.int16) if vol.dtype == np.uint8 else vol.astype(np.float64)
    c = (slice(1, -1),) * 3
    gx = v[c[0], c[1], 2:] - v[c[0], c[1], :-2]
    gy = v[c[0], 2:, c[2]] - v[c[0], :-2, c[2]]
    gt = v[2:, c[1], c[2]] - v[:-2, c[1], c[2]]
    return gx, gy, gt


def _orientation_bins(a: np.ndarray, b: np.ndarray, bins: int, signed: bool) -> np.ndarray:
    """Sector (int64) of the orientation ``atan2(b, a)`` among ``bins`` equal sectors.

    Integer gradients hit sector boundaries exactly (45 degrees and the like), where float rounding
    would pick either side: an orientation within 1e-6 sector of a boundary belongs to the sector
    that starts there (wrapping at the period). Computed in float64.
    """
    period = 2.0 * np.pi if signed else np.pi
    ang = np.mod(np.arctan2(b.astype(np.float64), a.astype(np.float64)), period)
    idx = np.floor(ang * (bins / period) + _BOUNDARY_EPS).astype(np.int64)
    idx[idx >= bins] -= bins
    return idx


@lru_cache(maxsize=8)
def _int_tables(bins: int, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sector and magnitude of every integer gradient pair ``(a, b)`` in ``[-255, 255]**2``.

    Differences of uint8 frames take only 511 values per axis, so a 511x511 table replaces the
    per-voxel ``arctan2``/``hypot`` (the slow part) by a gather; the table is built with exactly
    the per-voxel formulas, so both paths give identical results.
    """
    g = np.arange(-_INT_RANGE, _INT_RANGE + 1, dtype=np.float64)
    a, b = np.meshgrid(g, g, indexing="ij")
    sector = _orientation_bins(a, b, bins, signed).astype(np.int16 if bins > 127 else np.int8)
    mag = np.hypot(a, b).astype(np.float32)
    return sector.ravel(), mag.ravel()


def _plane_sector_magnitude(
    a: np.ndarray, b: np.ndarray, bins: int, signed: bool, integer: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Orientation sector (int) and in-plane magnitude (float32) of gradient pairs ``(a, b)``."""
    if integer:
        sector, mag = _int_tables(bins, signed)
        key = a.astype(np.int32)
        key += _INT_RANGE
        key *= 2 * _INT_RANGE + 1
        key += b
        key += _INT_RANGE
        return sector[key], mag[key]
    return _orientation_bins(a, b, bins, signed), np.hypot(a, b)


def _cell_index(shape: tuple[int, int, int], rows, cols, t_ranges=None) -> np.ndarray:
    """Cell number of every centre ``(t, y, x)`` (int64, broadcastable to ``shape``)."""
    nt, ny, nx = shape
    row_of = np.empty(ny, np.int64)
    for i, (a, b) in enumerate(rows):
        row_of[a:b] = i
    col_of = np.empty(nx, np.int64)
    for j, (a, b) in enumerate(cols):
        col_of[a:b] = j
    cell = (row_of[:, None] * len(cols) + col_of[None, :])[None]
    if t_ranges is not None:
        t_of = np.empty(nt, np.int64)
        for k, (a, b) in enumerate(t_ranges):
            t_of[a:b] = k
        cell = t_of[:, None, None] * (len(rows) * len(cols)) + cell
    return cell


def _weighted_hist(cell, idx, weight, n_cells, nbins) -> np.ndarray:
    flat = (cell * nbins + idx).ravel()
    w = None if weight is None else weight.ravel()
    return np.bincount(flat, weights=w, minlength=n_cells * nbins).reshape(n_cells, nbins)


def _plane_hists(volume: np.ndarray, bins: int, blocks, signed: bool, weighted: bool) -> np.ndarray:
    vol = as_volume(volume)
    bins = positive_int(bins, "bins")
    n_rows, n_cols = pair(blocks, "blocks")
    gx, gy, gt = _gradients(vol)
    _, h, w = vol.shape
    rows = centre_block_ranges(h, n_rows, 1, h - 1)
    cols = centre_block_ranges(w, n_cols, 1, w - 1)
    cell = _cell_index(gx.shape, rows, cols)
    n_cells = n_rows * n_cols
    hists = []
    integer = gx.dtype == np.int16
    for a, b in ((gx, gy), (gx, gt), (gy, gt)):  # XY, XT, YT
        idx, mag = _plane_sector_magnitude(a, b, bins, signed, integer)
        # zero gradient: no orientation, no vote (weight 0 either way)
        weight = mag if weighted else (mag > 0).astype(np.float32)
        hists.append(normalise_rows(_weighted_hist(cell, idx, weight, n_cells, bins)))
    return np.concatenate(hists, axis=1).astype(np.float32).ravel()


def hog_top(
    volume: np.ndarray,
    bins: int = 8,
    blocks: int | Sequence[int] = (5, 5),
    signed: bool = False,
) -> np.ndarray:
    """HOG-TOP: magnitude-weighted gradient-orientation histograms on the XY, XT and YT planes.

    Parameters
    ----------
    volume : ndarray, shape (T, H, W)
        Grey clip (uint8 or float), at least 3 frames of 3x3 pixels.
    bins : int
        Orientation bins per plane (8, as Li et al. 2018 use for HIGO-TOP).
    blocks : int or (rows, cols)
        Block grid over the full frame (``numpy.array_split``).
    signed : bool
        Orientations over ``[0, 2 pi)`` instead of ``[0, pi)``.

    Returns
    -------
    ndarray, shape (rows * cols * 3 * bins,), float32
        Per block (row-major): XY, XT, YT histograms, each summing to 1 (0 if the block has no
        gradient).

    Notes
    -----
    Each centre votes in each plane with the magnitude of its in-plane gradient, e.g.
    ``sqrt(g_x**2 + g_t**2)`` on XT, into the bin of its in-plane orientation. The choices
    (gradients, bins, regions, normalisation) are listed in :mod:`srmer.features.hog`; HOG-TOP of Li
    et al. (2018) is described in words only, so these are this package's definitions.

    References
    ----------
    X. Li, X. Hong, A. Moilanen, X. Huang, T. Pfister, G. Zhao and M. Pietikainen, "Towards reading
    hidden emotions: a comparative study of spontaneous micro-expression spotting and recognition
    methods", IEEE Trans. Affective Computing 9(4), 2018. N. Dalal and B. Triggs, "Histograms of
    oriented gradients for human detection", CVPR 2005.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    >>> hog_top(clip).shape
    (600,)
    """
    return _plane_hists(volume, bins, blocks, signed, weighted=True)


def higo_top(
    volume: np.ndarray,
    bins: int = 8,
    blocks: int | Sequence[int] = (5, 5),
    signed: bool = False,
) -> np.ndarray:
    """HIGO-TOP: like :func:`hog_top` but every voxel votes 1 (no magnitude weighting).

    Parameters
    ----------
    volume : ndarray, shape (T, H, W)
        Grey clip (uint8 or float), at least 3 frames of 3x3 pixels.
    bins : int
        Orientation bins per plane (8, Li et al. 2018).
    blocks : int or (rows, cols)
        Block grid over the full frame.
    signed : bool
        Orientations over ``[0, 2 pi)`` instead of ``[0, pi)``.

    Returns
    -------
    ndarray, shape (rows * cols * 3 * bins,), float32
        Per block (row-major): XY, XT, YT orientation counts, each summing to 1.

    Notes
    -----
    Ignoring the magnitude makes the descriptor insensitive to contrast and illumination strength
    (Li et al. 2018); voxels with a zero in-plane gradient have no orientation and do not vote.
    Choices as in :mod:`srmer.features.hog`.

    References
    ----------
    X. Li et al., "Towards reading hidden emotions", IEEE Trans. Affective Computing 9(4), 2018.
    """
    return _plane_hists(volume, bins, blocks, signed, weighted=False)


def hog3d(
    volume: np.ndarray,
    blocks: int | Sequence[int] = (5, 5),
    t_divisions: int = 1,
    azimuth_bins: int = 8,
    elevation_bins: int = 4,
) -> np.ndarray:
    """3DHOG: histograms of 3-D gradient orientations per spatio-temporal cell (Polikovsky 2009).

    Parameters
    ----------
    volume : ndarray, shape (T, H, W)
        Grey clip (uint8 or float), at least 3 frames of 3x3 pixels.
    blocks : int or (rows, cols)
        Spatial block grid (the regions; ``numpy.array_split`` of the full frame).
    t_divisions : int
        Temporal divisions of the centre frames (``numpy.array_split``); Zhou et al. uses 1.
    azimuth_bins : int
        Bins of the azimuth ``atan2(g_y, g_x)``: equal sectors of the full circle, the first
        starting at angle 0 (the +x direction).
    elevation_bins : int
        Bins of the elevation ``atan2(g_t, sqrt(g_x**2 + g_y**2))`` over ``[-pi/2, pi/2]``.

    Returns
    -------
    ndarray, shape (t_divisions * rows * cols * azimuth_bins * elevation_bins,), float32
        Per cell (temporal division outermost, then block rows and columns) the magnitude-weighted
        joint (elevation, azimuth) histogram, flattened elevation-major, summing to 1 (0 for a cell
        without gradient). Default 5x5 blocks, 1 division: 800 values.

    Notes
    -----
    Polikovsky et al. place 12 regions around manually annotated landmarks and histogram the
    gradient orientation of each region in the XY, XT and YT projections; with no landmarks
    available this implementation uses the block grid of LBP-TOP as regions and quantises the 3-D
    gradient direction directly into azimuth x elevation sectors (8 x 4 = 32 bins, each voxel voting
    with its 3-D gradient magnitude ``sqrt(g_x**2 + g_y**2 + g_t**2)``). Zero gradients vote
    nowhere. Other choices as in :mod:`srmer.features.hog`.

    References
    ----------
    S. Polikovsky, Y. Kameda and Y. Ohta, "Facial micro-expressions recognition using high speed
    camera and 3D-gradient descriptor", ICDP 2009.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).integers(0, 256, (8, 32, 32), dtype=np.uint8)
    >>> hog3d(clip).shape
    (800,)
    """
    vol = as_volume(volume)
    n_rows, n_cols = pair(blocks, "blocks")
    t_div = positive_int(t_divisions, "t_divisions")
    n_az = positive_int(azimuth_bins, "azimuth_bins")
    n_el = positive_int(elevation_bins, "elevation_bins")
    gx, gy, gt = _gradients(vol)
    t_len, h, w = vol.shape
    if t_div > t_len - 2:
        raise DescriptorInputError(
            f"t_divisions={t_div} exceeds the {t_len - 2} centre frames of a {t_len}-frame clip; "
            f"use fewer divisions"
        )
    rows = centre_block_ranges(h, n_rows, 1, h - 1)
    cols = centre_block_ranges(w, n_cols, 1, w - 1)
    t_ranges = centre_block_ranges(t_len - 2, t_div, 0, t_len - 2)
    cell = _cell_index(gx.shape, rows, cols, t_ranges)
    az, rho = _plane_sector_magnitude(gx, gy, n_az, True, gx.dtype == np.int16)
    rho = rho.astype(np.float64)
    gt = gt.astype(np.float64)
    mag = np.sqrt(rho * rho + gt * gt)
    elev = np.arctan2(gt, rho) + np.pi / 2
    el = np.floor(elev * (n_el / np.pi) + _BOUNDARY_EPS).astype(np.int64)
    np.clip(el, 0, n_el - 1, out=el)
    idx = el * n_az + az
    n_cells = t_div * n_rows * n_cols
    hist = _weighted_hist(cell, idx, mag, n_cells, n_az * n_el)
    return normalise_rows(hist).astype(np.float32).ravel()
