"""Learned image SR methods for the benchmark: ``srcnn``, ``srgan``, ``edsr``, ``esrgan``,
``nesrganplus``, ``rdn``, ``realesrgan``, ``rcan``, ``metasr``, ``glean``, ``swinir``, ``hat``
(the face-restoration methods ``gfpgan`` and ``codeformer`` are in :mod:`srmer.sr.face_restoration`).

Each method runs an srmer architecture frame by frame on the LR clip. They follow the contract of
:class:`srmer.sr.trained.TrainedSR` (``docs/sr.md``, "The SR-method contract"). Options (config
entry ``{name: edsr, checkpoint: ..., ...}``):

``checkpoint``
    A path (or ``{scale: path}``) to official or srmer weights (any format
    :func:`srmer.sr.load_checkpoint` reads) of an architecture the method runs
    (:attr:`~srmer.sr.trained.TrainedSR.accepts`; e.g. ``edsr`` refuses an RRDBNet file). Without
    one the method trains itself on the SR training pool (:meth:`prepare`), caching the weights
    under ``cache_dir`` keyed by the options, the scale and the pool's fingerprint, so training
    runs once.
``arch``, ``hparams``
    Registry name (e.g. ``rdn_psnr_small``, ``edsr_large``) and overrides. When training from
    scratch without ``hparams`` and without ``full: true``, a reduced CPU-trainable configuration
    (:attr:`LearnedSR.train_hparams`) is used -- a deliberate, documented budget choice.
``steps``, ``gan_steps``, ``batch_size``, ``lr_patch``, ``lr``, ``seed``
    Training budget (see :func:`srmer.sr.train.train_sr`); the video methods' ``train_steps``,
    ``train_batch``, ``train_patch``, ``train_lr`` are accepted as aliases.
``train_scales``
    Any-scale architectures only (``any_scale``: Meta-SR): train *one* model over this list of
    integer factors (``steps`` split evenly over them, taken in ascending order) and run it at every
    factor, instead of one model per factor. Unset (the default): one model per integer factor.
``tile``, ``device``
    Inference tiling and device (``"auto"``).

Scale: ``size / h`` of each clip. Natively supported factors use one model; the others a cascade
(e.g. x16 = x4 then x4) whose stages are trained on their own factors. A loaded checkpoint of
another factor is applied repeatedly until the target is reached or passed, then resized to
``size`` with MATLAB bicubic. Fractional factors run at the next integer and are resized likewise
(Meta-SR runs them natively; with ``train_scales`` its one model runs every factor).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from srmer.errors import ConfigError, SrmerError
from srmer.sr.trained import TrainedSR

log = logging.getLogger(__name__)

_INFER_ONLY = ("device", "tile", "batch")

#: options of the task-driven training inside each fold (a ``task`` term in ``loss``;
#: :mod:`srmer.mer.task_sr`) and their defaults: the form (``frozen`` recogniser trained first on
#: the fold's HR clips, or ``joint`` end-to-end training), SR fine-tuning steps, learning rate and
#: batch (pairs of onset and apex frames), and the frozen recogniser's epochs
TASK_DEFAULTS: dict[str, Any] = {
    "task_mode": "frozen",
    "task_steps": 200,
    "task_lr": 1e-4,
    "task_batch": 8,
    "task_epochs": 60,
}

#: registry names of the RRDBNet family (ESRGAN, Real-ESRGAN weights are all RRDBNet files;
#: ``load_checkpoint`` detects them as ``rrdbnet``, srmer-saved files keep their own name)
RRDBNET_FAMILY: tuple[str, ...] = ("rrdbnet", "esrgan", "realesrgan*")


class _Repeat(nn.Module):
    """Apply one model ``times`` times (a loaded checkpoint used beyond its native factor)."""

    def __init__(self, model: nn.Module, times: int) -> None:
        super().__init__()
        self.model = model
        self.times = times
        self.scale = int(model.scale) ** times

    def forward(self, x):
        for i in range(self.times):
            x = self.model(x)
            if i < self.times - 1:
                x = x.clamp(0, 1)
        return x


class LearnedSR(TrainedSR):
    """Base class of the learned image SR methods (see the module docstring for options)."""

    kind = "image"
    version = 2
    #: training recipe (srmer.sr.train.RECIPES)
    recipe: ClassVar[str] = "psnr"
    #: degradation making training LR frames
    degradation: ClassVar[str] = "bicubic"
    #: default adversarial steps for GAN recipes
    default_gan_steps: ClassVar[int] = 0
    train_defaults: ClassVar[dict[str, Any]] = {
        "steps": 1000,
        "batch_size": 16,
        "lr_patch": 24,
        "lr": 2e-4,
    }
    kind_options: ClassVar[frozenset[str]] = frozenset(
        {"gan_steps", "tile", "batch", "train_scales", *TASK_DEFAULTS}
    )
    run_defaults: ClassVar[dict[str, Any]] = {
        "tile": None,
        "batch": 8,
        "train_scales": None,
        **TASK_DEFAULTS,
    }

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {**super().option_defaults(), "gan_steps": cls.default_gan_steps}

    output_neutral_options: ClassVar[frozenset[str]] = frozenset(_INFER_ONLY)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._models: dict[Any, nn.Module] = {}
        if self.options.get("train_scales") is not None:
            self.options["train_scales"] = self._check_train_scales(self.options["train_scales"])
        self._check_task_options()

    def _check_task_options(self) -> None:
        given = sorted(k for k in TASK_DEFAULTS if k in self.options)
        if given and not self.fold_dependent:
            raise ConfigError(
                f"SR method {self.name!r}: {', '.join(given)} only apply to task-driven SR; add a "
                "task term to loss (e.g. loss: {pixel: 1.0, task: 0.1}) or drop them"
            )
        mode = self.options.get("task_mode", TASK_DEFAULTS["task_mode"])
        if mode not in ("frozen", "joint"):
            raise ConfigError(
                f"SR method {self.name!r}: task_mode must be frozen or joint, got {mode!r}"
            )
        for k in ("task_steps", "task_batch", "task_epochs"):
            v = self.options.get(k, TASK_DEFAULTS[k])
            if (
                not isinstance(v, int)
                or isinstance(v, bool)
                or v < (0 if k == "task_epochs" else 1)
            ):
                raise ConfigError(
                    f"SR method {self.name!r}: {k} must be a positive integer, got {v!r}"
                )
        v = self.options.get("task_lr", TASK_DEFAULTS["task_lr"])
        if not isinstance(v, int | float) or isinstance(v, bool) or not v > 0:
            raise ConfigError(f"SR method {self.name!r}: task_lr must be a number > 0, got {v!r}")

    def _check_train_scales(self, value: Any) -> list[int]:
        # sorted and de-duplicated: the option's spelling must not change the cache key, and the
        # training order is then the one documented (ascending)
        try:
            factors = sorted({int(s) for s in value})
            exact = all(float(s) == int(s) for s in value)
        except (TypeError, ValueError):
            factors, exact = [], False
        if not factors or not exact or factors[0] < 2:
            raise ConfigError(
                f"SR method {self.name!r}: train_scales must be a non-empty list of integer "
                f"factors >= 2 (e.g. [2, 3, 4]), got {value!r}"
            )
        spec = self._spec_of(None)
        if not (spec and spec.any_scale):
            raise ConfigError(
                f"SR method {self.name!r}: train_scales (one model for several factors) needs an "
                f"any-scale architecture (e.g. metasr); {self.arch_name} trains one model per factor"
            )
        return factors

    # ---------------------------------------------------------------- configuration
    def key_extras(self) -> dict[str, Any]:
        extras: dict[str, Any] = {
            "recipe": self.recipe,
            "degradation": self.degradation,
            "gan_steps": int(self.options.get("gan_steps", self.default_gan_steps)),
        }
        # only when given: the keys (and cached weights) of methods without it stay as they were
        if self.options.get("train_scales") is not None:
            extras["train_scales"] = list(self.options["train_scales"])
        return extras

    def _train_options(self) -> dict[str, Any]:
        opts = self.train_options()
        return {
            "steps": int(opts["steps"]),
            "gan_steps": int(self.options.get("gan_steps", self.default_gan_steps)),
            "batch_size": int(opts["batch_size"]),
            "lr_patch": int(opts["lr_patch"]),
            "lr": float(opts["lr"]),
            "seed": int(opts["seed"]),
        }

    def _spec_of(self, name: str | None) -> Any:
        try:
            return self.arch_spec(name)
        except SrmerError:  # a cascade or a foreign module: no capabilities
            return None

    @property
    def fixed_input(self) -> bool:
        """The architecture's ``fixed_input`` capability (GLEAN): one model per LR size."""
        spec = self._spec_of(None)
        return bool(spec and spec.fixed_input)

    @property
    def any_scale(self) -> bool:
        """The architecture's ``any_scale`` capability (Meta-SR): one model for every factor."""
        spec = self._spec_of(None)
        return bool(spec and spec.any_scale)

    # ---------------------------------------------------------------- preparation
    def _prepare_models(self, scales: list[float]) -> None:
        lr_size = int(self._context.get("lr_size", 0)) or None
        for s in scales:
            self._model_for(s, lr_size)

    def _pool(self) -> np.ndarray:
        from srmer.sr.train import load_hr_images

        if "pool_array" not in self._context:
            src = self._pool_source()
            if src is None:
                raise self._no_pool()
            kind, pool = src
            if kind == "clips":
                # the video methods' pool form: HR clips (T,H,W,3); frames are what image SR needs
                pool = np.concatenate([np.asarray(c) for c in pool], 0)
            self._context["pool_array"] = load_hr_images(pool)
        return self._context["pool_array"]

    def _cache_path(self, scale: int, lr_size: int | None) -> Path:
        return self.weights_path(scale, lr_size=lr_size)

    def _build_for_training(self, scale: int, lr_size: int | None, seed: int) -> nn.Module:
        from srmer.sr.registry import create

        hp = self.hparams(training=True)
        if self.fixed_input:
            if lr_size is None:
                raise SrmerError(
                    f"SR method {self.name!r}: {self.arch_name} takes a fixed input size; the LR "
                    "frame size is needed to build it"
                )
            hp = {"in_size": lr_size, "out_size": lr_size * scale, "freeze_bank": False, **hp}
        if self.any_scale:
            # one network for any factor: built at a factor the registry builds directly (not a
            # cascade of any-scale networks, and x5, x7 are no product of native factors), then
            # run at ``scale`` through its ``scale`` attribute
            model = create(self.arch_name, self._native_scale(scale), seed=seed, **hp)
            model.scale = scale
            return model
        return create(self.arch_name, scale, seed=seed, **hp)

    def _native_scale(self, scale: int) -> int:
        """A native factor of the architecture to build and save an any-scale model at.

        ``scale`` itself when native, else the largest native factor below it (the smallest one
        when none is). A saved model keeps this factor, so that :func:`srmer.sr.load_checkpoint`
        can rebuild it; the methods set the factor to run at after loading.
        """
        natives = sorted(self.arch_spec().scales)
        if scale in natives:
            return scale
        return max([s for s in natives if s <= scale] or natives[:1])

    def _train(self, scale: int, lr_size: int | None) -> nn.Module:
        def train(partial: Path) -> nn.Module:
            opts = self._train_options()
            model = self._build_for_training(scale, lr_size, opts["seed"])
            log.info("training %s x%d on the SR pool (%s)", self.name, scale, self.arch_name)
            self._run_recipe(model, scale, opts["steps"], opts, partial)
            if self.any_scale:
                model.scale = self._native_scale(scale)  # saved rebuildable; _model_for sets it
            return model

        # the key fingerprints the pool without loading it: workers only load the cached weights
        return self.load_or_train(self._cache_path(scale, lr_size), train)

    def _run_recipe(
        self, model: nn.Module, scale: int, steps: int, opts: dict[str, Any], ckpt: Path
    ) -> None:
        """Train ``model`` at ``scale`` for ``steps`` with this method's recipe on the SR pool."""
        from srmer.sr.train import train_sr

        loss = self.pool_loss()
        moving = bool(loss and (loss["motion"] or loss["strain"]))
        train_sr(
            model,
            self._pool(),
            scale,
            steps=steps,
            gan_steps=opts["gan_steps"],
            recipe=self.recipe,
            batch_size=opts["batch_size"],
            lr_patch=opts["lr_patch"],
            lr=opts["lr"],
            degradation=self.degradation,
            ckpt_path=ckpt,
            device=self._context.get("device", "auto"),
            seed=opts["seed"],
            progress=bool(self._context.get("progress", True)),
            loss=loss,
            motion_clips=self.pool_clips() if moving else None,
        )

    def _train_multi(self, factors: list[int], lr_size: int | None) -> nn.Module:
        """One any-scale model trained over ``factors`` (the ``train_scales`` option).

        :func:`~srmer.sr.train.train_sr` trains at one integer factor, so the factors are taken one
        after another in ascending order, ``steps`` split evenly (the first ``steps % n`` factors
        take one step more, each at least one). This approximates Meta-SR's random factor per
        batch; the last factor is the one seen most recently.
        """

        def train(partial: Path) -> nn.Module:
            opts = self._train_options()
            model = self._build_for_training(factors[0], lr_size, opts["seed"])
            n = len(factors)
            base, extra = divmod(opts["steps"], n)
            for i, s in enumerate(factors):
                model.scale = s  # any-scale model: its output size follows this attribute
                log.info("training %s on the SR pool at x%d (%s)", self.name, s, self.arch_name)
                # one resumable checkpoint per factor, next to the cache file; load_or_train
                # removes every ``<partial>*`` once the model is cached
                ckpt = partial.with_name(f"{partial.name}.x{s}")
                self._run_recipe(model, s, max(1, base + (i < extra)), opts, ckpt)
            # saved at a native factor, so the cached file rebuilds; _model_for sets the factor
            model.scale = self._native_scale(factors[0])
            return model

        path = self.weights_path("any", lr_size=lr_size)
        return self.load_or_train(path, train)

    def _from_checkpoint(self, scale: float) -> nn.Module:
        ck = self.options["checkpoint"]
        if isinstance(ck, dict):
            table = {float(k): v for k, v in ck.items()}
            if scale in table:
                return self.load_user_checkpoint(table[scale])
            ck = table[max(table)]
        model = self.load_user_checkpoint(ck)
        spec = self._spec_of(getattr(model, "arch_name", None))
        if spec is not None and spec.any_scale:
            model.scale = scale
            return model
        s0 = float(model.scale)
        if s0 >= scale or s0 <= 1:
            return model
        return _Repeat(model, math.ceil(math.log(scale) / math.log(s0) - 1e-9))

    def model_for(self, scale: float, lr_size: int | None = None) -> nn.Module:
        """The network that :meth:`upscale` runs for factor ``scale`` (loaded, cached or trained
        on the pool now), e.g. the starting point of task-driven fine-tuning
        (:mod:`srmer.mer.task_sr`). ``lr_size`` is the LR side (fixed-input architectures)."""
        return self._model_for(float(scale), lr_size)

    def _model_for(self, scale: float, lr_size: int | None) -> nn.Module:
        factors = self.options.get("train_scales")
        if factors is not None and self.options.get("checkpoint") is None:
            # one model for every factor: trained (or loaded from the cache) once, its scale set
            # to the factor asked for on every call
            key = ("any", lr_size)
            if key not in self._models:
                self._models[key] = self._train_multi(factors, lr_size).eval()
            model = self._models[key]
            model.scale = scale
            return model
        key = (scale, lr_size) if self.fixed_input else scale
        if key not in self._models:
            if self.options.get("checkpoint") is not None:
                model = self._from_checkpoint(scale)
            elif self.any_scale:
                # fractional factors run natively with the model trained for the next integer
                model = self._train(math.ceil(scale), lr_size)
                model.scale = scale
            else:
                model = self._train(math.ceil(scale), lr_size)
            self._models[key] = model.eval()
        return self._models[key]

    # ---------------------------------------------------------------- inference
    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        """``(T,h,w[,3])`` uint8 LR clip -> ``(T,size,size[,3])`` uint8."""
        clip = np.asarray(clip)
        h, w = clip.shape[1:3]
        fixed = self.fixed_input
        if fixed and (h != w or 2 ** round(math.log2(h)) != h):
            raise SrmerError(
                f"SR method {self.name!r}: {self.arch_name} takes a fixed square power-of-two "
                f"input, got {h}x{w} frames"
            )
        model = self._model_for(size / h, h if fixed else None)
        return self.run_frames(model, clip, size, tile=self.options.get("tile"))


