"""Degradations: MATLAB-compatible bicubic resizing and the LR models of the papers.

``imresize`` / ``resize_clip`` reproduce MATLAB's ``imresize`` (every SR paper's "Bicubic");
``DEGRADATIONS`` / ``get_degradation`` give the seeded clip degradations a config's
``degradation:`` entry names.
"""

from srmer.degrade.imresize import cubic, imresize, resize_clip, resize_weights
from srmer.degrade.models import (
    DEGRADATIONS,
    BicubicDegradation,
    Degradation,
    bicubic_degrade,
    get_degradation,
)

__all__ = [
    "DEGRADATIONS",
    "BicubicDegradation",
    "Degradation",
    "bicubic_degrade",
    "cubic",
    "get_degradation",
    "imresize",
    "resize_clip",
    "resize_weights",
]
