"""CASME II loader (Yan et al., PLoS ONE 2014): official folder layout and coding sheet.

Layout::

    root/
      CASME2-coding-20140508.xlsx            (or -20190701, or an "updated" sheet)
      CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...   (variant "raw")
      Cropped/sub01/EP02_01f/reg_img46.jpg ...           (variant "cropped")

Only the onset..offset frames are present, numbered by the sheet's frame numbers. A clip is identified by
``(Subject, Filename)``: the same ``Filename`` occurs under several subjects.
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
    find_dir,
    find_files,
    given_sheet,
    incomplete_row_problem,
    mark_duplicates,
    mark_unknown_emotions,
    parse_onset_offset,
    read_sheet,
    require_columns,
)
from srmer.errors import DatasetError

COLUMNS = {
    "subject": ("Subject",),
    "filename": ("Filename", "File name"),
    "onset": ("OnsetFrame", "Onset Frame", "Onset"),
    "apex": ("ApexFrame", "Apex Frame", "Apex"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "aus": ("Action Units", "AUs"),
    "emotion": ("Estimated Emotion", "Emotion"),
}
VARIANTS = {
    "raw": (("CASME2_RAW_selected",), re.compile(r"img(\d+)\.(?:jpg|jpeg|png|bmp)", re.I)),
    "cropped": (("Cropped",), re.compile(r"reg_img(\d+)\.(?:jpg|jpeg|png|bmp)", re.I)),
}
SHEET_PATTERNS = (
    "CASME2*coding*.xlsx",
    "CASME2*coding*.xls",
    "CASME2*coding*.csv",
    "CASME2*code*.xlsx",
)


def _sheet_rank(p: Path) -> tuple[int, str]:
    """Prefer the newest release: an 'updated' sheet, then 20190701, then 20140508."""
    n = p.name.lower()
    return (2 if "updat" in n else 1 if "2019" in n else 0, n)


def find_sheet(root: Path, sheet: str | Path | None = None) -> Path:
    """The coding sheet to use: ``sheet`` if given (relative to ``root`` or absolute), else the newest
    ``CASME2*coding*`` file at ``root`` or up to two folders below."""
    if sheet is not None:
        return given_sheet(root, sheet, "CASME II coding sheet")
    found = find_files(root, SHEET_PATTERNS)
    if not found:
        raise DatasetError(
            f"no CASME II coding sheet (CASME2-coding-20140508.xlsx or a later one) under {root}; "
            f"put the sheet in the dataset root or pass sheet=PATH"
        )
    return max(found, key=_sheet_rank)


def find_frames_root(root: Path, variant: str = "auto") -> tuple[Path, str]:
    """The folder holding ``subXX`` folders and the variant it is (``raw`` or ``cropped``)."""
    if variant not in ("auto", *VARIANTS):
        raise DatasetError(f"unknown CASME II variant {variant!r}; use auto, raw or cropped")
    for v in ("raw", "cropped") if variant == "auto" else (variant,):
        d = find_dir(root, VARIANTS[v][0])
        if d is not None:
            return d, v
    want = (
        " or ".join("/".join(VARIANTS[v][0]) for v in VARIANTS)
        if variant == "auto"
        else VARIANTS[variant][0][0]
    )
    raise DatasetError(
        f"no CASME II frame folder ({want}) under {root}; pass the folder that holds it as root"
    )


def subject_id(text: str) -> str:
    """Sheet subject cell -> the dataset's text id (``'1'``, ``'01'``, ``'sub01'`` -> ``'01'``)."""
    t = text.strip()
    if t.lower().startswith("sub"):
        t = t[3:]
    t = t.strip()
    if re.fullmatch(r"\d+(\.0*)?", t):
        t = f"{int(float(t)):02d}"
    return t


def scan_casme2(root: str | Path, variant: str = "auto", sheet: str | Path | None = None) -> Scan:
    """Read the coding sheet and list each clip's frames (no image is opened).

    Returns
    -------
    Scan
        One record per sheet row, with every problem found (see :mod:`srmer.data.sheets`).

    Raises
    ------
    DatasetError
        No sheet or frame folder, an unreadable sheet, or a sheet missing a required column.
    """
    root = Path(root)
    sheet_path = find_sheet(root, sheet)
    frames_root, variant = find_frames_root(root, variant)
    pattern = VARIANTS[variant][1]
    df = read_sheet(sheet_path)
    cols = require_columns(df, COLUMNS, sheet_path, optional=("aus",))
    what = f"the sheet {sheet_path.name}"
    records = []
    for i, row in df.iterrows():
        subject_txt, clip = cell(row, cols["subject"]), cell(row, cols["filename"])
        if not subject_txt and not clip:
            continue  # blank trailing rows
        row_number = int(i) + 2  # Excel row: header on row 1
        rec = ClipRecord(
            subject=subject_id(subject_txt),
            clip=clip,
            emotion=cell(row, cols["emotion"]).lower(),
            extra={"action_units": cell(row, cols["aus"]), "sheet_row": row_number},
        )
        parse_onset_offset(rec, row, cols, what, row_number)
        if not subject_txt or not clip:
            rec.problems.append(incomplete_row_problem(what, row_number))
        else:
            attach_frames(rec, frames_root / f"sub{rec.subject}" / clip, pattern, what)
        check_apex(rec, cell(row, cols["apex"]), what)
        records.append(rec)
    mark_duplicates(records)
    mark_unknown_emotions(records, "casme2")
    return Scan("casme2", root, records, {"sheet": sheet_path, "frames": frames_root})


def load_casme2(
    root: str | Path,
    classes: str = "4class",
    variant: str = "auto",
    sheet: str | Path | None = None,
) -> SampleSet:
    """Load CASME II from its official layout.

    Parameters
    ----------
    root : str or Path
        Folder holding the coding sheet and ``CASME2_RAW_selected`` (or ``Cropped``), directly or up to
        two levels below.
    classes : str
        Class map: ``4class``, ``5class``, ``megc3`` or ``raw`` (see :mod:`srmer.data.classmaps`).
    variant : {"auto", "raw", "cropped"}
        Frame folder: ``CASME2_RAW_selected/.../imgN.jpg`` or ``Cropped/.../reg_imgN.jpg``; ``auto``
        prefers the raw selection when both exist.
    sheet : str or Path, optional
        Coding sheet to use; by default the newest ``CASME2*coding*`` file found (updated > 20190701 >
        20140508).

    Returns
    -------
    SampleSet
        Clips with subject ids as text (``'01'``), frames onset..offset, apex ``None`` when the sheet's
        apex is not a frame number within onset..offset (sub04 EP12_01f has ``/``). Clips with missing
        frames, onset/offset outside the frames present, unknown emotions or duplicate rows are in
        ``skipped``; clips whose emotion the map drops (e.g. sadness under ``5class``) are left out.

    Raises
    ------
    DatasetError
        No sheet, no frame folder, or the sheet lacks a required column (the message names it).
    """
    return build_sample_set(scan_casme2(root, variant=variant, sheet=sheet), classes)
