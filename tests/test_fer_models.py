"""Shapes and basic behaviour of the FER backbone, the FSR generator and the critic."""

from __future__ import annotations

import pytest
import torch

from srmer.fer.backbone import create_fer
from srmer.fer.fsr import FeatureCritic, FeatureGenerator

torch.set_num_threads(1)


@pytest.mark.parametrize("stem,side", [(2, 13), (4, 7)])
def test_gap_backbone_shapes(stem, side):
    net = create_fer(7, widths=(4, 8, 16), stem_stride=stem).eval()
    x = torch.rand(2, 3, 100, 100)
    f = net.features(x)
    assert f.shape == (2, 16, side, side)
    assert net.classifier.embed(f).shape == (2, 128)
    assert net(x).shape == (2, 7)
    assert torch.allclose(net(x), net.classifier(f))


def test_covpool_backbone_outputs_symmetric_log_spd():
    net = create_fer(5, head="covpool", widths=(4, 8, 16), cov_channels=6, spd_dim=4, embed_dim=32)
    net.eval()
    f = net.features(torch.rand(3, 3, 64, 64))
    assert f.shape == (3, 1, 4, 4)
    assert torch.allclose(f, f.transpose(-1, -2), atol=1e-5)
    assert net.classifier.embed(f).shape == (3, 32)
    assert net(torch.rand(3, 3, 64, 64)).shape == (3, 5)
    # BiMap rows stay orthonormal (the parametrization's job)
    w = net.features.bimap.weight
    assert torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)


def test_unknown_head():
    with pytest.raises(ValueError, match="covpool"):
        create_fer(7, head="vlad")


def test_generator_keeps_shape_and_starts_as_identity():
    g = FeatureGenerator(16, num_feat=8, num_grow_ch=4, num_block=6)
    assert (
        sum(isinstance(m, torch.nn.Module) and type(m).__name__ == "RRDB" for m in g.modules()) == 6
    )
    x = torch.randn(2, 16, 7, 7)
    assert torch.equal(g(x), x)  # zero-initialised last conv + residual
    with torch.no_grad():
        g.conv_last.weight.normal_()
    y = g(x)
    assert y.shape == x.shape and not torch.equal(y, x)
    plain = FeatureGenerator(16, 8, 4, 2, residual=False)
    assert plain(x).shape == x.shape


@pytest.mark.parametrize("size", [4, 7, 13, 16])
def test_critic_scores_and_no_batchnorm(size):
    d = FeatureCritic(16, size, num_feat=8)
    out = d(torch.randn(3, 16, size, size))
    assert out.shape == (3,)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in d.modules())
