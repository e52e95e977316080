"""GFPGAN v1 clean (Wang et al., CVPR 2021): blind face restoration with a generative facial prior.

X. Wang, Y. Li, H. Zhang, Y. Shan, "Towards Real-World Blind Face Restoration with Generative Facial
Prior", CVPR 2021. Official code: https://github.com/TencentARC/GFPGAN (``GFPGANv1Clean`` in
``gfpgan/archs/gfpganv1_clean_arch.py`` and ``StyleGAN2GeneratorClean`` in
``gfpgan/archs/stylegan2_clean_arch.py``; the configuration of ``gfpgan/utils.py`` ``GFPGANer``
used by the released ``GFPGANv1.3.pth`` / ``GFPGANv1.4.pth`` weights).

A U-Net (``conv_body_first``, ``conv_body_down.N``, ``final_conv``, ``conv_body_up.N``) removes the
degradation; its bottleneck gives one latent code per StyleGAN2 layer (``final_linear``,
``different_w``); every decoder level of the U-Net gives a spatial scale and shift
(``condition_scale.N`` / ``condition_shift.N``) that modulate -- with ``sft_half`` only on the second
half of the channels -- the features of a "clean" StyleGAN2 generator (``stylegan_decoder.*``:
``style_mlp``, ``constant_input.weight``, ``style_conv1``, ``to_rgb1``, ``style_convs.N``,
``to_rgbs.N``, ``noises.noiseN`` buffers), which renders the restored face. ``toRGB.N`` are the
intermediate RGB heads of training (computed only with ``return_rgb=True``). Module and parameter
names reproduce the official ones, so the official checkpoints load with ``strict=True``.

Input and output: the network is a face *restorer* at one fixed size (512x512 for the released
weights): ``scale = 1`` at its native size and ``input_size = out_size``; an SR method resizes the
LR face to 512 first. Upstream feeds RGB normalised to [-1, 1] (``normalize(x, 0.5, 0.5)``) and
maps the output back with ``tensor2img(min_max=(-1, 1))``, which clamps. :meth:`GFPGANv1Clean.forward`
follows srmer's convention instead: float RGB in [0, 1] in and out (``x * 2 - 1`` in, ``(y + 1) / 2``
clamped to [0, 1] out); :meth:`GFPGANv1Clean.restore` is the raw upstream forward ([-1, 1], returns
``(image, intermediate_rgbs)``).

The StyleGAN2 blocks of :mod:`srmer.sr.archs.glean` are not reused: they follow mmagic's layout
(``style_modulation.linear.weight_orig`` with the equalised-LR scale applied at run time,
``weight_orig``, ``noise_injector.weight``, ``activate.bias``, ``constant_input.input``,
``injected_noise_N``, FIR ``blur.kernel`` / ``upsample.kernel`` buffers, transposed-conv up-sampling)
while the clean StyleGAN2 has plain ``modulation`` linears, ``weight`` tensors with the scale folded
in, ``StyleConv.weight`` / ``StyleConv.bias``, ``constant_input.weight``, ``noises.noiseN`` and
bilinear up-sampling, so both the key names and the arithmetic differ.

Deviations from the official code:

- noise: upstream inference runs with ``randomize_noise=True`` (fresh Gaussian noise per call);
  srmer defaults to ``randomize_noise=False`` -- the checkpoint's ``noises.noiseN`` buffers -- so
  that restoration is deterministic (constructor option ``randomize_noise`` restores upstream's
  behaviour);
- only the inference paths of the decoder are kept: one (per-layer) style input, no style mixing,
  truncation or ``return_latents``; ``decoder_load_path`` (loading a StyleGAN2 file at construction)
  is not supported -- load a full checkpoint instead; ``fix_decoder`` defaults to ``False`` (the
  released configuration; upstream's class default is ``True``);
- weight initialisation is PyTorch's default, not BasicSR's ``default_init_weights`` of the style
  MLP and modulation layers (irrelevant for pretrained weights);
- out-of-place LeakyReLU instead of upstream's in-place ``leaky_relu_`` (same values).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import count_indexed, has_keys, only_prefixes

_BASE = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def clean_channels(channel_multiplier: float = 2, narrow: float = 1) -> dict[int, int]:
    """Widths per resolution of the clean StyleGAN2 (``channels`` of ``StyleGAN2GeneratorClean``).

    ``int(base * narrow)`` up to 32x32, ``int(base * channel_multiplier * narrow)`` above; GFPGAN's
    U-Net uses the same table with ``narrow / 2``.
    """
    return {
        r: int(c * narrow) if r <= 32 else int(c * channel_multiplier * narrow)
        for r, c in _BASE.items()
    }


class NormStyleCode(nn.Module):
    """Pixel norm of the style codes: ``x / sqrt(mean(x^2) + 1e-8)`` over features."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """Clean StyleGAN2 modulated conv (no bias): keys ``modulation.weight/bias``, ``weight``.

    ``weight`` has shape ``(1, out, in, k, k)`` with the equalised-LR scale already folded in;
    ``sample_mode="upsample"`` resizes the input x2 bilinearly before the convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_style_feat: int,
        demodulate: bool = True,
        sample_mode: str | None = None,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = kernel_size
        self.demodulate, self.sample_mode, self.eps = demodulate, sample_mode, eps
        self.modulation = nn.Linear(num_style_feat, in_channels)
        nn.init.ones_(self.modulation.bias)
        self.weight = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size)
            / math.sqrt(in_channels * kernel_size**2)
        )

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        b, c = x.shape[:2]
        weight = self.weight * self.modulation(style).view(b, 1, c, 1, 1)
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + self.eps)
            weight = weight * demod.view(b, self.out_channels, 1, 1, 1)
        weight = weight.view(b * self.out_channels, c, self.kernel_size, self.kernel_size)
        if self.sample_mode == "upsample":
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        elif self.sample_mode == "downsample":
            x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        h, w = x.shape[2:]
        out = F.conv2d(x.reshape(1, b * c, h, w), weight, padding=self.kernel_size // 2, groups=b)
        return out.reshape(b, self.out_channels, *out.shape[2:])


class StyleConv(nn.Module):
    """Modulated conv * sqrt(2), noise (``weight`` scalar), ``bias`` ``(1, C, 1, 1)``, LeakyReLU(0.2)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_style_feat: int,
        demodulate: bool = True,
        sample_mode: str | None = None,
    ) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(
            in_channels, out_channels, kernel_size, num_style_feat, demodulate, sample_mode
        )
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: Tensor, style: Tensor, noise: Tensor | None = None) -> Tensor:
        out = self.modulated_conv(x, style) * math.sqrt(2)
        if noise is None:  # randomize_noise: fresh noise, as upstream
            b, _, h, w = out.shape
            noise = out.new_empty(b, 1, h, w).normal_()
        out = out + self.weight * noise + self.bias
        return F.leaky_relu(out, 0.2)


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB (no demodulation) + ``bias``, plus the bilinearly up-sampled skip."""

    def __init__(self, in_channels: int, num_style_feat: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.modulated_conv = ModulatedConv2d(in_channels, 3, 1, num_style_feat, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            if self.upsample:
                skip = F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
            out = out + skip
        return out


class ConstantInput(nn.Module):
    """Learned constant ``weight`` ``(1, C, size, size)``."""

    def __init__(self, num_channel: int, size: int = 4) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, num_channel, size, size))

    def forward(self, batch: int) -> Tensor:
        return self.weight.repeat(batch, 1, 1, 1)


class StyleGAN2GeneratorClean(nn.Module):
    """The clean StyleGAN2 generator (TencentARC/GFPGAN ``StyleGAN2GeneratorClean`` naming).

    Parameters
    ----------
    out_size : int
        Output side (power of two >= 8).
    num_style_feat, num_mlp, channel_multiplier, narrow :
        512, 8, 2, 1 for GFPGAN v1.3/v1.4.

    Keys: ``style_mlp.{1,3,...}`` (linears between LeakyReLUs, after :class:`NormStyleCode`),
    ``constant_input.weight``, ``style_conv1``, ``to_rgb1``, ``style_convs.N`` (an up-sampling and a
    plain conv per resolution), ``to_rgbs.N``, ``noises.noiseN`` (fixed noise buffers, one per
    style conv).
    """

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        num_mlp: int = 8,
        channel_multiplier: float = 2,
        narrow: float = 1,
    ) -> None:
        super().__init__()
        self.num_style_feat = num_style_feat
        layers: list[nn.Module] = [NormStyleCode()]
        for _ in range(num_mlp):
            layers += [nn.Linear(num_style_feat, num_style_feat), nn.LeakyReLU(0.2)]
        self.style_mlp = nn.Sequential(*layers)
        self.channels = ch = clean_channels(channel_multiplier, narrow)
        self.constant_input = ConstantInput(ch[4], 4)
        self.style_conv1 = StyleConv(ch[4], ch[4], 3, num_style_feat)
        self.to_rgb1 = ToRGB(ch[4], num_style_feat, upsample=False)
        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1  # style convs (= noise buffers)
        self.num_latent = self.log_size * 2 - 2  # style codes (convs + the last to_rgb)
        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise{i}", torch.randn(1, 1, res, res))
        cin = ch[4]
        for i in range(3, self.log_size + 1):
            cout = ch[2**i]
            self.style_convs.append(StyleConv(cin, cout, 3, num_style_feat, sample_mode="upsample"))
            self.style_convs.append(StyleConv(cout, cout, 3, num_style_feat))
            self.to_rgbs.append(ToRGB(cout, num_style_feat, upsample=True))
            cin = cout

    def noise_list(self, randomize_noise: bool) -> list[Tensor | None]:
        """Per style conv: the stored buffer, or ``None`` (fresh noise) when ``randomize_noise``."""
        if randomize_noise:
            return [None] * self.num_layers
        return [getattr(self.noises, f"noise{i}") for i in range(self.num_layers)]

    def latents(self, style: Tensor, input_is_latent: bool) -> Tensor:
        """``(N, num_latent, F)`` per-layer codes from a ``(N, F)`` or ``(N, L, F)`` style input."""
        if not input_is_latent:
            style = self.style_mlp(style)
        if style.ndim < 3:
            style = style.unsqueeze(1).repeat(1, self.num_latent, 1)
        return style

    def forward(
        self, style: Tensor, input_is_latent: bool = False, randomize_noise: bool = False
    ) -> Tensor:
        """Image ``(N, 3, out_size, out_size)`` from one style input (no mixing or truncation)."""
        return self._synthesis(self.latents(style, input_is_latent), [], randomize_noise)

    def _modulate(self, out: Tensor, level: int, conditions: list[Tensor]) -> Tensor:
        return out  # the plain generator has no spatial conditions

    def _synthesis(self, latent: Tensor, conditions: list[Tensor], randomize_noise: bool) -> Tensor:
        noise = self.noise_list(randomize_noise)
        out = self.constant_input(latent.shape[0])
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for level, (conv1, conv2, to_rgb) in enumerate(
            zip(self.style_convs[::2], self.style_convs[1::2], self.to_rgbs, strict=True)
        ):
            out = conv1(out, latent[:, i], noise[i])
            out = self._modulate(out, level, conditions)
            out = conv2(out, latent[:, i + 1], noise[i + 1])
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip


