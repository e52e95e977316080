"""Static FER classifier for 100x100 faces, split into a feature extractor F and a classifier C.

FSR-FER (Jing et al., "Feature super-resolution based facial expression recognition for multi-scale
low-resolution faces", 2020; Jing et al.) needs a FER model trained on HR faces and cut in two: F gives the
features that the generator super-resolves, C (frozen) gives the perceptual loss (its 128-d output) and
the class probabilities for the re-weighting.

Where this follows the paper and where it differs
--------------------------------------------------
* The paper uses CovPoolFER (Acharya et al., CVPRW 2018): an Inception-ResNet trunk, covariance pooling
  and SPDNet layers (BiMap, ReEig, LogEig); F ends after the SPDNet layers and C maps to a 128-d vector.
  Pretrained CovPoolFER weights cannot be downloaded here, and its trunk is far too big for CPU runs, so
  the trunk is a small ResNet (He et al. 2016; three residual stages, 100 -> 50 -> 25 -> 13 px), trained
  from scratch on the HR training faces.
* ``head="covpool"`` keeps the paper's split: F = trunk + 1x1 reduction + covariance pooling + BiMap
  (orthonormal projection, via :func:`torch.nn.utils.parametrizations.orthogonal` instead of SPDNet's
  Stiefel-manifold optimiser) + ReEig + LogEig, giving a ``(1, d, d)`` symmetric matrix; C = linear
  128-d embedding + linear logits. One BiMap/ReEig pair where CovPoolFER stacks several.
* ``head="gap"`` (default): F is the last residual stage's ``(C, 13, 13)`` map, C = global average pool
  + 128-d embedding + logits. Faster and numerically calmer than eigen-decompositions on the CPU, and
  spatial features suit the convolutional RRDB generator; documented in ``docs/fsr_fer.md``.
* ``stem_stride=4`` (a max-pooled stem, 7x7 maps) is the cheap CPU setting of the demo config.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as Fn

__all__ = ["Classifier", "CovPoolExtractor", "FERNet", "ResNetExtractor", "create_fer"]


class BasicBlock(nn.Module):
    """ResNet basic block (two 3x3 convs with batch norm, projection shortcut when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        out = Fn.relu(self.bn1(self.conv1(x)))
        return Fn.relu(self.bn2(self.conv2(out)) + self.short(x))


class ResNetExtractor(nn.Module):
    """ResNet trunk: ``(N, 3, H, W)`` float RGB in [0, 1] -> ``(N, widths[2], ~H/(4s), ~W/(4s))``.

    A stem of stride ``s = stem_stride`` then three stages (strides 1, 2, 2). For 100x100 faces the
    map is 13x13 (``stem_stride=2``: 3x3 stride-2 conv) or 7x7 (``stem_stride=4``: ResNet's 3x3
    stride-2 conv + 3x3 stride-2 max pool, ~4x cheaper, the CPU demo's setting).
    """

    def __init__(
        self,
        widths: tuple[int, int, int] = (32, 64, 128),
        blocks: tuple[int, int, int] = (1, 1, 1),
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        if stem_stride not in (2, 4):
            raise ValueError(f"stem_stride={stem_stride}; use 2 or 4")
        stem: list[nn.Module] = [
            nn.Conv2d(3, widths[0], 3, 2, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        if stem_stride == 4:
            stem.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*stem)
        layers, cin = [], widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks, strict=True)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.stages = nn.Sequential(*layers)
        self.out_channels = widths[2]

    def forward(self, x: Tensor) -> Tensor:
        # centre the [0, 1] input so the first batch norm sees zero-mean activations from the start
        return self.stages(self.stem(x - 0.5))


def _sym_fn(x: Tensor, fn) -> Tensor:
    """Apply ``fn`` to the eigenvalues of symmetric matrices ``x`` (N, d, d)."""
    vals, vecs = torch.linalg.eigh(x)
    return vecs @ torch.diag_embed(fn(vals)) @ vecs.transpose(-1, -2)


class CovPoolExtractor(nn.Module):
    """Trunk + covariance pooling + BiMap + ReEig + LogEig: ``(N, 3, H, W)`` -> ``(N, 1, d, d)``.

    Parameters
    ----------
    trunk : ResNetExtractor
        The convolutional trunk.
    cov_channels : int
        Channels after a 1x1 reduction; the covariance is ``cov_channels x cov_channels``.
    spd_dim : int
        BiMap output side ``d``.
    eps : float
        ReEig threshold and the ridge added to the covariance (keeps it positive definite).
    """

    def __init__(
        self, trunk: ResNetExtractor, cov_channels: int = 32, spd_dim: int = 16, eps: float = 1e-4
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.reduce = nn.Sequential(
            nn.Conv2d(trunk.out_channels, cov_channels, 1, bias=False),
            nn.BatchNorm2d(cov_channels),
        )
        # BiMap W^T X W with W (c x d) semi-orthogonal; torch's parametrization keeps the rows
        # orthonormal, standing in for SPDNet's Riemannian (Stiefel) update
        self.bimap = nn.utils.parametrizations.orthogonal(
            nn.Linear(cov_channels, spd_dim, bias=False)
        )
        self.eps = eps
        self.out_channels = 1

    def forward(self, x: Tensor) -> Tensor:
        f = self.reduce(self.trunk(x)).flatten(2)  # (N, c, hw)
        f = f - f.mean(-1, keepdim=True)
        cov = f @ f.transpose(1, 2) / max(f.shape[-1] - 1, 1)
        eye = torch.eye(cov.shape[-1], device=x.device, dtype=cov.dtype)
        cov = cov + self.eps * eye
        w = self.bimap.weight  # (d, c), orthonormal rows
        spd = w @ cov @ w.transpose(0, 1)
        spd = _sym_fn(spd, lambda v: v.clamp_min(self.eps))  # ReEig
        log = _sym_fn(spd, torch.log)  # LogEig: to the tangent space, where Euclidean losses apply
        return log.unsqueeze(1)


class Classifier(nn.Module):
    """C: features -> 128-d embedding (:meth:`embed`) -> logits (:meth:`forward`).

    Parameters
    ----------
    in_channels : int
        Channels of F's output.
    n_classes : int
        Expression classes (RAF-DB basic: 7).
    embed_dim : int
        The paper's C outputs a 128-d vector on which the perceptual loss is computed.
    pool : {"gap", "flatten"}
        Global average pooling (spatial maps) or flattening (the covpool head's ``d x d`` matrix;
        ``in_features`` must then be ``d * d``).
    in_features : int, optional
        Flattened size for ``pool="flatten"``.
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        embed_dim: int = 128,
        pool: Literal["gap", "flatten"] = "gap",
        in_features: int | None = None,
    ) -> None:
        super().__init__()
        self.pool = pool
        n_in = in_channels if pool == "gap" else int(in_features or in_channels)
        self.fc = nn.Linear(n_in, embed_dim)
        self.out = nn.Linear(embed_dim, n_classes)

    def embed(self, f: Tensor) -> Tensor:
        """``(N, C, h, w)`` features -> ``(N, embed_dim)`` (the perceptual-loss space)."""
        v = f.mean((2, 3)) if self.pool == "gap" else f.flatten(1)
        return Fn.relu(self.fc(v))

    def forward(self, f: Tensor) -> Tensor:
        """``(N, C, h, w)`` features -> ``(N, n_classes)`` logits."""
        return self.out(self.embed(f))


class FERNet(nn.Module):
    """The FER model: ``forward(x) = classifier(features(x))``.

    Input ``(N, 3, H, W)`` float32 RGB in [0, 1] (100x100 for RAF-DB); output ``(N, n_classes)`` logits.
    ``features`` is F and ``classifier`` is C of the paper; FSR-FER freezes both.
    """

    def __init__(self, features: nn.Module, classifier: Classifier, head: str) -> None:
        super().__init__()
        self.features = features
        self.classifier = classifier
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def create_fer(
    n_classes: int = 7,
    head: Literal["gap", "covpool"] = "gap",
    widths: tuple[int, int, int] = (32, 64, 128),
    blocks: tuple[int, int, int] = (1, 1, 1),
    embed_dim: int = 128,
    cov_channels: int = 32,
    spd_dim: int = 16,
    stem_stride: int = 2,
) -> FERNet:
    """Build the FER classifier (see the module notes for the two heads).

    Examples
    --------
    >>> import torch
    >>> net = create_fer(7)
    >>> net.features(torch.zeros(2, 3, 100, 100)).shape
    torch.Size([2, 128, 13, 13])
    >>> net(torch.zeros(2, 3, 100, 100)).shape
    torch.Size([2, 7])
    """
    trunk = ResNetExtractor(tuple(widths), tuple(blocks), stem_stride)
    if head == "gap":
        return FERNet(trunk, Classifier(trunk.out_channels, n_classes, embed_dim, "gap"), head)
    if head == "covpool":
        feats = CovPoolExtractor(trunk, cov_channels, spd_dim)
        clf = Classifier(1, n_classes, embed_dim, "flatten", in_features=spd_dim * spd_dim)
        return FERNet(feats, clf, head)
    raise ValueError(f"unknown FER head {head!r}; use gap or covpool")
