"""FeatRef: expression-specific feature learning and fusion on optical flow.

References
----------
.. [1] L. Zhou, Q. Mao, X. Huang, F. Zhang and Z. Zhang, "Feature refinement: An expression-specific
   feature learning and fusion method for micro-expression recognition", Pattern Recognition 122
   (2022) 108275.

The paper has no public code; this follows its description:

1. *Expression-shared features*: the Dual-Inception streams [2]_ on the horizontal and vertical flow
   (1x28x28 each, Inception modules of 6 then 16 filters per path, MaxPool2 after each), concatenated
   along channels: ``F`` of shape ``(N, 128, 7, 7)``.
2. *Expression proposal module*: one branch per class ``k``. A branch computes a spatial attention
   factor ``A_k = sigmoid(Conv1x1(F))`` (one map, ``(N, 1, 7, 7)``), the expression-specific feature
   ``f_k = ReLU(FC(flatten(A_k * F)))`` (``branch_dim`` wide) and a proposal score
   ``s_k = FC(f_k)`` (one logit: "is this sample of class k?"). The proposal loss is the binary
   cross-entropy of the ``K`` scores against the one-hot label (mean over classes and samples).
3. *Fusion classifier*: the ``K`` expression-specific features are concatenated and classified by one
   FC layer; classification loss = cross-entropy.

Total loss ``L = L_cls + lambda * L_proposal`` with ``lambda = .85`` (Zhou et al.'s setting).

Choices the paper leaves open (documented here and in docs/deep_mer.md): the attention factor as a
1x1 conv + sigmoid spatial map; ``branch_dim = 128``; fusion by concatenation (not summation); the
loss weighting form ``L_cls + lambda L_prop`` (the paper's lambda balances the two terms; the exact
form is our reading); class weights, when given, apply to the cross-entropy only; dropout .5 on the
fused feature; PyTorch default initialisation.

.. [2] L. Zhou, Q. Mao and L. Xue, "Dual-inception network for cross-database micro-expression
   recognition", FG 2019.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from srmer.mer.nets.dualinception import InceptionStream

__all__ = ["FeatRef"]


class _ExpressionBranch(nn.Module):
    def __init__(self, channels: int, side: int, dim: int) -> None:
        super().__init__()
        self.att = nn.Conv2d(channels, 1, kernel_size=1)
        self.embed = nn.Linear(channels * side * side, dim)
        self.score = nn.Linear(dim, 1)

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.sigmoid(self.att(feat))
        f = F.relu(self.embed(torch.flatten(a * feat, 1)))
        return f, self.score(f).squeeze(1)


class FeatRef(nn.Module):
    """FeatRef (Feature Refinement).

    Parameters
    ----------
    n_classes : int
        Number of classes = number of expression-specific branches.
    input_size : int
        Side of the square flow input (28).
    branch_dim : int
        Width of each expression-specific feature (128; not given in the paper).
    lambda_ : float
        Weight of the proposal loss (.85).
    dropout : float
        Dropout on the fused feature (.5).

    Shapes
    ------
    ``(N, 2, input_size, input_size)`` float32 (u, v) -> ``(N, n_classes)`` logits;
    :meth:`forward_all` also returns the ``(N, n_classes)`` proposal logits.
    """

    def __init__(
        self,
        n_classes: int = 3,
        input_size: int = 28,
        branch_dim: int = 128,
        lambda_: float = 0.85,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.lambda_ = lambda_
        self.stream_u = InceptionStream()
        self.stream_v = InceptionStream()
        channels = 2 * self.stream_u.out_channels
        side = input_size // 4
        self.branches = nn.ModuleList(
            _ExpressionBranch(channels, side, branch_dim) for _ in range(n_classes)
        )
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(n_classes * branch_dim, n_classes)

    def forward_all(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and proposal logits, both ``(N, n_classes)``."""
        feat = torch.cat([self.stream_u(x[:, 0:1]), self.stream_v(x[:, 1:2])], dim=1)
        outs = [b(feat) for b in self.branches]
        fused = torch.cat([f for f, _ in outs], dim=1)
        scores = torch.stack([s for _, s in outs], dim=1)
        return self.classifier(self.drop(fused)), scores

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_all(x)[0]

    def training_loss(
        self, x: torch.Tensor, y: torch.Tensor, class_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``CE(logits, y) + lambda * BCE(proposal scores, one_hot(y))`` (scalar)."""
        logits, scores = self.forward_all(x)
        l_cls = F.cross_entropy(logits, y, weight=class_weight)
        target = F.one_hot(y, num_classes=scores.shape[1]).to(scores.dtype)
        l_prop = F.binary_cross_entropy_with_logits(scores, target)
        return l_cls + self.lambda_ * l_prop