class SRCNNMethod(LearnedSR):
    """SRCNN (Dong et al. 2016), 9-5-5 on Y."""

    name = "srcnn"
    display_name = "SRCNN"
    description = "SRCNN 9-5-5 on Y of the bicubic-upsampled frame (Dong et al. 2016)"
    arch = "srcnn"
    accepts = ("srcnn*",)


class SRGANMethod(LearnedSR):
    """SRGAN: MSRResNet generator trained with perceptual + adversarial losses (Ledig et al. 2017)."""

    name = "srgan"
    display_name = "SRGAN"
    description = (
        "SRGAN: SRResNet generator, L1 pre-training then perceptual + GAN (Ledig et al. 2017)"
    )
    arch = "msrresnet"
    accepts = ("msrresnet",)
    recipe = "srgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 4}


class EDSRMethod(LearnedSR):
    """EDSR (Lim et al. 2017)."""

    name = "edsr"
    display_name = "EDSR"
    description = "EDSR baseline (Lim et al. 2017), native x2..x16"
    arch = "edsr"
    accepts = ("edsr*",)
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 8}


class ESRGANMethod(LearnedSR):
    """ESRGAN (Wang et al. 2018): RRDBNet with relativistic GAN."""

    name = "esrgan"
    display_name = "ESRGAN"
    description = "ESRGAN: RRDBNet, L1 then perceptual + relativistic GAN (Wang et al. 2018)"
    arch = "esrgan"
    accepts = RRDBNET_FAMILY
    recipe = "esrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class NESRGANPlusMethod(LearnedSR):
    """nESRGAN+ (Rakotonirina & Rasoanaivo 2020)."""

    name = "nesrganplus"
    display_name = "nESRGAN+"
    description = (
        "nESRGAN+: ESRGAN + dense-block residuals + noise (Rakotonirina 2020), Sharma et al."
    )
    arch = "nesrganplus"
    accepts = ("nesrganplus", *RRDBNET_FAMILY)
    recipe = "esrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class RDNMethod(LearnedSR):
    """RDN (Zhang et al. 2018); ``arch: rdn_psnr_small`` etc. for Sharma et al.'s configurations."""

    name = "rdn"
    display_name = "RDN"
    description = "RDN (Zhang et al. 2018); arch rdn_psnr_small/rdn_psnr_large/rdn_noise_cancel for Sharma et al."
    arch = "rdn"
    accepts = ("rdn*",)
    train_hparams: ClassVar[dict[str, Any]] = {"D": 6, "C": 4, "G": 16, "G0": 32}

    @property
    def recipe(self) -> str:  # type: ignore[override]
        # Sharma et al.'s noise-cancel RDN is the GAN-trained one
        return "esrgan" if self.arch_name == "rdn_noise_cancel" else "psnr"


