"""Leakage guard for the SR training pool: refuse a ``sr_pool`` that holds evaluation data.

SR models are trained on ``sr_pool`` (HR faces of people who are *not* evaluation subjects). A pool
that shares images or people with an evaluated dataset lets the SR model learn the test faces, which
inflates every SR result. :func:`check_sr_pool` runs the checks that can be made from the files:

1. **location**: the pool folder must not be a dataset root, lie inside one or contain one
   (resolved paths, so symlinks do not hide it);
2. **copies**: no pool image may be byte-identical to an evaluation frame (files are compared by
   size first, and only the frames whose size equals a pool file's are read and hashed, so the check
   stays cheap on a full dataset);
3. **identities**: where both sides carry synthetic identity metadata (``pool_meta.json`` of
   :func:`~srmer.data.synthetic.generate_sr_pool` and ``synthetic_meta.json`` of
   :func:`~srmer.data.synthetic.generate`), the pool's identities must be disjoint from the
   evaluation subjects'.

What cannot be checked: a real pool of *other* photos of the evaluation subjects, or re-encoded,
resized or cropped copies of their frames, share no bytes with the frames and carry no identity
labels, so they are undetectable here; such a pool is reported ``"unchecked"`` and the user remains
responsible for it holding none of the evaluation subjects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from srmer.bench.stages.sr_prepare import sr_pool_images
from srmer.data.sample import Sample
from srmer.data.synthetic import META_FILE
from srmer.errors import ConfigError

#: the identity file :func:`~srmer.data.synthetic.generate_sr_pool` writes in the pool folder
POOL_META_FILE = "pool_meta.json"

_FIX = "give a folder of faces of other people"
# generate_sr_pool's file names: identity i's frames are id{i:03d}/frame_NNN.png
_POOL_DIR = re.compile(r"id(\d+)")
_POOL_FRAME = re.compile(r"frame_\d+\.png")


@dataclass(frozen=True)
class PoolCheck:
    """Outcome of :func:`check_sr_pool` for a pool that was not refused.

    Attributes
    ----------
    status : {"checked", "unchecked"}
        ``"checked"``: identity metadata on both sides shows the pool's identities are disjoint from
        every evaluated dataset's subjects; ``"unchecked"``: the identities cannot be verified (only
        location and byte copies were checked).
    message : str
        One line for the run log and the report's provenance.
    n_pool_images : int
        Number of images found in the pool folder.
    """

    status: Literal["checked", "unchecked"]
    message: str
    n_pool_images: int


def check_sr_pool(pool: Path, datasets: Sequence[tuple[str, Path, Sequence[Sample]]]) -> PoolCheck:
    """Refuse an SR pool that holds evaluation data; report whether its identities were verified.

    Checked, in this order: the pool folder is not a dataset root, inside one or containing one
    (resolved paths); no pool image is byte-identical to an evaluation frame (size prefilter with
    :func:`os.stat`, then SHA-256 of the same-size candidates only); where the pool and a dataset
    both carry synthetic identity metadata, their identities are disjoint.

    Not detectable: other images (not byte copies) of the evaluation subjects in a pool without
    identity labels, e.g. a real pool holding more photos of the same people. Such pools, and any
    pool or dataset without identity metadata, are returned as ``"unchecked"``.

    Parameters
    ----------
    pool : Path
        The config's ``sr_pool`` folder (listed like the SR preparation stage lists it).
    datasets : sequence of (str, Path, sequence of Sample)
        For each evaluated dataset: its name, its root folder and its loaded samples (their
        ``frames`` are the evaluation frames).

    Returns
    -------
    PoolCheck
        ``"checked"`` when identities were verified disjoint, ``"unchecked"`` otherwise.

    Raises
    ------
    ConfigError
        Naming ``sr_pool``, the pool path, the dataset and what overlaps: the pool is, is inside or
        contains a dataset root; it holds byte copies of evaluation frames; or its identity metadata
        shares identities with a dataset's.
    """
    pool = Path(pool)
    for name, root, _ in datasets:
        _check_location(pool, name, Path(root))
    images = [Path(p) for p in sr_pool_images(pool)]
    digests: dict[Path, str] = {}
    by_size = _by_size(images)
    for name, _, samples in datasets:
        _check_copies(pool, len(images), by_size, digests, name, samples)
    return _check_identities(pool, images, datasets)


def _where(pool: Path) -> str:
    resolved = pool.resolve()
    return f"{pool}" if resolved == pool.absolute() else f"{pool} (resolved: {resolved})"


def _check_location(pool: Path, name: str, root: Path) -> None:
    p, r = pool.resolve(), root.resolve()
    if p == r:
        what = f"is the root of dataset {name!r}"
    elif p.is_relative_to(r):
        what = f"lies inside the root {root} of dataset {name!r}"
    elif r.is_relative_to(p):
        what = f"contains the root {root} of dataset {name!r}, so it holds its evaluation frames"
    else:
        return
    raise ConfigError(
        f"config field `sr_pool`: {_where(pool)} {what}; SR models trained on it would learn the "
        f"evaluation subjects' faces; {_FIX}"
    )


def _by_size(images: list[Path]) -> dict[int, list[Path]]:
    out: dict[int, list[Path]] = {}
    for p in images:
        try:
            out.setdefault(os.stat(p).st_size, []).append(p)
        except OSError:
            continue  # a vanished or unreadable file holds no bytes to compare
    return out


def _digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _check_copies(
    pool: Path,
    n_images: int,
    by_size: dict[int, list[Path]],
    digests: dict[Path, str],
    name: str,
    samples: Sequence[Sample],
) -> None:
    copies: dict[Path, Path] = {}  # pool image -> the first evaluation frame it copies
    seen: set[Path] = set()
    for sample in samples:
        for frame in sample.frames:
            if frame in seen:
                continue
            seen.add(frame)
            try:
                candidates = by_size.get(os.stat(frame).st_size)
            except OSError:
                continue
            # only a frame whose size equals a pool file's can be a copy: the others are never read
            if not candidates:
                continue
            h = _digest(frame)
            for c in candidates:
                if c not in digests:
                    digests[c] = _digest(c)
                if digests[c] == h:
                    copies.setdefault(c, frame)
    if copies:
        first = min(copies)
        raise ConfigError(
            f"config field `sr_pool`: {len(copies)} of the {n_images} images of {_where(pool)} "
            f"are byte-identical copies of evaluation frames of dataset {name!r} (e.g. {first} = "
            f"{copies[first]}); SR models trained on them would learn the evaluation subjects' "
            f"faces; {_FIX}"
        )


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pool_identities(pool: Path, images: list[Path]) -> tuple[set[tuple[int, ...]] | None, str]:
    """The pool's synthetic identities, or ``None`` and why they are unknown."""
    meta = pool / POOL_META_FILE
    if not meta.is_file():
        return None, f"the pool has no identity labels ({POOL_META_FILE})"
    data = _read_json(meta)
    try:
        ids = [tuple(int(v) for v in k) for k in data["identities"]]  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        return None, f"{meta} is unreadable"
    # the metadata vouches only for the files generate_sr_pool wrote: an image added to the folder
    # afterwards (a real photo, say) is of an unknown person
    for img in images:
        parts = img.relative_to(pool).parts
        m = _POOL_DIR.fullmatch(parts[0]) if len(parts) == 2 else None
        if not (
            m
            and int(m.group(1)) < len(ids)
            and parts[0] == f"id{int(m.group(1)):03d}"
            and _POOL_FRAME.fullmatch(parts[1])
        ):
            return None, f"{img} is not one of the identities {meta} describes"
    return set(ids), ""


