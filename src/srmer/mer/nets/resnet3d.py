"""3D-ResNet-18 for TIM-normalised micro-expression sequences.

References
----------
.. [1] K. Hara, H. Kataoka and Y. Satoh, "Learning spatio-temporal features with 3D residual networks
   for action recognition", ICCV Workshops 2017 (and "Can spatiotemporal 3D CNNs retrace the history
   of 2D CNNs and ImageNet?", CVPR 2018).

Follows the reference: ``conv1 7x7x7, stride (1, 2, 2), pad 3 -> BN -> ReLU ->
MaxPool 3x3x3 stride 2``; stages of 64/128/256/512 channels with [2, 2, 2, 2] basic blocks (two 3x3x3
convs), stride 2 at the start of stages 2-4, shortcut type B (1x1x1 conv + BN where the shape
changes, identity elsewhere); global average pooling; FC. With 400 classes and RGB input this is the
33.2M-parameter model of the paper. Zhou et al. feeds TIM-16 sequences; trained from scratch here (no
Kinetics weights can be downloaded at run time). Differences: the input size is a parameter of the MER
method (64x64 by default for CPU budgets instead of 112x112); adaptive pooling makes any size work.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock3d", "ResNet3D", "resnet3d18"]


def _conv3(cin: int, cout: int, stride: int = 1) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock3d(nn.Module):
    """Two 3x3x3 convolutions with a residual connection (shortcut type B)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3(cin, cout, stride)
        self.bn1 = nn.BatchNorm3d(cout)
        self.conv2 = _conv3(cout, cout)
        self.bn2 = nn.BatchNorm3d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv3d(cin, cout, kernel_size=1, stride=stride, bias=False), nn.BatchNorm3d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet3D(nn.Module):
    """3D ResNet with basic blocks.

    Parameters
    ----------
    n_classes : int
        Number of output classes.
    in_channels : int
        Input channels (3: RGB; grey clips are replicated).
    layers : tuple of int
        Blocks per stage ((2, 2, 2, 2) for ResNet-18).
    widths : tuple of int
        Channels per stage.

    Shapes
    ------
    ``(N, in_channels, T, H, W)`` float32 -> ``(N, n_classes)`` logits.
    """

    def __init__(
        self,
        n_classes: int = 3,
        in_channels: int = 3,
        layers: tuple[int, ...] = (2, 2, 2, 2),
        widths: tuple[int, ...] = (64, 128, 256, 512),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(
            in_channels, widths[0], kernel_size=7, stride=(1, 2, 2), padding=3, bias=False
        )
        self.bn1 = nn.BatchNorm3d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        stages = []
        cin = widths[0]
        for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
            blocks = [BasicBlock3d(cin, w, stride=1 if i == 0 else 2)]
            blocks += [BasicBlock3d(w, w) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            cin = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(cin, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet3d18(n_classes: int = 3, in_channels: int = 3) -> ResNet3D:
    """3D-ResNet-18 (Hara et al.): [2, 2, 2, 2] basic blocks, shortcut B."""
    return ResNet3D(n_classes=n_classes, in_channels=in_channels, layers=(2, 2, 2, 2))
