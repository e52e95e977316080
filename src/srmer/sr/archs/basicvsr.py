"""BasicVSR: bidirectional recurrent video SR with SPyNet flow alignment.

Follows BasicSR's ``BasicVSR`` (module names and forward pass); mmagic's ``BasicVSRNet`` keys load too
(see :func:`srmer.sr.archs.spynet.to_basicsr_keys`). Input ``(N, T, 3, H, W)`` RGB in [0, 1]; output
``(N, T, 3, sH, sW)``.

Differences from the reference: the upsampler generalises to ``scale`` in {2, 4, 8, 16} (one
``upconvK`` + pixel-shuffle x2 stage per factor of 2, the last producing 64*4 channels; at scale 4 it is
exactly the official ``upconv1``/``upconv2``) so that models can be trained for 8to256/16to256; only
x4 checkpoints exist officially. mmagic's "mirror-extended" shortcut (reusing backward flows for
palindromic clips) is omitted: it only saves time, the output is the same.

References
----------
Chan, Wang, Yu, Dong & Loy, "BasicVSR: The Search for Essential Components in Video Super-Resolution
and Beyond", CVPR 2021.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.spynet import (
    ConvResidualBlocks,
    SpyNet,
    accept_mmagic_keys,
    basicsr_keys_if_has,
    count_blocks,
    flow_warp,
)

__all__ = ["SPECS", "BasicVSR", "PixelShuffleUpsampler", "build", "detect"]

SUPPORTED_SCALES = (2, 4, 8, 16)


def _n_stages(scale: int) -> int:
    if scale not in SUPPORTED_SCALES:
        raise ValueError(f"scale must be one of {SUPPORTED_SCALES}, got {scale}")
    return int(math.log2(scale))


class PixelShuffleUpsampler(nn.Module):
    """Mixin building ``upconv1..upconvK``, ``conv_hr`` and ``conv_last`` (BasicSR names) for ``scale``."""

    def _build_upsampler(self, num_feat: int, scale: int) -> None:
        self.scale = scale
        n = _n_stages(scale)
        for i in range(1, n + 1):
            out = 64 * 4 if i == n else num_feat * 4
            self.add_module(f"upconv{i}", nn.Conv2d(num_feat, out, 3, 1, 1, bias=True))
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.pixel_shuffle = nn.PixelShuffle(2)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def _upsample(self, feat: Tensor, lr: Tensor) -> Tensor:
        """Features ``(N, C, h, w)`` + LR frame ``(N, 3, h, w)`` -> SR frame ``(N, 3, s*h, s*w)``."""
        out = feat
        for i in range(1, _n_stages(self.scale) + 1):
            out = self.lrelu(self.pixel_shuffle(getattr(self, f"upconv{i}")(out)))
        out = self.lrelu(self.conv_hr(out))
        out = self.conv_last(out)
        base = F.interpolate(lr, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + base


def compute_flows(spynet: SpyNet, x: Tensor) -> tuple[Tensor, Tensor]:
    """Forward and backward flows between neighbouring frames.

    Parameters
    ----------
    x : Tensor
        ``(N, T, 3, H, W)`` in [0, 1], ``T >= 2``.

    Returns
    -------
    flows_forward, flows_backward : Tensor
        ``(N, T-1, 2, H, W)``: ``flows_backward[:, i]`` is the flow from frame i to frame i+1 (warps
        features of frame i+1 onto frame i, used by the backward branch); ``flows_forward[:, i]`` from
        frame i+1 to frame i.
    """
    b, n, c, h, w = x.shape
    x1 = x[:, :-1].reshape(-1, c, h, w)
    x2 = x[:, 1:].reshape(-1, c, h, w)
    flows_backward = spynet(x1, x2).view(b, n - 1, 2, h, w)
    flows_forward = spynet(x2, x1).view(b, n - 1, 2, h, w)
    return flows_forward, flows_backward


class BasicVSR(PixelShuffleUpsampler, nn.Module):
    """BasicVSR (BasicSR names: ``spynet``, ``backward_trunk``, ``forward_trunk``, ``fusion``,
    ``upconv1``, ``upconv2``, ``conv_hr``, ``conv_last``).

    Parameters
    ----------
    num_feat : int
        Feature channels (64 in the paper).
    num_block : int
        Residual blocks per propagation branch (30 in the paper; RealBasicVSR uses 20).
    scale : int
        Upscaling factor (4 officially).
    """

    def __init__(self, num_feat: int = 64, num_block: int = 30, scale: int = 4) -> None:
        super().__init__()
        self.num_feat = num_feat
        self.spynet = SpyNet()
        self.backward_trunk = ConvResidualBlocks(num_feat + 3, num_feat, num_block)
        self.forward_trunk = ConvResidualBlocks(num_feat + 3, num_feat, num_block)
        self.fusion = nn.Conv2d(num_feat * 2, num_feat, 1, 1, 0, bias=True)
        self._build_upsampler(num_feat, scale)
        accept_mmagic_keys(self)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T, 3, H, W)`` in [0, 1] -> ``(N, T, 3, sH, sW)``."""
        b, n, _, h, w = x.shape
        if n >= 2:
            flows_forward, flows_backward = compute_flows(self.spynet, x)
        # backward branch: frame n-1 down to 0
        feats_back: list[Tensor] = [x.new_empty(0)] * n
        feat_prop = x.new_zeros(b, self.num_feat, h, w)
        for i in range(n - 1, -1, -1):
            if i < n - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            feat_prop = self.backward_trunk(torch.cat([x[:, i], feat_prop], dim=1))
            feats_back[i] = feat_prop
        # forward branch, fused with the backward features and upsampled frame by frame
        outs = []
        feat_prop = x.new_zeros(b, self.num_feat, h, w)
        for i in range(n):
            if i > 0:
                feat_prop = flow_warp(feat_prop, flows_forward[:, i - 1].permute(0, 2, 3, 1))
            feat_prop = self.forward_trunk(torch.cat([x[:, i], feat_prop], dim=1))
            out = self.lrelu(self.fusion(torch.cat([feats_back[i], feat_prop], dim=1)))
            outs.append(self._upsample(out, x[:, i]))
        return torch.stack(outs, dim=1)


