"""FSR-FER losses: WGAN-div critic loss, generator loss L_G = L_gan + L_p + L_2, re-weighting.

Jing et al. 2020 (Jing et al.), eqs. (7)-(11):

* critic (eq. 8): ``L_D = E[D(x_real)] - E[D(x_fake)] + k E[||grad_x D(x_hat)||^p]`` with
  ``x_hat = a x_real + (1 - a) x_fake``, ``a ~ U(0, 1)`` per sample, ``k = 2``, ``p = 6``
  (Wasserstein divergence, Wu et al. ECCV 2018; the sign convention is the paper's: the critic is
  pushed *down* on real features and *up* on generated ones, and G minimises ``E[D(x_fake)]``, eq. 7);
* generator (eq. 10): ``L_G = L_gan + L_p + L_2`` with ``L_gan = D(F_sr)``, the perceptual loss
  ``L_p = ||C(F_sr) - C(F_hr)||_2^2`` in the classifier's 128-d embedding (eq. 9) and the feature-wise
  L2 loss ``L_2`` (mean squared difference of F_sr and F_hr);
* re-weighting (eq. 11): ``w_i = (sigma - p_i)^r`` with ``p_i`` the frozen classifier's probability of
  the true class (on the LR input's features), ``sigma = 1.5``, ``r = 1``, applied per sample to the
  generator's loss.

The paper writes ``L_re = sum_i w_i L_i``; here it is the batch *mean* of ``w_i L_i`` (the same up to
the constant batch size, which the learning rate absorbs) so that the loss scale does not depend on the
batch size. Unit weights (no re-weighting) give the paper's ``(1/m) sum`` of eq. (9).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "GeneratorLoss",
    "critic_loss",
    "generator_loss",
    "reweight",
    "wgan_div_penalty",
]


def wgan_div_penalty(
    critic: nn.Module,
    real: Tensor,
    fake: Tensor,
    k: float = 2.0,
    p: float = 6.0,
    alpha: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-div gradient term ``k * mean_i ||grad_x D(x_hat_i)||_2^p``.

    Parameters
    ----------
    critic : nn.Module
        ``(N, ...) -> (N,)`` scores.
    real, fake : Tensor
        ``(N, ...)`` float real (HR) and generated (SR) features; ``fake`` is detached here.
    k, p : float
        The paper's k = 2 and p = 6.
    alpha : Tensor, optional
        ``(N,)`` mixing weights in [0, 1]; drawn ``U(0, 1)`` with ``generator`` when omitted.
    generator : torch.Generator, optional
        RNG for ``alpha`` (reproducible, resumable training).

    Returns
    -------
    Tensor
        Scalar, differentiable with respect to the critic's parameters (``create_graph=True``).
    """
    n = real.shape[0]
    if alpha is None:
        alpha = torch.rand(n, generator=generator, device="cpu").to(real.device, real.dtype)
    a = alpha.view(n, *([1] * (real.dim() - 1)))
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)
    return k * norm.pow(p).mean()


def critic_loss(d_real: Tensor, d_fake: Tensor, penalty: Tensor) -> Tensor:
    """Eq. (8): ``mean(D(real)) - mean(D(fake)) + penalty``; ``d_*`` are ``(N,)`` critic scores."""
    return d_real.mean() - d_fake.mean() + penalty


def reweight(p_true: Tensor, sigma: float = 1.5, r: float = 1.0) -> Tensor:
    """Classification-aware weights ``w = (sigma - p)^r`` (eq. 11).

    Parameters
    ----------
    p_true : Tensor
        ``(N,)`` probabilities in [0, 1] of each sample's true class.
    sigma, r : float
        The paper's 1.5 and 1 (both > 1 in the paper's text; ``sigma > 1`` keeps the base positive).

    Returns
    -------
    Tensor
        ``(N,)`` weights in ``[(sigma-1)^r, sigma^r]``, detached (no gradient to the classifier).
    """
    return (sigma - p_true.detach()).pow(r)


@dataclass
class GeneratorLoss:
    """Generator loss terms (batch means of the weighted per-sample terms)."""

    total: Tensor
    gan: Tensor
    perceptual: Tensor
    l2: Tensor


def generator_loss(
    d_fake: Tensor,
    emb_sr: Tensor,
    emb_hr: Tensor,
    f_sr: Tensor,
    f_hr: Tensor,
    weights: Tensor | None = None,
    w_gan: float = 1.0,
    w_p: float = 1.0,
    w_2: float = 1.0,
) -> GeneratorLoss:
    """Eq. (10) with per-sample weights: ``mean_i w_i (w_gan D_i + w_p ||e_sr - e_hr||^2 + w_2 L2_i)``.

    Parameters
    ----------
    d_fake : Tensor
        ``(N,)`` critic scores of the SR features (eq. 7).
    emb_sr, emb_hr : Tensor
        ``(N, E)`` classifier embeddings ``C(F_sr)``, ``C(F_hr)`` (eq. 9; squared L2 summed over E).
    f_sr, f_hr : Tensor
        ``(N, ...)`` SR and HR features (feature-wise L2: mean over the feature's elements).
    weights : Tensor, optional
        ``(N,)`` re-weighting factors (:func:`reweight`); ``None``: all ones.
    w_gan, w_p, w_2 : float
        Term weights (paper: 1, 1, 1).
    """
    n = d_fake.shape[0]
    w = torch.ones(n, device=d_fake.device, dtype=d_fake.dtype) if weights is None else weights
    gan_i = d_fake
    p_i = (emb_sr - emb_hr).pow(2).sum(1)
    l2_i = (f_sr - f_hr).pow(2).flatten(1).mean(1)
    gan, perc, l2 = (w * gan_i).mean(), (w * p_i).mean(), (w * l2_i).mean()
    return GeneratorLoss(w_gan * gan + w_p * perc + w_2 * l2, gan, perc, l2)
