"""MSRResNet: the SRResNet / SRGAN generator as modified by BasicSR (Ledig et al., CVPR 2017).

BasicSR's ``MSRResNet`` (keys ``conv_first``, ``body.N.conv1/conv2``, ``upconv1``, ``upconv2``,
``conv_hr``, ``conv_last``): 16 residual blocks of 64 features without batch norm, pixel-shuffle
up-sampling with LeakyReLU(0.1), and a bilinear global skip. Compared with the paper's SRResNet it
drops BN (as ESRGAN showed BN causes artefacts) and adds the bilinear skip; SRGAN trains this
generator with perceptual + adversarial losses (see :mod:`srmer.sr.train`).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    ResidualBlockNoBN,
    conv3x3,
    count_indexed,
    has_keys,
    init_weights,
    make_layer,
    only_prefixes,
)


class MSRResNet(nn.Module):
    """SRResNet / SRGAN generator (BasicSR naming).

    Parameters
    ----------
    scale : {2, 3, 4}
    num_feat, num_block : int
        Width (64) and number of residual blocks (16).
    num_in_ch, num_out_ch : int

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 16,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
    ) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"MSRResNet supports scales 2, 3, 4, not {scale}")
        self.scale = scale
        self.conv_first = conv3x3(num_in_ch, num_feat)
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
        if scale == 4:
            self.upconv1 = conv3x3(num_feat, num_feat * 4)
            self.upconv2 = conv3x3(num_feat, num_feat * 4)
            self.pixel_shuffle = nn.PixelShuffle(2)
        else:
            self.upconv1 = conv3x3(num_feat, num_feat * scale * scale)
            self.pixel_shuffle = nn.PixelShuffle(scale)
        self.conv_hr = conv3x3(num_feat, num_feat)
        self.conv_last = conv3x3(num_feat, num_out_ch)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)
        # BasicSR's initialisation (Kaiming x 0.1): the residual starts small, so an untrained model
        # is close to its bilinear skip and short training improves on it
        init_weights(self, 0.1)

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(self.lrelu(self.conv_first(x)))
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.scale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


def build(scale: int = 4, **hp: Any) -> MSRResNet:
    """Build :class:`MSRResNet`."""
    return MSRResNet(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """MSRResNet from ``conv_first``, ``upconv1`` and ``conv_hr`` keys."""
    if not has_keys(
        sd, "conv_first.weight", "upconv1.weight", "conv_hr.weight", "conv_last.weight"
    ):
        return None
    if not only_prefixes(
        sd, "conv_first.", "body.", "upconv1.", "upconv2.", "conv_hr.", "conv_last."
    ):
        return None
    nf = sd["conv_first.weight"].shape[0]
    if "upconv2.weight" in sd:
        scale = 4
    else:
        r2 = sd["upconv1.weight"].shape[0] // nf
        scale = {4: 2, 9: 3}.get(r2)
        if scale is None:
            return None
    return {
        "scale": scale,
        "num_feat": nf,
        "num_block": count_indexed(sd, r"^body\.(\d+)\.conv1\.weight$"),
        "num_in_ch": sd["conv_first.weight"].shape[1],
        "num_out_ch": sd["conv_last.weight"].shape[0],
    }


SPECS: list[ArchSpec] = [
    ArchSpec(
        "msrresnet",
        build,
        (2, 3, 4),
        detect,
        description="SRResNet/SRGAN generator, BasicSR MSRResNet: 16 blocks x 64, no BN (Ledig et al. 2017)",
        defaults={"num_feat": 64, "num_block": 16},
    ),
]
