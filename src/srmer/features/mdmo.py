"""MDMO: main directional mean optical flow (Liu et al., IEEE TAC 2016).

Liu et al. [1]_ compute the optical flow between the first frame of a micro-expression clip and each
later frame, divide the face into 36 regions of interest (ROIs) placed from facial landmarks by
action units, and describe each ROI in each frame by the *main direction* of its flow: the flow
vectors are binned by direction into 8 bins (HOOF style), the bin holding most vectors is the main
direction, and the ROI's frame feature is the mean, in polar coordinates ``(rho, theta)``, of the
vectors in that bin. The clip feature averages the frame features over the frames and normalises the
magnitudes, giving ``36 x 2 = 72`` values that an SVM classifies.

What :func:`mdmo` computes, step by step
----------------------------------------
1. ``F_t`` = dense flow from frame 0 (onset) to frame ``t``, ``t = 1 .. T-1`` (``flow``; grey frames).
2. Per flow vector ``(u, v)`` (pixels, image coordinates: x right, y *down*):
   ``rho = hypot(u, v)``, ``theta = atan2(v, u) mod 2 pi``, so motion to the right has
   ``theta = 0``, downwards ``pi / 2``, to the left ``pi``, upwards ``3 pi / 2`` (clockwise on
   screen). Direction bin ``b = floor(theta * bins / (2 pi))``: ``bins`` equal sectors of
   ``[0, 2 pi)`` starting at 0 (rightward). A zero vector has ``theta = 0`` (bin 0).
3. Per ROI ``k`` and frame ``t``: counts per bin; main bin = the bin with most vectors (ties: the
   lowest bin); ``(rho_kt, theta_kt)`` = mean rho and mean theta of the vectors in the main bin
   (every vector of one bin lies in one sector, so the mean angle is well defined).
4. Per ROI: the frame vectors ``rho_kt (cos theta_kt, sin theta_kt)`` are averaged over the ``T - 1``
   frames; ``(rho_k, theta_k)`` = magnitude and angle (``mod 2 pi``) of that mean vector.
5. ``normalise=True`` (default): ``rho_k / max(max_j rho_j, 1e-3 px)``: the largest ROI magnitude
   becomes 1, while a still clip, whose flow is float noise of ~1e-5 px, stays near 0 instead of
   having its noise scaled up to 1.
6. Output ``[rho_1, theta_1, rho_2, theta_2, ...]`` (ROI order of :func:`mdmo_regions`), float32.

Deviations from the paper, said plainly
---------------------------------------
* **ROIs without landmarks.** The paper places its 36 ROIs from facial landmarks detected on the
  clip; srmer has no landmark model offline, so :func:`srmer.features.regions.mdmo_regions` places
  36 rectangles by fixed proportions of the aligned face crop (the dlib/OpenFace mean face mapped to
  the ``crop_faces`` crop; see that module). They follow the same action-unit areas but are not the
  paper's polygons. Any other boxes can be passed as ``regions``.
* **No alignment step.** The paper first removes head motion with its optical-flow-driven alignment
  of all frames; here frames are used as given (the benchmark's crops are fixed per clip, as the
  papers crop), so head motion enters the flow.
* **Flow algorithm.** The paper applies "a robust optical flow method"; srmer defaults to OpenCV's
  Farneback flow (``cv2.calcOpticalFlowFarneback`` with the OpenCV tutorial settings: pyramid scale
  0.5, 3 levels, window 15, 3 iterations, ``poly_n`` 5, ``poly_sigma`` 1.2), 30x faster than TV-L1 at
  256x256 (the flow of every frame is needed, not only the apex). ``flow="tvl1"`` uses the project's
  :func:`srmer.features.flow.tvl1_flow` (the flow of the project's flow-based networks), ~0.8 s a
  frame pair at 256x256. OpenCV contrib's dense RLOF (robust local flow) was tried and left out: with
  its defaults it returns NaN or zero flow over most of a 64x64 frame.
* **Average over frames.** The paper averages the per-frame ``(rho, theta)`` features over the frames;
  we average them as vectors (step 4). Averaging the two numbers separately would turn angles on
  both sides of 0 (e.g. 0.1 and 6.2 rad for motion to the right) into ``pi``, the opposite
  direction.
* **Normalisation** (step 5): magnitudes divided by the clip's largest ROI magnitude, our reading
  of the paper's normalisation, with the 1e-3 px floor added for still clips; ``normalise=False``
  keeps pixels (used by the tests).

Brightness: both flows compare frames by differences or by polynomial expansions whose
constant term is dropped, so adding one constant to every frame (without clipping at 0/255) leaves
the Farneback flow, and so the feature, unchanged up to float rounding (~1e-6 px). TV-L1 as OpenCV
implements it is only nearly invariant: on a textured 96x96 pair shifted by +20 grey levels its flow
changed by up to ~1 px at a few pixels near the border and by at most ~1e-2 px more than 16 px
inside; the MDMO feature of a textured 64x64 clip moved by ~3e-3 relative.

References
----------
.. [1] Y.-J. Liu, J.-K. Zhang, W.-J. Yan, S.-J. Wang, G. Zhao, X. Fu, "A main directional mean
   optical flow feature for spontaneous micro-expression recognition", IEEE Transactions on
   Affective Computing 7(4), 2016.
.. [2] G. Farneback, "Two-frame motion estimation based on polynomial expansion", SCIA 2003.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from srmer.features._common import DescriptorInputError, positive_int
from srmer.features.regions import mdmo_regions

__all__ = ["FLOW_METHODS", "mdmo", "mdmo_frame_features"]

#: accepted values of ``flow``
FLOW_METHODS = ("farneback", "tvl1")

_TWO_PI = 2.0 * np.pi
#: smallest divisor of the normalisation, in pixels (far below micro-expression motion, ~0.1-2 px)
_STILL_PX = 1e-3


def _farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # OpenCV tutorial settings: pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _tvl1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from srmer.features.flow import tvl1_flow

    return tvl1_flow(a, b)


_FLOWS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "farneback": _farneback,
    "tvl1": _tvl1,
}


def _grey_clip(clip: np.ndarray) -> np.ndarray:
    """``(T, H, W)`` uint8 from a grey or RGB ``(T, H, W, 3)`` clip (BT.601 luma, as ``to_grey``)."""
    a = np.asarray(clip)
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    if not (a.ndim == 3 or (a.ndim == 4 and a.shape[-1] == 3)):
        raise DescriptorInputError(
            f"clip must be a grey (T, H, W) or RGB (T, H, W, 3) array, got shape {a.shape}"
        )
    if a.dtype == bool or not (
        np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)
    ):
        raise DescriptorInputError(f"clip has dtype {a.dtype}; use uint8 (or 0..255 numbers)")
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if a.ndim == 4:
        from srmer.video.io import to_grey

        a = to_grey(np.ascontiguousarray(a))
    if a.shape[0] < 2:
        raise DescriptorInputError(
            f"MDMO needs at least 2 frames (onset and one later frame), got a {a.shape[0]}-frame "
            f"clip; pass the clip from onset to offset"
        )
    return np.ascontiguousarray(a)


def _check_regions(regions: Sequence[Sequence[int]] | None, h: int, w: int) -> np.ndarray:
    if regions is None:
        return np.asarray(mdmo_regions((h, w)), dtype=np.int64)
    try:
        boxes = np.asarray([[int(v) for v in r] for r in regions], dtype=np.int64)
        ok = boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DescriptorInputError(
            "regions must be a non-empty list of (y0, y1, x0, x1) integer boxes, "
            "e.g. srmer.features.mdmo_regions(size)"
        )
    y0, y1, x0, x1 = boxes.T
    bad = np.flatnonzero((y0 < 0) | (y1 > h) | (y0 >= y1) | (x0 < 0) | (x1 > w) | (x0 >= x1))
    if bad.size:
        raise DescriptorInputError(
            f"region {int(bad[0])} {tuple(int(v) for v in boxes[bad[0]])} is empty or outside the "
            f"{h}x{w} frame; boxes are (y0, y1, x0, x1) with 0 <= y0 < y1 <= H, 0 <= x0 < x1 <= W"
        )
    return boxes


def _onset_flows(grey: np.ndarray, flow: str) -> np.ndarray:
    """``(T-1, H, W, 2)`` float32 flows from frame 0 to each later frame."""
    if flow not in _FLOWS:
        raise DescriptorInputError(f"flow={flow!r}; use one of {', '.join(FLOW_METHODS)}")
    fn = _FLOWS[flow]
    t_len, h, w = grey.shape
    out = np.empty((t_len - 1, h, w, 2), dtype=np.float32)
    for t in range(1, t_len):
        out[t - 1] = fn(grey[0], grey[t])
    return out


def _pixel_index(boxes: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices of all boxes concatenated, and the box of each (regions may overlap)."""
    idx, owner = [], []
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        yy, xx = np.mgrid[y0:y1, x0:x1]
        flat = (yy * w + xx).ravel()
        idx.append(flat)
        owner.append(np.full(flat.size, k, dtype=np.int64))
    return np.concatenate(idx), np.concatenate(owner)


