"""Video: frame I/O, face detection and cropping, temporal normalisation (TIM, linear), apex helpers."""

from srmer.video.apex import middle_apex, motion_apex, motion_curve
from srmer.video.face import Box, NoFaceError, crop_box, crop_faces, detect_face, face_box
from srmer.video.preprocess import preprocess_clip
from srmer.video.temporal import TIMRankWarning, linear_interpolate, tim_interpolate

__all__ = [
    "Box",
    "NoFaceError",
    "TIMRankWarning",
    "crop_box",
    "crop_faces",
    "detect_face",
    "face_box",
    "linear_interpolate",
    "middle_apex",
    "motion_apex",
    "motion_curve",
    "preprocess_clip",
    "tim_interpolate",
]


def __getattr__(name: str):
    """Sub-modules (``io, face, temporal, apex, preprocess``) import on first access, like the top-level package."""
    if name in ("io", "face", "temporal", "apex", "preprocess"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
