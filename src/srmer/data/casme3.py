"""CAS(ME)^3 part A loader (Li et al., IEEE TPAMI 2022): labelled micro-expressions in long videos.

The database itself cannot be inspected here; the layout below is assembled from public code that reads
it (documented in docs/datasets.md) and is an assumption to be checked against a licensed copy::

    root/                                   (the part_A folder, or a folder above it)
      annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx    sheet "label" (or the first sheet)
      data/part_A/spNO.1/a/color/0.jpg ...  RGB frames of the whole video "a", numbered from 0

Sheet columns: ``Subject`` (``spNO.1``), ``Filename`` (the video, ``a``), ``Onset``, ``Apex``,
``Offset`` (frame numbers of that video, the ``JpgIndex`` of the file name), ``AU``,
``Objective class``, ``emotion`` (happy, disgust, fear, anger, sad, surprise, others). One video holds
several micro-expressions, so a clip is identified by ``(Subject, Filename_Onset)`` (``a_355``). Folder
names sometimes spell the subject ``spNo.1``: subjects and videos are matched case-insensitively.

The cut-clip release (``Part_A_ME_clip/frame/spNO.1_a_355/355.jpg``) is read as well
(``layout="clips"``).
"""

from __future__ import annotations

import re
from pathlib import Path

from srmer.data.sample import SampleSet
from srmer.data.sheets import (
    MISSING_FOLDER,
    ClipRecord,
    Problem,
    Scan,
    attach_frames,
    build_sample_set,
    cell,
    check_apex,
    find_files,
    given_sheet,
    mark_duplicates,
    mark_unknown_emotions,
    parse_onset_offset,
    read_sheet_with_preamble,
    require_columns,
)
from srmer.errors import DatasetError

COLUMNS = {
    "subject": ("Subject", "sub"),
    "filename": ("Filename", "seq"),
    "onset": ("Onset",),
    "apex": ("Apex",),
    "offset": ("Offset",),
    "aus": ("AU", "Action Units"),
    "objective": ("Objective class", "Objective classes"),
    "emotion": ("emotion", "Estimated Emotion"),
}
FRAME = re.compile(r"(\d+)\.(?:jpg|jpeg|png|bmp)", re.I)
SUBJECT = re.compile(r"sp_?no\.?\d+", re.I)
SHEET_PATTERNS = ("*part_A*ME*label*.xlsx", "*part_A*ME*label*.xls", "*part_A*ME*.xlsx")
LAYOUTS = ("auto", "videos", "clips")


def find_sheet(root: Path, sheet: str | Path | None = None) -> Path:
    """``sheet`` if given, else the part A micro-expression label sheet under ``root`` (newest name)."""
    if sheet is not None:
        return given_sheet(root, sheet, "CAS(ME)^3 label sheet")
    found = [p for p in find_files(root, SHEET_PATTERNS, depth=3) if "mae" not in p.name.lower()]
    if not found:
        raise DatasetError(
            f"no CAS(ME)^3 part A label sheet (cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx) under {root}; "
            f"pass sheet=PATH"
        )
    return max(found, key=lambda p: p.name.lower())


def _dirs_ci(d: Path) -> dict[str, Path]:
    return {p.name.lower(): p for p in d.iterdir() if p.is_dir()}


def find_video_root(root: Path, depth: int = 4) -> Path | None:
    """The folder whose sub-folders are subjects (``spNO.1``) holding video folders with ``color/``."""
    level = [root]
    for _ in range(depth + 1):
        for d in level:
            subs = [p for p in d.iterdir() if p.is_dir() and SUBJECT.fullmatch(p.name)]
            if any((v / "color").is_dir() for s in subs[:5] for v in s.iterdir() if v.is_dir()):
                return d
        level = [p for d in level for p in sorted(d.iterdir()) if p.is_dir()]
    return None


def find_clip_root(root: Path, depth: int = 4) -> Path | None:
    """The folder of cut clips named ``spNO.1_a_355``."""
    pat = re.compile(r"sp_?no\.?\d+_[^_]+_\d+", re.I)
    level = [root]
    for _ in range(depth + 1):
        for d in level:
            if any(p.is_dir() and pat.fullmatch(p.name) for p in d.iterdir()):
                return d
        level = [p for d in level for p in sorted(d.iterdir()) if p.is_dir()]
    return None


