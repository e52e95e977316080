"""HTNet: parameter count and output shape of the official configuration, upstream key names, the
reshapes against index formulas, the four-area tiling against htnet_regions, and gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srmer.features.regions import htnet_regions
from srmer.mer.nets import NETS, create_net
from srmer.mer.nets.htnet import (
    HTNet,
    _Attention,
    _from_blocks,
    _PatchToChannels,
    _to_blocks,
    four_area_image,
)

torch.set_num_threads(1)

#: main_HTNet.py's model (image_size=28, patch_size=7, dim=256, heads=3, num_hierarchies=3,
#: block_repeats=(2, 2, 10), num_classes=3, channels=3)
OFFICIAL = {"input_size": 28, "patch_size": 7, "dim": 256, "heads": 3, "num_hierarchies": 3,
            "block_repeats": (2, 2, 10), "n_classes": 3, "in_channels": 3}  # fmt: skip
SMALL = {"input_size": 28, "dim": 24, "heads": 3, "block_repeats": (1, 1, 1)}


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def conv1x1(i, o, bias=True):
    return i * o + (o if bias else 0)


def official_count(k=3, dim=256, heads=3, repeats=(2, 2, 10), mlp=4, patch=7, ch=3, seq=1):
    """Parameters of upstream Model.HTNet, from its layer list."""
    n = conv1x1(ch * patch * patch, dim)  # to_patch_embedding.1
    for level, rep in enumerate(repeats):
        d, h = dim * 2**level, heads * 2**level
        inner = (d // h) * h  # upstream: dim_head = dim // heads
        attn = 2 * d + conv1x1(d, 3 * inner, bias=False) + conv1x1(inner, d)
        ff = 2 * d + conv1x1(d, mlp * d) + conv1x1(mlp * d, d)
        n += seq + rep * (attn + ff)  # pos_emb + blocks
        if level < len(repeats) - 1:
            n += 9 * d * 2 * d + 2 * d + 2 * 2 * d  # aggregate: conv3x3 d -> 2d, channel LayerNorm
    last = dim * 2 ** (len(repeats) - 1)
    return n + 2 * last + last * k + k  # mlp_head: LayerNorm, Linear


@pytest.fixture(scope="module")
def official():
    torch.manual_seed(0)
    return HTNet(**OFFICIAL).eval()


def test_official_parameter_count(official):
    # neither the paper nor the README states a count; this is the one of upstream's layer list
    assert n_params(official) == official_count() == 139_582_982
    assert n_params(HTNet(**{**OFFICIAL, "n_classes": 5})) == official_count(k=5)


def test_official_output_shape(official):
    x = torch.rand(2, 3, 28, 28) * 255  # upstream feeds 8-bit values
    with torch.no_grad():
        y = official(x)
    assert y.shape == (2, 3) and y.dtype == torch.float32 and torch.isfinite(y).all()
    # heads double per level, 85 channels per head everywhere (dim // heads)
    attn = [official.layers[i][0].layers[0][0].fn for i in range(3)]
    assert [a.heads for a in attn] == [3, 6, 12] and {a.dim_head for a in attn} == {85}
    assert [len(official.layers[i][0].layers) for i in range(3)] == [2, 2, 10]


def _official_keys():
    """Upstream's state-dict keys, spelled out from Model.py's module tree."""
    keys = ["to_patch_embedding.1.weight", "to_patch_embedding.1.bias"]
    for i, rep in enumerate((2, 2, 10)):
        keys.append(f"layers.{i}.0.pos_emb")
        for j in range(rep):
            a, f = f"layers.{i}.0.layers.{j}.0", f"layers.{i}.0.layers.{j}.1"
            keys += [f"{a}.norm.g", f"{a}.norm.b", f"{a}.fn.to_qkv.weight"]
            keys += [f"{a}.fn.to_out.0.weight", f"{a}.fn.to_out.0.bias"]
            keys += [f"{f}.norm.g", f"{f}.norm.b", f"{f}.fn.net.0.weight", f"{f}.fn.net.0.bias"]
            keys += [f"{f}.fn.net.3.weight", f"{f}.fn.net.3.bias"]
        if i < 2:
            keys += [f"layers.{i}.1.0.weight", f"layers.{i}.1.0.bias"]
            keys += [f"layers.{i}.1.1.g", f"layers.{i}.1.1.b"]
    return [*keys, "mlp_head.0.g", "mlp_head.0.b", "mlp_head.2.weight", "mlp_head.2.bias"]


def test_official_key_names_and_shapes(official):
    sd = official.state_dict()
    assert list(sd) == _official_keys()
    shapes = {
        "to_patch_embedding.1.weight": (256, 147, 1, 1),
        "layers.0.0.pos_emb": (1,),
        "layers.0.0.layers.0.0.norm.g": (1, 256, 1, 1),
        "layers.0.0.layers.1.0.fn.to_qkv.weight": (765, 256, 1, 1),
        "layers.0.0.layers.1.0.fn.to_out.0.weight": (256, 255, 1, 1),
        "layers.0.1.0.weight": (512, 256, 3, 3),
        "layers.1.0.layers.0.0.fn.to_qkv.weight": (1530, 512, 1, 1),
        "layers.1.1.1.g": (1, 1024, 1, 1),
        "layers.2.0.layers.9.1.fn.net.0.weight": (4096, 1024, 1, 1),
        "layers.2.0.layers.9.0.fn.to_out.0.weight": (1024, 1020, 1, 1),
        "mlp_head.2.weight": (3, 1024),
    }
    for k, shape in shapes.items():
        assert tuple(sd[k].shape) == shape, k
    # an official checkpoint (same keys and shapes) loads strictly
    HTNet(**OFFICIAL).load_state_dict(sd, strict=True)


def test_registered_under_htnet():
    assert NETS["htnet"] is HTNet
    net = create_net("htnet", 4, **SMALL)
    assert net.mlp_head[2].out_features == 4


def test_patch_embedding_order_is_p1_p2_c():
    # 'b c (h p1) (w p2) -> b (p1 p2 c) h w'
    x = torch.randn(2, 3, 14, 21)
    out = _PatchToChannels(7)(x)
    assert out.shape == (2, 147, 2, 3)
    for b, c, h, w, p1, p2 in [(0, 0, 0, 0, 0, 0), (1, 2, 1, 2, 6, 3), (0, 1, 1, 0, 2, 5)]:
        assert out[b, (p1 * 7 + p2) * 3 + c, h, w] == x[b, c, h * 7 + p1, w * 7 + p2]


def test_blocks_order_and_round_trip():
    # 'b c (b1 h) (b2 w) -> (b b1 b2) c h w' and back
    x = torch.randn(2, 5, 8, 8)
    blocks = _to_blocks(x, 4)
    assert blocks.shape == (2 * 16, 5, 2, 2)
    for b, b1, b2, h, w in [(0, 0, 0, 0, 0), (1, 3, 2, 1, 0), (0, 1, 3, 1, 1)]:
        assert blocks[b * 16 + b1 * 4 + b2, :, h, w].equal(x[b, :, b1 * 2 + h, b2 * 2 + w])
    assert _from_blocks(blocks, 4).equal(x)
    assert _to_blocks(x, 1).equal(x) and _from_blocks(x, 1).equal(x)


def test_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    attn = _Attention(24, 3, 0.0).eval()
    x = torch.randn(2, 24, 3, 4)
    q, k, v = attn.to_qkv(x).chunk(3, dim=1)

    def heads(t):  # 'b (h d) x y -> b h (x y) d'
        return t.reshape(2, 3, 8, 12).transpose(2, 3)

    w = torch.softmax(heads(q) @ heads(k).transpose(2, 3) * 8**-0.5, dim=-1)
    ref = attn.to_out((w @ heads(v)).transpose(2, 3).reshape(2, 24, 3, 4))
    with torch.no_grad():
        torch.testing.assert_close(attn(x), ref)


def test_self_attention_is_local_to_each_block():
    # 56x56 input: a 8x8 patch map cut into 4x4 blocks of 2x2 tokens at the first level
    torch.manual_seed(0)
    net = HTNet(**{**SMALL, "input_size": 56}).eval()
    first = net.layers[0][0]
    x = torch.randn(1, 24, 8, 8)
    x2 = x.clone()
    x2[..., 0:2, 0:2] += 1.0  # change block (0, 0) only
    with torch.no_grad():
        a, b = (_from_blocks(first(_to_blocks(t, 4)), 4) for t in (x, x2))
    changed = (a - b).abs().amax(dim=1)[0] > 1e-6
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[0:2, 0:2] = True
    assert changed.equal(expected)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = HTNet(**{**SMALL, "block_repeats": (1, 2, 1)})
    x = torch.rand(4, 3, 28, 28)
    net(x).square().sum().backward()
    last = f"layers.{len(net.layers) - 1}.0.pos_emb"
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name == last:
            # added equally to every channel of each token and removed by the LayerNorms that
            # follow (pre-norm branches, head): no effect on the output, as upstream
            assert p.grad.abs().max() < 1e-4, name
        else:
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("size", [28, 56])
def test_four_area_image_matches_htnet_regions(size):
    rng = np.random.default_rng(0)
    flow = rng.random((3, size, size), dtype=np.float32)
    out = four_area_image(flow)
    assert out.shape == flow.shape and out.dtype == flow.dtype
    h = size // 2
    (a, b, c, d) = htnet_regions(size)
    for box, (r, col) in zip((a, b, c, d), [(0, 0), (0, h), (h, 0), (h, h)], strict=True):
        y0, y1, x0, x1 = box
        np.testing.assert_array_equal(out[:, r : r + h, col : col + h], flow[:, y0:y1, x0:x1])


def test_four_area_image_official_boxes():
    # htnet_regions(28): eyes rows 4:18, lip corners rows 14:28, mirrored columns
    flow = np.arange(28 * 28, dtype=np.float32).reshape(1, 28, 28)
    out = four_area_image(flow)
    np.testing.assert_array_equal(out[0, :14, :14], flow[0, 4:18, 1:15])  # left eye
    np.testing.assert_array_equal(out[0, :14, 14:], flow[0, 4:18, 13:27])  # right eye
    np.testing.assert_array_equal(out[0, 14:, :14], flow[0, 14:28, 2:16])  # left lip corner
    np.testing.assert_array_equal(out[0, 14:, 14:], flow[0, 14:28, 12:26])  # right lip corner


@pytest.mark.parametrize("shape", [(3, 27, 27), (3, 28, 30), (28, 28)])
def test_four_area_image_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="flow must be"):
        four_area_image(np.zeros(shape, dtype=np.float32))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"n_classes": 0}, "n_classes"),
        ({"input_size": 30}, "input_size"),
        ({"patch_size": 0}, "patch_size"),
        ({"dim": 2.5}, "dim"),
        ({"heads": 300, "dim": 256}, "heads"),
        ({"block_repeats": (2, 2)}, "block_repeats"),
        ({"block_repeats": (2, 0, 1)}, "block_repeats"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HTNet(**{**SMALL, **kwargs})


def test_bad_input_shape():
    net = HTNet(**SMALL)
    with pytest.raises(ValueError, match="x must have shape"):
        net(torch.zeros(2, 2, 28, 28))


def test_other_sizes_and_dropout():
    torch.manual_seed(0)
    net = HTNet(**{**SMALL, "input_size": 56, "dropout": 0.1, "block_repeats": 1})
    assert net.layers[0][0].pos_emb.shape == (4,)  # 2x2 tokens per block at every level
    y = net(torch.rand(3, 3, 56, 56))
    assert y.shape == (3, 3)
    net.eval()
    with torch.no_grad():
        x = torch.rand(2, 3, 56, 56)
        torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)