def scale_from_keys(sd: StateDict, prefix: str = "") -> int:
    """Upscaling factor from the number of ``upconvK`` layers (2 ** K)."""
    k = 0
    while f"{prefix}upconv{k + 1}.weight" in sd:
        k += 1
    return 2**k


def build(scale: int = 4, **hparams: Any) -> BasicVSR:
    """Build :class:`BasicVSR` (``num_feat``, ``num_block``)."""
    return BasicVSR(scale=scale, **hparams)


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """Hyper-parameters of a BasicVSR state_dict (BasicSR or mmagic keys), else ``None``."""
    sd = basicsr_keys_if_has(
        state_dict,
        "spynet.basic_module.0.basic_module.0.weight",
        "backward_trunk.main.0.weight",
        "forward_trunk.main.0.weight",
        "fusion.weight",
    )
    if sd is None or any(k.startswith("edvr.") for k in sd):
        return None
    num_feat = sd["backward_trunk.main.0.weight"].shape[0]
    if sd["forward_trunk.main.0.weight"].shape[1] != num_feat + 3:
        return None  # IconVSR's coupled forward trunk
    return {
        "scale": scale_from_keys(sd),
        "num_feat": int(num_feat),
        "num_block": count_blocks(sd, "backward_trunk.main.2."),
    }


SPECS = [
    ArchSpec(
        name="basicvsr",
        build=build,
        scales=SUPPORTED_SCALES,
        detect=detect,
        video=True,
        description="BasicVSR (Chan et al. 2021): SPyNet-aligned bidirectional propagation, x4 (x2/x8/x16 when trained)",
        defaults={"num_feat": 64, "num_block": 30},
    )
]
