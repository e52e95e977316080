"""CodeFormer (Zhou et al., NeurIPS 2022): blind face restoration with a codebook lookup transformer.

S. Zhou, K. C. K. Chan, C. Li, C. C. Loy, "Towards Robust Blind Face Restoration with Codebook
Lookup Transformer", NeurIPS 2022. Official code: https://github.com/sczhou/CodeFormer (``CodeFormer``
in ``basicsr/archs/codeformer_arch.py`` on the ``VQAutoEncoder`` of ``basicsr/archs/vqgan_arch.py``;
inference settings of ``inference_codeformer.py``).

A VQGAN encoder (``encoder.blocks.N``) maps the 512x512 face to a 16x16 grid of 256-d features; a
transformer (``feat_emb``, ``position_emb``, ``ft_layers.N`` with ``nn.MultiheadAttention``
``self_attn``, ``linear1/2``, ``norm1/2``; head ``idx_pred_layer``) predicts one code of the
1024-entry codebook (``quantize.embedding.weight``) per cell; the looked-up codes (optionally
AdaIN-matched to the encoder features' statistics) are decoded by the VQGAN generator
(``generator.blocks.N``). The controllable feature transformation (CFT, ``fuse_convs_dict.<size>``:
``encode_enc``, ``scale``, ``shift``) adds ``w * (dec * scale + shift)`` from the encoder features at
the ``connect_list`` resolutions: ``w = 0`` favours quality (pure codebook prior), ``w = 1``
fidelity to the input. Module and parameter names reproduce the official ones, so the official
checkpoint loads with ``strict=True``.

Input and output: a face *restorer* at one fixed size (512x512 for the released weights):
``scale = 1`` at its native size, ``input_size = img_size``; an SR method resizes the LR face to 512
first. Upstream feeds RGB normalised to [-1, 1] and maps the output back with
``tensor2img(min_max=(-1, 1))``, which clamps; :meth:`CodeFormer.forward` takes and returns float RGB
in [0, 1] (``x * 2 - 1`` in, ``(y + 1) / 2`` clamped out) with the fidelity weight and AdaIN taken
from the ``fidelity_weight`` (default 0.5, the ``--w`` default of ``inference_codeformer.py``) and
``adain`` (default True, as that script calls ``net(x, w=w, adain=True)``) attributes;
:meth:`CodeFormer.restore` is the raw upstream forward ``(x, w, adain) -> (image, logits, lq_feat)``
in [-1, 1].

Deviations from the official code:

- upstream hard-codes the VQGAN backbone (``img_size=512, nf=64, ch_mult=[1, 2, 2, 4, 4, 8],
  res_blocks=2, attn_resolutions=[16], emb_dim=256``), the 16x16 latent grid of the codebook lookup
  and the tables of the block indices where the CFT reads and writes (``fuse_encoder_block``,
  ``fuse_generator_block``); here they are constructor parameters with the official values as
  defaults (so that small test models can be built), the grid is the encoder output's and the
  tables are derived from the layout (they equal upstream's for the official configuration);
- ``vqgan_path`` (loading a VQGAN file at construction) and the training switches ``code_only`` /
  ``detach_16`` are left out (the look-up is detached as upstream's default); the codebook look-up
  gathers rows of ``quantize.embedding.weight`` instead of multiplying a one-hot matrix (same
  values); the nearest-neighbour / Gumbel quantiser forward of VQGAN training is not included;
- weight initialisation is PyTorch's default (irrelevant for pretrained weights); ``swish`` is
  ``F.silu``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import count_indexed, has_keys, max_index, only_prefixes

#: the released codeformer.pth (inference_codeformer.py)
OFFICIAL: dict[str, Any] = {
    "dim_embd": 512,
    "n_head": 8,
    "n_layers": 9,
    "codebook_size": 1024,
    "latent_size": 256,
    "connect_list": ["32", "64", "128", "256"],
    "img_size": 512,
    "nf": 64,
    "ch_mult": [1, 2, 2, 4, 4, 8],
    "res_blocks": 2,
    "attn_resolutions": [16],
    "emb_dim": 256,
}


def group_norm(channels: int) -> nn.GroupNorm:
    """VQGAN's ``normalize``: GroupNorm with 32 groups, eps 1e-6."""
    return nn.GroupNorm(32, channels, eps=1e-6, affine=True)


