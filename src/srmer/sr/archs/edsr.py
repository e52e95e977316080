"""EDSR (Lim et al., CVPRW 2017): residual blocks without BN, residual scaling, pixel-shuffle tail.

Two key styles, one architecture:

- ``key_style="basicsr"`` (default): BasicSR's ``EDSR`` (``conv_first``, ``body.N.conv1/conv2``,
  ``conv_after_body``, ``upsample.0/.2``, ``conv_last``); the DIV2K mean is a plain attribute, as in
  BasicSR, so it is not a state_dict key.
- ``key_style="official"``: EDSR-PyTorch's ``EDSR`` (``sub_mean``, ``head.0``, ``body.N.body.0/2``,
  ``body.{n}``, ``tail.0.0``, ``tail.1``, ``add_mean``); these weights expect 0..255 input, the model
  scales internally so that both styles take and return float RGB in [0, 1].

Standard configurations: baseline 16 blocks / 64 features / res_scale 1 (1.52 M parameters at x4,
BasicSR count), large 32 / 256 / 0.1 (43 M). Scales 2, 3 and any power of two are native (the
pixel-shuffle tail stacks x2 stages); official checkpoints exist for x2, x3 and x4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from srmer.sr.archs.base import ArchSpec, StateDict
from srmer.sr.archs.common import (
    BasicSRLayout,
    EDSRPyTorchLayout,
    ResidualBlockNoBN,
    by_key_style,
    conv3x3,
    count_indexed,
    detect_layout,
    has_keys,
    make_layer,
    never,
)


class EDSR(BasicSRLayout):
    """EDSR with BasicSR key names.

    Parameters
    ----------
    scale : int
        2, 3 or a power of two.
    num_feat, num_block, res_scale :
        64/16/1.0 (baseline) or 256/32/0.1 (large).
    img_range : float
        Internal value range (255, as BasicSR and the official code).

    Forward: ``(N,3,H,W)`` float RGB in [0,1] -> ``(N,3,sH,sW)``.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 16,
        res_scale: float = 1.0,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        img_range: float = 255.0,
    ) -> None:
        super().__init__()
        self._build_head(num_in_ch, num_feat, img_range)
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat, res_scale=res_scale)
        self._build_tail(scale, num_feat, num_out_ch)


class ResBlockPT(nn.Module):
    """EDSR-PyTorch ``ResBlock``: ``body = Sequential(conv, ReLU, conv)``, scaled residual."""

    def __init__(self, n_feats: int, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.body = nn.Sequential(
            conv3x3(n_feats, n_feats), nn.ReLU(True), conv3x3(n_feats, n_feats)
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return x + out if self.res_scale == 1 else x + out * self.res_scale


class EDSROfficial(EDSRPyTorchLayout):
    """EDSR with EDSR-PyTorch key names (weights trained on 0..255); same arguments as :class:`EDSR`."""

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 16,
        res_scale: float = 1.0,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        img_range: float = 255.0,
    ) -> None:
        super().__init__()
        blocks = [ResBlockPT(num_feat, res_scale) for _ in range(num_block)]
        self._build_layout(scale, num_in_ch, num_out_ch, num_feat, img_range, blocks)


def build(scale: int = 4, key_style: str = "basicsr", **hp: Any) -> nn.Module:
    """Build EDSR; ``key_style`` is ``"basicsr"`` or ``"official"`` (EDSR-PyTorch)."""
    return by_key_style(key_style, EDSR, EDSROfficial)(scale=scale, **hp)


def _res_scale(nf: int) -> float:
    # Not stored in weights: the published large model (256 features) uses 0.1, the baseline 1.0.
    return 0.1 if nf >= 256 else 1.0


def detect(sd: StateDict) -> dict[str, Any] | None:
    """EDSR in BasicSR (``conv_after_body`` + ``upsample``) or EDSR-PyTorch (``head.0`` + ``tail``) keys."""
    if has_keys(
        sd,
        "conv_first.weight",
        "body.0.conv1.weight",
        "conv_after_body.weight",
        "upsample.0.weight",
    ):
        if any(".residual_group." in k for k in sd):  # RCAN
            return None
        style, blocks = "basicsr", r"^body\.(\d+)\.conv1\.weight$"
    elif has_keys(
        sd, "sub_mean.weight", "head.0.weight", "body.0.body.0.weight", "tail.0.0.weight"
    ):
        if "body.0.body.0.body.0.weight" in sd:  # RCAN nests one level deeper
            return None
        style, blocks = "official", r"^body\.(\d+)\.body\.0\.weight$"
    else:
        return None
    return detect_layout(
        sd,
        style,
        lambda nf: {"num_block": count_indexed(sd, blocks), "res_scale": _res_scale(nf)},
    )


_BASELINE = {"num_feat": 64, "num_block": 16, "res_scale": 1.0}
_LARGE = {"num_feat": 256, "num_block": 32, "res_scale": 0.1}


def _spec(
    name: str,
    detect: Callable[[StateDict], dict[str, Any] | None],
    detail: str,
    defaults: dict[str, Any],
) -> ArchSpec:
    """One EDSR configuration (all build with :func:`build` at the same native scales); ``detail``
    follows the paper's name in the description."""
    return ArchSpec(
        name,
        build,
        (2, 3, 4, 8, 16),
        detect,
        description=f"EDSR (Lim et al. 2017){detail}",
        defaults=defaults,
    )


SPECS: list[ArchSpec] = [
    _spec("edsr", detect, ", baseline 16 blocks x 64; key_style basicsr|official", _BASELINE),
    _spec("edsr_baseline", never, " baseline: 16 blocks, 64 features, res_scale 1.0", _BASELINE),
    _spec("edsr_large", never, " large: 32 blocks, 256 features, res_scale 0.1", _LARGE),
]
