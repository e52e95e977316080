"""srmer: super-resolution for low-resolution facial micro-expression recognition.

Every sub-package resolves lazily on first attribute access (PEP 562), so ``import srmer`` stays
cheap (no torch, numpy, pandas or scikit-learn)::

    import srmer

    samples = srmer.data.load("casme2", root)
    result = srmer.run("configs/demo.yaml", output=None)  # an experiment, results in memory
    srmer.registry.describe_all()
"""

import os
from typing import Any

# Busy-waiting OpenMP threads (the default) make small tensor operations tens of times slower when
# the cores are shared (parallel workers, CI). Must be set before torch loads its OpenMP runtime;
# a value the user has set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.3.0.dev0"


def _submodules() -> tuple[str, ...]:
    """Public sub-packages and modules found next to this file (``data``, ``sr``, ``errors``...)."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    for entry in sorted(os.listdir(here)):
        path = os.path.join(here, entry)
        if entry.startswith(("_", ".")):
            continue
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "__init__.py")):
            found.append(entry)
        elif entry.endswith(".py"):
            found.append(entry[:-3])
    return tuple(found)


#: sub-packages and modules reachable as ``srmer.<name>`` (imported on first access)
SUBMODULES: tuple[str, ...] = _submodules()


#: functions reachable as ``srmer.<name>``: ``srmer.run(config, **overrides)`` runs an experiment
FUNCTIONS: dict[str, str] = {"run": "srmer.bench.api", "Result": "srmer.bench.runner"}


def __getattr__(name: str) -> Any:
    """``srmer.<sub-package>`` (and ``srmer.run``) imported on first access (PEP 562)."""
    import importlib

    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in FUNCTIONS:
        return getattr(importlib.import_module(FUNCTIONS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Module attributes and every sub-package, for ``dir(srmer)`` and completion."""
    return sorted({*globals(), *SUBMODULES, *FUNCTIONS})
