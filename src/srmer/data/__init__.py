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
