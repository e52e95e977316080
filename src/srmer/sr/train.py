"""Training SR models on face frames: L1 pre-training, then perceptual + adversarial fine-tuning.

Recipes (:data:`RECIPES`) follow the papers' loss weights, with srmer's VGG-free perceptual loss
(:class:`srmer.sr.losses.RandomFeaturePerceptualLoss`, a documented deviation):

============  =====================================================================================
``psnr``      L1 only (EDSR, RDN, RCAN, SRCNN, Meta-SR, SRResNet; Sharma et al.'s psnr-small/large)
``srgan``     L1 1e-2 (SRGAN used MSE) + perceptual 1 + vanilla GAN 1e-3, VGG-style discriminator
``esrgan``    L1 1e-2 + perceptual 1 + relativistic GAN 5e-3, VGG-style discriminator (ESRGAN,
              nESRGAN+, Sharma et al.'s noise-cancel RDN)
``realesrgan`` L1 1 + perceptual 1 + vanilla GAN 0.1, U-Net discriminator with spectral norm, LR made
              by the Real-ESRGAN second-order degradation (``srmer.degrade``)
``glean``     L1 1 (GLEAN used MSE) + perceptual 1e-2 + vanilla GAN 1e-2
============  =====================================================================================

Data: random LR/HR patch pairs from HR frames (flips and 90-degree rotations); LR by MATLAB
bicubic (:func:`srmer.degrade.imresize`, the benchmark's degradation) or any ``srmer.degrade``
degradation (precomputed ``degrade_copies`` times per frame with different seeds). Adam
(2e-4, betas 0.9/0.99) with cosine decay to 10 % per phase, EMA of the generator (decay 0.999 with
warm-up). The loop mechanics are :class:`srmer.train.Trainer`'s: checkpoints in its one format
(``modules`` ``model``/``ema``/``net_d``, optimisers ``g``/``d``, the sampler's and torch's random
states; :func:`srmer.sr.load_checkpoint` reads the EMA weights of such a file), written atomically
every ``save_every`` steps, so an interrupted run resumes where it stopped and ends with the weights
of an uninterrupted one; a checkpoint of other training or an unreadable one is recomputed with a
warning (``docs/training.md``). A :class:`~srmer.sr.registry.Cascade` is trained stage by stage, each on its own factor.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from srmer.errors import ConfigError, SrmerError
from srmer.sr.checkpoint import model_meta, save_checkpoint
from srmer.sr.registry import Cascade
from srmer.train import Trainer, array_fingerprint, fingerprint, resolve_device, seeded

RECIPES: dict[str, dict[str, Any]] = {
    "psnr": {"l1": 1.0, "perceptual": 0.0, "gan": 0.0},
    "srgan": {"l1": 1e-2, "perceptual": 1.0, "gan": 1e-3, "gan_type": "vanilla", "disc": "vgg"},
    "esrgan": {"l1": 1e-2, "perceptual": 1.0, "gan": 5e-3, "gan_type": "ragan", "disc": "vgg"},
    "realesrgan": {"l1": 1.0, "perceptual": 1.0, "gan": 0.1, "gan_type": "vanilla", "disc": "unet"},
    "glean": {"l1": 1.0, "perceptual": 1e-2, "gan": 1e-2, "gan_type": "vanilla", "disc": "vgg"},
}


@dataclass
class TrainResult:
    """What :func:`train_sr` did: ``history`` rows ``{"step", "phase", "l1", "loss"}``."""

    steps: int = 0
    resumed_from: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def load_hr_images(
    source: str | os.PathLike | Sequence[str | os.PathLike] | np.ndarray,
) -> np.ndarray:
    """HR training frames as ``(N,H,W,3)`` uint8 from an array, a list of image paths, a folder or .npy.

    Frames of different sizes are not supported (the synthetic SR pool is all 256x256).
    """
    if isinstance(source, np.ndarray):
        arr = source
    else:
        from srmer.video.io import read_frames

        if isinstance(source, str | os.PathLike):
            p = Path(source)
            if not p.exists():
                raise SrmerError(
                    f"SR training data {p} does not exist; give a folder of HR face images, an "
                    f"image file or a .npy array (srmer.data.synthetic.generate_sr_pool writes a pool)"
                )
            if p.suffix == ".npy":
                arr = np.load(p)
            elif p.is_dir():
                paths = sorted(
                    q for q in p.rglob("*") if q.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")
                )
                if not paths:
                    raise SrmerError(f"no images (.png/.jpg/.bmp) found under {p}")
                arr = read_frames(paths)
            else:
                arr = read_frames([p])
        else:
            paths = list(source)
            if not paths:
                raise SrmerError("the SR training pool is empty (no image paths given)")
            arr = read_frames(paths)
    arr = np.asarray(arr)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise SrmerError(f"HR training frames must be (N,H,W,3) RGB, got shape {arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.clip(np.round(arr * 255.0 if arr.max() <= 1.0 else arr), 0, 255).astype(np.uint8)
    return arr


def make_pairs(
    hr: np.ndarray,
    scale: int,
    degradation: Any = "bicubic",
    seed: int = 0,
    copies: int = 1,
    lr_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """LR/HR training pairs.

    Parameters
    ----------
    hr : ndarray
        ``(N,H,W,3)`` uint8.
    scale : int
        The LR is ``H/scale`` (HR cropped to a multiple of ``scale``), or ``lr_size`` when given.
    degradation : str or srmer.degrade.Degradation
        ``"bicubic"`` (MATLAB imresize) or a ``srmer.degrade`` degradation / its name (square frames).
    copies : int
        Independent degradations per frame (random degradations only).

    Returns
    -------
    (lr, hr) : ndarrays
        ``(M,h,w,3)`` and ``(M,h*scale,w*scale,3)`` uint8, ``M = N * copies``.
    """
    from srmer.degrade import imresize

    if lr_size is not None:
        hr_side = lr_size * scale
        if hr.shape[1:3] != (hr_side, hr_side):
            hr = imresize(hr, size=hr_side)
        h = w = lr_size
    else:
        h, w = hr.shape[1] // scale, hr.shape[2] // scale
        hr = hr[:, : h * scale, : w * scale]
    if degradation in (None, "bicubic"):
        return imresize(hr, size=(h, w)), hr
    from srmer.degrade import get_degradation

    deg = get_degradation(degradation)
    if h != w:
        raise ConfigError(f"degradation {deg.name!r} needs square frames, got {hr.shape[1:3]}")
    lrs, hrs = [], []
    for c in range(copies):
        for i in range(len(hr)):
            lrs.append(deg.degrade(hr[i : i + 1], h, seed=seed * 1_000_003 + c * 100_003 + i)[0])
            hrs.append(hr[i])
    return np.stack(lrs), np.stack(hrs)


class _Sampler:
    """Random aligned patches with flips / rotations, as float tensors in [0, 1].

    ``sets`` is a list of ``(lr, hr)`` arrays (frames of one size per set); every patch picks a set
    at random (weighted by its number of frames), so one stage of a cascade can learn all the
    resolutions at which it is applied.
    """

    def __init__(
        self, sets: list[tuple[np.ndarray, np.ndarray]], scale: int, patch: int, seed: int
    ) -> None:
        self.sets, self.scale = sets, scale
        self.patch = min([patch] + [min(lr.shape[1], lr.shape[2]) for lr, _ in sets])
        sizes = np.array([len(lr) for lr, _ in sets], dtype=float)
        self.weights = sizes / sizes.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int, augment: bool = True) -> tuple[Tensor, Tensor]:
        p, s = self.patch, self.scale
        lrs, hrs = [], []
        for _ in range(n):
            lr_set, hr_set = self.sets[self.rng.choice(len(self.sets), p=self.weights)]
            i = self.rng.integers(0, len(lr_set))
            y = self.rng.integers(0, lr_set.shape[1] - p + 1)
            x = self.rng.integers(0, lr_set.shape[2] - p + 1)
            a = lr_set[i, y : y + p, x : x + p]
            b = hr_set[i, y * s : (y + p) * s, x * s : (x + p) * s]
            if augment:
                if self.rng.random() < 0.5:
                    a, b = a[:, ::-1], b[:, ::-1]
                if self.rng.random() < 0.5:
                    a, b = a[::-1], b[::-1]
                if self.rng.random() < 0.5:
                    a, b = a.transpose(1, 0, 2), b.transpose(1, 0, 2)
            lrs.append(np.ascontiguousarray(a))
            hrs.append(np.ascontiguousarray(b))

        def t(arrs: list[np.ndarray]) -> Tensor:
            return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 255.0

        return t(lrs), t(hrs)


class _PairSampler:
    """Aligned patches of two frames of one clip (its first frame and a later one), as float tensors.

    ``clips`` is a list of ``(lr, hr)`` arrays of one clip's frames; both frames of a pair get the
    same crop, flips and transposition, so the motion between them is the clip's own.
    """

    def __init__(
        self, clips: list[tuple[np.ndarray, np.ndarray]], scale: int, patch: int, seed: int
    ) -> None:
        self.clips, self.scale = clips, scale
        self.patch = min([patch] + [min(lr.shape[1], lr.shape[2]) for lr, _ in clips])
        self.rng = np.random.default_rng(seed + 7_919)

    def batch(self, n: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        p, s = self.patch, self.scale
        out: list[list[np.ndarray]] = [[], [], [], []]
        for _ in range(n):
            lr, hr = self.clips[int(self.rng.integers(len(self.clips)))]
            j = int(self.rng.integers(1, len(lr)))
            y = int(self.rng.integers(0, lr.shape[1] - p + 1))
            x = int(self.rng.integers(0, lr.shape[2] - p + 1))
            crops = [
                lr[0, y : y + p, x : x + p],
                lr[j, y : y + p, x : x + p],
                hr[0, y * s : (y + p) * s, x * s : (x + p) * s],
                hr[j, y * s : (y + p) * s, x * s : (x + p) * s],
            ]
            if self.rng.random() < 0.5:
                crops = [c[:, ::-1] for c in crops]
            if self.rng.random() < 0.5:
                crops = [c[::-1] for c in crops]
            if self.rng.random() < 0.5:
                crops = [c.transpose(1, 0, 2) for c in crops]
            for k, c in enumerate(crops):
                out[k].append(np.ascontiguousarray(c))

        def t(arrs: list[np.ndarray]) -> Tensor:
            return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2).float() / 255.0

        return t(out[0]), t(out[1]), t(out[2]), t(out[3])


class _HRSets(list):
    """HR frame arrays of different sizes for one model (a cascade stage applied at several sizes)."""


def cascade_stage_sizes(order: list[int], factor: int) -> list[int]:
    """Down-scaling of the final HR size at which a stage of ``factor`` produces its output.

    For ``order = [4, 2]`` (x8) the x4 stage outputs at 1/2 of the final size and the x2 stage at
    full size; for ``[4, 4]`` (x16) the shared x4 stage outputs at 1/4 and at full size.
    """
    downs = []
    for i, g in enumerate(order):
        if g == factor:
            downs.append(int(np.prod(order[i + 1 :])) if i + 1 < len(order) else 1)
    return sorted(set(downs))


def _lr_at(step: int, total: int, base: float) -> float:
    # cosine from base to base/10 over the phase; stateless so a resumed run gets the same schedule
    frac = min(1.0, step / max(1, total))
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))


@torch.no_grad()
def _ema_update(ema: nn.Module, model: nn.Module, step: int, decay: float) -> None:
    d = min(decay, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
        pe.mul_(d).add_(pm.detach(), alpha=1 - d)
    for be, bm in zip(ema.buffers(), model.buffers(), strict=True):
        be.copy_(bm)


def _make_disc(kind: str) -> nn.Module:
    from srmer.sr.losses import UNetDiscriminatorSN, VGGStyleDiscriminator

    return UNetDiscriminatorSN() if kind == "unet" else VGGStyleDiscriminator()


def train_sr(
    model: nn.Module,
    hr_images: Any,
    scale: int | None = None,
    steps: int = 1000,
    gan_steps: int = 0,
    recipe: str = "psnr",
    batch_size: int = 16,
    lr_patch: int = 24,
    lr: float = 2e-4,
    degradation: Any = "bicubic",
    degrade_copies: int = 2,
    ckpt_path: str | os.PathLike | None = None,
    save_every: int = 200,
    ema_decay: float = 0.999,
    use_ema: bool = True,
    device: str | torch.device = "auto",
    seed: int = 0,
    progress: bool = True,
    loss: dict[str, float] | None = None,
    motion_clips: Sequence[np.ndarray] | None = None,
    flow: Any = None,
) -> TrainResult:
    """Train ``model`` in place on HR face frames.

    Parameters
    ----------
    model : torch.nn.Module
        An srmer image model (``srmer.sr.create``) or a :class:`Cascade` (trained stage by stage).
    hr_images : array, path, folder or list of paths
        HR frames ``(N,H,W,3)`` uint8 (see :func:`load_hr_images`). Use only the SR training pool or
        training subjects, never a test subject.
    scale : int, optional
        Defaults to ``model.scale``.
    steps : int
        L1 pre-training iterations.
    gan_steps : int
        Perceptual + adversarial iterations after pre-training (recipes other than ``psnr``).
    recipe : str
        A key of :data:`RECIPES`.
    batch_size, lr_patch : int
        Patches per step and LR patch side (HR side ``lr_patch * scale``; fixed-input models such
        as GLEAN use whole frames).
    degradation : str or Degradation
        ``"bicubic"`` or any ``srmer.degrade`` degradation (``"realesrgan"``...).
    ckpt_path : path, optional
        :class:`srmer.train.Trainer` checkpoint written every ``save_every`` steps and at the end;
        an existing one of the same training resumes (a finished one is loaded without training),
        one of other training or an unreadable one is recomputed with a warning. For a cascade,
        each stage has its own ``<ckpt_path>.x<factor>`` and ``ckpt_path`` is the BasicSR-format
        file of the whole cascade.
    device : str
        ``"auto"`` uses CUDA when available.
    seed : int
        Seeds patch sampling, degradations and (in a forked RNG, :func:`srmer.train.seeded`) the
        discriminator's and perceptual loss's initial weights; the caller's RNG is left untouched.

    loss : dict, optional
        Term weights ``{pixel, motion, strain}`` (:func:`srmer.sr.motion.parse_loss`; default the
        pixel loss alone). ``pixel`` scales the L1 term of every phase; ``motion`` and ``strain``
        add :class:`srmer.sr.motion.MotionLoss` on pairs of frames of ``motion_clips`` (the pixel
        loss is then computed on those frames too). ``task`` needs labels and is trained per fold
        (:mod:`srmer.mer.task_sr`), so it is refused here.
    motion_clips : sequence of ndarray, optional
        HR clips ``(T, H, W, 3)`` uint8, ``T >= 2``, with facial motion (e.g. the SR pool's folders,
        :func:`srmer.sr.trained.clips_from_images`); needed by the motion and strain terms. Pairs
        are the first frame and a random later frame of a clip, cropped alike.
    flow : callable, optional
        Flow estimator of the motion term (default :func:`srmer.sr.motion.hs_flow`); a module is
        frozen.

    Returns
    -------
    TrainResult
        Loss history; the model holds the trained (EMA when ``use_ema``) weights, in eval mode.
    """
    from srmer.sr.motion import LOSS_TERMS, MotionLoss, parse_loss

    weights = parse_loss(loss)
    if weights["task"]:
        raise ConfigError(
            "train_sr: the task loss needs labelled clips and is trained inside each fold "
            "(srmer.mer.task_sr.train_task_sr); give train_sr pixel, motion and strain weights only"
        )
    moving = bool(weights["motion"] or weights["strain"])
    if moving and not motion_clips:
        raise ConfigError(
            "train_sr: the motion/strain loss needs motion_clips (HR clips of at least 2 frames "
            "with facial motion, e.g. the SR pool grouped by folder)"
        )
    if recipe not in RECIPES:
        raise ConfigError(f"unknown training recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    hr_sets = hr_images if isinstance(hr_images, _HRSets) else _HRSets([load_hr_images(hr_images)])
    if isinstance(model, Cascade):
        from srmer.degrade import imresize

        hr = hr_sets[0]
        result = TrainResult()
        for key, stage in model.stages.items():
            sub = None if ckpt_path is None else Path(f"{ckpt_path}.{key}")
            # each stage learns the face sizes it will see: x4 of [x4, x2] maps 32 -> 128, not 64 -> 256
            stage_sets = _HRSets(
                hr if d == 1 else imresize(hr, size=(hr.shape[1] // d, hr.shape[2] // d))
                for d in cascade_stage_sizes(model.order, int(key[1:]))
            )
            stage_clips = (
                None
                if not moving
                else [
                    c if d == 1 else imresize(c, size=(c.shape[1] // d, c.shape[2] // d))
                    for d in cascade_stage_sizes(model.order, int(key[1:]))
                    for c in motion_clips or []
                ]
            )
            r = train_sr(
                stage,
                stage_sets,
                int(key[1:]),
                steps=steps,
                gan_steps=gan_steps,
                recipe=recipe,
                batch_size=batch_size,
                lr_patch=lr_patch,
                lr=lr,
                degradation=degradation,
                degrade_copies=degrade_copies,
                ckpt_path=sub,
                save_every=save_every,
                ema_decay=ema_decay,
                use_ema=use_ema,
                device=device,
                seed=seed,
                progress=progress,
                loss=weights,
                motion_clips=stage_clips,
                flow=flow,
            )
            result.history += [{**h, "stage": key} for h in r.history]
            result.steps += r.steps
            result.seconds += r.seconds
        if ckpt_path is not None:
            save_checkpoint(model, ckpt_path)
        return result
    scale = int(scale or model.scale)
    fixed = getattr(model, "input_size", None)
    copies = degrade_copies if degradation not in (None, "bicubic") else 1
    pairs = [
        make_pairs(hr, scale, degradation, seed=seed, copies=copies, lr_size=fixed)
        for hr in hr_sets
    ]
    sampler = _Sampler(pairs, scale, fixed or lr_patch, seed)
    pair_sampler = None
    if moving:
        clip_pairs = []
        for c in motion_clips or []:
            c = np.asarray(c)
            if c.ndim != 4 or len(c) < 2 or c.shape[-1] != 3:
                raise ConfigError(
                    f"train_sr: a motion clip must be (T>=2, H, W, 3) uint8, got shape {c.shape}"
                )
            clip_pairs.append(make_pairs(c, scale, degradation, seed=seed, lr_size=fixed))
        pair_sampler = _PairSampler(clip_pairs, scale, fixed or lr_patch, seed)
    dev = resolve_device(device)
    rec = RECIPES[recipe]
    use_gan = gan_steps > 0 and rec["gan"] > 0
    total = steps + (gan_steps if use_gan else 0)
    key = fingerprint(
        "srmer.sr.train_sr",
        {
            "model": _model_key(model),
            "data": [array_fingerprint(hr) for hr in hr_sets],
            "scale": scale,
            "steps": steps,
            "gan_steps": gan_steps if use_gan else 0,
            "recipe": recipe,
            "batch_size": batch_size,
            "lr_patch": lr_patch,
            "lr": lr,
            "degradation": getattr(degradation, "name", degradation),
            "copies": copies,
            "ema_decay": ema_decay,
            "seed": seed,
            # only when not the default: weights trained with the pixel loss keep their old key
            **(
                {
                    "loss": weights,
                    "motion_data": [array_fingerprint(np.asarray(c)) for c in motion_clips or []],
                    "flow": _flow_key(flow),
                }
                if weights != LOSS_TERMS
                else {}
            ),
        },
    )
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise SrmerError(f"{type(model).__name__} has no trainable parameters")
    with seeded(seed, dev):
        model.to(dev).train()
        ema = copy.deepcopy(model).eval().requires_grad_(False)
        opt_g = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.99))
        modules: dict[str, nn.Module] = {"model": model, "ema": ema}
        optimizers: dict[str, torch.optim.Optimizer] = {"g": opt_g}
        net_d = opt_d = perc = gan_loss = None
        if use_gan:
            from srmer.sr.losses import GANLoss, RandomFeaturePerceptualLoss

            net_d = _make_disc(rec["disc"]).to(dev).train()
            opt_d = torch.optim.Adam(net_d.parameters(), lr=lr / 2, betas=(0.9, 0.99))
            perc = RandomFeaturePerceptualLoss().to(dev)
            gan_loss = GANLoss(rec["gan_type"])
            modules["net_d"], optimizers["d"] = net_d, opt_d
        motion_loss = None
        if moving:
            motion_loss = MotionLoss(weights["motion"], weights["strain"], flow=flow).to(dev)
        generators = {"sampler": sampler.rng}
        if pair_sampler is not None:
            generators["pairs"] = pair_sampler.rng
        name = getattr(model, "arch_name", type(model).__name__)
        trainer = Trainer(
            total,
            modules=modules,
            optimizers=optimizers,
            generators=generators,
            fingerprint=key,
            ckpt_path=ckpt_path,
            save_every=save_every,
            meta={"srmer": model_meta(model)},
            progress=progress,
            description=f"training {name} x{scale}",
            device=dev,
        )
        result = TrainResult(resumed_from=trainer.resume())
        t0 = time.perf_counter()
        for step in trainer:
            gan_phase = step >= steps
            phase_step, phase_len = (step - steps, gan_steps) if gan_phase else (step, steps)
            for g in opt_g.param_groups:
                g["lr"] = _lr_at(phase_step, phase_len, lr)
            extra = None
            if pair_sampler is not None and motion_loss is not None:
                # half the batch is pairs of frames of one clip: the pixel loss sees all of them,
                # the motion loss compares the pairs' flows
                n = max(1, batch_size // 2)
                la, lb, ga, gb = (t.to(dev) for t in pair_sampler.batch(n))
                lq, gt = torch.cat((la, lb)), torch.cat((ga, gb))
                sr = model(lq)
                extra = motion_loss(sr[:n], sr[n:], ga, gb)
            else:
                lq, gt = sampler.batch(batch_size)
                lq, gt = lq.to(dev), gt.to(dev)
                sr = model(lq)
            l1 = F.l1_loss(sr, gt)
            loss = weights["pixel"] * l1
            if gan_phase:
                assert (
                    net_d is not None
                    and perc is not None
                    and gan_loss is not None
                    and opt_d is not None
                )
                net_d.requires_grad_(False)
                fake_logits = net_d(sr)
                real_logits = net_d(gt) if gan_loss.gan_type == "ragan" else None
                loss = (
                    weights["pixel"] * rec["l1"] * l1
                    + rec["perceptual"] * perc(sr, gt)
                    + rec["gan"] * gan_loss.generator(fake_logits, real_logits)
                )
            if extra is not None:
                loss = loss + extra
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            if gan_phase:
                net_d.requires_grad_(True)
                d_loss = gan_loss.discriminator(net_d(gt), net_d(sr.detach()))
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            _ema_update(ema, model, step, ema_decay)
            l1v = l1.item()
            row = {"step": step, "phase": float(gan_phase), "l1": l1v, "loss": loss.item()}
            if motion_loss is not None:
                row.update(motion_loss.terms)
            trainer.log(row, status=f"l1={l1v:.4f}")
    result.history = trainer.history
    result.steps = total
    result.seconds = time.perf_counter() - t0
    if use_ema:
        model.load_state_dict(ema.state_dict())
    model.eval()
    return result


def _flow_key(flow: Any) -> Any:
    """What identifies the motion loss's flow estimator in a training fingerprint."""
    if flow is None:
        return "hs"
    if isinstance(flow, nn.Module):
        return {
            **_model_key(flow),
            "weights": fingerprint(
                {
                    k: array_fingerprint(v.detach().cpu().numpy())
                    for k, v in flow.state_dict().items()
                }
            ),
        }
    return getattr(flow, "__qualname__", repr(flow))


