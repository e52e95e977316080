"""Seeded clip degradations (HR clip -> LR clip) and their registry.

Each degradation is a class with ``degrade(clip, size, seed) -> clip`` taking a uint8 clip
``(T, H, W[, 3])`` and returning ``(T, size, size[, 3])`` uint8. Random parameters are drawn
ONCE per clip from ``numpy.random.default_rng(seed)`` and applied to every frame (a camera does
not change its blur or compression from frame to frame, and a per-frame draw would add a
temporal flicker that micro-expression features would pick up); per-pixel noise is drawn
independently for every frame, like sensor noise. The same seed gives the same output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from srmer.degrade.imresize import resize_clip
from srmer.errors import ConfigError, UnknownMethodError

__all__ = [
    "DEGRADATIONS",
    "BicubicDegradation",
    "Degradation",
    "bicubic_degrade",
    "get_degradation",
]


def _check_clip(clip: np.ndarray, name: str) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.dtype != np.uint8 or clip.ndim not in (3, 4) or (clip.ndim == 4 and clip.shape[3] != 3):
        raise ConfigError(
            f"degradation {name!r}: expected a uint8 clip (T, H, W) or (T, H, W, 3), "
            f"got {clip.dtype} {clip.shape}"
        )
    return clip


class Degradation(ABC):
    """Base class: a seeded HR -> LR clip degradation.

    Subclasses declare ``name`` and ``description``, take their parameters as keyword
    arguments (validated in ``__init__``) and implement :meth:`_degrade`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: bump when outputs change, so cached LR clips are recomputed
    version: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        if params:
            raise ConfigError(
                f"degradation {self.name!r} takes no parameter(s) {sorted(params)}; "
                "remove them from the config's degradation entry"
            )
        self.params: dict[str, Any] = {}

    def degrade(self, clip: np.ndarray, size: int, seed: int | None = 0) -> np.ndarray:
        """Degrade a clip.

        Parameters
        ----------
        clip : ndarray
            ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grey, uint8.
        size : int
            Output side (e.g. 16, 32, 64, 128).
        seed : int or None
            Seed of the clip's random draws (the benchmark derives it from the config seed and
            the clip id); ignored by deterministic degradations.

        Returns
        -------
        ndarray
            ``(T, size, size[, 3])`` uint8.
        """
        clip = _check_clip(clip, self.name)
        if int(size) < 1:
            raise ConfigError(f"degradation {self.name!r}: size must be positive, got {size}")
        out = self._degrade(clip, int(size), np.random.default_rng(seed))
        assert out.dtype == np.uint8 and out.shape == (clip.shape[0], size, size, *clip.shape[3:])
        return out

    __call__ = degrade

    @abstractmethod
    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray: ...

    def cache_params(self) -> dict[str, Any]:
        """Everything that determines the output (for cache keys)."""
        return {"name": self.name, "version": self.version, **self.params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class BicubicDegradation(Degradation):
    """Seed 000's degradation: MATLAB bicubic downsampling (antialiased) of every frame.

    Deterministic; the seed is ignored.
    """

    name = "bicubic"
    description = "MATLAB-compatible bicubic downsampling (seed 000)"

    def _degrade(self, clip: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
        return resize_clip(clip, size)


def bicubic_degrade(clip: np.ndarray, size: int) -> np.ndarray:
    """Seed 000's LR clip: MATLAB bicubic (antialiased) down to ``size`` x ``size``.

    Parameters
    ----------
    clip : ndarray
        ``(T, H, W, 3)`` or ``(T, H, W)`` uint8.
    size : int
        Output side.

    Returns
    -------
    ndarray
        ``(T, size, size[, 3])`` uint8.
    """
    return BicubicDegradation().degrade(clip, size)


#: name -> class; ``DEGRADATIONS[name].description`` is the one-line description.
DEGRADATIONS: dict[str, type[Degradation]] = {
    "bicubic": BicubicDegradation,
}


def get_degradation(spec: str | dict[str, Any] | Degradation) -> Degradation:
    """Build a degradation from a config entry.

    Parameters
    ----------
    spec : str or dict or Degradation
        A registered name (``"bicubic"``), or a mapping ``{"name": ..., **params}`` (e.g.
        ``{"name": "blur_noise", "blur_sigma": 1.6, "noise_sigma": 5}``).

    Returns
    -------
    Degradation

    Raises
    ------
    UnknownMethodError
        Unknown name.
    ConfigError
        Missing name or a bad parameter (the message names it).
    """
    if isinstance(spec, Degradation):
        return spec
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(
                f"degradation entry {spec!r} has no 'name'; write e.g. {{name: bicubic}}"
            )
    else:
        raise ConfigError(f"degradation must be a name or a mapping, got {spec!r}")
    if name not in DEGRADATIONS:
        raise UnknownMethodError("degradation", name, list(DEGRADATIONS))
    try:
        return DEGRADATIONS[name](**params)
    except TypeError as exc:  # unexpected keyword
        raise ConfigError(f"degradation {name!r}: {exc}") from exc
