"""Losses and discriminators for training SR models on faces without downloads.

- :class:`RandomFeaturePerceptualLoss`: the VGG-free perceptual loss srmer uses instead of the
  ImageNet VGG19 features of SRGAN / ESRGAN / Real-ESRGAN (which would need a download). It compares
  multi-scale features of a *fixed, randomly initialised* convolutional network (seeded, frozen).
  Random conv features are sensitive to local structure and texture statistics (the observation
  behind random-network texture synthesis, Ustyuzhaninov et al. ICLR 2017 and He et al. 2016's
  "powerful random features"), which is what the perceptual term is for; they carry no semantic
  (ImageNet) prior, so expect less "hallucinated" detail than with VGG. This is a documented
  deviation from every GAN-SR paper.
- :class:`GANLoss`: ``vanilla`` (SRGAN, Real-ESRGAN), ``ragan`` (relativistic average, ESRGAN /
  nESRGAN+) and ``lsgan``.
- :class:`VGGStyleDiscriminator`: SRGAN / ESRGAN discriminator (BasicSR layout: ``conv0_0`` ...
  ``conv4_1``, ``bn*``, ``linear1``, ``linear2``); an adaptive average pool before ``linear1`` makes
  it accept any input size (BasicSR requires 128 or 256).
- :class:`UNetDiscriminatorSN`: Real-ESRGAN's U-Net discriminator with spectral norm (BasicSR
  layout ``conv0`` ... ``conv9``), giving per-pixel realness.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm


class RandomFeaturePerceptualLoss(nn.Module):
    """L1 distance between features of a frozen random conv network, at three scales.

    Parameters
    ----------
    widths : tuple of int
        Channels of the three stages (each: two 3x3 convs + ReLU, then 2x2 average pooling).
    layer_weights : tuple of float
        Weight of each stage's feature distance.
    seed : int
        Seed of the random weights (fixed, so the loss is the same function in every run).

    Forward: ``(sr, hr)`` float RGB ``(N,3,H,W)`` in [0,1] -> scalar.
    """

    def __init__(
        self,
        widths: tuple[int, int, int] = (32, 64, 128),
        layer_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        seed: int = 1234,
    ) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        stages = []
        cin = 3
        for w in widths:
            convs = [nn.Conv2d(cin, w, 3, padding=1), nn.Conv2d(w, w, 3, padding=1)]
            for c in convs:
                # Kaiming-normal scale keeps activations O(1) through the ReLU stack
                fan_in = c.in_channels * 9
                c.weight.data = torch.randn(c.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5
                c.bias.data.zero_()
            stages.append(nn.Sequential(convs[0], nn.ReLU(), convs[1], nn.ReLU()))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.layer_weights = layer_weights
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> RandomFeaturePerceptualLoss:
        return super().train(False)  # always frozen

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        # centre the inputs like the ImageNet normalisation of VGG losses
        x, y = sr - 0.5, hr - 0.5
        loss = sr.new_zeros(())
        for i, (stage, w) in enumerate(zip(self.stages, self.layer_weights, strict=True)):
            if i:
                x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
            x, y = stage(x), stage(y)
            loss = loss + w * F.l1_loss(x, y)
        return loss


class GANLoss(nn.Module):
    """Adversarial losses on discriminator logits.

    ``vanilla``: BCE with logits; ``lsgan``: MSE; ``ragan``: relativistic average GAN (ESRGAN),
    which needs both real and fake logits (see :meth:`generator` / :meth:`discriminator`).
    """

    def __init__(self, gan_type: str = "vanilla") -> None:
        super().__init__()
        if gan_type not in ("vanilla", "lsgan", "ragan"):
            raise ValueError(f"gan_type must be vanilla, lsgan or ragan, not {gan_type!r}")
        self.gan_type = gan_type

    def _crit(self, logits: Tensor, target: float) -> Tensor:
        t = torch.full_like(logits, target)
        if self.gan_type == "lsgan":
            return F.mse_loss(logits, t)
        return F.binary_cross_entropy_with_logits(logits, t)

    def generator(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """Generator loss from logits on generated (and, for ``ragan``, real) images."""
        if self.gan_type == "ragan":
            assert real is not None
            real = real.detach()
            return (self._crit(real - fake.mean(), 0.0) + self._crit(fake - real.mean(), 1.0)) / 2
        return self._crit(fake, 1.0)

    def discriminator(self, real: Tensor, fake: Tensor) -> Tensor:
        """Discriminator loss from logits on real and (detached) generated images."""
        if self.gan_type == "ragan":
            return (self._crit(real - fake.mean(), 1.0) + self._crit(fake - real.mean(), 0.0)) / 2
        return (self._crit(real, 1.0) + self._crit(fake, 0.0)) / 2


class VGGStyleDiscriminator(nn.Module):
    """SRGAN/ESRGAN discriminator: 10 convs (stride-2 every second one) with BN and LeakyReLU(0.2).

    Parameters
    ----------
    num_in_ch, num_feat : int
        3 and 64 as published.

    Forward: ``(N,3,H,W)`` -> logits ``(N,1)``.
    """

    def __init__(self, num_in_ch: int = 3, num_feat: int = 64) -> None:
        super().__init__()
        nf = num_feat
        self.conv0_0 = nn.Conv2d(num_in_ch, nf, 3, 1, 1, bias=True)
        self.conv0_1 = nn.Conv2d(nf, nf, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(nf, affine=True)
        chans = [(nf, nf * 2), (nf * 2, nf * 4), (nf * 4, nf * 8), (nf * 8, nf * 8)]
        for i, (a, b) in enumerate(chans, start=1):
            setattr(self, f"conv{i}_0", nn.Conv2d(a, b, 3, 1, 1, bias=False))
            setattr(self, f"bn{i}_0", nn.BatchNorm2d(b, affine=True))
            setattr(self, f"conv{i}_1", nn.Conv2d(b, b, 4, 2, 1, bias=False))
            setattr(self, f"bn{i}_1", nn.BatchNorm2d(b, affine=True))
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.linear1 = nn.Linear(nf * 8 * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        if min(x.shape[-2:]) < 32:
            # five stride-2 stages need at least 32 px; tiny training patches are enlarged
            x = F.interpolate(x, size=(max(32, x.shape[-2]), max(32, x.shape[-1])), mode="bilinear")
        feat = self.lrelu(self.conv0_0(x))
        feat = self.lrelu(self.bn0_1(self.conv0_1(feat)))
        for i in range(1, 5):
            feat = self.lrelu(getattr(self, f"bn{i}_0")(getattr(self, f"conv{i}_0")(feat)))
            feat = self.lrelu(getattr(self, f"bn{i}_1")(getattr(self, f"conv{i}_1")(feat)))
        feat = self.pool(feat).flatten(1)
        return self.linear2(self.lrelu(self.linear1(feat)))


class UNetDiscriminatorSN(nn.Module):
    """Real-ESRGAN's U-Net discriminator with spectral normalisation (per-pixel logits).

    Forward: ``(N,3,H,W)`` -> ``(N,1,H,W)`` (sizes not divisible by 8 are padded internally).
    """

    def __init__(
        self, num_in_ch: int = 3, num_feat: int = 64, skip_connection: bool = True
    ) -> None:
        super().__init__()
        nf = num_feat
        self.skip_connection = skip_connection
        self.conv0 = nn.Conv2d(num_in_ch, nf, 3, 1, 1)
        self.conv1 = spectral_norm(nn.Conv2d(nf, nf * 2, 4, 2, 1, bias=False))
        self.conv2 = spectral_norm(nn.Conv2d(nf * 2, nf * 4, 4, 2, 1, bias=False))
        self.conv3 = spectral_norm(nn.Conv2d(nf * 4, nf * 8, 4, 2, 1, bias=False))
        self.conv4 = spectral_norm(nn.Conv2d(nf * 8, nf * 4, 3, 1, 1, bias=False))
        self.conv5 = spectral_norm(nn.Conv2d(nf * 4, nf * 2, 3, 1, 1, bias=False))
        self.conv6 = spectral_norm(nn.Conv2d(nf * 2, nf, 3, 1, 1, bias=False))
        self.conv7 = spectral_norm(nn.Conv2d(nf, nf, 3, 1, 1, bias=False))
        self.conv8 = spectral_norm(nn.Conv2d(nf, nf, 3, 1, 1, bias=False))
        self.conv9 = nn.Conv2d(nf, 1, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:
        def act(t: Tensor) -> Tensor:
            return F.leaky_relu(t, 0.2)

        def up(t: Tensor) -> Tensor:
            return F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)

        h, w = x.shape[-2:]
        ph, pw = (-h) % 8, (-w) % 8
        if ph or pw:  # three stride-2 stages: pad to a multiple of 8, crop the logits back
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        x0 = act(self.conv0(x))
        x1 = act(self.conv1(x0))
        x2 = act(self.conv2(x1))
        x3 = act(self.conv3(x2))
        x4 = act(self.conv4(up(x3)))
        if self.skip_connection:
            x4 = x4 + x2
        x5 = act(self.conv5(up(x4)))
        if self.skip_connection:
            x5 = x5 + x1
        x6 = act(self.conv6(up(x5)))
        if self.skip_connection:
            x6 = x6 + x0
        out = act(self.conv7(x6))
        out = act(self.conv8(out))
        return self.conv9(out)[..., :h, :w]
