"""Video SR in practice: windowed inference, small-input strategies, training, benchmark methods.

- :func:`run_video_model` / :func:`sr_clip`: a whole clip through a video model in overlapping temporal
  windows (memory bounded by one window), on CUDA when available, under ``torch.inference_mode``.
- :func:`video_upscale`: LR clip to the benchmark's HR size with a x4 (or other) model, including the
  16to256 and 32to256 cases the published models cannot do directly (see "Small inputs" below).
- :func:`train_video_sr`: a short supervised training on HR clips (Charbonnier loss, Adam, cosine
  schedule), used when no checkpoint is given.
- :class:`VideoSRMethod` and its subclasses: the benchmark SR methods ``edvr``, ``basicvsr``,
  ``iconvsr``, ``basicvsrpp``, ``realbasicvsr`` (``kind = "video"``), on the same contract as the
  image methods (:class:`srmer.sr.trained.TrainedSR`: option names, weight cache keyed by the pool,
  checkpoint architecture check).

Small inputs
------------
Zhou et al. could only run its video models at 64to256 (x4 checkpoints; BasicVSR++ asserts H, W >= 64).
Two documented strategies reach 16to256 and 32to256 with a x4 model:

``"pre"`` (default)
    MATLAB-bicubic the LR clip up to ``size / scale`` (64 for 256) first, then the x4 video model.
    Every model then sees 64x64 frames (SPyNet's pyramid and EDVR's PCD levels work as designed), and
    the same trained model serves all three resolutions: when the method trains its own model, the
    training inputs mix the three chains (256 -> r -> 64 for r in 16, 32, 64). Read the results as
    "how much a video model restores from the information of an r x r clip", comparable to the image
    methods at the same r; with official checkpoints trained on 64-pixel bicubic inputs, the
    bicubic-upsampled inputs are blurrier than their training data, so gains over ``bicubic`` shrink.
``"post"``
    The x4 model at the native resolution (16 -> 64, 32 -> 128), then MATLAB bicubic to ``size``.
    Closer to a true x4 model but the final bicubic step adds no detail; at 16x16 SPyNet flows are
    unreliable.

Inputs larger than ``size / scale`` (128to256 with x4) are super-resolved and then MATLAB-bicubic
down-sampled (antialiased) to ``size``. Models trained for the exact factor (``scale=8`` or ``16``
in the hyper-parameters, extra pixel-shuffle stages) are a third route when training your own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from srmer.errors import ConfigError, SrmerError
from srmer.sr.trained import TrainedSR, files_fingerprint
from srmer.train import Trainer, array_fingerprint, fingerprint, resolve_device, seeded

log = logging.getLogger(__name__)

__all__ = [
    "BasicVSRMethod",
    "BasicVSRPPMethod",
    "EDVRMethod",
    "IconVSRMethod",
    "RealBasicVSRMethod",
    "VideoSRMethod",
    "charbonnier_loss",
    "make_training_clips",
    "run_video_model",
    "sr_clip",
    "train_video_sr",
    "video_upscale",
]


def _forward(model: nn.Module, x: Tensor) -> Tensor:
    # EDVR is a sliding-window model (centre frame out); its sr_clip gives one output per frame.
    fn = getattr(model, "sr_clip", None)
    return fn(x) if callable(fn) else model(x)


def run_video_model(
    model: nn.Module,
    x: Tensor,
    window: int = 32,
    overlap: int = 4,
    device: str | torch.device = "auto",
) -> Tensor:
    """Run a video SR model over a long clip in overlapping temporal windows.

    Parameters
    ----------
    model : torch.nn.Module
        Video model ``(N, T, 3, h, w) -> (N, T, 3, s*h, s*w)`` (EDVR via its ``sr_clip``).
    x : Tensor
        ``(N, T, 3, h, w)`` float in [0, 1] (any device; moved to ``device`` one window at a time).
    window : int
        Output frames per window.
    overlap : int
        Context frames added on each side of a window (inside the clip); their outputs are
        discarded. For EDVR an overlap >= ``num_frame // 2`` reproduces the whole-clip output exactly;
        for the recurrent models it warms up the propagated state, so the output approaches the
        whole-clip output as ``overlap`` grows (their propagation has unbounded range).
    device : str or torch.device
        ``"auto"``: CUDA when available.

    Returns
    -------
    Tensor
        ``(N, T, 3, s*h, s*w)`` float32 on the CPU, clamped to [0, 1]. Device memory holds one window
        of ``window + 2*overlap`` frames at a time.
    """
    if window < 1 or overlap < 0:
        raise ValueError(f"window must be >= 1 and overlap >= 0, got {window}, {overlap}")
    dev = resolve_device(device)
    model = model.to(dev).eval()
    n, t = x.shape[:2]
    out: Tensor | None = None
    with torch.inference_mode():
        for s in range(0, t, window):
            e = min(t, s + window)
            cs, ce = max(0, s - overlap), min(t, e + overlap)
            y = _forward(model, x[:, cs:ce].to(dev).float()).float().clamp_(0, 1).cpu()
            if out is None:
                out = torch.empty(n, t, *y.shape[2:], dtype=torch.float32)
            out[:, s:e] = y[:, s - cs : e - cs]
    assert out is not None
    return out


def _to_rgb_uint8(clip: np.ndarray, what: str) -> tuple[np.ndarray, bool]:
    arr = np.asarray(clip)
    if arr.dtype != np.uint8:
        raise SrmerError(f"{what}: expected a uint8 clip, got dtype {arr.dtype}")
    if arr.ndim == 3:
        return np.repeat(arr[..., None], 3, axis=-1), True
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise SrmerError(
            f"{what}: expected (T, h, w, 3) RGB or (T, h, w) grey, got shape {arr.shape}"
        )
    return arr, False


def sr_clip(
    model: nn.Module,
    clip: np.ndarray,
    window: int = 32,
    overlap: int = 4,
    device: str | torch.device = "auto",
) -> np.ndarray:
    """Super-resolve a uint8 clip with a video model at the model's own scale.

    Parameters
    ----------
    clip : ndarray
        ``(T, h, w, 3)`` RGB or ``(T, h, w)`` grey, uint8.

    Returns
    -------
    ndarray
        ``(T, s*h, s*w[, 3])`` uint8 (rounded); grey input gives grey output (channel mean).
    """
    rgb, grey = _to_rgb_uint8(clip, "sr_clip")
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2)[None].float() / 255.0
    y = run_video_model(model, x, window, overlap, device)[0]
    out = torch.floor(y.permute(0, 2, 3, 1) * 255.0 + 0.5).to(torch.uint8).numpy()
    if grey:
        out = np.floor(out.astype(np.float32).mean(-1) + 0.5).astype(np.uint8)
    return out


def _resize(clip: np.ndarray, size: int) -> np.ndarray:
    from srmer.degrade import resize_clip

    return resize_clip(clip, size)


def model_input_size(size: int, scale: int) -> int:
    """LR side a ``scale`` model needs to produce ``size`` (``size / scale``, must divide)."""
    if size % scale:
        raise ConfigError(f"target size {size} is not a multiple of the model scale {scale}")
    return size // scale


def video_upscale(
    model: nn.Module,
    clip: np.ndarray,
    size: int,
    strategy: str = "pre",
    window: int = 32,
    overlap: int = 4,
    device: str | torch.device = "auto",
) -> np.ndarray:
    """LR clip -> ``(T, size, size[, 3])`` uint8 with a video model, for any input side.

    Parameters
    ----------
    model : torch.nn.Module
        Video model with a ``scale`` attribute.
    clip : ndarray
        ``(T, h, w, 3)`` or ``(T, h, w)`` uint8, square frames.
    size : int
        Output side (256 in the benchmark).
    strategy : {"pre", "post"}
        How inputs smaller than ``size / scale`` are handled (module docstring).

    Returns
    -------
    ndarray
        ``(T, size, size[, 3])`` uint8.
    """
    if strategy not in ("pre", "post"):
        raise ConfigError(f"video SR option strategy={strategy!r}: choose 'pre' or 'post'")
    scale = int(getattr(model, "scale", 4))
    arr = np.asarray(clip)
    h = arr.shape[1]
    need = model_input_size(size, scale)
    if h < need and strategy == "pre":
        arr = _resize(arr, need)
    out = sr_clip(model, arr, window, overlap, device)
    if out.shape[1] != size or out.shape[2] != size:
        out = _resize(out, size)
    return out


# --------------------------------------------------------------------------------------- training


def charbonnier_loss(pred: Tensor, target: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean of ``sqrt((pred - target)^2 + eps)`` (BasicVSR's loss; BasicSR/mmagic use eps=1e-12)."""
    return torch.sqrt((pred - target) ** 2 + eps).mean()


