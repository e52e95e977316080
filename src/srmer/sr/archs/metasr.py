"""Meta-SR / MetaRDN (Hu et al., CVPR 2019): arbitrary-scale up-sampling with a weight-prediction MLP.

An RDN 'B' feature extractor (no ``UPNet``) followed by *Meta-Upscale*: for every output pixel
``(i, j)`` the source LR pixel is ``(floor(i/r), floor(j/r))`` and a small MLP, ``P2W`` (Pos2Weight:
``Linear(3, 256) - ReLU - Linear(256, 3*3*G0*3)``), maps ``(1/r, i/r - floor(i/r), j/r - floor(j/r))``
to the weights of a 3x3 convolution from the ``G0`` features to RGB, applied at the source pixel.
Keys as XuecaiHu/Meta-SR-Pytorch's ``MetaRDN`` (``sub_mean``, ``add_mean``, ``SFENet1/2``,
``RDBs``, ``GFF``, ``P2W.meta_block.0/2``); official weights expect 0..255, scaled internally.

The output size is ``int(r * H)`` as in the official test code; any ``r > 0`` works (16 for
16to256), the published model was trained for 1.1..4.0.

Deviation (speed only, same numbers): the official code evaluates the MLP for every one of the
``ceil(r)^2 H W`` positions; here it runs once per distinct offset pair (for integer ``r`` only
``r^2`` of them) and the per-pixel products are done in row chunks to bound memory.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import MeanShift, Range255, count_indexed, has_keys
from srmer.sr.archs.rdn import RDNBody


class Pos2Weight(nn.Module):
    """Weight prediction MLP: ``meta_block = Sequential(Linear(3, 256), ReLU, Linear(256, k*k*inC*outC))``."""

    def __init__(self, in_c: int, kernel_size: int = 3, out_c: int = 3) -> None:
        super().__init__()
        self.meta_block = nn.Sequential(
            nn.Linear(3, 256),
            nn.ReLU(inplace=True),
            nn.Linear(256, kernel_size * kernel_size * in_c * out_c),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.meta_block(x)


def _project(n_in: int, scale: float, device: torch.device) -> tuple[int, Tensor, Tensor]:
    # float32 arange * (1/scale), as the official input_matrix_wpn, so floors agree bit for bit
    n_out = int(scale * n_in)
    coord = torch.arange(0, n_out, 1, device=device).float().mul(1.0 / scale)
    src = torch.floor(coord)
    return n_out, src.long().clamp_(max=n_in - 1), coord - src


class MetaRDN(RDNBody, Range255):
    """MetaRDN.

    Parameters
    ----------
    scale : float
        Magnification; can be changed later through the ``scale`` attribute.
    D, C, G, G0 : int
        RDN backbone configuration (16/8/64/64 = 'B').
    row_chunk : int
        Output rows processed at once in the meta-upscale (memory bound).

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,int(rH),int(rW))``.
    """

    def __init__(
        self,
        scale: float = 4,
        D: int = 16,
        C: int = 8,
        G: int = 64,
        G0: int = 64,
        num_in_ch: int = 3,
        ksize: int = 3,
        rgb_range: float = 255.0,
        row_chunk: int = 16,
    ) -> None:
        RDNBody.__init__(self, num_in_ch, G0, D, C, G, ksize)
        self.scale = scale
        self.rgb_range = rgb_range
        self.row_chunk = row_chunk
        self.sub_mean = MeanShift(rgb_range, sign=-1)
        self.add_mean = MeanShift(rgb_range, sign=1)
        self.P2W = Pos2Weight(G0)

    def meta_upscale(self, feat: Tensor, scale: float) -> Tensor:
        """``(N, G0, H, W)`` features -> ``(N, 3, int(rH), int(rW))`` (before ``add_mean``)."""
        n, c, h, w = feat.shape
        out_h, src_h, off_h = _project(h, scale, feat.device)
        _, src_w, off_w = _project(w, scale, feat.device)
        uh, inv_h = torch.unique(off_h, return_inverse=True)
        uw, inv_w = torch.unique(off_w, return_inverse=True)
        pos = torch.stack(
            [
                torch.full((len(uh), len(uw)), 1.0 / scale, device=feat.device),
                uh[:, None].expand(-1, len(uw)),
                uw[None, :].expand(len(uh), -1),
            ],
            -1,
        ).to(feat.dtype)
        table = self.P2W(pos.reshape(-1, 3)).view(len(uh), len(uw), c * 9, 3)
        cols = F.unfold(feat, 3, padding=1).view(n, c * 9, h, w)
        cols_w = cols[:, :, :, src_w]  # (N, 9C, H, outW)
        rows = []
        for r0 in range(0, out_h, self.row_chunk):
            sl = slice(r0, min(out_h, r0 + self.row_chunk))
            wts = table[inv_h[sl]][:, inv_w]  # (R, outW, 9C, 3)
            rows.append(torch.einsum("nfrw,rwfo->norw", cols_w[:, :, src_h[sl]], wts))
        return torch.cat(rows, 2)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.features(self.sub_mean(self.to_range(x)))
        return self.from_range(self.add_mean(self.meta_upscale(feat, float(self.scale))))


def build(scale: float = 4, **hp: Any) -> MetaRDN:
    """Build :class:`MetaRDN`."""
    return MetaRDN(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """MetaRDN from ``P2W.meta_block`` + RDN keys; the scale is free (default 4)."""
    if not has_keys(
        sd, "P2W.meta_block.0.weight", "P2W.meta_block.2.weight", "SFENet1.weight", "GFF.0.weight"
    ):
        return None
    g0 = sd["SFENet1.weight"].shape[0]
    if sd["P2W.meta_block.2.weight"].shape[0] != 9 * g0 * 3:
        return None
    return {
        "scale": 4,
        "D": count_indexed(sd, r"^RDBs\.(\d+)\.LFF\.weight$"),
        "C": count_indexed(sd, r"^RDBs\.0\.convs\.(\d+)\.conv\.0\.weight$"),
        "G": sd["RDBs.0.convs.0.conv.0.weight"].shape[0],
        "G0": g0,
        "num_in_ch": sd["SFENet1.weight"].shape[1],
        "ksize": sd["SFENet1.weight"].shape[-1],
    }


SPECS: list[ArchSpec] = [
    ArchSpec(
        "metasr",
        build,
        (2, 3, 4, 8, 16),
        detect,
        description="Meta-SR MetaRDN (Hu et al. 2019): RDN-B + Pos2Weight, any scale (256/16 included)",
        defaults={"D": 16, "C": 8, "G": 64, "G0": 64},
        any_scale=True,
    ),
]
