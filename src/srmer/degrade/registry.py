"""Registry of clip degradations: the names a config's ``degradation:`` entry can use."""

from __future__ import annotations

from typing import Any

from srmer.degrade.models import (
    BicubicDegradation,
    BlurNoiseDegradation,
    Degradation,
    JpegDegradation,
)
from srmer.degrade.realesrgan import REALESRGAN_DEFAULTS, RealESRGANDegradation
from srmer.errors import ConfigError
from srmer.registry import Registry

__all__ = ["DEGRADATIONS", "describe_degradations", "get_degradation"]

#: name -> class (``DEGRADATIONS[name]`` is the class, ``DEGRADATIONS.description(name)`` its line)
DEGRADATIONS = Registry("degradation", term="parameter")
DEGRADATIONS.register("bicubic", BicubicDegradation, BicubicDegradation.description, options={})
for _cls in (BlurNoiseDegradation, JpegDegradation):
    DEGRADATIONS.register(_cls.name, _cls, _cls.description)
DEGRADATIONS.register(
    RealESRGANDegradation.name,
    RealESRGANDegradation,
    RealESRGANDegradation.description,
    options=REALESRGAN_DEFAULTS,
)
del _cls


def describe_degradations() -> dict[str, str]:
    """Name -> one-line description of every registered degradation (for ``srmer list``)."""
    return {name: DEGRADATIONS.description(name) for name in DEGRADATIONS}


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
    try:
        return DEGRADATIONS.create(name, **params)  # unknown names/options: a clear message
    except TypeError as exc:  # a parameter of the wrong type
        raise ConfigError(f"degradation {name!r}: {exc}") from exc