def mdmo_frame_features(
    flows: np.ndarray, regions: Sequence[Sequence[int]], bins: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Main-direction mean flow of every region in every flow field (steps 2-3 of the module doc).

    Parameters
    ----------
    flows : ndarray
        ``(N, H, W, 2)`` flow fields ``(u, v)`` in pixels (x right, y down).
    regions : sequence of (y0, y1, x0, x1)
        Boxes inside the ``H x W`` frame.
    bins : int
        Direction sectors of ``[0, 2 pi)``.

    Returns
    -------
    rho, theta : ndarray
        ``(N, R)`` float64: mean magnitude and mean angle (radians in ``[0, 2 pi)``) of the vectors in
        each region's main-direction bin.
    """
    bins = positive_int(bins, "bins")
    f = np.asarray(flows)
    if f.ndim != 4 or f.shape[-1] != 2:
        raise DescriptorInputError(f"flows must be (N, H, W, 2), got shape {f.shape}")
    n, h, w, _ = f.shape
    boxes = _check_regions(regions, h, w)
    n_reg = len(boxes)
    pix, owner = _pixel_index(boxes, w)
    flat = f.reshape(n, h * w, 2)
    u = flat[:, pix, 0].astype(np.float64)  # (N, P)
    v = flat[:, pix, 1].astype(np.float64)
    valid = np.isfinite(u) & np.isfinite(v)
    u = np.where(valid, u, 0.0)
    v = np.where(valid, v, 0.0)
    rho = np.hypot(u, v)
    theta = np.mod(np.arctan2(v, u), _TWO_PI)
    b = np.minimum((theta * (bins / _TWO_PI)).astype(np.int64), bins - 1)
    b[~valid] = bins  # non-finite flow vectors go to an extra bin that never wins
    nb = bins + 1
    # one joint key (frame, region, bin) per vector: counts and sums in three bincounts
    key = (np.arange(n, dtype=np.int64)[:, None] * n_reg + owner[None, :]) * nb + b
    size = n * n_reg * nb
    key = key.ravel()
    counts = np.bincount(key, minlength=size).reshape(n, n_reg, nb)[..., :bins]
    s_rho = np.bincount(key, weights=rho.ravel(), minlength=size).reshape(n, n_reg, nb)
    s_theta = np.bincount(key, weights=theta.ravel(), minlength=size).reshape(n, n_reg, nb)
    main = counts.argmax(axis=-1)[..., None]  # ties: the lowest bin
    c = np.take_along_axis(counts, main, -1)[..., 0].astype(np.float64)
    c_safe = np.maximum(c, 1.0)  # c == 0 only when a region has no finite vector: mean 0
    mean_rho = np.take_along_axis(s_rho, main, -1)[..., 0] / c_safe
    mean_theta = np.take_along_axis(s_theta, main, -1)[..., 0] / c_safe
    return mean_rho, mean_theta


def mdmo(
    clip: np.ndarray,
    regions: Sequence[Sequence[int]] | None = None,
    flow: str = "farneback",
    bins: int = 8,
    normalise: bool = True,
) -> np.ndarray:
    """MDMO feature of a clip (Liu et al. 2016), onset first.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W)`` grey or ``(T, H, W, 3)`` RGB, uint8 (other numbers are rounded and clipped to
        0..255), frames onset to offset; ``T >= 2``. RGB becomes grey with BT.601 luma.
    regions : sequence of (y0, y1, x0, x1), optional
        Regions of interest in pixels; default :func:`srmer.features.mdmo_regions` of the frame size
        (36 boxes).
    flow : {"farneback", "tvl1"}
        Optical flow from the onset to each frame (module docstring).
    bins : int
        Direction bins over ``[0, 2 pi)`` (8 in the paper).
    normalise : bool
        Divide the magnitudes by the largest region magnitude of the clip (the paper's
        normalisation as we read it); ``False`` keeps them in pixels.

    Returns
    -------
    ndarray
        ``(2 * R,)`` float32 ``[rho_1, theta_1, ..., rho_R, theta_R]``: per region the magnitude and
        angle (radians in ``[0, 2 pi)``, 0 = rightward, ``pi/2`` = downward in the image) of the
        frame-averaged main-direction mean flow. 72 values with the default regions.

    Raises
    ------
    DescriptorInputError
        Fewer than 2 frames, a bad shape or dtype, a box outside the frame, an unknown ``flow``,
        ``bins < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> clip = np.random.default_rng(0).integers(0, 256, (4, 64, 64), dtype=np.uint8)
    >>> mdmo(clip).shape
    (72,)
    """
    bins = positive_int(bins, "bins")
    if not isinstance(normalise, bool | np.bool_):
        raise DescriptorInputError(f"normalise={normalise!r}; use true or false")
    if flow not in _FLOWS:
        raise DescriptorInputError(f"flow={flow!r}; use one of {', '.join(FLOW_METHODS)}")
    grey = _grey_clip(clip)
    _, h, w = grey.shape
    boxes = _check_regions(regions, h, w)
    rho_t, theta_t = mdmo_frame_features(_onset_flows(grey, flow), boxes, bins)
    # average the frames' main-direction vectors (not the angles: they wrap at 2 pi)
    x = (rho_t * np.cos(theta_t)).mean(axis=0)
    y = (rho_t * np.sin(theta_t)).mean(axis=0)
    rho = np.hypot(x, y)
    theta = np.mod(np.arctan2(y, x), _TWO_PI)
    theta[theta >= _TWO_PI] = 0.0  # mod can round up to 2 pi for tiny negative angles
    if normalise:
        # a still clip's flow is float noise (~1e-5 px): dividing it by its own maximum would make
        # noise look like full motion, so the divisor is at least _STILL_PX
        rho = rho / max(float(rho.max()), _STILL_PX)
    return np.stack([rho, theta], axis=1).ravel().astype(np.float32)
