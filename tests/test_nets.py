"""Output shapes and parameter counts of the MER networks, and RCN-A's attention unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srmer.errors import UnknownMethodError
from srmer.mer.nets import NETS, RCNA, FeatRef, create_net, resnet3d18

torch.set_num_threads(1)


def conv(cin, cout, k, d=2, bias=True):
    return cin * cout * k**d + (cout if bias else 0)


def bn(c):
    return 2 * c


def fc(i, o):
    return i * o + o


def n_params(m):
    return sum(p.numel() for p in m.parameters())


INPUTS = {
    "ststnet": (3, 28, 28),
    "offapexnet": (2, 28, 28),
    "dualinception": (2, 28, 28),
    "rcna": (3, 60, 60),
    "featref": (2, 28, 28),
    "resnet3d": (3, 16, 32, 32),
}
#: networks with their own test files (official configurations too large to build per case here)
OWN_TESTS = {"htnet": "test_htnet_net.py", "mmnet": "test_mmnet_net.py"}


def test_every_network_is_tested():
    assert set(NETS) == set(INPUTS) | set(OWN_TESTS)


@pytest.mark.parametrize("name", sorted(INPUTS))
@pytest.mark.parametrize("k", [3, 5])
def test_output_shape_and_grad(name, k):
    torch.manual_seed(0)
    net = create_net(name, k)
    x = torch.randn(2, *INPUTS[name])
    y = net(x)
    assert y.shape == (2, k) and torch.isfinite(y).all()
    loss = net.training_loss(x, torch.tensor([0, 1])) if hasattr(net, "training_loss") else y.sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)


def test_ststnet_count():
    # three streams of conv3x3 + BN (3, 5, 8 filters), FC 400 -> k
    streams = sum(conv(3, w, 3) + bn(w) for w in (3, 5, 8))
    assert n_params(create_net("ststnet", 3)) == streams + fc(400, 3) == 1683
    assert n_params(create_net("ststnet", 5)) == streams + fc(400, 5)


def test_offapexnet_count():
    stream = conv(1, 6, 5) + conv(6, 16, 5)
    expected = 2 * stream + fc(2 * 16 * 7 * 7, 1024) + fc(1024, 1024) + fc(1024, 3)
    assert n_params(create_net("offapexnet", 3)) == expected
    assert round(expected / 1e6, 2) == 2.66  # the figure third-party comparisons report


def _inception(cin, w):
    return (
        conv(cin, w, 1)
        + (conv(cin, w, 1) + conv(w, w, 3))
        + (conv(cin, w, 1) + conv(w, w, 5))
        + conv(cin, w, 1)
    )


def test_dualinception_count():
    stream = _inception(1, 6) + _inception(24, 16)
    expected = 2 * stream + fc(2 * 64 * 7 * 7, 1024) + fc(1024, 3)
    assert n_params(create_net("dualinception", 3)) == expected
    assert round(expected / 1e6, 2) == 6.45  # third-party reported figure


def test_rcna_count_has_parameter_free_attention():
    c = 64
    expected = (
        conv(3, c, 5) + bn(c) + conv(c, c, 1) + bn(c) + conv(c, c, 3) + bn(c) + fc(7 * 7 * c, 3)
    )
    assert n_params(create_net("rcna", 3)) == expected


def test_featref_count():
    k, dim = 4, 128
    stream = _inception(1, 6) + _inception(24, 16)
    branch = conv(128, 1, 1) + fc(128 * 7 * 7, dim) + fc(dim, 1)
    expected = 2 * stream + k * branch + fc(k * dim, k)
    assert n_params(FeatRef(n_classes=k, branch_dim=dim)) == expected


def test_resnet3d18_count_matches_hara():
    def block(cin, cout, stride):
        p = conv(cin, cout, 3, 3, False) + bn(cout) + conv(cout, cout, 3, 3, False) + bn(cout)
        if stride != 1 or cin != cout:
            p += conv(cin, cout, 1, 3, False) + bn(cout)
        return p

    backbone = conv(3, 64, 7, 3, False) + bn(64)
    cin = 64
    for i, w in enumerate((64, 128, 256, 512)):
        backbone += block(cin, w, 1 if i == 0 else 2) + block(w, w, 1)
        cin = w
    net = resnet3d18(400)
    assert n_params(net) == backbone + fc(512, 400)
    # Hara et al. (ICCV-W 2017, Table 1): 33.2M parameters for ResNet-18 (backbone)
    assert round(backbone / 1e6, 1) == 33.2


def test_resnet3d_shapes_through_stages():
    net = resnet3d18(3).eval()
    x = torch.randn(1, 3, 16, 64, 64)
    s = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    assert s.shape == (
        1,
        64,
        8,
        16,
        16,
    )  # conv1 keeps T (stride 1), halves H, W; maxpool halves all
    assert net.layer4(net.layer3(net.layer2(net.layer1(s)))).shape == (1, 512, 1, 2, 2)


def test_rcna_attention_matches_loop_reference():
    torch.manual_seed(1)
    net = RCNA(n_classes=3, features=8, pool_size=3).eval()
    stem = torch.rand(2, 8, 13, 13)
    got = net.attention(stem).detach().numpy()
    # the authors' formulation: per class, weights (C, p, p) times pooled features, mean over
    # channels, min-max normalise, then average the class maps
    pooled = torch.nn.functional.adaptive_avg_pool2d(stem, 3).numpy()
    w = net.classifier.weight.detach().numpy().reshape(3, 8, 3, 3)
    for n in range(2):
        maps = []
        for k in range(3):
            cam = (w[k] * pooled[n]).mean(axis=0)
            cam = cam - cam.min()
            maps.append(cam / cam.max())
        np.testing.assert_allclose(got[n, 0], np.mean(maps, axis=0), rtol=1e-4, atol=1e-5)
    assert got.min() >= 0 and got.max() <= 1


def test_featref_loss_combines_cls_and_proposal():
    torch.manual_seed(2)
    net = FeatRef(n_classes=3, lambda_=0.85).eval()
    x, y = torch.randn(4, 2, 28, 28), torch.tensor([0, 1, 2, 1])
    logits, scores = net.forward_all(x)
    assert scores.shape == (4, 3)
    ce = torch.nn.functional.cross_entropy(logits, y)
    onehot = torch.eye(3)[y]
    p = torch.sigmoid(scores)
    bce = -(onehot * torch.log(p) + (1 - onehot) * torch.log(1 - p)).mean()
    assert net.training_loss(x, y).item() == pytest.approx((ce + 0.85 * bce).item(), rel=1e-5)


def test_unknown_net_name():
    with pytest.raises(UnknownMethodError, match="ststnet"):
        create_net("ststnett", 3)
