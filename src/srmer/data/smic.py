"""SMIC-HS loader (Li et al., FG 2013): labels from the folder layout, no sheet.

Layout::

    root/HS/s1/micro/negative/s1_ne_01/image559740.bmp ...
    root/HS/s1/non_micro/...            (ignored: not micro-expressions)

Subject folders are not zero padded (``s1`` .. ``s20``; MEGC lists spell them ``s01``). A clip folder
holds its frames from the onset to the offset; there is no apex annotation, so the apex is the middle
frame ``onset + (offset - onset) // 2`` by default (``apex="none"`` leaves it unknown for a motion-based
spotter to choose).
"""

from __future__ import annotations

import re
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.data.sheets import (
    ClipRecord,
    Scan,
    attach_frames,
    build_sample_set,
    find_dir,
    list_frames,
    mark_duplicates,
    mark_unknown_emotions,
)
from srmer.errors import DatasetError

FRAME = re.compile(r"image(\d+)\.(?:bmp|jpg|jpeg|png)", re.I)
SUBJECT = re.compile(r"s\d+", re.I)


def find_hs_root(root: Path) -> Path:
    """The folder holding ``s1``, ``s2``, ...: ``root/HS`` (searched up to two levels down) or ``root``."""
    if _has_subjects(root) and root.name.upper() == "HS":
        return root
    d = find_dir(root, ("HS",))
    if d is not None and _has_subjects(d):
        return d
    if _has_subjects(root):
        return root
    raise DatasetError(
        f"no SMIC-HS folder (HS/s1/micro/negative/s1_ne_01/...) under {root}; pass the folder that holds HS/"
    )


def _has_subjects(d: Path) -> bool:
    return d.is_dir() and any(p.is_dir() and SUBJECT.fullmatch(p.name) for p in d.iterdir())


def _key(p: Path) -> tuple[int, str]:
    m = re.search(r"\d+", p.name)
    return (int(m.group()) if m else 0, p.name)


def scan_smic(root: str | Path, apex: str = "middle") -> Scan:
    """List the clips of the ``micro`` folders (no image is opened).

    Parameters
    ----------
    root : str or Path
    apex : {"middle", "none"}
        Apex rule (SMIC has no apex annotation).
    """
    if apex not in ("middle", "none"):
        raise DatasetError(f"unknown SMIC apex rule {apex!r}; use 'middle' or 'none'")
    root = Path(root)
    hs = find_hs_root(root)
    records = []
    for subj in sorted(
        (p for p in hs.iterdir() if p.is_dir() and SUBJECT.fullmatch(p.name)), key=_key
    ):
        micro = subj / "micro"
        if not micro.is_dir():
            continue  # a subject with no micro-expression clip (only non_micro) contributes nothing
        for cls in sorted(p for p in micro.iterdir() if p.is_dir()):
            for clip_dir in sorted((p for p in cls.iterdir() if p.is_dir()), key=_key):
                rec = ClipRecord(
                    subject=subj.name,
                    clip=clip_dir.name,
                    emotion=cls.name.lower(),
                    extra={"apex_source": apex},
                )
                frames = list_frames(clip_dir, FRAME)
                if frames:
                    # the folder spans onset..offset by construction; gaps inside are missing frames
                    rec.onset, rec.offset = min(frames), max(frames)
                attach_frames(rec, clip_dir, FRAME, "the clip folder")
                if rec.fatal is None and apex == "middle":
                    rec.apex = rec.onset + (rec.offset - rec.onset) // 2
                records.append(rec)
    mark_duplicates(records)
    mark_unknown_emotions(records, "smic")
    return Scan("smic", root, records, {"frames": hs})


def load_smic(root: str | Path, classes: str = "4class", apex: str = "middle") -> SampleSet:
    """Load SMIC-HS from its folder layout.

    Parameters
    ----------
    root : str or Path
        Folder holding ``HS/`` (or ``HS`` itself).
    classes : str
        ``4class`` and ``megc3`` both keep SMIC's 3 classes (negative, positive, surprise); ``raw``
        likewise.
    apex : {"middle", "none"}
        ``middle``: ``onset + (offset - onset) // 2`` (the usual choice); ``none``: unknown.

    Returns
    -------
    SampleSet
        Subjects as the folders spell them (``'s1'``); ``non_micro`` clips are ignored; a clip folder
        with a gap in its frame numbers or no frames is in ``skipped``; a class folder other than
        negative/positive/surprise is skipped as an unknown emotion.
    """
    return build_sample_set(scan_smic(root, apex=apex), classes)
