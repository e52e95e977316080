"""Face restoration as benchmark SR methods: ``gfpgan`` (GFPGAN v1.3/v1.4) and ``codeformer``.

GFPGAN (Wang et al., CVPR 2021, "Towards Real-World Blind Face Restoration with Generative Facial
Prior") and CodeFormer (Zhou et al., NeurIPS 2022, "Towards Robust Blind Face Restoration with
Codebook Lookup Transformer") restore aligned 512x512 faces at scale 1, using a generative prior
(a StyleGAN2 decoder, a VQGAN codebook). They are not trained for a magnification factor, so the
benchmark brings a micro-expression face to them:

1. the LR frame (16..128 px) is resized to the model's side (512) with MATLAB-compatible bicubic
   (:func:`srmer.degrade.imresize`), which is the degraded face the models were trained to see;
2. the model restores it (frame by frame, deterministic: GFPGAN uses the checkpoint's noise
   buffers instead of fresh noise; CodeFormer's fidelity weight ``w`` is the ``fidelity_weight``
   option, 0 = the codebook's face, 1 = closest to the input, default 0.5 as upstream's script);
3. the restored 512x512 face is resized to the benchmark's HR size (256) with the same bicubic.

Reading the results: these models *restore* -- they replace missing detail by plausible facial
detail from their prior (skin, eyes, teeth) -- rather than only upscaling. Sharp faces with high
perceptual quality can therefore carry detail that was not in the subject's face, and the small
motions that make a micro-expression are not guaranteed to survive; compare them with the SR
methods on the recognisers' scores, not on sharpness. Upstream also detects, aligns and pastes
faces back into a whole image (facexlib); the benchmark's faces are already aligned crops, so that
step is not used.

Both need a checkpoint (``GFPGANv1.3.pth``/``GFPGANv1.4.pth``, ``codeformer.pth``, containers
``params_ema``): training them needs what srmer cannot provide offline (see docs/sr.md).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from torch import nn

from srmer.errors import ConfigError, SrmerError
from srmer.sr.trained import TrainedSR


class FaceRestorationSR(TrainedSR):
    """Base of the face-restoration methods: resize to the model's side, restore, resize back."""

    kind = "image"
    version = 1
    #: a checkpoint is required (training needs data and pretrained networks srmer does not have)
    requires_checkpoint: ClassVar[bool] = True
    #: what training would need, for the message when no checkpoint is given
    training_needs: ClassVar[str] = ""
    kind_options: ClassVar[frozenset[str]] = frozenset({"batch"})
    run_defaults: ClassVar[dict[str, Any]] = {"batch": 1}
    output_neutral_options: ClassVar[frozenset[str]] = frozenset({"device", "batch"})

    #: the common options that only shape training, which these methods do not do
    training_only: ClassVar[frozenset[str]] = frozenset(
        {"arch", "hparams", "full", "steps", "batch_size", "lr_patch", "lr", "seed"}
    )

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {
            k: v
            for k, v in super().option_defaults().items()
            if k not in cls.training_only and not str(v).startswith("alias of")
        }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        given = sorted(set(self.options) & self.training_only)
        if given:
            raise ConfigError(
                f"SR method {self.name!r} is not trained here, so {', '.join(given)} would do "
                f"nothing; give only checkpoint, checkpoint_options, device and "
                f"{', '.join(sorted(self.kind_options))}"
            )
        self.model: nn.Module | None = None

    @property  # type: ignore[override]
    def needs_preparation(self) -> bool:
        """Nothing is trained: the checkpoint is loaded on first use."""
        return False

    @classmethod
    def checkpoint_hint(cls) -> str:
        """The message for a config without ``checkpoint:``."""
        return (
            f"SR method {cls.name!r} needs `checkpoint:` (the official weights, see "
            f"README 'Getting official weights'); it cannot be trained here: {cls.training_needs}"
        )

    def _prepare_models(self, scales: list[float]) -> None:
        self._load()

    def _load(self) -> nn.Module:
        if self.model is None:
            if not self.options.get("checkpoint"):
                raise ConfigError(self.checkpoint_hint())
            model = self.load_user_checkpoint(self.options["checkpoint"])
            self.configure(model)
            self.model = model.eval()
        return self.model

    def configure(self, model: nn.Module) -> None:
        """Apply the method's inference options to the loaded model (subclasses)."""

    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        """``(T, h, w[, 3])`` uint8 LR faces -> ``(T, size, size[, 3])`` uint8 restored faces.

        Each frame is resized to the model's side (512) with MATLAB bicubic, restored, and resized
        to ``size``; grey clips are replicated to RGB and averaged back.
        """
        from srmer.degrade import resize_clip

        model = self._load()
        side = int(getattr(model, "input_size", 512))
        clip = np.asarray(clip)
        if clip.shape[1:3] != (side, side):
            clip = resize_clip(clip, side)
        return self.run_frames(model, clip, size)


class GFPGANMethod(FaceRestorationSR):
    """GFPGAN v1 clean (v1.3 / v1.4 weights), deterministic (the checkpoint's noise buffers)."""

    name = "gfpgan"
    display_name = "GFPGAN"
    description = (
        "GFPGAN v1.3/v1.4 face restoration (Wang et al. 2021): LR face -> 512 bicubic -> restore "
        "-> HR size; checkpoint required"
    )
    arch = "gfpgan"
    accepts = ("gfpgan",)
    training_needs = (
        "GFPGAN is trained on FFHQ (70k aligned 512x512 faces) with a synthetic blur / downsample / "
        "noise / JPEG degradation, a pretrained StyleGAN2 decoder, an ImageNet-VGG perceptual loss, "
        "facial-component discriminators on landmark crops and an ArcFace identity loss"
    )


class CodeFormerMethod(FaceRestorationSR):
    """CodeFormer with its fidelity weight ``w`` (option ``fidelity_weight``, 0..1, default 0.5)."""

    name = "codeformer"
    display_name = "CodeFormer"
    description = (
        "CodeFormer face restoration (Zhou et al. 2022), fidelity_weight w in [0, 1]: LR face -> "
        "512 bicubic -> restore -> HR size; checkpoint required"
    )
    arch = "codeformer"
    accepts = ("codeformer",)
    kind_options: ClassVar[frozenset[str]] = frozenset({"batch", "fidelity_weight"})
    run_defaults: ClassVar[dict[str, Any]] = {"batch": 1, "fidelity_weight": 0.5}
    training_needs = (
        "CodeFormer is trained in three stages on FFHQ (a VQGAN codebook, then the code-prediction "
        "transformer, then the controllable feature transformation), with perceptual (LPIPS/VGG) "
        "and adversarial losses"
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        w = self.options.get("fidelity_weight", self.run_defaults["fidelity_weight"])
        try:
            ok = 0.0 <= float(w) <= 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(
                f"SR method 'codeformer': fidelity_weight must be a number in [0, 1] (0 = quality, "
                f"1 = fidelity), got {w!r}"
            )

    def configure(self, model: nn.Module) -> None:
        if not hasattr(model, "fidelity_weight"):
            raise SrmerError(
                f"SR method 'codeformer': {type(model).__name__} has no fidelity weight"
            )
        model.fidelity_weight = float(
            self.options.get("fidelity_weight", self.run_defaults["fidelity_weight"])
        )


__all__ = ["CodeFormerMethod", "FaceRestorationSR", "GFPGANMethod"]
