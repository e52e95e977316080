"""Degradations: MATLAB-compatible bicubic resizing and the LR models of the papers.

``imresize`` / ``resize_clip`` reproduce MATLAB's ``imresize`` (every SR paper's "Bicubic");
``DEGRADATIONS`` / ``get_degradation`` give the seeded clip degradations a config's
``degradation:`` entry names: ``bicubic`` (Zhou et al.), ``blur_noise`` (Sharma et al.), ``jpeg`` and
``realesrgan``. Each has ``degrade(clip, size, seed) -> clip``.
"""

from srmer.degrade.imresize import cubic, imresize, resize_clip, resize_weights
from srmer.degrade.models import (
    BicubicDegradation,
    BlurNoiseDegradation,
    Degradation,
    JpegDegradation,
    bicubic_degrade,
)
from srmer.degrade.realesrgan import REALESRGAN_DEFAULTS, RealESRGANDegradation
from srmer.degrade.registry import DEGRADATIONS, describe_degradations, get_degradation

__all__ = [
    "DEGRADATIONS",
    "REALESRGAN_DEFAULTS",
    "BicubicDegradation",
    "BlurNoiseDegradation",
    "Degradation",
    "JpegDegradation",
    "RealESRGANDegradation",
    "bicubic_degrade",
    "cubic",
    "describe_degradations",
    "get_degradation",
    "imresize",
    "resize_clip",
    "resize_weights",
]
