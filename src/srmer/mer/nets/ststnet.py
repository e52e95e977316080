"""STSTNet: shallow triple-stream three-dimensional CNN on (u, v, strain) flow images.

References
----------
.. [1] S.-T. Liong, Y. S. Gan, J. See, H.-Q. Khor and Y.-C. Huang, "Shallow triple stream
   three-dimensional CNN (STSTNet) for micro-expression recognition", FG 2019 (arXiv:1902.03634).

Follows the reference layer by layer: three parallel streams on the same 3-channel
28x28 input, ``Conv3x3(pad 2) -> ReLU -> BN -> MaxPool(3, stride 3, pad 1) -> Dropout(.5)`` with 3, 5
and 8 filters; the 16 maps (10x10) are concatenated, average-pooled by 2 (16x5x5 = 400) and fed to one
fully connected layer. "Three-dimensional" in the name refers to the three input channels, not 3-D
convolutions. Differences: none in the architecture; PyTorch default initialisation (the Keras original
used Glorot uniform).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["STSTNet"]


class STSTNet(nn.Module):
    """STSTNet.

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    in_channels : int
        Input channels (3: u, v, strain).
    input_size : int
        Side of the square input (28 in the paper); sets the width of the classifier.
    dropout : float
        Dropout after each stream (.5).

    Shapes
    ------
    ``(N, in_channels, input_size, input_size)`` float32 -> ``(N, n_classes)`` logits.
    """

    def __init__(
        self, n_classes: int = 3, in_channels: int = 3, input_size: int = 28, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, width, kernel_size=3, padding=2),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(width),
                nn.MaxPool2d(kernel_size=3, stride=3, padding=1),
                nn.Dropout(dropout),
            )
            for width in (3, 5, 8)
        )
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        side = ((input_size + 2 * 2 - 3 + 1) + 2 - 3) // 3 + 1  # conv (pad 2) then maxpool
        self.fc = nn.Linear(16 * (side // 2) ** 2, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([s(x) for s in self.streams], dim=1)
        return self.fc(torch.flatten(self.pool(x), 1))