class RealESRGANMethod(LearnedSR):
    """Real-ESRGAN (Wang et al. 2021): RRDBNet trained on second-order degradations."""

    name = "realesrgan"
    display_name = "Real-ESRGAN"
    description = (
        "Real-ESRGAN: RRDBNet on Real-ESRGAN degradations, U-Net SN discriminator (Wang 2021)"
    )
    arch = "realesrgan_x4plus"
    accepts = RRDBNET_FAMILY
    recipe = "realesrgan"
    degradation = "realesrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class RCANMethod(LearnedSR):
    """RCAN (Zhang et al. 2018)."""

    name = "rcan"
    display_name = "RCAN"
    description = "RCAN: residual channel attention (Zhang et al. 2018), native x2..x16"
    arch = "rcan"
    accepts = ("rcan",)
    train_hparams: ClassVar[dict[str, Any]] = {
        "num_feat": 32,
        "num_group": 2,
        "num_block": 4,
        "squeeze_factor": 8,
    }


class MetaSRMethod(LearnedSR):
    """Meta-SR / MetaRDN (Hu et al. 2019), any scale."""

    name = "metasr"
    display_name = "Meta-SR"
    description = "Meta-SR (MetaRDN, Hu et al. 2019): one network for any factor incl. 256/16"
    arch = "metasr"
    accepts = ("metasr",)
    train_hparams: ClassVar[dict[str, Any]] = {"D": 4, "C": 4, "G": 16, "G0": 32}