def _read(sheet_path: Path):
    if sheet_path.suffix.lower() != ".csv":
        from openpyxl import load_workbook

        try:
            names = load_workbook(sheet_path, read_only=True).sheetnames
        except Exception:
            names = []
        if "label" in names:
            return read_sheet_with_preamble(sheet_path, sheet_name="label")
    return read_sheet_with_preamble(sheet_path, sheet_name=0)  # releases with one unnamed worksheet


def scan_casme3(root: str | Path, sheet: str | Path | None = None, layout: str = "auto") -> Scan:
    """Read the part A label sheet and list each clip's frames (no image is opened)."""
    if layout not in LAYOUTS:
        raise DatasetError(f"unknown CAS(ME)^3 layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    root = Path(root)
    sheet_path = find_sheet(root, sheet)
    video_root = find_video_root(root) if layout in ("auto", "videos") else None
    clip_root = find_clip_root(root) if video_root is None and layout in ("auto", "clips") else None
    if video_root is None and clip_root is None:
        raise DatasetError(
            f"no CAS(ME)^3 part A frames under {root} (expected data/part_A/spNO.1/a/color/0.jpg or "
            f"Part_A_ME_clip/frame/spNO.1_a_355/355.jpg); pass the part_A folder as root"
        )
    df = _read(sheet_path)
    cols = require_columns(df, COLUMNS, sheet_path, optional=("aus", "objective"))
    what = f"the sheet {sheet_path.name}"
    subjects = _dirs_ci(video_root) if video_root is not None else {}
    clips = _dirs_ci(clip_root) if clip_root is not None else {}
    records = []
    for i, row in df.iterrows():
        subject, video = cell(row, cols["subject"]), cell(row, cols["filename"])
        if not subject and not video:
            continue
        onset_txt = cell(row, cols["onset"])
        rec = ClipRecord(
            subject=subject,
            clip=f"{video}_{onset_txt}",
            emotion=cell(row, cols["emotion"]).lower(),
            extra={
                "video": video,
                "action_units": cell(row, cols["aus"]),
                "objective_class": cell(row, cols["objective"]),
                "sheet_row": int(i) + 2,
            },
        )
        parse_onset_offset(rec, row, cols, what)
        if video_root is not None:
            sdir = subjects.get(subject.lower())
            vdir = _dirs_ci(sdir).get(video.lower()) if sdir is not None else None
            folder = (
                (vdir / "color") if vdir is not None else video_root / subject / video / "color"
            )
        else:
            folder = clips.get(
                f"{subject}_{video}_{onset_txt}".lower(),
                clip_root / f"{subject}_{video}_{onset_txt}",
            )
        if not folder.is_dir():
            rec.problems.append(
                Problem(
                    MISSING_FOLDER,
                    f"frame folder {folder} does not exist",
                    "restore the folder or remove the row",
                )
            )
        else:
            attach_frames(rec, folder, FRAME, what)
        check_apex(rec, cell(row, cols["apex"]), what)
        records.append(rec)
    mark_duplicates(records)
    mark_unknown_emotions(records, "casme3")
    return Scan("casme3", root, records, {"sheet": sheet_path, "frames": video_root or clip_root})


def load_casme3(
    root: str | Path,
    classes: str = "4class",
    sheet: str | Path | None = None,
    layout: str = "auto",
) -> SampleSet:
    """Load CAS(ME)^3 part A micro-expressions.

    Parameters
    ----------
    root : str or Path
        The ``part_A`` folder (or a folder above it) holding the label sheet and the frames.
    classes : str
        ``4class`` (happy -> positive; disgust, fear, anger, sad -> negative; surprise; others),
        ``megc3`` (others dropped), ``7class`` / ``raw`` (the 7 emotions).
    sheet : str or Path, optional
        Label sheet; by default the ``*part_A*ME*label*`` file found under ``root``.
    layout : {"auto", "videos", "clips"}
        ``videos``: ``data/part_A/spNO.1/a/color/N.jpg`` (frames of the whole video; the clip is
        onset..offset of it); ``clips``: ``.../spNO.1_a_355/N.jpg`` folders.

    Returns
    -------
    SampleSet
        Clip ids ``{video}_{onset}`` (``a_355``), subjects as spelt in the sheet (``spNO.1``), RGB
        frames onset..offset. Rows with onset after offset or frames absent (e.g. spNO.216 ``d`` and
        ``e`` in public versions of the sheet) are in ``skipped``.
    """
    return build_sample_set(scan_casme3(root, sheet=sheet, layout=layout), classes)