def make_training_clips(
    hr_clips: Sequence[np.ndarray],
    hr_size: int,
    scale: int,
    input_sizes: Sequence[int],
    strategy: str = "pre",
) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """HR clips and their model inputs for every input chain.

    Parameters
    ----------
    hr_clips : sequence of ndarray
        ``(T, H, W, 3)`` uint8 HR clips (resized to ``hr_size`` with MATLAB bicubic if needed).
    hr_size : int
        HR side the model is trained to produce (256 in the benchmark).
    scale : int
        Model scale.
    input_sizes : sequence of int
        LR sides r to train for (e.g. 16, 32, 64). With ``strategy="pre"`` an input of side
        ``r < hr_size/scale`` is the chain HR -> r -> hr_size/scale (MATLAB bicubic both ways), as
        :func:`video_upscale` applies at test time; with ``"post"`` only r = hr_size/scale is used.

    Returns
    -------
    list of (hr, [lr_chain...])
        Per clip the uint8 HR clip ``(T, hr_size, hr_size, 3)`` and one uint8 model-input clip
        ``(T, hr_size/scale, hr_size/scale, 3)`` per input chain.
    """
    need = model_input_size(hr_size, scale)
    sizes = sorted({int(r) for r in input_sizes if r <= need}) if strategy == "pre" else [need]
    if not sizes:
        raise ConfigError(f"no training input size <= {need} in {list(input_sizes)}")
    out = []
    for clip in hr_clips:
        hr = np.asarray(clip)
        if hr.ndim == 3:
            hr = np.repeat(hr[..., None], 3, axis=-1)
        if hr.shape[1] != hr_size or hr.shape[2] != hr_size:
            hr = _resize(hr, hr_size)
        chains = []
        for r in sizes:
            lr = _resize(hr, r)
            if r != need:
                lr = _resize(lr, need)
            chains.append(lr)
        out.append((hr, chains))
    return out


