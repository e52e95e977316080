"""Video SR architectures: shapes, checkpoint keys in BasicSR and mmagic styles, propagation sanity."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F

from srmer.sr.archs import basicvsr, basicvsrpp, edvr, iconvsr, realbasicvsr, spynet
from srmer.sr.archs.basicvsrpp import SecondOrderDeformableAlignment
from srmer.sr.archs.spynet import SpyNet, flow_warp
from srmer.sr.checkpoint import load_checkpoint

torch.set_num_threads(1)

ARCHS = {
    "basicvsr": (basicvsr, {"num_feat": 8, "num_block": 1}),
    "iconvsr": (iconvsr, {"num_feat": 8, "num_block": 1}),
    "edvr": (
        edvr,
        {"num_feat": 8, "num_extract_block": 1, "num_reconstruct_block": 1, "deformable_groups": 2},
    ),
    "basicvsrpp": (basicvsrpp, {"mid_channels": 8, "num_blocks": 1, "deform_groups": 2}),
    "realbasicvsr": (
        realbasicvsr,
        {"mid_channels": 8, "num_propagation_blocks": 1, "num_cleaning_blocks": 2},
    ),
}

# mmagic wraps these layers in ConvModule (an extra ``.conv`` level in the keys).
_MM_CONVMODULE = re.compile(
    r"(offset_conv[123]\.l\d|feat_conv\.l\d|cas_offset_conv[12]|feat_fusion|spatial_attn[1-4]"
    r"|spatial_attn_l[123]|spatial_attn_add1|feat_l[23]_conv[12])\.(weight|bias)$"
)


def _to_mmagic(sd: dict) -> dict:
    """Rewrite BasicSR keys the way mmagic names the same modules (written independently of the
    package's converter, from mmagic's module definitions)."""
    out = {}
    for k, v in sd.items():
        k = re.sub(
            r"basic_module\.(\d)\.basic_module\.(\d+)\.",
            lambda m: f"basic_module.{m.group(1)}.basic_module.{int(m.group(2)) // 2}.conv.",
            k,
        )
        k = re.sub(r"(^|\.)upconv([12])\.", r"\1upsample\2.upsample_conv.", k)
        k = re.sub(r"(^|\.)(backward|forward)_trunk\.", r"\1\2_resblocks.", k)
        k = re.sub(r"(^|\.)conv_l([23])_([12])\.", r"\1feat_l\2_conv\3.", k)
        k = re.sub(r"(^|\.)pcd_align\.", r"\1pcd_alignment.", k)
        k = _MM_CONVMODULE.sub(r"\1.conv.\2", k)
        out[k] = v
    return out


def _tiny(name: str):
    mod, hp = ARCHS[name]
    torch.manual_seed(0)
    return mod, mod.build(scale=4, **hp), hp


def _run(model, x):
    with torch.inference_mode():
        return model.sr_clip(x) if hasattr(model, "sr_clip") else model(x)


@pytest.mark.parametrize("name", list(ARCHS))
def test_output_shapes(name):
    _, model, _ = _tiny(name)
    x = torch.rand(1, 3, 3, 12, 16)
    assert _run(model, x).shape == (1, 3, 3, 48, 64)


@pytest.mark.parametrize("name", ["basicvsr", "basicvsrpp"])
def test_other_scales_and_tiny_inputs(name):
    mod, hp = ARCHS[name]
    model = mod.build(scale=2, **hp)
    with torch.inference_mode():
        assert model(torch.rand(1, 2, 3, 16, 16)).shape == (1, 2, 3, 32, 32)
    assert mod.detect(model.state_dict())["scale"] == 2


@pytest.mark.parametrize("style", ["basicsr", "mmagic"])
@pytest.mark.parametrize("name", list(ARCHS))
def test_checkpoint_round_trip(name, style):
    mod, model, hp = _tiny(name)
    sd = model.state_dict()
    if style == "mmagic":
        sd = _to_mmagic(sd)
        assert sd.keys() != model.state_dict().keys()
    detected = mod.detect(sd)
    assert detected is not None
    assert detected["scale"] == 4
    for key, value in hp.items():
        assert detected[key] == value, key
    rebuilt = mod.build(**detected)
    rebuilt.load_state_dict(sd, strict=True)
    for (k1, v1), (k2, v2) in zip(
        model.state_dict().items(), rebuilt.state_dict().items(), strict=True
    ):
        assert k1 == k2
        assert torch.equal(v1, v2)
    x = torch.rand(1, 2, 3, 8, 8)
    torch.testing.assert_close(_run(model, x), _run(rebuilt, x))


@pytest.mark.parametrize("name", list(ARCHS))
def test_detect_rejects_other_architectures(name):
    _, model, _ = _tiny(name)
    sd = model.state_dict()
    for other, (mod, _) in ARCHS.items():
        if other != name:
            assert mod.detect(sd) is None, f"{other} claimed a {name} state_dict"


def test_official_key_names():
    """Spot-check names against the official releases (BasicSR and mmagic)."""
    keys = set(basicvsr.build(num_block=1).state_dict())
    assert {
        "spynet.basic_module.0.basic_module.0.weight",
        "spynet.basic_module.5.basic_module.8.bias",
        "backward_trunk.main.0.weight",
        "backward_trunk.main.2.0.conv1.weight",
        "forward_trunk.main.2.0.conv2.bias",
        "fusion.weight",
        "upconv1.weight",
        "upconv2.weight",
        "conv_hr.weight",
        "conv_last.weight",
    } <= keys
    keys = set(edvr.build_m(num_reconstruct_block=1).state_dict())
    assert {
        "pcd_align.dcn_pack.l3.conv_offset.weight",
        "pcd_align.offset_conv3.l2.weight",
        "pcd_align.cas_dcnpack.weight",
        "fusion.spatial_attn_add2.weight",
        "conv_l3_2.weight",
        "feature_extraction.4.conv2.weight",
    } <= keys
    keys = set(basicvsrpp.build(num_blocks=1).state_dict())
    assert {
        "deform_align.forward_2.conv_offset.6.weight",
        "deform_align.backward_1.weight",
        "backbone.forward_2.main.0.weight",
        "feat_extract.main.2.4.conv1.weight",
        "reconstruction.main.0.weight",
    } <= keys
    assert (
        basicvsrpp.build(num_blocks=1).state_dict()["backbone.forward_2.main.0.weight"].shape[1]
        == 5 * 64
    )
    keys = set(iconvsr.build(num_block=1).state_dict())
    assert {
        "edvr.pcd_align.cas_dcnpack.conv_offset.bias",
        "edvr.fusion.feat_fusion.weight",
        "backward_fusion.weight",
        "forward_fusion.weight",
    } <= keys


def test_spynet_standalone_mmagic_keys_and_missing_buffers():
    torch.manual_seed(1)
    net = SpyNet()
    sd = {k: v for k, v in _to_mmagic(net.state_dict()).items() if k not in ("mean", "std")}
    assert "basic_module.3.basic_module.4.conv.weight" in sd
    other = SpyNet()
    other.load_state_dict(sd, strict=True)
    torch.testing.assert_close(
        other.basic_module[3].basic_module[8].weight, net.basic_module[3].basic_module[8].weight
    )
    assert spynet.to_basicsr_keys({"a.conv.weight": 1})["a.weight"] == 1


def test_flow_warp_integer_shift():
    x = torch.arange(2 * 5 * 6, dtype=torch.float32).view(1, 2, 5, 6)
    flow = torch.zeros(1, 5, 6, 2)
    flow[..., 0] = 1.0  # sample one pixel to the right
    out = flow_warp(x, flow)
    torch.testing.assert_close(out[..., :-1], x[..., 1:])
    assert torch.all(out[..., -1] == 0)


def test_spynet_flow_shape_and_zero_motion():
    net = SpyNet()
    a = torch.rand(2, 3, 40, 50)
    with torch.inference_mode():
        flow = net(a, a)
    assert flow.shape == (2, 2, 40, 50)


def test_basicvsr_reversal_with_swapped_branches():
    """Reversing the clip and swapping the backward/forward branches (and the fusion halves)
    reverses the output frames: both branches see the same frames in the mirrored order."""
    torch.manual_seed(3)
    model = basicvsr.build(num_feat=8, num_block=1)
    swapped = basicvsr.build(num_feat=8, num_block=1)
    sd = model.state_dict()
    new = dict(sd)
    for k in sd:
        if k.startswith("backward_trunk."):
            new[k] = sd["forward_trunk." + k[len("backward_trunk.") :]]
            new["forward_trunk." + k[len("backward_trunk.") :]] = sd[k]
    w = sd["fusion.weight"]
    new["fusion.weight"] = torch.cat([w[:, 8:], w[:, :8]], dim=1)
    swapped.load_state_dict(new)
    x = torch.rand(1, 4, 3, 16, 16)
    with torch.inference_mode():
        out = model(x)
        out_rev = swapped(x.flip(1))
        plain_rev = model(x.flip(1))
    torch.testing.assert_close(out_rev.flip(1), out, atol=1e-5, rtol=1e-4)
    # without the swap the two branches are not interchangeable
    assert not torch.allclose(plain_rev.flip(1), out, atol=1e-3)


@pytest.mark.parametrize("name", ["basicvsr", "iconvsr", "basicvsrpp"])
def test_recurrent_models_propagate_both_ways(name):
    _, model, _ = _tiny(name)
    x = torch.rand(1, 5, 3, 8, 8)
    y = x.clone()
    y[:, -1] = torch.rand(3, 8, 8)
    z = x.clone()
    z[:, 0] = torch.rand(3, 8, 8)
    a, b, c = _run(model, x), _run(model, y), _run(model, z)
    assert not torch.allclose(a[:, 0], b[:, 0])  # backward propagation reaches the first frame
    assert not torch.allclose(a[:, -1], c[:, -1])  # forward propagation reaches the last frame


def test_edvr_window_is_local_and_mirrored():
    _, model, _ = _tiny("edvr")
    x = torch.rand(1, 7, 3, 8, 8)
    y = x.clone()
    y[:, 5:] = torch.rand(2, 3, 8, 8)
    a, b = _run(model, x), _run(model, y)
    torch.testing.assert_close(a[:, :3], b[:, :3])  # frames 0..2 only see frames 0..4
    assert not torch.allclose(a[:, 3], b[:, 3])
    assert edvr.window_indices(0, 7, 5) == [2, 1, 0, 1, 2]
    assert edvr.window_indices(6, 7, 5) == [4, 5, 6, 5, 4]
    assert edvr.window_indices(0, 1, 5) == [0, 0, 0, 0, 0]


def test_realbasicvsr_cleaning_loop():
    _, model, _ = _tiny("realbasicvsr")
    last = model.image_cleaning[1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(0.01)
    x = torch.rand(1, 2, 3, 8, 8)
    # residue 0.01 < 255/255: one pass
    torch.testing.assert_close(model.clean(x), x + 0.01)
    model.dynamic_refine_thres = 0.0  # never small enough: the published cap of 3 passes
    torch.testing.assert_close(model.clean(x), x + 0.03)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), model.basicvsr(x + 0.03))


def test_second_order_alignment_follows_flow():
    """Zero learned residue: the alignment is a DCN whose offsets are the flows (x, y) -> (dy, dx)."""
    torch.manual_seed(4)
    c = 4
    align = SecondOrderDeformableAlignment(2 * c, c, 3, padding=1, deformable_groups=2)
    feat1, feat2 = torch.rand(1, c, 7, 9), torch.rand(1, c, 7, 9)
    flow1 = torch.zeros(1, 2, 7, 9)
    flow1[:, 0] = 1.0  # one pixel right
    flow2 = torch.zeros(1, 2, 7, 9)
    flow2[:, 1] = -1.0  # one pixel up
    with torch.no_grad():
        out = align(torch.cat([feat1, feat2], 1), torch.rand(1, 3 * c, 7, 9), flow1, flow2)
    warped = torch.cat(
        [flow_warp(feat1, flow1.permute(0, 2, 3, 1)), flow_warp(feat2, flow2.permute(0, 2, 3, 1))],
        1,
    )
    ref = F.conv2d(warped, align.weight * 0.5, align.bias, padding=1)  # sigmoid(0) mask
    # away from the borders, where flow_warp's zeros and the DCN's taps see different pixels
    torch.testing.assert_close(out[..., 2:-2, 2:-2], ref[..., 2:-2, 2:-2], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("style", ["basicsr", "mmagic"])
@pytest.mark.parametrize("name", list(ARCHS))
def test_load_checkpoint_detects_video_arch(tmp_path, name, style):
    """The package loader unwraps the container, detects the architecture and loads strictly."""
    _, model, _ = _tiny(name)
    sd = model.state_dict()
    if style == "basicsr":
        obj = {"params": sd}
    else:
        obj = {"meta": {}, "state_dict": {"generator." + k: v for k, v in _to_mmagic(sd).items()}}
    path = tmp_path / f"{name}.pth"
    torch.save(obj, path)
    loaded = load_checkpoint(path)
    assert type(loaded) is type(model)
    assert loaded.arch_name == name
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def test_edvr_sr_clip_equals_per_window_forward():
    _, model, _ = _tiny("edvr")
    x = torch.rand(1, 6, 3, 8, 12)
    with torch.inference_mode():
        clip = model.sr_clip(x)
        for i in range(6):
            ref = model(x[:, edvr.window_indices(i, 6, 5)])
            torch.testing.assert_close(clip[:, i], ref, atol=1e-5, rtol=1e-5)
