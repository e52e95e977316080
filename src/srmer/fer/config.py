"""FSR-FER experiment config (Jing et al.): a YAML file validated with pydantic.

This is the static-FER counterpart of the benchmark config (:mod:`srmer.bench.config`); it has its own
schema because the experiment is different (one static dataset, one HR classifier, a feature-SR GAN and
a Table 1 / Table 2 evaluation instead of a LOSO grid). Every error names the field at fault, e.g.::

    invalid config configs/seed003_rafdb.yaml:
      field `fsr.reweight_sigma`: Input should be greater than 1

Fields and defaults are documented on the models below and in ``docs/fsr_fer.md``; the ready configs
are ``src/srmer/configs/seed003_rafdb.yaml`` (paper setting, user's RAF-DB) and
``src/srmer/configs/fer_demo.yaml`` (synthetic static set, ~2-3 min on 2 CPU cores).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from srmer.errors import ConfigError
from srmer.schema import RunPaths, format_validation_error

__all__ = [
    "BackboneConfig",
    "DataConfig",
    "FERConfig",
    "FSRConfig",
    "ImageSRConfig",
    "load_fer_config",
    "parse_fer_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the faces come from.

    ``kind: rafdb`` reads a user's RAF-DB basic copy (``root`` holds ``basic/``) with
    :func:`srmer.data.load`; ``kind: synthetic`` writes the static synthetic set with
    :func:`srmer.data.synthetic.generate_static` into ``root`` (or ``<out_dir>/data`` when empty) unless
    it is already there.
    """

    kind: Literal["rafdb", "synthetic"] = "synthetic"
    root: Path | None = None
    variant: Literal["aligned", "original"] = "aligned"
    #: HR side the faces are resized to (RAF-DB aligned faces are 100x100 already)
    size: int = Field(100, ge=16, le=512)
    #: synthetic set only: images per class in train / test, expression amplitude, seed
    n_train_per_class: int = Field(40, ge=2)
    n_test_per_class: int = Field(10, ge=1)
    amplitude: float = Field(12.0, gt=0)
    synthetic_seed: int = 0
    #: cap on the training / test images used (``null``: all); for quick looks at a large set
    max_train: int | None = Field(None, ge=7)
    max_test: int | None = Field(None, ge=1)


class BackboneConfig(_Strict):
    """The HR expression classifier (``F`` + ``C``), trained on HR images only."""

    #: ``gap``: global average pooling head; ``covpool``: covariance pooling + BiMap/ReEig/LogEig
    head: Literal["gap", "covpool"] = "gap"
    #: channels of the three residual stages
    widths: tuple[int, int, int] = (32, 64, 128)
    #: stem stride: 2 (13x13 feature maps for 100x100 faces) or 4 (7x7, ~4x cheaper)
    stem_stride: Literal[2, 4] = 2
    #: residual blocks per stage
    blocks: tuple[int, int, int] = (1, 1, 1)
    #: dimension of the classifier's embedding (the paper's C outputs 128-d)
    embed_dim: int = Field(128, ge=8)
    #: covpool head: channels reduced before the covariance and BiMap output size
    cov_channels: int = Field(32, ge=4)
    spd_dim: int = Field(16, ge=2)
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(5e-4, ge=0)
    #: random horizontal flips and +-``shift`` px translations during training
    flip: bool = True
    shift: int = Field(4, ge=0)
    #: optional pretrained checkpoint (``train_backbone`` output); skips training when it exists
    checkpoint: Path | None = None


class FSRConfig(_Strict):
    """The feature generator G, the WGAN-div critic D and their training (paper sections 3.2-3.4)."""

    scales: list[int] = Field(default_factory=lambda: [2, 3, 4, 5, 6, 7, 8])
    #: G: RRDB trunk width, dense-block growth (both reduced from ESRGAN's 64/32) and block count
    num_feat: int = Field(32, ge=4)
    num_grow_ch: int = Field(16, ge=2)
    num_block: int = Field(6, ge=1)
    #: G predicts a residual added to the LR feature (as the Perceptual GAN of ref. [21])
    residual: bool = True
    #: D: ESRGAN VGG-style critic width (no batch norm)
    critic_feat: int = Field(32, ge=4)
    #: WGAN-div constants k and p (paper: 2 and 6)
    gp_k: float = Field(2.0, gt=0)
    gp_p: float = Field(6.0, gt=0)
    #: loss weights of L_G = w_gan L_gan + w_p L_p + w_2 L_2 (paper: all 1)
    w_gan: float = Field(1.0, ge=0)
    w_p: float = Field(1.0, ge=0)
    w_2: float = Field(1.0, ge=0)
    #: classification-aware re-weighting w = (sigma - p)^r (paper: sigma 1.5, r 1)
    reweight: bool = True
    reweight_sigma: float = Field(1.5, gt=1.0)
    reweight_r: float = Field(1.0, gt=0)
    #: iteration budget; the paper's milestones [20k, 50k, 100k, 200k] are scaled by
    #: ``iterations / schedule_reference``
    iterations: int = Field(2000, ge=1)
    schedule_reference: int = Field(150_000, ge=1)
    milestones: list[int] = Field(default_factory=lambda: [20_000, 50_000, 100_000, 200_000])
    lr: float = Field(2e-4, gt=0)
    batch_size: int = Field(32, ge=2)
    #: critic updates per generator update
    critic_steps: int = Field(1, ge=1)
    checkpoint_every: int = Field(200, ge=1)
    #: also train the model without re-weighting (paper Table 2)
    ablation_no_reweight: bool = True
    #: keep the frozen extractor's features of every (training image, scale) in memory
    #: (``auto``: when they fit in ``cache_limit_mb``)
    cache_features: Literal["auto", "yes", "no"] = "auto"
    cache_limit_mb: int = Field(1024, ge=1)

    @field_validator("scales")
    @classmethod
    def _scales(cls, v: list[int]) -> list[int]:
        if not v or any(s < 2 for s in v):
            raise ValueError("give down-sampling factors >= 2, e.g. [2, 3, 4, 5, 6, 7, 8]")
        return sorted(set(v))

    @field_validator("milestones")
    @classmethod
    def _milestones(cls, v: list[int]) -> list[int]:
        if any(m <= 0 for m in v) or sorted(v) != v:
            raise ValueError("milestones must be increasing positive iteration counts")
        return v


