"""Registry of dataset loaders behind :func:`srmer.data.load`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.errors import DatasetError, UnknownMethodError

Loader = Callable[..., SampleSet]

# name -> ("module:function", one-line description); modules are imported lazily so one broken
# optional dependency never breaks the others.
DATASETS: dict[str, tuple[str, str]] = {
    "casme2": (
        "srmer.data.casme2:load_casme2",
        "CASME II (26 subjects, 200 fps), official layout and coding sheet",
    ),
    "samm": (
        "srmer.data.samm:load_samm",
        "SAMM (32 subjects, 200 fps, grey), SAMM/006/006_1_2 frames + MICRO_ONLY sheet",
    ),
    "smic": (
        "srmer.data.smic:load_smic",
        "SMIC-HS (16 subjects, 100 fps), HS/s1/micro/<class>/<clip> folders",
    ),
    "casme3": (
        "srmer.data.casme3:load_casme3",
        "CAS(ME)^3 part A (30 fps), label sheet + spNO.X/<video>/color frames",
    ),
    "rafdb": (
        "srmer.data.rafdb:load_rafdb",
        "RAF-DB basic (static 7-class FER), aligned faces + label list",
    ),
}


#: the class map used when none is given: seed 000's 4class for the micro-expression sets,
#: the 7 basic expressions for RAF-DB
DEFAULT_CLASS_MAP: dict[str, str] = {"rafdb": "7class"}


def register_dataset(name: str, target: str, description: str) -> None:
    """Register a loader given as ``"module:function"``."""
    DATASETS[name] = (target, description)


def get_loader(name: str) -> Loader:
    """The loader function registered under ``name``."""
    if name not in DATASETS:
        raise UnknownMethodError("dataset", name, list(DATASETS))
    module, func = DATASETS[name][0].split(":")
    return getattr(importlib.import_module(module), func)


def load(name: str, root: str | Path, classes: str | None = None, **options) -> SampleSet:
    """Load a dataset from its official layout.

    Parameters
    ----------
    name : str
        Registered dataset name (``srmer list`` shows them).
    root : str or Path
        The dataset's root folder as distributed (e.g. the folder holding ``CASME2_RAW_selected``
        and the coding sheet).
    classes : str, optional
        Class map: ``4class``, ``5class``, ``megc3``, ``7class`` or ``raw``; default ``4class``
        (``7class`` for RAF-DB).
    **options
        Loader-specific options.

    Returns
    -------
    SampleSet
        The usable clips, class names and the clips skipped with reasons.
    """
    loader = get_loader(name)
    root = Path(root)
    if not root.exists():
        raise DatasetError(
            f"dataset root {root} does not exist; pass the folder of your {name} copy "
            f"(or run `srmer demo` to generate the synthetic one)"
        )
    if classes is None:
        classes = DEFAULT_CLASS_MAP.get(name, "4class")
    return loader(root, classes=classes, **options)
