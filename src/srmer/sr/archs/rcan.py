"""RCAN, Residual Channel Attention Network (Zhang et al., ECCV 2018).

Residual-in-residual: 10 residual groups x 20 RCABs (conv-ReLU-conv + channel attention with
reduction 16), 64 features, ~15.6 M parameters at x4. Two key styles:

- ``key_style="basicsr"`` (default): BasicSR ``RCAN`` (``conv_first``,
  ``body.g.residual_group.b.rcab.{0,2}``, ``rcab.3.attention.{1,3}``, ``body.g.conv``,
  ``conv_after_body``, ``upsample``, ``conv_last``), 0..1 input with internal mean / 255 scaling.
- ``key_style="official"``: yulunzhang/RCAN and EDSR-PyTorch (``sub_mean``, ``head.0``,
  ``body.g.body.b.body.{0,2}``, ``body.g.body.b.body.3.conv_du.{0,2}``, ``body.g.body.20``,
  ``body.10``, ``tail.0.*``, ``tail.1``, ``add_mean``), weights for 0..255, scaled internally.

Native scales 2, 3 and powers of two (official checkpoints: x2, x3, x4, x8). Channel attention uses a
global average, so tiled inference is an approximation for RCAN (see :func:`srmer.sr.upscale`).
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    BasicSRLayout,
    EDSRPyTorchLayout,
    by_key_style,
    conv3x3,
    count_indexed,
    detect_layout,
    has_keys,
)


class ChannelAttention(nn.Module):
    """BasicSR channel attention: ``attention = Sequential(pool, conv1x1, ReLU, conv1x1, Sigmoid)``."""

    def __init__(self, num_feat: int, squeeze: int) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(num_feat, num_feat // squeeze, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_feat // squeeze, num_feat, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.attention(x)


class RCAB(nn.Module):
    """BasicSR RCAB: ``rcab = Sequential(conv, ReLU, conv, ChannelAttention)``."""

    def __init__(self, num_feat: int, squeeze: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.rcab = nn.Sequential(
            conv3x3(num_feat, num_feat),
            nn.ReLU(True),
            conv3x3(num_feat, num_feat),
            ChannelAttention(num_feat, squeeze),
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.rcab(x)
        return x + out if self.res_scale == 1 else x + out * self.res_scale


class ResidualGroup(nn.Module):
    """BasicSR residual group: ``residual_group`` of RCABs then ``conv``, group residual."""

    def __init__(self, num_feat: int, num_block: int, squeeze: int, res_scale: float) -> None:
        super().__init__()
        self.residual_group = nn.Sequential(
            *[RCAB(num_feat, squeeze, res_scale) for _ in range(num_block)]
        )
        self.conv = conv3x3(num_feat, num_feat)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(self.residual_group(x))


class RCAN(BasicSRLayout):
    """RCAN with BasicSR key names.

    Parameters
    ----------
    scale : int
        2, 3 or a power of two.
    num_feat, num_group, num_block, squeeze_factor : int
        64, 10, 20, 16 in the paper.

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_group: int = 10,
        num_block: int = 20,
        squeeze_factor: int = 16,
        res_scale: float = 1.0,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        img_range: float = 255.0,
    ) -> None:
        super().__init__()
        self._build_head(num_in_ch, num_feat, img_range)
        self.body = nn.Sequential(
            *[
                ResidualGroup(num_feat, num_block, squeeze_factor, res_scale)
                for _ in range(num_group)
            ]
        )
        self._build_tail(scale, num_feat, num_out_ch)


class CALayer(nn.Module):
    """Official channel attention: ``conv_du = Sequential(conv1x1, ReLU, conv1x1, Sigmoid)``."""

    def __init__(self, channel: int, reduction: int) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channel, channel // reduction, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channel // reduction, channel, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.conv_du(self.avg_pool(x))


class RCABOfficial(nn.Module):
    """Official RCAB: ``body = Sequential(conv, ReLU, conv, CALayer)``; no residual scaling (as published)."""

    def __init__(self, n_feat: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(n_feat, n_feat),
            nn.ReLU(True),
            conv3x3(n_feat, n_feat),
            CALayer(n_feat, reduction),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResidualGroupOfficial(nn.Module):
    """Official residual group: ``body = Sequential(RCAB x n, conv)``."""

    def __init__(self, n_feat: int, n_resblocks: int, reduction: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [RCABOfficial(n_feat, reduction) for _ in range(n_resblocks)]
        layers.append(conv3x3(n_feat, n_feat))
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class RCANOfficial(EDSRPyTorchLayout):
    """RCAN with yulunzhang/RCAN (EDSR-PyTorch) key names; same arguments as :class:`RCAN`."""

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_group: int = 10,
        num_block: int = 20,
        squeeze_factor: int = 16,
        res_scale: float = 1.0,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        img_range: float = 255.0,
    ) -> None:
        super().__init__()
        del res_scale  # the official RCAB ignores it
        blocks = [
            ResidualGroupOfficial(num_feat, num_block, squeeze_factor) for _ in range(num_group)
        ]
        self._build_layout(scale, num_in_ch, num_out_ch, num_feat, img_range, blocks)


def build(scale: int = 4, key_style: str = "basicsr", **hp: Any) -> nn.Module:
    """Build RCAN; ``key_style`` is ``"basicsr"`` or ``"official"``."""
    return by_key_style(key_style, RCAN, RCANOfficial)(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """RCAN in BasicSR (``residual_group``/``rcab``) or official (``body.g.body.b.body``) keys."""
    if has_keys(
        sd, "conv_first.weight", "body.0.residual_group.0.rcab.0.weight", "upsample.0.weight"
    ):
        style = "basicsr"
        groups = r"^body\.(\d+)\.conv\.weight$"
        blocks = r"^body\.0\.residual_group\.(\d+)\.rcab\.0\.weight$"
        squeeze = "body.0.residual_group.0.rcab.3.attention.1.weight"
    elif has_keys(sd, "head.0.weight", "body.0.body.0.body.3.conv_du.0.weight", "tail.0.0.weight"):
        style = "official"
        groups = r"^body\.(\d+)\.body\.0\.body\.0\.weight$"
        blocks = r"^body\.0\.body\.(\d+)\.body\.0\.weight$"
        squeeze = "body.0.body.0.body.3.conv_du.0.weight"
    else:
        return None
    return detect_layout(
        sd,
        style,
        lambda nf: {
            "num_group": count_indexed(sd, groups),
            "num_block": count_indexed(sd, blocks),
            "squeeze_factor": nf // sd[squeeze].shape[0],
        },
    )


SPECS: list[ArchSpec] = [
    ArchSpec(
        "rcan",
        build,
        (2, 3, 4, 8, 16),
        detect,
        description="RCAN (Zhang et al. 2018): 10 groups x 20 RCAB, 64 features, reduction 16",
        defaults={"num_feat": 64, "num_group": 10, "num_block": 20, "squeeze_factor": 16},
    ),
]