class ImageSRConfig(_Strict):
    """One image-SR baseline of Table 1 (SR to the HR side, then the HR classifier).

    ``name`` is a benchmark SR method (:func:`srmer.sr.methods.get_method`, the SR-method contract
    of ``docs/sr.md``): ``rcan`` (one model per factor; the paper reports x2, x3, x4, x8) or
    ``metasr`` (any-scale: one model for every factor, output size set to the HR side).
    ``checkpoints`` maps a factor (``"2"``) or, for ``metasr``, ``any`` (every factor) to a weight
    file of that architecture (another architecture is refused). Factors without one are trained on
    the training split's HR faces for ``train_steps`` steps (0: those factors are skipped, "-") and
    cached under the run's cache folder. The fields map onto the contract's options:
    ``train_steps`` -> ``steps``, ``batch_size``, ``lr_patch``, ``hparams`` (empty: ``full: true``,
    the architecture's published configuration), a checkpoint -> ``checkpoint``, and for
    ``metasr`` the trained factors -> ``train_scales``.
    """

    name: Literal["rcan", "metasr"]
    label: str | None = None
    scales: list[int] | None = None
    checkpoints: dict[str, Path] = Field(default_factory=dict)
    train_steps: int = Field(0, ge=0)
    batch_size: int = Field(16, ge=1)
    lr_patch: int = Field(12, ge=4)
    hparams: dict[str, Any] = Field(default_factory=dict)

    @field_validator("checkpoints")
    @classmethod
    def _checkpoint_keys(cls, v: dict[str, Path]) -> dict[str, Path]:
        bad = [k for k in v if k != "any" and not (k.isdigit() and int(k) >= 2)]
        if bad:
            raise ValueError(
                f"keys are down-sampling factors >= 2 or `any` (metasr), e.g. "
                f'{{"2": RCAN_x2.pt}} or {{any: metasr.pt}}; got {bad}'
            )
        return v


class FERConfig(RunPaths, _Strict):
    """Top level of an FSR-FER experiment config (``experiment: fsr_fer`` for ``srmer run``)."""

    #: experiment kind, for the engine (``srmer run``); the grid's configs say ``grid`` or nothing
    experiment: Literal["fsr_fer"] = "fsr_fer"
    name: str = Field("fsr-fer", pattern=r"^[A-Za-z0-9_.-]+$")
    data: DataConfig = Field(default_factory=DataConfig)
    backbone: BackboneConfig = Field(default_factory=BackboneConfig)
    fsr: FSRConfig = Field(default_factory=FSRConfig)
    image_sr: list[ImageSRConfig] = Field(default_factory=list)
    seed: int = 0
    device: str = "auto"
    #: torch intra-op threads on the CPU (0: leave torch's default)
    threads: int = Field(0, ge=0)
    progress: bool = True
    #: run directory (default runs/<name>)
    output: Path | None = None
    #: trained models (backbone, FSR generators, image SR) are cached here (default <output>/cache)
    cache: Path | None = None


def parse_fer_config(data: dict[str, Any] | FERConfig, source: str = "<dict>") -> FERConfig:
    """Validate a config mapping; raises :class:`~srmer.errors.ConfigError` naming each bad field."""
    if isinstance(data, FERConfig):
        return data
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: expected a mapping of fields at the top level")
    try:
        cfg = FERConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            format_validation_error(source, err, "configs/fer_demo.yaml", FERConfig)
        ) from None
    if cfg.data.kind == "rafdb" and cfg.data.root is None:
        raise ConfigError(
            f"invalid config {source}:\n  field `data.root`: RAF-DB needs the folder that holds "
            f"basic/ (e.g. root: /data/RAF-DB)"
        )
    return cfg


def load_fer_config(path: str | Path) -> FERConfig:
    """Read and validate a YAML FSR-FER config."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist (ready configs: src/srmer/configs/fer_demo.yaml, "
            f"seed003_rafdb.yaml)"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {err}") from None
    return parse_fer_config(data, str(path))
