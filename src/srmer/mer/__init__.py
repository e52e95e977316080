"""Micro-expression recognition methods: descriptor + SVM pipelines, deep networks, feature SR.

The feature-SR wrappers (:mod:`srmer.mer.fsr`: ``FSRMER``, ``FeatureSR``, ``FSREstimator``,
``make_fsr_mer``) are imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from srmer.mer.base import MERMethod
from srmer.mer.registry import MER_METHODS, create, get_class

__all__ = [
    "FSRMER",
    "MER_METHODS",
    "FSREstimator",
    "FeatureSR",
    "MERMethod",
    "create",
    "get_class",
    "make_fsr_mer",
]

_LAZY = {
    "FSRMER": "srmer.mer.fsr",
    "FSREstimator": "srmer.mer.fsr",
    "FeatureSR": "srmer.mer.fsr",
    "make_fsr_mer": "srmer.mer.fsr",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srmer.mer' has no attribute {name!r}")
