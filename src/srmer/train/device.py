"""Where training and inference run: the one place that turns ``"auto"`` into a device."""

from __future__ import annotations

import torch

from srmer.errors import ConfigError


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device a ``device:`` option names.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` or ``None``: CUDA when available, else the CPU; anything else (``"cpu"``,
        ``"cuda"``, ``"cuda:1"``, a :class:`torch.device`) is passed to :class:`torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    ConfigError
        ``device`` is not a device name.
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"device: {device!r} is not a torch device (use auto, cpu, cuda or cuda:N)"
        ) from exc


__all__ = ["resolve_device"]