class StyleGAN2GeneratorCSFT(StyleGAN2GeneratorClean):
    """Clean StyleGAN2 with spatial feature transform (SFT) after each up-sampling conv.

    ``conditions`` is ``[scale_0, shift_0, scale_1, shift_1, ...]``, one pair per resolution from
    8x8 up; ``sft_half`` modulates only the second half of the channels (``out * scale + shift``).
    """

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        num_mlp: int = 8,
        channel_multiplier: float = 2,
        narrow: float = 1,
        sft_half: bool = False,
    ) -> None:
        super().__init__(out_size, num_style_feat, num_mlp, channel_multiplier, narrow)
        self.sft_half = sft_half

    def _modulate(self, out: Tensor, level: int, conditions: list[Tensor]) -> Tensor:
        # upstream: applied when ``i < len(conditions)`` with i = 2 * level + 1
        if 2 * level + 1 >= len(conditions):
            return out
        scale, shift = conditions[2 * level], conditions[2 * level + 1]
        if self.sft_half:
            same, sft = torch.split(out, out.size(1) // 2, dim=1)
            return torch.cat([same, sft * scale + shift], 1)
        return out * scale + shift

    def forward(  # type: ignore[override]
        self,
        style: Tensor,
        conditions: list[Tensor],
        input_is_latent: bool = False,
        randomize_noise: bool = False,
    ) -> Tensor:
        """Image from one style input and the SFT ``conditions``."""
        return self._synthesis(self.latents(style, input_is_latent), conditions, randomize_noise)


class ResBlock(nn.Module):
    """U-Net block: conv1, LeakyReLU, bilinear x0.5 / x2, conv2, LeakyReLU, + 1x1 ``skip`` (no bias)."""

    def __init__(self, in_channels: int, out_channels: int, mode: str = "down") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        if mode not in ("down", "up"):
            raise ValueError(f"mode must be 'down' or 'up', not {mode!r}")
        self.scale_factor = 0.5 if mode == "down" else 2.0

    def _resize(self, x: Tensor) -> Tensor:
        return F.interpolate(
            x, scale_factor=self.scale_factor, mode="bilinear", align_corners=False
        )

    def forward(self, x: Tensor) -> Tensor:
        out = F.leaky_relu(self.conv1(x), 0.2)
        out = F.leaky_relu(self.conv2(self._resize(out)), 0.2)
        return out + self.skip(self._resize(x))


def _sft_head(channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1),
        nn.LeakyReLU(0.2, True),
        nn.Conv2d(channels, out_channels, 3, 1, 1),
    )


