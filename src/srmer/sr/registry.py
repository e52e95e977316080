"""Registry of SR architectures: named configurations, ``create``, scale support and cascades.

Every module in :data:`ARCH_MODULES` exposes ``SPECS: list[ArchSpec]`` (see
:mod:`srmer.sr.archs.base`). Modules are imported lazily on first use, into the registry
:data:`ARCHS` (a :class:`srmer.registry.Registry` of specs); a module that fails to import or has no
``SPECS`` raises :class:`~srmer.errors.RegistryImportError` naming it and the error (never a silently
missing architecture). Register your own spec with ``ARCHS.register(spec.name, spec)``.

Scale factors the architecture cannot produce natively are reached by a :class:`Cascade` of
natively supported factors, largest first (x16 = x4 then x4, x8 = x4 then x2), each stage with its own
weights (stages of the same factor share one model).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from srmer.errors import ConfigError, RegistryImportError
from srmer.registry import Registry
from srmer.sr.archs.base import ArchSpec

#: modules contributing architecture specs (each must import and define ``SPECS``)
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
    "srmer.sr.archs.swinir",
    "srmer.sr.archs.hat",
    "srmer.sr.archs.gfpgan",
    "srmer.sr.archs.codeformer",
    "srmer.sr.archs.edvr",
    "srmer.sr.archs.basicvsr",
    "srmer.sr.archs.iconvsr",
    "srmer.sr.archs.basicvsrpp",
    "srmer.sr.archs.realbasicvsr",
)

#: the scale factors every benchmark SR method must reach (16to256, 32to256, 64to256, 128to256)
BENCH_SCALES: tuple[int, ...] = (2, 4, 8, 16)


def _collect_specs() -> Iterator[tuple[str, ArchSpec, str]]:
    """Every spec of :data:`ARCH_MODULES`, in order; a broken module is an error naming it."""
    for mod_name in ARCH_MODULES:
        target = f"{mod_name}:SPECS"
        try:
            mod = importlib.import_module(mod_name)
        except Exception as exc:
            raise RegistryImportError(
                "SR architecture module",
                mod_name,
                target,
                f"it failed to import ({type(exc).__name__}: {exc})",
            ) from exc
        mod_specs = getattr(mod, "SPECS", None)
        if not isinstance(mod_specs, list | tuple):
            raise RegistryImportError(
                "SR architecture module",
                mod_name,
                target,
                "it defines no SPECS list of ArchSpec (see srmer.sr.archs.base)",
            )
        for spec in mod_specs:
            yield spec.name, spec, spec.description


def _arch_factory(spec: ArchSpec, scale: int | None = None, **hparams: Any) -> nn.Module:
    return create(spec.name, _default_scale(spec) if scale is None else scale, **hparams)


def _default_scale(spec: ArchSpec) -> int:
    # x4, the factor of most published SR checkpoints; face restoration runs at x1
    return 1 if spec.restoration_size else 4


def _arch_options(spec: ArchSpec) -> tuple[dict[str, Any], bool]:
    # the spec's defaults plus the build function's own keywords (e.g. key_style); builds pass
    # further keywords through to the network, so more are accepted (validate builds to check)
    found, more = {}, True
    try:
        for p in inspect.signature(spec.build).parameters.values():
            if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD:
                if p.name != "scale" and p.default is not p.empty:
                    found[p.name] = p.default
    except (TypeError, ValueError):
        pass
    return {**spec.defaults, **found}, more


def _arch_validate(spec: ArchSpec, scale: int | None = None, **hparams: Any) -> None:
    # build on the meta device: every shape and keyword is checked, no weights are allocated
    with torch.device("meta"):
        create(spec.name, _default_scale(spec) if scale is None else scale, **hparams)


def _arch_info(spec: ArchSpec) -> dict[str, Any]:
    return {
        "target": f"{getattr(spec.build, '__module__', '?')}:{spec.build.__qualname__}",
        "scales": tuple(spec.scales),
        "support": scale_support_string(spec.name),
        "video": spec.video,
    }


#: name -> :class:`ArchSpec`, filled from :data:`ARCH_MODULES` on first lookup.
#: ``ARCHS.create(name, scale=4, **hparams)`` is :func:`create`; ``ARCHS.validate`` builds the
#: network on the ``meta`` device (no weights allocated) to check the hyper-parameters.
ARCHS = Registry(
    "SR architecture",
    factory=_arch_factory,
    options_of=_arch_options,
    skip=("scale", "seed"),
    cheap=False,
    validator=_arch_validate,
    populate=_collect_specs,
    info=_arch_info,
    term="hyper-parameter",
)


def _load_specs() -> dict[str, ArchSpec]:
    return {name: ARCHS.get(name) for name in ARCHS}


def specs() -> dict[str, ArchSpec]:
    """All registered :class:`ArchSpec`, by name (in :data:`ARCH_MODULES` order)."""
    return _load_specs()


def get_spec(name: str) -> ArchSpec:
    """The spec registered as ``name`` (lower case); :class:`UnknownMethodError` otherwise."""
    key = name.lower() if isinstance(name, str) else name
    if key not in ARCHS:
        ARCHS.get(name)  # raises UnknownMethodError listing the known names
    return ARCHS.get(key)


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
    size = get_spec(name).restoration_size
    if size:
        return f"restores {size}x{size} faces at x1 (SR methods resize in and out: any factor)"
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

    Notes
    -----
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
