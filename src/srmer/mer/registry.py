"""Registry of MER methods: name -> class, imported lazily."""

from __future__ import annotations

import importlib
from typing import Any

from srmer.errors import UnknownMethodError
from srmer.mer.base import MERMethod

# name -> "module:Class"; descriptions live on the classes (shown by `srmer list`).
MER_METHODS: dict[str, str] = {
    "lbptop": "srmer.mer.descriptors:LBPTOP",
    "lbpsip": "srmer.mer.descriptors:LBPSIP",
    "lpqtop": "srmer.mer.descriptors:LPQTOP",
    "hog3d": "srmer.mer.descriptors:HOG3D",
    "hogtop": "srmer.mer.descriptors:HOGTOP",
    "higotop": "srmer.mer.descriptors:HIGOTOP",
    "ststnet": "srmer.mer.deep:STSTNetMER",
    "offapexnet": "srmer.mer.deep:OffApexNetMER",
    "dualinception": "srmer.mer.deep:DualInceptionMER",
    "rcna": "srmer.mer.deep:RCNAMER",
    "featref": "srmer.mer.deep:FeatRefMER",
    "resnet3d": "srmer.mer.deep:ResNet3DMER",
}


def get_class(name: str) -> type[MERMethod]:
    """The MER class registered under ``name``."""
    if name not in MER_METHODS:
        raise UnknownMethodError("MER method", name, list(MER_METHODS))
    module, cls = MER_METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def create(name: str, **params: Any) -> MERMethod:
    """Instantiate the MER method ``name`` with its parameters."""
    return get_class(name)(**params)