class GFPGANv1Clean(nn.Module):
    """GFPGAN v1 clean: U-Net + clean StyleGAN2 decoder with SFT (official key names).

    Parameters
    ----------
    scale : int
        Must be 1: the model restores a face at its own size (``out_size`` in and out).
    out_size : int
        Input and output side (512 for the released weights; a power of two >= 8).
    num_style_feat, channel_multiplier, narrow, num_mlp :
        512, 2, 1, 8 (v1.3/v1.4).
    sft_half : bool
        SFT on half of the decoder channels (True for v1.3/v1.4).
    input_is_latent, different_w : bool
        The U-Net gives W+ codes directly (True, True for v1.3/v1.4; not visible in the weights
        apart from ``different_w``'s ``final_linear`` width).
    fix_decoder : bool
        Freeze the StyleGAN2 decoder (False, as the released configuration).
    randomize_noise : bool
        Fresh noise per call as upstream inference (True) or the stored ``noises`` buffers
        (False, srmer's deterministic default).

    Forward: ``(N, 3, out_size, out_size)`` float RGB in [0, 1] -> same shape, in [0, 1].
    """

    def __init__(
        self,
        scale: int = 1,
        out_size: int = 512,
        num_style_feat: int = 512,
        channel_multiplier: float = 2,
        narrow: float = 1,
        sft_half: bool = True,
        num_mlp: int = 8,
        input_is_latent: bool = True,
        different_w: bool = True,
        fix_decoder: bool = False,
        randomize_noise: bool = False,
    ) -> None:
        super().__init__()
        if scale != 1:
            raise ValueError(
                f"GFPGAN restores faces at their own size (scale 1), got scale={scale}; resize "
                f"the LR face to {out_size}x{out_size} first"
            )
        if out_size < 8 or 2 ** int(math.log2(out_size)) != out_size:
            raise ValueError(f"GFPGAN needs a power-of-two out_size >= 8, got {out_size}")
        self.scale = 1
        self.out_size = out_size
        self.input_size = out_size  # read by srmer.sr.upscale: fixed input, no tiling
        self.input_is_latent = input_is_latent
        self.different_w = different_w
        self.num_style_feat = num_style_feat
        self.randomize_noise = randomize_noise
        self.log_size = int(math.log2(out_size))
        ch = clean_channels(channel_multiplier, narrow * 0.5)  # the U-Net is half as wide
        self.conv_body_first = nn.Conv2d(3, ch[out_size], 1)
        cin = ch[out_size]
        self.conv_body_down = nn.ModuleList()
        for i in range(self.log_size, 2, -1):
            self.conv_body_down.append(ResBlock(cin, ch[2 ** (i - 1)], "down"))
            cin = ch[2 ** (i - 1)]
        self.final_conv = nn.Conv2d(cin, ch[4], 3, 1, 1)
        cin = ch[4]
        self.conv_body_up = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            self.conv_body_up.append(ResBlock(cin, ch[2**i], "up"))
            cin = ch[2**i]
        self.toRGB = nn.ModuleList([nn.Conv2d(ch[2**i], 3, 1) for i in range(3, self.log_size + 1)])
        n_codes = (self.log_size * 2 - 2) if different_w else 1
        self.final_linear = nn.Linear(ch[4] * 16, n_codes * num_style_feat)
        self.stylegan_decoder = StyleGAN2GeneratorCSFT(
            out_size, num_style_feat, num_mlp, channel_multiplier, narrow, sft_half
        )
        if fix_decoder:
            self.stylegan_decoder.requires_grad_(False)
        self.condition_scale = nn.ModuleList()
        self.condition_shift = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            c = ch[2**i]
            sft_out = c if sft_half else 2 * c
            self.condition_scale.append(_sft_head(c, sft_out))
            self.condition_shift.append(_sft_head(c, sft_out))

    def restore(
        self, x: Tensor, return_rgb: bool = False, randomize_noise: bool | None = None
    ) -> tuple[Tensor, list[Tensor]]:
        """Upstream forward: ``x`` in [-1, 1] -> ``(image in ~[-1, 1], intermediate RGBs)``.

        ``randomize_noise=None`` uses the model's ``randomize_noise`` attribute.
        """
        if randomize_noise is None:
            randomize_noise = self.randomize_noise
        feat = F.leaky_relu(self.conv_body_first(x), 0.2)
        skips = []
        for block in self.conv_body_down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        style = self.final_linear(feat.flatten(1))
        if self.different_w:
            style = style.view(style.size(0), -1, self.num_style_feat)
        conditions: list[Tensor] = []
        rgbs: list[Tensor] = []
        for i, up in enumerate(self.conv_body_up):
            feat = up(feat + skips[i])
            conditions.append(self.condition_scale[i](feat))
            conditions.append(self.condition_shift[i](feat))
            if return_rgb:
                rgbs.append(self.toRGB[i](feat))
        image = self.stylegan_decoder(
            style, conditions, input_is_latent=self.input_is_latent, randomize_noise=randomize_noise
        )
        return image, rgbs

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.out_size, self.out_size):
            raise ValueError(
                f"GFPGAN takes {self.out_size}x{self.out_size} faces, got {tuple(x.shape[-2:])}"
            )
        image, _ = self.restore(x * 2 - 1)
        return ((image + 1) / 2).clamp(0, 1)


