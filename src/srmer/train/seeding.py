"""Seeding without touching the caller's random state.

Training code draws from two kinds of torch randomness: explicit :class:`torch.Generator` objects
(batch order, crops) and the global generator that layers such as dropout or ``torch.randn`` in a
model's forward use implicitly. :func:`seeded` forks the global generator(s) of the devices used,
seeds them, and restores them on exit, so a training run is reproducible whatever ran before it and
leaves no trace on the rest of the process (a global ``torch.manual_seed`` would do both wrong).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def _cuda_indices(device: torch.device | str | None) -> list[int]:
    if device is None:
        return []
    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available():
        return []
    return [dev.index if dev.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | str | None = None) -> Iterator[torch.Generator]:
    """Run a block with the global torch RNG forked and seeded; yield an explicit CPU generator.

    Parameters
    ----------
    seed : int
        Seeds the forked global CPU generator, the forked CUDA generator of ``device`` (when it is
        a CUDA device) and the yielded :class:`torch.Generator`.
    device : torch.device or str, optional
        The training device; its CUDA generator is forked too, so implicit CUDA randomness is
        reproducible and the caller's CUDA state is restored.

    Yields
    ------
    torch.Generator
        A CPU generator seeded with ``seed``, for the randomness the code draws explicitly.
    """
    cuda = _cuda_indices(device)
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(int(seed))
        for i in cuda:
            torch.cuda.default_generators[i].manual_seed(int(seed))
        yield torch.Generator().manual_seed(int(seed))


__all__ = ["seeded"]
