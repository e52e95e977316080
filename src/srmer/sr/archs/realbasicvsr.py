"""RealBasicVSR: BasicVSR preceded by an image pre-cleaning module, for real-world degradations.

Follows mmagic's ``RealBasicVSRNet``: ``image_cleaning`` (a conv + residual blocks + conv to 3
channels, predicting a residue added to each LR frame) is applied up to 3 times, stopping once the mean
absolute residue falls below ``dynamic_refine_thres / 255``; the cleaned clip goes through ``basicvsr``
(20 blocks per branch). Keys: ``image_cleaning.0.main.*``, ``image_cleaning.1.*`` and ``basicvsr.*``
with the BasicSR names of :class:`srmer.sr.archs.basicvsr.BasicVSR`; mmagic's names
(``basicvsr.backward_resblocks``, ``upsample1.upsample_conv``, SPyNet ``.conv``) load too.

Input ``(N, T, 3, H, W)`` in [0, 1], output ``(N, T, 3, sH, sW)``. The sequential (memory-saving)
cleaning option and weight freezing of the reference are training conveniences and are omitted.

References
----------
Chan, Zhou, Xu & Loy, "Investigating Tradeoffs in Real-World Video Super-Resolution", CVPR 2022.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.basicvsr import SUPPORTED_SCALES, BasicVSR, scale_from_keys
from srmer.sr.archs.spynet import (
    ConvResidualBlocks,
    accept_mmagic_keys,
    basicsr_keys_if_has,
    count_blocks,
)

__all__ = ["SPECS", "RealBasicVSR", "build", "detect"]


class RealBasicVSR(nn.Module):
    """RealBasicVSR.

    Parameters
    ----------
    mid_channels : int
        64.
    num_propagation_blocks : int
        Residual blocks per BasicVSR branch (20).
    num_cleaning_blocks : int
        Residual blocks of the cleaning module (20).
    dynamic_refine_thres : float
        Stop cleaning when the mean absolute residue (in 0..255 units) is below this (255: one pass).
    max_cleaning_iters : int
        At most 3 cleaning passes, as published.
    scale : int
        Upscaling factor (4 officially).
    """

    def __init__(
        self,
        mid_channels: int = 64,
        num_propagation_blocks: int = 20,
        num_cleaning_blocks: int = 20,
        dynamic_refine_thres: float = 255.0,
        max_cleaning_iters: int = 3,
        scale: int = 4,
    ) -> None:
        super().__init__()
        self.dynamic_refine_thres = dynamic_refine_thres / 255.0
        self.max_cleaning_iters = max_cleaning_iters
        self.image_cleaning = nn.Sequential(
            ConvResidualBlocks(3, mid_channels, num_cleaning_blocks),
            nn.Conv2d(mid_channels, 3, 3, 1, 1, bias=True),
        )
        self.basicvsr = BasicVSR(mid_channels, num_propagation_blocks, scale=scale)
        self.scale = scale
        accept_mmagic_keys(self)

    def clean(self, lqs: Tensor) -> Tensor:
        """The pre-cleaning loop alone: ``(N, T, 3, H, W)`` -> cleaned clip of the same shape."""
        n, t, c, h, w = lqs.shape
        for _ in range(self.max_cleaning_iters):
            residues = self.image_cleaning(lqs.reshape(-1, c, h, w))
            lqs = lqs + residues.view(n, t, c, h, w)
            if torch.mean(torch.abs(residues)) < self.dynamic_refine_thres:
                break
        return lqs

    def forward(self, lqs: Tensor, return_lqs: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """``(N, T, 3, H, W)`` in [0, 1] -> ``(N, T, 3, sH, sW)`` (and the cleaned LR clip if asked)."""
        cleaned = self.clean(lqs)
        out = self.basicvsr(cleaned)
        return (out, cleaned) if return_lqs else out


def build(scale: int = 4, **hparams: Any) -> RealBasicVSR:
    """Build :class:`RealBasicVSR`."""
    return RealBasicVSR(scale=scale, **hparams)


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """Hyper-parameters of a RealBasicVSR state_dict (mmagic or BasicSR-style keys), else ``None``."""
    sd = basicsr_keys_if_has(
        state_dict,
        "image_cleaning.0.main.0.weight",
        "image_cleaning.1.weight",
        "basicvsr.backward_trunk.main.0.weight",
    )
    if sd is None:
        return None
    return {
        "scale": scale_from_keys(sd, "basicvsr."),
        "mid_channels": int(sd["image_cleaning.0.main.0.weight"].shape[0]),
        "num_propagation_blocks": count_blocks(sd, "basicvsr.backward_trunk.main.2."),
        "num_cleaning_blocks": count_blocks(sd, "image_cleaning.0.main.2."),
    }


SPECS = [
    ArchSpec(
        name="realbasicvsr",
        build=build,
        scales=SUPPORTED_SCALES,
        detect=detect,
        video=True,
        description="RealBasicVSR (Chan et al. 2022): image pre-cleaning loop + BasicVSR (20 blocks), x4 (x2/x8/x16 when trained)",
        defaults={
            "mid_channels": 64,
            "num_propagation_blocks": 20,
            "num_cleaning_blocks": 20,
            "dynamic_refine_thres": 255.0,
        },
    )
]
