"""Registry of MER methods: name -> class, imported lazily."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from srmer.mer.base import MERMethod
from srmer.registry import Registry

__all__ = ["MER_METHODS", "create", "get_class", "method_options"]


def method_options(cls: type[MERMethod]) -> tuple[dict[str, Any], bool] | None:
    """Option names and defaults of a MER class, read from its declared defaults.

    Descriptor methods declare ``descriptor_defaults`` (plus the shared classifier options) and
    accept nothing else; network methods declare ``represent_defaults`` and ``train_defaults``
    (and accept further training settings such as ``device``); feature-SR wrappers declare
    ``fsr_defaults`` (their base method's options pass through).

    Parameters
    ----------
    cls : type
        A :class:`~srmer.mer.base.MERMethod` subclass.

    Returns
    -------
    tuple of (dict, bool) or None
        ``(options, accepts_more)``, or ``None`` when the class declares nothing (the registry
        then reads the signature).
    """
    if isinstance(getattr(cls, "fsr_defaults", None), Mapping):
        return dict(cls.fsr_defaults), True  # type: ignore[attr-defined]
    if isinstance(getattr(cls, "descriptor_defaults", None), Mapping):
        from srmer.mer.descriptors import CLASSIFIER_DEFAULTS

        return {**cls.descriptor_defaults, **CLASSIFIER_DEFAULTS}, False  # type: ignore[attr-defined]
    found: dict[str, Any] = {}
    declared = False
    for attr in ("represent_defaults", "train_defaults"):
        value = getattr(cls, attr, None)
        if isinstance(value, Mapping):
            declared = True
            found.update(value)
    return (found, True) if declared else None


#: name -> MER class from ``"module:Class"``; descriptions live on the classes (``srmer list``).
#: Constructors only check their options, so :meth:`Registry.validate` builds them.
MER_METHODS = Registry("MER method", options_of=method_options)
for _name, _target in {
    "lbptop": "srmer.mer.descriptors:LBPTOP",
    "lbpsip": "srmer.mer.descriptors:LBPSIP",
    "lpqtop": "srmer.mer.descriptors:LPQTOP",
    "hog3d": "srmer.mer.descriptors:HOG3D",
    "hogtop": "srmer.mer.descriptors:HOGTOP",
    "higotop": "srmer.mer.descriptors:HIGOTOP",
    "mdmo": "srmer.mer.descriptors:MDMO",
    "ststnet": "srmer.mer.deep:STSTNetMER",
    "offapexnet": "srmer.mer.deep:OffApexNetMER",
    "dualinception": "srmer.mer.deep:DualInceptionMER",
    "rcna": "srmer.mer.deep:RCNAMER",
    "featref": "srmer.mer.deep:FeatRefMER",
    "resnet3d": "srmer.mer.deep:ResNet3DMER",
    "htnet": "srmer.mer.deep:HTNetMER",
    "mmnet": "srmer.mer.deep:MMNetMER",
}.items():
    MER_METHODS.register(_name, _target)
del _name, _target


def get_class(name: str) -> type[MERMethod]:
    """The MER class registered under ``name``.

    Raises
    ------
    UnknownMethodError
        ``name`` is not registered.
    RegistryImportError
        Its module failed to import (the message names the module and the error).
    """
    return MER_METHODS.get(name)


def create(name: str, **params: Any) -> MERMethod:
    """Instantiate the MER method ``name`` with its parameters (the class checks them)."""
    return MER_METHODS.get(name)(**params)
