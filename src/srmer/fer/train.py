"""Training of the HR FER classifier and of FSR-FER (Jing et al. 2020, Jing et al.).

Two stages, each a :class:`srmer.train.Trainer` loop resumable from its atomically written
checkpoint (``docs/training.md``; a checkpoint of other settings or an unreadable one is retrained
with a warning naming it):

1. :func:`train_backbone`: the FER classifier (``F`` + ``C``) on HR training faces only (cross-entropy,
   Adam, cosine learning rate, flips and small shifts); checkpoint per epoch.
2. :func:`train_fsr`: the feature generator G and the WGAN-div critic D on the frozen classifier's
   features of the *training* faces: HR features ``F(I_hr)`` against LR features
   ``F(bicubic_up(bicubic_down(I_hr, s)))`` with ``s`` drawn uniformly from the factors (x2..x8) for
   every sample, so one G serves every factor (the paper's "one model for all down-sample factors").

Schedule (paper section 3.4): Adam with ``beta1 = 0`` (``beta2 = 0.99``, ESRGAN's; the paper does not
give it), learning rate 2e-4 halved at 20k, 50k, 100k and 200k iterations. The paper trains for up to
400k iterations on a V100; here the milestones are scaled by ``iterations / schedule_reference``
(default reference 400k, the paper's longest run), e.g. a 2,000-iteration budget halves at 100, 250,
500 and 1,000 iterations. One critic update per generator update (configurable).

Every random choice (batch indices, factors, WGAN-div mixing weights) comes from one seeded
:class:`torch.Generator` whose state is saved in the checkpoint, so an interrupted run resumed from its
checkpoint ends with the same weights as an uninterrupted one (tested).
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as Fn

from srmer.errors import CheckpointError, SrmerError
from srmer.fer.backbone import FERNet, create_fer
from srmer.fer.config import BackboneConfig, FSRConfig
from srmer.fer.fsr import FeatureCritic, FeatureGenerator
from srmer.fer.losses import critic_loss, generator_loss, reweight, wgan_div_penalty
from srmer.train import Trainer, array_fingerprint, fingerprint, resolve_device, seeded
from srmer.train.checkpoint import FORMAT as TRAIN_FORMAT

__all__ = [
    "BackboneResult",
    "FSRResult",
    "degrade_up",
    "extract_features",
    "load_backbone",
    "save_history",
    "scaled_milestones",
    "train_backbone",
    "train_fsr",
]


# ----------------------------------------------------------------------------- helpers


def degrade_up(images: np.ndarray, scale: int, size: int | None = None) -> np.ndarray:
    """MATLAB-bicubic down-sampling by ``scale`` then bicubic up-sampling back to ``size``.

    Parameters
    ----------
    images : ndarray
        ``(N, H, W, 3)`` uint8 HR faces (H = W).
    scale : int
        Down-sampling factor (the LR side is ``ceil(H / scale)``, MATLAB's rule).
    size : int, optional
        Output side (default ``H``).

    Returns
    -------
    ndarray
        ``(N, size, size, 3)`` uint8: the input of the HR classifier for the bicubic baseline and of F
        for FSR-FER.
    """
    from srmer.degrade import imresize

    size = images.shape[1] if size is None else size
    lr = imresize(images, scale=1.0 / scale)
    return imresize(lr, size=size)


def to_tensor(images: np.ndarray) -> Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def extract_features(
    net: FERNet, images: np.ndarray, device: torch.device | str = "cpu", batch: int = 128
) -> Tensor:
    """F of ``(N, H, W, 3)`` uint8 faces -> ``(N, C, h, w)`` float32 on the CPU (eval mode)."""
    net.eval()
    out = [
        net.features(to_tensor(images[i : i + batch]).to(device)).cpu()
        for i in range(0, len(images), batch)
    ]
    return torch.cat(out) if out else torch.empty(0)


def scaled_milestones(cfg: FSRConfig) -> list[int]:
    """The paper's lr-halving iterations scaled to ``cfg.iterations`` (at least 1, deduplicated)."""
    f = cfg.iterations / cfg.schedule_reference
    return sorted({max(1, round(m * f)) for m in cfg.milestones})


def _load(path: Path) -> dict:
    """A finished checkpoint to *load* (not resume): unreadable files are an error naming them."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, OSError, pickle.UnpicklingError) as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path} ({str(exc)[:200]}); train it again (delete it) or "
            "give another file"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(obj).__name__}, not a dict")
    return obj


def _entries(obj: dict, *names: str) -> dict[str, Any]:
    """Model entries of a :class:`srmer.train.Trainer` checkpoint (or of the older flat format)."""
    if obj.get("format") == TRAIN_FORMAT:
        flat = {**obj.get("meta", {}), **obj.get("modules", {})}
    else:  # files written before srmer.train: {"arch": ..., "model"/"generator": ...}
        flat = obj
    return {k: flat[k] for k in names if k in flat}


def _cfg_key(cfg: Any, *drop: str) -> dict[str, Any]:
    # settings that do not change the result (checkpoint cadence, caching) stay out of the key
    return {k: v for k, v in cfg.model_dump(mode="json").items() if k not in drop}


def save_history(history: list[dict[str, float]], path: str | os.PathLike) -> None:
    """Write a loss history (list of per-step dicts) as CSV (``.csv``) or JSON (other suffixes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".csv":
        keys = list(history[0]) if history else ["step"]
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(history)
    else:
        tmp.write_text(json.dumps(history))
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- backbone


@dataclass
class BackboneResult:
    """A trained FER classifier and its per-epoch history (``epoch``, ``lr``, ``loss``, ``acc``)."""

    model: FERNet
    history: list[dict[str, float]] = field(default_factory=list)


def _backbone_kwargs(cfg: BackboneConfig, n_classes: int) -> dict[str, Any]:
    return {
        "n_classes": n_classes,
        "head": cfg.head,
        "widths": tuple(cfg.widths),
        "blocks": tuple(cfg.blocks),
        "embed_dim": cfg.embed_dim,
        "cov_channels": cfg.cov_channels,
        "spd_dim": cfg.spd_dim,
        "stem_stride": cfg.stem_stride,
    }


def load_backbone(path: str | os.PathLike, device: str | torch.device = "cpu") -> FERNet:
    """A finished backbone checkpoint of :func:`train_backbone` (frozen, eval mode)."""
    obj = _entries(_load(Path(path)), "arch", "model")
    if "arch" not in obj or "model" not in obj:
        raise CheckpointError(
            f"{path} is not a srmer FER backbone checkpoint (no 'arch'/'model' entries)"
        )
    net = create_fer(**obj["arch"])
    net.load_state_dict(obj["model"])
    return net.to(device).eval().requires_grad_(False)


def _augment(x: Tensor, gen: torch.Generator, flip: bool, shift: int) -> Tensor:
    if flip:
        m = torch.rand(x.shape[0], generator=gen) < 0.5
        x = torch.where(m.view(-1, 1, 1, 1).to(x.device), x.flip(-1), x)
    if shift > 0:
        # one random translation per batch (reflect padding + crop): cheap and enough for 100x100 faces
        dy, dx = (int(v) for v in torch.randint(0, 2 * shift + 1, (2,), generator=gen))
        h, w = x.shape[-2:]
        x = Fn.pad(x, (shift, shift, shift, shift), mode="reflect")[..., dy : dy + h, dx : dx + w]
    # contiguous: oneDNN's convolution (torch 2.13 CPU) corrupts the heap on this strided crop view
    return x.contiguous()


def train_backbone(
    images: np.ndarray,
    labels: Sequence[int],
    cfg: BackboneConfig | None = None,
    n_classes: int = 7,
    ckpt_path: str | os.PathLike | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> BackboneResult:
    """Train the FER classifier on HR faces.

    Parameters
    ----------
    images : ndarray
        ``(N, H, W, 3)`` uint8 HR *training* faces.
    labels : sequence of int
        ``(N,)`` class indices in ``0..n_classes-1``.
    cfg : BackboneConfig, optional
        Architecture and schedule (defaults of :class:`~srmer.fer.config.BackboneConfig`).
    ckpt_path : path, optional
        Checkpoint rewritten after every epoch; an existing one resumes (a finished one is loaded).
    seed : int
        Seeds the initial weights, shuffling and augmentation.
    device : str or torch.device
        Where to train.

    Returns
    -------
    BackboneResult
        The model in eval mode with gradients disabled (frozen, as FSR-FER needs it).
    """
    cfg = cfg or BackboneConfig()
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(y) != len(images):
        raise SrmerError(f"train_backbone: {len(images)} images but {len(y)} labels")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= n_classes):
        raise SrmerError(f"train_backbone: labels must lie in 0..{n_classes - 1}")
    device = resolve_device(device)
    arch = _backbone_kwargs(cfg, n_classes)
    key = fingerprint(
        "srmer.fer.train_backbone",
        arch,
        _cfg_key(cfg),
        array_fingerprint(np.asarray(images)),
        array_fingerprint(y),
        seed,
    )
    x_all = to_tensor(images)
    n = len(x_all)
    steps = math.ceil(n / cfg.batch_size)
    with seeded(seed, device) as gen:
        net = create_fer(**arch).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
        trainer = Trainer(
            cfg.epochs,
            modules={"model": net},
            optimizers={"opt": opt},
            schedulers={"sched": sched},
            generators={"batches": gen},
            fingerprint=key,
            ckpt_path=ckpt_path,
            save_every=1,
            meta={"arch": arch},
            progress=progress,
            description="FER backbone",
            device=device,
        )
        for epoch in trainer:
            net.train()
            perm = torch.randperm(n, generator=gen)
            tot, correct = 0.0, 0
            for b in range(steps):
                idx = perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                if len(idx) < 2:  # batch norm needs two samples
                    continue
                xb = _augment(x_all[idx], gen, cfg.flip, cfg.shift).to(device)
                logits = net(xb)
                loss = Fn.cross_entropy(logits, y[idx].to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1).cpu() == y[idx]).sum())
            row = {
                "epoch": epoch + 1,
                "lr": opt.param_groups[0]["lr"],
                "loss": tot / max(n, 1),
                "acc": correct / max(n, 1),
            }
            sched.step()
            trainer.log(row, status=f"(loss {row['loss']:.3f})")
    net.eval().requires_grad_(False)
    return BackboneResult(net, list(trainer.history))


