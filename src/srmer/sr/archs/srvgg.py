"""SRVGGNetCompact (Real-ESRGAN 'general v3' / anime video models; Wang et al. 2021).

A plain VGG-style stack on the LR image: ``body.0`` conv(3->64), PReLU, ``num_conv`` x (conv, PReLU),
a last conv to ``3 s^2`` channels, pixel shuffle, plus the nearest-upsampled input. BasicSR / Real-ESRGAN
key names ``body.N.weight`` (PReLU weights have shape (64,)). realesr-general-x4v3 uses 32 convs,
the anime video model 16. Any integer scale is native.
"""

from __future__ import annotations

import math
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import max_index


class SRVGGNetCompact(nn.Module):
    """Compact VGG-style SR network.

    Parameters
    ----------
    scale : int
    num_feat, num_conv : int
        64 and 32 (general v3).
    act_type : {"prelu", "relu", "leakyrelu"}

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_conv: int = 32,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        act_type: str = "prelu",
    ) -> None:
        super().__init__()
        self.scale = scale

        def act() -> nn.Module:
            if act_type == "prelu":
                return nn.PReLU(num_parameters=num_feat)
            if act_type == "relu":
                return nn.ReLU(inplace=True)
            return nn.LeakyReLU(0.1, inplace=True)

        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), act()]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), act()]
        layers.append(nn.Conv2d(num_feat, num_out_ch * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(scale)

    def forward(self, x: Tensor) -> Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def build(scale: int = 4, **hp: Any) -> SRVGGNetCompact:
    """Build :class:`SRVGGNetCompact`."""
    return SRVGGNetCompact(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """SRVGGNetCompact (PReLU) from ``body.N.weight`` keys only, PReLU vectors at odd indices."""
    if "body.0.weight" not in sd or "body.1.weight" not in sd or sd["body.1.weight"].ndim != 1:
        return None
    if any(not k.startswith("body.") for k in sd):
        return None
    last = max_index(sd, r"^body\.(\d+)\.weight$")
    if last < 2 or last % 2:
        return None
    nf, cin = sd["body.0.weight"].shape[:2]
    s2 = sd[f"body.{last}.weight"].shape[0] / cin
    scale = round(math.sqrt(s2))
    if scale * scale != s2:
        return None
    return {
        "scale": scale,
        "num_feat": nf,
        "num_conv": (last - 2) // 2,
        "num_in_ch": cin,
        "num_out_ch": cin,
    }


SPECS: list[ArchSpec] = [
    ArchSpec(
        "srvgg",
        build,
        (2, 3, 4, 8, 16),
        detect,
        description="SRVGGNetCompact (Real-ESRGAN general v3): 64 feat, 32 convs, PReLU, nearest skip",
        defaults={"num_feat": 64, "num_conv": 32},
    ),
]
