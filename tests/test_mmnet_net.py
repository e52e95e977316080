"""MMNet: shapes, gradients, parameter count from the layer definitions, and branch behaviour."""

from __future__ import annotations

import pytest
import torch

from srmer.mer.nets.mmnet import MMNet

torch.set_num_threads(1)


def conv(cin, cout, k, d=2, bias=True):
    return cin * cout * k**d + (cout if bias else 0)


def bn(c):
    return 2 * c


def ln(c):
    return 2 * c


def fc(i, o, bias=True):
    return i * o + (o if bias else 0)


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def ca_block(cin, cout, stride):
    # conv3x3 + BN, conv1x1 + BN, spatial attention conv 2 -> 1 + BN(1), projection shortcut
    n = conv(cin, cout, 3, bias=False) + bn(cout) + conv(cout, cout, 1, bias=False) + bn(cout)
    n += conv(2, 1, 1, bias=False) + bn(1)
    if stride != 1 or cin != cout:
        n += conv(cin, cout, 1, bias=False) + bn(cout)
    return n


def official_count(k, in_ch=3, grid=14, depth=2, mlp=4):
    motion = conv(in_ch, 180, 3, bias=False) + bn(180)
    block = ln(512) + fc(512, 3 * 512) + fc(512, 512) + ln(512) + fc(512, mlp * 512)
    block += fc(mlp * 512, 512)
    pc = conv(in_ch, 512, 1) + grid * grid * 512 + depth * block + ln(512)
    main = conv(180, 128, 3, bias=False) + bn(128)
    main += ca_block(128, 128, 1) + ca_block(128, 128, 2) + ca_block(128, 256, 2)
    main += ca_block(256, 512, 2) + fc(512 * grid * grid, k)
    return motion + pc + main


def pair(n, size, in_ch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2 * in_ch, size, size, generator=g)


def randomise_bn(net, seed=1):
    # non-trivial running statistics, so properties are not artefacts of the default BN state
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net.eval()


@pytest.mark.parametrize(("k", "size"), [(3, 64), (5, 224)])
def test_output_shape_and_grad(k, size):
    torch.manual_seed(0)
    net = MMNet(n_classes=k, input_size=size)
    y = net(pair(2, size))
    assert y.shape == (2, k) and y.dtype == torch.float32 and torch.isfinite(y).all()
    y.square().sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_official_parameter_count():
    # the paper states no count; 5 classes, RGB, 224x224 as in CASME2_5.py
    assert n_params(MMNet()) == official_count(5) == 9_438_841
    assert n_params(MMNet(n_classes=3)) == official_count(3)
    # CASME2_3.py transformer settings
    net = MMNet(n_classes=3, vit_depth=3, vit_mlp_ratio=2, drop_path_rate=0.3)
    assert n_params(net) == official_count(3, depth=3, mlp=2)
    assert n_params(MMNet(in_channels=1, input_size=64)) == official_count(5, in_ch=1, grid=4)
    # layers the official MMNet builds but never uses (left out here): cls_token, ViT head 512 -> 5,
    # to_Mask 512 -> 1, pos (conv 3 -> 512 + BN), head 12544 -> 38 (no bias), timeembed 4x111x111
    unused = 512 + fc(512, 5) + fc(512, 1) + conv(3, 512, 1, bias=False) + bn(512)
    unused += fc(112 * 112, 38, bias=False) + 4 * 111 * 111
    assert official_count(5) + unused == 9_970_947


def test_official_key_names():
    keys = set(MMNet().state_dict())
    for key in (
        "conv_act.0.weight",
        "conv_act.1.running_var",
        "vit_pos.patch_embed.proj.weight",
        "vit_pos.pos_embed",
        "vit_pos.blocks.1.attn.qkv.bias",
        "vit_pos.blocks.1.mlp.fc2.weight",
        "vit_pos.norm.weight",
        "main_branch.conv1.weight",
        "main_branch.bn1.weight",
        "main_branch.layer1.0.conv1.weight",
        "main_branch.layer1.0.attn.0.weight",
        "main_branch.layer2.0.downsample.0.weight",
        "main_branch.layer4.0.bn2.bias",
        "main_branch.fc.weight",
    ):
        assert key in keys, key
    assert not any(k.startswith("main_branch.layer1.0.downsample") for k in keys)


