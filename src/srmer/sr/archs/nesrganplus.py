"""nESRGAN+ (Rakotonirina & Rasoanaivo, ICASSP 2020): ESRGAN with residuals inside the dense blocks
and Gaussian noise injection.

The network is :class:`srmer.sr.archs.rrdbnet.RRDBNet` with ``plus=True`` (a bias-free 1x1
``conv1x1`` in every dense block adding the block input to the 2nd conv's output, which is then also
added to the 4th conv's output) and ``noise=0.1`` (after every dense block and every RRDB, ``x + N(0, (0.1 x)^2)``,
training only). Sharma et al. used it at x4 on SMIC-HS. Key names follow BasicSR's RRDBNet plus ``rdbK.conv1x1``.
"""

from __future__ import annotations

from srmer.sr.archs.base import ArchSpec
from srmer.sr.archs.rrdbnet import RRDBNet, build, detect_plus

__all__ = ["SPECS", "RRDBNet"]

SPECS: list[ArchSpec] = [
    ArchSpec(
        "nesrganplus",
        build,
        (1, 2, 4),
        detect_plus,
        description="nESRGAN+ (Rakotonirina 2020): RRDBNet + dense-block residuals + noise injection",
        defaults={"num_feat": 64, "num_block": 23, "num_grow_ch": 32, "plus": True, "noise": 0.1},
    ),
]
