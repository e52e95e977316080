"""GLEAN (Chan et al., CVPR 2021): generative latent bank for large-factor SR.

An RRDB encoder turns the LR image into multi-resolution features and latent codes; a frozen
StyleGAN2 generator (style 512, 8 mapping MLPs, channel multiplier 2) is run on those codes with the
encoder features fused in (``fusion_out`` / ``fusion_skip``); a decoder of pixel-shuffle stages
merges the generator features back to the output size. Module names follow mmagic's
``GLEANStyleGANv2`` (a checkpoint's ``generator.`` prefix is stripped by the loader, leaving
``encoder.*``, ``generator.*`` (the StyleGAN2 bank, with ``weight_orig`` equalised-LR parameters,
``blur.kernel`` / ``upsample.kernel`` and ``injected_noise_N`` buffers), ``fusion_out.*``,
``fusion_skip.*``, ``decoder.*``).

Input size is fixed (``in_size``; the encoder ends with a linear layer on 4x4 features), the output
is ``out_size``; the published face models are 64->1024 and 128->1024 (x16, x8); srmer's default is
``out_size=256`` with ``in_size = 256 / scale`` (16to256 ... 128to256). mmagic feeds images normalised
to [-1, 1] (mean = std = 127.5); the model converts internally so it takes and returns [0, 1].

Deviations: StyleGAN2's upfirdn2d / fused-bias-LeakyReLU CUDA ops are re-expressed with plain torch
ops (same arithmetic); ``max_channels`` (default 512 = published) caps the StyleGAN2 widths so tiny
test or CPU-trainable models can be built; the weight-sharing of the latent bank's freezing is kept
(``generator.requires_grad_(False)``) but srmer's trainer can unfreeze it when no pretrained bank is
available (training from scratch, see :mod:`srmer.sr.train`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import count_indexed, has_keys
from srmer.sr.archs.rrdbnet import RRDBFeatures

_BASE_CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def stylegan_channels(channel_multiplier: int = 2, max_channels: int = 512) -> dict[int, int]:
    """StyleGAN2 widths per resolution (mmagic's table), capped at ``max_channels``."""
    out = {}
    for res, c in _BASE_CHANNELS.items():
        out[res] = min(max_channels, c if res <= 32 else c * channel_multiplier)
    return out


def make_kernel(k: list[int]) -> Tensor:
    """Separable FIR kernel ``outer(k, k) / sum``."""
    t = torch.tensor(k, dtype=torch.float32)
    t = t[None, :] * t[:, None]
    return t / t.sum()


def upfirdn2d(
    x: Tensor, kernel: Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> Tensor:
    """Upsample by zero insertion, pad, FIR-filter, downsample (StyleGAN2's ``upfirdn2d``, torch ops).

    ``pad = (p0, p1)`` applies to both axes (before, after); negative pads crop.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    x = F.pad(x, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        hh, ww = x.shape[-2:]
        x = x[:, :, max(-p0, 0) : hh - max(-p1, 0), max(-p0, 0) : ww - max(-p1, 0)]
    k = torch.flip(kernel, [0, 1]).to(x)[None, None].expand(c, 1, *kernel.shape)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down] if down > 1 else x


class EqualLinear(nn.Module):
    """mmagic ``EqualLinearActModule``: ``linear.weight_orig`` (equalised LR) + separate ``bias``.

    ``act=True`` is the fused bias + LeakyReLU(0.2) * sqrt(2) of the mapping network.
    """

    def __init__(
        self, cin: int, cout: int, lr_mul: float = 1.0, bias_init: float = 0.0, act: bool = False
    ) -> None:
        super().__init__()
        self.linear = nn.Module()
        self.linear.weight_orig = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(cin)
        self.lr_mul = lr_mul
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        x = F.linear(x.reshape(x.size(0), -1), self.linear.weight_orig * self.scale)
        if self.act:
            return F.leaky_relu(x + self.bias * self.lr_mul, 0.2) * math.sqrt(2)
        return x + self.bias * self.lr_mul


class PixelNorm(nn.Module):
    """``x / (||x||_2 / sqrt(C) + eps)`` over channels (mmagic's ``pixel_norm``)."""

    def forward(self, x: Tensor) -> Tensor:
        norm = torch.linalg.norm(x, ord=2, dim=1, keepdim=True) / math.sqrt(x.shape[1])
        return x / (norm + 1e-6)


class Blur(nn.Module):
    """FIR blur with a stored ``kernel`` buffer (state_dict key ``blur.kernel``)."""

    def __init__(self, kernel: list[int], pad: tuple[int, int], upsample_factor: int = 1) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(kernel) * upsample_factor**2)
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated (and demodulated) convolution; ``weight_orig`` (1, out, in, k, k)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        style_channels: int,
        demodulate: bool = True,
        upsample: bool = False,
        blur_kernel: tuple[int, ...] = (1, 3, 3, 1),
    ) -> None:
        super().__init__()
        self.cin, self.cout, self.k = cin, cout, k
        self.demodulate, self.upsample = demodulate, upsample
        self.style_modulation = EqualLinear(style_channels, cin, bias_init=1.0)
        self.weight_orig = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.scale = 1 / math.sqrt(cin * k * k)
        if upsample:
            p = (len(blur_kernel) - 2) - (k - 1)
            self.blur = Blur(list(blur_kernel), ((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        n, c, h, w = x.shape
        s = self.style_modulation(style).view(n, 1, c, 1, 1)
        weight = self.weight_orig * self.scale * s
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(
                n, self.cout, 1, 1, 1
            )
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(n * c, self.cout, self.k, self.k)
            x = F.conv_transpose2d(x.reshape(1, n * c, h, w), weight, stride=2, groups=n)
            return self.blur(x.reshape(n, self.cout, *x.shape[-2:]))
        weight = weight.reshape(n * self.cout, c, self.k, self.k)
        x = F.conv2d(x.reshape(1, n * c, h, w), weight, padding=self.k // 2, groups=n)
        return x.reshape(n, self.cout, h, w)


class NoiseInjection(nn.Module):
    """``x + weight * noise`` with a learned scalar ``weight``."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor) -> Tensor:
        return x + self.weight * noise


class FusedBiasLeakyReLU(nn.Module):
    """``leaky_relu(x + bias, 0.2) * sqrt(2)`` (mmcv's fused op), key ``activate.bias``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class ModulatedStyleConv(nn.Module):
    """Modulated conv + noise + fused activation (keys ``conv``, ``noise_injector``, ``activate``)."""

    def __init__(
        self, cin: int, cout: int, k: int, style_channels: int, upsample: bool = False
    ) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, k, style_channels, upsample=upsample)
        self.noise_injector = NoiseInjection()
        self.activate = FusedBiasLeakyReLU(cout)

    def forward(self, x: Tensor, style: Tensor, noise: Tensor) -> Tensor:
        return self.activate(self.noise_injector(self.conv(x, style), noise))


class UpsampleUpFIRDn(nn.Module):
    """x2 FIR up-sampling of the RGB skip (key ``upsample.kernel``)."""

    def __init__(self, kernel: tuple[int, ...] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(list(kernel)) * 4)
        p = len(kernel) - 2
        self.pad = ((p + 1) // 2 + 1, p // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, up=2, pad=self.pad)


class ModulatedToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation) + ``bias`` + up-sampled skip."""

    def __init__(
        self, cin: int, style_channels: int, upsample: bool = True, out_channels: int = 3
    ) -> None:
        super().__init__()
        if upsample:
            self.upsample = UpsampleUpFIRDn()
        self.conv = ModulatedConv2d(cin, out_channels, 1, style_channels, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        out = self.conv(x, style) + self.bias
        if skip is not None:
            if hasattr(self, "upsample"):
                skip = self.upsample(skip)
            out = out + skip
        return out


class ConstantInput(nn.Module):
    """Learned 4x4 constant (key ``constant_input.input``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, 4, 4))

    def forward(self, batch: int) -> Tensor:
        return self.input.repeat(batch, 1, 1, 1)


class StyleGAN2Generator(nn.Module):
    """The StyleGAN2 synthesis + mapping network used as GLEAN's latent bank (mmagic naming)."""

    def __init__(
        self,
        out_size: int,
        style_channels: int = 512,
        num_mlps: int = 8,
        channel_multiplier: int = 2,
        lr_mlp: float = 0.01,
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        self.channels = stylegan_channels(channel_multiplier, max_channels)
        layers: list[nn.Module] = [PixelNorm()]
        layers += [
            EqualLinear(style_channels, style_channels, lr_mul=lr_mlp, act=True)
            for _ in range(num_mlps)
        ]
        self.style_mapping = nn.Sequential(*layers)
        ch = self.channels
        self.constant_input = ConstantInput(ch[4])
        self.conv1 = ModulatedStyleConv(ch[4], ch[4], 3, style_channels)
        self.to_rgb1 = ModulatedToRGB(ch[4], style_channels, upsample=False)
        self.log_size = int(math.log2(out_size))
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        cin = ch[4]
        for i in range(3, self.log_size + 1):
            cout = ch[2**i]
            self.convs.append(ModulatedStyleConv(cin, cout, 3, style_channels, upsample=True))
            self.convs.append(ModulatedStyleConv(cout, cout, 3, style_channels))
            self.to_rgbs.append(ModulatedToRGB(cout, style_channels, upsample=True))
            cin = cout
        self.num_latents = self.log_size * 2 - 2
        self.num_injected_noises = self.num_latents - 1
        for i in range(self.num_injected_noises):
            res = (i + 5) // 2
            self.register_buffer(f"injected_noise_{i}", torch.randn(1, 1, 2**res, 2**res))


class PixelShufflePack(nn.Module):
    """mmagic ``PixelShufflePack``: ``upsample_conv`` then pixel shuffle."""

    def __init__(self, cin: int, cout: int, factor: int, kernel: int = 3) -> None:
        super().__init__()
        self.factor = factor
        self.upsample_conv = nn.Conv2d(
            cin, cout * factor * factor, kernel, padding=(kernel - 1) // 2
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(self.upsample_conv(x), self.factor)


class GLEAN(nn.Module):
    """GLEAN with a StyleGAN2 latent bank (mmagic ``GLEANStyleGANv2`` layout).

    Parameters
    ----------
    scale : int
        ``out_size / in_size`` (used when ``in_size`` is not given).
    in_size, out_size : int
        Fixed input and output sides (powers of two; e.g. 16 -> 256 for x16).
    rrdb_channels, num_rrdbs : int
        Encoder RRDB width and depth (64, 23).
    style_channels, num_mlps, channel_multiplier : int
        Latent bank (512, 8, 2).
    max_channels : int
        Cap on StyleGAN2 widths (512 = published).
    freeze_bank : bool
        Freeze the StyleGAN2 weights (as published, which assumes a pretrained bank).

    Forward: ``(N,3,in_size,in_size)`` float RGB in [0,1] -> ``(N,3,out_size,out_size)``.
    """

    def __init__(
        self,
        scale: int = 16,
        in_size: int | None = None,
        out_size: int = 256,
        img_channels: int = 3,
        rrdb_channels: int = 64,
        num_rrdbs: int = 23,
        style_channels: int = 512,
        num_mlps: int = 8,
        channel_multiplier: int = 2,
        max_channels: int = 512,
        freeze_bank: bool = True,
    ) -> None:
        super().__init__()
        in_size = in_size or out_size // scale
        if in_size >= out_size or in_size < 4 or 2 ** int(math.log2(in_size)) != in_size:
            raise ValueError(
                f"GLEAN needs power-of-two in_size >= 4 below out_size, got {in_size}->{out_size}"
            )
        self.in_size, self.out_size = in_size, out_size
        self.input_size = in_size  # read by srmer.sr.upscale: no tiling, fixed input
        self.scale = out_size // in_size
        self.style_channels = style_channels
        self.generator = StyleGAN2Generator(
            out_size, style_channels, num_mlps, channel_multiplier, 0.01, max_channels
        )
        if freeze_bank:
            self.generator.requires_grad_(False)
        ch = self.generator.channels
        num_styles = int(math.log2(out_size)) * 2 - 2
        encoder_res = [2**i for i in range(int(math.log2(in_size)), 1, -1)]
        self.encoder = nn.ModuleList(
            [
                nn.Sequential(
                    RRDBFeatures(img_channels, rrdb_channels, num_rrdbs, 32),
                    nn.Conv2d(rrdb_channels, ch[in_size], 3, 1, 1),
                    nn.LeakyReLU(0.2, inplace=True),
                )
            ]
        )
        for res in encoder_res:
            cin = ch[res]
            if res > 4:
                cout = ch[res // 2]
                block = nn.Sequential(
                    nn.Conv2d(cin, cout, 3, 2, 1),
                    nn.LeakyReLU(0.2, True),
                    nn.Conv2d(cout, cout, 3, 1, 1),
                    nn.LeakyReLU(0.2, True),
                )
            else:
                block = nn.Sequential(
                    nn.Conv2d(cin, cin, 3, 1, 1),
                    nn.LeakyReLU(0.2, True),
                    nn.Flatten(),
                    nn.Linear(16 * cin, num_styles * style_channels),
                )
            self.encoder.append(block)
        self.fusion_out = nn.ModuleList()
        self.fusion_skip = nn.ModuleList()
        for res in encoder_res[::-1]:
            self.fusion_out.append(nn.Conv2d(ch[res] * 2, ch[res], 3, 1, 1))
            self.fusion_skip.append(nn.Conv2d(ch[res] + 3, 3, 3, 1, 1))
        self.decoder = nn.ModuleList()
        for res in [2**i for i in range(int(math.log2(in_size)), int(math.log2(out_size)) + 1)]:
            cin = ch[res] if res == in_size else 2 * ch[res]
            if res < out_size:
                self.decoder.append(PixelShufflePack(cin, ch[res * 2], 2, 3))
            else:
                self.decoder.append(
                    nn.Sequential(
                        nn.Conv2d(cin, 64, 3, 1, 1),
                        nn.LeakyReLU(0.2, True),
                        nn.Conv2d(64, img_channels, 3, 1, 1),
                    )
                )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.in_size, self.in_size):
            raise ValueError(
                f"GLEAN takes {self.in_size}x{self.in_size} input, got {tuple(x.shape[-2:])}"
            )
        lq = x * 2 - 1  # mmagic normalises with mean = std = 127.5
        feats = []
        feat = lq
        for block in self.encoder:
            feat = block(feat)
            feats.append(feat)
        feats = feats[::-1]
        latent = feats[0].view(lq.size(0), -1, self.style_channels)
        enc = feats[1:]
        g = self.generator
        noise = [getattr(g, f"injected_noise_{i}") for i in range(g.num_injected_noises)]
        out = g.constant_input(lq.size(0))
        out = g.conv1(out, latent[:, 0], noise[0])
        skip = g.to_rgb1(out, latent[:, 1])
        idx = 1
        gen_feats = []
        for up_conv, conv, n1, n2, to_rgb in zip(
            g.convs[::2], g.convs[1::2], noise[1::2], noise[2::2], g.to_rgbs, strict=True
        ):
            if out.size(2) <= self.in_size:
                fi = (idx - 1) // 2
                out = self.fusion_out[fi](torch.cat([out, enc[fi]], 1))
                skip = self.fusion_skip[fi](torch.cat([skip, enc[fi]], 1))
            out = up_conv(out, latent[:, idx], n1)
            out = conv(out, latent[:, idx + 1], n2)
            skip = to_rgb(out, latent[:, idx + 2], skip)
            if out.size(2) > self.in_size:
                gen_feats.append(out)
            idx += 2
        hr = enc[-1]
        for i, block in enumerate(self.decoder):
            if i > 0:
                hr = torch.cat([hr, gen_feats[i - 1]], 1)
            hr = block(hr)
        return (hr + 1) / 2


def build(scale: int = 16, **hp: Any) -> GLEAN:
    """Build :class:`GLEAN`."""
    return GLEAN(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """GLEAN from ``encoder.0.0.conv_first``, ``generator.constant_input``, ``fusion_out`` keys."""
    if not has_keys(
        sd, "encoder.0.0.conv_first.weight", "generator.constant_input.input", "fusion_out.0.weight"
    ):
        return None
    n_fusion = count_indexed(sd, r"^fusion_out\.(\d+)\.weight$")
    n_rgb = count_indexed(sd, r"^generator\.to_rgbs\.(\d+)\.bias$")
    in_size, out_size = 2 ** (n_fusion + 1), 2 ** (n_rgb + 2)
    max_ch = sd["generator.constant_input.input"].shape[1]
    cm = 2
    for k in range(n_rgb):
        res = 2 ** (k + 3)
        if res >= 64:
            width = sd[f"generator.to_rgbs.{k}.conv.weight_orig"].shape[2]
            if width < max_ch:
                cm = max(1, width // _BASE_CHANNELS[res])
                break
    return {
        "scale": out_size // in_size,
        "in_size": in_size,
        "out_size": out_size,
        "img_channels": sd["encoder.0.0.conv_first.weight"].shape[1],
        "rrdb_channels": sd["encoder.0.0.conv_first.weight"].shape[0],
        "num_rrdbs": count_indexed(sd, r"^encoder\.0\.0\.body\.(\d+)\.rdb1\.conv1\.weight$"),
        "style_channels": sd["generator.style_mapping.1.linear.weight_orig"].shape[0],
        "num_mlps": count_indexed(sd, r"^generator\.style_mapping\.(\d+)\.linear\.weight_orig$"),
        "channel_multiplier": cm,
        "max_channels": max_ch,
    }


SPECS: list[ArchSpec] = [
    ArchSpec(
        "glean",
        build,
        (2, 4, 8, 16),
        detect,
        description="GLEAN (Chan et al. 2021): RRDB encoder + StyleGAN2 latent bank + decoder, fixed in/out size",
        defaults={"out_size": 256, "style_channels": 512, "num_mlps": 8, "channel_multiplier": 2},
        fixed_input=True,
    ),
]
