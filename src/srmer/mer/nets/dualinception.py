"""Dual-Inception network on horizontal and vertical flow (also FeatRef's feature extractor).

References
----------
.. [1] L. Zhou, Q. Mao and L. Xue, "Dual-inception network for cross-database micro-expression
   recognition", FG 2019.

Follows the reference: one stream per flow component (1x28x28), each two Inception
modules (6 then 16 filters per path; paths ``1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | maxpool3 -> 1x1``, 'same'
padding, ReLU after every convolution) with ``MaxPool2`` after each module; the two 64x7x7 outputs are
concatenated and classified by ``Dense 1024 -> ReLU -> Dense(classes)``. With 3 classes this gives
6,450,891 parameters (third parties report 6.45M). Differences: the paper does not state dropout or
initialisation; none / PyTorch defaults here.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DualInception", "InceptionModule", "InceptionStream"]


def _conv(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size=k, padding=k // 2), nn.ReLU(inplace=True))


class InceptionModule(nn.Module):
    """Four-path Inception module (GoogLeNet v1 without the 1x1 reduction widths).

    ``(N, cin, H, W) -> (N, 4 * width, H, W)``.
    """

    def __init__(self, cin: int, width: int) -> None:
        super().__init__()
        self.p1 = _conv(cin, width, 1)
        self.p3 = nn.Sequential(_conv(cin, width, 1), _conv(width, width, 3))
        self.p5 = nn.Sequential(_conv(cin, width, 1), _conv(width, width, 5))
        self.pp = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), _conv(cin, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.p1(x), self.p3(x), self.p5(x), self.pp(x)], dim=1)


class InceptionStream(nn.Module):
    """Two Inception modules with ``MaxPool2`` after each: ``(N, 1, H, W) -> (N, 4*w2, H/4, W/4)``."""

    def __init__(self, cin: int = 1, widths: tuple[int, int] = (6, 16)) -> None:
        super().__init__()
        self.body = nn.Sequential(
            InceptionModule(cin, widths[0]),
            nn.MaxPool2d(2),
            InceptionModule(4 * widths[0], widths[1]),
            nn.MaxPool2d(2),
        )
        self.out_channels = 4 * widths[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DualInception(nn.Module):
    """Dual-Inception.

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    input_size : int
        Side of the square input (28).
    hidden : int
        Width of the dense layer (1024).

    Shapes
    ------
    ``(N, 2, input_size, input_size)`` float32 (u, v) -> ``(N, n_classes)`` logits.
    """

    def __init__(self, n_classes: int = 3, input_size: int = 28, hidden: int = 1024) -> None:
        super().__init__()
        self.stream_u = InceptionStream()
        self.stream_v = InceptionStream()
        side = input_size // 4
        self.classifier = nn.Sequential(
            nn.Linear(2 * self.stream_u.out_channels * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fu = torch.flatten(self.stream_u(x[:, 0:1]), 1)
        fv = torch.flatten(self.stream_v(x[:, 1:2]), 1)
        return self.classifier(torch.cat([fu, fv], dim=1))
