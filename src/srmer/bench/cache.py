"""Content-addressed cache of stage outputs with atomic writes.

A key is the SHA-256 of a canonical JSON document ``{stage, params, inputs, version}``: it changes when
(and only when) the stage, one of its parameters, one of its inputs' keys or the stage's version
changes. Values are written to a temporary file in the same folder and renamed into place, so a run
killed at any moment leaves either the whole entry or none, and a re-run recomputes only what is missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from srmer.train.files import atomic_write

#: bump to invalidate every cache entry (a change of the storage format)
CACHE_FORMAT = 1


def _canonical(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)  # 1.0 and 1 are the same parameter
    return obj


def make_key(
    stage: str,
    params: Mapping[str, Any] | None = None,
    inputs: Sequence[str] = (),
    version: int = 1,
) -> str:
    """Cache key of a stage output.

    Parameters
    ----------
    stage : str
        Stage name (``"lr"``, ``"sr"``, ``"repr"``, ``"fold"``...).
    params : mapping
        Parameters that determine the output.
    inputs : sequence of str
        Keys of the inputs (other cache keys or data fingerprints).
    version : int
        The stage implementation's version.

    Returns
    -------
    str
        64 hex digits.
    """
    doc = {
        "format": CACHE_FORMAT,
        "stage": stage,
        "params": _canonical(params or {}),
        "inputs": list(inputs),
        "version": version,
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the user's umask (:func:`srmer.train.files.atomic_write`)."""
    atomic_write(path, data)


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write(path, text)


class CacheWarning(UserWarning):
    """A damaged cache entry was found and removed (it is recomputed)."""


class Cache:
    """Stage-output store under ``root/<stage>/<key[:2]>/<key>.npz``.

    Values are dicts of numpy arrays (plus JSON-able metadata under ``"meta"``).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, stage: str, key: str) -> Path:
        return self.root / stage / key[:2] / f"{key}.npz"

    def has(self, stage: str, key: str) -> bool:
        return self.path(stage, key).is_file()

    def load(self, stage: str, key: str, expect: Sequence[str] = ()) -> dict[str, Any] | None:
        """The stored value, or ``None`` if absent or unreadable.

        An unreadable entry (truncated, empty, not an ``.npz``, or lacking one of the ``expect``
        arrays) is reported with a :class:`CacheWarning` naming the file, removed, and ``None`` is
        returned so that the caller recomputes it: a damaged cache never stops a run.
        """
        p = self.path(stage, key)
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as z:
                out: dict[str, Any] = {k: z[k] for k in z.files if k != "__meta__"}
                if "__meta__" in z.files:
                    out["meta"] = json.loads(str(z["__meta__"]))
            missing = [k for k in expect if k not in out]
            if missing:
                raise ValueError(f"entry lacks {missing}")
            return out
        # np.load raises all of these for damaged files (EOFError: empty; BadZipFile: truncated;
        # ValueError/KeyError/TypeError: a foreign or half-written payload)
        except (
            OSError,
            EOFError,
            ValueError,
            KeyError,
            TypeError,
            zipfile.BadZipFile,
            json.JSONDecodeError,
        ) as exc:
            warnings.warn(
                f"cache entry {p} is unreadable ({type(exc).__name__}: {exc}); "
                "removed, it will be recomputed",
                CacheWarning,
                stacklevel=2,
            )
            p.unlink(missing_ok=True)
            return None

    def save(
        self, stage: str, key: str, arrays: Mapping[str, np.ndarray], meta: Any = None
    ) -> None:
        """Store arrays (and optional JSON-able ``meta``) atomically."""
        buf = io.BytesIO()
        payload = {k: np.asarray(v) for k, v in arrays.items()}
        if meta is not None:
            payload["__meta__"] = np.array(json.dumps(_canonical(meta)))
        np.savez(buf, **payload)
        atomic_write_bytes(self.path(stage, key), buf.getvalue())

    def get_or_compute(
        self, stage: str, key: str, compute: Callable[[], Mapping[str, np.ndarray]]
    ) -> dict[str, Any]:
        """Load the entry, or compute, store and return it."""
        hit = self.load(stage, key)
        if hit is not None:
            return hit
        value = dict(compute())
        meta = value.pop("meta", None)
        self.save(stage, key, value, meta)
        if meta is not None:
            value["meta"] = meta
        return value

    def info(self) -> dict[str, dict[str, int]]:
        """Entries and bytes per stage."""
        out: dict[str, dict[str, int]] = {}
        if not self.root.is_dir():
            return out
        for stage_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            files = list(stage_dir.rglob("*.npz"))
            out[stage_dir.name] = {
                "entries": len(files),
                "bytes": sum(f.stat().st_size for f in files),
            }
        return out

    def clear(self, stage: str | None = None) -> int:
        """Delete every entry (or one stage's); returns the number of entries removed."""
        target = self.root / stage if stage else self.root
        if not target.exists():
            return 0
        n = sum(1 for _ in target.rglob("*.npz"))
        shutil.rmtree(target)
        return n
