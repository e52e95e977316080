"""One training loop for every MER network, as a scikit-learn estimator.

:class:`NetClassifier` wraps a network of :mod:`srmer.mer.nets` in ``fit(X, y)`` / ``predict(X)`` /
``predict_proba(X)`` so that the LOSO protocol (:func:`srmer.eval.protocol.loso_predict`, or
scikit-learn's ``cross_val_predict`` with ``LeaveOneGroupOut``) treats a network exactly like an SVM
pipeline: a fresh clone is fitted on the training subjects of each fold and predicts the held-out one.

Model selection is the papers' rule: the weights after the last epoch (or after the training loss falls
below ``stop_loss``, RCN-A's criterion as Zhou et al. reports it). Both rules look at training data only;
there is no validation split, so the test subject is never used to pick a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F

from srmer.errors import ConfigError
from srmer.train import Trainer, fingerprint, seeded
from srmer.train.device import resolve_device

__all__ = ["NetClassifier", "resolve_device"]

log = logging.getLogger(__name__)

#: parameters that do not change what is learnt (left out of the checkpoint key); ``epochs`` is left
#: out on purpose so that a run with more epochs continues from a shorter one's checkpoint.
_NOT_IN_KEY = {"epochs", "device", "num_threads", "checkpoint_dir", "checkpoint_every", "verbose"}


@contextlib.contextmanager
def _torch_settings(num_threads: int | None, deterministic: bool) -> Iterator[None]:
    """Thread count and deterministic algorithms for the duration of a fit, restored afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    old_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        if num_threads:
            torch.set_num_threads(int(num_threads))
        if deterministic:
            # warn_only: the few CUDA kernels without a deterministic variant warn instead of failing
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old_cudnn


