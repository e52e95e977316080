"""SAMM loader (Davison et al., IEEE TAC 2018): official folder layout and FACS coding sheet.

Layout::

    root/
      SAMM_Micro_FACS_Codes_v2.xlsx        sheet MICRO_ONLY, header on Excel row 14 (13 preamble rows)
      SAMM/006/006_1_2/006_05562.jpg ...   grey frames: subject/clip/subject_5-digit-frame.jpg

Sheet columns: ``Subject`` ('006', text), ``Filename``, ``Inducement Code``, ``Onset Frame``,
``Apex Frame``, ``Offset Frame``, ``Duration``, ``Micro``, ``Action Units``, ``Estimated Emotion``,
``Objective Classes``, ``Notes``. Emotions are title case in v2 and are matched case-insensitively.
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
    cell,
    check_apex,
    find_files,
    given_sheet,
    incomplete_row_problem,
    mark_duplicates,
    mark_unknown_emotions,
    parse_onset_offset,
    read_sheet_with_preamble,
    require_columns,
)
from srmer.errors import DatasetError

COLUMNS = {
    "subject": ("Subject",),
    "filename": ("Filename",),
    "onset": ("Onset Frame", "Onset"),
    "apex": ("Apex Frame", "Apex"),
    "offset": ("Offset Frame", "Offset"),
    "aus": ("Action Units",),
    "emotion": ("Estimated Emotion", "Emotion"),
    "objective": ("Objective Classes", "Objective Class"),
}
FRAME = re.compile(r"\d+_(\d+)\.(?:jpg|jpeg|png|bmp)", re.I)
SHEET_PATTERNS = ("SAMM_Micro_FACS_Codes*.xlsx", "SAMM_Micro_FACS_Codes*.xls", "SAMM*FACS*.xlsx")
SHEET_NAME = "MICRO_ONLY"


def find_sheet(root: Path, sheet: str | Path | None = None) -> Path:
    """``sheet`` if given, else the newest ``SAMM_Micro_FACS_Codes*`` file at ``root`` or below."""
    if sheet is not None:
        return given_sheet(root, sheet, "SAMM coding sheet")
    found = find_files(root, SHEET_PATTERNS)
    if not found:
        raise DatasetError(
            f"no SAMM coding sheet (SAMM_Micro_FACS_Codes_v2.xlsx) under {root}; put the sheet in the "
            f"dataset root or pass sheet=PATH"
        )
    return max(found, key=lambda p: p.name.lower())


def find_frames_root(root: Path) -> Path:
    """The folder holding the 3-digit subject folders (``root/SAMM`` or ``root`` itself)."""
    for cand in (root / "SAMM", root / "SAMM" / "SAMM", root):
        if cand.is_dir() and any(
            p.is_dir() and re.fullmatch(r"\d{3}", p.name) for p in cand.iterdir()
        ):
            return cand
    raise DatasetError(
        f"no SAMM frame folders (SAMM/006/006_1_2/...) under {root}; pass the folder that holds SAMM/"
    )


def subject_id(text: str) -> str:
    """``'6'``, ``'006'``, ``'6.0'`` -> ``'006'`` (SAMM ids are 3 digits)."""
    t = text.strip()
    if re.fullmatch(r"\d+(\.0*)?", t):
        return f"{int(float(t)):03d}"
    return t


def scan_samm(
    root: str | Path, sheet: str | Path | None = None, sheet_name: str = SHEET_NAME
) -> Scan:
    """Read the SAMM sheet and list each clip's frames (no image is opened).

    Raises
    ------
    DatasetError
        No sheet or frame folder, a missing worksheet, no header row, or a missing required column.
    """
    root = Path(root)
    sheet_path = find_sheet(root, sheet)
    frames_root = find_frames_root(root)
    df = read_sheet_with_preamble(sheet_path, sheet_name=sheet_name)
    cols = require_columns(df, COLUMNS, sheet_path, optional=("aus", "objective"))
    what = f"the sheet {sheet_path.name} ({sheet_name})"
    records = []
    for i, row in df.iterrows():
        subject_txt, clip = cell(row, cols["subject"]), cell(row, cols["filename"])
        if not subject_txt and not clip:
            continue
        rec = ClipRecord(
            subject=subject_id(subject_txt),
            clip=clip,
            emotion=cell(row, cols["emotion"]).lower(),
            extra={
                "action_units": cell(row, cols["aus"]),
                "objective_class": cell(row, cols["objective"]),
                "sheet_index": int(i),
            },
        )
        parse_onset_offset(rec, row, cols, what)
        if not subject_txt or not clip:
            rec.problems.append(incomplete_row_problem(what))
        else:
            attach_frames(rec, frames_root / rec.subject / clip, FRAME, what)
        check_apex(rec, cell(row, cols["apex"]), what)
        records.append(rec)
    mark_duplicates(records)
    mark_unknown_emotions(records, "samm")
    return Scan("samm", root, records, {"sheet": sheet_path, "frames": frames_root})


def load_samm(
    root: str | Path,
    classes: str = "4class",
    sheet: str | Path | None = None,
    sheet_name: str = SHEET_NAME,
) -> SampleSet:
    """Load SAMM from its official layout.

    Parameters
    ----------
    root : str or Path
        Folder holding ``SAMM_Micro_FACS_Codes_v2.xlsx`` and ``SAMM/``.
    classes : str
        ``4class``, ``5class``, ``megc3`` or ``raw``.
    sheet : str or Path, optional
        Coding sheet; by default the ``SAMM_Micro_FACS_Codes*`` file found under ``root``.
    sheet_name : str
        Worksheet (``MICRO_ONLY``). The header row is found below the preamble rows.

    Returns
    -------
    SampleSet
        Subjects as 3-digit text (``'006'``), emotions lower case, frames onset..offset. Clips with
        missing frames, onset/offset outside the frames present, unknown emotions or duplicate rows are
        in ``skipped``.
    """
    return build_sample_set(scan_samm(root, sheet=sheet, sheet_name=sheet_name), classes)
