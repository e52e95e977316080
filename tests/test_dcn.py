"""Tests of the pure-PyTorch modulated deformable convolution against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from srmer.sr.archs.dcn import (
    DCNv2Pack,
    ModulatedDeformConv2d,
    ModulatedDeformConvPack,
    modulated_deform_conv2d,
)

torch.set_num_threads(1)


def _bilinear_zero(img: np.ndarray, y: float, x: float) -> float:
    """Bilinear value of a 2-D array at (y, x), corners outside the image counting as zero."""
    h, w = img.shape
    if y <= -1 or y >= h or x <= -1 or x >= w:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0
    val = 0.0
    for yy, wy in ((y0, 1 - ly), (y0 + 1, ly)):
        for xx, wx in ((x0, 1 - lx), (x0 + 1, lx)):
            if 0 <= yy < h and 0 <= xx < w:
                val += wy * wx * img[yy, xx]
    return val


def _slow_deform_conv(x, offset, weight, bias, stride, padding, dilation, mask, groups):
    """Loop-by-loop DCNv2 following torchvision's documented semantics (float64 numpy)."""
    x, offset, weight = x.double().numpy(), offset.double().numpy(), weight.double().numpy()
    mask = None if mask is None else mask.double().numpy()
    b, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    k = kh * kw
    n_dg = offset.shape[1] // (2 * k)
    c_per_dg = cin // n_dg
    out = np.zeros((b, cout, ho, wo))
    for n in range(b):
        # cols[c, tap, oy, ox]
        cols = np.zeros((cin, k, ho, wo))
        for c in range(cin):
            dg = c // c_per_dg
            for i in range(kh):
                for j in range(kw):
                    t = i * kw + j
                    for oy in range(ho):
                        for ox in range(wo):
                            dy = offset[n, 2 * (dg * k + t), oy, ox]
                            dx = offset[n, 2 * (dg * k + t) + 1, oy, ox]
                            y = oy * sh - ph + i * dh + dy
                            xx = ox * sw - pw + j * dw + dx
                            v = _bilinear_zero(x[n, c], y, xx)
                            if mask is not None:
                                v *= mask[n, dg * k + t, oy, ox]
                            cols[c, t, oy, ox] = v
        cout_g = cout // groups
        for o in range(cout):
            gi = o // cout_g
            wt = weight[o].reshape(cin_g, k)
            out[n, o] = np.einsum("ck,ckyx->yx", wt, cols[gi * cin_g : (gi + 1) * cin_g])
        if bias is not None:
            out[n] += bias.double().numpy()[:, None, None]
    return torch.from_numpy(out)


def test_zero_offset_unit_mask_equals_conv2d():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 9, 11, generator=g)
    weight = torch.randn(6, 8, 3, 3, generator=g)
    bias = torch.randn(6, generator=g)
    offset = torch.zeros(2, 2 * 4 * 9, 9, 11)
    mask = torch.ones(2, 4 * 9, 9, 11)
    out = modulated_deform_conv2d(x, offset, weight, bias, 1, 1, 1, mask)
    ref = F.conv2d(x, weight, bias, padding=1)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups"), [(2, 1, 1, 1), (1, 2, 2, 2)])
