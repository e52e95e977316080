"""The benchmark engine: configs, the runner, the stage cache, tables, statistics and reports.

The names a script or notebook needs are importable from here::

    from srmer.bench import run, load_config, write_report

    result = run("configs/demo.yaml", output=None, resolutions=[16])
    result.results  # pandas DataFrame, one row per dataset x setting x MER method

Every name resolves on first use, so ``import srmer.bench`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "run": "srmer.bench.api",
    "Result": "srmer.bench.runner",
    "Config": "srmer.bench.config",
    "load_config": "srmer.bench.config",
    "parse_config": "srmer.bench.config",
    "parse_any_config": "srmer.bench.config",
    "apply_overrides": "srmer.bench.config",
    "dump_config": "srmer.bench.config",
    "Cache": "srmer.bench.cache",
    "write_report": "srmer.bench.report",
    "markdown_table": "srmer.bench.report",
    "compare_runs": "srmer.bench.compare",
    "sr_comparisons": "srmer.bench.statistics",
    "StatsOptions": "srmer.bench.statistics",
    "demo_config": "srmer.bench.demo",
    "ensure_demo_data": "srmer.bench.demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """``srmer.bench.<name>`` imported from its module on first access (PEP 562)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
