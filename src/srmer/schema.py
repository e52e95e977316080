"""Building blocks shared by the experiment config schemas (grid and FSR-FER).

Both schemas are pydantic models; what they share lives here once: the defaults of the
run-directory fields (``output``, ``cache``) and the error message that names each bad field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from srmer.errors import did_you_mean


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


def _fields_at(model: Any, loc: tuple) -> list[str]:
    """Field names of the (nested) pydantic model at ``loc`` of ``model``; [] when not a model."""
    import typing

    from pydantic import BaseModel

    def models_in(tp: Any) -> list[type]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for a in typing.get_args(tp) for m in models_in(a)]

    current = [model] if model is not None else []
    for part in loc:
        if isinstance(part, int):
            continue
        nxt = []
        for m in current:
            field = m.model_fields.get(part)
            if field is not None:
                nxt += models_in(field.annotation)
        current = nxt
    return sorted({f for m in current for f in m.model_fields})


def format_validation_error(
    source: str, err: ValidationError, example: str, model: Any = None
) -> str:
    """One line per bad field: ``field `sr[2].name`: ...``, pointing to ``example`` for unknown fields.

    Parameters
    ----------
    source : str
        The config file (or ``"<dict>"``).
    err : pydantic.ValidationError
        The error to format.
    example : str
        A ready config to compare with, named in the hint for a misspelt field.
    model : type of pydantic.BaseModel, optional
        The validated schema, to suggest the closest field name for a misspelt one.
    """
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in e["loc"])
        loc = loc.replace(".[", "[")
        msg = e["msg"].removeprefix("Value error, ")
        # whole-config checks name their field as a leading `field`: (pydantic gives them no loc)
        named = re.match(r"^`([^`]+)`( \([^)]*\))?:? (.*)$", msg, re.S)
        if named:
            loc = f"{loc}.{named.group(1)}" if loc else named.group(1)
            label, msg = named.group(2) or "", named.group(3)
            lines.append(f"  field `{loc}`{label}: {msg}")
            continue
        if e["type"] == "extra_forbidden":
            hint = did_you_mean(str(e["loc"][-1]), _fields_at(model, tuple(e["loc"][:-1])))
            msg = f"unknown field (misspelt? see {example} for the accepted fields){hint}"
        elif e["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  field `{loc or '(top level)'}`: {msg}")
    return "\n".join(lines)
