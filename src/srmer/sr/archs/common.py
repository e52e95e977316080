"""Building blocks shared by the image SR architectures, and helpers for state_dict detection.

Module attribute names reproduce the official repositories (BasicSR, EDSR-PyTorch, mmagic) so that
their checkpoints load with ``strict=True``; each class says which repository's naming it follows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from srmer.sr.archs.base import StateDict

#: DIV2K RGB mean used by EDSR, RDN-style (Meta-SR), RCAN and BasicSR's EDSR/RCAN.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def make_layer(block: type[nn.Module], n: int, **kwargs) -> nn.Sequential:
    """``nn.Sequential`` of ``n`` blocks (BasicSR's ``make_layer``, gives keys ``body.N.``)."""
    return nn.Sequential(*[block(**kwargs) for _ in range(n)])


def conv3x3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    """3x3 convolution with 'same' zero padding."""
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=bias)


def is_power_of_two(n: int) -> bool:
    """True for 1, 2, 4, 8, ..."""
    return n >= 1 and (n & (n - 1)) == 0


class MeanShift(nn.Conv2d):
    """EDSR-PyTorch's ``MeanShift``: a frozen 1x1 convolution adding or subtracting the RGB mean.

    It is a parameterised conv (keys ``sub_mean.weight``/``sub_mean.bias``) because the official
    checkpoints store it that way; the values are fixed, never trained.
    """

    def __init__(
        self,
        rgb_range: float = 255.0,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
        rgb_std: tuple[float, float, float] = (1.0, 1.0, 1.0),
        sign: int = -1,
    ) -> None:
        super().__init__(3, 3, kernel_size=1)
        std = torch.tensor(rgb_std)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1) / std.view(3, 1, 1, 1))
            self.bias.copy_(sign * rgb_range * torch.tensor(rgb_mean) / std)
        for p in self.parameters():
            p.requires_grad = False


class ResidualBlockNoBN(nn.Module):
    """BasicSR residual block without batch norm: ``x + res_scale * conv2(relu(conv1(x)))``.

    Keys: ``conv1``, ``conv2`` (BasicSR ``arch_util.ResidualBlockNoBN``).
    """

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = conv3x3(num_feat, num_feat)
        self.conv2 = conv3x3(num_feat, num_feat)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.relu(self.conv1(x)))
        # skipping the multiply by 1.0 saves one full-size pass over the features
        return x + out if self.res_scale == 1 else x + out * self.res_scale


