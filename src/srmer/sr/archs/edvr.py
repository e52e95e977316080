"""EDVR: video restoration with PCD (pyramid, cascading, deformable) alignment and TSA fusion.

Follows BasicSR's ``EDVR`` (module names, forward pass); mmagic's ``EDVRNet`` keys load too (ConvModule
``.conv`` levels, ``feat_lN_convM``, ``pcd_alignment`` and ``upsampleK.upsample_conv`` are renamed by
:func:`srmer.sr.archs.spynet.to_basicsr_keys`). Deformable convolutions use the pure-PyTorch
:mod:`srmer.sr.archs.dcn`.

EDVR is a sliding-window model: ``forward`` takes ``num_frame`` LR frames ``(N, num_frame, 3, H, W)``
in [0, 1] and returns the SR centre frame ``(N, 3, 4H, 4W)``, exactly as published. :meth:`EDVR.sr_clip`
gives the video contract ``(N, T, 3, H, W) -> (N, T, 3, 4H, 4W)`` by running one window per frame with
mirrored frame indices at the clip ends (BasicSR's ``reflection`` padding) and reflect-padding H, W to a
multiple of 4 (the official code asserts instead).

Configurations: EDVR-M (64 features, 5 extraction / 10 reconstruction blocks) and EDVR-L (128 features,
5 / 40), 5 frames, 8 deformable groups, TSA fusion. Not supported: the pre-deblurring module
(``with_predeblur``, used only by the deblurring checkpoints) and HR input (``hr_in``).

References
----------
Wang, Chan, Yu, Dong & Loy, "EDVR: Video Restoration with Enhanced Deformable Convolutional Networks",
CVPR Workshops 2019.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.basicvsr import SUPPORTED_SCALES, PixelShuffleUpsampler, scale_from_keys
from srmer.sr.archs.dcn import DCNv2Pack
from srmer.sr.archs.spynet import (
    ResidualBlockNoBN,
    accept_mmagic_keys,
    basicsr_keys_if_has,
    count_blocks,
)

__all__ = [
    "EDVR",
    "SPECS",
    "EDVRFeatureExtractor",
    "PCDAlignment",
    "TSAFusion",
    "build_l",
    "build_m",
]


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(negative_slope=0.1, inplace=True)


class PCDAlignment(nn.Module):
    """Pyramid (3 levels), cascading, deformable alignment of a neighbour to the reference frame.

    ``forward(nbr_feat_l, ref_feat_l)`` takes lists of three ``(N, C, H/2^l, W/2^l)`` features
    (L1, L2, L3) and returns the aligned L1 feature ``(N, C, H, W)``.
    """

    def __init__(self, num_feat: int = 64, deformable_groups: int = 8) -> None:
        super().__init__()
        self.offset_conv1 = nn.ModuleDict()
        self.offset_conv2 = nn.ModuleDict()
        self.offset_conv3 = nn.ModuleDict()
        self.dcn_pack = nn.ModuleDict()
        self.feat_conv = nn.ModuleDict()
        for i in range(3, 0, -1):
            level = f"l{i}"
            self.offset_conv1[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
            if i == 3:
                self.offset_conv2[level] = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            else:
                self.offset_conv2[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
                self.offset_conv3[level] = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
            self.dcn_pack[level] = DCNv2Pack(
                num_feat, num_feat, 3, padding=1, deformable_groups=deformable_groups
            )
            if i < 3:
                self.feat_conv[level] = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.cas_offset_conv1 = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.cas_offset_conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.cas_dcnpack = DCNv2Pack(
            num_feat, num_feat, 3, padding=1, deformable_groups=deformable_groups
        )
        self.lrelu = _lrelu()

    @staticmethod
    def _up(x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, nbr_feat_l: list[Tensor], ref_feat_l: list[Tensor]) -> Tensor:
        up_offset: Tensor | None = None
        up_feat: Tensor | None = None
        feat = nbr_feat_l[0]
        for i in range(3, 0, -1):
            level = f"l{i}"
            offset = self.lrelu(
                self.offset_conv1[level](torch.cat([nbr_feat_l[i - 1], ref_feat_l[i - 1]], 1))
            )
            if i == 3:
                offset = self.lrelu(self.offset_conv2[level](offset))
            else:
                offset = self.lrelu(self.offset_conv2[level](torch.cat([offset, up_offset], 1)))
                offset = self.lrelu(self.offset_conv3[level](offset))
            feat = self.dcn_pack[level](nbr_feat_l[i - 1], offset)
            if i < 3:
                feat = self.feat_conv[level](torch.cat([feat, up_feat], 1))
            if i > 1:
                feat = self.lrelu(feat)
                # offsets are in pixels of the coarser level: double them with the resolution
                up_offset = self._up(offset) * 2
                up_feat = self._up(feat)
        offset = torch.cat([feat, ref_feat_l[0]], 1)
        offset = self.lrelu(self.cas_offset_conv2(self.lrelu(self.cas_offset_conv1(offset))))
        return self.lrelu(self.cas_dcnpack(feat, offset))


class TSAFusion(nn.Module):
    """Temporal and spatial attention fusion: ``(N, T, C, H, W)`` aligned features -> ``(N, C, H, W)``."""

    def __init__(self, num_feat: int = 64, num_frame: int = 5, center_frame_idx: int = 2) -> None:
        super().__init__()
        self.center_frame_idx = center_frame_idx
        self.temporal_attn1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.temporal_attn2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.feat_fusion = nn.Conv2d(num_frame * num_feat, num_feat, 1, 1)
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.spatial_attn1 = nn.Conv2d(num_frame * num_feat, num_feat, 1)
        self.spatial_attn2 = nn.Conv2d(num_feat * 2, num_feat, 1)
        self.spatial_attn3 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn4 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn5 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn_l1 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn_l2 = nn.Conv2d(num_feat * 2, num_feat, 3, 1, 1)
        self.spatial_attn_l3 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.spatial_attn_add1 = nn.Conv2d(num_feat, num_feat, 1)
        self.spatial_attn_add2 = nn.Conv2d(num_feat, num_feat, 1)
        self.lrelu = _lrelu()

    @staticmethod
    def _up_to(x: Tensor, ref: Tensor) -> Tensor:
        # The official code upsamples x2; sizing to the reference also handles odd feature sizes.
        if x.shape[-2] * 2 == ref.shape[-2] and x.shape[-1] * 2 == ref.shape[-1]:
            return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, aligned_feat: Tensor) -> Tensor:
        b, t, c, h, w = aligned_feat.shape
        emb_ref = self.temporal_attn1(aligned_feat[:, self.center_frame_idx])
        emb = self.temporal_attn2(aligned_feat.reshape(-1, c, h, w)).view(b, t, -1, h, w)
        corr = torch.sigmoid((emb * emb_ref.unsqueeze(1)).sum(2))  # (b, t, h, w)
        aligned = (aligned_feat * corr.unsqueeze(2)).reshape(b, -1, h, w)

        feat = self.lrelu(self.feat_fusion(aligned))
        attn = self.lrelu(self.spatial_attn1(aligned))
        attn = self.lrelu(
            self.spatial_attn2(torch.cat([self.max_pool(attn), self.avg_pool(attn)], 1))
        )
        attn_level = self.lrelu(self.spatial_attn_l1(attn))
        attn_level = self.lrelu(
            self.spatial_attn_l2(
                torch.cat([self.max_pool(attn_level), self.avg_pool(attn_level)], 1)
            )
        )
        attn_level = self._up_to(self.lrelu(self.spatial_attn_l3(attn_level)), attn)
        attn = self.lrelu(self.spatial_attn3(attn)) + attn_level
        attn = self._up_to(self.lrelu(self.spatial_attn4(attn)), feat)
        attn = self.spatial_attn5(attn)
        attn_add = self.spatial_attn_add2(self.lrelu(self.spatial_attn_add1(attn)))
        attn = torch.sigmoid(attn)
        return feat * attn * 2 + attn_add


class _EDVRFrontEnd(nn.Module):
    """Feature extraction, 3-level pyramid, PCD alignment and fusion (shared by EDVR and IconVSR)."""

    def _build_front(
        self,
        num_feat: int,
        num_frame: int,
        deformable_groups: int,
        num_extract_block: int,
        center_frame_idx: int,
        with_tsa: bool,
    ) -> None:
        self.center_frame_idx = center_frame_idx
        self.num_frame = num_frame
        self.with_tsa = with_tsa
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.feature_extraction = nn.Sequential(
            *[ResidualBlockNoBN(num_feat) for _ in range(num_extract_block)]
        )
        self.conv_l2_1 = nn.Conv2d(num_feat, num_feat, 3, 2, 1)
        self.conv_l2_2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_l3_1 = nn.Conv2d(num_feat, num_feat, 3, 2, 1)
        self.conv_l3_2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.pcd_align = PCDAlignment(num_feat, deformable_groups)
        if with_tsa:
            self.fusion: nn.Module = TSAFusion(num_feat, num_frame, center_frame_idx)
        else:
            self.fusion = nn.Conv2d(num_frame * num_feat, num_feat, 1, 1)
        self.lrelu = _lrelu()

    def _pyramid(self, x: Tensor) -> list[Tensor]:
        """Per-frame features at 3 levels: ``(N, T, C, H/2^l, W/2^l)`` for l = 0, 1, 2."""
        b, t, c, h, w = x.shape
        feat_l1 = self.feature_extraction(self.lrelu(self.conv_first(x.reshape(-1, c, h, w))))
        feat_l2 = self.lrelu(self.conv_l2_2(self.lrelu(self.conv_l2_1(feat_l1))))
        feat_l3 = self.lrelu(self.conv_l3_2(self.lrelu(self.conv_l3_1(feat_l2))))
        return [f.view(b, t, *f.shape[1:]) for f in (feat_l1, feat_l2, feat_l3)]

    def _align_fuse(self, levels: list[Tensor], idx: list[int]) -> Tensor:
        """PCD-align the frames ``idx`` of a pyramid to the window's centre, then fuse."""
        ref = [f[:, idx[self.center_frame_idx]] for f in levels]
        aligned = torch.stack([self.pcd_align([f[:, i] for f in levels], ref) for i in idx], dim=1)
        if self.with_tsa:
            return self.fusion(aligned)
        return self.fusion(aligned.flatten(1, 2))

    def _fused_features(self, x: Tensor) -> Tensor:
        return self._align_fuse(self._pyramid(x), list(range(x.shape[1])))


