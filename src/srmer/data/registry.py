"""Registry of dataset loaders behind :func:`srmer.data.load`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.errors import DatasetError
from srmer.registry import Entry, Registry

__all__ = ["DATASETS", "DEFAULT_CLASS_MAP", "Entry", "get_loader", "load", "register_dataset"]

Loader = Callable[..., SampleSet]

#: name -> loader ``"module:function"``; modules are imported lazily so one broken optional
#: dependency never breaks the others (a broken module raises a clear error naming it).
#: ``DATASETS.items()`` gives ``(name, Entry(target, description))`` without importing anything.
DATASETS = Registry("dataset", skip=("root", "classes"), cheap=False)
DATASETS.register(
    "casme2",
    "srmer.data.casme2:load_casme2",
    "CASME II (26 subjects, 200 fps), official layout and coding sheet",
)
DATASETS.register(
    "samm",
    "srmer.data.samm:load_samm",
    "SAMM (32 subjects, 200 fps, grey), SAMM/006/006_1_2 frames + MICRO_ONLY sheet",
)
DATASETS.register(
    "smic",
    "srmer.data.smic:load_smic",
    "SMIC-HS (16 subjects, 100 fps), HS/s1/micro/<class>/<clip> folders",
)
DATASETS.register(
    "casme3",
    "srmer.data.casme3:load_casme3",
    "CAS(ME)^3 part A (30 fps), label sheet + spNO.X/<video>/color frames",
)
DATASETS.register(
    "rafdb",
    "srmer.data.rafdb:load_rafdb",
    "RAF-DB basic (static 7-class FER), aligned faces + label list",
)


#: the class map used when none is given: Zhou et al.'s 4class for the micro-expression sets,
#: the 7 basic expressions for RAF-DB
DEFAULT_CLASS_MAP: dict[str, str] = {"rafdb": "7class"}


def register_dataset(name: str, target: str | Loader, description: str) -> None:
    """Register a dataset loader so configs and :func:`load` can use ``name``.

    Parameters
    ----------
    name : str
        The dataset name configs use.
    target : str or callable
        ``"module:function"`` (imported on first use) or the loader itself:
        ``loader(root, classes=..., **options) -> SampleSet``.
    description : str
        One line for ``srmer list``.
    """
    DATASETS.register(name, target, description)


def get_loader(name: str) -> Loader:
    """The loader function registered under ``name``.

    Raises
    ------
    UnknownMethodError
        ``name`` is not registered.
    RegistryImportError
        The loader's module failed to import (the message names it and the error).
    """
    return DATASETS.get(name)


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
    DATASETS.validate(name, options)  # an unknown option is named, never a TypeError traceback
    root = Path(root)
    if not root.exists():
        raise DatasetError(
            f"dataset root {root} does not exist; pass the folder of your {name} copy "
            f"(or run `srmer demo` to generate the synthetic one)"
        )
    if classes is None:
        classes = DEFAULT_CLASS_MAP.get(name, "4class")
    return loader(root, classes=classes, **options)
