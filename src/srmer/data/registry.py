"""Registry of dataset loaders behind :func:`srmer.data.load`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.errors import DatasetError
from srmer.registry import Entry, Registry

__all__ = [
    "DATASETS",
    "DEFAULT_CLASS_MAP",
    "MULTI_ROOT",
    "Entry",
    "get_loader",
    "load",
    "register_dataset",
]

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
    "composite",
    "srmer.data.composite:load_composite",
    "MEGC 2019 composite: CASME II + SAMM + SMIC-HS, negative/positive/surprise "
    "(442 clips, 68 subjects)",
    # the loader takes **options (per-source loader options as mappings): declare their names so
    # `srmer list` shows them and a misspelt one is named before anything is read
    options={"list": None, "casme2": None, "samm": None, "smic": None},
)
DATASETS.register(
    "rafdb",
    "srmer.data.rafdb:load_rafdb",
    "RAF-DB basic (static 7-class FER), aligned faces + label list",
)


#: the class map used when none is given: Zhou et al.'s 4class for the micro-expression sets,
#: the 7 basic expressions for RAF-DB, the list's 3 classes for the MEGC 2019 composite
DEFAULT_CLASS_MAP: dict[str, str] = {"rafdb": "7class", "composite": "megc3"}

#: datasets pooled from several copies: their root may be a mapping ``{source: folder}``
MULTI_ROOT = ("composite",)


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


def load(
    name: str,
    root: str | Path | Mapping[str, str | Path],
    classes: str | None = None,
    **options,
) -> SampleSet:
    """Load a dataset from its official layout.

    Parameters
    ----------
    name : str
        Registered dataset name (``srmer list`` shows them).
    root : str, Path or mapping
        The dataset's root folder as distributed (e.g. the folder holding ``CASME2_RAW_selected``
        and the coding sheet). For ``composite``, ``{"casme2": path, "samm": path, "smic": path}``
        or one folder holding ``casme2/``, ``samm/`` and ``smic/``.
    classes : str, optional
        Class map: ``4class``, ``5class``, ``megc3``, ``7class`` or ``raw``; default ``4class``
        (``7class`` for RAF-DB, ``megc3`` for the composite).
    **options
        Loader-specific options.

    Returns
    -------
    SampleSet
        The usable clips, class names and the clips skipped with reasons.
    """
    loader = get_loader(name)
    DATASETS.validate(name, options)  # an unknown option is named, never a TypeError traceback
    if isinstance(root, Mapping):
        if name not in MULTI_ROOT:
            raise DatasetError(
                f"dataset {name} takes one root folder, not a mapping {dict(root)!r}; pass the "
                f"folder of your {name} copy"
            )
        for source, path in root.items():
            # each source named, so the user knows which of the copies is wrong
            if path not in (None, "") and not Path(path).exists():
                raise DatasetError(
                    f"{name} root for {source}: {path} does not exist; pass the folder of your "
                    f"{source} copy as {source}=PATH"
                )
    else:
        root = Path(root)
        if not root.exists():
            raise DatasetError(
                f"dataset root {root} does not exist; pass the folder of your {name} copy "
                f"(or run `srmer demo` to generate the synthetic one)"
            )
    if classes is None:
        classes = DEFAULT_CLASS_MAP.get(name, "4class")
    return loader(root, classes=classes, **options)
