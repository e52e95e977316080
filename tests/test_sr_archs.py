"""Image SR architectures: forward shapes at every scale, parameter counts, reference algorithms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import srmer.sr as sr
from srmer.sr.archs.common import matlab_bicubic_up, matlab_upsample_matrix
from srmer.sr.registry import Cascade, cascade_plan, scale_support

torch.set_num_threads(1)

TINY = {
    "srcnn": {"channels": (1, 8, 4, 1)},
    "srcnn_rgb": {"channels": (3, 8, 4, 3)},
    "msrresnet": {"num_feat": 8, "num_block": 1},
    "edsr": {"num_feat": 8, "num_block": 1},
    "edsr_large": {"num_feat": 8, "num_block": 1},
    "rdn": {"D": 2, "C": 2, "G": 4, "G0": 8},
    "rdn_psnr_small": {"D": 2, "G": 4, "G0": 8},
    "rrdbnet": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
    "realesrgan_x4plus": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
    "nesrganplus": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
    "srvgg": {"num_feat": 8, "num_conv": 1},
    "rcan": {"num_feat": 8, "num_group": 1, "num_block": 1, "squeeze_factor": 4},
    "metasr": {"D": 1, "C": 2, "G": 4, "G0": 8},
}


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_forward_shape_every_scale(name: str, scale: int) -> None:
    model = sr.create(name, scale, **TINY[name]).eval()
    x = torch.rand(2, 3, 8, 12)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 3, 8 * scale, 12 * scale)
    assert torch.isfinite(y).all()
    assert model.scale == scale
    native = scale in sr.registry.get_spec(name).scales
    assert isinstance(model, Cascade) != native


@pytest.mark.parametrize("key_style", ["basicsr", "official"])
@pytest.mark.parametrize("name", ["edsr", "rcan"])
def test_key_styles_build(name: str, key_style: str) -> None:
    model = sr.create(name, 3, key_style=key_style, **TINY[name])
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 6)).shape == (1, 3, 15, 18)


def test_cascade_plans() -> None:
    assert cascade_plan((2, 3, 4), 16) == [4, 4]
    assert cascade_plan((2, 3, 4), 8) == [4, 2]
    assert cascade_plan((1, 2, 4), 2) == [2]
    assert cascade_plan((4,), 8) is None
    sup = scale_support("rdn")
    assert sup == {2: "native", 4: "native", 8: "cascade x4 -> x2", 16: "cascade x4 -> x4"}
    assert scale_support("edsr")[16] == "native"


def test_cascade_reuses_stage_and_clamps() -> None:
    m = sr.create("rdn", 16, **TINY["rdn"])
    assert isinstance(m, Cascade) and m.order == [4, 4] and list(m.stages) == ["x4"]
    x = torch.rand(1, 3, 4, 4)
    with torch.no_grad():
        ref = m.stages["x4"](m.stages["x4"](x).clamp(0, 1))
        assert torch.allclose(m(x), ref)


def _conv(cin: int, cout: int, k: int = 3) -> int:
    return cin * cout * k * k + cout


def _n(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_parameter_counts_standard_configs() -> None:
    # EDSR baseline x4 (BasicSR count; the paper's "1.5M")
    edsr = _conv(3, 64) + 16 * 2 * _conv(64, 64) + _conv(64, 64) + 2 * _conv(64, 256) + _conv(64, 3)
    assert _n(sr.create("edsr_baseline", 4)) == edsr == 1_517_571
    # EDSR large x4: the paper's 43M
    large = _n(sr.create("edsr_large", 4))
    assert large == _conv(3, 256) + 65 * _conv(256, 256) + 2 * _conv(256, 1024) + _conv(256, 3)
    assert round(large / 1e6) == 43
    # RRDBNet / ESRGAN 16.7M
    rdb = sum(_conv(64 + 32 * i, 32) for i in range(4)) + _conv(64 + 128, 64)
    rrdb = _conv(3, 64) + 23 * 3 * rdb + 4 * _conv(64, 64) + _conv(64, 3)
    assert _n(sr.create("rrdbnet", 4)) == rrdb == 16_697_987
    # RDN (D16 C8 G64): 22.1M at x2 (the paper quotes ~22M)
    rdb = sum(_conv(64 * (1 + c), 64) for c in range(8)) + _conv(64 * 9, 64, 1)
    rdn2 = 2 * 0 + _conv(3, 64) + _conv(64, 64) + 16 * rdb + _conv(16 * 64, 64, 1) + _conv(64, 64)
    rdn2 += _conv(64, 256) + _conv(64, 3)
    assert _n(sr.create("rdn", 2)) == rdn2
    assert round(rdn2 / 1e5) == 221
    # RCAN 10x20, reduction 16: ~15.6M at x4 (paper: "about 16M")
    rcab = 2 * _conv(64, 64) + _conv(64, 4, 1) + _conv(4, 64, 1)
    rcan = (
        _conv(3, 64)
        + 10 * (20 * rcab + _conv(64, 64))
        + _conv(64, 64)
        + 2 * _conv(64, 256)
        + _conv(64, 3)
    )
    assert _n(sr.create("rcan", 4)) == rcan
    assert round(rcan / 1e5) == 156
    # SRCNN 9-5-5 64/32 on Y; the ECCV 9-1-5 network has the paper's 8,032 weights (+ biases)
    assert _n(sr.create("srcnn", 4)) == 81 * 64 + 64 + 25 * 64 * 32 + 32 + 25 * 32 + 1
    m = sr.create("srcnn", 4, kernel_sizes=(9, 1, 5))
    assert sum(p.numel() for n, p in m.named_parameters() if n.endswith("weight")) == 8032
    # MSRResNet and Meta-SR P2W
    assert _n(sr.create("msrresnet", 4)) == edsr
    meta = sr.create("metasr", 4)
    assert _n(meta.P2W) == 3 * 256 + 256 + 256 * 1728 + 1728


def test_official_key_names() -> None:
    keys = set(sr.create("edsr", 4, key_style="official").state_dict())
    assert {
        "sub_mean.weight",
        "head.0.weight",
        "body.0.body.0.weight",
        "body.0.body.2.weight",
    } <= keys
    assert {
        "body.16.weight",
        "tail.0.0.weight",
        "tail.0.2.weight",
        "tail.1.weight",
        "add_mean.bias",
    } <= keys
    keys = set(sr.create("edsr", 4).state_dict())
    assert {
        "conv_first.weight",
        "body.15.conv2.weight",
        "conv_after_body.weight",
        "upsample.2.weight",
    } <= keys
    keys = set(sr.create("rcan", 4, key_style="official").state_dict())
    assert {
        "body.0.body.0.body.3.conv_du.0.weight",
        "body.0.body.20.weight",
        "body.10.weight",
    } <= keys
    keys = set(sr.create("rcan", 4).state_dict())
    assert {"body.9.residual_group.19.rcab.3.attention.3.weight", "body.9.conv.weight"} <= keys
    keys = set(sr.create("rdn", 4).state_dict())
    assert {
        "SFENet1.weight",
        "RDBs.15.convs.7.conv.0.weight",
        "RDBs.0.LFF.weight",
        "UPNet.4.weight",
    } <= keys
    keys = set(sr.create("rrdbnet", 2).state_dict())
    assert sr.create("rrdbnet", 2).state_dict()["conv_first.weight"].shape[1] == 12
    assert {"body.22.rdb3.conv5.weight", "conv_up2.weight", "conv_hr.weight"} <= keys
    keys = set(sr.create("srvgg", 4).state_dict())
    assert "body.66.weight" in keys and "body.65.weight" in keys
    assert "body.0.rdb1.conv1x1.weight" in sr.create("nesrganplus", 4, num_block=1).state_dict()


def test_mean_shift_official_equals_basicsr() -> None:
    """EDSR-PyTorch weights (0..255) mapped onto BasicSR names give the same [0,1] output."""
    off = sr.create("edsr", 2, key_style="official", **TINY["edsr"]).eval()
    bas = sr.create("edsr", 2, **TINY["edsr"]).eval()
    sd = off.state_dict()
    ren = {
        "head.0.": "conv_first.",
        "body.1.": "conv_after_body.",
        "tail.0.": "upsample.",
        "tail.1.": "conv_last.",
    }
    new = {}
    for k, v in sd.items():
        if "mean" in k:
            continue
        k2 = k.replace("body.0.body.0.", "body.0.conv1.").replace("body.0.body.2.", "body.0.conv2.")
        for a, b in ren.items():
            if k2.startswith(a):
                k2 = b + k2[len(a) :]
        new[k2] = v
    bas.load_state_dict(new, strict=True)
    x = torch.rand(1, 3, 6, 7)
    with torch.no_grad():
        torch.testing.assert_close(off(x), bas(x), atol=1e-5, rtol=1e-5)


def _metasr_official(model, x: torch.Tensor, scale: float) -> torch.Tensor:
    """Slow re-statement of Meta-SR's official test path (input_matrix_wpn + repeat_x + mask)."""
    feat = model.features(model.sub_mean(x * 255))
    n, c, h, w = feat.shape
    si = math.ceil(scale)
    out_h, out_w = int(scale * h), int(scale * w)
    pos = torch.ones(h * si, w * si, 3)
    mask = torch.zeros(h * si, w * si, dtype=torch.bool)
    rows = torch.arange(0, out_h).float().mul(1.0 / scale)
    cols = torch.arange(0, out_w).float().mul(1.0 / scale)
    slot_r: dict[int, int] = {}
    for ri in rows.tolist():
        src = math.floor(ri)
        k = slot_r.get(src, 0)
        slot_r[src] = k + 1
        slot_c: dict[int, int] = {}
        for cj in cols.tolist():
            srcj = math.floor(cj)
            kk = slot_c.get(srcj, 0)
            slot_c[srcj] = kk + 1
            pos[src * si + k, srcj * si + kk] = torch.tensor([1.0 / scale, ri - src, cj - srcj])
            mask[src * si + k, srcj * si + kk] = True
    wts = model.P2W(pos.view(-1, 3)).view(h, si, w, si, c * 9, 3)
    unf = torch.nn.functional.unfold(feat, 3, padding=1).view(n, c * 9, h, w)
    big = torch.einsum("nfhw,hawbfo->nohawb", unf, wts).reshape(n, 3, h * si, w * si)
    out = big[:, :, mask].view(n, 3, out_h, out_w)
    return model.add_mean(out) / 255