def _sample_batch(
    data: list[tuple[np.ndarray, list[np.ndarray]]],
    rng: np.random.Generator,
    batch: int,
    clip_len: int,
    patch: int,
    scale: int,
    multiple: int = 1,
) -> tuple[Tensor, Tensor]:
    xs, ys = [], []
    for _ in range(batch):
        hr, chains = data[int(rng.integers(len(data)))]
        lr = chains[int(rng.integers(len(chains)))]
        t = hr.shape[0]
        # temporal crop; short clips are extended by reflection (..., 2, 1, 0, 1, 2, ...)
        start = int(rng.integers(max(1, t - clip_len + 1)))
        idx = np.arange(start, start + clip_len)
        period = max(1, 2 * (t - 1))
        idx = np.abs((idx % period + period) % period)
        idx = np.where(idx > t - 1, period - idx, idx)
        if rng.random() < 0.5:
            idx = idx[::-1]  # time reversal, as in BasicVSR's training augmentation
        lh = lr.shape[1]
        p = min(patch, lh)
        p = max(multiple, p - p % multiple)
        y0, x0 = int(rng.integers(lh - p + 1)), int(rng.integers(lh - p + 1))
        lp = lr[idx, y0 : y0 + p, x0 : x0 + p]
        hp = hr[idx, y0 * scale : (y0 + p) * scale, x0 * scale : (x0 + p) * scale]
        if rng.random() < 0.5:
            lp, hp = lp[:, :, ::-1], hp[:, :, ::-1]
        xs.append(np.ascontiguousarray(lp))
        ys.append(np.ascontiguousarray(hp))
    x = torch.from_numpy(np.stack(xs)).permute(0, 1, 4, 2, 3).float() / 255.0
    y = torch.from_numpy(np.stack(ys)).permute(0, 1, 4, 2, 3).float() / 255.0
    return x, y