def build(scale: int = 1, **hp: Any) -> GFPGANv1Clean:
    """Build :class:`GFPGANv1Clean` (``scale`` must be 1)."""
    return GFPGANv1Clean(scale=scale, **hp)


_PREFIXES = (
    "conv_body_first.",
    "conv_body_down.",
    "final_conv.",
    "final_linear.",
    "conv_body_up.",
    "toRGB.",
    "stylegan_decoder.",
    "condition_scale.",
    "condition_shift.",
)


def _number(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """GFPGAN v1 clean from ``conv_body_first``, ``stylegan_decoder.*`` and ``condition_scale`` keys.

    ``out_size`` from the number of ``stylegan_decoder.to_rgbs.N`` (one per resolution from 8),
    ``num_style_feat`` from ``style_conv1``'s modulation input width, ``num_mlp`` from the
    ``style_mlp`` linears, ``narrow`` from ``constant_input.weight``'s channels (512 * narrow),
    ``channel_multiplier`` from the 64x64 decoder width (only for out_size >= 64, else the published
    2, which then changes no shape), ``sft_half`` from ``condition_scale.N.2`` giving as many channels
    as the U-Net level (half the decoder's) rather than twice, ``different_w`` from
    ``final_linear``'s width. ``input_is_latent`` is not in the weights: True, as released.
    """
    if not has_keys(
        sd,
        "conv_body_first.weight",
        "final_linear.weight",
        "stylegan_decoder.constant_input.weight",
        "stylegan_decoder.style_conv1.modulated_conv.modulation.weight",
        "condition_scale.0.0.weight",
        "condition_scale.0.2.weight",
    ) or not only_prefixes(sd, *_PREFIXES):
        return None
    n_rgb = count_indexed(sd, r"^stylegan_decoder\.to_rgbs\.(\d+)\.bias$")
    if n_rgb < 1 or count_indexed(sd, r"^stylegan_decoder\.style_convs\.(\d+)\.bias$") != 2 * n_rgb:
        return None
    log_size = n_rgb + 2
    out_size = 2**log_size
    num_style_feat = sd["stylegan_decoder.style_conv1.modulated_conv.modulation.weight"].shape[1]
    narrow = _number(sd["stylegan_decoder.constant_input.weight"].shape[1] / 512)
    cm: float | int = 2
    if out_size >= 64:  # to_rgbs.k sits at 2 ** (k + 3); index 3 is 64x64
        width = sd["stylegan_decoder.to_rgbs.3.modulated_conv.weight"].shape[2]
        cm = _number(width / (256 * narrow))
    unet = sd["condition_scale.0.0.weight"].shape[0]
    sft = sd["condition_scale.0.2.weight"].shape[0]
    if sft not in (unet, 2 * unet):
        return None
    n_codes = sd["final_linear.weight"].shape[0] // num_style_feat
    return {
        "scale": 1,
        "out_size": out_size,
        "num_style_feat": num_style_feat,
        "channel_multiplier": cm,
        "narrow": narrow,
        "sft_half": sft == unet,
        "num_mlp": count_indexed(sd, r"^stylegan_decoder\.style_mlp\.(\d+)\.weight$"),
        "input_is_latent": True,
        "different_w": n_codes == 2 * log_size - 2,
    }


#: the configuration of the released GFPGANv1.3.pth / GFPGANv1.4.pth (GFPGANer, arch='clean')
OFFICIAL: dict[str, Any] = {
    "out_size": 512,
    "num_style_feat": 512,
    "channel_multiplier": 2,
    "narrow": 1,
    "sft_half": True,
    "num_mlp": 8,
    "input_is_latent": True,
    "different_w": True,
}

SPECS: list[ArchSpec] = [
    ArchSpec(
        "gfpgan",
        build,
        (1,),
        detect,
        description="GFPGAN v1 clean (Wang et al. 2021): U-Net + StyleGAN2 prior with SFT, "
        "512x512 face restoration (scale 1; v1.3/v1.4 weights)",
        defaults=dict(OFFICIAL),
        restoration_size=512,
    ),
]