def _model_key(model: nn.Module) -> dict[str, Any]:
    """What identifies an architecture in a training fingerprint: class, name, hparams, shapes."""
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {
        "class": type(model).__qualname__,
        "arch": getattr(model, "arch_name", None),
        "hparams": getattr(model, "hparams", None),
        "shapes": fingerprint(shapes),
    }


def train_command(
    arch: str,
    scale: int,
    data: str,
    out: str,
    steps: int = 1000,
    gan_steps: int = 0,
    recipe: str = "psnr",
    hparams: str | dict[str, Any] | None = None,
    init: str | None = None,
    batch_size: int = 16,
    lr_patch: int = 24,
    degradation: str = "bicubic",
    device: str = "auto",
    seed: int = 0,
) -> Path:
    """Entry point for ``srmer sr train``: build (or load ``init``), train on ``data``, save to ``out``.

    ``data`` is a folder of HR images (e.g. the synthetic ``sr_pool``), an image list file (one
    path per line, ``.txt``) or a ``.npy`` array; ``hparams`` a JSON object or dict. Re-running the
    same command resumes from ``out``.
    """
    from srmer.sr.checkpoint import load_checkpoint
    from srmer.sr.registry import create

    hp = json.loads(hparams) if isinstance(hparams, str) else dict(hparams or {})
    model = load_checkpoint(init) if init else create(arch, scale, seed=seed, **hp)
    src: Any = data
    if str(data).endswith(".txt"):
        src = [line.strip() for line in Path(data).read_text().splitlines() if line.strip()]
    train_sr(
        model,
        src,
        scale,
        steps=steps,
        gan_steps=gan_steps,
        recipe=recipe,
        batch_size=batch_size,
        lr_patch=lr_patch,
        degradation=degradation,
        ckpt_path=out,
        device=device,
        seed=seed,
    )
    return Path(out)