def _size_multiple(model: nn.Module) -> int:
    """LR-side multiple the model needs: its architecture spec's ``window_multiple`` (1 if unknown)."""
    from srmer.sr.registry import get_spec

    name = getattr(model, "arch_name", None)
    if not name:
        return 1
    try:
        return int(get_spec(name).window_multiple)
    except SrmerError:
        return 1


def train_video_sr(
    model: nn.Module,
    data: list[tuple[np.ndarray, list[np.ndarray]]],
    steps: int = 300,
    batch: int = 2,
    clip_len: int = 5,
    patch: int = 32,
    lr: float = 2e-4,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = False,
    callback: Callable[[int, float], None] | None = None,
    ckpt_path: str | Path | None = None,
    save_every: int = 50,
    fix_flow: int = 0,
    init: str | None = None,
    loss: dict[str, float] | None = None,
) -> nn.Module:
    """Train a video SR model on (LR chain, HR) clips from :func:`make_training_clips`.

    Charbonnier loss, Adam (betas 0.9/0.99) with cosine decay to 1e-7, SPyNet at 1/8 of the learning
    rate (BasicVSR's setting). Random temporal crops of ``clip_len`` frames (mirrored when the clip is
    shorter), spatial crops of ``patch`` LR pixels, horizontal flips and time reversal.

    Differences from the papers: far fewer iterations (the papers train 300k-600k), and SPyNet starts
    from random weights unless the caller loaded pretrained ones into ``model.spynet`` (the
    methods' ``spynet_checkpoint:`` option; the papers always start from pretrained SPyNet). EDVR is trained as published: windows of
    ``num_frame`` frames (``clip_len`` is overridden), loss on the centre frame.

    Parameters
    ----------
    model : torch.nn.Module
        Video model ``(N, T, 3, h, w) -> (N, T, 3, s*h, s*w)`` float in [0, 1], trained in place.
    data : list of (hr, [lr_chain...])
        uint8 clips from :func:`make_training_clips`.
    seed : int
        Seeds the crops (numpy generator) and, in a forked RNG, torch's implicit randomness.
    device : str or torch.device
        ``"auto"``: CUDA when available.
    callback : callable, optional
        ``callback(step, loss)`` after every step.
    ckpt_path : path, optional
        :class:`srmer.train.Trainer` checkpoint, written every ``save_every`` steps and at the end;
        an existing one of the same training resumes (``docs/training.md``).
    fix_flow : int
        SPyNet is frozen for the first ``fix_flow`` steps, as BasicSR's recipes do with a pretrained
        SPyNet (``fix_flow: 5000`` of 300k iterations for BasicVSR on REDS), then trained at 1/8 of
        the learning rate.
    init : str, optional
        Fingerprint of weights loaded into ``model`` before training (e.g. a pretrained SPyNet), so
        that training from them has its own cache and resume key.
    loss : dict, optional
        Term weights ``{pixel, motion, strain}`` (:func:`srmer.sr.motion.parse_loss`): ``pixel``
        scales the Charbonnier loss; ``motion``/``strain`` add :class:`srmer.sr.motion.MotionLoss`
        between the first output frame and every later one, against the HR frames'. Refused for
        window models (EDVR outputs one frame per window).

    Returns
    -------
    torch.nn.Module
        The trained model (in eval mode, on the CPU).
    """
    from srmer.sr.checkpoint import model_meta
    from srmer.sr.motion import LOSS_TERMS, MotionLoss, parse_loss

    weights = parse_loss(loss)
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    window_model = callable(getattr(model, "sr_clip", None))
    moving = bool(weights["motion"] or weights["strain"])
    if weights["task"]:
        raise ConfigError(
            "train_video_sr: the task loss is trained inside each fold (srmer.mer.task_sr); "
            "give pixel, motion and strain weights only"
        )
    if moving and window_model:
        raise ConfigError(
            f"{type(model).__name__} restores one frame per window, so it has no SR frame pair "
            "for the motion loss; drop loss.motion/loss.strain for it"
        )
    if window_model:
        clip_len = int(model.num_frame)
    multiple = _size_multiple(model)
    scale = int(getattr(model, "scale", 4))
    key = fingerprint(
        "srmer.sr.train_video_sr",
        {
            "model": {
                "class": type(model).__qualname__,
                "shapes": fingerprint({k: list(v.shape) for k, v in model.state_dict().items()}),
            },
            "data": [
                [array_fingerprint(hr), [array_fingerprint(c) for c in ch]] for hr, ch in data
            ],
            "steps": steps,
            "batch": batch,
            "clip_len": clip_len,
            "patch": patch,
            "lr": lr,
            "seed": seed,
            **({"fix_flow": int(fix_flow), "init": init} if fix_flow or init else {}),
            **({"loss": weights} if weights != LOSS_TERMS else {}),
        },
    )
    with seeded(seed, dev):
        model = model.to(dev).train()
        spy = [p for n, p in model.named_parameters() if ".spynet." in f".{n}"]
        spy_ids = {id(p) for p in spy}
        rest = [p for p in model.parameters() if id(p) not in spy_ids]
        groups = [{"params": rest, "lr": lr}]
        if spy:
            groups.append({"params": spy, "lr": lr * 0.125})
        opt = torch.optim.Adam(groups, lr=lr, betas=(0.9, 0.99))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps), eta_min=1e-7)
        trainer = Trainer(
            steps,
            modules={"model": model},
            optimizers={"opt": opt},
            schedulers={"sched": sched},
            generators={"crops": rng},
            fingerprint=key,
            ckpt_path=ckpt_path,
            save_every=save_every,
            meta={"srmer": model_meta(model)},
            progress=progress,
            description=f"training {getattr(model, 'arch_name', 'video SR')} x{scale}",
            device=dev,
        )
        motion_loss = MotionLoss(weights["motion"], weights["strain"]).to(dev) if moving else None
        for step in trainer:
            # frozen SPyNet: no gradient, so Adam leaves its weights (and moments) untouched
            for p in spy:
                p.requires_grad_(step >= fix_flow)
            x, y = _sample_batch(data, rng, batch, clip_len, patch, scale, multiple)
            x, y = x.to(dev), y.to(dev)
            if window_model:
                total = charbonnier_loss(model(x), y[:, model.center_frame_idx])
            else:
                out = model(x)
                total = weights["pixel"] * charbonnier_loss(out, y)
                if moving:
                    # first frame against every later one, as the recognisers' onset -> frame flow
                    t = out.shape[1]
                    first = out[:, :1].expand(-1, t - 1, -1, -1, -1).reshape(-1, *out.shape[2:])
                    later = out[:, 1:].reshape(-1, *out.shape[2:])
                    hr0 = y[:, :1].expand(-1, t - 1, -1, -1, -1).reshape(-1, *y.shape[2:])
                    hr1 = y[:, 1:].reshape(-1, *y.shape[2:])
                    total = total + motion_loss(first, later, hr0, hr1)
            loss = total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            value = float(loss.detach())
            trainer.log({"step": step, "loss": value}, status=f"loss={value:.4f}")
            if callback is not None:
                callback(step, value)
    return model.cpu().eval()


