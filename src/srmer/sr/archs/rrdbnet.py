"""RRDBNet: the ESRGAN / Real-ESRGAN generator (Wang et al., ECCVW 2018; ICCVW 2021).

BasicSR key names (also mmagic's ``RRDBNet``): ``conv_first``, ``body.N.rdb{1,2,3}.conv{1..5}``,
``conv_body``, ``conv_up1``, ``conv_up2``, ``conv_hr``, ``conv_last``. 23 RRDBs of 64 features,
growth 32, residual scaling 0.2, two nearest x2 + conv up-sampling stages (16.7 M parameters).
The x2 variant (Real-ESRGAN x2plus) pixel-unshuffles the input by 2 first (12 input channels), x1 by 4.

nESRGAN+ (Rakotonirina & Rasoanaivo 2020) adds, inside every dense block, a 1x1-conv residual
(``conv1x1``, no bias, from the block input to the 2nd conv's output, which is also added to the 4th),
and multiplicative Gaussian noise ``x + N(0, (0.1 x)^2)`` at the output of every dense block and of
every RRDB (as in ncarraz/ESRGANplus's ``block.py``), during training only.
Its official code (ncarraz/nESRGANplus) uses the old ESRGAN key layout; here the BasicSR layout is
used with the extra ``conv1x1`` key, and :func:`convert_legacy_esrgan` renames the original ESRGAN /
nESRGAN+ files when they are loaded.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    conv3x3,
    count_indexed,
    has_keys,
    init_weights,
    never,
    only_prefixes,
)


class GaussianNoise(nn.Module):
    """nESRGAN+ noise: ``x + N(0, (sigma * x)^2)`` in training mode, identity at inference."""

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.sigma:
            return x + torch.randn_like(x) * (self.sigma * x)
        return x


class ResidualDenseBlock(nn.Module):
    """Five densely connected convs, LeakyReLU(0.2), residual scaled by 0.2 (``plus`` adds nESRGAN+'s 1x1)."""

    def __init__(
        self, num_feat: int = 64, num_grow_ch: int = 32, plus: bool = False, noise: float = 0.0
    ) -> None:
        super().__init__()
        nf, gc = num_feat, num_grow_ch
        self.conv1 = conv3x3(nf, gc)
        self.conv2 = conv3x3(nf + gc, gc)
        self.conv3 = conv3x3(nf + 2 * gc, gc)
        self.conv4 = conv3x3(nf + 3 * gc, gc)
        self.conv5 = conv3x3(nf + 4 * gc, nf)
        self.plus = plus
        if plus:
            self.conv1x1 = nn.Conv2d(nf, gc, 1, bias=False)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        self.noise = GaussianNoise(noise)
        init_weights(self, 0.1)

    def forward(self, x: Tensor) -> Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        if self.plus:
            x2 = x2 + self.conv1x1(x)
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        if self.plus:
            x4 = x4 + x2
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return self.noise(x5 * 0.2 + x)


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, residual scaled by 0.2."""

    def __init__(
        self, num_feat: int = 64, num_grow_ch: int = 32, plus: bool = False, noise: float = 0.0
    ) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch, plus, noise)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch, plus, noise)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch, plus, noise)
        self.noise = GaussianNoise(noise)

    def forward(self, x: Tensor) -> Tensor:
        return self.noise(self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x)


class RRDBFeatures(nn.Module):
    """``conv_first`` + RRDB trunk + ``conv_body`` with global residual (also GLEAN's encoder stem)."""

    def __init__(
        self, num_in_ch: int, num_feat: int, num_block: int, num_grow_ch: int, plus=False, noise=0.0
    ):
        super().__init__()
        self.conv_first = conv3x3(num_in_ch, num_feat)
        self.body = nn.Sequential(
            *[RRDB(num_feat, num_grow_ch, plus, noise) for _ in range(num_block)]
        )
        self.conv_body = conv3x3(num_feat, num_feat)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.conv_first(x)
        return feat + self.conv_body(self.body(feat))


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator.

    Parameters
    ----------
    scale : {1, 2, 4}
        x4 is native; x2 and x1 pixel-unshuffle the input (Real-ESRGAN x2plus).
    num_feat, num_block, num_grow_ch : int
        64, 23, 32.
    plus : bool
        nESRGAN+ dense blocks (``conv1x1`` residuals); ``noise`` the training noise sigma (0.1).

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``; H, W must be divisible by 4/s.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        plus: bool = False,
        noise: float = 0.0,
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet supports scales 1, 2, 4, not {scale} (use a cascade)")
        self.scale = scale
        cin = num_in_ch * {4: 1, 2: 4, 1: 16}[scale]
        self.conv_first = conv3x3(cin, num_feat)
        self.body = nn.Sequential(
            *[RRDB(num_feat, num_grow_ch, plus, noise) for _ in range(num_block)]
        )
        self.conv_body = conv3x3(num_feat, num_feat)
        self.conv_up1 = conv3x3(num_feat, num_feat)
        self.conv_up2 = conv3x3(num_feat, num_feat)
        self.conv_hr = conv3x3(num_feat, num_feat)
        self.conv_last = conv3x3(num_feat, num_out_ch)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        if self.scale != 4:
            x = F.pixel_unshuffle(x, 4 // self.scale)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def build(scale: int = 4, **hp: Any) -> RRDBNet:
    """Build :class:`RRDBNet`."""
    return RRDBNet(scale=scale, **hp)


def _detect(sd: StateDict, plus: bool) -> dict[str, Any] | None:
    if not has_keys(
        sd, "conv_first.weight", "body.0.rdb1.conv1.weight", "conv_up1.weight", "conv_hr.weight"
    ):
        return None
    if ("body.0.rdb1.conv1x1.weight" in sd) != plus:
        return None
    if not only_prefixes(
        sd, "conv_first.", "body.", "conv_body.", "conv_up1.", "conv_up2.", "conv_hr.", "conv_last."
    ):
        return None
    nf = sd["conv_first.weight"].shape[0]
    out_ch = sd["conv_last.weight"].shape[0]
    cin = sd["conv_first.weight"].shape[1]
    # input channels equal output channels in every published model; the excess comes from unshuffle
    scale = {1: 4, 4: 2, 16: 1}.get(cin // out_ch)
    if scale is None or cin % out_ch:
        return None
    return {
        "scale": scale,
        "num_feat": nf,
        "num_block": count_indexed(sd, r"^body\.(\d+)\.rdb1\.conv1\.weight$"),
        "num_grow_ch": sd["body.0.rdb1.conv1.weight"].shape[0],
        "num_in_ch": out_ch,
        "num_out_ch": out_ch,
        **({"plus": True, "noise": 0.1} if plus else {}),
    }


def detect(sd: StateDict) -> dict[str, Any] | None:
    """RRDBNet (ESRGAN / Real-ESRGAN) from BasicSR keys; scale from ``conv_first`` input channels."""
    return _detect(sd, plus=False)


def detect_plus(sd: StateDict) -> dict[str, Any] | None:
    """nESRGAN+ (RRDBNet keys plus ``rdbK.conv1x1``)."""
    return _detect(sd, plus=True)


_D = {"num_feat": 64, "num_block": 23, "num_grow_ch": 32}

SPECS: list[ArchSpec] = [
    ArchSpec(
        "rrdbnet",
        build,
        (1, 2, 4),
        detect,
        description="RRDBNet (ESRGAN/Real-ESRGAN generator): 23 RRDB, 64 feat, growth 32",
        defaults=_D,
    ),
    ArchSpec(
        "esrgan",
        build,
        (1, 2, 4),
        never,
        description="ESRGAN generator (Wang et al. 2018), RRDBNet x4",
        defaults=_D,
    ),
    ArchSpec(
        "realesrgan_x4plus",
        build,
        (1, 2, 4),
        never,
        description="Real-ESRGAN x4plus generator (RRDBNet x4)",
        defaults=_D,
    ),
    ArchSpec(
        "realesrgan_x2plus",
        build,
        (1, 2, 4),
        never,
        description="Real-ESRGAN x2plus generator (RRDBNet, pixel-unshuffled input)",
        defaults=_D,
    ),
]


_ESRGAN_RENAMES = {
    "trunk_conv.": "conv_body.",
    "upconv1.": "conv_up1.",
    "upconv2.": "conv_up2.",
    "HRconv.": "conv_hr.",
}


def convert_legacy_esrgan(sd: StateDict) -> StateDict | None:
    """ESRGAN-family keys of the original repositories -> BasicSR ``RRDBNet`` keys, else ``None``.

    - xinntao/ESRGAN (2019 layout): ``conv_first``, ``RRDB_trunk.N.RDBk.convM``, ``trunk_conv``,
      ``upconv1/2``, ``HRconv``, ``conv_last``;
    - the 2018 "old architecture" used by ESRGAN's first release and by ncarraz/nESRGANplus:
      ``model.0`` (first conv), ``model.1.sub.N.RDBk.convM.0`` (+ ``conv1x1`` for nESRGAN+),
      ``model.1.sub.<nb>`` (trunk conv), then the x4 up-sampling and HR convs ``model.3``, ``model.6``,
      ``model.8``, ``model.10``. Only the x4 layout is mapped.
    """
    if "RRDB_trunk.0.RDB1.conv1.weight" in sd:
        out = {}
        for k, v in sd.items():
            k2 = (
                k.replace("RRDB_trunk.", "body.")
                .replace(".RDB1.", ".rdb1.")
                .replace(".RDB2.", ".rdb2.")
            )
            k2 = k2.replace(".RDB3.", ".rdb3.")
            for a, b in _ESRGAN_RENAMES.items():
                if k2.startswith(a):
                    k2 = b + k2[len(a) :]
            out[k2] = v
        return out
    if "model.0.weight" in sd and "model.1.sub.0.RDB1.conv1.0.weight" in sd:
        nb = count_indexed(sd, r"^model\.1\.sub\.(\d+)\.RDB1\.conv1\.0\.weight$")
        tail = sorted(
            {
                int(m.group(1))
                for k in sd
                if (m := re.match(r"^model\.(\d+)\.weight$", k)) and int(m.group(1)) >= 2
            }
        )
        if len(tail) != 4:
            return None
        names = dict(zip(tail, ("conv_up1", "conv_up2", "conv_hr", "conv_last"), strict=True))
        out = {}
        for k, v in sd.items():
            if m := re.match(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.(conv\d)\.0\.(weight|bias)$", k):
                out[f"body.{m[1]}.rdb{m[2]}.{m[3]}.{m[4]}"] = v
            elif m := re.match(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv1x1\.weight$", k):
                out[f"body.{m[1]}.rdb{m[2]}.conv1x1.weight"] = v
            elif m := re.match(rf"^model\.1\.sub\.{nb}\.(weight|bias)$", k):
                out[f"conv_body.{m[1]}"] = v
            elif m := re.match(r"^model\.0\.(weight|bias)$", k):
                out[f"conv_first.{m[1]}"] = v
            elif (m := re.match(r"^model\.(\d+)\.(weight|bias)$", k)) and int(m[1]) in names:
                out[f"{names[int(m[1])]}.{m[2]}"] = v
            else:
                return None
        return out
    return None
