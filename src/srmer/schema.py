"""Building blocks shared by the experiment config schemas (grid and FSR-FER).

Both schemas are pydantic models; what they share lives here once: the defaults of the
run-directory fields (``output``, ``cache``) and the error message that names each bad field.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


class RunPaths:
    """Mixin for an experiment config with fields ``name``, ``output`` and ``cache``.

    The fields stay in each schema (their order is the order of the written ``config.yaml``); the
    defaults they imply are defined here once.
    """

    name: str
    output: Path | None
    cache: Path | None

    @property
    def output_dir(self) -> Path:
        """The run directory: ``output``, else ``runs/<name>``."""
        return self.output if self.output is not None else Path("runs") / self.name

    @property
    def cache_dir(self) -> Path:
        """The cache folder: ``cache``, else ``<output_dir>/cache``."""
        return self.cache if self.cache is not None else self.output_dir / "cache"


def format_validation_error(source: str, err: ValidationError, example: str) -> str:
    """One line per bad field: ``field `sr[2].name`: ...``, pointing to ``example`` for unknown fields.

    Parameters
    ----------
    source : str
        The config file (or ``"<dict>"``).
    err : pydantic.ValidationError
    example : str
        A ready config to compare with, named in the hint for a misspelt field.
    """
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"])
        loc = loc.replace(".[", "[")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = f"unknown field (misspelt? see {example} for the accepted fields)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  field `{loc or '(top level)'}`: {msg}")
    return "\n".join(lines)
