"""The loop mechanics every srmer training shares: steps, resume, checkpoints, progress.

The recipe (losses, samplers, schedules, GAN steps) stays with its model; it is the body of a
``for step in trainer:`` loop. The :class:`Trainer` owns what is around the body:

- **resume**: :meth:`Trainer.resume` restores modules, optimisers, schedulers, the explicit and the
  global (forked) random generators and the history from the checkpoint, when its fingerprint is the
  one of this training; otherwise the corrupt-file policy of :mod:`srmer.train.checkpoint` applies
  (a warning naming the file, then training from scratch);
- **checkpoints** every ``save_every`` steps, at the end and when the loop stops early, in the one
  format of :mod:`srmer.train.checkpoint`, written atomically;
- **progress**: one rich bar (:mod:`srmer.train.progress`).

Seeding is :func:`srmer.train.seeding.seeded`, entered by the caller around model construction and
the loop, so the initial weights come from the seed too. A run of N steps and a run stopped at any
checkpoint then resumed to N end with bit-identical weights (tested), because every random state
the body draws from is part of the checkpoint.

Example
-------
>>> with seeded(0, dev) as gen:                                         # doctest: +SKIP
...     model = build()
...     opt = torch.optim.Adam(model.parameters())
...     trainer = Trainer(100, modules={"model": model}, optimizers={"opt": opt},
...                       generators={"batches": gen}, fingerprint=fingerprint(cfg, data_key),
...                       ckpt_path="run.pt", save_every=20)
...     for step in trainer:
...         loss = recipe_step(model, opt, gen)
...         trainer.log({"step": step, "loss": float(loss)})
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from srmer.train.checkpoint import (
    FORMAT,
    VERSION,
    atomic_save,
    read_checkpoint,
    warn_recompute,
)
from srmer.train.progress import progress_bar

RandomState = torch.Generator | np.random.Generator


def _rng_state(g: RandomState) -> Any:
    if isinstance(g, torch.Generator):
        return g.get_state()
    return json.dumps(g.bit_generator.state)


def _set_rng_state(g: RandomState, state: Any) -> None:
    if isinstance(g, torch.Generator):
        g.set_state(state)
    else:
        g.bit_generator.state = json.loads(state)


class Trainer:
    """Steps ``0 .. total-1`` of one training, resumable from its checkpoint.

    Parameters
    ----------
    total : int
        Steps the run asks for (iterations or epochs, whatever one body execution is).
    modules : mapping of str to nn.Module
        Everything whose weights are trained or tracked (model, EMA copy, discriminator...).
    optimizers, schedulers : mapping of str to optimiser / LR scheduler, optional
    generators : mapping of str to torch.Generator or numpy Generator, optional
        The explicit random generators the body draws from. The global torch generator of the CPU
        (and of ``device`` when it is CUDA) is saved too: use the trainer inside
        :func:`srmer.train.seeding.seeded`, which forks it.
    fingerprint : str
        Digest of what is trained (:func:`srmer.train.checkpoint.fingerprint` of the data key,
        hyper-parameters and recipe). A checkpoint with another fingerprint is not resumed.
    ckpt_path : path, optional
        The checkpoint; ``None`` trains without one.
    save_every : int
        Checkpoint every this many steps (``0``: only at the end / on :meth:`stop`).
    meta : dict, optional
        Plain data stored in the checkpoint's ``meta`` (how to rebuild the model).
    progress : bool
        Show a progress bar.
    description : str
        Label of the progress bar.
    device : torch.device or str, optional
        The training device (its CUDA generator state is checkpointed).
    stop_at : int, optional
        End the loop (with a checkpoint) after this many steps although ``total`` is not reached;
        a later run resumes from there (used to interrupt runs in tests and budgets).

    Attributes
    ----------
    step : int
        Steps done.
    resumed_from : int
        Step the run resumed from (0: from scratch).
    history : list
        One row per step (whatever the body passes to :meth:`log`), restored on resume.
    stopped : bool
        The body called :meth:`stop`.
    """

    def __init__(
        self,
        total: int,
        *,
        modules: Mapping[str, nn.Module],
        fingerprint: str,
        optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
        schedulers: Mapping[str, Any] | None = None,
        generators: Mapping[str, RandomState] | None = None,
        ckpt_path: str | os.PathLike | None = None,
        save_every: int = 0,
        meta: dict[str, Any] | None = None,
        progress: bool = False,
        description: str = "training",
        device: torch.device | str | None = None,
        stop_at: int | None = None,
    ) -> None:
        self.total = int(total)
        self.modules = dict(modules)
        self.optimizers = dict(optimizers or {})
        self.schedulers = dict(schedulers or {})
        self.generators = dict(generators or {})
        self.fingerprint = str(fingerprint)
        self.ckpt_path = None if ckpt_path is None else Path(ckpt_path)
        self.save_every = max(0, int(save_every))
        self.meta = dict(meta or {})
        self.progress = bool(progress)
        self.description = description
        self.device = None if device is None else torch.device(device)
        self.stop_at = self.total if stop_at is None else min(self.total, int(stop_at))
        self.step = 0
        self.resumed_from = 0
        self.history: list[Any] = []
        self.stopped = False
        self._resumed = False
        self._status: str | None = None

    # ---------------------------------------------------------------- state
    @property
    def finished(self) -> bool:
        """Whether all ``total`` steps are done (or the body stopped the training)."""
        return self.step >= self.total or self.stopped

    def _cuda(self) -> torch.device | None:
        if self.device is not None and self.device.type == "cuda" and torch.cuda.is_available():
            return self.device
        return None

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint dict (keys in :mod:`srmer.train.checkpoint`)."""
        cuda = self._cuda()
        return {
            "format": FORMAT,
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "step": self.step,
            "total": self.total,
            "stopped": self.stopped,
            "modules": {
                k: {n: t.detach().cpu() for n, t in m.state_dict().items()}
                for k, m in self.modules.items()
            },
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(cuda) if cuda is not None else None,
                "generators": {k: _rng_state(g) for k, g in self.generators.items()},
            },
            "history": json.dumps(self.history),
            "meta": self.meta,
        }

    def _snapshot(self) -> dict[str, Any]:
        cuda = self._cuda()
        return {
            "modules": {k: copy.deepcopy(m.state_dict()) for k, m in self.modules.items()},
            "optimizers": {k: copy.deepcopy(o.state_dict()) for k, o in self.optimizers.items()},
            "schedulers": {k: copy.deepcopy(s.state_dict()) for k, s in self.schedulers.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(cuda) if cuda is not None else None,
                "generators": {k: _rng_state(g) for k, g in self.generators.items()},
            },
        }

    def _apply(self, obj: Mapping[str, Any], strict: bool = True) -> None:
        missing = set(self.modules) - set(obj["modules"])
        if missing:
            raise KeyError(f"no state for module(s) {sorted(missing)}")
        for k, m in self.modules.items():
            m.load_state_dict(obj["modules"][k], strict=strict)
        for k, o in self.optimizers.items():
            o.load_state_dict(obj["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(obj["schedulers"][k])
        rng = obj["rng"]
        torch.set_rng_state(rng["torch"])
        cuda = self._cuda()
        if cuda is not None and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"], cuda)
        for k, g in self.generators.items():
            _set_rng_state(g, rng["generators"][k])

    # ---------------------------------------------------------------- resume / save
    def resume(self) -> int:
        """Restore the checkpoint when it belongs to this training; returns the step to start at.

        A checkpoint that cannot be resumed (unreadable, another format or fingerprint, more steps
        than ``total``, states that do not fit the modules) gets one
        :class:`~srmer.train.checkpoint.CheckpointWarning` naming the file, and the run starts from
        step 0 with the modules as they were; the file is overwritten at the first checkpoint.
        """
        self._resumed = True
        path = self.ckpt_path
        if path is None or not path.exists():
            return self.step
        try:
            obj = read_checkpoint(path)
        except Exception as exc:  # every unreadable file gets the same policy
            warn_recompute(path, str(exc).removeprefix(f"checkpoint {path} "))
            return self.step
        if obj["fingerprint"] != self.fingerprint:
            warn_recompute(path, "belongs to another training (its data or settings differ)")
            return self.step
        step = int(obj["step"])
        if step > self.total:
            warn_recompute(path, f"has {step} steps, more than the {self.total} asked")
            return self.step
        snap = self._snapshot()
        try:
            self._apply(obj)
            history = json.loads(obj.get("history") or "[]")
        except Exception as exc:  # a partly applied state is rolled back here
            self._apply(snap, strict=True)
            warn_recompute(path, f"does not fit this training ({str(exc)[:200]})")
            return self.step
        self.step = self.resumed_from = step
        self.history = list(history)
        self.stopped = bool(obj.get("stopped", False))
        return self.step

    def save(self) -> Path | None:
        """Write the checkpoint now (atomically); ``None`` without ``ckpt_path``."""
        if self.ckpt_path is None:
            return None
        return atomic_save(self.state_dict(), self.ckpt_path)

    # ---------------------------------------------------------------- the loop
    def log(self, row: Any, status: str | None = None) -> None:
        """Record the current step's history row; ``status`` replaces the progress bar's label."""
        self.history.append(row)
        self._status = status

    def stop(self) -> None:
        """End the training after the current step (checkpointed; not continued by later runs)."""
        self.stopped = True

    def __iter__(self) -> Iterator[int]:
        """Yield the steps still to do; after each body, count it and checkpoint when due.

        Call :meth:`stop` rather than ``break`` to end early: ``break`` skips the bookkeeping of the
        step it leaves.
        """
        if not self._resumed:
            self.resume()
        with progress_bar(self.progress, self.total, self.step, self.description) as advance:
            while self.step < self.stop_at and not self.stopped:
                yield self.step
                self.step += 1
                advance(1, self._status and f"{self.description} {self._status}")
                due = self.save_every and self.step % self.save_every == 0
                if due or self.step >= self.stop_at or self.stopped:
                    self.save()


__all__ = ["Trainer"]
