"""FSR-FER generator G (RRDB blocks on features) and WGAN-div critic D (ESRGAN style, no batch norm).

Jing et al. 2020 (Jing et al.), section 3.4: "we employ the residual-in-residual dense block (RRDB) of
ESRGAN as basic blocks. We modified RRDB by reducing its internal channels, and build our G with 6
blocks. We follow the discriminator network architecture of ESRGAN but batch-normalization operation is
removed". The RRDB block itself is :class:`srmer.sr.archs.rrdbnet.RRDB` (ESRGAN's definition).

Differences, said plainly:

* G keeps the feature's shape (no up-sampling: the LR face was bicubic up-sampled to 100x100 before F,
  so LR and HR features have the same shape) and, by default, predicts a residual added to the LR
  feature, as the Perceptual GAN the paper builds on (its ref. [21]) does. Its last convolution starts
  at zero, so G starts as the identity and training begins from the bicubic baseline.
* ESRGAN's critic is built for 128x128 images (five stride-2 stages then a 512*4*4 linear layer); on
  13x13 feature maps (or the covpool head's 16x16 matrix) the critic uses as many stride-2 stages as the
  input allows (down to <= 4 px) and an adaptive pooling to 4x4 before the same two linear layers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from srmer.sr.archs.rrdbnet import RRDB

__all__ = ["FeatureCritic", "FeatureGenerator"]


class FeatureGenerator(nn.Module):
    """G: LR features -> SR features of the same shape.

    Parameters
    ----------
    in_channels : int
        Channels of the feature map (``FERNet.features`` output).
    num_feat : int
        RRDB trunk width (reduced from ESRGAN's 64).
    num_grow_ch : int
        Dense-block growth channels (reduced from ESRGAN's 32).
    num_block : int
        RRDB blocks (paper: 6).
    residual : bool
        Output ``x + G(x)`` (default) instead of ``G(x)``.

    Notes
    -----
    Forward: ``(N, in_channels, h, w)`` float32 -> same shape.
    """

    def __init__(
        self,
        in_channels: int,
        num_feat: int = 32,
        num_grow_ch: int = 16,
        num_block: int = 6,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv_first = nn.Conv2d(in_channels, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, in_channels, 3, 1, 1)
        self.act = nn.LeakyReLU(0.2)
        if residual:
            # start as the identity map (SR feature = LR feature): training then starts from the
            # bicubic baseline instead of from random features the frozen classifier cannot read
            nn.init.zeros_(self.conv_last.weight)
            nn.init.zeros_(self.conv_last.bias)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        out = self.conv_last(self.act(feat))
        return x + out if self.residual else out


class FeatureCritic(nn.Module):
    """D: ESRGAN VGG-style critic without batch norm; ``(N, C, h, w)`` -> ``(N,)`` unbounded scores.

    Parameters
    ----------
    in_channels : int
        Feature channels.
    size : int
        Feature side ``h`` (= ``w``); decides the number of stride-2 stages.
    num_feat : int
        Width of the first stage (doubled per stage, capped at ``8 * num_feat``).
    """

    def __init__(self, in_channels: int, size: int, num_feat: int = 32) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, num_feat, 3, 1, 1), act]
        ch, s = num_feat, size
        # ESRGAN's pairs: 4x4 stride-2 conv then 3x3 conv, widths doubling
        while s > 4:
            nxt = min(ch * 2, num_feat * 8)
            layers += [nn.Conv2d(ch, ch, 4, 2, 1), act, nn.Conv2d(ch, nxt, 3, 1, 1), act]
            ch, s = nxt, s // 2
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = nn.Sequential(nn.Linear(ch * 16, 100), act, nn.Linear(100, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1)).squeeze(1)
