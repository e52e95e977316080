"""FSR-FER losses: WGAN-div penalty, re-weighting and generator loss against direct computations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from srmer.fer.losses import critic_loss, generator_loss, reweight, wgan_div_penalty

torch.set_num_threads(1)


class TinyCritic(nn.Module):
    """A nonlinear critic whose input gradient is not constant (so p matters)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.lin = nn.Linear(3 * 4 * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.tanh(self.conv(x)).flatten(1)).squeeze(1) ** 2


@pytest.mark.parametrize("k,p", [(2.0, 6.0), (1.0, 2.0), (0.5, 3.0)])
def test_penalty_matches_per_sample_autograd(k, p):
    torch.manual_seed(1)
    critic = TinyCritic().double()
    real = torch.randn(4, 2, 4, 4, dtype=torch.float64)
    fake = torch.randn(4, 2, 4, 4, dtype=torch.float64)
    alpha = torch.tensor([0.0, 0.3, 0.7, 1.0], dtype=torch.float64)
    got = wgan_div_penalty(critic, real, fake, k=k, p=p, alpha=alpha)
    # reference: one sample at a time, gradient by autograd, norm written out as sqrt(sum g^2)
    terms = []
    for i in range(4):
        x = (alpha[i] * real[i] + (1 - alpha[i]) * fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x)
        terms.append(torch.sqrt((g**2).sum()) ** p)
    want = k * torch.stack(terms).mean()
    assert torch.allclose(got, want, rtol=1e-10)


def test_penalty_matches_finite_differences():
    # independent of autograd: the gradient norm from central differences
    critic = TinyCritic().double()
    real = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    fake = torch.randn(1, 2, 4, 4, dtype=torch.float64)
    a = torch.tensor([0.4], dtype=torch.float64)
    x = (0.4 * real + 0.6 * fake).flatten()
    eps, g = 1e-6, torch.zeros_like(x)
    with torch.no_grad():
        for j in range(x.numel()):
            e = torch.zeros_like(x)
            e[j] = eps
            g[j] = (critic((x + e).view(1, 2, 4, 4)) - critic((x - e).view(1, 2, 4, 4))) / (2 * eps)
    want = 2.0 * g.norm() ** 6
    got = wgan_div_penalty(critic, real, fake, k=2.0, p=6.0, alpha=a)
    assert torch.allclose(got, want, rtol=1e-5)


def test_penalty_is_differentiable_wrt_critic_and_not_fake():
    critic = TinyCritic()
    real = torch.randn(3, 2, 4, 4)
    fake = torch.randn(3, 2, 4, 4, requires_grad=True)
    pen = wgan_div_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    pen.backward()
    assert critic.conv.weight.grad is not None and critic.conv.weight.grad.abs().sum() > 0
    assert fake.grad is None  # the penalty trains D only


def test_penalty_alpha_from_generator_is_reproducible():
    critic = TinyCritic()
    real, fake = torch.randn(5, 2, 4, 4), torch.randn(5, 2, 4, 4)
    a = wgan_div_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    b = wgan_div_penalty(critic, real, fake, generator=torch.Generator().manual_seed(3))
    c = wgan_div_penalty(critic, real, fake, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_critic_loss_sign_convention():
    # eq. (8): E[D(real)] - E[D(fake)] + penalty
    d_real, d_fake = torch.tensor([1.0, 3.0]), torch.tensor([-2.0, 0.0])
    assert float(critic_loss(d_real, d_fake, torch.tensor(0.5))) == pytest.approx(2.0 + 1.0 + 0.5)


def test_reweight_values():
    p = torch.tensor([0.0, 0.25, 0.5, 1.0])
    assert torch.allclose(reweight(p), torch.tensor([1.5, 1.25, 1.0, 0.5]))
    assert torch.allclose(reweight(p, sigma=2.0, r=2.0), (2.0 - p) ** 2)
    # monotone: harder samples (low p of the true class) weigh more
    w = reweight(torch.linspace(0, 1, 11))
    assert torch.all(w[:-1] > w[1:])
    q = torch.tensor([0.3], requires_grad=True)
    assert not reweight(q).requires_grad


def test_generator_loss_against_loop():
    torch.manual_seed(0)
    n = 4
    d_fake = torch.randn(n)
    e_sr, e_hr = torch.randn(n, 8), torch.randn(n, 8)
    f_sr, f_hr = torch.randn(n, 3, 2, 2), torch.randn(n, 3, 2, 2)
    w = torch.tensor([1.5, 0.5, 1.0, 1.2])
    got = generator_loss(d_fake, e_sr, e_hr, f_sr, f_hr, w, w_gan=0.5, w_p=2.0, w_2=3.0)
    total = 0.0
    for i in range(n):
        lp = sum((float(e_sr[i, j]) - float(e_hr[i, j])) ** 2 for j in range(8))
        l2 = float(((f_sr[i] - f_hr[i]) ** 2).mean())
        total += float(w[i]) * (0.5 * float(d_fake[i]) + 2.0 * lp + 3.0 * l2)
    assert float(got.total) == pytest.approx(total / n, rel=1e-5)
    plain = generator_loss(d_fake, e_sr, e_hr, f_sr, f_hr)
    assert float(plain.gan) == pytest.approx(float(d_fake.mean()), rel=1e-6)
