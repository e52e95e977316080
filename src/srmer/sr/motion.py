"""Differentiable optical flow and the micro-motion losses of SR trained for recognition.

Zhou et al. find that SR trained for PSNR or perception on generic images barely helps recognition:
it reconstructs texture, not the 1-3 pixel facial motions a micro-expression is made of, and their
conclusion asks for SR designed for MER. The losses here let any trainable SR architecture be
trained to keep those motions (the ``loss:`` option of the learned SR methods, ``docs/joint_sr_mer.md``):

* :func:`hs_flow`: a differentiable Horn-Schunck flow (coarse-to-fine with backward warping),
  written in plain PyTorch so gradients reach the SR network through the flow. It needs no weights,
  so it works offline; a pretrained SPyNet (:class:`srmer.sr.archs.spynet.SpyNet`, loaded from
  ``spynet_checkpoint``) can replace it.
* :func:`strain_map`: the optical strain of a flow field, as :func:`srmer.features.flow.optical_strain`
  computes it for STSTNet's inputs (central differences; replicated border instead of one-sided
  differences there).
* :class:`MotionLoss`: ``motion * L1(F(sr_a, sr_b), F(hr_a, hr_b)) + strain * L1(S(...), S(...))``,
  the HR flow computed without gradient (it is the target), the flow estimator frozen.

Why Horn-Schunck and not TV-L1: OpenCV's TV-L1 (the benchmark's flow for the recognisers) is not
differentiable. Horn-Schunck is the classical variational flow with a quadratic data and smoothness
term; each Jacobi iteration is a convolution and a few point-wise operations, so it back-propagates.
It is less accurate than TV-L1 at motion boundaries; as a *loss* it compares two flows computed the
same way, which is what matters.

References
----------
.. [1] B. K. P. Horn and B. G. Schunck, "Determining optical flow", Artificial Intelligence 17, 1981.
.. [2] Y. Zhou et al., low-resolution facial micro-expression benchmark (the conclusion asking for
   SR designed for MER); S.-T. Liong et al., STSTNet, FG 2019 (optical strain input).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.errors import ConfigError
from srmer.sr.archs.spynet import flow_warp

__all__ = [
    "LOSS_TERMS",
    "MotionLoss",
    "hs_flow",
    "parse_loss",
    "strain_map",
    "to_grey",
]

#: the terms of the ``loss:`` option of learned SR methods and their defaults
LOSS_TERMS: dict[str, float] = {"pixel": 1.0, "motion": 0.0, "strain": 0.0, "task": 0.0}

_LUMA = (0.299, 0.587, 0.114)


def parse_loss(value: Any, method: str = "SR") -> dict[str, float]:
    """The ``loss:`` option as ``{pixel, motion, strain, task}`` weights (missing terms: defaults).

    Parameters
    ----------
    value : mapping or None
        e.g. ``{pixel: 1.0, motion: 0.1}``; ``None`` is the pixel loss alone.
    method : str
        Named in the error messages.

    Raises
    ------
    ConfigError
        Not a mapping, an unknown term, a weight that is not a finite number >= 0, or all zero.
    """
    if value is None:
        return dict(LOSS_TERMS)
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"SR method {method!r}: loss must be a mapping of term weights, e.g. "
            f"{{pixel: 1.0, motion: 0.1}}, not {value!r}"
        )
    bad = sorted(set(value) - set(LOSS_TERMS))
    if bad:
        raise ConfigError(
            f"SR method {method!r}: unknown loss term(s) {bad}; known: {sorted(LOSS_TERMS)}"
        )
    out = dict(LOSS_TERMS)
    for k, v in value.items():
        ok = isinstance(v, int | float) and not isinstance(v, bool) and v == v and 0 <= v < 1e6
        if not ok:
            raise ConfigError(f"SR method {method!r}: loss.{k} must be a number >= 0, got {v!r}")
        out[k] = float(v)
    if not any(out.values()):
        raise ConfigError(f"SR method {method!r}: every loss weight is 0; give loss.pixel > 0")
    return out


def to_grey(x: Tensor) -> Tensor:
    """``(N, 1, H, W)`` luma (ITU-R 601, OpenCV's RGB2GRAY weights) of ``(N, 3|1, H, W)`` RGB."""
    if x.shape[1] == 1:
        return x
    w = x.new_tensor(_LUMA).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _grad_xy(x: Tensor) -> tuple[Tensor, Tensor]:
    """Central differences along x and y with a replicated border, ``(N, C, H, W)`` each."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    gx = (p[:, :, 1:-1, 2:] - p[:, :, 1:-1, :-2]) / 2
    gy = (p[:, :, 2:, 1:-1] - p[:, :, :-2, 1:-1]) / 2
    return gx, gy


def hs_flow(
    a: Tensor,
    b: Tensor,
    alpha: float = 0.05,
    iterations: int = 20,
    levels: int = 3,
) -> Tensor:
    """Horn-Schunck optical flow from ``a`` to ``b``, differentiable in both frames.

    Parameters
    ----------
    a, b : Tensor
        ``(N, 3, H, W)`` RGB or ``(N, 1, H, W)`` grey, float in [0, 1].
    alpha : float
        Smoothness weight (on intensities in [0, 1]); larger is smoother.
    iterations : int
        Jacobi iterations per pyramid level.
    levels : int
        Pyramid levels (halving the size; fewer when the frames get smaller than 8 pixels). Each
        level warps ``b`` by the coarser flow and estimates an increment, so motions of a few
        pixels at the finest level are recovered.

    Returns
    -------
    Tensor
        ``(N, 2, H, W)`` float flow in pixels of the input: channel 0 horizontal (``u > 0``: content
        moving right), channel 1 vertical (``v > 0``: moving down), such that ``a(y, x) ~ b(y + v,
        x + u)`` (the convention of :func:`srmer.features.flow.tvl1_flow`).
    """
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(
            f"hs_flow: frames must be (N, C, H, W) of one shape, got {a.shape}, {b.shape}"
        )
    ga, gb = to_grey(a), to_grey(b)
    pyr = [(ga, gb)]
    for _ in range(levels - 1):
        pa, pb = pyr[0]
        if min(pa.shape[-2:]) < 16:
            break
        pyr.insert(0, (F.avg_pool2d(pa, 2, ceil_mode=True), F.avg_pool2d(pb, 2, ceil_mode=True)))
    # the 8-neighbour average of Horn and Schunck's paper (1/6 edges, 1/12 corners)
    k = a.new_tensor([[1 / 12, 1 / 6, 1 / 12], [1 / 6, 0.0, 1 / 6], [1 / 12, 1 / 6, 1 / 12]])
    k = k.view(1, 1, 3, 3).repeat(2, 1, 1, 1)
    flow: Tensor | None = None
    a2 = alpha * alpha
    for la, lb in pyr:
        h, w = la.shape[-2:]
        if flow is None:
            flow = la.new_zeros(la.shape[0], 2, h, w)
        else:
            sy, sx = h / flow.shape[-2], w / flow.shape[-1]
            flow = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
            flow = torch.cat((flow[:, :1] * sx, flow[:, 1:] * sy), 1)
        wb = flow_warp(lb, flow.permute(0, 2, 3, 1), padding_mode="border")
        ix, iy = _grad_xy((la + wb) / 2)
        it = wb - la
        denom = a2 + ix * ix + iy * iy
        d = torch.zeros_like(flow)
        for _ in range(iterations):
            avg = F.conv2d(F.pad(d, (1, 1, 1, 1), mode="replicate"), k, groups=2)
            common = (ix * avg[:, :1] + iy * avg[:, 1:] + it) / denom
            d = torch.cat((avg[:, :1] - ix * common, avg[:, 1:] - iy * common), 1)
        flow = flow + d
    assert flow is not None
    return flow


def strain_map(flow: Tensor) -> Tensor:
    """Optical strain ``sqrt(u_x^2 + v_y^2 + 0.5 (u_y + v_x)^2)`` of ``(N, 2, H, W)`` flow.

    Returns
    -------
    Tensor
        ``(N, 1, H, W)`` >= 0 (a tiny epsilon inside the root keeps the gradient finite at 0).
    """
    gx, gy = _grad_xy(flow)
    ux, vx = gx[:, :1], gx[:, 1:]
    uy, vy = gy[:, :1], gy[:, 1:]
    return torch.sqrt(ux * ux + vy * vy + 0.5 * (uy + vx) ** 2 + 1e-12)


class MotionLoss(nn.Module):
    """Micro-motion preservation: the flow (and strain) between two SR frames against the HR frames'.

    Parameters
    ----------
    motion : float
        Weight of ``mean |F(sr_a, sr_b) - F(hr_a, hr_b)|`` (flow in HR pixels, both components).
    strain : float
        Weight of ``mean |S(F_sr) - S(F_hr)|``.
    flow : callable, optional
        ``flow(a, b) -> (N, 2, H, W)``; default :func:`hs_flow` with ``flow_options``. A module (a
        pretrained :class:`~srmer.sr.archs.spynet.SpyNet`) is frozen: its weights never train.
    **flow_options
        Keyword arguments of :func:`hs_flow`.

    Forward
    -------
    ``(sr_a, sr_b, hr_a, hr_b)``, each ``(N, 3, H, W)`` float in [0, 1] -> scalar weighted loss; the
    unweighted terms of the last call are in :attr:`terms` (floats).
    """

    def __init__(
        self,
        motion: float = 0.1,
        strain: float = 0.0,
        flow: Callable[[Tensor, Tensor], Tensor] | None = None,
        **flow_options: Any,
    ) -> None:
        super().__init__()
        self.motion, self.strain = float(motion), float(strain)
        self.flow_options = flow_options
        if isinstance(flow, nn.Module):
            flow.requires_grad_(False).eval()
            self.flow_net: nn.Module | None = flow
        else:
            self.flow_net = None
        self._flow_fn = flow
        self.terms: dict[str, float] = {}

    def flow(self, a: Tensor, b: Tensor) -> Tensor:
        """The flow from ``a`` to ``b`` with the configured estimator (``(N, 2, H, W)``)."""
        if self._flow_fn is None:
            return hs_flow(a, b, **self.flow_options)
        if a.shape[1] == 1:  # SPyNet takes RGB
            a, b = a.expand(-1, 3, -1, -1), b.expand(-1, 3, -1, -1)
        return self._flow_fn(a, b)

    def forward(self, sr_a: Tensor, sr_b: Tensor, hr_a: Tensor, hr_b: Tensor) -> Tensor:
        with torch.no_grad():
            f_hr = self.flow(hr_a, hr_b)
        f_sr = self.flow(sr_a, sr_b)
        loss = sr_a.new_zeros(())
        m = (f_sr - f_hr).abs().mean()
        self.terms = {"motion": float(m.detach())}
        if self.motion:
            loss = loss + self.motion * m
        if self.strain:
            with torch.no_grad():
                s_hr = strain_map(f_hr)
            s = (strain_map(f_sr) - s_hr).abs().mean()
            self.terms["strain"] = float(s.detach())
            loss = loss + self.strain * s
        return loss
