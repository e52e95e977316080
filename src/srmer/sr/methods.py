"""SR methods as the benchmark uses them: LR clip in, restored clip out.

``none`` keeps the LR clip (MER at the low resolution, Zhou et al.'s "Bicubic mxm" rows); ``bicubic``
is Zhou et al.'s Bicubic_restore (MATLAB bicubic back to the HR size). Learned methods (``srmer.sr``'s
architectures, trained or loaded from a checkpoint) register here too.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from srmer.registry import Registry


class SRMethod(ABC):
    """Base class of benchmark SR methods.

    Subclasses take their options as keyword arguments and implement :meth:`upscale`.
    """

    name: ClassVar[str] = ""
    #: the papers' spelling, used in tables and the report (``"Real-ESRGAN"`` for ``realesrgan``)
    display_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: "none", "interpolation", "image", "video" or "feature"
    kind: ClassVar[str] = "image"
    #: bump when outputs change, so cached SR clips are recomputed
    version: ClassVar[int] = 1

    def __init__(self, **options: Any) -> None:
        self.options = options

    #: whether :meth:`prepare` must run (e.g. training on the SR pool) before :meth:`upscale`
    needs_preparation: ClassVar[bool] = False

    def prepare(self, **context: Any) -> None:  # noqa: B027 - optional hook
        """Train or load what the method needs (``context`` gives the SR training pool, device, cache)."""

    @abstractmethod
    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        """Restore a low-resolution clip.

        Parameters
        ----------
        clip : ndarray
            ``(T, h, w, 3)`` RGB or ``(T, h, w)`` grey, uint8.
        size : int
            Target side (e.g. 256); the output is ``(T, size, size[, 3])`` uint8. ``none`` ignores it.
        """

    def cache_params(self) -> dict[str, Any]:
        """Options that determine the output (for cache keys)."""
        return dict(self.options)


class NoSR(SRMethod):
    """Recognise on the LR clip itself (Zhou et al.'s "Bicubic mxm" rows: only the down-sampling)."""

    name = "none"
    display_name = "Bicubic"
    description = "no SR: recognise at the low resolution (the 'Bicubic mxm' rows of Zhou et al.)"
    kind = "none"
    defaults: ClassVar[dict[str, Any]] = {}

    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        return clip


class BicubicRestore(SRMethod):
    """Bicubic_restore of Zhou et al.: MATLAB-compatible bicubic interpolation back to the HR size."""

    name = "bicubic"
    display_name = "Bicubic_restore"
    description = "Bicubic_restore: MATLAB-compatible bicubic up-sampling to the HR size"
    kind = "interpolation"
    defaults: ClassVar[dict[str, Any]] = {}

    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        from srmer.degrade import resize_clip

        return resize_clip(clip, size)


#: name -> SR method class, imported lazily from ``"module:Class"`` (``fsr`` lives in the MER layer,
#: :mod:`srmer.mer.fsr`, and is named by string only: no upward import). Classes declare their
#: options in a ``defaults`` dict (name -> default) for ``srmer list``; constructors only check options.
SR_METHODS = Registry("SR method")
for _name, _target in {
    "none": "srmer.sr.methods:NoSR",
    "bicubic": "srmer.sr.methods:BicubicRestore",
    "srcnn": "srmer.sr.learned:SRCNNMethod",
    "srgan": "srmer.sr.learned:SRGANMethod",
    "edsr": "srmer.sr.learned:EDSRMethod",
    "esrgan": "srmer.sr.learned:ESRGANMethod",
    "nesrganplus": "srmer.sr.learned:NESRGANPlusMethod",
    "rdn": "srmer.sr.learned:RDNMethod",
    "realesrgan": "srmer.sr.learned:RealESRGANMethod",
    "rcan": "srmer.sr.learned:RCANMethod",
    "metasr": "srmer.sr.learned:MetaSRMethod",
    "glean": "srmer.sr.learned:GLEANMethod",
    "swinir": "srmer.sr.learned:SwinIRMethod",
    "hat": "srmer.sr.learned:HATMethod",
    "gfpgan": "srmer.sr.face_restoration:GFPGANMethod",
    "codeformer": "srmer.sr.face_restoration:CodeFormerMethod",
    "edvr": "srmer.sr.video:EDVRMethod",
    "basicvsr": "srmer.sr.video:BasicVSRMethod",
    "iconvsr": "srmer.sr.video:IconVSRMethod",
    "basicvsrpp": "srmer.sr.video:BasicVSRPPMethod",
    "realbasicvsr": "srmer.sr.video:RealBasicVSRMethod",
    "fsr": "srmer.mer.fsr:FeatureSR",
}.items():
    SR_METHODS.register(_name, _target)
del _name, _target


def get_method_class(name: str) -> type[SRMethod]:
    """The SR method class registered under ``name``.

    Raises
    ------
    UnknownMethodError
        ``name`` is not registered.
    RegistryImportError
        Its module failed to import (the message names the module and the error).
    """
    return SR_METHODS.get(name)


def get_method(name: str, **options: Any) -> SRMethod:
    """Instantiate the benchmark SR method ``name`` with its options."""
    return SR_METHODS.create(name, **options)
