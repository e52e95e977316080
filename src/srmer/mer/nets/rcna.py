"""RCN-A: recurrent convolutional network with a parameter-free attention unit ("RCNA" in Zhou et al.).

References
----------
.. [1] Z. Xia, W. Peng, H.-Q. Khor, X. Feng and G. Zhao, "Revealing the invisible with model and data
   shrinking for composite-database micro-expression recognition", IEEE TIP 29 (2020) 8590-8605.

Follows the authors' public PyTorch release (ParameterFreeRCNs-MicroExpressionRec, ``RCN_A`` with
``model_version=3``): stem ``Conv5x5 (no pad) -> BN -> ReLU -> MaxPool2 ->
Dropout(.5)``; one recurrent convolutional layer (RCL): a 1x1 feed-forward conv, then one 3x3 conv
(with BN and ReLU) *shared* across two recurrent steps ``y = conv(x + y)``, then ``MaxPool2 ->
Dropout(.5)``; adaptive average pooling to ``pool_size``; the attention unit builds class activation
maps from the stem output (adaptive-pooled to the same size) and the classifier's own weights, min-max
normalises each map, averages them over classes and multiplies the pooled RCL output; one FC layer. The
unit adds no parameters. Defaults are the release's: 64 feature maps, pool size 7, one RCL, 3-channel
flow input; the paper uses 60x60 inputs (flow ``u, v`` and strain here). Differences: a small epsilon
in the min-max normalisation (the release divides by zero on a constant map).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["RCNA", "RecurrentConvLayer"]


def _cbr(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=k, padding=k // 2),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class RecurrentConvLayer(nn.Module):
    """RCL with two unrolled steps of one shared 3x3 conv; halves the spatial size.

    ``(N, C, H, W) -> (N, C, H//2, W//2)``.
    """

    def __init__(self, channels: int, steps: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.ffconv = _cbr(channels, channels, 1)
        self.rrconv = _cbr(channels, channels, 3)
        self.steps = steps
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ffconv(x)
        for _ in range(self.steps):
            y = self.rrconv(x + y)
        return self.down(y)


class RCNA(nn.Module):
    """RCN-A.

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    in_channels : int
        Input channels (3: u, v, strain).
    features : int
        Feature maps of every layer (64).
    pool_size : int
        Side of the adaptive pooling before the classifier (7).
    n_rcl : int
        Number of stacked RCLs (1).
    dropout : float
        Dropout rate (.5).

    Shapes
    ------
    ``(N, in_channels, H, W)`` float32, any ``H, W >= 4 * pool_size + 4`` (60 in the paper) ->
    ``(N, n_classes)`` logits.
    """

    def __init__(
        self,
        n_classes: int = 3,
        in_channels: int = 3,
        features: int = 64,
        pool_size: int = 7,
        n_rcl: int = 1,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.pool_size = pool_size
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, features, kernel_size=5),
            nn.BatchNorm2d(features),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Dropout(dropout),
        )
        self.rcls = nn.Sequential(
            *[RecurrentConvLayer(features, dropout=dropout) for _ in range(n_rcl)]
        )
        self.classifier = nn.Linear(pool_size * pool_size * features, n_classes)
        # the release's initialisation
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def attention(self, stem_out: torch.Tensor) -> torch.Tensor:
        """Class-averaged, min-max normalised class activation map, ``(N, 1, p, p)`` in [0, 1]."""
        p = self.pool_size
        f = F.adaptive_avg_pool2d(stem_out, (p, p))  # (N, C, p, p)
        w = self.classifier.weight.view(self.n_classes, -1, p, p)  # (K, C, p, p)
        cam = torch.einsum("nchw,kchw->nkhw", f, w) / f.shape[1]  # channel mean of w * f
        lo = cam.amin(dim=(2, 3), keepdim=True)
        cam = cam - lo
        cam = cam / (cam.amax(dim=(2, 3), keepdim=True) + 1e-8)
        return cam.mean(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stem(x)
        att = self.attention(s)
        y = F.adaptive_avg_pool2d(self.rcls(s), (self.pool_size, self.pool_size)) * att
        return self.classifier(torch.flatten(y, 1))
