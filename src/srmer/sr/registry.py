"""Registry of SR architectures: named configurations, ``create``, scale support and cascades.

Every module in :data:`ARCH_MODULES` exposes ``SPECS: list[ArchSpec]`` (see
:mod:`srmer.sr.archs.base`). Modules are imported lazily on first use; a module that does not exist
yet or has no ``SPECS`` is skipped, so one missing family never breaks the others.

Scale factors the architecture cannot produce natively are reached by a :class:`Cascade` of
natively supported factors, largest first (x16 = x4 then x4, x8 = x4 then x2), each stage with its own
weights (stages of the same factor share one model).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import torch
from torch import Tensor, nn

from srmer.errors import ConfigError, UnknownMethodError
from srmer.sr.archs.base import ArchSpec

log = logging.getLogger(__name__)

#: modules contributing architecture specs (video modules are written separately; skipped if absent)
ARCH_MODULES: tuple[str, ...] = (
    "srmer.sr.archs.srcnn",
    "srmer.sr.archs.srresnet",
    "srmer.sr.archs.edsr",
    "srmer.sr.archs.rdn",
    "srmer.sr.archs.rrdbnet",
    "srmer.sr.archs.nesrganplus",
    "srmer.sr.archs.srvgg",
    "srmer.sr.archs.rcan",
    "srmer.sr.archs.metasr",
    "srmer.sr.archs.glean",
    "srmer.sr.archs.edvr",
    "srmer.sr.archs.basicvsr",
    "srmer.sr.archs.iconvsr",
    "srmer.sr.archs.basicvsrpp",
    "srmer.sr.archs.realbasicvsr",
)

#: the scale factors every benchmark SR method must reach (16to256, 32to256, 64to256, 128to256)
BENCH_SCALES: tuple[int, ...] = (2, 4, 8, 16)

_SPECS: dict[str, ArchSpec] | None = None


def _load_specs() -> dict[str, ArchSpec]:
    global _SPECS
    if _SPECS is None:
        specs: dict[str, ArchSpec] = {}
        for mod_name in ARCH_MODULES:
            try:
                mod = importlib.import_module(mod_name)
                mod_specs = mod.SPECS
            except (ImportError, AttributeError) as exc:
                log.debug("SR architecture module %s skipped: %s", mod_name, exc)
                continue
            for spec in mod_specs:
                specs.setdefault(spec.name, spec)
        _SPECS = specs
    return _SPECS


def specs() -> dict[str, ArchSpec]:
    """All registered :class:`ArchSpec`, by name (in :data:`ARCH_MODULES` order)."""
    return dict(_load_specs())


def get_spec(name: str) -> ArchSpec:
    """The spec registered as ``name`` (lower case); :class:`UnknownMethodError` otherwise."""
    all_specs = _load_specs()
    key = name.lower()
    if key not in all_specs:
        raise UnknownMethodError("SR architecture", name, list(all_specs))
    return all_specs[key]


def cascade_plan(native: tuple[int, ...], scale: int) -> list[int] | None:
    """Factors (largest first) whose product is ``scale``, each natively supported; ``None`` if impossible.

    Fewest stages win; among equal lengths the one starting with the largest factor (x4 then x2).
    """
    usable = sorted({f for f in native if f > 1}, reverse=True)
    best: list[int] | None = None

    def search(rest: int, path: list[int]) -> None:
        nonlocal best
        if rest == 1:
            if best is None or len(path) < len(best):
                best = list(path)
            return
        if best is not None and len(path) >= len(best):
            return
        for f in usable:
            if rest % f == 0 and (not path or f <= path[-1]):
                search(rest // f, [*path, f])

    search(scale, [])
    return best


def scale_support(name: str, scales: tuple[int, ...] = BENCH_SCALES) -> dict[int, str]:
    """How architecture ``name`` reaches each scale: ``"native"``, ``"cascade x4 -> x2"`` or ``"unsupported"``."""
    spec = get_spec(name)
    out: dict[int, str] = {}
    for s in scales:
        if s in spec.scales:
            out[s] = "native"
        else:
            plan = cascade_plan(spec.scales, s)
            out[s] = "cascade " + " -> ".join(f"x{f}" for f in plan) if plan else "unsupported"
    return out


def scale_support_string(name: str, scales: tuple[int, ...] = BENCH_SCALES) -> str:
    """One line for ``srmer list``: ``"x2 native, x4 native, x8 cascade x4 -> x2, x16 cascade x4 -> x4"``."""
    return ", ".join(f"x{s} {how}" for s, how in scale_support(name, scales).items())


def list_archs() -> list[dict[str, Any]]:
    """Every architecture: name, native scales, per-scale support, video flag, description, defaults."""
    rows = []
    for spec in _load_specs().values():
        rows.append(
            {
                "name": spec.name,
                "scales": tuple(spec.scales),
                "support": scale_support_string(spec.name),
                "video": spec.video,
                "description": spec.description,
                "defaults": dict(spec.defaults),
            }
        )
    return rows


class Cascade(nn.Module):
    """Apply several SR models in turn (e.g. x4 then x4 for 16to256).

    Parameters
    ----------
    stages : dict of str to nn.Module
        One model per distinct factor, keyed ``"x4"``, ``"x2"``...; stored in ``self.stages``
        (state_dict keys ``stages.x4.<model keys>``).
    order : list of int
        Factors in application order; a factor used twice reuses the same model.

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)`` with ``s = prod(order)``; intermediate
    results are clamped to [0, 1] like the 8-bit images the stages were trained on.
    """

    def __init__(self, stages: dict[str, nn.Module], order: list[int]) -> None:
        super().__init__()
        missing = [f for f in order if f"x{f}" not in stages]
        if missing:
            raise ValueError(f"no stage model for factors {missing}")
        self.stages = nn.ModuleDict(stages)
        self.order = list(order)
        self.scale = int(torch.tensor(order).prod())

    def forward(self, x: Tensor) -> Tensor:
        for i, f in enumerate(self.order):
            x = self.stages[f"x{f}"](x)
            if i < len(self.order) - 1:
                x = x.clamp(0, 1)
        return x


def create(name: str, scale: int = 4, *, seed: int | None = None, **hparams: Any) -> nn.Module:
    """Build architecture ``name`` for ``scale`` with the spec's defaults updated by ``hparams``.

    Parameters
    ----------
    name : str
        A registered name (``srmer.sr.list_archs()``), e.g. ``"edsr_baseline"``, ``"rdn_psnr_small"``.
    scale : int
        Magnification; a factor the architecture lacks natively gives a :class:`Cascade`.
    seed : int, optional
        Seed of the initial weights, drawn in a forked RNG so the caller's global RNG is untouched.
        Give it whenever the model is to be trained: torch starts every process from a random seed,
        so without it two runs of the same config train from different weights.
    **hparams
        Overrides of the configuration (e.g. ``num_block=4`` for a tiny test model).

    Returns
    -------
    torch.nn.Module
        Image models take and return float RGB in [0, 1], ``(N,3,H,W) -> (N,3,sH,sW)``; the module has
        a ``scale`` attribute.
    """
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return create(name, scale, **hparams)
    spec = get_spec(name)
    params = {**spec.defaults, **hparams}
    if scale in spec.scales:
        return _build(spec, scale, params)
    plan = cascade_plan(spec.scales, int(scale))
    if plan is None:
        raise ConfigError(
            f"SR architecture {name!r} cannot reach x{scale}: native scales {spec.scales}, "
            f"and x{scale} is not a product of them; choose one of {sorted(spec.scales)} or a product"
        )
    stages = {f"x{f}": _build(spec, f, params) for f in dict.fromkeys(plan)}
    return Cascade(stages, plan)


def _build(spec: ArchSpec, scale: int, params: dict[str, Any]) -> nn.Module:
    try:
        model = spec.build(scale=scale, **params)
    except TypeError as exc:
        raise ConfigError(
            f"SR architecture {spec.name!r}: bad hyper-parameter ({exc}); defaults are {spec.defaults}"
        ) from exc
    # remembered so that checkpoints saved by srmer rebuild exactly (SRCNN/Meta-SR scales are not in
    # the weights) and so that list/debug output can say what a model is
    model.arch_name = spec.name  # type: ignore[assignment]
    model.hparams = {k: v for k, v in params.items()}  # type: ignore[assignment]
    return model
