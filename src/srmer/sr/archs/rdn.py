"""RDN, Residual Dense Network (Zhang et al., CVPR 2018), with EDSR-PyTorch key names.

Keys: ``SFENet1``, ``SFENet2``, ``RDBs.d.convs.c.conv.0``, ``RDBs.d.LFF``, ``GFF.0``, ``GFF.1``,
``UPNet.0/2/4``. The official weights are trained on 0..255 input (EDSR-PyTorch ``rgb_range`` 255, no
mean shift); the model scales internally so it takes and returns float RGB in [0, 1].

Configurations (D blocks, C convs per block, G growth, G0 features):

- ``rdn_a`` 20/6/32/64 and ``rdn_b`` 16/8/64/64 (the paper's; ``rdn`` = B, 22.1 M parameters at x2).
- Sharma et al. (idealo ISR settings, x2): ``rdn_psnr_small`` C3 D10, ``rdn_psnr_large`` and
  ``rdn_noise_cancel`` C6 D20, G = G0 = 64. Sharma et al.'s models were Keras (idealo) networks; the
  architecture is the same RDN, the key names here are EDSR-PyTorch's. ``noise_cancel`` differs from
  ``psnr_large`` only in its training (adversarial + perceptual), see :mod:`srmer.sr.train`.

Native scales 2, 3, 4 (the official ``UPNet``); 8 and 16 by cascade.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import Range255, count_indexed, has_keys, never, only_prefixes


class RDBConv(nn.Module):
    """One densely connected conv: output concatenated to its input (``conv = Sequential(conv, ReLU)``)."""

    def __init__(self, cin: int, growth: int, ksize: int = 3) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(cin, growth, ksize, padding=(ksize - 1) // 2), nn.ReLU()
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat((x, self.conv(x)), 1)


class RDB(nn.Module):
    """Residual dense block: C dense convs, 1x1 local feature fusion ``LFF``, local residual."""

    def __init__(self, g0: int, g: int, c: int, ksize: int = 3) -> None:
        super().__init__()
        self.convs = nn.Sequential(*[RDBConv(g0 + i * g, g, ksize) for i in range(c)])
        self.LFF = nn.Conv2d(g0 + c * g, g0, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.LFF(self.convs(x)) + x


class RDNBody(nn.Module):
    """Shallow feature extraction + D RDBs + global feature fusion (shared with Meta-SR)."""

    def __init__(self, num_in_ch: int, g0: int, d: int, c: int, g: int, ksize: int = 3) -> None:
        super().__init__()
        pad = (ksize - 1) // 2
        self.D = d
        self.SFENet1 = nn.Conv2d(num_in_ch, g0, ksize, padding=pad)
        self.SFENet2 = nn.Conv2d(g0, g0, ksize, padding=pad)
        self.RDBs = nn.ModuleList([RDB(g0, g, c, ksize) for _ in range(d)])
        self.GFF = nn.Sequential(nn.Conv2d(d * g0, g0, 1), nn.Conv2d(g0, g0, ksize, padding=pad))

    def features(self, x: Tensor) -> Tensor:
        f1 = self.SFENet1(x)
        x = self.SFENet2(f1)
        outs = []
        for rdb in self.RDBs:
            x = rdb(x)
            outs.append(x)
        return self.GFF(torch.cat(outs, 1)) + f1


class RDN(RDNBody, Range255):
    """RDN.

    Parameters
    ----------
    scale : {2, 3, 4}
    D, C, G, G0 : int
        Number of RDBs, convs per RDB, growth rate, feature width.
    rgb_range : float
        Range the weights were trained on (255 for EDSR-PyTorch; 1 for weights trained here).

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 2,
        D: int = 16,
        C: int = 8,
        G: int = 64,
        G0: int = 64,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        ksize: int = 3,
        rgb_range: float = 255.0,
    ) -> None:
        RDNBody.__init__(self, num_in_ch, G0, D, C, G, ksize)
        self.scale = scale
        self.rgb_range = rgb_range
        pad = (ksize - 1) // 2
        if scale in (2, 3):
            self.UPNet = nn.Sequential(
                nn.Conv2d(G0, G * scale * scale, ksize, padding=pad),
                nn.PixelShuffle(scale),
                nn.Conv2d(G, num_out_ch, ksize, padding=pad),
            )
        elif scale == 4:
            self.UPNet = nn.Sequential(
                nn.Conv2d(G0, G * 4, ksize, padding=pad),
                nn.PixelShuffle(2),
                nn.Conv2d(G, G * 4, ksize, padding=pad),
                nn.PixelShuffle(2),
                nn.Conv2d(G, num_out_ch, ksize, padding=pad),
            )
        else:
            raise ValueError(f"RDN supports scales 2, 3, 4, not {scale} (use a cascade)")

    def forward(self, x: Tensor) -> Tensor:
        return self.from_range(self.UPNet(self.features(self.to_range(x))))


def build(scale: int = 2, **hp: Any) -> RDN:
    """Build :class:`RDN`."""
    return RDN(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """RDN from ``SFENet1``, ``RDBs``, ``GFF`` and ``UPNet`` keys (Meta-SR has ``P2W`` instead)."""
    if not has_keys(sd, "SFENet1.weight", "RDBs.0.LFF.weight", "GFF.0.weight", "UPNet.0.weight"):
        return None
    if not only_prefixes(sd, "SFENet1.", "SFENet2.", "RDBs.", "GFF.", "UPNet."):
        return None
    g0 = sd["SFENet1.weight"].shape[0]
    g = sd["RDBs.0.convs.0.conv.0.weight"].shape[0]
    ksize = sd["SFENet1.weight"].shape[-1]
    if "UPNet.4.weight" in sd:
        scale = 4
    else:
        scale = {4: 2, 9: 3}.get(sd["UPNet.0.weight"].shape[0] // g)
        if scale is None:
            return None
    last = "UPNet.4.weight" if scale == 4 else "UPNet.2.weight"
    return {
        "scale": scale,
        "D": count_indexed(sd, r"^RDBs\.(\d+)\.LFF\.weight$"),
        "C": count_indexed(sd, r"^RDBs\.0\.convs\.(\d+)\.conv\.0\.weight$"),
        "G": g,
        "G0": g0,
        "num_in_ch": sd["SFENet1.weight"].shape[1],
        "num_out_ch": sd[last].shape[0],
        "ksize": ksize,
    }


def _spec(name: str, desc: str, d: int, c: int, g: int, detect_fn=never) -> ArchSpec:
    return ArchSpec(
        name,
        build,
        (2, 3, 4),
        detect_fn,
        description=f"RDN (Zhang et al. 2018) {desc}: D={d} C={c} G={g} G0=64",
        defaults={"D": d, "C": c, "G": g, "G0": 64},
    )


SPECS: list[ArchSpec] = [
    _spec("rdn", "config B", 16, 8, 64, detect),
    _spec("rdn_a", "config A", 20, 6, 32),
    _spec("rdn_b", "config B", 16, 8, 64),
    _spec("rdn_psnr_small", "Sharma et al. psnr-small (x2)", 10, 3, 64),
    _spec("rdn_psnr_large", "Sharma et al. psnr-large (x2)", 20, 6, 64),
    _spec("rdn_noise_cancel", "Sharma et al. noise-cancel, GAN-trained (x2)", 20, 6, 64),
]
