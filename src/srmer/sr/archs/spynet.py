"""SPyNet optical flow and the building blocks shared by the video SR architectures.

Holds what EDVR, BasicVSR, IconVSR, BasicVSR++ and RealBasicVSR share: :class:`SpyNet`, backward
warping :func:`flow_warp`, the residual blocks (:class:`ResidualBlockNoBN`, :class:`ConvResidualBlocks`)
and the conversion of mmagic (mmediting) state_dict keys to the BasicSR names used by every module here
(:func:`to_basicsr_keys`, :func:`accept_mmagic_keys`, :func:`basicsr_keys_if_has`).

Key styles
----------
Modules reproduce BasicSR's names. mmagic checkpoints differ in four systematic ways, all converted by
:func:`to_basicsr_keys` (idempotent on BasicSR keys):

- SPyNet: ``basic_module.L.basic_module.K.conv.weight`` (ConvModule at Sequential index K = 0..4) ->
  ``basic_module.L.basic_module.(2K).weight`` (BasicSR's Sequential interleaves ReLUs);
- every other ``ConvModule`` adds a ``.conv`` level: ``X.conv.weight`` -> ``X.weight``;
- ``upsample1.upsample_conv`` / ``upsample2.upsample_conv`` (PixelShufflePack) -> ``upconv1`` / ``upconv2``;
- renamed modules: ``backward_resblocks``/``forward_resblocks`` -> ``backward_trunk``/``forward_trunk``,
  ``feat_lN_convM`` -> ``conv_lN_M``, ``pcd_alignment`` -> ``pcd_align``.

References
----------
Ranjan & Black, "Optical Flow Estimation using a Spatial Pyramid Network", CVPR 2017 (the BasicVSR
variant: 6 levels, no batch norm, ImageNet normalisation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ConvResidualBlocks",
    "ResidualBlockNoBN",
    "SpyNet",
    "accept_mmagic_keys",
    "basicsr_keys_if_has",
    "flow_warp",
    "to_basicsr_keys",
]

_SPYNET_RE = re.compile(r"(^|\.)basic_module\.(\d+)\.basic_module\.(\d+)\.conv\.(weight|bias)$")
_CONVMODULE_RE = re.compile(r"\.conv\.(weight|bias)$")
_RENAMES = [
    (re.compile(r"(^|\.)upsample([12])\.upsample_conv\."), r"\1upconv\2."),
    (re.compile(r"(^|\.)(backward|forward)_resblocks\."), r"\1\2_trunk."),
    (re.compile(r"(^|\.)feat_l([23])_conv([12])\."), r"\1conv_l\2_\3."),
    (re.compile(r"(^|\.)pcd_alignment\."), r"\1pcd_align."),
]


def _basicsr_name(key: str) -> str:
    m = _SPYNET_RE.search(key)
    if m:
        head = key[: m.start()] + m.group(1)
        return f"{head}basic_module.{m.group(2)}.basic_module.{2 * int(m.group(3))}.{m.group(4)}"
    key = _CONVMODULE_RE.sub(r".\1", key)
    for pattern, repl in _RENAMES:
        key = pattern.sub(repl, key)
    return key


def to_basicsr_keys(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Rename mmagic-style keys to the BasicSR names used by this package's video modules.

    Parameters
    ----------
    state_dict : mapping
        Keys to tensors, already unwrapped of ``params``/``state_dict`` containers and ``generator.``
        prefixes. BasicSR keys pass through unchanged.

    Returns
    -------
    dict
        A new dict with converted keys (same tensors).
    """
    return {_basicsr_name(k): v for k, v in state_dict.items()}


def basicsr_keys_if_has(state_dict: Mapping[str, Any], *required: str) -> dict[str, Any] | None:
    """:func:`to_basicsr_keys` of ``state_dict`` when it holds every ``required`` key, else ``None``.

    The first step of each video architecture's ``detect``: convert mmagic names once, then check for
    the keys (BasicSR names) that identify the architecture.
    """
    sd = to_basicsr_keys(state_dict)
    return sd if all(k in sd for k in required) else None


def _convert_hook(module, state_dict, prefix, *args) -> None:
    for key in [k for k in state_dict if k.startswith(prefix)]:
        new = prefix + _basicsr_name(key[len(prefix) :])
        if new != key:
            state_dict[new] = state_dict.pop(key)


def accept_mmagic_keys(module: nn.Module) -> nn.Module:
    """Make ``module.load_state_dict`` accept mmagic key names as well as BasicSR's (returns ``module``).

    Registers a load pre-hook that renames keys with :func:`to_basicsr_keys` before loading, so the
    loader needs no per-architecture remapping and ``strict=True`` still catches real mismatches.
    """
    module.register_load_state_dict_pre_hook(_convert_hook)
    return module


