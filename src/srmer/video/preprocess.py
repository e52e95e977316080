"""The papers' HR pre-processing of one clip: face crop -> resize -> temporal normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np

from srmer.degrade.imresize import resize_clip
from srmer.errors import ConfigError
from srmer.video.face import crop_faces
from srmer.video.temporal import linear_interpolate, tim_interpolate

__all__ = ["preprocess_clip"]


def preprocess_clip(
    clip: np.ndarray,
    size: int = 256,
    crop: bool = False,
    margin: float = 0.15,
    frames: int | str | None = None,
    temporal: str = "tim",
    clip_id: str = "(clip)",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Bring a raw clip to the HR form the benchmark degrades (Zhou et al., section II-A).

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey uint8, onset first.
    size : int
        Output side (256 in Zhou et al.).
    crop : bool
        Detect and crop the face (box fixed from the onset frame, :func:`crop_faces`); leave
        False for datasets' cropped releases and for the synthetic data.
    margin : float
        Crop margin (fraction of the detection side on each side).
    frames : int or "all" or None
        Temporal normalisation to this many frames (e.g. 16 for TIM-16 sequences); ``None`` or
        ``"all"`` keeps every frame.
    temporal : {"tim", "linear"}
        Interpolation used when ``frames`` is set.
    clip_id : str
        Name used in error messages.

    Returns
    -------
    clip : ndarray
        ``(T', size, size[, 3])`` uint8.
    info : dict
        ``{"temporal": "tim" | "linear" | None, "temporal_note": str}``: whether TIM fell back
        to linear interpolation (duplicated frames), for the run report.

    Raises
    ------
    NoFaceError
        ``crop=True`` and no face was found.
    ConfigError
        Unknown ``temporal`` method.
    """
    if temporal not in ("tim", "linear"):
        raise ConfigError(f"preprocess.temporal must be 'tim' or 'linear', got {temporal!r}")
    info: dict[str, Any] = {"temporal": None, "temporal_note": ""}
    if crop:
        clip = crop_faces(clip, size=size, margin=margin, clip_id=clip_id)
    elif clip.shape[1:3] != (size, size):
        clip = resize_clip(clip, size)
    if frames is not None and frames != "all":
        n = int(frames)
        if temporal == "tim":
            import warnings

            from srmer.video.temporal import TIMRankWarning

            with warnings.catch_warnings():
                # the fallback is reported through ``info`` instead of a warning per clip
                warnings.simplefilter("ignore", TIMRankWarning)
                clip, tinfo = tim_interpolate(clip, n, return_info=True)
            info["temporal"] = tinfo["method"]
            info["temporal_note"] = tinfo["reason"]
        else:
            clip = linear_interpolate(clip, n)
            info["temporal"] = "linear"
    return clip, info