def _dataset_identities(
    name: str, root: Path, samples: Sequence[Sample]
) -> tuple[set[tuple[int, ...]] | None, str]:
    """The identities of a dataset's loaded samples, or ``None`` and why they are unknown."""
    meta = Path(root) / META_FILE
    if not meta.is_file():
        return None, f"dataset {name!r} has no identity labels ({META_FILE})"
    data = _read_json(meta)
    try:
        by_clip = {
            (str(c["subject"]), str(c["clip"])): tuple(int(v) for v in c["identity"])
            for c in data["clips"]  # type: ignore[index]
        }
    except (TypeError, KeyError, ValueError):
        return None, f"{meta} holds no readable identity labels"
    out = set()
    for s in samples:
        # a clip the metadata does not list (added to the tree by hand) is of an unknown person
        ident = by_clip.get((s.subject, s.clip))
        if ident is None:
            return None, f"clip {s.key} of dataset {name!r} is not listed in {meta}"
        out.add(ident)
    return out, ""


def _check_identities(
    pool: Path, images: list[Path], datasets: Sequence[tuple[str, Path, Sequence[Sample]]]
) -> PoolCheck:
    names = ", ".join(repr(name) for name, _, _ in datasets) or "no dataset"
    head = f"sr_pool {pool}: {len(images)} images, no copies of evaluation frames;"

    def unchecked(reason: str) -> PoolCheck:
        return PoolCheck(
            "unchecked",
            f"{head} their identities cannot be checked against the evaluation subjects of "
            f"{names} ({reason}); the pool must hold none of them",
            len(images),
        )

    pool_ids, reason = _pool_identities(pool, images)
    if pool_ids is None:
        return unchecked(reason)
    unknown: list[str] = []
    n_eval = 0
    for name, root, samples in datasets:
        eval_ids, why = _dataset_identities(name, root, samples)
        if eval_ids is None:
            unknown.append(why)
            continue
        n_eval += len(eval_ids)
        shared = sorted(pool_ids & eval_ids)
        if shared:
            shown = ", ".join(str(list(k)) for k in shared[:3]) + (
                ", ..." if len(shared) > 3 else ""
            )
            raise ConfigError(
                f"config field `sr_pool`: {_where(pool)} holds {len(shared)} identities that are "
                f"evaluation subjects of dataset {name!r} ({shown}, by {pool / POOL_META_FILE} and "
                f"{Path(root) / META_FILE}); SR models trained on it would learn their faces; {_FIX}"
            )
    if unknown:
        return unchecked("; ".join(unknown))
    return PoolCheck(
        "checked",
        f"{head} its {len(pool_ids)} synthetic identities are disjoint from the {n_eval} "
        f"evaluation identities of {names} (identity metadata of both sides)",
        len(images),
    )
