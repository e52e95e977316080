"""Task-driven SR: super-resolution trained with the loss of a recogniser, inside each fold.

Zhou et al. conclude that SR trained for PSNR or perception barely helps micro-expression
recognition, and ask for SR designed for it. The task loss does that directly: the SR network is
trained with its pixel loss **plus the cross-entropy of a recognition network on its output**. The
labels it uses belong to the evaluation data, so it is trained *inside each fold, on the fold's
training subjects only* (the pool-trained motion loss, :mod:`srmer.sr.motion`, needs no labels).

Two forms, the SR method options ``loss: {pixel: 1.0, task: 0.1}`` and ``task_mode``:

``frozen``
    A recogniser is first trained on the fold's HR training clips, then frozen; the SR network is
    fine-tuned so that the frozen recogniser classifies its outputs correctly.
``joint``
    The SR network and a fresh recogniser are trained end to end on the SR outputs.

Both start from the SR method's pool-trained weights (its pixel or motion training on the SR
pool, :meth:`srmer.sr.learned.LearnedSR.model_for`), so the twin trained with the pixel loss alone is
the same network before the fold's fine-tuning.

The recogniser is STSTNet (Liong et al., FG 2019) on onset -> apex flow images (u, v, strain),
28x28. Its input must be differentiable from the SR output, so the flow is the Horn-Schunck flow
of :func:`srmer.sr.motion.hs_flow`, **not** the OpenCV TV-L1 flow the benchmark's STSTNet reads
(:func:`srmer.features.flow.flow_images`): the recogniser inside the loss is a differentiable
stand-in, and the grid's recognisers (LBP-TOP, STSTNet with TV-L1...) are then trained and tested
on the fine-tuned network's SR clips as on any other SR method's. Resizing and per-channel min-max
normalisation follow :func:`~srmer.features.flow.flow_images` (area averaging when shrinking,
bilinear when enlarging).

How the benchmark runs it
-------------------------
The engine wraps the grid's MER method in :class:`TaskSRMER` for an SR method whose ``loss`` has a
``task`` term (as :mod:`srmer.mer.fsr` wraps descriptors for feature SR). Its per-clip
representation (:meth:`TaskSRMER.represent_pair`) packs the LR clip and the HR onset and apex
frames; :class:`TaskSREstimator` is fitted per fold: it fine-tunes the SR network on the training
rows, super-resolves the training clips, represents them with the grid's MER method and fits that
method's estimator; :meth:`TaskSREstimator.predict` super-resolves the test rows' LR clips only (the
HR frames of test rows are never read; a test checks it). The fold's predictions are cached under
the fold stage's key (representations, labels, splits, SR options and pool weights).
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin
from torch import Tensor

from srmer.errors import ConfigError
from srmer.eval.protocol import fit_estimator
from srmer.mer.base import MERMethod
from srmer.sr.motion import hs_flow, strain_map

log = logging.getLogger(__name__)

__all__ = ["TASK_MODES", "TaskSREstimator", "TaskSRMER", "decode_rows", "flow_inputs"]

#: the forms of task-driven training (``task_mode``)
TASK_MODES = ("frozen", "joint")

#: length of the header of a packed row (see :meth:`TaskSRMER.represent_pair`)
_HEADER = 8


def flow_inputs(onset: Tensor, apex: Tensor, size: int = 28, work: int = 56) -> Tensor:
    """Differentiable STSTNet inputs: u, v and optical strain from ``onset`` to ``apex``.

    Parameters
    ----------
    onset, apex : Tensor
        ``(N, 3, H, W)`` float RGB in [0, 1].
    size : int
        Side of the output maps.
    work : int
        Frames larger than this are area-averaged to ``work x work`` before the flow. The
        benchmark's flow images are computed at the frames' own size and then shrunk to 28x28;
        inside a loss that is back-propagated at every step, the flow is computed at twice the
        maps' size instead (an approximation that keeps the fine-tuning affordable: the cost of
        the flow and its gradient grows with the pixel count).

    Returns
    -------
    Tensor
        ``(N, 3, size, size)`` float, each channel of each sample min-max scaled to [0, 1].
    """
    if min(onset.shape[-2:]) > work:
        onset = F.interpolate(onset, size=(work, work), mode="area")
        apex = F.interpolate(apex, size=(work, work), mode="area")
    f = hs_flow(onset, apex)
    x = torch.cat((f, strain_map(f)), 1)
    if x.shape[-1] > size or x.shape[-2] > size:
        x = F.interpolate(x, size=(size, size), mode="area")
    elif x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    lo = x.amin((2, 3), keepdim=True)
    hi = x.amax((2, 3), keepdim=True)
    return (x - lo) / (hi - lo + 1e-6)


def decode_rows(X: np.ndarray) -> list[dict[str, Any]]:
    """The clips packed by :meth:`TaskSRMER.represent_pair`, one dict per row.

    Returns
    -------
    list of dict
        ``lr`` ``(T, r, r[, 3])`` uint8, ``hr`` ``(2, S, S[, 3])`` uint8 (onset and apex), ``onset``,
        ``apex`` (frame indices into ``lr``), ``size`` (``S``).
    """
    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    out = []
    for row in X:
        t, r, s, c, onset, apex = (int(v) for v in row[:6])
        shape = (t, r, r) if c == 1 else (t, r, r, c)
        n_lr = int(np.prod(shape))
        hr_shape = (2, s, s) if c == 1 else (2, s, s, c)
        lr = row[_HEADER : _HEADER + n_lr].reshape(shape)
        hr = row[_HEADER + n_lr : _HEADER + n_lr + int(np.prod(hr_shape))].reshape(hr_shape)
        out.append(
            {
                "lr": lr.astype(np.uint8),
                "hr": hr,  # may hold NaN for test rows: read only in fit
                "onset": onset,
                "apex": apex,
                "size": s,
            }
        )
    return out


def _to_tensor(frames: np.ndarray) -> Tensor:
    """``(N, H, W[, 3])`` uint8-valued frames -> ``(N, 3, H, W)`` float in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32) / 255.0)
    if x.ndim == 3:
        x = x[:, None].expand(-1, 3, -1, -1)
    else:
        x = x.permute(0, 3, 1, 2)
    return x.contiguous()


