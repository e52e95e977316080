"""Running an experiment from Python: :func:`run`, also reachable as ``srmer.run``.

Notebooks and scripts get the same engine as ``srmer run`` (:func:`srmer.bench.runner.run`) with
the config's fields overridable as keyword arguments and an in-memory mode that leaves no run
directory behind. Safe in a plain script without ``if __name__ == "__main__":`` (the worker
processes do not re-run it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srmer.bench.config import Config, apply_overrides, parse_any_config, read_config_file
from srmer.bench.runner import Result
from srmer.bench.runner import run as run_config

if TYPE_CHECKING:
    from srmer.fer.config import FERConfig


class _FromConfig:
    def __repr__(self) -> str:
        return "<the config's output>"


#: default of :func:`run`'s ``output``: the config's ``output:`` (else ``runs/<name>``)
FROM_CONFIG: Any = _FromConfig()


def _mapping(config: str | Path | dict[str, Any] | Config | FERConfig) -> tuple[dict, str]:
    if isinstance(config, str | Path):
        return read_config_file(config), str(config)
    if isinstance(config, dict):
        return config, "<dict>"
    if hasattr(config, "model_dump"):
        return config.model_dump(mode="json", exclude_none=True), f"<{type(config).__name__}>"
    raise TypeError(
        f"srmer.run takes a config path, a dict or a parsed config, not {type(config).__name__}"
    )


def run(
    config: str | Path | dict[str, Any] | Config | FERConfig,
    output: str | Path | None = FROM_CONFIG,
    *,
    workers: int | None = None,
    quiet: bool = False,
    verbose: bool = False,
    report: bool = True,
    **overrides: Any,
) -> Result:
    """Run an experiment (a micro-expression grid or FSR-FER) and return its results.

    Parameters
    ----------
    config : str, Path, dict or Config
        A YAML config file (``"configs/demo.yaml"``), a config mapping, or a parsed config.
    output : str, Path or None
        The run directory. Default: the config's ``output:`` (else ``runs/<name>``). ``None``
        runs in memory: the run works in a temporary directory that is removed afterwards, so
        nothing is left on disk except in a ``cache:`` folder the config names, and no report is
        written; ``Result.run_dir`` and ``Result.report`` are then ``None``.
    workers : int, optional
        Worker processes (default: ``executor.workers``, else all cores).
    quiet : bool
        No progress display; only warnings on stderr.
    verbose : bool
        Debug messages on stderr.
    report : bool
        Write ``report/report.html`` (ignored when ``output=None``).
    **overrides
        Config fields to change, by name: ``seed=1``, ``resolutions=[16, 32]``; nested fields
        with ``__`` or, through ``**{...}``, dotted keys: ``executor__workers=2``,
        ``**{"mer.0.epochs": 5}`` (as ``srmer run --set KEY=VALUE``).

    Returns
    -------
    Result
        ``results`` (pandas DataFrame, one row per dataset x setting x MER method, metrics in
        0..1), ``predictions`` (one row per clip and cell), ``skipped``, ``tables``, ``report``
        (path or None), ``provenance`` and ``run_dir``.

    Raises
    ------
    srmer.errors.SrmerError
        A bad config field or override (named), a missing dataset or checkpoint, a busy run
        directory; raised before any work starts.

    Examples
    --------
    >>> import srmer
    >>> res = srmer.run("configs/demo.yaml", output=None, resolutions=[16])  # doctest: +SKIP
    >>> res.results[["resolution", "sr", "mer", "war"]]  # doctest: +SKIP
    """
    data, source = _mapping(config)
    if overrides:
        data = apply_overrides(data, overrides)
        source += " (with " + ", ".join(f"{k}={v!r}" for k, v in overrides.items()) + ")"
    if output is None:
        with tempfile.TemporaryDirectory(prefix="srmer-run-") as tmp:
            data = {**data, "output": str(Path(tmp) / "run")}
            if not data.get("cache"):
                data["cache"] = str(Path(tmp) / "cache")
            result = run_config(
                parse_any_config(data, source),
                workers=workers,
                quiet=quiet,
                verbose=verbose,
                write_report=False,
            )
        result.run_dir = None
        result.report = None
        return result
    if output is not FROM_CONFIG:
        data = {**data, "output": str(output)}
    return run_config(
        parse_any_config(data, source),
        workers=workers,
        quiet=quiet,
        verbose=verbose,
        write_report=report,
    )


__all__ = ["FROM_CONFIG", "Result", "run"]