def test_motion_input_is_apex_minus_onset():
    net = MMNet(input_size=32).eval()
    seen = {}

    def keep_input(module, inputs, output):
        seen["x"] = inputs[0]

    net.conv_act[0].register_forward_hook(keep_input)
    x = pair(2, 32)
    with torch.no_grad():
        net(x)
    torch.testing.assert_close(seen["x"], x[:, 3:] - x[:, :3])


def test_motion_branch_ignores_a_common_offset():
    net = randomise_bn(MMNet(input_size=48))
    x = pair(2, 48)
    shifted = x + torch.tensor([0.7, -0.3, 1.1] * 2).view(1, 6, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(net.motion_features(shifted), net.motion_features(x))
        # the PC module reads the onset frame, which did change
        assert not torch.allclose(net.position_embeddings(shifted), net.position_embeddings(x))
        # shifting the onset alone changes the motion pattern
        onset_only = x.clone()
        onset_only[:, :3] += 0.7
        assert not torch.allclose(net.motion_features(onset_only), net.motion_features(x))


def test_identical_frames_give_content_free_motion_features():
    net = randomise_bn(MMNet(input_size=48))
    frames = pair(2, 48)[:, :3]
    x = torch.cat([frames, frames], dim=1)  # two different faces, no motion
    with torch.no_grad():
        feat = net.motion_features(x)
        y = net(x)
    torch.testing.assert_close(feat[0], feat[1])
    assert not torch.allclose(
        y[0], y[1]
    )  # they differ only through the onset's position embeddings


def test_position_embeddings_use_onset_only():
    net = randomise_bn(MMNet(input_size=48))
    x = pair(2, 48)
    other_apex = x.clone()
    other_apex[:, 3:] = pair(2, 48, seed=5)[:, 3:]
    with torch.no_grad():
        torch.testing.assert_close(net.position_embeddings(other_apex), net.position_embeddings(x))
        assert not torch.allclose(net(other_apex), net(x))


def test_pc_resize_is_bilinear_without_antialiasing():
    # 64 -> 4: each output pixel averages source rows/cols 16 i + 7 and 16 i + 8 only
    net = randomise_bn(MMNet(input_size=64))
    x = pair(1, 64)
    far = x.clone()
    far[:, :3, 0::16, :] += 5.0
    near = x.clone()
    near[:, :3, 7::16, :] += 5.0
    with torch.no_grad():
        ref = net.position_embeddings(x)
        torch.testing.assert_close(net.position_embeddings(far), ref)
        assert not torch.allclose(net.position_embeddings(near), ref)


def test_motion_features_are_attention_weighted_relu_maps():
    net = randomise_bn(MMNet(input_size=64))
    with torch.no_grad():
        feat = net.motion_features(pair(2, 64))
    assert feat.shape == (2, 512, 4, 4) and (feat >= 0).all()


def test_eval_is_deterministic():
    torch.manual_seed(0)
    net = MMNet(input_size=64, vit_depth=3, drop_path_rate=0.3).eval()
    x = pair(3, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)
        # a sample's logits do not depend on the rest of the batch in eval mode
        torch.testing.assert_close(net(x[:1]), net(x)[:1])


@pytest.mark.parametrize(("size", "grid"), [(16, 1), (64, 4), (100, 7), (112, 7)])
def test_small_inputs(size, grid):
    net = MMNet(n_classes=3, input_size=size).eval()
    assert net.vit_pos.pos_embed.shape == (1, grid * grid, 512)
    assert net.main_branch.fc.in_features == 512 * grid * grid
    with torch.no_grad():
        assert net(pair(2, size)).shape == (2, 3)


def test_grey_frames():
    net = MMNet(in_channels=1, input_size=32).eval()
    with torch.no_grad():
        assert net(pair(2, 32, in_ch=1)).shape == (2, 5)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_classes": 0}, "n_classes"),
        ({"in_channels": 0}, "in_channels"),
        ({"input_size": 8}, "input_size"),
        ({"input_size": 64.0}, "input_size"),
        ({"vit_depth": 0}, "vit_depth"),
        ({"vit_heads": 3}, "vit_heads"),
        ({"vit_heads": 0}, "vit_heads"),
        ({"vit_mlp_ratio": 0.0}, "vit_mlp_ratio"),
        ({"drop_path_rate": 1.0}, "drop_path_rate"),
        ({"drop_path_rate": -0.1}, "drop_path_rate"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MMNet(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (2, 6, 48, 48), (6, 32, 32)])
def test_bad_input_shape(shape):
    net = MMNet(input_size=32)
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.zeros(shape))
