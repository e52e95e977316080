"""The contract every SR architecture file fulfils so the registry and checkpoint loader can find it.

Each file ``srmer/sr/archs/<family>.py`` defines its ``nn.Module`` classes (module names reproduce the
official state_dict keys) and a module-level ``SPECS: list[ArchSpec]``. The registry collects the specs;
``srmer.sr.load_checkpoint`` unwraps container formats once, then asks every spec's ``detect``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

StateDict = dict[str, Tensor]


@dataclass(frozen=True)
class ArchSpec:
    """Description of one named architecture configuration.

    Attributes
    ----------
    name : str
        Registry name in lower case (``"edsr"``, ``"rdn"``, ``"basicvsrpp"``...).
    build : callable
        ``build(scale=..., **hparams) -> nn.Module``.
    scales : tuple of int
        Scale factors the architecture supports natively.
    detect : callable
        ``detect(state_dict) -> dict | None``: the hyper-parameters (including ``scale``) inferred from key
        names and tensor shapes when the state_dict belongs to this architecture, else ``None``.
    video : bool
        True for video models taking ``(N, T, 3, H, W)``.
    description : str
        One line for ``srmer list``.
    defaults : dict
        Default hyper-parameters of the standard configuration.
    any_scale : bool
        Capability: one model runs any (also fractional) factor by setting its ``scale`` attribute
        (Meta-SR); SR methods then train one integer factor and reuse it for the others.
    fixed_input : bool
        Capability: the model takes one fixed, square, power-of-two LR size (``input_size``
        attribute; GLEAN's StyleGAN latent bank), is built per LR size (``in_size``/``out_size``
        hyper-parameters) and cannot be tiled.
    window_multiple : int
        Capability: LR sides given to the model (training patches) must be multiples of this
        (e.g. 4 for EDVR's three-level pyramid); 1 for no constraint.
    restoration_size : int or None
        Capability: a face-restoration model (GFPGAN, CodeFormer) that restores aligned faces of
        this fixed side at scale 1; SR methods resize the LR face to it, restore, and resize the
        result to the benchmark size. ``None`` for super-resolution models.
    """

    name: str
    build: Callable[..., nn.Module]
    scales: tuple[int, ...]
    detect: Callable[[StateDict], dict[str, Any] | None]
    video: bool = False
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    any_scale: bool = False
    fixed_input: bool = False
    window_multiple: int = 1
    restoration_size: int | None = None
