"""RAF-DB basic loader (Li et al., CVPR 2017): static aligned faces and their 7-class labels.

Layout::

    root/basic/Image/aligned/train_00001_aligned.jpg     100x100 aligned faces
    root/basic/Image/original/train_00001.jpg            (variant "original")
    root/basic/EmoLabel/list_patition_label.txt          lines "train_00001.jpg 5"

Labels 1..7 are Surprise, Fear, Disgust, Happiness, Sadness, Anger, Neutral. Every image is a
:class:`~srmer.data.sample.Sample` with one frame; RAF-DB has no identity labels, so ``subject`` is the
image name (``train_00001``) and the split is in ``extra["split"]``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.data.sheets import (
    BAD_ANNOTATION,
    MISSING_FRAMES,
    UNKNOWN_EMOTION,
    ClipRecord,
    Problem,
    Scan,
    build_sample_set,
    find_dir,
    mark_duplicates,
)
from srmer.errors import DatasetError

LABELS = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
LABEL_FILE = "list_patition_label.txt"  # sic: the release spells it "patition"
LINE = re.compile(r"(\S+)\s+(\S+)")
SPLITS = ("train", "test", "all")
VARIANTS = ("aligned", "original")


def find_basic(root: Path) -> Path:
    """The ``basic`` folder (``root/basic``, ``root`` itself or up to two levels below)."""
    if (root / "EmoLabel").is_dir():
        return root
    d = find_dir(root, ("basic",))
    if d is None or not (d / "EmoLabel").is_dir():
        raise DatasetError(
            f"no RAF-DB basic folder (basic/EmoLabel/{LABEL_FILE}) under {root}; pass the folder that "
            f"holds basic/"
        )
    return d


def scan_rafdb(root: str | Path, split: str = "all", variant: str = "aligned") -> Scan:
    """Read the label list and check each image exists (one directory listing, no image decoded)."""
    if split not in SPLITS:
        raise DatasetError(f"unknown RAF-DB split {split!r}; use one of {', '.join(SPLITS)}")
    if variant not in VARIANTS:
        raise DatasetError(f"unknown RAF-DB variant {variant!r}; use one of {', '.join(VARIANTS)}")
    root = Path(root)
    basic = find_basic(root)
    label_path = basic / "EmoLabel" / LABEL_FILE
    if not label_path.is_file():
        raise DatasetError(
            f"RAF-DB label list {label_path} does not exist; restore it from the release"
        )
    img_dir = basic / "Image" / variant
    if not img_dir.is_dir():
        raise DatasetError(
            f"RAF-DB image folder {img_dir} does not exist; pass variant='aligned' or "
            f"'original' to match your copy"
        )
    with os.scandir(img_dir) as it:
        present = {e.name for e in it if e.is_file()}
    records = []
    for n, line in enumerate(label_path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        m = LINE.fullmatch(line.strip())
        name = m.group(1) if m else line.strip()
        stem = Path(name).stem
        this_split = stem.split("_")[0]
        if split != "all" and this_split != split:
            continue
        rec = ClipRecord(
            subject=stem, clip=stem, emotion="", extra={"split": this_split, "label_line": n}
        )
        if m is None:
            rec.problems.append(
                Problem(
                    BAD_ANNOTATION,
                    f"line {n} of {label_path.name} is not 'NAME LABEL': {line.strip()!r}",
                    "correct the line",
                )
            )
            records.append(rec)
            continue
        code = m.group(2)
        if code.isdigit() and 1 <= int(code) <= len(LABELS):
            rec.emotion = LABELS[int(code) - 1]
        else:
            rec.emotion = code
            rec.problems.append(
                Problem(
                    UNKNOWN_EMOTION,
                    f"label {code!r} on line {n} of {label_path.name} is not 1..7",
                    "correct the label",
                )
            )
        file = f"{stem}_aligned{Path(name).suffix}" if variant == "aligned" else name
        if file not in present:
            rec.problems.append(
                Problem(
                    MISSING_FRAMES,
                    f"image {img_dir / file} is missing",
                    "restore the image or remove its line",
                )
            )
        else:
            rec.frames = (img_dir / file,)
            rec.frame_numbers = (0,)
        records.append(rec)
    mark_duplicates(records)
    return Scan("rafdb", root, records, {"labels": label_path, "frames": img_dir})


def load_rafdb(
    root: str | Path,
    classes: str = "7class",
    split: str = "train",
    variant: str = "aligned",
) -> SampleSet:
    """Load RAF-DB basic.

    Parameters
    ----------
    root : str or Path
        Folder holding ``basic/``.
    classes : str
        ``7class`` (or ``raw``): the 7 labels in RAF-DB's order; ``4class`` groups them like the
        micro-expression maps (happiness -> positive; fear, disgust, sadness, anger -> negative;
        surprise; neutral -> others).
    split : {"train", "test", "all"}
        Images whose name starts with ``train_`` / ``test_``, or both.
    variant : {"aligned", "original"}
        ``Image/aligned/NAME_aligned.jpg`` (100x100) or ``Image/original/NAME.jpg``.

    Returns
    -------
    SampleSet
        One single-frame Sample per image; missing images, bad lines, labels outside 1..7 and repeated
        names are in ``skipped``.
    """
    return build_sample_set(scan_rafdb(root, split=split, variant=variant), classes)
