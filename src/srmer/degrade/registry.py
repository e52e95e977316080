"""Registry of clip degradations: the names a config's ``degradation:`` entry can use."""

from __future__ import annotations

from typing import Any

from srmer.degrade.models import (
    BicubicDegradation,
    BlurNoiseDegradation,
    Degradation,
    JpegDegradation,
)
from srmer.degrade.realesrgan import RealESRGANDegradation
from srmer.errors import ConfigError, UnknownMethodError

__all__ = ["DEGRADATIONS", "describe_degradations", "get_degradation"]

#: name -> class; ``DEGRADATIONS[name].description`` is the one-line description.
DEGRADATIONS: dict[str, type[Degradation]] = {
    "bicubic": BicubicDegradation,
    "blur_noise": BlurNoiseDegradation,
    "jpeg": JpegDegradation,
    "realesrgan": RealESRGANDegradation,
}


def describe_degradations() -> dict[str, str]:
    """Name -> one-line description of every registered degradation (for ``srmer list``)."""
    return {name: cls.description for name, cls in DEGRADATIONS.items()}


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