# ------------------------------------------------------------------------------ benchmark methods


class VideoSRMethod(TrainedSR):
    """A video SR architecture as a benchmark SR method (contract: :class:`~srmer.sr.trained.TrainedSR`).

    Options
    -------
    checkpoint : str, optional
        Official (BasicSR / mmagic) or srmer checkpoint of an architecture the method runs
        (:attr:`accepts`); architecture detected from the keys. Without it the method trains its
        own model in :meth:`prepare` (cached in ``cache_dir`` under a key that includes the pool).
    strategy : {"pre", "post"}
        Small-input strategy (module docstring), default ``"pre"``.
    window, overlap : int
        Temporal windowing of long clips (:func:`run_video_model`), default 32 and 4.
    device : str
        ``"auto"`` (default), ``"cpu"``, ``"cuda:0"``...
    arch, hparams, full : str, dict, bool
        Architecture (default: the method's) and hyper-parameters for training (default: the
        published configuration).
    steps, batch_size, clip_len, lr_patch, lr, seed
        Training budget (300 steps, batch 2, 5 frames, 32 px LR patches, 2e-4, the run's seed).
        The old names ``train_steps``, ``train_batch``, ``train_clip_len``, ``train_patch``,
        ``train_lr`` are aliases.
    hr_size : int
        HR side trained for (256).
    train_inputs : list of int
        LR sides r trained for with the "pre" strategy (16, 32, 64).
    """

    kind = "video"
    version = 2
    train_defaults: ClassVar[dict[str, Any]] = {
        "steps": 300,
        "batch_size": 2,
        "clip_len": 5,
        "lr_patch": 32,
        "lr": 2e-4,
    }
    kind_options: ClassVar[frozenset[str]] = frozenset(
        {
            "strategy",
            "window",
            "overlap",
            "hr_size",
            "train_inputs",
            "clip_len",
            "spynet_checkpoint",
            "fix_flow",
        }
    )
    run_defaults: ClassVar[dict[str, Any]] = {
        "strategy": "pre",
        "window": 32,
        "overlap": 4,
        "hr_size": 256,
        "train_inputs": (16, 32, 64),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.model: nn.Module | None = None
        if self.options.get("strategy", self.run_defaults["strategy"]) not in ("pre", "post"):
            raise ConfigError(f"SR method {self.name!r}: strategy must be 'pre' or 'post'")

    def fix_flow_steps(self) -> int:
        """Initial steps with SPyNet frozen: ``fix_flow``, else BasicSR's share (5000 of 300k
        iterations, 1/60 of the steps) when ``spynet_checkpoint`` is given, else 0."""
        o = self.options
        if o.get("fix_flow") is not None:
            return int(o["fix_flow"])
        if o.get("spynet_checkpoint"):
            return round(int(self.train_options()["steps"]) / 60)
        return 0

    def key_extras(self) -> dict[str, Any]:
        o = self.options
        extra: dict[str, Any] = {}
        if o.get("spynet_checkpoint"):
            extra["spynet"] = files_fingerprint([str(o["spynet_checkpoint"])])
        if o.get("spynet_checkpoint") or o.get("fix_flow"):
            extra["fix_flow"] = self.fix_flow_steps()
        return {
            **extra,
            "strategy": o.get("strategy", self.run_defaults["strategy"]),
            "hr_size": int(o.get("hr_size", self.run_defaults["hr_size"])),
            "train_inputs": [
                int(r) for r in o.get("train_inputs", self.run_defaults["train_inputs"])
            ],
        }

    def build_model(self, seed: int | None = None) -> nn.Module:
        """The configured architecture at x4 (initial weights from ``seed`` when given)."""
        from srmer.sr.registry import create

        return create(self.arch_name, 4, seed=seed, **self.hparams(training=True))

    def _prepare_models(self, scales: list[float]) -> None:
        if self.model is not None:
            return
        if self.options.get("checkpoint"):
            self.model = self.load_user_checkpoint(self.options["checkpoint"])
            return
        opts = self.train_options()
        scale = 4  # the published factor; smaller inputs follow the "pre"/"post" strategy

        def train(partial: Path) -> nn.Module:
            clips = self.pool_clips()
            o = self.options
            model = self.build_model(opts["seed"])
            init = self._load_spynet(model)
            data = make_training_clips(
                clips,
                int(o.get("hr_size", self.run_defaults["hr_size"])),
                int(model.scale),
                o.get("train_inputs", self.run_defaults["train_inputs"]),
                o.get("strategy", self.run_defaults["strategy"]),
            )
            log.info("training %s for %d steps on %d clips", self.name, opts["steps"], len(clips))
            return train_video_sr(
                model,
                data,
                steps=int(opts["steps"]),
                batch=int(opts["batch_size"]),
                clip_len=int(opts["clip_len"]),
                patch=int(opts["lr_patch"]),
                lr=float(opts["lr"]),
                seed=int(opts["seed"]),
                device=self._context.get("device", "auto"),
                progress=bool(self._context.get("progress", True)),
                ckpt_path=partial,
                fix_flow=self.fix_flow_steps(),
                init=init,
            )

        self.model = self.load_or_train(self.weights_path(scale), train)

    def _load_spynet(self, model: nn.Module) -> str | None:
        """Copy the ``spynet_checkpoint`` weights into ``model.spynet``; their fingerprint, or None."""
        path = self.options.get("spynet_checkpoint")
        if not path:
            return None
        from srmer.sr.checkpoint import load_checkpoint

        if not isinstance(getattr(model, "spynet", None), nn.Module):
            raise ConfigError(
                f"SR method {self.name!r}: `spynet_checkpoint` is for architectures with a SPyNet "
                f"(BasicVSR, IconVSR, BasicVSR++, RealBasicVSR); {self.arch_name} has none"
            )
        flow = load_checkpoint(path)
        if getattr(flow, "arch_name", "") != "spynet":
            raise ConfigError(
                f"SR method {self.name!r}: spynet_checkpoint {path} holds a "
                f"{getattr(flow, 'arch_name', '?')!r} model, not a standalone SPyNet (BasicSR's "
                "spynet_sintel_final-*.pth or mmagic's SPyNet weights)"
            )
        model.spynet.load_state_dict(flow.state_dict())
        log.info("SR method %s: SPyNet initialised from %s", self.name, path)
        return files_fingerprint([str(path)])

    def upscale(self, clip: np.ndarray, size: int) -> np.ndarray:
        """``(T, h, w[, 3])`` uint8 -> ``(T, size, size[, 3])`` uint8 (see :func:`video_upscale`)."""
        if self.model is None:
            if self.needs_preparation:
                raise SrmerError(
                    f"SR method {self.name!r} has no model yet: call prepare() (the benchmark does) "
                    "or give a `checkpoint:`"
                )
            self.prepare()
        assert self.model is not None
        o = self.options
        return video_upscale(
            self.model,
            clip,
            size,
            strategy=o.get("strategy", self.run_defaults["strategy"]),
            window=int(o.get("window", self.run_defaults["window"])),
            overlap=int(o.get("overlap", self.run_defaults["overlap"])),
            device=o.get("device", self._context.get("device", "auto")),
        )


class EDVRMethod(VideoSRMethod):
    """EDVR-M (Wang et al. 2019) as a benchmark SR method."""

    name = "edvr"
    display_name = "EDVR"
    arch = "edvr"
    accepts = ("edvr*",)
    description = (
        "EDVR-M video SR (PCD alignment + TSA fusion), x4; small inputs via the 'pre' strategy"
    )


class BasicVSRMethod(VideoSRMethod):
    """BasicVSR (Chan et al. 2021) as a benchmark SR method."""

    name = "basicvsr"
    display_name = "BasicVSR"
    arch = "basicvsr"
    description = "BasicVSR video SR (bidirectional propagation, SPyNet), x4"


class IconVSRMethod(VideoSRMethod):
    """IconVSR (Chan et al. 2021) as a benchmark SR method."""

    name = "iconvsr"
    display_name = "IconVSR"
    arch = "iconvsr"
    description = "IconVSR video SR (information refill + coupled propagation), x4"


class BasicVSRPPMethod(VideoSRMethod):
    """BasicVSR++ (Chan et al. 2022) as a benchmark SR method."""

    name = "basicvsrpp"
    display_name = "BasicVSR++"
    arch = "basicvsrpp"
    description = "BasicVSR++ video SR (second-order grid propagation, flow-guided DCN), x4"


class RealBasicVSRMethod(VideoSRMethod):
    """RealBasicVSR (Chan et al. 2022) as a benchmark SR method."""

    name = "realbasicvsr"
    display_name = "RealBasicVSR"
    arch = "realbasicvsr"
    description = "RealBasicVSR video SR (pre-cleaning + BasicVSR), x4"