def flow_warp(
    x: Tensor, flow: Tensor, interp_mode: str = "bilinear", padding_mode: str = "zeros"
) -> Tensor:
    """Backward-warp ``x`` with a dense flow (BasicSR ``flow_warp``).

    Parameters
    ----------
    x : Tensor
        ``(N, C, H, W)``.
    flow : Tensor
        ``(N, H, W, 2)`` in pixels; ``flow[..., 0]`` horizontal (x), ``flow[..., 1]`` vertical (y).
        Output pixel ``(y, x)`` samples ``x`` at ``(y + flow_y, x + flow_x)``.
    interp_mode, padding_mode : str
        As for :func:`torch.nn.functional.grid_sample` (``align_corners=True``, as the official code).

    Returns
    -------
    Tensor
        ``(N, C, H, W)``.
    """
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(
        torch.arange(h, dtype=x.dtype, device=x.device),
        torch.arange(w, dtype=x.dtype, device=x.device),
        indexing="ij",
    )
    vx = 2.0 * (gx + flow[..., 0]) / max(w - 1, 1) - 1.0
    vy = 2.0 * (gy + flow[..., 1]) / max(h - 1, 1) - 1.0
    grid = torch.stack((vx, vy), dim=3)
    return F.grid_sample(x, grid, mode=interp_mode, padding_mode=padding_mode, align_corners=True)


class ResidualBlockNoBN(nn.Module):
    """``x + res_scale * conv2(relu(conv1(x)))``, no batch norm (EDSR / BasicSR / mmagic block)."""

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        # BasicSR initialises these blocks with kaiming * 0.1 so deep stacks start near identity.
        for conv in (self.conv1, self.conv2):
            nn.init.kaiming_normal_(conv.weight)
            conv.weight.data.mul_(0.1)
            nn.init.zeros_(conv.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class ConvResidualBlocks(nn.Module):
    """Conv (in -> feat) + LeakyReLU(0.1) + ``num_block`` residual blocks, in ``main`` (BasicSR names;
    mmagic's ``ResidualBlocksWithInputConv`` has the same layout and keys)."""

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 64, num_block: int = 15) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(num_in_ch, num_out_ch, 3, 1, 1, bias=True),
            nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Sequential(*[ResidualBlockNoBN(num_out_ch) for _ in range(num_block)]),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.main(x)


def count_blocks(state_dict: Mapping[str, Any], prefix: str) -> int:
    """Number of consecutive ``prefix{i}.`` entries (i = 0, 1, ...) among the keys."""
    n = 0
    while any(k.startswith(f"{prefix}{n}.") for k in state_dict):
        n += 1
    return n


class _SpyBasicModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        chans = [8, 32, 64, 32, 16, 2]
        for i in range(5):
            layers.append(nn.Conv2d(chans[i], chans[i + 1], 7, 1, 3))
            if i < 4:
                layers.append(nn.ReLU(inplace=False))
        self.basic_module = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.basic_module(x)


def _fill_spynet_buffers(module, state_dict, prefix, *args) -> None:
    # Some releases omit the normalisation buffers; they are constants, so supply them.
    for name in ("mean", "std"):
        if prefix + name not in state_dict:
            state_dict[prefix + name] = getattr(module, name).clone()


class SpyNet(nn.Module):
    """SPyNet as used by BasicVSR / IconVSR / BasicVSR++ (6 pyramid levels, 5 conv layers each).

    ``forward(ref, supp)`` returns the flow from ``ref`` to ``supp``: ``(N, 2, H, W)`` in pixels with
    channel 0 horizontal, such that ``flow_warp(supp, flow)`` approximates ``ref``. Inputs are RGB in
    [0, 1], ``(N, 3, H, W)``; sizes are internally resized to multiples of 32 and the flow rescaled back,
    as in the official code.
    """

    def __init__(self) -> None:
        super().__init__()
        self.basic_module = nn.ModuleList([_SpyBasicModule() for _ in range(6)])
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.register_load_state_dict_pre_hook(_fill_spynet_buffers)
        accept_mmagic_keys(self)

    def process(self, ref: Tensor, supp: Tensor) -> Tensor:
        refs = [(ref - self.mean) / self.std]
        supps = [(supp - self.mean) / self.std]
        for _ in range(5):
            refs.insert(0, F.avg_pool2d(refs[0], 2, 2, count_include_pad=False))
            supps.insert(0, F.avg_pool2d(supps[0], 2, 2, count_include_pad=False))
        # Level 0 starts from zero flow at the coarsest size (mmagic's form; BasicSR upsamples a
        # half-size zero field, which is the same thing but fails for 32-pixel inputs).
        flow = refs[0].new_zeros(refs[0].shape[0], 2, *refs[0].shape[2:])
        for level in range(len(refs)):
            if level == 0:
                up = flow
            else:
                up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
                if up.shape[2] != refs[level].shape[2]:
                    up = F.pad(up, [0, 0, 0, 1], mode="replicate")
                if up.shape[3] != refs[level].shape[3]:
                    up = F.pad(up, [0, 1, 0, 0], mode="replicate")
            warped = flow_warp(supps[level], up.permute(0, 2, 3, 1), padding_mode="border")
            flow = self.basic_module[level](torch.cat([refs[level], warped, up], 1)) + up
        return flow

    def forward(self, ref: Tensor, supp: Tensor) -> Tensor:
        h, w = ref.shape[2:]
        h32 = -(-h // 32) * 32
        w32 = -(-w // 32) * 32
        if (h32, w32) != (h, w):
            ref = F.interpolate(ref, size=(h32, w32), mode="bilinear", align_corners=False)
            supp = F.interpolate(supp, size=(h32, w32), mode="bilinear", align_corners=False)
        flow = self.process(ref, supp)
        if (h32, w32) != (h, w):
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
            flow = torch.stack((flow[:, 0] * (w / w32), flow[:, 1] * (h / h32)), dim=1)
        return flow