class ResBlock(nn.Module):
    """VQGAN residual block: norm1, swish, conv1, norm2, swish, conv2 (+ 1x1 ``conv_out`` if widths differ)."""

    def __init__(self, in_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.conv_out = nn.Conv2d(in_channels, out_channels, 1, 1, 0)

    def forward(self, x_in: Tensor) -> Tensor:
        x = self.conv1(F.silu(self.norm1(x_in)))
        x = self.conv2(F.silu(self.norm2(x)))
        if self.in_channels != self.out_channels:
            x_in = self.conv_out(x_in)
        return x + x_in


class AttnBlock(nn.Module):
    """VQGAN single-head spatial self-attention with 1x1 ``q``, ``k``, ``v``, ``proj_out``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)
        b, c, hh, ww = h.shape
        q = self.q(h).reshape(b, c, hh * ww).permute(0, 2, 1)  # (b, hw, c)
        k = self.k(h).reshape(b, c, hh * ww)  # (b, c, hw)
        attn = F.softmax(torch.bmm(q, k) * (int(c) ** -0.5), dim=2)  # (b, hw_q, hw_k)
        v = self.v(h).reshape(b, c, hh * ww)
        out = torch.bmm(v, attn.permute(0, 2, 1)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    """Pad right/bottom by 1, 3x3 conv with stride 2 (key ``conv``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest x2 then 3x3 conv (key ``conv``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Encoder(nn.Module):
    """VQGAN encoder: ``blocks`` (conv, per resolution ``res_blocks`` ResBlocks [+ attention] and a
    Downsample, then ResBlock, AttnBlock, ResBlock, GroupNorm, conv to ``emb_dim``).

    ``taps[res]`` is the index of the last per-resolution ResBlock at ``res`` (where CodeFormer
    reads the CFT features; upstream's ``fuse_encoder_block``).
    """

    def __init__(
        self,
        in_channels: int,
        nf: int,
        emb_dim: int,
        ch_mult: Sequence[int],
        res_blocks: int,
        resolution: int,
        attn_resolutions: Sequence[int],
    ) -> None:
        super().__init__()
        self.taps: dict[int, int] = {}
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, nf, 3, 1, 1)]
        res = resolution
        in_mult = (1, *ch_mult)
        cin = nf
        for i, mult in enumerate(ch_mult):
            cin, cout = nf * in_mult[i], nf * mult
            for _ in range(res_blocks):
                blocks.append(ResBlock(cin, cout))
                self.taps[res] = len(blocks) - 1
                cin = cout
                if res in attn_resolutions:
                    blocks.append(AttnBlock(cin))
            if i != len(ch_mult) - 1:
                blocks.append(Downsample(cin))
                res //= 2
        blocks += [ResBlock(cin, cin), AttnBlock(cin), ResBlock(cin, cin)]
        blocks += [group_norm(cin), nn.Conv2d(cin, emb_dim, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class Generator(nn.Module):
    """VQGAN decoder: ``blocks`` (conv from ``emb_dim``, ResBlock, AttnBlock, ResBlock, then per
    resolution ``res_blocks`` ResBlocks [+ attention] and an Upsample, GroupNorm, conv to RGB).

    ``taps[res]`` is where CodeFormer applies the CFT (upstream's ``fuse_generator_block``): after
    the first per-resolution ResBlock, at the latent resolution after the last one.
    """

    def __init__(
        self,
        nf: int,
        emb_dim: int,
        ch_mult: Sequence[int],
        res_blocks: int,
        img_size: int,
        attn_resolutions: Sequence[int],
    ) -> None:
        super().__init__()
        self.taps: dict[int, int] = {}
        cin = nf * ch_mult[-1]
        res = latent = img_size // 2 ** (len(ch_mult) - 1)
        blocks: list[nn.Module] = [nn.Conv2d(emb_dim, cin, 3, 1, 1)]
        blocks += [ResBlock(cin, cin), AttnBlock(cin), ResBlock(cin, cin)]
        for i in reversed(range(len(ch_mult))):
            cout = nf * ch_mult[i]
            for j in range(res_blocks):
                blocks.append(ResBlock(cin, cout))
                if j == 0 or res == latent:
                    self.taps[res] = len(blocks) - 1
                cin = cout
                if res in attn_resolutions:
                    blocks.append(AttnBlock(cin))
            if i != 0:
                blocks.append(Upsample(cin))
                res *= 2
        blocks += [group_norm(cin), nn.Conv2d(cin, 3, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class VectorQuantizer(nn.Module):
    """The VQGAN codebook (key ``embedding.weight``, ``(codebook_size, emb_dim)``)."""

    def __init__(self, codebook_size: int, emb_dim: int) -> None:
        super().__init__()
        self.codebook_size, self.emb_dim = codebook_size, emb_dim
        self.embedding = nn.Embedding(codebook_size, emb_dim)
        self.embedding.weight.data.uniform_(-1.0 / codebook_size, 1.0 / codebook_size)

    def lookup(self, indices: Tensor, shape: tuple[int, int, int]) -> Tensor:
        """``(N, h*w)`` code indices -> ``(N, emb_dim, h, w)`` features (``shape = (N, h, w)``)."""
        n, h, w = shape
        z = self.embedding.weight[indices.reshape(-1)]
        return z.view(n, h, w, self.emb_dim).permute(0, 3, 1, 2).contiguous()


class TransformerSALayer(nn.Module):
    """Pre-norm transformer layer: ``self_attn`` (``nn.MultiheadAttention``, sequence-first),
    ``linear1`` / GELU / ``linear2`` MLP, ``norm1`` / ``norm2``; the position embedding is added to
    the queries and keys only."""

    def __init__(self, embed_dim: int, nhead: int = 8, dim_mlp: int = 2048) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(embed_dim, nhead, dropout=0.0)
        self.linear1 = nn.Linear(embed_dim, dim_mlp)
        self.linear2 = nn.Linear(dim_mlp, embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)

    def forward(self, x: Tensor, pos: Tensor | None = None) -> Tensor:
        h = self.norm1(x)
        q = k = h if pos is None else h + pos
        x = x + self.self_attn(q, k, value=h, need_weights=False)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class FuseSFTBlock(nn.Module):
    """CFT (upstream ``Fuse_sft_block``): ``dec + w * (dec * scale(e) + shift(e))`` with
    ``e = encode_enc(cat(enc, dec))``."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.encode_enc = ResBlock(2 * in_ch, out_ch)
        self.scale = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
        )
        self.shift = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1),
        )

    def forward(self, enc_feat: Tensor, dec_feat: Tensor, w: float = 1.0) -> Tensor:
        e = self.encode_enc(torch.cat([enc_feat, dec_feat], 1))
        return dec_feat + w * (dec_feat * self.scale(e) + self.shift(e))


def calc_mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std (unbiased variance + ``eps``) of ``(N, C, H, W)`` features."""
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    return flat.mean(2).view(b, c, 1, 1), (flat.var(2) + eps).sqrt().view(b, c, 1, 1)


def adaptive_instance_normalization(content: Tensor, style: Tensor) -> Tensor:
    """Give ``content`` the per-channel mean and std of ``style``."""
    s_mean, s_std = calc_mean_std(style)
    c_mean, c_std = calc_mean_std(content)
    return (content - c_mean) / c_std * s_std + s_mean


class CodeFormer(nn.Module):
    """CodeFormer with the official key names (``encoder``, ``quantize``, ``generator`` of the
    VQGAN, then ``position_emb``, ``feat_emb``, ``ft_layers``, ``idx_pred_layer``,
    ``fuse_convs_dict``).

    Parameters
    ----------
    scale : int
        Must be 1: the model restores a face at its own size (``img_size`` in and out).
    dim_embd, n_head, n_layers, codebook_size, latent_size, connect_list :
        Transformer width / heads / depth, codebook entries, latent tokens (h * w of the latent
        grid) and the CFT resolutions (official: 512, 8, 9, 1024, 256, ['32','64','128','256']).
    fix_modules : sequence of str
        Sub-modules frozen (``quantize``, ``generator`` as upstream).
    img_size, nf, ch_mult, res_blocks, attn_resolutions, emb_dim :
        The VQGAN backbone (hard-coded upstream: 512, 64, [1,2,2,4,4,8], 2, [16], 256).
    fidelity_weight : float
        ``w`` used by :meth:`forward` (0 = quality, 1 = fidelity; 0.5 as ``inference_codeformer.py``).
    adain : bool
        AdaIN of the looked-up codes in :meth:`forward` (True as ``inference_codeformer.py``).

    Forward: ``(N, 3, img_size, img_size)`` float RGB in [0, 1] -> same shape, in [0, 1].
    """

    def __init__(
        self,
        scale: int = 1,
        dim_embd: int = 512,
        n_head: int = 8,
        n_layers: int = 9,
        codebook_size: int = 1024,
        latent_size: int = 256,
        connect_list: Sequence[str | int] = ("32", "64", "128", "256"),
        fix_modules: Sequence[str] | None = ("quantize", "generator"),
        img_size: int = 512,
        nf: int = 64,
        ch_mult: Sequence[int] = (1, 2, 2, 4, 4, 8),
        res_blocks: int = 2,
        attn_resolutions: Sequence[int] = (16,),
        emb_dim: int = 256,
        fidelity_weight: float = 0.5,
        adain: bool = True,
    ) -> None:
        super().__init__()
        if scale != 1:
            raise ValueError(
                f"CodeFormer restores faces at their own size (scale 1), got scale={scale}; "
                f"resize the LR face to {img_size}x{img_size} first"
            )
        side = img_size // 2 ** (len(ch_mult) - 1)
        if side * 2 ** (len(ch_mult) - 1) != img_size or side * side != latent_size:
            raise ValueError(
                f"CodeFormer: img_size {img_size} with {len(ch_mult)} levels gives a "
                f"{img_size / 2 ** (len(ch_mult) - 1):g}-side latent grid, latent_size is {latent_size}"
            )
        self.scale = 1
        self.img_size = img_size
        self.input_size = img_size  # read by srmer.sr.upscale: fixed input, no tiling
        self.fidelity_weight = float(fidelity_weight)
        self.adain = bool(adain)
        self.connect_list = [str(s) for s in connect_list]
        self.n_layers, self.dim_embd, self.dim_mlp = n_layers, dim_embd, dim_embd * 2
        self.encoder = Encoder(3, nf, emb_dim, ch_mult, res_blocks, img_size, attn_resolutions)
        self.quantize = VectorQuantizer(codebook_size, emb_dim)
        self.generator = Generator(nf, emb_dim, ch_mult, res_blocks, img_size, attn_resolutions)
        for name in fix_modules or ():
            getattr(self, name).requires_grad_(False)
        self.position_emb = nn.Parameter(torch.zeros(latent_size, dim_embd))
        self.feat_emb = nn.Linear(emb_dim, dim_embd)
        self.ft_layers = nn.Sequential(
            *[TransformerSALayer(dim_embd, n_head, self.dim_mlp) for _ in range(n_layers)]
        )
        self.idx_pred_layer = nn.Sequential(
            nn.LayerNorm(dim_embd), nn.Linear(dim_embd, codebook_size, bias=False)
        )
        #: channels per resolution (upstream's ``channels`` table)
        self.channels = {str(img_size // 2**i): nf * m for i, m in enumerate(ch_mult)}
        #: block indices of the CFT taps (upstream's ``fuse_encoder_block`` / ``fuse_generator_block``)
        self.fuse_encoder_block = {str(r): i for r, i in self.encoder.taps.items()}
        self.fuse_generator_block = {str(r): i for r, i in self.generator.taps.items()}
        unknown = [s for s in self.connect_list if s not in self.channels]
        if unknown:
            raise ValueError(
                f"CodeFormer: connect_list {unknown} not among the resolutions {list(self.channels)}"
            )
        self.fuse_convs_dict = nn.ModuleDict(
            {s: FuseSFTBlock(self.channels[s], self.channels[s]) for s in self.connect_list}
        )

    def restore(
        self, x: Tensor, w: float = 0.0, adain: bool = False
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Upstream forward: ``x`` in [-1, 1] -> ``(image in ~[-1, 1], logits (N, hw, codebook),
        lq_feat (N, emb_dim, h, w))``; defaults ``w=0, adain=False`` as upstream's signature."""
        enc_at = {self.fuse_encoder_block[s]: s for s in self.connect_list}
        enc_feats: dict[str, Tensor] = {}
        for i, block in enumerate(self.encoder.blocks):
            x = block(x)
            if i in enc_at:
                enc_feats[enc_at[i]] = x
        lq_feat = x
        n, _, h, wd = lq_feat.shape
        pos = self.position_emb.unsqueeze(1).repeat(1, n, 1)  # (hw, n, d)
        query = self.feat_emb(lq_feat.flatten(2).permute(2, 0, 1))
        for layer in self.ft_layers:
            query = layer(query, pos)
        logits = self.idx_pred_layer(query).permute(1, 0, 2)  # (n, hw, codebook)
        _, top_idx = torch.topk(F.softmax(logits, dim=2), 1, dim=2)
        quant_feat = self.quantize.lookup(top_idx, (n, h, wd)).detach()
        if adain:
            quant_feat = adaptive_instance_normalization(quant_feat, lq_feat)
        gen_at = {self.fuse_generator_block[s]: s for s in self.connect_list}
        x = quant_feat
        for i, block in enumerate(self.generator.blocks):
            x = block(x)
            if i in gen_at and w > 0:
                s = gen_at[i]
                x = self.fuse_convs_dict[s](enc_feats[s].detach(), x, w)
        return x, logits, lq_feat

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(
                f"CodeFormer takes {self.img_size}x{self.img_size} faces, got {tuple(x.shape[-2:])}"
            )
        image, _, _ = self.restore(x * 2 - 1, self.fidelity_weight, self.adain)
        return ((image + 1) / 2).clamp(0, 1)


def build(scale: int = 1, **hp: Any) -> CodeFormer:
    """Build :class:`CodeFormer` (``scale`` must be 1)."""
    return CodeFormer(scale=scale, **hp)


_PREFIXES = (
    "encoder.blocks.",
    "quantize.",
    "generator.blocks.",
    "position_emb",
    "feat_emb.",
    "ft_layers.",
    "idx_pred_layer.",
    "fuse_convs_dict.",
)


def _encoder_layout(sd: StateDict) -> tuple[list[int], int, list[int]] | None:
    """``(ch_mult, res_blocks, attention levels)`` read from the ``encoder.blocks.N`` keys."""
    nf = sd["encoder.blocks.0.weight"].shape[0]
    last = max_index(sd, r"^encoder\.blocks\.(\d+)\.")
    kinds = []
    for i in range(1, last - 1):  # between the first conv and the final GroupNorm + conv
        p = f"encoder.blocks.{i}."
        if p + "norm1.weight" in sd:
            kinds.append("R")
        elif p + "q.weight" in sd:
            kinds.append("A")
        elif p + "conv.weight" in sd:
            kinds.append("D")
        else:
            return None
    if kinds[-3:] != ["R", "A", "R"]:
        return None
    groups: list[list[tuple[str, int]]] = [[]]
    for i, kind in enumerate(kinds[:-3], start=1):
        if kind == "D":
            groups.append([])
        else:
            groups[-1].append((kind, i))
    ch_mult, attn_levels, counts = [], [], set()
    for level, group in enumerate(groups):
        res = [i for kind, i in group if kind == "R"]
        if not res:
            return None
        counts.add(len(res))
        width = sd[f"encoder.blocks.{res[-1]}.conv2.weight"].shape[0]
        if width % nf:
            return None
        ch_mult.append(width // nf)
        if any(kind == "A" for kind, _ in group):
            attn_levels.append(level)
    if len(counts) != 1:
        return None
    return ch_mult, counts.pop(), attn_levels


def _heads(dim: int) -> int:
    # not stored in the weights: the official 8 when it divides the width
    return next(h for h in (8, 4, 2, 1) if dim % h == 0)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """CodeFormer from ``position_emb``, ``feat_emb``, ``ft_layers``, ``idx_pred_layer``,
    ``quantize.embedding`` and the ``encoder`` / ``generator`` ``blocks``.

    ``dim_embd`` and ``latent_size`` from ``position_emb`` ``(latent_size, dim_embd)``,
    ``n_layers`` from the ``ft_layers.N`` count, ``codebook_size`` / ``emb_dim`` from
    ``quantize.embedding.weight``, ``connect_list`` from the ``fuse_convs_dict.<size>`` keys,
    ``nf`` / ``ch_mult`` / ``res_blocks`` / ``attn_resolutions`` from the encoder's block layout and
    widths, ``img_size`` = latent side * 2^(levels - 1). ``n_head`` is not in the weights (8, the
    official value, when it divides ``dim_embd``).
    """
    if not has_keys(
        sd,
        "encoder.blocks.0.weight",
        "quantize.embedding.weight",
        "generator.blocks.0.weight",
        "position_emb",
        "feat_emb.weight",
        "ft_layers.0.self_attn.in_proj_weight",
        "idx_pred_layer.1.weight",
    ) or not only_prefixes(sd, *_PREFIXES):
        return None
    layout = _encoder_layout(sd)
    if layout is None:
        return None
    ch_mult, res_blocks, attn_levels = layout
    latent_size, dim_embd = sd["position_emb"].shape
    side = math.isqrt(latent_size)
    if side * side != latent_size:
        return None
    img_size = side * 2 ** (len(ch_mult) - 1)
    codebook_size, emb_dim = sd["quantize.embedding.weight"].shape
    rx = re.compile(r"^fuse_convs_dict\.(\d+)\.")
    connect = sorted({m.group(1) for k in sd if (m := rx.match(k))}, key=int)
    return {
        "scale": 1,
        "dim_embd": int(dim_embd),
        "n_head": _heads(int(dim_embd)),
        "n_layers": count_indexed(sd, r"^ft_layers\.(\d+)\.linear1\.weight$"),
        "codebook_size": int(codebook_size),
        "latent_size": int(latent_size),
        "connect_list": connect,
        "img_size": img_size,
        "nf": sd["encoder.blocks.0.weight"].shape[0],
        "ch_mult": ch_mult,
        "res_blocks": res_blocks,
        "attn_resolutions": [img_size // 2**level for level in attn_levels],
        "emb_dim": int(emb_dim),
    }


SPECS: list[ArchSpec] = [
    ArchSpec(
        "codeformer",
        build,
        (1,),
        detect,
        description="CodeFormer (Zhou et al. 2022): VQGAN codebook + lookup transformer + CFT "
        "(fidelity_weight w), 512x512 face restoration (scale 1)",
        defaults={**OFFICIAL, "fidelity_weight": 0.5, "adain": True},
        restoration_size=512,
    ),
]
