"""HAT, Hybrid Attention Transformer for image super-resolution (Chen et al., CVPR 2023).

Paper: X. Chen, X. Wang, J. Zhou, Y. Qiao, C. Dong, "Activating More Pixels in Image Super-Resolution
Transformer", CVPR 2023 (arXiv:2205.04437). Official code: XPixelGroup/HAT, ``hat/archs/hat_arch.py``;
module names here reproduce its state_dict keys so that the released ``.pth`` files (BasicSR
``params`` / ``params_ema`` containers) load with ``strict=True``.

SwinIR's layout (``conv_first``, ``patch_embed.norm``, ``layers.N``, ``norm``, ``conv_after_body``,
``conv_before_upsample.0``, ``upsample.0/.2/...``, ``conv_last``; see :mod:`srmer.sr.archs.swinir`)
with residual hybrid attention groups: each ``layers.N.residual_group`` holds

- ``blocks.M``: hybrid attention blocks = (shifted) window self-attention ``attn`` plus, in parallel,
  a channel-attention conv block ``conv_block.cab.{0,2}`` (3x3 to ``embed / compress_ratio``, GELU,
  3x3 back) with ``cab.3.attention.{1,3}`` (RCAN channel attention, squeeze ``squeeze_factor``),
  added with weight ``conv_scale`` (0.01); then ``norm2`` / ``mlp``;
- ``overlap_attn``: the overlapping cross-attention block (queries from ``w x w`` windows, keys and
  values from overlapping ``(w + overlap_ratio w)`` windows; ``norm1``, ``qkv``,
  ``relative_position_bias_table`` ``((w + ow - 1)^2, heads)``, ``proj``, ``norm2``, ``mlp``);

then ``layers.N.conv`` (``1conv``; ``identity`` has none). Standard configurations (parameter counts
measured with this file): ``hat`` embed 180, depths/heads 6x6, window 16, compress 3, squeeze 30,
overlap 0.5, mlp 2: 20.77 M (x4); ``hat_s`` embed 144, compress 24, squeeze 24: 9.62 M (x4);
``hat_l`` 12 groups: 40.85 M (x4). Float RGB in [0, 1] (``img_range`` 1, DIV2K mean subtracted
internally, as upstream), ``(N, 3, H, W) -> (N, 3, sH, sW)`` for any ``H, W``.

Deviations from the official file, none of which changes the output for inputs whose sides are
multiples of ``window_size``:

- Upstream's architecture does not pad (its ``HATModel`` wrapper reflect-pads the input to a multiple
  of ``window_size`` and crops the output); srmer's model must accept any size, so the forward pads
  by reflection on the bottom/right and crops, exactly as that wrapper (identity for inputs that are
  already multiples). Sides too short for one reflection are padded by repeated reflections.
- The top-level buffers ``relative_position_index_SA`` / ``relative_position_index_OCA`` are
  non-persistent here (rebuilt from ``window_size`` and ``overlap_ratio``); a load pre-hook drops them
  from an official state_dict after checking their shapes, so ``strict=True`` loading works. The OCA
  index, which upstream leaves partly negative (wrapping around the bias table), is stored reduced
  modulo the table length: the same entries. The shifted-window mask is computed in every forward for
  the (padded) input size, as upstream.
- ``img_size`` is not a hyper-parameter (upstream uses it only to shrink the window when
  ``img_size <= window_size``, never for the released models); no absolute position embedding.
- Attention uses :func:`torch.nn.functional.scaled_dot_product_attention` with the relative position
  bias (plus the shift mask) as additive mask: equal up to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    DIV2K_RGB_MEAN,
    Upsample,
    conv3x3,
    never,
    upsampler_scale,
)
from srmer.sr.archs.rcan import ChannelAttention
from srmer.sr.archs.swinir import (
    DropPath,
    Mlp,
    PatchEmbed,
    WindowAttention,
    attention,
    check_heads,
    drop_derived_keys,
    drop_path_rates,
    expected_keys,
    init_transformer_weights,
    is_derived,
    pad_to_multiple,
    ratio_for,
    relative_position_index,
    shift_window_mask,
    tokens_to_map,
    transformer_body,
    window_partition,
    window_reverse,
)


def overlap_window_size(window_size: int, overlap_ratio: float) -> int:
    """Side of the overlapping key/value windows: ``int(w * overlap_ratio) + w`` (upstream)."""
    return int(window_size * overlap_ratio) + window_size


def relative_position_index_oca(ws: int, ows: int) -> Tensor:
    """``(ws^2, ows^2)`` index into the ``(ws + ows - 1)^2`` OCA bias table (upstream ``calculate_rpi_oca``).

    Upstream's offsets leave some entries negative (PyTorch indexing wraps them); they are returned
    reduced modulo the table length, which selects the same rows and suits every indexing routine.
    """

    def grid(n: int) -> Tensor:
        r = torch.arange(n, device="cpu")
        return torch.stack(torch.meshgrid(r, r, indexing="ij")).flatten(1)

    rel = (grid(ows)[:, None, :] - grid(ws)[:, :, None]).permute(1, 2, 0) + (ws - ows + 1)
    side = ws + ows - 1
    return (rel[..., 0] * side + rel[..., 1]) % (side * side)


class CAB(nn.Module):
    """Channel attention block: ``cab = Sequential(conv3x3 -> dim/c, GELU, conv3x3 -> dim, CA)``."""

    def __init__(self, num_feat: int, compress_ratio: int, squeeze_factor: int) -> None:
        super().__init__()
        mid = num_feat // compress_ratio
        self.cab = nn.Sequential(
            conv3x3(num_feat, mid),
            nn.GELU(),
            conv3x3(mid, num_feat),
            ChannelAttention(num_feat, squeeze_factor),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.cab(x)


class HAB(nn.Module):
    """Hybrid attention block: (shifted) window attention + ``conv_scale`` x CAB, then the MLP."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        window_size: int,
        shift_size: int,
        compress_ratio: int,
        squeeze_factor: int,
        conv_scale: float,
        mlp_ratio: float,
        qkv_bias: bool = True,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.window_size, self.shift_size, self.conv_scale = window_size, shift_size, conv_scale
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window_size, num_heads, qkv_bias, attn_drop, drop)
        self.conv_block = CAB(dim, compress_ratio, squeeze_factor)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)

    def forward(self, x: Tensor, x_size: tuple[int, int], rpi: Tensor, mask: Tensor) -> Tensor:
        h, w = x_size
        b, _, c = x.shape
        ws, s = self.window_size, self.shift_size
        y = self.norm1(x).view(b, h, w, c)
        conv = self.conv_block(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = self.attn(window_partition(y, ws), rpi, mask if s else None)
        y = window_reverse(y, ws, h, w)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + self.drop_path(y.reshape(b, h * w, c)) + conv * self.conv_scale
        return x + self.drop_path(self.mlp(self.norm2(x)))


class OCAB(nn.Module):
    """Overlapping cross-attention block (upstream ``OCAB``; keys under ``overlap_attn``)."""

    def __init__(
        self,
        dim: int,
        window_size: int,
        overlap_ratio: float,
        num_heads: int,
        mlp_ratio: float,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, window_size, num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.overlap_win_size = ows = overlap_window_size(window_size, overlap_ratio)
        if (ows - window_size) % 2:
            raise ValueError(
                f"window_size {window_size} x overlap_ratio {overlap_ratio} must give an even overlap"
            )
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((window_size + ows - 1) ** 2, num_heads)
        )
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, x_size: tuple[int, int], rpi: Tensor) -> Tensor:
        h, w = x_size
        b, _, c = x.shape
        ws, ows, nh = self.window_size, self.overlap_win_size, self.num_heads
        qkv = self.qkv(self.norm1(x).view(b, h, w, c))  # b, h, w, 3c
        q = window_partition(qkv[..., :c], ws)  # b*nW, ws*ws, c
        kv = qkv[..., c:].permute(0, 3, 1, 2)  # b, 2c (k then v), h, w
        kv = F.unfold(kv, kernel_size=ows, stride=ws, padding=(ows - ws) // 2)  # b, 2c*ows*ows, nW
        nw = kv.shape[-1]
        kv = kv.view(b, 2, c, ows * ows, nw).permute(1, 0, 4, 3, 2).reshape(2, b * nw, ows * ows, c)
        b_, nq = q.shape[:2]
        d = c // nh
        q = q.reshape(b_, nq, nh, d).transpose(1, 2)
        k = kv[0].reshape(b_, ows * ows, nh, d).transpose(1, 2)
        v = kv[1].reshape(b_, ows * ows, nh, d).transpose(1, 2)
        bias = self.relative_position_bias_table[rpi.reshape(-1)].view(nq, ows * ows, nh)
        out = attention(q, k, v, bias.permute(2, 0, 1), self.scale)
        y = window_reverse(out.transpose(1, 2).reshape(b_, nq, c), ws, h, w).reshape(b, h * w, c)
        x = self.proj(y) + x
        return x + self.mlp(self.norm2(x))


class AttenBlocks(nn.Module):
    """``blocks`` (HABs alternating regular / shifted windows) then ``overlap_attn`` (OCAB)."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window_size: int,
        compress_ratio: int,
        squeeze_factor: int,
        conv_scale: float,
        overlap_ratio: float,
        mlp_ratio: float,
        qkv_bias: bool,
        drop: float,
        attn_drop: float,
        drop_path: Sequence[float],
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            HAB(
                dim,
                num_heads,
                window_size,
                0 if i % 2 == 0 else window_size // 2,
                compress_ratio,
                squeeze_factor,
                conv_scale,
                mlp_ratio,
                qkv_bias,
                drop,
                attn_drop,
                drop_path[i],
            )
            for i in range(depth)
        )
        self.overlap_attn = OCAB(dim, window_size, overlap_ratio, num_heads, mlp_ratio, qkv_bias)

    def forward(
        self,
        x: Tensor,
        x_size: tuple[int, int],
        rpi_sa: Tensor,
        rpi_oca: Tensor,
        mask: Tensor,
    ) -> Tensor:
        for blk in self.blocks:
            x = blk(x, x_size, rpi_sa, mask)
        return self.overlap_attn(x, x_size, rpi_oca)


class RHAG(nn.Module):
    """Residual hybrid attention group: ``residual_group`` (:class:`AttenBlocks`), ``conv``, skip."""

    def __init__(self, dim: int, resi_connection: str, **group: Any) -> None:
        super().__init__()
        self.residual_group = AttenBlocks(dim=dim, **group)
        if resi_connection == "1conv":
            self.conv: nn.Module = conv3x3(dim, dim)
        elif resi_connection == "identity":
            self.conv = nn.Identity()
        else:
            raise ValueError(
                f"resi_connection must be '1conv' or 'identity', not {resi_connection!r}"
            )

    def forward(
        self,
        x: Tensor,
        x_size: tuple[int, int],
        rpi_sa: Tensor,
        rpi_oca: Tensor,
        mask: Tensor,
    ) -> Tensor:
        y = self.residual_group(x, x_size, rpi_sa, rpi_oca, mask)
        return self.conv(tokens_to_map(y, x_size)).flatten(2).transpose(1, 2) + x


class HAT(nn.Module):
    """HAT with the official key names (see the module docstring).

    Parameters
    ----------
    scale : int
        2, 3 or a power of two (``pixelshuffle``, the only upsampler of the official HAT).
    in_chans : int
        Image channels (3; 1 uses a zero mean, as upstream).
    embed_dim, depths, num_heads, window_size, mlp_ratio :
        Transformer size (HAT: 180, 6x6, 6x6, 16, 2).
    compress_ratio, squeeze_factor, conv_scale, overlap_ratio :
        CAB width divisor (3; HAT-S 24), channel-attention squeeze (30; HAT-S 24), CAB weight (0.01)
        and OCA window enlargement (0.5).
    resi_connection : str
        ``1conv`` or ``identity``.
    num_feat : int
        Features of the reconstruction part (64 upstream).
    img_range : float
        Internal value range (1.0 for every released model).
    drop_path_rate, drop_rate, attn_drop_rate : float
        Regularisation for training (upstream defaults 0.1, 0, 0).

    Attributes ``scale`` and ``window_size`` (the model pads inputs to a multiple of it itself).
    """

    arch_name = "hat"
    derived_buffers = ("relative_position_index_SA", "relative_position_index_OCA")

    def __init__(
        self,
        scale: int = 4,
        in_chans: int = 3,
        embed_dim: int = 180,
        depths: Sequence[int] = (6, 6, 6, 6, 6, 6),
        num_heads: Sequence[int] = (6, 6, 6, 6, 6, 6),
        window_size: int = 16,
        compress_ratio: int = 3,
        squeeze_factor: int = 30,
        conv_scale: float = 0.01,
        overlap_ratio: float = 0.5,
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
        if upsampler != "pixelshuffle":
            raise ValueError(f"HAT's only upsampler is 'pixelshuffle', not {upsampler!r}")
        check_heads(embed_dim, depths, num_heads)
        self.scale = scale
        self.upscale = scale
        self.upsampler = upsampler
        self.window_size = window_size
        self.shift_size = window_size // 2
        self.overlap_ratio = overlap_ratio
        self.img_range = img_range
        mean = DIV2K_RGB_MEAN if in_chans == 3 else (0.0,) * in_chans
        self.mean = torch.tensor(mean, device="cpu").view(1, in_chans, 1, 1)  # plain attribute
        ows = overlap_window_size(window_size, overlap_ratio)
        self.register_buffer(
            "relative_position_index_SA", relative_position_index(window_size), persistent=False
        )
        self.register_buffer(
            "relative_position_index_OCA",
            relative_position_index_oca(window_size, ows),
            persistent=False,
        )

        self.conv_first = conv3x3(in_chans, embed_dim)
        self.patch_embed = PatchEmbed(embed_dim, patch_norm)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = drop_path_rates(drop_path_rate, depths)
        self.layers = nn.ModuleList(
            RHAG(
                embed_dim,
                resi_connection,
                depth=d,
                num_heads=h,
                window_size=window_size,
                compress_ratio=compress_ratio,
                squeeze_factor=squeeze_factor,
                conv_scale=conv_scale,
                overlap_ratio=overlap_ratio,
                mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias,
                drop=drop_rate,
                attn_drop=attn_drop_rate,
                drop_path=r,
            )
            for d, h, r in zip(depths, num_heads, rates, strict=True)
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body: nn.Module = (
            conv3x3(embed_dim, embed_dim) if resi_connection == "1conv" else nn.Identity()
        )
        self.conv_before_upsample = nn.Sequential(
            conv3x3(embed_dim, num_feat), nn.LeakyReLU(inplace=True)
        )
        self.upsample = Upsample(scale, num_feat)
        self.conv_last = conv3x3(num_feat, in_chans)
        init_transformer_weights(self)
        self.register_load_state_dict_pre_hook(_drop_official_buffers)

    def forward_features(self, x: Tensor) -> Tensor:
        x_size = (x.shape[2], x.shape[3])
        mask = shift_window_mask(*x_size, self.window_size, self.shift_size, x.device)
        rpi_sa, rpi_oca = self.relative_position_index_SA, self.relative_position_index_OCA
        t = self.pos_drop(self.patch_embed(x))
        for layer in self.layers:
            t = layer(t, x_size, rpi_sa, rpi_oca, mask)
        return tokens_to_map(self.norm(t), x_size)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        x = pad_to_multiple(x, self.window_size)
        mean = self.mean.to(x)
        x = (x - mean) * self.img_range
        feat = self.conv_first(x)
        feat = self.conv_after_body(self.forward_features(feat)) + feat
        out = self.conv_last(self.upsample(self.conv_before_upsample(feat)))
        out = out / self.img_range + mean
        s = self.scale
        return out[..., : h * s, : w * s]


def _drop_official_buffers(
    module: HAT,
    state_dict: dict[str, Any],
    prefix: str,
    _local_metadata: Any,
    _strict: bool,
    _missing: list[str],
    _unexpected: list[str],
    error_msgs: list[str],
) -> None:
    """Load pre-hook: drop the official top-level ``relative_position_index_SA`` / ``_OCA`` buffers."""
    shapes = {name: tuple(getattr(module, name).shape) for name in HAT.derived_buffers}
    drop_derived_keys(state_dict, prefix, lambda name: name in shapes, shapes, error_msgs)


def build(scale: int = 4, **hp: Any) -> nn.Module:
    """Build :class:`HAT` (hyper-parameters as its arguments)."""
    return HAT(scale=scale, **hp)


def _divisor(embed: int, out: int) -> int | None:
    """The integer ``r`` with ``embed // r == out`` (the smallest; upstream sizes are ``dim // r``)."""
    guess = embed // out if out else 0
    for r in (guess, *range(1, embed + 1)):
        if r >= 1 and embed // r == out:
            return r
    return None


def detect(sd: StateDict) -> dict[str, Any] | None:
    """HAT from the official key names and shapes.

    Infers ``embed_dim``, ``in_chans``, ``depths``, ``num_heads``, ``window_size``, ``mlp_ratio`` as
    for SwinIR (:func:`srmer.sr.archs.swinir.detect`), ``compress_ratio`` (embed / outputs of
    ``conv_block.cab.0``), ``squeeze_factor`` (embed / outputs of ``cab.3.attention.1``),
    ``overlap_ratio`` (rows of ``overlap_attn.relative_position_bias_table`` = ``(w + ow - 1)^2``),
    ``resi_connection`` (``layers.0.conv`` present or not) and the scale (``upsample.*`` convs). The
    full key set must be exactly the one of the inferred model (the official derived buffers aside).
    ``conv_scale`` is not stored in the weights: 0.01, as every released model.
    """
    blk = "layers.0.residual_group.blocks.0."
    sig = (
        "conv_first.weight",
        f"{blk}attn.relative_position_bias_table",
        f"{blk}conv_block.cab.0.weight",
        f"{blk}conv_block.cab.3.attention.1.weight",
        "layers.0.residual_group.overlap_attn.relative_position_bias_table",
        "conv_before_upsample.0.weight",
        "upsample.0.weight",
    )
    if not all(k in sd for k in sig):
        return None
    body = transformer_body(sd, "norm1.weight")
    if body is None:
        return None
    embed, depths, heads, window, mlp_ratio = body
    compress = _divisor(embed, sd[f"{blk}conv_block.cab.0.weight"].shape[0])
    squeeze = _divisor(embed, sd[f"{blk}conv_block.cab.3.attention.1.weight"].shape[0])
    oca_rows = sd["layers.0.residual_group.overlap_attn.relative_position_bias_table"].shape[0]
    side = math.isqrt(oca_rows)
    ows = side - window + 1
    if compress is None or squeeze is None or side * side != oca_rows or ows < window:
        return None
    nf = sd["conv_before_upsample.0.weight"].shape[0]
    scale = upsampler_scale(sd, "upsample.", nf)
    if scale is None:
        return None
    hp: dict[str, Any] = {
        "in_chans": sd["conv_first.weight"].shape[1],
        "embed_dim": embed,
        "depths": depths,
        "num_heads": heads,
        "window_size": window,
        "compress_ratio": compress,
        "squeeze_factor": squeeze,
        "overlap_ratio": ratio_for(window, ows - window),
        "mlp_ratio": mlp_ratio,
        "upsampler": "pixelshuffle",
        "resi_connection": "1conv" if "layers.0.conv.weight" in sd else "identity",
        "num_feat": nf,
        "patch_norm": "patch_embed.norm.weight" in sd,
        "qkv_bias": f"{blk}attn.qkv.bias" in sd,
    }
    keys = expected_keys(HAT, {"scale": scale, **hp})
    if keys is None or keys != {k for k in sd if not is_derived(k, HAT.derived_buffers)}:
        return None
    return {"scale": scale, **hp}


_HAT = {
    "embed_dim": 180,
    "depths": (6,) * 6,
    "num_heads": (6,) * 6,
    "window_size": 16,
    "compress_ratio": 3,
    "squeeze_factor": 30,
    "conv_scale": 0.01,
    "overlap_ratio": 0.5,
    "mlp_ratio": 2.0,
    "upsampler": "pixelshuffle",
    "resi_connection": "1conv",
}
_HAT_S = {**_HAT, "embed_dim": 144, "compress_ratio": 24, "squeeze_factor": 24}
_HAT_L = {**_HAT, "depths": (6,) * 12, "num_heads": (6,) * 12}

_CITE = "HAT (Chen et al. 2023)"

SPECS: list[ArchSpec] = [
    ArchSpec(
        "hat",
        build,
        (2, 3, 4),
        detect,
        description=f"{_CITE}: embed 180, 6x6 hybrid attention blocks + OCAB, window 16",
        defaults=_HAT,
    ),
    ArchSpec(
        "hat_s",
        build,
        (2, 3, 4),
        never,
        description=f"{_CITE} HAT-S: embed 144, compress 24, squeeze 24",
        defaults=_HAT_S,
    ),
    ArchSpec(
        "hat_l",
        build,
        (2, 3, 4),
        never,
        description=f"{_CITE} HAT-L: embed 180, 12x6 hybrid attention blocks",
        defaults=_HAT_L,
    ),
]
