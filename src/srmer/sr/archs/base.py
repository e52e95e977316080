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
    """

    name: str
    build: Callable[..., nn.Module]
    scales: tuple[int, ...]
    detect: Callable[[StateDict], dict[str, Any] | None]
    video: bool = False
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
