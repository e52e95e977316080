"""BasicVSR++: second-order grid propagation with flow-guided deformable alignment.

Follows mmagic's ``BasicVSRPlusPlusNet`` / BasicSR's ``BasicVSRPlusPlus`` (low-resolution input
setting, ``is_low_res_input=True``). Module names are BasicSR's (``spynet``, ``feat_extract``,
``deform_align.{backward,forward}_{1,2}``, ``backbone.*``, ``reconstruction``, ``upconv1``, ``upconv2``,
``conv_hr``, ``conv_last``); mmagic keys (``upsample1.upsample_conv``, SPyNet ``.conv``) load too.

Input ``(N, T, 3, H, W)`` in [0, 1], output ``(N, T, 3, sH, sW)``.

Differences from the reference:

- The published code asserts H, W >= 64 (SPyNet's 6-level pyramid has nothing left to match below
  that). This implementation does not refuse smaller inputs: SPyNet resizes any input to a multiple
  of 32, so the network runs, but flows on 16x16 or 32x32 frames are unreliable. The benchmark method
  (:mod:`srmer.sr.video`) therefore brings 16- and 32-pixel clips to 64x64 by bicubic interpolation
  first ("pre" strategy); see docs/video_sr.md.
- ``scale`` may be 2, 4, 8 or 16 (extra ``upconvK`` stages) for models trained for a factor; official
  checkpoints are x4. The mirror-extension shortcut and CPU caching of mmagic are omitted (speed and
  memory only; same output).

References
----------
Chan, Zhou, Xu & Loy, "BasicVSR++: Improving Video Super-Resolution with Enhanced Propagation and
Alignment", CVPR 2022.
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
from srmer.sr.archs.dcn import ModulatedDeformConv2d
from srmer.sr.archs.spynet import (
    ConvResidualBlocks,
    SpyNet,
    accept_mmagic_keys,
    basicsr_keys_if_has,
    count_blocks,
    flow_warp,
)

__all__ = ["SPECS", "BasicVSRPlusPlus", "SecondOrderDeformableAlignment", "build", "detect"]

_MODULES = ("backward_1", "forward_1", "backward_2", "forward_2")


class SecondOrderDeformableAlignment(ModulatedDeformConv2d):
    """Flow-guided deformable alignment of the two previous propagated features.

    ``conv_offset`` (indices 0, 2, 4, 6 as in the official Sequential) predicts residual offsets
    (bounded by ``max_residue_magnitude * tanh``) added to the optical flows, and masks.

    ``forward(x, extra_feat, flow_1, flow_2)``: ``x`` ``(N, 2C, H, W)`` = [feature n-1, feature n-2];
    ``extra_feat`` ``(N, 3C, H, W)`` = [warped n-1, current, warped n-2]; flows ``(N, 2, H, W)``
    (x, y) to n-1 and n-2. Returns ``(N, C, H, W)``.
    """

    def __init__(self, *args, max_residue_magnitude: float = 10.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_residue_magnitude = max_residue_magnitude
        c = self.out_channels
        self.conv_offset = nn.Sequential(
            nn.Conv2d(3 * c + 4, c, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(c, c, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(c, c, 3, 1, 1),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(c, 27 * self.deformable_groups, 3, 1, 1),
        )
        nn.init.zeros_(self.conv_offset[-1].weight)
        nn.init.zeros_(self.conv_offset[-1].bias)

    def forward(self, x: Tensor, extra_feat: Tensor, flow_1: Tensor, flow_2: Tensor) -> Tensor:  # type: ignore[override]
        out = self.conv_offset(torch.cat([extra_feat, flow_1, flow_2], dim=1))
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = self.max_residue_magnitude * torch.tanh(torch.cat((o1, o2), dim=1))
        off_1, off_2 = torch.chunk(offset, 2, dim=1)
        # flows are (x, y); offsets are (dy, dx) per tap: flip and repeat over taps and groups
        off_1 = off_1 + flow_1.flip(1).repeat(1, off_1.shape[1] // 2, 1, 1)
        off_2 = off_2 + flow_2.flip(1).repeat(1, off_2.shape[1] // 2, 1, 1)
        return super().forward(x, torch.cat([off_1, off_2], dim=1), torch.sigmoid(mask))


class BasicVSRPlusPlus(PixelShuffleUpsampler, nn.Module):
    """BasicVSR++ for low-resolution input.

    Parameters
    ----------
    mid_channels : int
        64.
    num_blocks : int
        Residual blocks per propagation branch (7).
    max_residue_magnitude : float
        Bound on the learned offset residue around the flow (10).
    deform_groups : int
        Deformable groups of the alignment (16); even, half for each of the two aligned features.
    scale : int
        Upscaling factor (4 officially).
    """

    def __init__(
        self,
        mid_channels: int = 64,
        num_blocks: int = 7,
        max_residue_magnitude: float = 10.0,
        deform_groups: int = 16,
        scale: int = 4,
    ) -> None:
        super().__init__()
        if deform_groups % 2:
            # half the groups align feature n-1, the other half feature n-2
            raise ValueError(
                f"BasicVSR++ needs an even number of deform_groups, got {deform_groups}"
            )
        self.mid_channels = mid_channels
        self.spynet = SpyNet()
        self.feat_extract = ConvResidualBlocks(3, mid_channels, 5)
        self.deform_align = nn.ModuleDict()
        self.backbone = nn.ModuleDict()
        for i, name in enumerate(_MODULES):
            self.deform_align[name] = SecondOrderDeformableAlignment(
                2 * mid_channels,
                mid_channels,
                3,
                padding=1,
                deformable_groups=deform_groups,
                max_residue_magnitude=max_residue_magnitude,
            )
            self.backbone[name] = ConvResidualBlocks(
                (2 + i) * mid_channels, mid_channels, num_blocks
            )
        self.reconstruction = ConvResidualBlocks(5 * mid_channels, mid_channels, 5)
        self._build_upsampler(mid_channels, scale)
        accept_mmagic_keys(self)

    def _propagate(self, feats: dict[str, list[Tensor]], flows: Tensor | None, name: str) -> None:
        t = len(feats["spatial"])
        frame_idx = list(range(t))
        if name.startswith("backward"):
            frame_idx = frame_idx[::-1]
        # flows[:, j] for the step into frame idx: backward uses flow idx -> idx+1 (index idx),
        # forward uses flow idx -> idx-1 (index idx-1)
        flow_idx = frame_idx if name.startswith("backward") else [i - 1 for i in frame_idx]
        ref = feats["spatial"][0]
        feat_prop = ref.new_zeros(ref.shape[0], self.mid_channels, *ref.shape[2:])
        out: list[Tensor] = []
        feats[name] = out
        for i, idx in enumerate(frame_idx):
            feat_current = feats["spatial"][idx]
            if i > 0:
                assert flows is not None
                flow_n1 = flows[:, flow_idx[i]]
                cond_n1 = flow_warp(feat_prop, flow_n1.permute(0, 2, 3, 1))
                feat_n2 = torch.zeros_like(feat_prop)
                flow_n2 = torch.zeros_like(flow_n1)
                cond_n2 = torch.zeros_like(cond_n1)
                if i > 1:
                    feat_n2 = out[-2]
                    flow_n2 = flows[:, flow_idx[i - 1]]
                    # compose the two steps: flow to n-2 = flow to n-1 + warped flow n-1 -> n-2
                    flow_n2 = flow_n1 + flow_warp(flow_n2, flow_n1.permute(0, 2, 3, 1))
                    cond_n2 = flow_warp(feat_n2, flow_n2.permute(0, 2, 3, 1))
                cond = torch.cat([cond_n1, feat_current, cond_n2], dim=1)
                feat_prop = self.deform_align[name](
                    torch.cat([feat_prop, feat_n2], dim=1), cond, flow_n1, flow_n2
                )
            others = [feats[k][idx] for k in feats if k not in ("spatial", name)]
            feat = torch.cat([feat_current, *others, feat_prop], dim=1)
            feat_prop = feat_prop + self.backbone[name](feat)
            out.append(feat_prop)
        if name.startswith("backward"):
            out.reverse()

    def forward(self, lqs: Tensor) -> Tensor:
        """``(N, T, 3, H, W)`` in [0, 1] -> ``(N, T, 3, sH, sW)``."""
        n, t, c, h, w = lqs.shape
        feats_ = self.feat_extract(lqs.reshape(-1, c, h, w)).view(n, t, -1, h, w)
        feats: dict[str, list[Tensor]] = {"spatial": [feats_[:, i] for i in range(t)]}
        flows_forward = flows_backward = None
        if t >= 2:
            flows_forward, flows_backward = compute_flows(self.spynet, lqs)
        for it in (1, 2):
            for direction in ("backward", "forward"):
                flows = flows_backward if direction == "backward" else flows_forward
                self._propagate(feats, flows, f"{direction}_{it}")
        outs = []
        for i in range(t):
            hr = torch.cat([feats["spatial"][i]] + [feats[k][i] for k in _MODULES], dim=1)
            outs.append(self._upsample(self.reconstruction(hr), lqs[:, i]))
        return torch.stack(outs, dim=1)


def build(scale: int = 4, **hparams: Any) -> BasicVSRPlusPlus:
    """Build :class:`BasicVSRPlusPlus` (``mid_channels``, ``num_blocks``, ``max_residue_magnitude``,
    ``deform_groups``)."""
    return BasicVSRPlusPlus(scale=scale, **hparams)


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """Hyper-parameters of a BasicVSR++ state_dict (BasicSR or mmagic keys), else ``None``."""
    sd = basicsr_keys_if_has(
        state_dict,
        "feat_extract.main.0.weight",
        "deform_align.backward_1.conv_offset.6.weight",
        "backbone.forward_2.main.0.weight",
        "reconstruction.main.0.weight",
    )
    if sd is None or sd["feat_extract.main.0.weight"].shape[1] != 3:
        return None
    mid = int(sd["feat_extract.main.0.weight"].shape[0])
    return {
        "scale": scale_from_keys(sd),
        "mid_channels": mid,
        "num_blocks": count_blocks(sd, "backbone.backward_1.main.2."),
        "deform_groups": int(sd["deform_align.backward_1.conv_offset.6.weight"].shape[0] // 27),
    }


SPECS = [
    ArchSpec(
        name="basicvsrpp",
        build=build,
        scales=SUPPORTED_SCALES,
        detect=detect,
        video=True,
        description="BasicVSR++ (Chan et al. 2022): second-order grid propagation, flow-guided DCN, x4 (x2/x8/x16 when trained)",
        defaults={
            "mid_channels": 64,
            "num_blocks": 7,
            "max_residue_magnitude": 10.0,
            "deform_groups": 16,
        },
    )
]