class TaskSREstimator(ClassifierMixin, BaseEstimator):
    """Per-fold task-driven SR fine-tuning followed by the grid's MER method (see the module notes).

    Parameters
    ----------
    sr_name : str
        The learned image SR method (``srcnn``, ``edsr``...).
    sr_options : dict
        Its options (``loss`` with a ``task`` term, ``task_mode``, ``task_steps``...).
    sr_context : dict
        The run's SR context (pool, cache folder, device, seed): the pool-trained weights are
        loaded from its cache.
    base : MERMethod
        The grid's MER method run on the fine-tuned SR clips.
    n_classes : int
    seed : int
    """

    def __init__(
        self,
        sr_name: str,
        sr_options: dict[str, Any],
        sr_context: dict[str, Any],
        base: MERMethod,
        n_classes: int,
        seed: int = 0,
    ) -> None:
        self.sr_name = sr_name
        self.sr_options = sr_options
        self.sr_context = sr_context
        self.base = base
        self.n_classes = n_classes
        self.seed = seed

    # ------------------------------------------------------------------ the SR network
    def _method(self):
        from srmer.sr.methods import get_method

        m = get_method(self.sr_name, **self.sr_options)
        m.prepare(**{**self.sr_context, "progress": False})
        return m

    def _options(self) -> dict[str, Any]:
        from srmer.sr.learned import TASK_DEFAULTS

        return {k: self.sr_options.get(k, v) for k, v in TASK_DEFAULTS.items()}

    def fine_tune(
        self,
        model: torch.nn.Module,
        lr_pairs: np.ndarray,
        hr_pairs: np.ndarray,
        y: np.ndarray,
        cache_dir: str | None = None,
    ) -> dict[str, list[float]]:
        """Fine-tune ``model`` in place with the pixel and task losses on training rows.

        Parameters
        ----------
        model : nn.Module
            Image SR network, ``(N, 3, h, w) -> (N, 3, S, S)`` float in [0, 1] (outputs of another
            size are resized bilinearly to ``S``).
        lr_pairs : ndarray
            ``(N, 2, h, w[, 3])`` uint8 onset and apex LR frames of the training rows.
        hr_pairs : ndarray
            ``(N, 2, S, S[, 3])`` uint8 the same frames at the HR size.
        y : ndarray
            ``(N,)`` int labels in ``[0, n_classes)``.
        cache_dir : str, optional
            Where this fine-tuning checkpoints (:class:`srmer.train.Trainer`), in a file named by
            its key (options, starting weights, training rows, seed): a finished one is loaded
            instead of training again (the fold's other MER methods reuse it), a partial one is
            resumed.

        Returns
        -------
        dict
            ``{"pixel": [...], "task": [...]}`` per step (unweighted).
        """
        from srmer.mer.nets import create_net
        from srmer.sr.motion import parse_loss
        from srmer.train import Trainer, array_fingerprint, fingerprint, resolve_device, seeded

        opts = self._options()
        w = parse_loss(self.sr_options.get("loss"), self.sr_name)
        dev = resolve_device(self.sr_options.get("device", self.sr_context.get("device", "auto")))
        n = len(y)
        s = int(hr_pairs.shape[2])
        lr_on, lr_ap = _to_tensor(lr_pairs[:, 0]), _to_tensor(lr_pairs[:, 1])
        hr_on, hr_ap = _to_tensor(hr_pairs[:, 0]), _to_tensor(hr_pairs[:, 1])
        yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
        frozen = opts["task_mode"] == "frozen"
        key = fingerprint(
            {k: v for k, v in self.sr_options.items() if k not in ("label", "device")},
            {k: array_fingerprint(v) for k, v in model.state_dict().items()},
            [array_fingerprint(lr_pairs), array_fingerprint(hr_pairs), array_fingerprint(yt)],
            self.seed,
            self.n_classes,
        )
        with seeded(self.seed, dev) as gen:
            rec = create_net("ststnet", self.n_classes, input_size=28, in_channels=3).to(dev)
            model.to(dev).train()
            batch = min(int(opts["task_batch"]), n)
            params = [p for p in model.parameters() if p.requires_grad]
            groups = [{"params": params, "lr": float(opts["task_lr"])}]
            if not frozen:
                groups.append({"params": list(rec.parameters()), "lr": 1e-3})
            opt = torch.optim.Adam(groups)
            trainer = Trainer(
                int(opts["task_steps"]),
                modules={"sr": model, "recogniser": rec},
                optimizers={"opt": opt},
                generators={"batches": gen},
                fingerprint=key,
                ckpt_path=(
                    Path(cache_dir) / "task_sr" / f"{self.sr_name}-{key[:24]}.pt"
                    if cache_dir
                    else None
                ),
                description=f"task-driven {self.sr_name} ({opts['task_mode']})",
                device=dev,
            )
            if frozen and trainer.resume() == 0:
                self._train_recogniser(rec, hr_on.to(dev), hr_ap.to(dev), yt.to(dev), batch, gen)
            if frozen:
                rec.eval().requires_grad_(False)
            else:
                rec.train()
            for _step in trainer:
                idx = torch.randint(0, n, (batch,), generator=gen)
                lq = torch.cat((lr_on[idx], lr_ap[idx])).to(dev)
                gt = torch.cat((hr_on[idx], hr_ap[idx])).to(dev)
                sr = model(lq)
                if sr.shape[-2:] != (s, s):
                    sr = F.interpolate(sr, size=(s, s), mode="bilinear", align_corners=False)
                pixel = F.l1_loss(sr, gt)
                xin = flow_inputs(sr[:batch].clamp(0, 1), sr[batch:].clamp(0, 1))
                labels = yt[idx].to(dev)
                task = F.cross_entropy(rec(xin), labels)
                loss = w["pixel"] * pixel + w["task"] * task
                if not frozen:
                    # the recogniser also learns from the SR output at its full rate; the SR
                    # network gets only the weighted task gradient
                    loss = loss + F.cross_entropy(rec(xin.detach()), labels)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                trainer.log({"pixel": float(pixel.detach()), "task": float(task.detach())})
        model.cpu().eval()
        return {k: [float(r[k]) for r in trainer.history] for k in ("pixel", "task")}

    def _train_recogniser(
        self,
        rec: torch.nn.Module,
        hr_on: Tensor,
        hr_ap: Tensor,
        y: Tensor,
        batch: int,
        gen: torch.Generator,
    ) -> None:
        """``frozen`` mode: train the recogniser on the fold's HR training clips first."""
        with torch.no_grad():
            xin = flow_inputs(hr_on, hr_ap)
        ropt = torch.optim.Adam(rec.parameters(), lr=1e-3)
        rec.train()
        n = len(y)
        for _ in range(int(self._options()["task_epochs"])):
            perm = torch.randperm(n, generator=gen)
            for i in range(0, n, batch):
                idx = perm[i : i + batch]
                loss = F.cross_entropy(rec(xin[idx]), y[idx])
                ropt.zero_grad(set_to_none=True)
                loss.backward()
                ropt.step()

    # ------------------------------------------------------------------ sklearn interface
    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None):
        """Fine-tune the SR network on the training rows, then fit the MER method on their SR clips.

        Parameters
        ----------
        X : ndarray
            ``(N, D)`` rows packed by :meth:`TaskSRMER.represent_pair`.
        y : ndarray
            ``(N,)`` int labels.
        groups : ndarray, optional
            ``(N,)`` subject ids (passed to the MER estimator).
        """
        rows = decode_rows(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        method = self.method_ = self._method()
        r, s = rows[0]["lr"].shape[1], rows[0]["size"]
        model = copy.deepcopy(method.model_for(s / r, r if method.fixed_input else None))
        lr_pairs = np.stack([row["lr"][[row["onset"], row["apex"]]] for row in rows])
        hr_pairs = np.stack([row["hr"] for row in rows])
        if not np.isfinite(hr_pairs).all():
            raise ConfigError("task-driven SR: a training row has no HR frames")
        self.history_ = self.fine_tune(
            model, lr_pairs, hr_pairs.astype(np.uint8), y, self.sr_context.get("cache_dir")
        )
        self.model_ = model
        reps = self._represent(method, rows)
        self.clf_ = self.base.estimator(self.n_classes, self.seed)
        fit_estimator(self.clf_, reps, y, groups)
        return self

    def _represent(self, method, rows: list[dict[str, Any]]) -> np.ndarray:
        out = []
        pair = getattr(self.base, "reads_frames", "all") == "onset_apex"
        for row in rows:
            on, ap = row["onset"], row["apex"]
            if pair:  # a flow network reads two frames: restore only those
                sr = method.run_frames(self.model_, row["lr"][[on, ap]], row["size"])
                on, ap = 0, 1
            else:
                sr = method.run_frames(self.model_, row["lr"], row["size"])
            out.append(np.asarray(self.base.represent(sr, on, ap), np.float32))
        return np.stack(out)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels of rows ``X``: their LR clips super-resolved by the fold's network, then the MER
        method's prediction (the HR part of the rows is not read)."""
        reps = self._represent(self.method_, decode_rows(X))
        return self.clf_.predict(reps)


class TaskSRMER(MERMethod):
    """The grid's MER method behind a task-driven SR method (wrapped by the engine per cell).

    Parameters
    ----------
    base : MERMethod
        The grid's MER method.
    sr_name, sr_options : str, dict
        The SR method and its options (``loss`` with a ``task`` term).
    sr_context : dict
        The run's SR context (see :class:`TaskSREstimator`).
    """

    name = "task_sr"
    description = "MER on SR fine-tuned per fold with a recognition loss (task-driven SR)"
    needs_hr_pair: ClassVar[bool] = True

    def __init__(
        self,
        base: MERMethod,
        sr_name: str,
        sr_options: dict[str, Any],
        sr_context: dict[str, Any] | None = None,
    ) -> None:
        self.base = base
        self.kind = base.kind
        self.name = base.name
        self.version = getattr(base, "version", 1)
        self.sr_name, self.sr_options = sr_name, dict(sr_options)
        self.sr_context = dict(sr_context or {})
        super().__init__(**base.params)

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        raise ConfigError(
            "task-driven SR needs the HR frames of each clip: use represent_pair (the engine does)"
        )

    def represent_pair(
        self, clip: np.ndarray, hr_clip: np.ndarray, onset: int = 0, apex: int | None = None
    ) -> np.ndarray:
        """One fold-data row: a header, the LR clip and the HR onset and apex frames.

        Parameters
        ----------
        clip : ndarray
            ``(T, r, r[, 3])`` uint8 LR clip.
        hr_clip : ndarray
            ``(T, S, S[, 3])`` uint8 HR clip (only its onset and apex frames are kept).

        Returns
        -------
        ndarray
            ``(8 + T r r C + 2 S S C,)`` float32: ``[T, r, S, C, onset, apex, 0, 0]``, then the
            pixels (uint8 values).
        """
        clip, hr_clip = np.asarray(clip), np.asarray(hr_clip)
        t = len(clip)
        apex = t // 2 if apex is None else int(apex)
        if t < 2 or not (0 <= onset < t and 0 <= apex < t):
            from srmer.errors import ClipError

            raise ClipError("clip", f"onset {onset} / apex {apex} outside the clip's {t} frames")
        c = 1 if clip.ndim == 3 else clip.shape[-1]
        head = np.array(
            [t, clip.shape[1], hr_clip.shape[1], c, onset, apex, 0, 0], dtype=np.float32
        )
        return np.concatenate(
            [head, clip.ravel().astype(np.float32), hr_clip[[onset, apex]].ravel()]
        ).astype(np.float32)

    def estimator(self, n_classes: int, seed: int = 0) -> TaskSREstimator:
        """A fresh :class:`TaskSREstimator` for one fold."""
        return TaskSREstimator(
            self.sr_name, self.sr_options, self.sr_context, self.base, n_classes, seed
        )

    def cache_params(self) -> dict[str, Any]:
        """The packed rows depend on neither method's options (the fold key holds them)."""
        return {"task_sr": True}
