"""Writing files atomically, with the permissions the user's umask gives.

It lives in the training layer because checkpoints are its first user; the layers above (SR
checkpoints, the stage cache, run outputs) import it from here.

Every file srmer writes that a killed run must never leave half-written (cache entries, run outputs,
checkpoints) goes through :func:`atomic_write`: the data is written to a temporary file in the same
folder and renamed over the target. :func:`tempfile.mkstemp` creates that file with mode 0600
whatever the umask, so it is set to ``0666 & ~umask`` before the rename, as :func:`open` would have
created it; run directories shared by a group stay readable by it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO


def umask_mode() -> int:
    """The mode a new regular file gets under the current umask (``0o666 & ~umask``)."""
    # os.umask can only be read by setting it; set it back at once
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically.

    Parameters
    ----------
    path : str or PathLike
        The target file (its folder is created).
    mode : str
        ``"wb"`` or ``"w"`` (text, UTF-8).

    Notes
    -----
    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, umask_mode())
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
        # No fsync: the rename alone makes a killed run leave whole files or none (the data is in
        # the OS page cache); fsync per cache entry cost ~20 ms and serialised parallel workers.
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[IO], None]) -> Path:
    """Write ``data`` (bytes, text, or a function writing to a binary file object) atomically.

    Returns the target path.
    """
    if callable(data):
        with atomic_open(path, "wb") as fh:
            data(fh)
    else:
        with atomic_open(path, "w" if isinstance(data, str) else "wb") as fh:
            fh.write(data)
    return Path(path)