# ----------------------------------------------------------------------------- FSR-FER


@dataclass
class FSRResult:
    """Trained G and D, and the per-iteration loss history.

    ``history`` rows: ``step``, ``lr``, ``loss_d``, ``penalty``, ``d_real``, ``d_fake``, ``loss_g``,
    ``l_gan``, ``l_p``, ``l_2``, ``weight`` (mean re-weighting factor of the batch). ``finished`` is
    ``False`` when training stopped early at ``stop_after`` (resume by calling again).
    """

    generator: FeatureGenerator
    critic: FeatureCritic
    history: list[dict[str, float]] = field(default_factory=list)
    finished: bool = True
    step: int = 0


class _FeatureSource:
    """HR/LR features and true-class probabilities of training faces, cached or computed per batch.

    Only training images are ever passed in (the test split is never touched during FSR training).
    """

    def __init__(
        self,
        net: FERNet,
        images: np.ndarray,
        labels: Tensor,
        scales: list[int],
        device: torch.device,
        cache: bool,
    ) -> None:
        self.net, self.images, self.labels, self.scales = net, images, labels, scales
        self.device = device
        self.cache = cache
        self.f_hr = extract_features(net, images, device)
        self.e_hr = self._embed(self.f_hr)
        self.f_lr: dict[int, Tensor] = {}
        self.p_lr: dict[int, Tensor] = {}
        if cache:
            for s in scales:
                self.f_lr[s] = extract_features(net, degrade_up(images, s), device)
                self.p_lr[s] = self._p_true(self.f_lr[s], labels)

    @torch.no_grad()
    def _embed(self, f: Tensor) -> Tensor:
        return torch.cat(
            [
                self.net.classifier.embed(f[i : i + 256].to(self.device)).cpu()
                for i in range(0, len(f), 256)
            ]
        )

    @torch.no_grad()
    def _p_true(self, f: Tensor, y: Tensor) -> Tensor:
        prob = torch.cat(
            [
                torch.softmax(self.net.classifier(f[i : i + 256].to(self.device)), 1).cpu()
                for i in range(0, len(f), 256)
            ]
        )
        return prob.gather(1, y.view(-1, 1)).squeeze(1)

    def batch(self, idx: Tensor, sc: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(f_lr, f_hr, e_hr, p_true)`` of training images ``idx`` at factors ``scales[sc]``."""
        f_lr = torch.empty((len(idx), *self.f_hr.shape[1:]))
        p = torch.empty(len(idx))
        for j in sc.unique().tolist():
            m = sc == j
            s = self.scales[j]
            if self.cache:
                f_lr[m], p[m] = self.f_lr[s][idx[m]], self.p_lr[s][idx[m]]
            else:
                ii = idx[m].numpy()
                f = extract_features(self.net, degrade_up(self.images[ii], s), self.device)
                f_lr[m], p[m] = f, self._p_true(f, self.labels[idx[m]])
        return f_lr, self.f_hr[idx], self.e_hr[idx], p


def _want_cache(cfg: FSRConfig, n: int, feat_numel: int) -> bool:
    if cfg.cache_features != "auto":
        return cfg.cache_features == "yes"
    return n * (len(cfg.scales) + 1) * feat_numel * 4 <= cfg.cache_limit_mb * 2**20


def train_fsr(
    backbone: FERNet,
    images: np.ndarray,
    labels: Sequence[int],
    cfg: FSRConfig | None = None,
    ckpt_path: str | os.PathLike | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = True,
    stop_after: int | None = None,
) -> FSRResult:
    """Train FSR-FER's generator and critic on the frozen backbone's features of training faces.

    Parameters
    ----------
    backbone : FERNet
        The HR classifier (frozen here: eval mode, no gradients to its parameters).
    images : ndarray
        ``(N, H, W, 3)`` uint8 HR *training* faces (never test faces: the generator must not see them).
    labels : sequence of int
        ``(N,)`` true classes (for the re-weighting's ``p_i``).
    cfg : FSRConfig, optional
        Architecture, losses and schedule (``cfg.reweight=False`` for the Table 2 ablation).
    ckpt_path : path, optional
        Checkpoint written every ``cfg.checkpoint_every`` iterations and at the end; an existing one
        resumes (a finished one is simply loaded).
    seed : int
        Seeds G/D initialisation, batches, factors and the WGAN-div mixing weights.
    device : str or torch.device
        Where to train.
    progress : bool
        Show a progress bar.
    stop_after : int, optional
        Stop (after checkpointing) once this many iterations are done; for interrupting tests.

    Returns
    -------
    FSRResult
        G and D in eval mode and the loss history.
    """
    cfg = cfg or FSRConfig()
    device = resolve_device(device)
    backbone = backbone.to(device).eval().requires_grad_(False)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(y) != len(images) or len(y) < 2:
        raise SrmerError(
            f"train_fsr: need >= 2 images with one label each ({len(images)}, {len(y)})"
        )
    with torch.no_grad():
        probe = backbone.features(to_tensor(images[:1]).to(device))
    c, h = probe.shape[1], probe.shape[2]
    key = fingerprint(
        "srmer.fer.train_fsr",
        _cfg_key(cfg, "checkpoint_every", "cache_features", "cache_limit_mb"),
        {k: array_fingerprint(v) for k, v in backbone.state_dict().items()},
        array_fingerprint(np.asarray(images)),
        array_fingerprint(y),
        seed,
    )
    arch = {"in_channels": c, "size": h, "cfg": cfg.model_dump_json()}
    with seeded(seed, device) as gen:
        g = FeatureGenerator(c, cfg.num_feat, cfg.num_grow_ch, cfg.num_block, cfg.residual)
        d = FeatureCritic(c, h, cfg.critic_feat)
        g, d = g.to(device), d.to(device)
        # beta1 = 0 as the paper, for GAN stability; beta2 0.99 as ESRGAN (the paper does not state it)
        opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
        opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
        ms = scaled_milestones(cfg)
        sch_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, ms, gamma=0.5)
        sch_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, ms, gamma=0.5)
        trainer = Trainer(
            cfg.iterations,
            modules={"generator": g, "critic": d},
            optimizers={"g": opt_g, "d": opt_d},
            schedulers={"g": sch_g, "d": sch_d},
            generators={"batches": gen},
            fingerprint=key,
            ckpt_path=ckpt_path,
            save_every=cfg.checkpoint_every,
            meta={"arch": json.dumps(arch)},
            progress=progress,
            description="FSR-FER",
            device=device,
            stop_at=stop_after,
        )
        trainer.resume()
        if trainer.step >= trainer.stop_at:
            g.eval(), d.eval()
            return FSRResult(g, d, list(trainer.history), trainer.finished, trainer.step)
        n = len(images)
        src = _FeatureSource(
            backbone, images, y, cfg.scales, device, _want_cache(cfg, n, probe[0].numel())
        )
        g.train(), d.train()
        for step in trainer:
            row: dict[str, float] = {"step": step + 1, "lr": opt_g.param_groups[0]["lr"]}
            for _ in range(cfg.critic_steps):
                idx = torch.randint(n, (cfg.batch_size,), generator=gen)
                sc = torch.randint(len(cfg.scales), (cfg.batch_size,), generator=gen)
                f_lr, f_hr, _, _ = src.batch(idx, sc)
                f_lr, f_hr = f_lr.to(device), f_hr.to(device)
                with torch.no_grad():
                    f_sr = g(f_lr)
                d_real, d_fake = d(f_hr), d(f_sr)
                pen = wgan_div_penalty(d, f_hr, f_sr, cfg.gp_k, cfg.gp_p, generator=gen)
                loss_d = critic_loss(d_real, d_fake, pen)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
            row.update(
                loss_d=float(loss_d.detach()),
                penalty=float(pen.detach()),
                d_real=float(d_real.detach().mean()),
                d_fake=float(d_fake.detach().mean()),
            )
            idx = torch.randint(n, (cfg.batch_size,), generator=gen)
            sc = torch.randint(len(cfg.scales), (cfg.batch_size,), generator=gen)
            f_lr, f_hr, e_hr, p_true = (t.to(device) for t in src.batch(idx, sc))
            d.requires_grad_(False)  # G's step must not accumulate gradients in D
            f_sr = g(f_lr)
            w = reweight(p_true, cfg.reweight_sigma, cfg.reweight_r) if cfg.reweight else None
            lg = generator_loss(
                d(f_sr),
                backbone.classifier.embed(f_sr),
                e_hr,
                f_sr,
                f_hr,
                w,
                cfg.w_gan,
                cfg.w_p,
                cfg.w_2,
            )
            d.requires_grad_(True)
            opt_g.zero_grad(set_to_none=True)
            lg.total.backward()
            opt_g.step()
            sch_g.step()
            sch_d.step()
            row.update(
                loss_g=float(lg.total.detach()),
                l_gan=float(lg.gan.detach()),
                l_p=float(lg.perceptual.detach()),
                l_2=float(lg.l2.detach()),
                weight=float(w.mean()) if w is not None else 1.0,
            )
            trainer.log(row, status=f"(L_D {row['loss_d']:.3f}, L_G {row['loss_g']:.3f})")
    g.eval(), d.eval()
    return FSRResult(g, d, list(trainer.history), trainer.finished, trainer.step)


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> FeatureGenerator:
    """The generator of a :func:`train_fsr` checkpoint (eval mode)."""
    obj = _entries(_load(Path(path)), "arch", "generator")
    if "generator" not in obj or "arch" not in obj:
        raise CheckpointError(
            f"{path} is not a srmer FSR-FER checkpoint (no 'generator'/'arch' entries)"
        )
    arch = json.loads(obj["arch"])
    cfg = FSRConfig.model_validate_json(arch["cfg"])
    g = FeatureGenerator(
        arch["in_channels"], cfg.num_feat, cfg.num_grow_ch, cfg.num_block, cfg.residual
    )
    g.load_state_dict(obj["generator"])
    return g.to(device).eval()


def nn_params_equal(a: nn.Module, b: nn.Module) -> bool:
    """Whether two modules have bit-identical state dicts (used by the resume test and docs)."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
