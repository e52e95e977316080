"""Modulated deformable convolution (DCNv2) in pure PyTorch.

EDVR, IconVSR and BasicVSR++ align features with modulated deformable convolutions. Their official code
calls a compiled CUDA/C++ kernel (mmcv, BasicSR's ``deform_conv_ext`` or ``torchvision.ops.deform_conv2d``);
none is usable with this project's CPU build of torch (torchvision does not load), so the operator is
written here with the same semantics as ``torchvision.ops.deform_conv2d``:

- ``offset`` is ``(B, 2*G*kh*kw, Ho, Wo)``; for deformable group ``g`` and kernel tap ``k = i*kw + j``,
  channel ``2*(g*kh*kw + k)`` holds the vertical shift ``dy`` and the next channel the horizontal ``dx``;
- ``mask`` is ``(B, G*kh*kw, Ho, Wo)``, multiplying each sampled value (DCNv2 modulation);
- tap ``(i, j)`` of output pixel ``(y, x)`` samples the input at
  ``(y*sh - ph + i*dh + dy, x*sw - pw + j*dw + dx)`` by bilinear interpolation, with zeros outside the
  image (each of the four corners outside contributes zero, as in the compiled kernels).

The implementation is vectorised: all taps of all deformable groups are sampled in ONE ``grid_sample``
call (bilinear, zero padding), modulated by the mask, and contracted with the weight in one batched
matrix multiply. It is differentiable w.r.t. input, offset, mask, weight and bias through autograd.

References
----------
Dai et al., "Deformable Convolutional Networks", ICCV 2017. Zhu et al., "Deformable ConvNets v2: More
Deformable, Better Results", CVPR 2019.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

__all__ = [
    "DCNv2Pack",
    "ModulatedDeformConv2d",
    "ModulatedDeformConvPack",
    "modulated_deform_conv2d",
]


def modulated_deform_conv2d(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    mask: Tensor | None = None,
    groups: int = 1,
) -> Tensor:
    """Modulated deformable 2-D convolution with ``torchvision.ops.deform_conv2d`` semantics.

    Parameters
    ----------
    x : Tensor
        ``(B, Cin, H, W)`` float input.
    offset : Tensor
        ``(B, 2*G*kh*kw, Ho, Wo)`` sampling offsets in pixels, ``(dy, dx)`` interleaved per tap
        ``i*kw + j`` within each deformable group ``g`` (``G`` is inferred from the channel count).
    weight : Tensor
        ``(Cout, Cin // groups, kh, kw)`` convolution weight.
    bias : Tensor, optional
        ``(Cout,)``.
    stride, padding, dilation : int or (int, int)
        As for :func:`torch.nn.functional.conv2d`.
    mask : Tensor, optional
        ``(B, G*kh*kw, Ho, Wo)`` modulation scalars (DCNv2); ``None`` means all ones (DCNv1).
    groups : int
        Convolution groups (``Cin`` and ``Cout`` divisible by it).

    Returns
    -------
    Tensor
        ``(B, Cout, Ho, Wo)`` with ``Ho = (H + 2*ph - dh*(kh-1) - 1) // sh + 1`` (and the same for ``Wo``).

    Notes
    -----
    Bilinear sampling uses ``grid_sample(align_corners=False)`` with pixel coordinates mapped as
    ``(2*p + 1) / size - 1``, which lands exactly on pixel centres for every image size (including
    1 pixel wide) and reproduces the compiled kernels' rule that corners outside the image count as zero.
    """
    b, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    k = kh * kw
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if cin_g * groups != cin:
        raise ValueError(f"weight expects {cin_g * groups} input channels, input has {cin}")
    if offset.shape[0] != b or offset.shape[2:] != (ho, wo) or offset.shape[1] % (2 * k):
        raise ValueError(
            f"offset must be (B, 2*G*{k}, {ho}, {wo}) for this input/kernel, got {tuple(offset.shape)}"
        )
    g = offset.shape[1] // (2 * k)
    if cin % g:
        raise ValueError(f"{cin} input channels are not divisible by {g} deformable groups")
    if mask is not None and mask.shape != (b, g * k, ho, wo):
        raise ValueError(f"mask must be {(b, g * k, ho, wo)}, got {tuple(mask.shape)}")

    # Normalised grid for grid_sample(align_corners=False): pixel p -> (2p + 1)/size - 1, i.e.
    # offset * 2/size + base_n with base_n the normalised position of the undeformed tap. This is a
    # hot path: without autograd the grid is written in one pass.
    dt, dev = x.dtype, x.device
    ys = torch.arange(ho, dtype=dt, device=dev) * sh - ph
    xs = torch.arange(wo, dtype=dt, device=dev) * sw - pw
    ty = (torch.arange(kh, dtype=dt, device=dev) * dh).repeat_interleave(kw)
    tx = (torch.arange(kw, dtype=dt, device=dev) * dw).repeat(kh)
    base_x = ((tx[:, None, None] + xs[None, None, :]) * 2 + 1) / w - 1  # (k, 1, wo)
    base_y = ((ty[:, None, None] + ys[None, :, None]) * 2 + 1) / h - 1  # (k, ho, 1)
    off = offset.view(b, g, k, 2, ho, wo)
    if torch.is_grad_enabled() and offset.requires_grad:
        grid = torch.stack(
            (off[:, :, :, 1] * (2.0 / w) + base_x, off[:, :, :, 0] * (2.0 / h) + base_y), -1
        )
    else:
        # one pass writing straight into the interleaved (x, y) layout grid_sample wants
        grid = torch.empty(b, g, k, ho, wo, 2, dtype=dt, device=dev)
        torch.add(base_x, off[:, :, :, 1], alpha=2.0 / w, out=grid[..., 0])
        torch.add(base_y, off[:, :, :, 0], alpha=2.0 / h, out=grid[..., 1])
    grid = grid.view(b * g, k * ho, wo, 2)

    cg = cin // g
    sampled = F.grid_sample(
        x.reshape(b * g, cg, h, w), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )  # (b*g, cg, k*ho, wo)
    sampled = sampled.view(b, g, cg, k, ho * wo)
    if mask is not None:
        m = mask.view(b, g, 1, k, ho * wo)
        # in place unless autograd needs the unmodulated samples (for the mask's gradient)
        sampled = (
            sampled * m
            if torch.is_grad_enabled() and (m.requires_grad or sampled.requires_grad)
            else sampled.mul_(m)
        )
    # Columns (b, Cin*k, L) in the order of weight.view(Cout, Cin*k): channel-major, tap-minor.
    if groups == 1:
        # one GEMM over the whole batch: (Cout, Cin*k) @ (Cin*k, b*L); a view when b == 1
        cols = sampled.reshape(b, cin * k, ho * wo).transpose(0, 1).reshape(cin * k, b * ho * wo)
        out = torch.mm(weight.reshape(cout, cin * k), cols)
        out = out.view(cout, b, ho, wo).transpose(0, 1)
    else:
        cols = sampled.reshape(b, groups, cin_g * k, ho * wo)
        wmat = weight.reshape(groups, cout // groups, cin_g * k)
        out = torch.matmul(wmat, cols).reshape(b, cout, ho, wo)
    if bias is not None:
        out = out + bias.view(1, cout, 1, 1)
    return out


class ModulatedDeformConv2d(nn.Module):
    """Modulated deformable convolution layer holding ``weight`` and ``bias`` (mmcv / BasicSR names).

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or (int, int)
    groups : int
        Convolution groups.
    deformable_groups : int
        Groups of input channels that share one offset field.
    bias : bool

    Notes
    -----
    ``forward(x, offset, mask)`` takes the offset and mask explicitly; the ``*Pack`` subclasses predict
    them with a ``conv_offset`` layer, as in the official code.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        deformable_groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size)
        )
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # BasicSR / mmcv initialisation: uniform(-1/sqrt(n), 1/sqrt(n)), zero bias.
        n = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        stdv = 1.0 / math.sqrt(n)
        nn.init.uniform_(self.weight, -stdv, stdv)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        return modulated_deform_conv2d(
            x,
            offset,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            mask,
            self.groups,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"groups={self.groups}, deformable_groups={self.deformable_groups}"
        )