@pytest.mark.parametrize("scale", [2.0, 2.5, 3.0])
def test_metasr_matches_official_algorithm(scale: float) -> None:
    torch.manual_seed(0)
    model = sr.create("metasr", 4, **TINY["metasr"]).eval()
    model.scale = scale
    model.row_chunk = 3
    x = torch.rand(1, 3, 5, 4)
    with torch.no_grad():
        y = model(x)
        ref = _metasr_official(model, x, scale)
    assert y.shape == ref.shape == (1, 3, int(scale * 5), int(scale * 4))
    torch.testing.assert_close(y, ref, atol=1e-4, rtol=1e-4)


def test_metasr_256_over_16() -> None:
    model = sr.create("metasr", 16, **TINY["metasr"]).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16)).shape == (1, 3, 256, 256)


def _cubic(x: float) -> float:
    a = abs(x)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def test_matlab_upsample_matrix_against_loop() -> None:
    n_in, n_out = 5, 20
    ref = np.zeros((n_out, n_in))
    s = n_out / n_in
    for x in range(1, n_out + 1):
        u = x / s + 0.5 * (1 - 1 / s)
        left = math.floor(u - 2)
        ws = {}
        for t in range(left, left + 6):
            w = _cubic(u - t)
            j = t
            while j < 1 or j > n_in:  # symmetric mirror with edge repeated
                j = 1 - j if j < 1 else 2 * n_in + 1 - j
            ws[j] = ws.get(j, 0.0) + w
        tot = sum(ws.values())
        for j, w in ws.items():
            ref[x - 1, j - 1] = w / tot
    np.testing.assert_allclose(matlab_upsample_matrix(n_in, n_out).numpy(), ref, atol=1e-12)
    # constant images stay constant, and shapes follow ceil(in * s)
    y = matlab_bicubic_up(torch.full((1, 1, 3, 4), 0.3), scale=4)
    assert y.shape == (1, 1, 12, 16) and torch.allclose(y, torch.full_like(y, 0.3))