class GLEANMethod(LearnedSR):
    """GLEAN (Chan et al. 2021) with a StyleGAN2 latent bank."""

    name = "glean"
    display_name = "GLEAN"
    description = "GLEAN: RRDB encoder + StyleGAN2 latent bank + decoder (Chan et al. 2021)"
    arch = "glean"
    accepts = ("glean",)
    recipe = "glean"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {
        "rrdb_channels": 32,
        "num_rrdbs": 2,
        "style_channels": 64,
        "num_mlps": 2,
        "max_channels": 64,
    }


class SwinIRMethod(LearnedSR):
    """SwinIR (Liang et al., ICCVW 2021): Swin-transformer SR.

    Runs any SwinIR checkpoint (classical ``pixelshuffle``, lightweight ``pixelshuffledirect``,
    real-world ``nearest+conv``; detected from the keys). Trained on the pool, it uses a reduced
    CPU configuration (embed 30, two stages of two blocks, window 8, pixelshuffledirect) unless
    ``full: true`` (SwinIR-M classical) or ``hparams`` say otherwise.
    """

    name = "swinir"
    display_name = "SwinIR"
    description = "SwinIR: shifted-window transformer SR (Liang et al. 2021), x2/x3/x4/x8"
    arch = "swinir"
    accepts = ("swinir*",)
    train_hparams: ClassVar[dict[str, Any]] = {
        "embed_dim": 30,
        "depths": [2, 2],
        "num_heads": [3, 3],
        "window_size": 8,
        "mlp_ratio": 2.0,
        "upsampler": "pixelshuffledirect",
    }


