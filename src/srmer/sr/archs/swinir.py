"""SwinIR, image restoration with Swin Transformer (Liang et al., ICCVW 2021).

Paper: J. Liang, J. Cao, G. Sun, K. Zhang, L. Van Gool, R. Timofte, "SwinIR: Image Restoration Using
Swin Transformer", ICCV Workshops 2021 (arXiv:2108.10257). Official code: JingyunLiang/SwinIR,
``models/network_swinir.py``; module names here reproduce its state_dict keys so that the released
``.pth`` files (raw, or BasicSR ``params`` / ``params_ema`` containers) load with ``strict=True``.

Layout: ``conv_first`` (3x3) -> tokens, ``patch_embed.norm`` (LayerNorm) -> residual Swin Transformer
blocks ``layers.N`` (each ``residual_group.blocks.M`` = ``norm1``, window attention
``attn.{relative_position_bias_table, qkv, proj}`` with a cyclic shift of half a window on odd blocks,
``norm2``, ``mlp.fc1/fc2``; then ``layers.N.conv``, 3x3 or the ``3conv`` bottleneck) -> ``norm`` ->
``conv_after_body`` + long skip -> reconstruction:

- ``pixelshuffle`` (classical SR): ``conv_before_upsample.0`` (to 64 features, LeakyReLU),
  ``upsample.0/.2/...`` (conv + PixelShuffle(2) per x2, or one conv + PixelShuffle(3)), ``conv_last``;
- ``pixelshuffledirect`` (lightweight SR): ``upsample.0`` (one conv to ``3 s^2`` + PixelShuffle(s));
- ``nearest+conv`` (real-world SR): ``conv_before_upsample.0``, ``conv_up1`` (and ``conv_up2`` at x4)
  after nearest x2 interpolations, ``conv_hr``, ``conv_last`` (LeakyReLU 0.2).

Standard configurations (parameter counts measured with this file):
classical ``swinir`` embed 180, depths/heads 6x6, window 8, mlp 2: 11.90 M (x4), 11.75 M (x2);
lightweight ``swinir_light`` embed 60, 4x6: 0.93 M (x4); real-world ``swinir_real`` (SwinIR-M,
``nearest+conv``) and ``swinir_real_large`` (SwinIR-L: embed 240, depths 9x6, heads 9x8, ``3conv``).
Input and output are float RGB in [0, 1] (``img_range`` 1, DIV2K mean (0.4488, 0.4371, 0.4040)
subtracted internally, as upstream); ``(N, 3, H, W) -> (N, 3, sH, sW)`` for any ``H, W``.

Deviations from the official file, none of which changes the output of a released checkpoint:

- The buffers ``relative_position_index`` (per attention module) and ``attn_mask`` (per shifted block,
  computed upstream for the ``img_size`` given at construction) are *not* state_dict entries here:
  the index is a non-persistent buffer built from the window size, and the shifted-window mask is
  computed in every forward for the actual (padded) input size, as upstream does whenever the input
  differs from ``img_size``. When an official state_dict is loaded, a load pre-hook drops these keys
  (after checking that a stored index has the shape of the rebuilt one), so ``strict=True`` loading
  of the official files works and the model's own state_dict holds learned weights only.
- ``img_size`` is not a hyper-parameter: upstream uses it only for that stored mask and to shrink the
  window when ``img_size <= window_size`` (never the case for the released models); here the window is
  always ``window_size`` and the input is padded to it. No absolute position embedding (``ape``) and no
  denoising / JPEG head (``upsampler=''``): no released SR model uses them.
- The forward pads the input by reflection on the bottom/right to a multiple of ``window_size`` and
  crops the output, as ``check_image_size`` of the later official file (the earliest version left this
  to the test script); an input side too short for one reflection is padded by repeated reflections
  (and a 1-pixel side by replication), where ``F.pad`` upstream would raise.
- Attention uses :func:`torch.nn.functional.scaled_dot_product_attention` with the relative position
  bias (plus the shift mask) as additive mask: the same softmax(q k^T / sqrt(d) + bias + mask) v,
  equal up to float rounding.
- ``nearest+conv`` also builds x2 (no ``conv_up2``), as the later official file does for the released
  real-world x2 model; the first version asserted x4.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    DIV2K_RGB_MEAN,
    Upsample,
    conv3x3,
    count_indexed,
    never,
    upsampler_scale,
)

UPSAMPLERS = ("pixelshuffle", "pixelshuffledirect", "nearest+conv")


# ----------------------------------------------------------------------------- window helpers
def window_partition(x: Tensor, ws: int) -> Tensor:
    """``(B, H, W, C)`` -> ``(B * nW, ws * ws, C)``, windows in row-major order per image."""
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(windows: Tensor, ws: int, h: int, w: int) -> Tensor:
    """Inverse of :func:`window_partition`: ``(B * nW, ws * ws, C)`` -> ``(B, H, W, C)``."""
    c = windows.shape[-1]
    x = windows.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


def relative_position_index(ws: int) -> Tensor:
    """``(ws^2, ws^2)`` index into the ``(2 ws - 1)^2`` bias table (Swin's ``relative_position_index``).

    Built on the CPU whatever the default device (so that a model constructed on ``meta`` has it too);
    ``module.to(device)`` moves it with the model.
    """
    coords = torch.stack(
        torch.meshgrid(
            torch.arange(ws, device="cpu"), torch.arange(ws, device="cpu"), indexing="ij"
        )
    ).flatten(1)  # 2, ws*ws
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
    return rel[..., 0] * (2 * ws - 1) + rel[..., 1]


def shift_window_mask(
    h: int, w: int, ws: int, shift: int, device: torch.device | str | None = None
) -> Tensor:
    """``(nW, ws^2, ws^2)`` additive mask of shifted-window attention for an ``h x w`` feature map.

    Tokens of a window that came from different regions of the cyclically shifted map get -100
    (Swin's ``calculate_mask``), the others 0. ``h`` and ``w`` must be multiples of ``ws``.
    """
    img = torch.zeros(1, h, w, 1, device=device)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    label = 0
    for hs in cuts:
        for wsl in cuts:
            img[:, hs, wsl, :] = label
            label += 1
    windows = window_partition(img, ws).squeeze(-1)  # nW, ws*ws
    diff = windows.unsqueeze(1) - windows.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0)


def pad_to_multiple(x: Tensor, m: int) -> Tensor:
    """Reflect-pad ``(N, C, H, W)`` on the bottom/right so that ``H`` and ``W`` are multiples of ``m``.

    Pads longer than the side minus one (tiny inputs) are done by successive reflections; a side of
    one pixel is replicated.
    """
    ph, pw = (-x.shape[-2]) % m, (-x.shape[-1]) % m
    while ph or pw:
        h, w = x.shape[-2:]
        sh, sw = min(ph, h - 1), min(pw, w - 1)
        if (ph and sh == 0) or (pw and sw == 0):
            return F.pad(x, (0, pw, 0, ph), mode="replicate")
        x = F.pad(x, (0, sw, 0, sh), mode="reflect")
        ph, pw = ph - sh, pw - sw
    return x


def drop_path_rates(rate: float, depths: Sequence[int]) -> list[list[float]]:
    """Stochastic-depth rate per block, rising linearly from 0 to ``rate`` over all blocks (as upstream).

    Plain Python arithmetic (not ``torch.linspace(...).item()``) so that models build on ``meta``.
    """
    n = sum(depths)
    flat = [rate * i / (n - 1) if n > 1 else 0.0 for i in range(n)]
    out, start = [], 0
    for d in depths:
        out.append(flat[start : start + d])
        start += d
    return out


def ratio_for(base: int, target: int) -> float:
    """A float ``r`` with ``int(base * r) == target`` (how upstream turns ratios into sizes)."""
    r = target / base
    return r if int(base * r) == target else (target + 1e-6) / base


def window_from_table(n: int) -> int | None:
    """Window size ``w`` of a ``(2w - 1)^2``-row relative position bias table, else ``None``."""
    side = math.isqrt(n)
    if side * side != n or side % 2 == 0:
        return None
    return (side + 1) // 2


def drop_derived_keys(
    sd: dict[str, Any],
    prefix: str,
    derived: Callable[[str], bool],
    expected: dict[str, tuple[int, ...]],
    error_msgs: list[str],
) -> None:
    """Remove from ``sd`` the keys under ``prefix`` whose local name satisfies ``derived``.

    ``expected`` maps a local name (or a local name's last component) to the shape the rebuilt buffer
    has; a stored tensor of another shape is reported in ``error_msgs`` (a strict load then fails).
    """
    for key in [k for k in sd if k.startswith(prefix) and derived(k[len(prefix) :])]:
        value = sd.pop(key)
        name = key[len(prefix) :]
        shape = expected.get(name, expected.get(name.rsplit(".", 1)[-1]))
        if shape is not None and isinstance(value, Tensor) and tuple(value.shape) != shape:
            error_msgs.append(
                f"{key}: stored shape {tuple(value.shape)} differs from the rebuilt {shape} "
                "(another window size?)"
            )


# ----------------------------------------------------------------------------- layers
class DropPath(nn.Module):
    """Stochastic depth per sample (training only); identity when ``p == 0`` or in eval mode."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    """Transformer MLP: ``fc1`` -> GELU -> ``fc2`` (upstream ``Mlp``; dropout after each)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def attention(
    q: Tensor, k: Tensor, v: Tensor, bias: Tensor, scale: float, dropout: float = 0.0
) -> Tensor:
    """``softmax(q k^T * scale + bias) v`` with ``bias`` broadcast over the batch."""
    return F.scaled_dot_product_attention(
        q, k, v, attn_mask=bias.to(q.dtype), dropout_p=dropout, scale=scale
    )


class WindowAttention(nn.Module):
    """Window multi-head self-attention with relative position bias (Swin ``WindowAttention``).

    Keys: ``relative_position_bias_table`` ``((2w-1)^2, heads)``, ``qkv``, ``proj``. The index into the
    table is passed in by the caller (shared by all blocks of one model).
    """

    def __init__(
        self,
        dim: int,
        window_size: int,
        num_heads: int,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads)
        )
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: Tensor, rpi: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x``: ``(B * nW, N, C)``; ``mask``: ``(nW, N, N)`` or ``None``."""
        b_, n, c = x.shape
        nh = self.num_heads
        q, k, v = self.qkv(x).reshape(b_, n, 3, nh, c // nh).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.relative_position_bias_table[rpi.reshape(-1)].view(n, n, nh).permute(2, 0, 1)
        if mask is not None:
            nw = mask.shape[0]
            bias = bias.unsqueeze(0) + mask.unsqueeze(1).to(bias.dtype)  # nW, nH, N, N
            if b_ != nw:
                bias = bias.unsqueeze(0).expand(b_ // nw, -1, -1, -1, -1).reshape(b_, nh, n, n)
        drop = self.attn_drop if self.training else 0.0
        out = attention(q, k, v, bias, self.scale, drop)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b_, n, c)))


class SwinTransformerBlock(nn.Module):
    """Swin block: ``norm1`` -> (shifted) window attention ``attn`` -> residual, ``norm2`` -> ``mlp``."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int,
        shift_size: int,
        mlp_ratio: float,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: Tensor, x_size: tuple[int, int], rpi: Tensor, mask: Tensor) -> Tensor:
        h, w = x_size
        b, _, c = x.shape
        ws, s = self.window_size, self.shift_size
        y = self.norm1(x).view(b, h, w, c)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = self.attn(window_partition(y, ws), rpi, mask if s else None)
        y = window_reverse(y, ws, h, w)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    """``blocks``: Swin blocks alternating regular and shifted windows (shift ``window_size // 2``)."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        mlp_ratio: float,
        qkv_bias: bool,
        drop: float,
        attn_drop: float,
        drop_path: Sequence[float],
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(
                dim,
                num_heads,
                window_size,
                0 if i % 2 == 0 else window_size // 2,
                mlp_ratio,
                qkv_bias,
                drop,
                attn_drop,
                drop_path[i],
            )
            for i in range(depth)
        )

    def forward(self, x: Tensor, x_size: tuple[int, int], rpi: Tensor, mask: Tensor) -> Tensor:
        for blk in self.blocks:
            x = blk(x, x_size, rpi, mask)
        return x


def resi_conv(dim: int, kind: str) -> nn.Module:
    """The conv closing a residual group: ``1conv`` (3x3) or ``3conv`` (3x3 to dim/4, 1x1, 3x3 back)."""
    if kind == "1conv":
        return conv3x3(dim, dim)
    if kind == "3conv":
        q = dim // 4
        return nn.Sequential(
            conv3x3(dim, q),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(q, q, 1),
            nn.LeakyReLU(0.2, inplace=True),
            conv3x3(q, dim),
        )
    raise ValueError(f"resi_connection must be '1conv' or '3conv', not {kind!r}")


def tokens_to_map(x: Tensor, x_size: tuple[int, int]) -> Tensor:
    """``(B, H*W, C)`` -> ``(B, C, H, W)`` (upstream ``PatchUnEmbed`` with patch size 1)."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], x_size[0], x_size[1])


class RSTB(nn.Module):
    """Residual Swin Transformer Block: ``residual_group`` (:class:`BasicLayer`) then ``conv``, skip."""

    def __init__(self, dim: int, resi_connection: str, **layer: Any) -> None:
        super().__init__()
        self.residual_group = BasicLayer(dim=dim, **layer)
        self.conv = resi_conv(dim, resi_connection)

    def forward(self, x: Tensor, x_size: tuple[int, int], rpi: Tensor, mask: Tensor) -> Tensor:
        y = self.conv(tokens_to_map(self.residual_group(x, x_size, rpi, mask), x_size))
        return y.flatten(2).transpose(1, 2) + x


class PatchEmbed(nn.Module):
    """``(B, C, H, W)`` -> tokens ``(B, H*W, C)``, then ``norm`` (upstream ``PatchEmbed``, patch size 1)."""

    def __init__(self, dim: int, norm: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim) if norm else None

    def forward(self, x: Tensor) -> Tensor:
        x = x.flatten(2).transpose(1, 2)
        return self.norm(x) if self.norm is not None else x


def init_transformer_weights(module: nn.Module) -> None:
    """Upstream ``_init_weights``: linear weights truncated-normal (std 0.02), biases 0, LayerNorm 1/0."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def check_heads(embed_dim: int, depths: Sequence[int], num_heads: Sequence[int]) -> None:
    """Raise ``ValueError`` unless there is one head count per layer, each dividing ``embed_dim``."""
    if len(depths) != len(num_heads):
        raise ValueError(
            f"depths {tuple(depths)} and num_heads {tuple(num_heads)} differ in length"
        )
    for h in num_heads:
        if embed_dim % h:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {h}")


# ----------------------------------------------------------------------------- the network
class SwinIR(nn.Module):
    """SwinIR with the official key names (see the module docstring).

    Parameters
    ----------
    scale : int
        2, 3 or a power of two (``pixelshuffle``); any integer (``pixelshuffledirect``); 2 or 4
        (``nearest+conv``).
    in_chans : int
        Image channels (3; 1 uses a zero mean, as upstream).
    embed_dim, depths, num_heads, window_size, mlp_ratio :
        Transformer size (classical: 180, 6x6, 6x6, 8, 2).
    upsampler : str
        ``pixelshuffle``, ``pixelshuffledirect`` or ``nearest+conv``.
    resi_connection : str
        ``1conv`` or ``3conv``.
    num_feat : int
        Features of the reconstruction part (64 upstream).
    img_range : float
        Internal value range (1.0 for every released model).
    drop_path_rate, drop_rate, attn_drop_rate : float
        Regularisation for training (upstream defaults 0.1, 0, 0); no effect in eval mode.

    Attributes ``scale`` and ``window_size`` (the model pads inputs to a multiple of it itself;
    tiling code may align tiles to it to avoid padding).
    """

    arch_name = "swinir"
    derived_buffers = ("relative_position_index", "attn_mask")

    def __init__(
        self,
        scale: int = 4,
        in_chans: int = 3,
        embed_dim: int = 180,
        depths: Sequence[int] = (6, 6, 6, 6, 6, 6),
        num_heads: Sequence[int] = (6, 6, 6, 6, 6, 6),
        window_size: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        patch_norm: bool = True,
        upsampler: str = "pixelshuffle",
        resi_connection: str = "1conv",
        num_feat: int = 64,
        img_range: float = 1.0,
        drop_path_rate: float = 0.1,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if upsampler not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {UPSAMPLERS}, not {upsampler!r}")
        if upsampler == "nearest+conv" and scale not in (2, 4):
            raise ValueError(f"upsampler 'nearest+conv' supports x2 and x4, not x{scale}")
        check_heads(embed_dim, depths, num_heads)
        self.scale = scale
        self.upscale = scale
        self.upsampler = upsampler
        self.window_size = window_size
        self.img_range = img_range
        mean = DIV2K_RGB_MEAN if in_chans == 3 else (0.0,) * in_chans
        self.mean = torch.tensor(mean, device="cpu").view(1, in_chans, 1, 1)  # plain attribute
        self.register_buffer(
            "relative_position_index", relative_position_index(window_size), persistent=False
        )

        self.conv_first = conv3x3(in_chans, embed_dim)
        self.patch_embed = PatchEmbed(embed_dim, patch_norm)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = drop_path_rates(drop_path_rate, depths)
        self.layers = nn.ModuleList(
            RSTB(
                embed_dim,
                resi_connection,
                depth=d,
                num_heads=h,
                window_size=window_size,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                drop=drop_rate,
                attn_drop=attn_drop_rate,
                drop_path=r,
            )
            for d, h, r in zip(depths, num_heads, rates, strict=True)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = resi_conv(embed_dim, resi_connection)

        if upsampler == "pixelshuffle":
            self.conv_before_upsample = nn.Sequential(
                conv3x3(embed_dim, num_feat), nn.LeakyReLU(inplace=True)
            )
            self.upsample = Upsample(scale, num_feat)
            self.conv_last = conv3x3(num_feat, in_chans)
        elif upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(
                conv3x3(embed_dim, scale * scale * in_chans), nn.PixelShuffle(scale)
            )
        else:
            self.conv_before_upsample = nn.Sequential(
                conv3x3(embed_dim, num_feat), nn.LeakyReLU(inplace=True)
            )
            self.conv_up1 = conv3x3(num_feat, num_feat)
            if scale == 4:
                self.conv_up2 = conv3x3(num_feat, num_feat)
            self.conv_hr = conv3x3(num_feat, num_feat)
            self.conv_last = conv3x3(num_feat, in_chans)
            self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        init_transformer_weights(self)
        self.register_load_state_dict_pre_hook(_drop_official_buffers)

    def forward_features(self, x: Tensor) -> Tensor:
        x_size = (x.shape[2], x.shape[3])
        ws = self.window_size
        mask = shift_window_mask(*x_size, ws, ws // 2, x.device)
        rpi = self.relative_position_index
        t = self.pos_drop(self.patch_embed(x))
        for layer in self.layers:
            t = layer(t, x_size, rpi, mask)
        return tokens_to_map(self.norm(t), x_size)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, self.window_size)
        mean = self.mean.to(x)
        x = (x - mean) * self.img_range
        feat = self.conv_first(x)
        feat = self.conv_after_body(self.forward_features(feat)) + feat
        if self.upsampler == "pixelshuffle":
            out = self.conv_last(self.upsample(self.conv_before_upsample(feat)))
        elif self.upsampler == "pixelshuffledirect":
            out = self.upsample(feat)
        else:
            y = self.conv_before_upsample(feat)
            y = self.lrelu(self.conv_up1(F.interpolate(y, scale_factor=2, mode="nearest")))
            if self.scale == 4:
                y = self.lrelu(self.conv_up2(F.interpolate(y, scale_factor=2, mode="nearest")))
            out = self.conv_last(self.lrelu(self.conv_hr(y)))
        out = out / self.img_range + mean
        s = self.scale
        return out[..., : h * s, : w * s]


def _drop_official_buffers(
    module: SwinIR,
    state_dict: dict[str, Any],
    prefix: str,
    _local_metadata: Any,
    _strict: bool,
    _missing: list[str],
    _unexpected: list[str],
    error_msgs: list[str],
) -> None:
    """Load pre-hook: drop the official derived buffers (``relative_position_index``, ``attn_mask``)."""
    n = module.window_size**2
    drop_derived_keys(
        state_dict,
        prefix,
        lambda name: name.startswith("layers.") and is_derived(name, SwinIR.derived_buffers),
        {"relative_position_index": (n, n)},
        error_msgs,
    )


def is_derived(key: str, names: Sequence[str]) -> bool:
    """True for the official derived buffers (``...relative_position_index``, ``...attn_mask``, ...)."""
    return key.rsplit(".", 1)[-1] in names


def build(scale: int = 4, **hp: Any) -> nn.Module:
    """Build :class:`SwinIR` (hyper-parameters as its arguments)."""
    return SwinIR(scale=scale, **hp)


# ----------------------------------------------------------------------------- detection
def expected_keys(model_cls: type[nn.Module], hp: dict[str, Any]) -> set[str] | None:
    """State_dict keys of ``model_cls(**hp)`` built on the ``meta`` device; ``None`` if it cannot build."""
    try:
        with torch.device("meta"):
            return set(model_cls(**hp).state_dict())
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError):
        return None


def transformer_body(
    sd: StateDict, block_key: str
) -> tuple[int, tuple[int, ...], tuple[int, ...], int, float] | None:
    """``(embed_dim, depths, num_heads, window_size, mlp_ratio)`` of a SwinIR/HAT-style body.

    ``block_key`` is the key (under ``layers.N.residual_group.blocks.M.``) counted to find the depths.
    """
    embed = sd["conv_first.weight"].shape[0]
    n_layers = count_indexed(sd, rf"^layers\.(\d+)\.residual_group\.blocks\.0\.{block_key}$")
    if n_layers == 0:
        return None
    depths = tuple(
        count_indexed(sd, rf"^layers\.{i}\.residual_group\.blocks\.(\d+)\.{block_key}$")
        for i in range(n_layers)
    )
    tables = [
        sd[f"layers.{i}.residual_group.blocks.0.attn.relative_position_bias_table"]
        for i in range(n_layers)
    ]
    heads = tuple(int(t.shape[1]) for t in tables)
    window = window_from_table(int(tables[0].shape[0]))
    if window is None:
        return None
    hidden = sd["layers.0.residual_group.blocks.0.mlp.fc1.weight"].shape[0]
    return embed, depths, heads, window, ratio_for(embed, hidden)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """SwinIR (classical, lightweight or real-world) from the official key names and shapes.

    Infers ``embed_dim`` (``conv_first`` outputs), ``in_chans`` (its inputs), ``depths`` (blocks per
    ``layers.N``), ``num_heads`` (bias table columns), ``window_size`` (table rows ``(2w-1)^2``),
    ``mlp_ratio`` (``fc1`` outputs / embed), ``resi_connection`` (``layers.0.conv`` a conv or a
    sequence), ``patch_norm``, ``qkv_bias``, the upsampler and the scale (``upsample.*`` convs and
    ``conv_up*``). The full key set must be exactly the one of the inferred model (the official derived
    buffers aside), so HAT and every CNN family are refused.
    """
    sig = (
        "conv_first.weight",
        "layers.0.residual_group.blocks.0.attn.relative_position_bias_table",
        "layers.0.residual_group.blocks.0.mlp.fc1.weight",
        "norm.weight",
    )
    if not all(k in sd for k in sig):
        return None
    body = transformer_body(sd, "norm1.weight")
    if body is None:
        return None
    embed, depths, heads, window, mlp_ratio = body
    in_chans = sd["conv_first.weight"].shape[1]
    resi = "3conv" if "layers.0.conv.0.weight" in sd else "1conv"
    hp: dict[str, Any] = {"in_chans": in_chans}
    if "conv_up1.weight" in sd:
        hp.update(upsampler="nearest+conv", scale=4 if "conv_up2.weight" in sd else 2)
        hp["num_feat"] = sd["conv_up1.weight"].shape[0]
    elif "conv_before_upsample.0.weight" in sd:
        nf = sd["conv_before_upsample.0.weight"].shape[0]
        scale = upsampler_scale(sd, "upsample.", nf)
        if scale is None:
            return None
        hp.update(upsampler="pixelshuffle", scale=scale, num_feat=nf)
    elif "upsample.0.weight" in sd:
        out = sd["upsample.0.weight"].shape[0]
        s = math.isqrt(out // in_chans)
        if s * s * in_chans != out:
            return None
        hp.update(upsampler="pixelshuffledirect", scale=s)
    else:
        return None
    hp.update(
        embed_dim=embed,
        depths=depths,
        num_heads=heads,
        window_size=window,
        mlp_ratio=mlp_ratio,
        resi_connection=resi,
        patch_norm="patch_embed.norm.weight" in sd,
        qkv_bias="layers.0.residual_group.blocks.0.attn.qkv.bias" in sd,
    )
    keys = expected_keys(SwinIR, hp)
    if keys is None or keys != {k for k in sd if not is_derived(k, SwinIR.derived_buffers)}:
        return None
    scale = hp.pop("scale")
    return {"scale": scale, **hp}


# ----------------------------------------------------------------------------- specs
_CLASSICAL = {
    "embed_dim": 180,
    "depths": (6,) * 6,
    "num_heads": (6,) * 6,
    "window_size": 8,
    "mlp_ratio": 2.0,
    "upsampler": "pixelshuffle",
    "resi_connection": "1conv",
}
_LIGHT = {
    **_CLASSICAL,
    "embed_dim": 60,
    "depths": (6,) * 4,
    "num_heads": (6,) * 4,
    "upsampler": "pixelshuffledirect",
}
_REAL = {**_CLASSICAL, "upsampler": "nearest+conv"}
_REAL_LARGE = {
    **_REAL,
    "embed_dim": 240,
    "depths": (6,) * 9,
    "num_heads": (8,) * 9,
    "resi_connection": "3conv",
}

_CITE = "SwinIR (Liang et al. 2021)"

SPECS: list[ArchSpec] = [
    ArchSpec(
        "swinir",
        build,
        (2, 3, 4, 8),
        detect,
        description=f"{_CITE} classical: embed 180, 6x6 blocks, window 8, pixelshuffle",
        defaults=_CLASSICAL,
    ),
    ArchSpec(
        "swinir_light",
        build,
        (2, 3, 4),
        never,
        description=f"{_CITE} lightweight: embed 60, 4x6 blocks, pixelshuffledirect",
        defaults=_LIGHT,
    ),
    ArchSpec(
        "swinir_real",
        build,
        (2, 4),
        never,
        description=f"{_CITE} real-world SwinIR-M: embed 180, 6x6 blocks, nearest+conv",
        defaults=_REAL,
    ),
    ArchSpec(
        "swinir_real_large",
        build,
        (2, 4),
        never,
        description=f"{_CITE} real-world SwinIR-L: embed 240, 9x6 blocks, 8 heads, 3conv",
        defaults=_REAL_LARGE,
    ),
]
