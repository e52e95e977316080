"""One trainer for every srmer training loop (image SR, video SR, MER networks, FER, FSR-FER).

- :class:`~srmer.train.trainer.Trainer`: steps, resume, checkpoints every N steps, progress;
- :mod:`~srmer.train.checkpoint`: the one checkpoint format, atomic writes, the corrupt-file policy,
  fingerprints;
- :func:`~srmer.train.seeding.seeded`: seeding in a forked RNG;
- :func:`~srmer.train.device.resolve_device`: ``"auto"`` -> CUDA when available, else CPU;
- :func:`~srmer.train.progress.progress_bar`: the rich progress display.

A low layer: it imports nothing from srmer but :mod:`srmer.errors`. See ``docs/training.md``.
"""

from srmer.train.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointWarning,
    array_fingerprint,
    atomic_save,
    fingerprint,
    read_checkpoint,
    warn_recompute,
)
from srmer.train.device import resolve_device
from srmer.train.progress import progress_bar
from srmer.train.seeding import seeded
from srmer.train.trainer import Trainer

__all__ = [
    "FORMAT",
    "VERSION",
    "CheckpointWarning",
    "Trainer",
    "array_fingerprint",
    "atomic_save",
    "fingerprint",
    "progress_bar",
    "read_checkpoint",
    "resolve_device",
    "seeded",
    "warn_recompute",
]
