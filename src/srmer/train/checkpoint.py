"""The one training-checkpoint format, its atomic writing, reading and the corrupt-file policy.

A training checkpoint is a ``torch.save`` of a plain dict (loadable with ``weights_only=True``):

================  =================================================================================
``format``        ``"srmer.train"`` (:data:`FORMAT`)
``version``       format version (:data:`VERSION`)
``fingerprint``   hex digest of what is trained (data, hyper-parameters, recipe); a checkpoint with
                  another fingerprint is never resumed
``step``          steps (iterations or epochs, as the loop counts) done
``total``         steps the run that wrote it asked for
``stopped``       the loop ended early (e.g. a loss criterion) and must not continue
``modules``       ``{name: state_dict}`` (e.g. ``model``, ``ema``, ``net_d``)
``optimizers``    ``{name: optimizer.state_dict()}``
``schedulers``    ``{name: scheduler.state_dict()}``
``rng``           ``{"torch": ByteTensor, "cuda": ByteTensor or None, "generators": {name: state}}``
                  (torch generators as ByteTensors, numpy generators as JSON strings)
``history``       JSON string of the loop's per-step rows
``meta``          the caller's description of the model (how to rebuild it), plain Python data
================  =================================================================================

Policy for a checkpoint that cannot be resumed (unreadable, truncated, empty, not a dict, another
format, another fingerprint, states that do not fit): a :class:`CheckpointWarning` naming the file
and the reason, then the training starts over and overwrites it. A checkpoint is never silently
used and never ends a run with a traceback. Files a user asks to *load* (not resume) raise
:class:`~srmer.errors.CheckpointError` instead, since there is nothing to recompute.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srmer.errors import CheckpointError
from srmer.train.files import atomic_write

FORMAT = "srmer.train"
VERSION = 1
REQUIRED_KEYS = frozenset({"format", "version", "fingerprint", "step", "modules"})

log = logging.getLogger(__name__)


class CheckpointWarning(UserWarning):
    """A training checkpoint could not be resumed and is recomputed."""


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray | torch.Tensor):
        return array_fingerprint(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj, key=str)
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def fingerprint(*parts: Any) -> str:
    """SHA-256 hex digest of JSON-able ``parts`` (arrays and tensors by content, keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=_default)
    return hashlib.sha256(blob.encode()).hexdigest()


def array_fingerprint(arr: np.ndarray | torch.Tensor) -> str:
    """SHA-256 hex digest of an array's dtype, shape and every byte of its content."""
    if isinstance(arr, torch.Tensor):
        arr = arr.detach().cpu().numpy()
    a = np.ascontiguousarray(arr)
    h = hashlib.sha256(f"{a.dtype}|{a.shape}|".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, then :func:`os.replace`.

    A run killed mid-write leaves the previous file intact (never a truncated one).
    """
    return atomic_write(path, lambda fh: torch.save(obj, fh))


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        EOFError,
        ValueError,
        OSError,
        KeyError,
        zipfile.BadZipFile,
        pickle.UnpicklingError,
    ) as exc:
        text = str(exc).strip()
        if isinstance(exc, pickle.UnpicklingError) or "Weights only load failed" in text:
            detail = "not a tensor-only PyTorch file"
        else:
            detail = (
                f"{type(exc).__name__}: {text.splitlines()[0][:160]}"
                if text
                else type(exc).__name__
            )
        raise CheckpointError(
            f"checkpoint {path} is unreadable, truncated or not a PyTorch file ({detail})"
        ) from None


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training checkpoint written by :class:`srmer.train.Trainer`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The checkpoint (keys in the module docstring), tensors on the CPU.

    Raises
    ------
    CheckpointError
        Missing, unreadable, truncated or empty file, or not a ``srmer.train`` checkpoint; the
        message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist (check the path)")
    obj = _torch_load(path)
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(obj).__name__}, not a srmer training checkpoint"
        )
    if obj.get("format") != FORMAT or not REQUIRED_KEYS <= set(obj):
        raise CheckpointError(
            f"checkpoint {path} is not a srmer training checkpoint (format "
            f"{obj.get('format')!r}, keys {sorted(map(str, obj))[:8]})"
        )
    if int(obj["version"]) > VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {obj['version']}, newer than this srmer "
            f"({VERSION}); update srmer"
        )
    return obj


def warn_recompute(
    path: str | os.PathLike,
    problem: str,
    action: str = "training anew",
    what: str = "training checkpoint",
) -> None:
    """Report under the corrupt-file policy: one warning (and log line) naming the file.

    The message reads ``"<what> <path> <problem>; <action>"``, e.g. ``"training checkpoint
    run.pt is truncated (EOFError); training anew"``.
    """
    msg = f"{what} {path} {problem}; {action}"
    log.warning(msg)
    warnings.warn(msg, CheckpointWarning, stacklevel=3)


__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointWarning",
    "array_fingerprint",
    "atomic_save",
    "fingerprint",
    "read_checkpoint",
    "warn_recompute",
]
