"""Learned image SR methods for the benchmark: ``srcnn``, ``srgan``, ``edsr``, ``esrgan``,
``nesrganplus``, ``rdn``, ``realesrgan``, ``rcan``, ``metasr``, ``glean``.

Each method runs an srmer architecture frame by frame on the LR clip. Options (config entry
``{name: edsr, checkpoint: ..., ...}``):

``checkpoint``
    A path (or ``{scale: path}``) to official or srmer weights (any format
    :func:`srmer.sr.load_checkpoint` reads). Without one the method trains itself on the SR
    training pool (:meth:`prepare`), caching the weights under ``cache_dir`` keyed by the options,
    the scale and the pool, so training runs once.
``arch``, ``hparams``
    Registry name (e.g. ``rdn_psnr_small``, ``edsr_large``) and overrides. When training from
    scratch without ``hparams`` and without ``full: true``, a reduced CPU-trainable configuration
    (:attr:`LearnedSR.train_hparams`) is used -- a deliberate, documented budget choice.
``steps``, ``gan_steps``, ``batch_size``, ``lr_patch``, ``seed``
    Training budget (see :func:`srmer.sr.train.train_sr`).
``tile``, ``device``
    Inference tiling and device (``"auto"``).

Scale: ``size / h`` of each clip. Natively supported factors use one model; the others a cascade
(e.g. x16 = x4 then x4) whose stages are trained on their own factors. A loaded checkpoint of
another factor is applied repeatedly until the target is reached or passed, then resized to
``size`` with MATLAB bicubic. Fractional factors run at the next integer and are resized likewise
(Meta-SR runs them natively).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from srmer.errors import ConfigError, SrmerError
from srmer.sr.methods import SRMethod

log = logging.getLogger(__name__)

_INFER_ONLY = ("device", "tile", "batch")


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


class LearnedSR(SRMethod):
    """Base class of the learned image SR methods (see the module docstring for options)."""

    kind = "image"
    version = 1
    needs_preparation = True
    #: registry name of the architecture
    arch: ClassVar[str] = ""
    #: training recipe (srmer.sr.train.RECIPES)
    recipe: ClassVar[str] = "psnr"
    #: degradation making training LR frames
    degradation: ClassVar[str] = "bicubic"
    #: reduced configuration used when training from scratch on CPU budgets
    train_hparams: ClassVar[dict[str, Any]] = {}
    #: default adversarial steps for GAN recipes
    default_gan_steps: ClassVar[int] = 0

    def __init__(self, **options: Any) -> None:
        known = {
            "checkpoint",
            "arch",
            "hparams",
            "full",
            "steps",
            "gan_steps",
            "batch_size",
            "lr_patch",
            "seed",
            "tile",
            "device",
            "batch",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(
                f"SR method {self.name!r}: unknown option(s) {unknown}; known: {sorted(known)}"
            )
        super().__init__(**options)
        self.needs_preparation = options.get("checkpoint") is None  # type: ignore[misc]
        self._models: dict[float, nn.Module] = {}
        self._context: dict[str, Any] = {}

    # ---------------------------------------------------------------- configuration
    @property
    def arch_name(self) -> str:
        return str(self.options.get("arch") or self.arch)

    def hparams(self, training: bool) -> dict[str, Any]:
        """Architecture overrides: the user's, else the reduced training configuration."""
        if self.options.get("hparams") is not None:
            return dict(self.options["hparams"])
        if training and not self.options.get("full") and not self.options.get("arch"):
            return dict(self.train_hparams)
        return {}

    def cache_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.options.items() if k not in _INFER_ONLY}

    def _train_options(self) -> dict[str, Any]:
        return {
            "steps": int(self.options.get("steps", 1000)),
            "gan_steps": int(self.options.get("gan_steps", self.default_gan_steps)),
            "batch_size": int(self.options.get("batch_size", 16)),
            "lr_patch": int(self.options.get("lr_patch", 24)),
            "seed": int(self.options.get("seed", self._context.get("seed", 0))),
        }

    # ---------------------------------------------------------------- preparation
    def prepare(self, **context: Any) -> None:
        """Remember the SR training pool; train (or load cached) models for ``scales`` if given.

        Context keys: ``pool_images`` (array ``(N,H,W,3)`` uint8, list of paths or folder; frames of
        identities outside the evaluation set) or ``pool_clips`` (HR clips), ``cache_dir``, ``device``, ``seed``, optionally
        ``scales`` (factors to prepare now; others are prepared on first use) and ``progress``.
        """
        self._context.update(context)
        for s in context.get("scales", ()) or ():
            self._model_for(float(s), int(context.get("lr_size", 0)) or None)

    def _pool(self) -> np.ndarray:
        from srmer.sr.train import load_hr_images

        if "pool_array" not in self._context:
            pool = self._context.get("pool_images")
            if pool is None and self._context.get("pool_clips") is not None:
                # the video methods' pool form: HR clips (T,H,W,3); frames are what image SR needs
                pool = np.concatenate([np.asarray(c) for c in self._context["pool_clips"]], 0)
            if pool is None:
                raise SrmerError(
                    f"SR method {self.name!r} has no checkpoint and no SR training pool: give "
                    f"`checkpoint: path` in its config entry or let the benchmark prepare it "
                    f"(srmer.data.synthetic.generate_sr_pool writes one)"
                )
            self._context["pool_array"] = load_hr_images(pool)
        return self._context["pool_array"]

    def _cache_path(self, scale: int, lr_size: int | None) -> Path:
        pool = self._pool()
        digest = hashlib.sha256()
        digest.update(str(pool.shape).encode())
        digest.update(np.ascontiguousarray(pool[:: max(1, len(pool) // 16), ::8, ::8]).tobytes())
        key = {
            "method": self.name,
            "version": self.version,
            "arch": self.arch_name,
            "hparams": self.hparams(training=True),
            "recipe": self.recipe,
            "degradation": self.degradation,
            "scale": scale,
            "lr_size": lr_size,
            "train": self._train_options(),
            "pool": digest.hexdigest(),
        }
        h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        cache = Path(self._context.get("cache_dir") or Path.home() / ".cache" / "srmer" / "sr")
        return cache / f"{self.name}-x{scale}-{h}.pth"

    def _build_for_training(self, scale: int, lr_size: int | None, seed: int) -> nn.Module:
        from srmer.sr.registry import create

        hp = self.hparams(training=True)
        if self.arch_name == "glean":
            if lr_size is None:
                raise SrmerError("GLEAN needs the LR frame size to build its fixed-size encoder")
            hp = {"in_size": lr_size, "out_size": lr_size * scale, "freeze_bank": False, **hp}
        return create(self.arch_name, scale, seed=seed, **hp)

    def _train(self, scale: int, lr_size: int | None) -> nn.Module:
        from srmer.sr.checkpoint import load_checkpoint, save_checkpoint
        from srmer.sr.train import train_sr

        path = self._cache_path(scale, lr_size)
        if path.is_file():
            return load_checkpoint(path)
        opts = self._train_options()
        model = self._build_for_training(scale, lr_size, opts["seed"])
        log.info(
            "training %s x%d on the SR pool (%s), cached at %s",
            self.name,
            scale,
            self.arch_name,
            path,
        )
        partial = path.with_suffix(".partial.pth")
        train_sr(
            model,
            self._pool(),
            scale,
            steps=opts["steps"],
            gan_steps=opts["gan_steps"],
            recipe=self.recipe,
            batch_size=opts["batch_size"],
            lr_patch=opts["lr_patch"],
            degradation=self.degradation,
            ckpt_path=partial,
            device=self._context.get("device", "auto"),
            seed=opts["seed"],
            progress=bool(self._context.get("progress", True)),
        )
        save_checkpoint(model, path)
        for p in partial.parent.glob(partial.name + "*"):
            p.unlink()
        return model

    def _from_checkpoint(self, scale: float) -> nn.Module:
        from srmer.sr.checkpoint import load_checkpoint

        ck = self.options["checkpoint"]
        if isinstance(ck, dict):
            table = {float(k): v for k, v in ck.items()}
            if scale in table:
                return load_checkpoint(table[scale])
            ck = table[max(table)]
        model = load_checkpoint(ck)
        if getattr(model, "arch_name", "") == "metasr":
            model.scale = scale
            return model
        s0 = float(model.scale)
        if s0 >= scale or s0 <= 1:
            return model
        return _Repeat(model, math.ceil(math.log(scale) / math.log(s0) - 1e-9))

    def _model_for(self, scale: float, lr_size: int | None) -> nn.Module:
        key = (scale, lr_size) if self.arch_name == "glean" else scale
        if key not in self._models:
            if self.options.get("checkpoint") is not None:
                model = self._from_checkpoint(scale)
            elif self.arch_name == "metasr" and scale != int(scale):
                model = self._train(math.ceil(scale), lr_size)
                model.scale = scale
            else:
                model = self._train(math.ceil(scale), lr_size)
            self._models[key] = model.eval()
        return self._models[key]

    # ---------------------------------------------------------------- inference
    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        """``(T,h,w[,3])`` uint8 LR clip -> ``(T,size,size[,3])`` uint8."""
        from srmer.sr.infer import upscale

        clip = np.asarray(clip)
        grey = clip.ndim == 3
        rgb = np.repeat(clip[..., None], 3, axis=-1) if grey else clip
        h, w = rgb.shape[1:3]
        scale = size / h
        if self.arch_name == "glean" and (h != w or 2 ** round(math.log2(h)) != h):
            raise SrmerError(
                f"SR method {self.name!r}: GLEAN needs square power-of-two frames, got {h}x{w}"
            )
        model = self._model_for(scale, h if self.arch_name == "glean" else None)
        out = upscale(
            model,
            rgb,
            tile=self.options.get("tile"),
            batch=int(self.options.get("batch", 8)),
            device=self.options.get("device", self._context.get("device", "auto")),
        )
        if out.shape[1:3] != (size, size):
            from srmer.degrade import imresize

            out = imresize(out, size=size)
        if grey:
            out = np.round(out.astype(np.float32).mean(-1)).astype(np.uint8)
        return out


class SRCNNMethod(LearnedSR):
    """SRCNN (Dong et al. 2016), 9-5-5 on Y."""

    name = "srcnn"
    description = "SRCNN 9-5-5 on Y of the bicubic-upsampled frame (Dong et al. 2016)"
    arch = "srcnn"


class SRGANMethod(LearnedSR):
    """SRGAN: MSRResNet generator trained with perceptual + adversarial losses (Ledig et al. 2017)."""

    name = "srgan"
    description = (
        "SRGAN: SRResNet generator, L1 pre-training then perceptual + GAN (Ledig et al. 2017)"
    )
    arch = "msrresnet"
    recipe = "srgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 4}


class EDSRMethod(LearnedSR):
    """EDSR (Lim et al. 2017)."""

    name = "edsr"
    description = "EDSR baseline (Lim et al. 2017), native x2..x16"
    arch = "edsr"
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 8}


class ESRGANMethod(LearnedSR):
    """ESRGAN (Wang et al. 2018): RRDBNet with relativistic GAN."""

    name = "esrgan"
    description = "ESRGAN: RRDBNet, L1 then perceptual + relativistic GAN (Wang et al. 2018)"
    arch = "esrgan"
    recipe = "esrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class NESRGANPlusMethod(LearnedSR):
    """nESRGAN+ (Rakotonirina & Rasoanaivo 2020)."""

    name = "nesrganplus"
    description = "nESRGAN+: ESRGAN + dense-block residuals + noise (Rakotonirina 2020), seed 001"
    arch = "nesrganplus"
    recipe = "esrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class RDNMethod(LearnedSR):
    """RDN (Zhang et al. 2018); ``arch: rdn_psnr_small`` etc. for seed 001's configurations."""

    name = "rdn"
    description = (
        "RDN (Zhang et al. 2018); arch rdn_psnr_small/rdn_psnr_large/rdn_noise_cancel for seed 001"
    )
    arch = "rdn"
    train_hparams: ClassVar[dict[str, Any]] = {"D": 6, "C": 4, "G": 16, "G0": 32}

    @property
    def recipe(self) -> str:  # type: ignore[override]
        # seed 001's noise-cancel RDN is the GAN-trained one
        return "esrgan" if self.arch_name == "rdn_noise_cancel" else "psnr"


class RealESRGANMethod(LearnedSR):
    """Real-ESRGAN (Wang et al. 2021): RRDBNet trained on second-order degradations."""

    name = "realesrgan"
    description = (
        "Real-ESRGAN: RRDBNet on Real-ESRGAN degradations, U-Net SN discriminator (Wang 2021)"
    )
    arch = "realesrgan_x4plus"
    recipe = "realesrgan"
    degradation = "realesrgan"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {"num_feat": 32, "num_block": 3, "num_grow_ch": 16}


class RCANMethod(LearnedSR):
    """RCAN (Zhang et al. 2018)."""

    name = "rcan"
    description = "RCAN: residual channel attention (Zhang et al. 2018), native x2..x16"
    arch = "rcan"
    train_hparams: ClassVar[dict[str, Any]] = {
        "num_feat": 32,
        "num_group": 2,
        "num_block": 4,
        "squeeze_factor": 8,
    }


class MetaSRMethod(LearnedSR):
    """Meta-SR / MetaRDN (Hu et al. 2019), any scale."""

    name = "metasr"
    description = "Meta-SR (MetaRDN, Hu et al. 2019): one network for any factor incl. 256/16"
    arch = "metasr"
    train_hparams: ClassVar[dict[str, Any]] = {"D": 4, "C": 4, "G": 16, "G0": 32}


class GLEANMethod(LearnedSR):
    """GLEAN (Chan et al. 2021) with a StyleGAN2 latent bank."""

    name = "glean"
    description = "GLEAN: RRDB encoder + StyleGAN2 latent bank + decoder (Chan et al. 2021)"
    arch = "glean"
    recipe = "glean"
    default_gan_steps = 500
    train_hparams: ClassVar[dict[str, Any]] = {
        "rrdb_channels": 32,
        "num_rrdbs": 2,
        "style_channels": 64,
        "num_mlps": 2,
        "max_channels": 64,
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
)


def method_scale_support() -> dict[str, str]:
    """``srmer list`` text per learned method: how each benchmark factor (x2..x16) is reached."""
    from srmer.sr.registry import scale_support_string

    return {cls.name: f"{cls.arch}: {scale_support_string(cls.arch)}" for cls in METHOD_CLASSES}
