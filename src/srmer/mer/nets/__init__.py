"""Deep micro-expression networks (PyTorch), one file per network.

Every network maps a float32 batch to ``(N, n_classes)`` logits; a network that trains with more than
cross-entropy (FeatRef) also has ``training_loss(x, y, class_weight)``, which the training loop
(:mod:`srmer.mer.train`) uses when present.

=================  ===========================  ==========================================
name               class                        input
=================  ===========================  ==========================================
``ststnet``        :class:`STSTNet`             ``(N, 3, 28, 28)`` u, v, strain
``offapexnet``     :class:`OffApexNet`          ``(N, 2, 28, 28)`` u, v
``dualinception``  :class:`DualInception`       ``(N, 2, 28, 28)`` u, v
``rcna``           :class:`RCNA`                ``(N, 3, 60, 60)`` u, v, strain
``featref``        :class:`FeatRef`             ``(N, 2, 28, 28)`` u, v
``resnet3d``       :class:`ResNet3D`            ``(N, 3, 16, s, s)`` TIM-16 RGB sequence
``htnet``          :class:`HTNet`               ``(N, 3, 28, 28)`` u, v, strain, four areas tiled
``mmnet``          :class:`MMNet`               ``(N, 6, s, s)`` onset + apex RGB (s = 224)
=================  ===========================  ==========================================
"""

from __future__ import annotations

from typing import Any

from torch import nn

from srmer.errors import UnknownMethodError
from srmer.mer.nets.dualinception import DualInception
from srmer.mer.nets.featref import FeatRef
from srmer.mer.nets.htnet import HTNet
from srmer.mer.nets.mmnet import MMNet
from srmer.mer.nets.offapexnet import OffApexNet
from srmer.mer.nets.rcna import RCNA
from srmer.mer.nets.resnet3d import ResNet3D, resnet3d18
from srmer.mer.nets.ststnet import STSTNet

NETS: dict[str, Any] = {
    "ststnet": STSTNet,
    "offapexnet": OffApexNet,
    "dualinception": DualInception,
    "rcna": RCNA,
    "featref": FeatRef,
    "resnet3d": resnet3d18,
    "htnet": HTNet,
    "mmnet": MMNet,
}


def create_net(name: str, n_classes: int, **kwargs: Any) -> nn.Module:
    """Instantiate the network ``name`` (a key of :data:`NETS`) with ``n_classes`` outputs."""
    if name not in NETS:
        raise UnknownMethodError("network", name, list(NETS))
    return NETS[name](n_classes=n_classes, **kwargs)


__all__ = [
    "NETS",
    "RCNA",
    "DualInception",
    "FeatRef",
    "HTNet",
    "MMNet",
    "OffApexNet",
    "ResNet3D",
    "STSTNet",
    "create_net",
    "resnet3d18",
]
