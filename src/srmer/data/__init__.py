"""Datasets: :class:`Sample` lists from the official layouts, class maps and the synthetic generator.

>>> import srmer
>>> samples = srmer.data.load("casme2", root, classes="4class")  # doctest: +SKIP
"""

from __future__ import annotations

from srmer.data.classmaps import CLASS_MAPS, ClassMap
from srmer.data.registry import DATASETS, load, register_dataset
from srmer.data.sample import Sample, SampleSet, Skipped

__all__ = [
    "CLASS_MAPS",
    "DATASETS",
    "ClassMap",
    "Sample",
    "SampleSet",
    "Skipped",
    "load",
    "register_dataset",
]


def __getattr__(name: str):
    """Sub-modules (``synthetic, check, sheets, casme2, samm, smic, casme3, rafdb, composite``) import on first access, like the top-level package."""
    if name in (
        "synthetic",
        "check",
        "sheets",
        "casme2",
        "samm",
        "smic",
        "casme3",
        "rafdb",
        "composite",
    ):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
