"""SRCNN (Dong et al., ECCV 2014 / TPAMI 2016).

Three convolutions on a bicubic-upsampled image: patch extraction (9x9, 64), non-linear mapping
(5x5 -> 32 in the 9-5-5 TPAMI model, 1x1 in the 9-1-5 ECCV model) and reconstruction (5x5).
Keys ``conv1``, ``conv2``, ``conv3`` as in mmagic's ``SRCNNNet`` (the original was Caffe/MATLAB).

Two configurations:

- ``srcnn``: 9-5-5, 64/32 filters, on the Y channel of YCbCr (the paper's setting). Cb/Cr come from
  the bicubic up-sampling unchanged.
- ``srcnn_rgb``: mmagic's 9-1-5 on the three RGB channels.

Deviation: the bicubic pre-upsampling is MATLAB-compatible (a = -0.5), as in the paper's MATLAB
pipeline; mmagic uses ``nn.Upsample(mode="bicubic")`` (a = -0.75), a small difference for its weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import matlab_bicubic_up, never

# ITU-R BT.601 as MATLAB rgb2ycbcr on [0, 1] input.
_Y = torch.tensor([65.481, 128.553, 24.966]) / 255.0
_CB = torch.tensor([-37.797, -74.203, 112.0]) / 255.0
_CR = torch.tensor([112.0, -93.786, -18.214]) / 255.0


def rgb_to_ycbcr(x: Tensor) -> Tensor:
    """``(N,3,H,W)`` RGB in [0,1] -> YCbCr in [0,1] (Y in [16/255, 235/255])."""
    m = torch.stack([_Y, _CB, _CR]).to(x)
    off = torch.tensor([16.0, 128.0, 128.0], device=x.device, dtype=x.dtype) / 255.0
    return torch.einsum("oc,nchw->nohw", m, x) + off.view(1, 3, 1, 1)


def ycbcr_to_rgb(x: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_ycbcr`."""
    m = torch.linalg.inv(torch.stack([_Y, _CB, _CR]).double()).to(x)
    off = torch.tensor([16.0, 128.0, 128.0], device=x.device, dtype=x.dtype) / 255.0
    return torch.einsum("oc,nchw->nohw", m, x - off.view(1, 3, 1, 1))


class SRCNN(nn.Module):
    """SRCNN on a bicubic-upsampled input.

    Parameters
    ----------
    scale : int
        Up-sampling factor of the internal bicubic pre-upsampling (any positive factor; the learned
        part is scale-free, so weights of one factor can be used at another by setting ``scale``).
    channels : tuple of 4 int
        ``(in, f1, f2, out)``; 1 in/out channel means "work on Y".
    kernel_sizes : tuple of 3 int
        ``(9, 5, 5)`` or ``(9, 1, 5)``.

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 4,
        channels: tuple[int, int, int, int] = (1, 64, 32, 1),
        kernel_sizes: tuple[int, int, int] = (9, 5, 5),
    ) -> None:
        super().__init__()
        self.scale = scale
        self.y_only = channels[0] == 1
        c, k = channels, kernel_sizes
        self.conv1 = nn.Conv2d(c[0], c[1], k[0], padding=k[0] // 2)
        self.conv2 = nn.Conv2d(c[1], c[2], k[1], padding=k[1] // 2)
        self.conv3 = nn.Conv2d(c[2], c[3], k[2], padding=k[2] // 2)
        self.relu = nn.ReLU(inplace=True)

    def _net(self, x: Tensor) -> Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))

    def forward(self, x: Tensor) -> Tensor:
        up = matlab_bicubic_up(x, scale=self.scale)
        if not self.y_only:
            return self._net(up)
        ycc = rgb_to_ycbcr(up)
        y = self._net(ycc[:, :1])
        return ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], 1))


def build(scale: int = 4, **hp: Any) -> SRCNN:
    """Build :class:`SRCNN` (hparams ``channels``, ``kernel_sizes``)."""
    return SRCNN(scale=scale, **hp)


def detect(sd: StateDict) -> dict[str, Any] | None:
    """SRCNN from keys ``conv1/2/3.weight`` and nothing else; scale is not stored (default 4)."""
    if set(sd) != {f"conv{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}:
        return None
    w1, w2, w3 = sd["conv1.weight"], sd["conv2.weight"], sd["conv3.weight"]
    if w1.ndim != 4 or w2.shape[1] != w1.shape[0] or w3.shape[1] != w2.shape[0]:
        return None
    return {
        "scale": 4,
        "channels": (w1.shape[1], w1.shape[0], w2.shape[0], w3.shape[0]),
        "kernel_sizes": (w1.shape[2], w2.shape[2], w3.shape[2]),
    }


_ANY = (2, 3, 4, 8, 16)

SPECS: list[ArchSpec] = [
    ArchSpec(
        "srcnn",
        build,
        _ANY,
        detect,
        description="SRCNN 9-5-5 (64/32) on Y of a bicubic-upsampled input (Dong et al. 2016)",
        defaults={"channels": (1, 64, 32, 1), "kernel_sizes": (9, 5, 5)},
    ),
    ArchSpec(
        "srcnn_rgb",
        build,
        _ANY,
        never,
        description="SRCNN 9-1-5 (64/32) on RGB, mmagic's SRCNNNet configuration",
        defaults={"channels": (3, 64, 32, 3), "kernel_sizes": (9, 1, 5)},
    ),
]
