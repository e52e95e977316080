"""Face detection and per-clip face cropping for uncropped frames.

Detector: the OpenCV LBP frontal-face cascade (``lbpcascade_frontalface_opencv.xml``) that
scikit-image ships in ``skimage/data``, run by :class:`skimage.feature.Cascade`. Why this one:
nothing may be downloaded, and of the detectors inside packages we already install it is the
only one that works here. OpenCV 5 wheels no longer carry the Haar cascade files
(``cv2.data.haarcascades`` is empty), OpenCV 5's ``CascadeClassifier`` does not load the old
cascade format, and YuNet (``cv2.FaceDetectorYN``) needs an ONNX model that is not in the wheel.

The papers crop with a box found once per clip (on the onset frame) and keep it for every frame,
so head motion inside the clip stays in the crop; :func:`crop_faces` does the same.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import cv2
import numpy as np

from srmer.degrade.imresize import resize_clip
from srmer.errors import ClipError, SrmerError

__all__ = ["Box", "NoFaceError", "crop_box", "crop_faces", "detect_face", "face_box"]

#: detections run on frames whose longer side is at most this many pixels (speed; the cascade's
#: 24-px base window still finds faces down to ~1/10 of the frame)
_DETECT_MAX_SIDE = 640


class Box(NamedTuple):
    """A box in pixel coordinates: rows ``top:top+height``, columns ``left:left+width``."""

    top: int
    left: int
    height: int
    width: int


class NoFaceError(ClipError):
    """No face was found in the frames searched."""


@functools.lru_cache(maxsize=1)
def _cascade():
    from skimage import data
    from skimage.feature import Cascade

    return Cascade(data.lbp_frontal_face_cascade_filename())


def _grey_u8(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame)
    if f.dtype != np.uint8:
        f = np.clip(np.rint(f), 0, 255).astype(np.uint8)
    if f.ndim == 3 and f.shape[2] == 3:
        f = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY)
    elif f.ndim == 3 and f.shape[2] == 1:
        f = f[..., 0]
    if f.ndim != 2:
        raise SrmerError(f"detect_face: expected an (H, W) or (H, W, 3) frame, got {frame.shape}")
    return np.ascontiguousarray(f)


def detect_face(frame: np.ndarray, min_size: int | None = None) -> Box | None:
    """Find the largest frontal face in one frame.

    Parameters
    ----------
    frame : ndarray
        ``(H, W, 3)`` RGB or ``(H, W)`` grey, uint8 (float is rounded to 0..255).
    min_size : int, optional
        Smallest face side to look for, in pixels of ``frame``; default ``min(H, W) // 10``.

    Returns
    -------
    Box or None
        The square detection (the cascade's box spans roughly brows to chin), or ``None`` when
        no face is found.

    Notes
    -----
    The frame is turned grey, shrunk so its longer side is at most 640 px, histogram-equalised
    (lighting robustness) and scanned at scale steps of 1.1. A strict pass (at least 2
    overlapping raw detections per face) runs first; if it finds nothing, a lenient pass
    (1 detection) follows. The largest face wins: these are single-subject recordings.
    """
    g = _grey_u8(frame)
    h, w = g.shape
    s = min(1.0, _DETECT_MAX_SIDE / max(h, w))
    if s < 1.0:
        g = cv2.resize(
            g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
    g = cv2.equalizeHist(g)
    gh, gw = g.shape
    lo = max(24, int((min_size if min_size is not None else min(h, w) // 10) * s))
    hi = min(gh, gw)
    if lo > hi:
        return None
    dets: list[dict] = []
    for neighbours in (2, 1):
        dets = _cascade().detect_multi_scale(
            img=g,
            scale_factor=1.1,
            step_ratio=1,
            min_size=(lo, lo),
            max_size=(hi, hi),
            min_neighbor_number=neighbours,
        )
        if dets:
            break
    if not dets:
        return None
    d = max(dets, key=lambda b: b["width"] * b["height"])
    return Box(round(d["r"] / s), round(d["c"] / s), round(d["height"] / s), round(d["width"] / s))


def face_box(det: Box, margin: float = 0.15) -> Box:
    """Square crop box around a detection, enlarged by ``margin`` times its side on each side.

    Parameters
    ----------
    det : Box
        A detection from :func:`detect_face`.
    margin : float
        Fraction of the detection side added on every side (0.15: side x 1.3).

    Returns
    -------
    Box
        Square box with the detection's centre (may extend past the frame; :func:`crop_box`
        handles that).
    """
    if margin < 0:
        raise SrmerError(f"face_box: margin must be >= 0, got {margin}")
    side = max(det.height, det.width)
    cy = det.top + det.height / 2.0
    cx = det.left + det.width / 2.0
    new = round(side * (1 + 2 * margin))
    return Box(round(cy - new / 2.0), round(cx - new / 2.0), new, new)


def crop_box(clip: np.ndarray, box: Box) -> np.ndarray:
    """Cut the same box out of every frame.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W[, C])``.
    box : Box
        Crop box; if it sticks out of the frame it is first shifted inside, and only a box
        larger than the frame is padded (edge pixels repeated).

    Returns
    -------
    ndarray
        ``(T, box.height, box.width[, C])``, same dtype.
    """
    h, w = clip.shape[1:3]
    top, left, bh, bw = box
    if bh <= h:
        top = min(max(top, 0), h - bh)
    if bw <= w:
        left = min(max(left, 0), w - bw)
    pt, pl = max(0, -top), max(0, -left)
    pb, pr = max(0, top + bh - h), max(0, left + bw - w)
    if pt or pl or pb or pr:
        pad = [(0, 0), (pt, pb), (pl, pr)] + [(0, 0)] * (clip.ndim - 3)
        clip = np.pad(clip, pad, mode="edge")
        top, left = top + pt, left + pl
    return clip[:, top : top + bh, left : left + bw]


def crop_faces(
    clip: np.ndarray,
    size: int = 256,
    margin: float = 0.15,
    reference: int = 0,
    box: Box | None = None,
    clip_id: str = "(clip)",
    search_more: bool = True,
) -> np.ndarray:
    """Crop the face out of an uncropped clip with one box for all frames, and resize it.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8; frame ``reference`` is the onset.
    size : int
        Output side (the papers use 256).
    margin : float
        See :func:`face_box`.
    reference : int
        Frame the box is detected on (0: the onset frame, as the papers do).
    box : Box, optional
        A known crop box (skips detection).
    clip_id : str
        Name used in the error message.
    search_more : bool
        If no face is found on the reference frame, also try the middle and last frames
        before giving up (a blink or motion blur on the onset frame can hide the face).

    Returns
    -------
    ndarray
        ``(T, size, size[, 3])`` uint8: the crop resized with MATLAB bicubic.

    Raises
    ------
    NoFaceError
        No face found (a :class:`~srmer.errors.ClipError`: loaders skip and report the clip).
    """
    clip = np.asarray(clip)
    if clip.ndim not in (3, 4) or clip.shape[0] == 0:
        raise SrmerError(f"crop_faces: expected a clip (T, H, W[, 3]), got shape {clip.shape}")
    if box is None:
        t_n = clip.shape[0]
        order = [reference % t_n]
        if search_more:
            order += [i for i in (t_n // 2, t_n - 1) if i not in order]
        det = None
        for i in order:
            det = detect_face(clip[i])
            if det is not None:
                break
        if det is None:
            raise NoFaceError(
                clip_id,
                f"no face found on frame(s) {order} by the LBP frontal-face cascade",
                "check that the frames show a frontal face, crop the clip yourself, "
                "or use the dataset's cropped release",
            )
        box = face_box(det, margin)
    return resize_clip(crop_box(clip, box), size)