def _batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one sample joins the previous one (BatchNorm in
    training mode needs more than one value per channel)."""
    perm = torch.randperm(n, generator=gen)
    out = list(torch.split(perm, batch_size))
    if len(out) > 1 and len(out[-1]) == 1:
        # pop first: in ``out[-2] = cat([out[-2], out.pop()])`` the target index is taken after
        # the pop, so the merged batch overwrote the one before it
        last = out.pop()
        out[-1] = torch.cat([out[-1], last])
    return out


class NetClassifier(ClassifierMixin, BaseEstimator):
    """Train a MER network with the papers' settings; scikit-learn estimator API.

    Parameters
    ----------
    net : str or callable
        A key of :data:`srmer.mer.nets.NETS` (``"ststnet"``, ...) or a factory
        ``f(n_classes=..., **net_params) -> nn.Module``.
    net_params : dict, optional
        Extra keyword arguments of the network (e.g. ``{"input_size": 28}``).
    n_classes : int, optional
        Number of classes; labels must then be integers in ``0..n_classes-1`` and
        ``predict_proba`` always has ``n_classes`` columns (a LOSO training fold may lack a class).
        ``None``: the classes are the distinct values of ``y`` in ``fit``.
    optimizer : {"adam", "adamw", "sgd"}
        Optimiser (``adamw``: Adam with decoupled weight decay, MMNet's).
    lr : float
        Learning rate (of the first epoch when ``lr_decay`` is set).
    lr_decay : float, optional
        Exponential learning-rate decay per epoch: epoch ``e`` (from 0) trains with
        ``lr * lr_decay ** min(e, lr_decay_epochs)`` (PyTorch's ``ExponentialLR`` stepped after each of
        the first ``lr_decay_epochs`` epochs; MMNet: .987 for 50 epochs). ``None``: constant.
    lr_decay_epochs : int, optional
        Epochs after which the decay stops (``None``: it never stops).
    momentum : float
        SGD momentum (ignored by Adam and AdamW).
    weight_decay : float
        Weight decay (L2 for Adam and SGD, decoupled for AdamW).
    batch_size : int
        Mini-batch size (a batch larger than the training set means full-batch training).
    epochs : int
        Number of passes over the training set (the papers' values are the MER methods' defaults).
    stop_loss : float, optional
        Stop early once an epoch's mean training loss falls below this value (RCN-A in Zhou et al.).
    class_weight : None, "balanced" or dict
        Weights of the cross-entropy: ``"balanced"`` = ``n / (K * count_k)`` over the training
        labels; a dict maps class -> weight.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    seed : int
        Seeds initialisation, shuffling and dropout, in a forked RNG (:func:`srmer.train.seeded`):
        the caller's torch RNG is left as it was.
    deterministic : bool
        Use PyTorch's deterministic algorithms during ``fit`` (restored afterwards).
    num_threads : int, optional
        ``torch.set_num_threads`` during ``fit`` and ``predict`` (restored afterwards).
    checkpoint_dir : str or Path, optional
        Folder for per-fold checkpoints. The file name is a hash of the training data and of every
        parameter that changes the result (not ``epochs``), so each LOSO fold has its own file; an
        interrupted fit resumes from it, a finished one is loaded without training, and a later fit
        with more epochs continues from it. Files are :class:`srmer.train.Trainer` checkpoints
        (``docs/training.md``), written atomically; an unreadable one, or one of a longer fit, is
        recomputed with a warning naming it.
    checkpoint_every : int
        Save every this many epochs (and always at the end).
    verbose : bool
        Log the training loss of each epoch (``logging`` at INFO).

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    model_ : nn.Module
        The trained network (on the CPU).
    history_ : list of float
        Mean training loss of each epoch.
    n_epochs_ : int
        Epochs actually trained (less than ``epochs`` after an early stop).
    resumed_from_ : int
        Epoch the fit resumed from (0 = trained from scratch).
    """

    def __init__(
        self,
        net: str | Callable[..., nn.Module] = "ststnet",
        net_params: dict | None = None,
        n_classes: int | None = None,
        optimizer: str = "adam",
        lr: float = 5e-5,
        lr_decay: float | None = None,
        lr_decay_epochs: int | None = None,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        epochs: int = 800,
        stop_loss: float | None = None,
        class_weight: str | dict | None = None,
        device: str = "auto",
        seed: int = 0,
        deterministic: bool = True,
        num_threads: int | None = None,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 10,
        verbose: bool = False,
    ) -> None:
        self.net = net
        self.net_params = net_params
        self.n_classes = n_classes
        self.optimizer = optimizer
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.stop_loss = stop_loss
        self.class_weight = class_weight
        self.device = device
        self.seed = seed
        self.deterministic = deterministic
        self.num_threads = num_threads
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def _build(self, n_classes: int) -> nn.Module:
        from srmer.mer.nets import create_net

        params = dict(self.net_params or {})
        if isinstance(self.net, str):
            return create_net(self.net, n_classes, **params)
        return self.net(n_classes=n_classes, **params)

    def _make_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        name = str(self.optimizer).lower()
        if name == "adam":
            return torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if name == "adamw":
            return torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if name == "sgd":
            return torch.optim.SGD(
                model.parameters(),
                lr=self.lr,
                momentum=self.momentum,
                weight_decay=self.weight_decay,
            )
        raise ConfigError(
            f"optimizer: {self.optimizer!r} is not supported (use adam, adamw or sgd)"
        )

    def _epoch_lr(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (from 0): ``lr`` decayed exponentially if asked.

        A function of the epoch alone, so a fit resumed from a checkpoint continues the schedule.
        """
        if self.lr_decay is None:
            return float(self.lr)
        n = epoch if self.lr_decay_epochs is None else min(epoch, int(self.lr_decay_epochs))
        return float(self.lr) * float(self.lr_decay) ** n

    def _check_schedule(self) -> None:
        d, n = self.lr_decay, self.lr_decay_epochs
        if d is not None and (
            isinstance(d, bool) or not isinstance(d, int | float) or not 0 < d <= 1
        ):
            raise ConfigError(f"lr_decay: {d!r} must be a number in (0, 1] or None")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
            raise ConfigError(f"lr_decay_epochs: {n!r} must be a non-negative integer or None")

    def _class_weights(self, y: np.ndarray, k: int) -> torch.Tensor | None:
        cw = self.class_weight
        if cw is None:
            return None
        w = np.ones(k)
        if cw == "balanced":
            counts = np.bincount(y, minlength=k)
            present = counts > 0
            w[present] = len(y) / (present.sum() * counts[present])
        elif isinstance(cw, dict):
            for c, v in cw.items():
                w[int(np.searchsorted(self.classes_, c))] = float(v)
        else:
            raise ConfigError(f"class_weight: {cw!r} must be None, 'balanced' or a dict")
        return torch.as_tensor(w, dtype=torch.float32)

    def _fingerprint(self, X: np.ndarray, y: np.ndarray) -> tuple[str, str]:
        """``(file stem, training fingerprint)``: a hash of the training data and of every parameter
        that changes the result except ``epochs`` (so a longer fit continues a shorter one)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(X).tobytes())
        h.update(str(X.shape).encode() + str(X.dtype).encode())
        h.update(np.ascontiguousarray(y).tobytes())
        params = {k: v for k, v in self.get_params().items() if k not in _NOT_IN_KEY}
        if params["lr_decay"] is None:
            # no schedule: keep the keys of fits made before the schedule existed
            del params["lr_decay"], params["lr_decay_epochs"]
        params["net"] = (
            self.net if isinstance(self.net, str) else getattr(self.net, "__qualname__", "?")
        )
        key = fingerprint("srmer.mer.NetClassifier", h.hexdigest(), params)
        stem = params["net"] if isinstance(self.net, str) else "net"
        return stem, key

    def _checkpoint_path(self, stem: str, key: str) -> Path | None:
        if not self.checkpoint_dir:
            return None
        return Path(self.checkpoint_dir) / f"{stem}-{key[:20]}.pt"

    def _encode(self, y: Any) -> np.ndarray:
        y = np.asarray(y)
        if self.n_classes is not None:
            try:
                yi = y.astype(np.int64)
                ok = (yi == y).all() and yi.min() >= 0 and yi.max() < self.n_classes
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ConfigError(
                    f"labels must be integers in 0..{self.n_classes - 1} (n_classes="
                    f"{self.n_classes}); got values {np.unique(y)[:10]}"
                )
            self.classes_ = np.arange(self.n_classes)
            return yi
        self.classes_ = np.unique(y)
        return np.searchsorted(self.classes_, y).astype(np.int64)

    # ------------------------------------------------------------------ API
    def fit(self, X: np.ndarray, y: Any) -> NetClassifier:
        """Train on ``X`` (``(N, ...)`` float32 network inputs) and labels ``y`` (``(N,)``)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim < 2 or len(X) != len(y):
            raise ConfigError(f"X {X.shape} and y ({len(y)},) must have one row per sample")
        self._check_schedule()
        yi = self._encode(y)
        k = len(self.classes_)
        device = resolve_device(self.device)
        stem, key = self._fingerprint(X, yi)
        with (
            _torch_settings(self.num_threads, self.deterministic),
            seeded(self.seed, device) as gen,
        ):
            model = self._build(k).to(device)
            opt = self._make_optimizer(model)
            weight = self._class_weights(yi, k)
            weight = None if weight is None else weight.to(device)
            trainer = Trainer(
                int(self.epochs),
                modules={"model": model},
                optimizers={"opt": opt},
                generators={"batches": gen},
                fingerprint=key,
                ckpt_path=self._checkpoint_path(stem, key),
                save_every=max(1, int(self.checkpoint_every)),
                meta={"net": stem, "n_classes": k},
                description=f"training {stem}",
                device=device,
            )
            self.resumed_from_ = trainer.resume()
            Xt, yt = torch.from_numpy(X), torch.from_numpy(yi)
            for epoch in trainer:
                for group in opt.param_groups:
                    group["lr"] = self._epoch_lr(epoch)
                model.train()
                total = 0.0
                for idx in _batches(len(Xt), int(self.batch_size), gen):
                    xb, yb = Xt[idx].to(device), yt[idx].to(device)
                    opt.zero_grad(set_to_none=True)
                    if hasattr(model, "training_loss"):
                        loss = model.training_loss(xb, yb, weight)
                    else:
                        loss = F.cross_entropy(model(xb), yb, weight=weight)
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(idx)
                trainer.log(total / len(Xt))
                if self.verbose:
                    log.info("epoch %d/%d loss %.4f", epoch + 1, self.epochs, trainer.history[-1])
                if self.stop_loss is not None and trainer.history[-1] < self.stop_loss:
                    trainer.stop()
            self.n_epochs_ = len(trainer.history)
            self.history_ = list(trainer.history)
            self.model_ = model.cpu().eval()
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, ``(N, n_classes)`` float64, rows summing to 1."""
        check_is_fitted(self, "model_")
        X = np.asarray(X, dtype=np.float32)
        device = resolve_device(self.device)
        model = self.model_.to(device).eval()
        out = []
        with _torch_settings(self.num_threads, False), torch.no_grad():
            for i in range(0, len(X), max(1, int(self.batch_size))):
                xb = torch.from_numpy(X[i : i + int(self.batch_size)]).to(device)
                out.append(torch.softmax(model(xb), dim=1).cpu().double().numpy())
        self.model_ = model.cpu()
        return np.concatenate(out) if out else np.zeros((0, len(self.classes_)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted labels, ``(N,)`` (values of ``classes_``)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