def test_zero_offset_equals_conv2d_stride_dilation_groups(stride, padding, dilation, groups):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, 10, 9, generator=g)
    weight = torch.randn(6, 4 // groups, 3, 3, generator=g)
    ref = F.conv2d(x, weight, None, stride, padding, dilation, groups)
    ho, wo = ref.shape[2:]
    offset = torch.zeros(1, 2 * 2 * 9, ho, wo)
    out = modulated_deform_conv2d(x, offset, weight, None, stride, padding, dilation, None, groups)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_integer_offsets_equal_shifted_convolution():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 4, 8, 10, generator=g)
    weight = torch.randn(5, 4, 3, 3, generator=g)
    dy, dx = 1, -2
    offset = torch.zeros(1, 2 * 9, 8, 10)
    offset[:, 0::2] = dy
    offset[:, 1::2] = dx
    out = modulated_deform_conv2d(x, offset, weight, None, 1, 1, 1, None)
    # out[y, x] = sum_ij w[i, j] x[y + i - 1 + dy, x + j - 1 + dx], zero outside the image: a valid
    # convolution over a shifted window of the zero-padded input (not conv2d of a shifted image,
    # whose own zero padding would hide pixels the shifted taps can still reach).
    big = F.pad(x, (4, 4, 4, 4))
    window = big[:, :, 3 + dy : 3 + dy + 10, 3 + dx : 3 + dx + 12]
    ref = F.conv2d(window, weight, None)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups", "dg"),
    [((1, 1), (1, 1), (1, 1), 1, 2), ((2, 1), (0, 2), (1, 2), 2, 1)],
)
def test_random_fractional_offsets_match_slow_reference(stride, padding, dilation, groups, dg):
    g = torch.Generator().manual_seed(3)
    b, cin, cout, h, w = 2, 4, 4, 5, 6
    x = torch.randn(b, cin, h, w, generator=g, dtype=torch.float64)
    weight = torch.randn(cout, cin // groups, 3, 3, generator=g, dtype=torch.float64)
    bias = torch.randn(cout, generator=g, dtype=torch.float64)
    ho = (h + 2 * padding[0] - dilation[0] * 2 - 1) // stride[0] + 1
    wo = (w + 2 * padding[1] - dilation[1] * 2 - 1) // stride[1] + 1
    # Offsets up to +-3 px push many samples partly or fully outside the image.
    offset = (torch.rand(b, 2 * dg * 9, ho, wo, generator=g, dtype=torch.float64) - 0.5) * 6
    mask = torch.rand(b, dg * 9, ho, wo, generator=g, dtype=torch.float64)
    out = modulated_deform_conv2d(x, offset, weight, bias, stride, padding, dilation, mask, groups)
    ref = _slow_deform_conv(x, offset, weight, bias, stride, padding, dilation, mask, groups)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-10)


def test_gradcheck_tiny_double():
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 2, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    # Fractional offsets away from integers: bilinear sampling is not differentiable on pixel edges.
    offset = torch.rand(1, 2 * 9, 4, 4, generator=g, dtype=torch.float64) * 0.8 + 0.1
    offset = offset * torch.where(torch.rand(offset.shape, generator=g) > 0.5, 1.0, -1.0).double()
    offset.requires_grad_(True)
    mask = torch.rand(1, 9, 4, 4, generator=g, dtype=torch.float64, requires_grad=True)

    def fn(x, offset, mask, weight, bias):
        return modulated_deform_conv2d(x, offset, weight, bias, 1, 1, 1, mask)

    assert torch.autograd.gradcheck(fn, (x, offset, mask, weight, bias), eps=1e-6, atol=1e-5)


def test_packs_zero_init_is_half_masked_conv_and_keys():
    torch.manual_seed(0)
    pack = DCNv2Pack(8, 8, 3, padding=1, deformable_groups=4)
    assert set(pack.state_dict()) == {"weight", "bias", "conv_offset.weight", "conv_offset.bias"}
    assert pack.conv_offset.out_channels == 4 * 3 * 9
    x = torch.randn(1, 8, 6, 7)
    feat = torch.randn(1, 8, 6, 7)
    # conv_offset is zero-initialised: zero offsets, sigmoid(0) = 0.5 mask.
    ref = F.conv2d(x, pack.weight * 0.5, pack.bias, padding=1)
    torch.testing.assert_close(pack(x, feat), ref, atol=1e-5, rtol=1e-5)
    self_pack = ModulatedDeformConvPack(8, 8, 3, padding=1, deformable_groups=2)
    torch.testing.assert_close(
        self_pack(x),
        F.conv2d(x, self_pack.weight * 0.5, self_pack.bias, padding=1),
        atol=1e-5,
        rtol=1e-5,
    )


def test_pack_offsets_follow_layout():
    """A pack whose conv_offset bias encodes a +1 px horizontal shift equals a shifted conv."""
    pack = DCNv2Pack(2, 3, 3, padding=1, deformable_groups=1, bias=False)
    with torch.no_grad():
        pack.conv_offset.bias.zero_()
        # chunks: o1 = channels 0..8, o2 = 9..17 -> concatenated offset channel c; dx at odd c.
        off = torch.zeros(18)
        off[1::2] = 1.0
        pack.conv_offset.bias[:18] = off
        pack.conv_offset.bias[18:] = 50.0  # sigmoid -> 1
    x = torch.randn(1, 2, 5, 6)
    window = F.pad(x, (2, 2, 2, 2))[:, :, 1:8, 2:10]
    ref = F.conv2d(window, pack.weight, None)
    torch.testing.assert_close(pack(x, torch.zeros_like(x)), ref, atol=1e-5, rtol=1e-5)


def test_bad_offset_shape_raises():
    layer = ModulatedDeformConv2d(4, 4, 3, padding=1)
    with pytest.raises(ValueError, match="offset"):
        layer(torch.zeros(1, 4, 5, 5), torch.zeros(1, 17, 5, 5))