class ModulatedDeformConvPack(ModulatedDeformConv2d):
    """DCNv2 layer predicting its own offsets and mask from its input (mmcv ``ModulatedDeformConv2dPack``).

    ``conv_offset`` outputs ``3*G*kh*kw`` channels split in thirds ``(o1, o2, m)``; the offset is
    ``cat(o1, o2)`` read in the interleaved ``(dy, dx)`` layout and the mask is ``sigmoid(m)``, exactly
    as the official packs do. ``conv_offset`` starts at zero, so a fresh layer is a plain convolution
    with mask 0.5.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conv_offset = nn.Conv2d(
            self.in_channels,
            self.deformable_groups * 3 * self.kernel_size[0] * self.kernel_size[1],
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            bias=True,
        )
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def _offset_mask(self, feat: Tensor) -> tuple[Tensor, Tensor]:
        o1, o2, m = torch.chunk(self.conv_offset(feat), 3, dim=1)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(m)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        offset, mask = self._offset_mask(x)
        return super().forward(x, offset, mask)


class DCNv2Pack(ModulatedDeformConvPack):
    """DCNv2 whose offsets and mask come from a separate feature (EDVR's PCD alignment).

    Same parameters and state_dict keys (``weight``, ``bias``, ``conv_offset.weight``,
    ``conv_offset.bias``) as BasicSR's ``DCNv2Pack`` and mmagic's ``ModulatedDCNPack``.
    ``forward(x, feat)``: ``x`` ``(B, Cin, H, W)`` is sampled; ``feat`` ``(B, Cin, H, W)`` predicts
    the offsets and mask.
    """

    def forward(self, x: Tensor, feat: Tensor) -> Tensor:  # type: ignore[override]
        offset, mask = self._offset_mask(feat)
        return ModulatedDeformConv2d.forward(self, x, offset, mask)
