"""IconVSR: BasicVSR with information refill at key frames and coupled propagation.

Follows BasicSR's ``IconVSR`` (module names, forward pass); mmagic's ``IconVSRNet`` keys load too.
Key frames (every ``keyframe_stride`` frames, plus the last) get features from an EDVR-M front end
(``edvr``: PCD alignment + TSA over ``2*temporal_padding + 1`` frames) fused into the propagated
features (``backward_fusion``/``forward_fusion``); the forward branch also receives the backward
branch's features (coupled propagation).

Input ``(N, T, 3, H, W)`` in [0, 1], output ``(N, T, 3, sH, sW)``. H and W are reflect-padded to a
multiple of 4 (the pyramid halves twice) and the output cropped, as in the official code. The temporal
padding around key frames uses frames 4,3 / -4,-5 as published, which needs ``T >= 5``; shorter
clips are handled here by mirroring with :func:`srmer.sr.archs.edvr.window_indices` instead (a
documented difference that only affects clips the official code rejects).

References
----------
Chan, Wang, Yu, Dong & Loy, "BasicVSR: The Search for Essential Components in Video Super-Resolution
and Beyond", CVPR 2021 (IconVSR is introduced in the same paper).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.basicvsr import (
    SUPPORTED_SCALES,
    PixelShuffleUpsampler,
    compute_flows,
    scale_from_keys,
)
from srmer.sr.archs.edvr import EDVRFeatureExtractor, _pad_to_multiple, window_indices
from srmer.sr.archs.spynet import (
    ConvResidualBlocks,
    SpyNet,
    accept_mmagic_keys,
    basicsr_keys_if_has,
    count_blocks,
    flow_warp,
)

__all__ = ["SPECS", "IconVSR", "build", "detect"]


class IconVSR(PixelShuffleUpsampler, nn.Module):
    """IconVSR (BasicSR names: ``edvr``, ``spynet``, ``backward_fusion``, ``backward_trunk``,
    ``forward_fusion``, ``forward_trunk``, ``upconv1``, ``upconv2``, ``conv_hr``, ``conv_last``).

    Parameters
    ----------
    num_feat : int
        64.
    num_block : int
        Residual blocks per branch (30 in the paper's REDS model, 15 in BasicSR's default).
    keyframe_stride : int
        5.
    temporal_padding : int
        2 (5-frame EDVR windows) or 3 (7 frames, Vimeo-90K model).
    scale : int
        Upscaling factor (4 officially).
    """

    def __init__(
        self,
        num_feat: int = 64,
        num_block: int = 30,
        keyframe_stride: int = 5,
        temporal_padding: int = 2,
        scale: int = 4,
    ) -> None:
        super().__init__()
        self.num_feat = num_feat
        self.keyframe_stride = keyframe_stride
        self.temporal_padding = temporal_padding
        self.edvr = EDVRFeatureExtractor(temporal_padding * 2 + 1, num_feat)
        self.spynet = SpyNet()
        self.backward_fusion = nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1)
        self.backward_trunk = ConvResidualBlocks(num_feat + 3, num_feat, num_block)
        self.forward_fusion = nn.Conv2d(2 * num_feat, num_feat, 3, 1, 1)
        self.forward_trunk = ConvResidualBlocks(2 * num_feat + 3, num_feat, num_block)
        self._build_upsampler(num_feat, scale)
        accept_mmagic_keys(self)

    def _keyframe_features(self, x: Tensor, keyframes: list[int]) -> dict[int, Tensor]:
        t = x.shape[1]
        p = self.temporal_padding
        feats = {}
        for i in keyframes:
            if t >= 2 * p + 1:
                # Official padding: the clip is extended by frames [4, 3] before and [-4, -5] after
                # (p=2; [6, 5, 4] / [-5, -6, -7] for p=3), i.e. index -k -> k + p and
                # t-1+k -> t-1-(k+p): a mirror that skips p frames next to the end.
                idx = [k if k >= 0 else -k + p for k in range(i - p, i + p + 1)]
                idx = [k if k < t else 2 * (t - 1) - k - p for k in idx]
            else:
                idx = window_indices(i, t, 2 * p + 1)
            feats[i] = self.edvr(x[:, idx].contiguous())
        return feats

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T, 3, H, W)`` in [0, 1] -> ``(N, T, 3, sH, sW)``."""
        x, h_in, w_in = _pad_to_multiple(x, 4)
        b, n, _, h, w = x.shape
        keyframes = list(range(0, n, self.keyframe_stride))
        if keyframes[-1] != n - 1:
            keyframes.append(n - 1)
        if n >= 2:
            flows_forward, flows_backward = compute_flows(self.spynet, x)
        key_feats = self._keyframe_features(x, keyframes)

        feats_back: list[Tensor] = [x.new_empty(0)] * n
        feat_prop = x.new_zeros(b, self.num_feat, h, w)
        for i in range(n - 1, -1, -1):
            if i < n - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            if i in key_feats:
                feat_prop = self.backward_fusion(torch.cat([feat_prop, key_feats[i]], 1))
            feat_prop = self.backward_trunk(torch.cat([x[:, i], feat_prop], 1))
            feats_back[i] = feat_prop

        outs = []
        feat_prop = torch.zeros_like(feat_prop)
        for i in range(n):
            if i > 0:
                feat_prop = flow_warp(feat_prop, flows_forward[:, i - 1].permute(0, 2, 3, 1))
            if i in key_feats:
                feat_prop = self.forward_fusion(torch.cat([feat_prop, key_feats[i]], 1))
            feat_prop = self.forward_trunk(torch.cat([x[:, i], feats_back[i], feat_prop], 1))
            outs.append(self._upsample(feat_prop, x[:, i]))
        s = self.scale
        return torch.stack(outs, dim=1)[..., : s * h_in, : s * w_in]


def build(scale: int = 4, **hparams: Any) -> IconVSR:
    """Build :class:`IconVSR` (``num_feat``, ``num_block``, ``keyframe_stride``, ``temporal_padding``)."""
    return IconVSR(scale=scale, **hparams)


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """Hyper-parameters of an IconVSR state_dict (BasicSR or mmagic keys), else ``None``."""
    sd = basicsr_keys_if_has(
        state_dict,
        "edvr.conv_first.weight",
        "spynet.basic_module.0.basic_module.0.weight",
        "backward_fusion.weight",
        "forward_trunk.main.0.weight",
    )
    if sd is None:
        return None
    num_feat = int(sd["backward_trunk.main.0.weight"].shape[0])
    n_frames = sd["edvr.fusion.feat_fusion.weight"].shape[1] // num_feat
    return {
        "scale": scale_from_keys(sd),
        "num_feat": num_feat,
        "num_block": count_blocks(sd, "backward_trunk.main.2."),
        "temporal_padding": int(n_frames // 2),
    }


SPECS = [
    ArchSpec(
        name="iconvsr",
        build=build,
        scales=SUPPORTED_SCALES,
        detect=detect,
        video=True,
        description="IconVSR (Chan et al. 2021): BasicVSR + EDVR-M information refill + coupled propagation, x4 (x2/x8/x16 when trained)",
        defaults={"num_feat": 64, "num_block": 30, "keyframe_stride": 5, "temporal_padding": 2},
    )
]