class Upsample(nn.Sequential):
    """BasicSR ``Upsample``: conv + PixelShuffle(2) per factor 2, or one conv + PixelShuffle(3).

    Keys ``upsample.0``, ``upsample.2``, ... (convs at even indices).
    """

    def __init__(self, scale: int, num_feat: int) -> None:
        layers: list[nn.Module] = []
        if is_power_of_two(scale):
            for _ in range(int(math.log2(scale))):
                layers += [conv3x3(num_feat, 4 * num_feat), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [conv3x3(num_feat, 9 * num_feat), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"scale {scale} is not supported; use 2^n or 3")
        super().__init__(*layers)


def edsr_pt_upsampler(scale: int, n_feats: int) -> nn.Sequential:
    """EDSR-PyTorch ``common.Upsampler`` (no BN, no activation): same layout as :class:`Upsample`.

    Inside the official ``tail`` it becomes ``tail.0.0``, ``tail.0.2``, ...
    """
    return Upsample(scale, n_feats)


def strip_prefix(sd: StateDict, prefix: str) -> StateDict:
    """Keys starting with ``prefix``, with the prefix removed."""
    n = len(prefix)
    return {k[n:]: v for k, v in sd.items() if k.startswith(prefix)}


def count_indexed(sd: StateDict | Iterable[str], pattern: str) -> int:
    """Number of distinct integers N for keys matching ``pattern`` (a regex with one ``(\\d+)`` group).

    Example: ``count_indexed(sd, r"^body\\.(\\d+)\\.conv1\\.weight$")`` counts residual blocks.
    """
    rx = re.compile(pattern)
    found = {int(m.group(1)) for k in sd if (m := rx.match(k))}
    return len(found)


def max_index(sd: StateDict | Iterable[str], pattern: str) -> int:
    """Largest integer N captured by ``pattern`` in any key, or -1 when none matches."""
    rx = re.compile(pattern)
    found = [int(m.group(1)) for k in sd if (m := rx.match(k))]
    return max(found) if found else -1


def only_prefixes(sd: StateDict | Iterable[str], *prefixes: str) -> bool:
    """True when every key starts with one of ``prefixes``.

    Detectors use it so that a larger network sharing some names (BasicSR's EDVR also has
    ``conv_first``, ``upconv1``, ``conv_hr``, ``conv_last``) is not mistaken for a smaller one.
    """
    return all(k.startswith(prefixes) for k in sd)


def has_keys(sd: StateDict, *keys: str) -> bool:
    """True when every key is present."""
    return all(k in sd for k in keys)


def upsampler_scale(sd: StateDict, prefix: str, num_feat: int) -> int | None:
    """Scale of a BasicSR/EDSR-PyTorch pixel-shuffle upsampler stored under ``prefix``.

    ``prefix`` is e.g. ``"upsample."`` or ``"tail.0."``; convs sit at even indices. A single conv with
    ``9 * num_feat`` outputs means x3, otherwise each conv with ``4 * num_feat`` outputs is one x2.
    """
    idx = 0
    n2 = 0
    while f"{prefix}{idx}.weight" in sd:
        out = sd[f"{prefix}{idx}.weight"].shape[0]
        if out == 9 * num_feat and idx == 0:
            return 3
        if out != 4 * num_feat:
            return None
        n2 += 1
        idx += 2
    return 2**n2 if n2 else None


def init_weights(module: nn.Module, scale: float = 0.1) -> None:
    """Kaiming-normal init scaled by ``scale`` for convs/linears (BasicSR ``default_init_weights``).

    Used by the RRDB family (scale 0.1) so that an untrained deep residual stack starts near identity.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight)
            m.weight.data.mul_(scale)
            if m.bias is not None:
                m.bias.data.zero_()


class BasicSRLayout(nn.Module):
    """The BasicSR model layout shared by its EDSR and RCAN (0..1 input, internal mean / 255 scaling).

    Keys: ``conv_first``, ``body.N...`` (the family's blocks), ``conv_after_body``, ``upsample``
    (:class:`Upsample`), ``conv_last``; global residual over the body. The DIV2K mean is a plain
    attribute, as in BasicSR, so it is not a state_dict key.

    Subclasses call :meth:`_build_head`, assign ``self.body``, then call :meth:`_build_tail`: the
    modules are created (and, under a fixed seed, initialised) in BasicSR's order.
    """

    body: nn.Module

    def _build_head(self, num_in_ch: int, num_feat: int, img_range: float) -> None:
        self.img_range = img_range
        self.mean = torch.tensor(DIV2K_RGB_MEAN).view(1, 3, 1, 1)
        self.conv_first = conv3x3(num_in_ch, num_feat)

    def _build_tail(self, scale: int, num_feat: int, num_out_ch: int) -> None:
        self.scale = scale
        self.conv_after_body = conv3x3(num_feat, num_feat)
        self.upsample = Upsample(scale, num_feat)
        self.conv_last = conv3x3(num_feat, num_out_ch)

    def forward(self, x: Tensor) -> Tensor:
        mean = self.mean.to(x)
        x = self.conv_first((x - mean) * self.img_range)
        res = self.conv_after_body(self.body(x)) + x
        return self.conv_last(self.upsample(res)) / self.img_range + mean


class Range255(nn.Module):
    """Mixin-like helper: models whose official weights expect 0..255 input.

    Subclasses set ``rgb_range`` (a plain attribute, not a buffer, so it adds no state_dict key) and
    call :meth:`to_range` / :meth:`from_range` around their core forward so that the public forward
    takes and returns float RGB in [0, 1], like every other srmer model.
    """

    rgb_range: float = 255.0

    def to_range(self, x: Tensor) -> Tensor:
        return x * self.rgb_range

    def from_range(self, x: Tensor) -> Tensor:
        return x / self.rgb_range


class EDSRPyTorchLayout(Range255):
    """The EDSR-PyTorch model layout shared by its EDSR and RCAN (0..255 weights).

    Keys: ``sub_mean``, ``head.0``, ``body.N...`` (the family's blocks, then one conv),
    ``tail.0`` (upsampler), ``tail.1``, ``add_mean``; global residual over the body.
    """

    def _build_layout(
        self,
        scale: int,
        num_in_ch: int,
        num_out_ch: int,
        num_feat: int,
        img_range: float,
        blocks: list[nn.Module],
    ) -> None:
        self.scale = scale
        self.rgb_range = img_range
        self.sub_mean = MeanShift(img_range, sign=-1)
        self.add_mean = MeanShift(img_range, sign=1)
        self.head = nn.Sequential(conv3x3(num_in_ch, num_feat))
        self.body = nn.Sequential(*blocks, conv3x3(num_feat, num_feat))
        self.tail = nn.Sequential(Upsample(scale, num_feat), conv3x3(num_feat, num_out_ch))

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.sub_mean(self.to_range(x)))
        res = self.body(x) + x
        return self.from_range(self.add_mean(self.tail(res)))


def by_key_style(
    key_style: str, basicsr: type[nn.Module], official: type[nn.Module]
) -> type[nn.Module]:
    """The class for ``key_style``: ``"basicsr"`` (BasicSR names) or ``"official"`` (EDSR-PyTorch's)."""
    classes = {"basicsr": basicsr, "official": official}
    if key_style not in classes:
        raise ValueError(f"key_style must be 'basicsr' or 'official', not {key_style!r}")
    return classes[key_style]


# Per key style: every key's prefix, the first conv, the upsampler's prefix and the last conv.
_LAYOUT_KEYS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "basicsr": (
        ("conv_first.", "body.", "conv_after_body.", "upsample.", "conv_last."),
        "conv_first.weight",
        "upsample.",
        "conv_last.weight",
    ),
    "official": (
        ("sub_mean.", "add_mean.", "head.", "body.", "tail."),
        "head.0.weight",
        "tail.0.",
        "tail.1.weight",
    ),
}


def detect_layout(
    sd: StateDict, key_style: str, family: Callable[[int], dict[str, Any]]
) -> dict[str, Any] | None:
    """Hyper-parameters of a :class:`BasicSRLayout` or :class:`EDSRPyTorchLayout` state_dict.

    Parameters
    ----------
    sd : StateDict
        Already recognised by the family's signature keys.
    key_style : str
        ``"basicsr"`` (:class:`BasicSRLayout`) or ``"official"`` (:class:`EDSRPyTorchLayout`).
    family : callable
        ``family(num_feat)`` -> the family's own hyper-parameters (block counts, ...).

    Returns
    -------
    dict or None
        ``scale``, ``key_style``, ``num_feat``, then ``family(num_feat)``, then ``num_in_ch`` and
        ``num_out_ch``; ``None`` when a key lies outside the layout or the upsampler is not one.
    """
    prefixes, first, upsampler, last = _LAYOUT_KEYS[key_style]
    if not only_prefixes(sd, *prefixes):
        return None
    nf = sd[first].shape[0]
    scale = upsampler_scale(sd, upsampler, nf)
    if scale is None:
        return None
    return {
        "scale": scale,
        "key_style": key_style,
        "num_feat": nf,
        **family(nf),
        "num_in_ch": sd[first].shape[1],
        "num_out_ch": sd[last].shape[0],
    }


def never(_sd: StateDict) -> None:
    """``detect`` of named configurations: detection is done once, by the family's main spec."""
    return None


def _cubic(x: Tensor) -> Tensor:
    # Keys cubic kernel with a = -0.5 (MATLAB imresize).
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * (
        (ax > 1) & (ax <= 2)
    )


def matlab_upsample_matrix(n_in: int, n_out: int) -> Tensor:
    """``(n_out, n_in)`` float64 matrix of MATLAB ``imresize`` bicubic weights for up-sampling.

    Output pixel ``x`` (1-based) reads input coordinate ``u = x / s + 0.5 (1 - 1/s)`` with ``s =
    n_out / n_in``; out-of-range taps are mirrored (edge repeated) and weights normalised per row.
    Only up-sampling (``n_out >= n_in``) is exact: down-sampling would need the antialiased kernel,
    which :func:`srmer.degrade.imresize` provides.
    """
    s = n_out / n_in
    x = torch.arange(1, n_out + 1, dtype=torch.float64)
    u = x / s + 0.5 * (1 - 1 / s)
    left = torch.floor(u - 2)
    taps = left[:, None] + torch.arange(0, 6, dtype=torch.float64)[None, :]
    w = _cubic(u[:, None] - taps)
    w = w / w.sum(1, keepdim=True)
    idx = taps.long() - 1
    mirror = torch.cat([torch.arange(n_in), torch.arange(n_in - 1, -1, -1)])
    idx = mirror[torch.remainder(idx, 2 * n_in)]
    mat = torch.zeros(n_out, n_in, dtype=torch.float64)
    mat.scatter_add_(1, idx, w)
    return mat


def matlab_bicubic_up(
    x: Tensor, scale: float | None = None, size: tuple[int, int] | None = None
) -> Tensor:
    """MATLAB-compatible bicubic up-sampling of ``(N, C, H, W)`` tensors (differentiable).

    ``torch.nn.functional.interpolate(mode="bicubic")`` uses a = -0.75 and differs from the
    ``imresize`` that SR papers use for their bicubic baseline and SRCNN's pre-upsampling.
    """
    h, w = x.shape[-2:]
    if size is None:
        if scale is None:
            raise ValueError("give scale or size")
        size = (math.ceil(h * scale), math.ceil(w * scale))
    mh = matlab_upsample_matrix(h, size[0]).to(device=x.device, dtype=x.dtype)
    mw = matlab_upsample_matrix(w, size[1]).to(device=x.device, dtype=x.dtype)
    return torch.einsum("oh,nchw,pw->ncop", mh, x, mw)
