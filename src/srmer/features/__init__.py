"""Hand-crafted spatio-temporal descriptors and optical flow.

Descriptors are plain functions of a grey ``(T, H, W)`` volume returning a float32 vector
(scikit-image style): :func:`lbp_top`, :func:`lbp_sip`, :func:`lpq_top`, :func:`hog3d`,
:func:`hog_top`, :func:`higo_top`, and the flow-based :func:`mdmo` with its landmark-free regions
(:func:`mdmo_regions`, :func:`htnet_regions`, in :mod:`srmer.features.regions`). The optical-flow
functions (``tvl1_flow``, ``optical_strain``, ``flow_images``, ``FLOW_CHANNELS``) live in
:mod:`srmer.features.flow` and are imported on first use, so the descriptors never pay for (or
break on) the flow module's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

from srmer.features._common import DescriptorInputError
from srmer.features.hog import higo_top, hog3d, hog_top
from srmer.features.lbp import lbp_sip, lbp_top, mapping_table
from srmer.features.lpqtop import lpq, lpq_decorrelation, lpq_top
from srmer.features.mdmo import mdmo
from srmer.features.regions import htnet_regions, mdmo_regions

_LAZY = {
    "tvl1_flow": "srmer.features.flow",
    "optical_strain": "srmer.features.flow",
    "flow_images": "srmer.features.flow",
    "FLOW_CHANNELS": "srmer.features.flow",
}

__all__ = [
    "DescriptorInputError",
    "higo_top",
    "hog3d",
    "hog_top",
    "htnet_regions",
    "lbp_sip",
    "lbp_top",
    "lpq",
    "lpq_decorrelation",
    "lpq_top",
    "mapping_table",
    "mdmo",
    "mdmo_regions",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srmer.features' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
