"""Landmark-free facial regions of interest on the aligned square face crop.

srmer has no facial landmark model offline, so the region-based methods (MDMO's 36 ROIs, HTNet's
four facial areas) place their regions by fixed proportions of the aligned face crop instead of by
landmarks detected on each clip. Every box is a fraction of the crop side, scaled to the input size,
and the layout is exactly left/right symmetric in pixels.

Conventions: a box is ``(y0, y1, x0, x1)`` in integer pixels, rows ``y0:y1`` and columns ``x0:x1``
(half-open, numpy slicing). "Left" and "right" are the image's left and right (the subject's right
and left), as MTCNN names its eye points.

Where the fractions come from
-----------------------------
**MDMO** (:data:`MDMO_ROI_TABLE`): the 68-point mean face of dlib's shape predictor (iBUG 300-W
markup), as published in OpenFace's ``align_dlib.py`` (``TEMPLATE``, coordinates in units of dlib's
face detection box [1]_), made exactly symmetric (each point averaged with its mirrored partner about
the template's vertical axis) and mapped to the crop that :func:`srmer.video.face.crop_faces` cuts:
the detection box enlarged by ``margin = 0.15`` of its side on every side, taking the skimage
cascade's box for dlib's (an approximation: no real face was available to compare them), i.e.
``x_crop = 0.5 + (x - axis) / 1.3`` and ``y_crop = (y + 0.15) / 1.3``. On that crop the mean landmarks
fall at: brows y 0.26-0.30 (x 0.23-0.44), eye centres (0.35, 0.37) with corners x 0.30 / 0.41, nose
bridge x 0.5 from y 0.36 to 0.54, nostril wings (0.43, 0.58), mouth corners (0.37, 0.69), lower lip
y 0.76, chin y 0.93 (left side; the right side mirrors). The 36 boxes are our placement, around those
points, of the action-unit areas the MDMO paper's ROIs follow [2]_ (brows and forehead AU1/2/4, lids
AU5/7, crow's feet and cheeks AU6, nose AU9, nasolabial area and upper lip AU10/11, lip corners
AU12/14/15, lower lip AU15/16, chin AU17): 16 left/right pairs and 4 midline boxes, in the order of
the table (each pair gives its left box, then its right box). They are rectangles, not the paper's
landmark polygons.

**HTNet** (:data:`HTNET_REGION_TABLE`): HTNet [3]_ crops 14x14 patches of its 28x28 flow images
around MTCNN's eye and mouth-corner landmarks, with the centres clipped to ``[7, 21]`` so every
patch lies inside the image; its code falls back to the fixed landmarks ``(9.53, 11.06)``,
``(21.40, 10.92)`` (eyes) and ``(10.26, 22.12)``, ``(20.58, 22.26)`` (mouth corners) when MTCNN finds
no face. We use those fallback centres, symmetrised about the image centre (eyes at x ``14 -+ 5.93``,
y 10.99; mouth corners at x ``14 -+ 5.16``, y 22.19) and clipped as HTNet clips them, with half-side
7/28 = 0.25: the four areas overlap, as HTNet's patches do. (HTNet's code slices the rows with the
landmark's x and the columns with its y; here rows are y, so the boxes sit on the eyes and mouth
corners.)

Caveat: the synthetic faces of :mod:`srmer.data.synthetic` are drawn lower in the crop than this
mean face (eyes at y ~0.45, mouth corners at y ~0.75, same x positions), so on them the upper ROIs
sit about 0.06-0.08 of the side above the features they are named after. The regions are still the
same for every clip, which is what the descriptors need; the names are approximate there.

References
----------
.. [1] B. Amos, B. Ludwiczuk, M. Satyanarayanan, "OpenFace: a general-purpose face recognition
   library with mobile applications", CMU-CS-16-118, 2016 (``openface/align_dlib.py``, the dlib mean
   landmark template); V. Kazemi, J. Sullivan, "One millisecond face alignment with an ensemble of
   regression trees", CVPR 2014 (dlib's 68-point predictor).
.. [2] Y.-J. Liu, J.-K. Zhang, W.-J. Yan, S.-J. Wang, G. Zhao, X. Fu, "A main directional mean
   optical flow feature for spontaneous micro-expression recognition", IEEE Trans. Affective
   Computing 7(4), 2016.
.. [3] Z. Wang, K. Zhang, W. Luo, R. Sankaranarayana, "HTNet for micro-expression recognition",
   Neurocomputing 602, 2024 (arXiv:2307.14637).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from srmer.errors import SrmerError

__all__ = [
    "HTNET_REGION_TABLE",
    "MDMO_ROI_TABLE",
    "RegionBox",
    "htnet_regions",
    "mdmo_regions",
    "region_names",
]

#: ``(y0, y1, x0, x1)`` in integer pixels
RegionBox = tuple[int, int, int, int]

#: MDMO's 36 ROIs as fractions of the crop side: ``(name, kind, y0, y1, x0, x1)`` with ``kind``
#: ``"pair"`` (the row is the image-left box; its mirror ``1 - x1 .. 1 - x0`` is the right box) or
#: ``"mid"`` (a midline box, ``x1 = 1 - x0``). Derived from the dlib/OpenFace mean face mapped to the
#: ``crop_faces`` crop (module docstring); action units in the comments.
MDMO_ROI_TABLE: tuple[tuple[str, str, float, float, float, float], ...] = (
    ("forehead_lateral", "pair", 0.150, 0.220, 0.230, 0.360),  # AU2 (frontalis, lateral)
    ("forehead_medial", "pair", 0.150, 0.220, 0.360, 0.460),  # AU1 (frontalis, medial)
    ("brow_outer", "pair", 0.250, 0.310, 0.200, 0.300),  # AU2, points 17-18
    ("brow_middle", "pair", 0.220, 0.290, 0.300, 0.390),  # AU1+2 / AU4, points 19-20
    ("brow_inner", "pair", 0.250, 0.310, 0.390, 0.470),  # AU1, AU4, points 20-21
    ("upper_eyelid", "pair", 0.310, 0.350, 0.300, 0.410),  # AU5, AU7, points 37-38
    ("lower_eyelid", "pair", 0.380, 0.420, 0.300, 0.420),  # AU7, points 40-41
    ("eye_outer_corner", "pair", 0.320, 0.420, 0.200, 0.300),  # AU6 (crow's feet), point 36
    ("nose_side", "pair", 0.370, 0.500, 0.420, 0.470),  # AU9, beside points 28-29
    ("cheek_infraorbital", "pair", 0.420, 0.530, 0.290, 0.420),  # AU6
    ("cheek_lateral", "pair", 0.420, 0.600, 0.180, 0.290),  # AU6, AU12 (zygomaticus)
    ("nose_wing", "pair", 0.530, 0.620, 0.410, 0.465),  # AU9, AU11, points 31-32
    ("nasolabial", "pair", 0.550, 0.660, 0.300, 0.410),  # AU10, AU11, AU12
    ("upper_lip_lateral", "pair", 0.625, 0.675, 0.410, 0.470),  # AU10, points 49-50
    ("lip_corner", "pair", 0.660, 0.720, 0.320, 0.410),  # AU12, AU14, AU15, point 48
    ("lower_lip_lateral", "pair", 0.720, 0.800, 0.360, 0.460),  # AU15, AU16, points 58-59
    ("glabella", "mid", 0.270, 0.360, 0.470, 0.530),  # AU4 (procerus), between 21 and 22
    ("nose_bridge", "mid", 0.360, 0.560, 0.470, 0.530),  # AU9, points 27-30
    ("philtrum", "mid", 0.605, 0.660, 0.470, 0.530),  # AU10, between 33 and 51
    ("chin", "mid", 0.800, 0.900, 0.430, 0.570),  # AU17, above point 8
)

#: HTNet's four areas as fractions of the crop side, ``(name, kind, y0, y1, x0, x1)`` as
#: :data:`MDMO_ROI_TABLE`: the eye areas (eye and brow) and the lip-corner areas, left then right.
HTNET_REGION_TABLE: tuple[tuple[str, str, float, float, float, float], ...] = (
    # eye centre (0.2881, 0.3925) +- 0.25: 14x14 of 28 around MTCNN's (symmetrised) eye point
    ("eye", "pair", 0.1425, 0.6425, 0.0381, 0.5381),
    # mouth corner (0.3156, 0.7925), centre y clipped to 21/28 = 0.75 as HTNet clips it
    ("lip_corner", "pair", 0.5000, 1.0000, 0.0656, 0.5656),
)


def _hw(size: int | Sequence[int], name: str) -> tuple[int, int]:
    """``(height, width)`` from an int (square) or a pair; whole numbers >= 4 only."""

    def whole(v: object) -> bool:
        return (
            isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool | np.bool_)
            and bool(np.isfinite(v))
            and float(v) == int(v)
            and int(v) >= 4
        )

    scalar = bool(np.isscalar(size))
    vals = [size] if scalar else list(size)  # type: ignore[arg-type]
    if len(vals) != (1 if scalar else 2) or not all(whole(v) for v in vals):
        raise SrmerError(
            f"{name}: size={size!r} must be an int >= 4 (square crop) or a pair (height, width)"
        )
    return int(vals[0]), int(vals[-1])  # type: ignore[call-overload]


def _round(v: np.ndarray) -> np.ndarray:
    """Round half up (no banker's rounding), as int64."""
    return np.floor(np.asarray(v, dtype=np.float64) + 0.5).astype(np.int64)


def _span(f0: float, f1: float, n: int) -> tuple[int, int]:
    """Integer ``[a, b)`` for the fractions ``[f0, f1)`` of ``n``: start rounded, length rounded
    (at least 1 pixel), kept inside ``[0, n]``."""
    length = max(1, int(_round((f1 - f0) * n)))
    a = min(max(int(_round(f0 * n)), 0), n - length)
    return a, a + length


def _boxes(
    table: Sequence[tuple[str, str, float, float, float, float]], h: int, w: int
) -> list[RegionBox]:
    out: list[RegionBox] = []
    for _, kind, fy0, fy1, fx0, fx1 in table:
        y0, y1 = _span(fy0, fy1, h)
        if kind == "mid":
            # symmetric about the centre: x1 = w - x0, at least one column (two for even widths)
            x0 = min(int(_round(fx0 * w)), (w - 1) // 2)
            out.append((y0, y1, x0, w - x0))
        else:
            x0, x1 = _span(fx0, fx1, w)
            out.append((y0, y1, x0, x1))
            out.append((y0, y1, w - x1, w - x0))  # exact pixel mirror
    return out


def _names(table: Sequence[tuple[str, str, float, float, float, float]]) -> list[str]:
    out: list[str] = []
    for name, kind, *_ in table:
        out.extend([name] if kind == "mid" else [f"{name}_left", f"{name}_right"])
    return out


def mdmo_regions(size: int | Sequence[int] = 256) -> list[RegionBox]:
    """MDMO's 36 regions of interest on an aligned face crop, without landmarks.

    Parameters
    ----------
    size : int or (int, int)
        Side of the square crop (any size >= 4; the layout is in fractions of it), or
        ``(height, width)`` for a non-square crop (y fractions scale with the height, x with the
        width).

    Returns
    -------
    list of (y0, y1, x0, x1)
        36 boxes in integer pixels inside the image, in the order of :data:`MDMO_ROI_TABLE` (each
        pair as left box then right box, then the 4 midline boxes); names in
        :func:`region_names`. Every box has at least one pixel; the left and right boxes of a pair
        are exact mirrors (``x0' = W - x1``, ``x1' = W - x0``), midline boxes mirror to themselves.

    Examples
    --------
    >>> len(mdmo_regions(256)), mdmo_regions(256)[-1]
    (36, (205, 231, 110, 146))
    """
    h, w = _hw(size, "mdmo_regions")
    return _boxes(MDMO_ROI_TABLE, h, w)


def htnet_regions(size: int | Sequence[int] = 28) -> list[RegionBox]:
    """HTNet's four facial areas: left eye (+ brow), right eye (+ brow), left and right lip corner.

    Parameters
    ----------
    size : int or (int, int)
        Side of the square crop (28 for HTNet's flow images), or ``(height, width)``.

    Returns
    -------
    list of (y0, y1, x0, x1)
        ``[left_eye, right_eye, left_lip_corner, right_lip_corner]`` in integer pixels, each half
        the side square (14x14 at 28, as HTNet's patches); left/right exact mirrors.

    Examples
    --------
    >>> htnet_regions(28)
    [(4, 18, 1, 15), (4, 18, 13, 27), (14, 28, 2, 16), (14, 28, 12, 26)]
    """
    h, w = _hw(size, "htnet_regions")
    return _boxes(HTNET_REGION_TABLE, h, w)


def region_names(kind: str = "mdmo") -> list[str]:
    """Names of the boxes :func:`mdmo_regions` (``"mdmo"``) or :func:`htnet_regions` (``"htnet"``)
    return, in their order (``brow_inner_left``, ``brow_inner_right``, ..., ``chin``)."""
    tables = {"mdmo": MDMO_ROI_TABLE, "htnet": HTNET_REGION_TABLE}
    if kind not in tables:
        raise SrmerError(f"region_names: kind={kind!r}; use 'mdmo' or 'htnet'")
    return _names(tables[kind])
