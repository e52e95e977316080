"""Off-ApexNet: two-stream CNN on the horizontal and vertical onset-apex flow.

References
----------
.. [1] Y. S. Gan, S.-T. Liong, W.-C. Yau, Y.-C. Huang and L.-K. Tan, "OFF-ApexNet on micro-expression
   recognition system", Signal Processing: Image Communication 74 (2019) 129-139.

Follows the reference: one stream per flow component (1x28x28), each
``Conv5x5(6) -> ReLU -> MaxPool2 -> Conv5x5(16) -> ReLU -> MaxPool2``; the two 16x7x7 outputs are
flattened and concatenated (1568) and classified by ``FC1024 -> ReLU -> Dropout(.5) -> FC1024 -> ReLU ->
Dropout(.5) -> FC(classes)``. Convolutions use 'same' padding (2), as the TensorFlow original, so that
28x28 becomes 7x7. With 3 classes this gives 2,664,475 parameters, matching the 2.66M third parties
report. Differences: PyTorch default initialisation.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["OffApexNet"]


def _stream() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class OffApexNet(nn.Module):
    """Off-ApexNet.

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    input_size : int
        Side of the square input (28).
    hidden : int
        Width of the two fully connected layers (1024).
    dropout : float
        Dropout after each hidden layer (.5).

    Shapes
    ------
    ``(N, 2, input_size, input_size)`` float32 (channel 0 = u, 1 = v) -> ``(N, n_classes)`` logits.
    """

    def __init__(
        self, n_classes: int = 3, input_size: int = 28, hidden: int = 1024, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.stream_u = _stream()
        self.stream_v = _stream()
        side = input_size // 4
        self.classifier = nn.Sequential(
            nn.Linear(2 * 16 * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fu = torch.flatten(self.stream_u(x[:, 0:1]), 1)
        fv = torch.flatten(self.stream_v(x[:, 1:2]), 1)
        return self.classifier(torch.cat([fu, fv], dim=1))
