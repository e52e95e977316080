"""Grid expansion: a config becomes the list of (resolution, SR) settings and MER methods to run.

Setting names follow Zhou et al.'s tables: ``256x256`` (HR reference), ``16x16`` (SR ``none``: recognise
at the low resolution) and ``16to256`` (an SR method back to the HR size).
"""

from __future__ import annotations

from dataclasses import dataclass

from srmer.bench.config import Config, MethodSpec


@dataclass(frozen=True)
class Setting:
    """One row of a seed-000 table: a resolution and an SR method."""

    resolution: int
    sr: MethodSpec | None  # None for the HR reference
    hr_size: int

    @property
    def sr_label(self) -> str:
        return "none" if self.sr is None else self.sr.label

    @property
    def is_reference(self) -> bool:
        return self.sr is None

    @property
    def name(self) -> str:
        if self.is_reference:
            return f"{self.hr_size}x{self.hr_size}"
        if self.sr.name == "none":
            return f"{self.resolution}x{self.resolution}"
        return f"{self.resolution}to{self.hr_size}"

    @property
    def id(self) -> str:
        return f"{self.name}|{self.sr_label}"


def expand(config: Config) -> list[Setting]:
    """All settings of the grid, reference first, then per resolution (ascending) per SR method."""
    size = config.preprocess.size
    out = [Setting(size, None, size)] if config.reference else []
    for r in sorted(set(config.resolutions)):
        out.extend(
            Setting(r, spec, size)
            for spec in config.sr
            if r in spec.options.get("resolutions", config.resolutions)
        )
    return out