def test_nesrganplus_noise_only_in_training() -> None:
    torch.manual_seed(0)
    m = sr.create("nesrganplus", 4, **TINY["nesrganplus"])
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        m.eval()
        a, b = m(x), m(x)
        m.train()
        c = m(x)
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_srcnn_y_only_keeps_chroma_of_bicubic() -> None:
    m = sr.create("srcnn", 2, channels=(1, 4, 4, 1)).eval()
    x = torch.rand(1, 3, 6, 6)
    with torch.no_grad():
        y = m(x)
        bic = matlab_bicubic_up(x, 2)
    from srmer.sr.archs.srcnn import rgb_to_ycbcr

    torch.testing.assert_close(rgb_to_ycbcr(y)[:, 1:], rgb_to_ycbcr(bic)[:, 1:], atol=1e-5, rtol=0)


def test_unknown_name_lists_known() -> None:
    from srmer.errors import UnknownMethodError

    with pytest.raises(UnknownMethodError, match="edsr_baseline"):
        sr.create("edsr_tiny_typo", 4)


def test_list_archs_has_every_family() -> None:
    names = {r["name"] for r in sr.list_archs()}
    assert {
        "srcnn",
        "msrresnet",
        "edsr",
        "rdn",
        "rrdbnet",
        "srvgg",
        "nesrganplus",
        "rcan",
        "metasr",
    } <= names
    row = next(r for r in sr.list_archs() if r["name"] == "rdn")
    assert "x16 cascade x4 -> x4" in row["support"]


