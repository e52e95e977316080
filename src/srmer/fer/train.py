"""Training of the HR FER classifier and of FSR-FER (Jing et al. 2020, seed 003).

Two stages, each resumable from an atomically written checkpoint (temp file + :func:`os.replace`):

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

import contextlib
import csv
import json
import math
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as Fn

from srmer.errors import SrmerError
from srmer.fer.backbone import FERNet, create_fer
from srmer.fer.config import BackboneConfig, FSRConfig
from srmer.fer.fsr import FeatureCritic, FeatureGenerator
from srmer.fer.losses import critic_loss, generator_loss, reweight, wgan_div_penalty

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


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # a kill mid-write leaves the previous checkpoint intact


def _load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, ValueError, OSError, pickle.UnpicklingError) as exc:
        raise SrmerError(
            f"cannot read checkpoint {path} ({str(exc)[:200]}); delete it to start that stage over"
        ) from None


def _load_state(module: nn.Module, state: dict, path: Path, section: str) -> None:
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise SrmerError(
            f"checkpoint {path} was written with different `{section}` settings ({str(exc)[:200]}); "
            f"delete it or use another output folder"
        ) from None


@contextlib.contextmanager
def _progress(enabled: bool, total: int, start: int, name: str) -> Iterator[Any]:
    if not enabled or total <= start:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeRemainingColumn as Remaining

    prog = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Remaining()
    )
    with prog:
        task = prog.add_task(name, total=total, completed=start)
        yield lambda desc=None: prog.update(task, advance=1, description=desc or name)


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
    obj = _load(Path(path))
    if "arch" not in obj or "model" not in obj:
        raise SrmerError(f"{path} is not a srmer FER backbone checkpoint (no 'arch'/'model' keys)")
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
    return x


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
    device = torch.device(device)
    arch = _backbone_kwargs(cfg, n_classes)
    torch.manual_seed(seed)
    net = create_fer(**arch).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    gen = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    epoch = 0
    path = Path(ckpt_path) if ckpt_path else None
    if path is not None and path.is_file():
        obj = _load(path)
        _load_state(net, obj["model"], path, "backbone")
        if "train_state" in obj:
            st = obj["train_state"]
            opt.load_state_dict(st["opt"])
            sched.load_state_dict(st["sched"])
            gen.set_state(st["gen"])
            epoch = int(st["epoch"])
        else:
            epoch = cfg.epochs
        history = json.loads(obj.get("history", "[]"))
    x_all = to_tensor(images)
    n = len(x_all)
    steps = math.ceil(n / cfg.batch_size)
    with _progress(progress, cfg.epochs, epoch, "FER backbone") as tick:
        while epoch < cfg.epochs:
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
            history.append(
                {
                    "epoch": epoch + 1,
                    "lr": opt.param_groups[0]["lr"],
                    "loss": tot / max(n, 1),
                    "acc": correct / max(n, 1),
                }
            )
            sched.step()
            epoch += 1
            if path is not None:
                state = {"opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch}
                state["gen"] = gen.get_state()
                obj = {"arch": arch, "model": net.state_dict(), "history": json.dumps(history)}
                if epoch < cfg.epochs:
                    obj["train_state"] = state
                _atomic_save(obj, path)
            if tick:
                tick(f"FER backbone (loss {history[-1]['loss']:.3f})")
    net.eval().requires_grad_(False)
    return BackboneResult(net, history)


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
    device = torch.device(device)
    backbone = backbone.to(device).eval().requires_grad_(False)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(y) != len(images) or len(y) < 2:
        raise SrmerError(
            f"train_fsr: need >= 2 images with one label each ({len(images)}, {len(y)})"
        )
    with torch.no_grad():
        probe = backbone.features(to_tensor(images[:1]).to(device))
    c, h = probe.shape[1], probe.shape[2]
    torch.manual_seed(seed)
    g = FeatureGenerator(c, cfg.num_feat, cfg.num_grow_ch, cfg.num_block, cfg.residual).to(device)
    d = FeatureCritic(c, h, cfg.critic_feat).to(device)
    # beta1 = 0 as the paper, for GAN stability; beta2 0.99 as ESRGAN (the paper does not state it)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
    ms = scaled_milestones(cfg)
    sch_g = torch.optim.lr_scheduler.MultiStepLR(opt_g, ms, gamma=0.5)
    sch_d = torch.optim.lr_scheduler.MultiStepLR(opt_d, ms, gamma=0.5)
    gen = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    step = 0
    path = Path(ckpt_path) if ckpt_path else None
    if path is not None and path.is_file():
        obj = _load(path)
        _load_state(g, obj["generator"], path, "fsr")
        _load_state(d, obj["critic"], path, "fsr")
        st = obj["train_state"]
        opt_g.load_state_dict(st["opt_g"])
        opt_d.load_state_dict(st["opt_d"])
        sch_g.load_state_dict(st["sch_g"])
        sch_d.load_state_dict(st["sch_d"])
        gen.set_state(st["gen"])
        step = int(st["step"])
        history = json.loads(obj["history"])

    def save() -> None:
        if path is None:
            return
        st = {
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "sch_g": sch_g.state_dict(),
            "sch_d": sch_d.state_dict(),
            "gen": gen.get_state(),
            "step": step,
        }
        arch = {"in_channels": c, "size": h, "cfg": cfg.model_dump_json()}
        obj = {"generator": g.state_dict(), "critic": d.state_dict(), "train_state": st}
        _atomic_save({**obj, "arch": json.dumps(arch), "history": json.dumps(history)}, path)

    end = cfg.iterations if stop_after is None else min(cfg.iterations, stop_after)
    if step >= end:
        g.eval(), d.eval()
        return FSRResult(g, d, history, step >= cfg.iterations, step)
    n = len(images)
    src = _FeatureSource(
        backbone, images, y, cfg.scales, device, _want_cache(cfg, n, probe[0].numel())
    )
    g.train(), d.train()
    with _progress(progress, cfg.iterations, step, "FSR-FER") as tick:
        while step < end:
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
            step += 1
            row.update(
                loss_g=float(lg.total.detach()),
                l_gan=float(lg.gan.detach()),
                l_p=float(lg.perceptual.detach()),
                l_2=float(lg.l2.detach()),
                weight=float(w.mean()) if w is not None else 1.0,
            )
            history.append(row)
            if step % cfg.checkpoint_every == 0 or step == end:
                save()
            if tick:
                tick(f"FSR-FER (L_D {row['loss_d']:.3f}, L_G {row['loss_g']:.3f})")
    g.eval(), d.eval()
    return FSRResult(g, d, history, step >= cfg.iterations, step)


def load_generator(path: str | os.PathLike, device: str | torch.device = "cpu") -> FeatureGenerator:
    """The generator of a :func:`train_fsr` checkpoint (eval mode)."""
    obj = _load(Path(path))
    if "generator" not in obj or "arch" not in obj:
        raise SrmerError(f"{path} is not a srmer FSR-FER checkpoint (no 'generator'/'arch' keys)")
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