class HATMethod(LearnedSR):
    """HAT (Chen et al., CVPR 2023): hybrid attention transformer (channel attention + window
    self-attention + overlapping cross-attention). Reduced CPU configuration when trained on the
    pool (embed 30, one stage of two blocks, window 8) unless ``full: true`` (HAT x4)."""

    name = "hat"
    display_name = "HAT"
    description = "HAT: hybrid attention transformer SR (Chen et al. 2023), x2/x3/x4"
    arch = "hat"
    accepts = ("hat*",)
    train_hparams: ClassVar[dict[str, Any]] = {
        "embed_dim": 30,
        "depths": [2],
        "num_heads": [3],
        "window_size": 8,
        "compress_ratio": 3,
        "squeeze_factor": 10,
        "num_feat": 32,
    }


METHOD_CLASSES = (
    SRCNNMethod,
    SRGANMethod,
    EDSRMethod,
    ESRGANMethod,
    NESRGANPlusMethod,
    RDNMethod,
    RealESRGANMethod,
    RCANMethod,
    MetaSRMethod,
    GLEANMethod,
    SwinIRMethod,
    HATMethod,
)


def method_scale_support() -> dict[str, str]:
    """``srmer list`` text per learned method: how each benchmark factor (x2..x16) is reached."""
    from srmer.sr.registry import scale_support_string

    return {cls.name: f"{cls.arch}: {scale_support_string(cls.arch)}" for cls in METHOD_CLASSES}