GLEAN_TINY = {
    "out_size": 64,
    "max_channels": 8,
    "style_channels": 8,
    "num_mlps": 2,
    "rrdb_channels": 8,
    "num_rrdbs": 1,
}


@pytest.mark.parametrize("scale", [2, 4, 8, 16])
def test_glean_shapes_every_scale(scale: int) -> None:
    m = sr.create("glean", scale, **GLEAN_TINY).eval()
    assert m.input_size == 64 // scale and m.scale == scale
    with torch.no_grad():
        y = m(torch.rand(2, 3, 64 // scale, 64 // scale))
    assert y.shape == (2, 3, 64, 64) and torch.isfinite(y).all()
    with pytest.raises(ValueError, match="takes"):
        m(torch.rand(1, 3, 64 // scale + 4, 64 // scale))


def test_glean_keys_and_frozen_bank() -> None:
    m = sr.create("glean", 4, **GLEAN_TINY)
    keys = set(m.state_dict())
    assert {
        "encoder.0.0.conv_first.weight",
        "encoder.0.0.body.0.rdb1.conv1.weight",
        "generator.style_mapping.2.linear.weight_orig",
        "generator.constant_input.input",
        "generator.convs.0.conv.blur.kernel",
        "generator.to_rgbs.0.upsample.kernel",
        "generator.injected_noise_0",
        "fusion_out.0.weight",
        "decoder.0.upsample_conv.weight",
    } <= keys
    assert not any(p.requires_grad for p in m.generator.parameters())
    assert all(p.requires_grad for p in m.encoder.parameters())


def test_upfirdn2d_up2_reproduces_kernel_and_constants() -> None:
    from srmer.sr.archs.glean import UpsampleUpFIRDn, upfirdn2d

    up = UpsampleUpFIRDn()
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1
    y = up(x)
    assert y.shape == (1, 1, 10, 10)
    # a delta up-sampled by zero insertion then filtered is the kernel, centred on the 2x2 HR block
    # of LR pixel 2 (HR pixels 4 and 5), with gain 4 so that constants are preserved
    k = torch.tensor([1.0, 3, 3, 1])
    expected = torch.zeros(10, 10)
    expected[3:7, 3:7] = torch.outer(k, k) / 64 * 4
    torch.testing.assert_close(y[0, 0], expected)
    const = up(torch.full((1, 1, 8, 8), 0.5))
    torch.testing.assert_close(const[..., 3:-3, 3:-3], torch.full_like(const[..., 3:-3, 3:-3], 0.5))
    same = upfirdn2d(torch.ones(1, 2, 6, 6), torch.ones(3, 3) / 9, pad=(1, 1))
    assert same.shape == (1, 2, 6, 6) and torch.allclose(
        same[..., 1:-1, 1:-1], torch.ones(1, 2, 4, 4)
    )


def test_create_seed_fixes_weights_and_leaves_global_rng_alone():
    torch.manual_seed(7)
    state = torch.get_rng_state()
    a = sr.create("edsr", 2, seed=3, num_feat=4, num_block=1)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(8)
    b = sr.create("edsr", 2, seed=3, num_feat=4, num_block=1)
    c = sr.create("edsr", 2, seed=4, num_feat=4, num_block=1)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert not torch.equal(a.conv_first.weight, c.conv_first.weight)
    assert b.hparams == a.hparams and "seed" not in a.hparams
