"""SR preparation: train (or load) every learned SR method once, before the clip jobs.

Workers then only load the cached weights. The :class:`SRContext` this stage returns is what every
clip job passes to the SR methods' ``prepare``; its ``models`` maps each SR label to the fingerprint
of the weights it runs with (its checkpoint files, or the training pool and the method's options),
which enters the SR outputs' cache keys, so new weights or a changed pool never reuse old SR clips.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from srmer.bench.config import Config, MethodSpec
from srmer.sr.trained import IMAGE_SUFFIXES


@dataclass
class SRContext:
    """What the SR methods need at run time (picklable; passed to ``prepare(**context)``)."""

    #: HR face images of identities outside the evaluation data (sorted paths)
    pool_images: list[str] = field(default_factory=list)
    device: str = "cpu"
    #: where trained SR weights are cached
    cache_dir: str = ""
    seed: int = 0
    #: SR label -> fingerprint of the weights it runs with
    models: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sr_pool_images(pool: Path | None) -> list[str]:
    """Sorted image paths under the SR training pool folder (empty when there is no pool)."""
    if pool is None:
        return []
    return sorted(str(p) for p in Path(pool).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def sr_scales(config: Config, spec: MethodSpec) -> list[int]:
    """Integer factors an SR entry must reach: ``ceil(size / r)`` for each of its resolutions."""
    size = config.preprocess.size
    return sorted(
        {math.ceil(size / r) for r in spec.options.get("resolutions", config.resolutions)}
    )


def prepare_sr_methods(
    config: Config, cache_root: Path, device: str, log: Callable[[str], Any]
) -> SRContext:
    """Train or load every learned SR method of ``config`` once; return the clip jobs' context.

    Parameters
    ----------
    config : Config
        A validated grid config (an SR method without a checkpoint and without ``sr_pool`` was
        refused when the config loaded).
    cache_root : Path
        The run's stage cache; trained weights go to ``cache_root / "sr_models"``.
    device : str
        Resolved device (``"cpu"``, ``"cuda"``...).
    log : callable
        Receives one line per method prepared.
    """
    from srmer.sr.methods import get_method

    pool = sr_pool_images(config.sr_pool)
    ctx = SRContext(
        pool_images=pool,
        device=device,
        cache_dir=str(Path(cache_root) / "sr_models"),
        seed=config.seed,
    )
    for spec in config.sr:
        m = get_method(spec.name, **spec.kwargs())
        if hasattr(m, "model_fingerprint"):
            # the weights it runs with: its checkpoint files, or its training key with the pool
            ctx.models[spec.label] = m.model_fingerprint(ctx.as_dict())
        if m.needs_preparation:
            scales = sr_scales(config, spec)
            # whether it trains or loads cached weights is logged by the method itself
            log(f"preparing SR method {spec.label} for x{', x'.join(map(str, scales))}")
            m.prepare(**ctx.as_dict(), scales=scales)
    return ctx