class EDVRFeatureExtractor(_EDVRFrontEnd):
    """EDVR-M front end used by IconVSR's information refill (BasicSR ``EDVRFeatureExtractor``).

    ``forward((N, num_frame, 3, H, W)) -> (N, num_feat, H, W)``, the fused feature of the centre frame.
    """

    def __init__(self, num_input_frame: int = 5, num_feat: int = 64) -> None:
        super().__init__()
        self._build_front(num_feat, num_input_frame, 8, 5, num_input_frame // 2, True)

    def forward(self, x: Tensor) -> Tensor:
        return self._fused_features(x)


def _pad_to_multiple(x: Tensor, m: int) -> tuple[Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        lead = x.shape[:-3]
        flat = x.reshape(-1, *x.shape[-3:])
        mode = "reflect" if ph < h and pw < w else "replicate"
        flat = F.pad(flat, [0, pw, 0, ph], mode=mode)
        x = flat.view(*lead, *flat.shape[-3:])
    return x, h, w


def window_indices(center: int, n_total: int, n_window: int) -> list[int]:
    """Frame indices of the ``n_window`` window centred on ``center`` with mirrored clip ends.

    BasicSR's ``generate_frame_indices(padding='reflection')``: index ``-k`` becomes ``k`` and
    ``n_total - 1 + k`` becomes ``n_total - 1 - k``; clips too short to mirror repeat their end frames.
    """
    half = n_window // 2
    out = []
    for i in range(center - half, center + half + 1):
        if i < 0:
            i = -i
        elif i > n_total - 1:
            i = 2 * (n_total - 1) - i
        out.append(min(max(i, 0), n_total - 1))
    return out


class EDVR(PixelShuffleUpsampler, _EDVRFrontEnd):
    """EDVR for video SR (BasicSR names).

    Parameters
    ----------
    num_feat : int
        64 (EDVR-M) or 128 (EDVR-L).
    num_frame : int
        Frames per window (5; 7 for the Vimeo-90K models).
    deformable_groups : int
        8.
    num_extract_block, num_reconstruct_block : int
        5 and 10 (M) or 5 and 40 (L).
    center_frame_idx : int, optional
        Reference frame in the window (default the middle).
    with_tsa : bool
        TSA fusion (True) or a 1x1 conv fusion.
    scale : int
        4 for the official models; 2, 8 or 16 add or drop ``upconvK`` pixel-shuffle stages (for models
        trained for that factor).
    """

    def __init__(
        self,
        num_feat: int = 64,
        num_frame: int = 5,
        deformable_groups: int = 8,
        num_extract_block: int = 5,
        num_reconstruct_block: int = 10,
        center_frame_idx: int | None = None,
        with_tsa: bool = True,
        scale: int = 4,
    ) -> None:
        super().__init__()
        center = num_frame // 2 if center_frame_idx is None else center_frame_idx
        self._build_front(
            num_feat, num_frame, deformable_groups, num_extract_block, center, with_tsa
        )
        self.reconstruction = nn.Sequential(
            *[ResidualBlockNoBN(num_feat) for _ in range(num_reconstruct_block)]
        )
        self._build_upsampler(num_feat, scale)
        accept_mmagic_keys(self)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, num_frame, 3, H, W)`` in [0, 1], H and W multiples of 4 -> centre frame ``(N, 3, sH, sW)``."""
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(
                f"EDVR needs H and W divisible by 4, got {tuple(x.shape[-2:])}; use sr_clip"
            )
        out = self.reconstruction(self._fused_features(x))
        return self._upsample(out, x[:, self.center_frame_idx])

    def sr_clip(self, x: Tensor) -> Tensor:
        """Whole clip ``(N, T, 3, H, W)`` -> ``(N, T, 3, sH, sW)``, one sliding window per frame.

        Same result as calling :meth:`forward` on each window, but the per-frame pyramid features are
        computed once per clip instead of once per window.
        """
        x, h, w = _pad_to_multiple(x, 4)
        t = x.shape[1]
        levels = self._pyramid(x)
        outs = []
        for i in range(t):
            feat = self._align_fuse(levels, window_indices(i, t, self.num_frame))
            outs.append(self._upsample(self.reconstruction(feat), x[:, i]))
        s = self.scale
        return torch.stack(outs, dim=1)[..., : s * h, : s * w]


def build(scale: int = 4, **hparams: Any) -> EDVR:
    """Build :class:`EDVR` with the given hyper-parameters (defaults: EDVR-M)."""
    return EDVR(scale=scale, **hparams)


# Hyper-parameters of the published EDVR-M and EDVR-L (also the registry's defaults).
_EDVR_M: dict[str, Any] = {
    "num_feat": 64,
    "num_frame": 5,
    "deformable_groups": 8,
    "num_extract_block": 5,
    "num_reconstruct_block": 10,
    "with_tsa": True,
}
_EDVR_L: dict[str, Any] = {**_EDVR_M, "num_feat": 128, "num_reconstruct_block": 40}


def build_m(scale: int = 4, **hparams: Any) -> EDVR:
    """EDVR-M: 64 features, 5 extraction and 10 reconstruction blocks."""
    return EDVR(**{**_EDVR_M, "scale": scale, **hparams})


def build_l(scale: int = 4, **hparams: Any) -> EDVR:
    """EDVR-L: 128 features, 5 extraction and 40 reconstruction blocks."""
    return EDVR(**{**_EDVR_L, "scale": scale, **hparams})


def detect(state_dict: StateDict) -> dict[str, Any] | None:
    """Hyper-parameters of an EDVR SR state_dict (BasicSR or mmagic keys), else ``None``."""
    sd = basicsr_keys_if_has(
        state_dict,
        "conv_first.weight",
        "pcd_align.cas_dcnpack.weight",
        "reconstruction.0.conv1.weight",
        "upconv1.weight",
    )
    if sd is None or "predeblur.stride_conv_l2.weight" in sd or "spynet.mean" in sd:
        return None
    num_feat = int(sd["conv_first.weight"].shape[0])
    with_tsa = "fusion.feat_fusion.weight" in sd
    fusion_in = sd["fusion.feat_fusion.weight" if with_tsa else "fusion.weight"].shape[1]
    k = sd["pcd_align.cas_dcnpack.weight"].shape[-1] * sd["pcd_align.cas_dcnpack.weight"].shape[-2]
    return {
        "scale": scale_from_keys(sd),
        "num_feat": num_feat,
        "num_frame": int(fusion_in // num_feat),
        "deformable_groups": int(
            sd["pcd_align.cas_dcnpack.conv_offset.weight"].shape[0] // (3 * k)
        ),
        "num_extract_block": count_blocks(sd, "feature_extraction."),
        "num_reconstruct_block": count_blocks(sd, "reconstruction."),
        "with_tsa": with_tsa,
    }


def _detect_variant(name: str):
    def _detect(state_dict: StateDict) -> dict[str, Any] | None:
        hp = detect(state_dict)
        if hp is None:
            return None
        large = hp["num_feat"] >= 128
        return hp if (name == "edvr_l") == large else None

    return _detect


SPECS = [
    ArchSpec(
        name="edvr",
        build=build_m,
        scales=SUPPORTED_SCALES,
        detect=_detect_variant("edvr"),
        video=True,
        # the PCD pyramid halves the LR input twice
        window_multiple=4,
        description="EDVR-M (Wang et al. 2019): PCD alignment + TSA fusion, 5-frame windows, x4 (x2/x8/x16 when trained)",
        defaults=_EDVR_M,
    ),
    ArchSpec(
        name="edvr_l",
        build=build_l,
        scales=SUPPORTED_SCALES,
        detect=_detect_variant("edvr_l"),
        video=True,
        window_multiple=4,
        description="EDVR-L (Wang et al. 2019): 128 features, 40 reconstruction blocks, x4 (x2/x8/x16 when trained)",
        defaults=_EDVR_L,
    ),
]
