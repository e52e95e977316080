"""Super-resolution: architectures, checkpoint loading, training, inference and benchmark SR methods.

Heavy parts (torch models) are imported lazily so that ``import srmer.sr`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from srmer.sr.methods import SR_METHODS, SRMethod, get_method

__all__ = [
    "SR_METHODS",
    "Cascade",
    "SRMethod",
    "create",
    "get_method",
    "list_archs",
    "load_checkpoint",
    "save_checkpoint",
    "scale_support",
    "scale_support_string",
    "train_sr",
    "upscale",
    "upscale_path",
]

_LAZY = {
    "Cascade": "srmer.sr.registry",
    "create": "srmer.sr.registry",
    "list_archs": "srmer.sr.registry",
    "scale_support": "srmer.sr.registry",
    "scale_support_string": "srmer.sr.registry",
    "load_checkpoint": "srmer.sr.checkpoint",
    "save_checkpoint": "srmer.sr.checkpoint",
    "upscale": "srmer.sr.infer",
    "upscale_path": "srmer.sr.infer",
    "train_sr": "srmer.sr.train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srmer.sr' has no attribute {name!r}")
