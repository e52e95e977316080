"""Helpers shared by the loaders: annotation sheets, frame listing, clip records and SampleSet building.

Every loader works in two steps. A *scan* reads the annotation (sheet, folder names or label list) and
lists each clip's frame files (a directory listing; no image is opened), producing one
:class:`ClipRecord` per annotated clip together with every :class:`Problem` found. *Building* turns the
records into a :class:`~srmer.data.sample.SampleSet` under one class map: clips with a fatal problem
are skipped (with the reason and the fix), clips whose emotion the map drops are left out silently (the
papers' protocol), the others become :class:`~srmer.data.sample.Sample`. ``srmer data check`` reuses
the scan to report every problem and the counts under every map.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from srmer.data.classmaps import ClassMap, normalise_emotion
from srmer.data.sample import Sample, SampleSet, Skipped
from srmer.errors import DatasetError

# Problem kinds (stable strings used by the check report).
MISSING_FOLDER = "missing folder"
MISSING_FRAMES = "missing frames"
OUTSIDE_FRAMES = "onset/offset outside frames"
BAD_ANNOTATION = "bad annotation"
UNKNOWN_APEX = "unknown apex"
UNKNOWN_EMOTION = "unknown emotion"
DUPLICATE = "duplicate clip"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one clip.

    Attributes
    ----------
    kind : str
        One of the module constants (``"missing frames"``, ``"unknown apex"``, ...).
    message : str
        What is wrong, naming the file or field.
    fix : str
        What the user can do.
    fatal : bool
        Whether the clip cannot be used (it is then skipped); a non-fatal problem (e.g. an unknown apex)
        is reported but the clip is kept.
    """

    kind: str
    message: str
    fix: str = ""
    fatal: bool = True


@dataclass
class ClipRecord:
    """One annotated clip as scanned from disk, before any class map is applied.

    ``frames`` and ``frame_numbers`` hold the frames from onset to offset when they are all present,
    otherwise whatever could be listed (the record then carries a fatal problem).
    """

    subject: str
    clip: str
    emotion: str
    frames: tuple[Path, ...] = ()
    frame_numbers: tuple[int, ...] = ()
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    problems: list[Problem] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def fatal(self) -> Problem | None:
        """The first fatal problem, or ``None`` when the clip is usable."""
        return next((p for p in self.problems if p.fatal), None)


@dataclass
class Scan:
    """Result of scanning a dataset copy: its clip records and where they came from."""

    dataset: str
    root: Path
    records: list[ClipRecord]
    sources: dict[str, Path] = field(default_factory=dict)  # e.g. {"sheet": ..., "frames": ...}


def clip_key(dataset: str, subject: str, clip: str) -> str:
    """The ``dataset/subject/clip`` id used in Skipped entries and reports (same as ``Sample.key``)."""
    return f"{dataset}/{subject}/{clip}"


def norm_col(name: object) -> str:
    """Column name reduced to lower-case letters and digits (``'Onset Frame'`` -> ``'onsetframe'``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def read_sheet(path: Path, sheet_name: str | int = 0, skiprows: int | None = None):
    """Read an annotation sheet with every cell as text (``'01'`` stays ``'01'``).

    Parameters
    ----------
    path : Path
        ``.xlsx``/``.xls`` (read with openpyxl/xlrd through pandas) or ``.csv``.
    sheet_name : str or int
        Excel sheet.
    skiprows : int, optional
        Preamble rows before the header row.

    Returns
    -------
    pandas.DataFrame
        Cells as ``str`` (empty cells are ``NaN``).

    Raises
    ------
    DatasetError
        The file cannot be read or lacks the sheet.
    """
    import pandas as pd

    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, skiprows=skiprows)
        return pd.read_excel(path, sheet_name=sheet_name, dtype=str, skiprows=skiprows)
    except ValueError as e:  # pandas raises ValueError for a missing worksheet
        raise DatasetError(f"annotation sheet {path}: {e} (is this the right file?)") from e
    except Exception as e:
        raise DatasetError(
            f"annotation sheet {path} cannot be read ({type(e).__name__}: {e}); "
            f"replace it with the file as distributed"
        ) from e


def read_sheet_with_preamble(
    path: Path,
    sheet_name: str | int = 0,
    header_cells: Iterable[str] = ("subject", "filename"),
    max_scan: int = 60,
):
    """Read a sheet whose header row sits below preamble rows (SAMM: Excel row 14).

    The header is the first row among the first ``max_scan`` that contains every name in
    ``header_cells`` (compared with :func:`norm_col`), so a sheet with a different number of preamble
    rows still reads correctly.

    Raises
    ------
    DatasetError
        No such row: the message names the sheet and the cells looked for.
    """
    raw = read_sheet(path, sheet_name=sheet_name)
    want = {norm_col(c) for c in header_cells}
    # read_sheet used row 1 as the header: check it, then the data rows
    rows = [list(raw.columns), *raw.head(max_scan).itertuples(index=False, name=None)]
    for i, row in enumerate(rows):
        if want <= {norm_col(c) for c in row if isinstance(c, str)}:
            return raw if i == 0 else read_sheet(path, sheet_name=sheet_name, skiprows=i)
    raise DatasetError(
        f"annotation sheet {path} (sheet {sheet_name!r}): no header row with columns "
        f"{', '.join(sorted(want))} in its first {max_scan} rows; use the sheet as distributed"
    )


def require_columns(
    df, wanted: Mapping[str, Iterable[str]], path: Path, optional: Iterable[str] = ()
) -> dict[str, str | None]:
    """Find the sheet columns a loader needs.

    Parameters
    ----------
    df : pandas.DataFrame
    wanted : mapping
        Field -> accepted spellings (compared with :func:`norm_col`); the first spelling is the
        official column name used in error messages.
    path : Path
        Sheet file (for the message).
    optional : iterable of str
        Fields that may be missing (mapped to ``None``).

    Returns
    -------
    dict
        Field -> actual column name.

    Raises
    ------
    DatasetError
        A required column is missing; the message names it, the sheet and the columns present.
    """
    cols = {norm_col(c): c for c in df.columns}
    found: dict[str, str | None] = {}
    optional = set(optional)
    for key, names in wanted.items():
        names = list(names)
        hit = next((cols[norm_col(n)] for n in names if norm_col(n) in cols), None)
        if hit is None and key not in optional:
            present = ", ".join(str(c) for c in df.columns if not str(c).startswith("Unnamed"))
            raise DatasetError(
                f"annotation sheet {path} has no column {names[0]!r} (columns present: {present}); "
                f"use the sheet as distributed or pass the right one with sheet=..."
            )
        found[key] = hit
    return found


def cell(row, col: str | None) -> str:
    """A cell as stripped text ('' for empty/NaN/missing column)."""
    if col is None:
        return ""
    v = row[col]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    s = str(v).strip()
    return "" if s.lower() == "nan" else s


def parse_int(text: str) -> int | None:
    """``'46'``, ``'46.0'`` -> 46; anything else (``'/'``, ``''``, ``'4a'``) -> ``None``."""
    t = str(text).strip()
    if re.fullmatch(r"[+-]?\d+", t):
        return int(t)
    if re.fullmatch(r"[+-]?\d+\.0*", t):
        return int(float(t))
    return None


def parse_onset_offset(
    rec: ClipRecord,
    row,
    cols: Mapping[str, str | None],
    what: str,
    row_number: int | None = None,
) -> None:
    """Set ``rec.onset`` and ``rec.offset`` from a sheet row, recording cells that are not numbers.

    A cell that is not a frame number (see :func:`parse_int`) leaves the field ``None`` and adds a fatal
    :data:`BAD_ANNOTATION` problem naming the column and the cell's text.

    Parameters
    ----------
    rec : ClipRecord
        The row's record; its ``onset``, ``offset`` and ``problems`` are updated.
    row : pandas.Series
        The sheet row.
    cols : mapping
        Field -> column name, as returned by :func:`require_columns`; must hold ``onset`` and
        ``offset``.
    what : str
        Where the annotation came from (e.g. ``"the sheet X.xlsx"``), for the fix message.
    row_number : int, optional
        Spreadsheet row number; when given, the message names it (``(row 5)``).
    """
    where = "" if row_number is None else f" (row {row_number})"
    for name in ("onset", "offset"):
        raw = cell(row, cols[name])
        value = parse_int(raw)
        if value is None:
            rec.problems.append(
                Problem(
                    BAD_ANNOTATION,
                    f"{cols[name]} {raw!r} is not a frame number{where}",
                    f"correct it in {what}",
                )
            )
        setattr(rec, name, value)


def incomplete_row_problem(what: str, row_number: int | None = None) -> Problem:
    """The fatal problem of a sheet row that has a Subject or a Filename cell but not both.

    Parameters
    ----------
    what : str
        Where the row is (e.g. ``"the sheet X.xlsx"``), for the fix message.
    row_number : int, optional
        Spreadsheet row number; when given, the message names it (``row 5 lacks ...``).

    Returns
    -------
    Problem
        A :data:`BAD_ANNOTATION` problem asking to complete the row.
    """
    row = "row" if row_number is None else f"row {row_number}"
    return Problem(
        BAD_ANNOTATION, f"{row} lacks Subject or Filename", f"complete the row in {what}"
    )


def list_frames(folder: Path, pattern: re.Pattern[str]) -> dict[int, Path]:
    """Frame files in a folder by frame number, from one directory listing (no image is read).

    Parameters
    ----------
    folder : Path
    pattern : re.Pattern
        Matches a file name; group 1 is the frame number.
    """
    out: dict[int, Path] = {}
    with os.scandir(folder) as it:
        for entry in it:
            m = pattern.fullmatch(entry.name)
            if m and entry.is_file():
                out[int(m.group(1))] = Path(entry.path)
    return out


def attach_frames(rec: ClipRecord, folder: Path, pattern: re.Pattern[str], what: str) -> None:
    """Fill ``rec.frames`` with the onset..offset frames of ``folder`` or record why that fails.

    ``what`` describes where onset/offset came from (e.g. the sheet) for the fix message. Onset and
    offset must already be parsed (``None`` is recorded as a bad annotation by the caller).
    """
    if not folder.is_dir():
        rec.problems.append(
            Problem(
                MISSING_FOLDER,
                f"clip folder {folder} does not exist",
                "restore the folder or remove the clip's row",
            )
        )
        return
    frames = list_frames(folder, pattern)
    if not frames:
        rec.problems.append(
            Problem(
                MISSING_FRAMES, f"clip folder {folder} holds no frame files", "restore the frames"
            )
        )
        return
    lo, hi = min(frames), max(frames)
    if rec.onset is None or rec.offset is None:
        numbers = sorted(frames)
        rec.frame_numbers = tuple(numbers)
        rec.frames = tuple(frames[n] for n in numbers)
        return
    if rec.onset > rec.offset:
        rec.problems.append(
            Problem(
                BAD_ANNOTATION,
                f"onset {rec.onset} is after offset {rec.offset}",
                f"correct the frame numbers in {what}",
            )
        )
        return
    if rec.onset < lo or rec.offset > hi:
        rec.problems.append(
            Problem(
                OUTSIDE_FRAMES,
                f"onset..offset {rec.onset}..{rec.offset} lies outside the frames present ({lo}..{hi}) "
                f"in {folder}",
                f"correct onset/offset in {what} or restore the frames",
            )
        )
        return
    numbers = list(range(rec.onset, rec.offset + 1))
    missing = [n for n in numbers if n not in frames]
    if missing:
        shown = ", ".join(str(n) for n in missing[:5]) + (" ..." if len(missing) > 5 else "")
        rec.problems.append(
            Problem(
                MISSING_FRAMES,
                f"{len(missing)} frame(s) missing in {folder}: {shown}",
                "restore the missing frame files",
            )
        )
        return
    rec.frame_numbers = tuple(numbers)
    rec.frames = tuple(frames[n] for n in numbers)


def check_apex(rec: ClipRecord, raw: str, what: str) -> None:
    """Set ``rec.apex`` from its text, or leave it ``None`` with a (non-fatal) unknown-apex problem.

    An apex that is not a number (``'/'``) or lies outside onset..offset is unknown, never 0.
    """
    apex = parse_int(raw)
    if apex is None:
        rec.problems.append(
            Problem(
                UNKNOWN_APEX,
                f"apex {raw!r} is not a frame number",
                f"the apex is treated as unknown; fix it in {what} if you know it",
                fatal=False,
            )
        )
        return
    if rec.onset is not None and rec.offset is not None and not rec.onset <= apex <= rec.offset:
        rec.problems.append(
            Problem(
                UNKNOWN_APEX,
                f"apex {apex} lies outside onset..offset {rec.onset}..{rec.offset}",
                f"the apex is treated as unknown; fix it in {what} if you know it",
                fatal=False,
            )
        )
        return
    rec.apex = apex


def mark_duplicates(records: list[ClipRecord]) -> None:
    """Flag every repeat of an already seen ``(subject, clip)`` as a fatal duplicate."""
    seen: set[tuple[str, str]] = set()
    for rec in records:
        k = (rec.subject, rec.clip)
        if k in seen:
            rec.problems.append(
                Problem(
                    DUPLICATE,
                    f"clip {rec.subject}/{rec.clip} is annotated twice",
                    "remove the repeated row; only the first is used",
                )
            )
        seen.add(k)


def mark_unknown_emotions(records: list[ClipRecord], dataset: str) -> None:
    """Flag emotions outside the dataset's vocabulary (typos, new labels) as fatal."""
    cmap = ClassMap(dataset, "raw")
    for rec in records:
        if not cmap.is_known(rec.emotion):
            rec.problems.append(
                Problem(
                    UNKNOWN_EMOTION,
                    f"emotion {rec.emotion!r} is not one of the dataset's emotions "
                    f"({', '.join(cmap.classes)})",
                    "correct the emotion string",
                )
            )


def build_sample_set(scan: Scan, classes: str, class_dataset: str | None = None) -> SampleSet:
    """Turn scanned records into a :class:`SampleSet` under one class map.

    Parameters
    ----------
    scan : Scan
    classes : str
        Class-map name.
    class_dataset : str, optional
        Dataset whose class maps apply (defaults to ``scan.dataset``).
    """
    cmap = ClassMap(class_dataset or scan.dataset, classes)
    samples: list[Sample] = []
    skipped: list[Skipped] = []
    for rec in scan.records:
        key = clip_key(scan.dataset, rec.subject, rec.clip)
        bad = rec.fatal
        if bad is not None:
            skipped.append(Skipped(key, bad.message, bad.fix))
            continue
        label = cmap(rec.emotion)
        if label is None:
            continue  # the map drops this emotion (the papers' protocol), not an error
        extra = dict(rec.extra)
        notes = [p.message for p in rec.problems]
        if notes:
            extra["notes"] = notes
        samples.append(
            Sample(
                dataset=scan.dataset,
                subject=rec.subject,
                clip=rec.clip,
                frames=rec.frames,
                frame_numbers=rec.frame_numbers,
                onset=rec.onset,
                apex=rec.apex,
                offset=rec.offset,
                emotion=normalise_emotion(rec.emotion),
                label=label,
                label_name=cmap.classes[label],
                extra=extra,
            )
        )
    return SampleSet(
        name=scan.dataset,
        root=scan.root,
        class_map=classes,
        classes=cmap.classes,
        samples=samples,
        skipped=skipped,
    )


def find_dir(root: Path, names: Iterable[str], depth: int = 2) -> Path | None:
    """First folder named one of ``names`` at ``root`` or up to ``depth`` levels below (breadth first)."""
    names = list(names)
    level = [root]
    for _ in range(depth + 1):
        for d in level:
            for n in names:
                if (d / n).is_dir():
                    return d / n
        nxt = []
        for d in level:
            try:
                nxt.extend(sorted(p for p in d.iterdir() if p.is_dir()))
            except OSError:
                continue
        level = nxt
    return None


def given_sheet(root: Path, sheet: str | Path, label: str) -> Path:
    """The annotation sheet a user passed with ``sheet=``, checked to exist.

    Parameters
    ----------
    root : Path
        Dataset root; a relative ``sheet`` is taken from here.
    sheet : str or Path
        The path as passed, absolute or relative to ``root``.
    label : str
        What the sheet is, for the message (e.g. ``"CASME II coding sheet"``).

    Returns
    -------
    Path
        The sheet's path.

    Raises
    ------
    DatasetError
        No file at that path; the message names the path and asks for the .xlsx file.
    """
    p = Path(sheet)
    p = p if p.is_absolute() else root / p
    if not p.is_file():
        raise DatasetError(f"{label} {p} does not exist; pass the path of the .xlsx file")
    return p


def find_files(root: Path, patterns: Iterable[str], depth: int = 2) -> list[Path]:
    """Files matching any glob pattern at ``root`` or up to ``depth`` levels below, sorted."""
    out: set[Path] = set()
    for pat in patterns:
        for k in range(depth + 1):
            out.update(
                p for p in root.glob("*/" * k + pat) if p.is_file() and not p.name.startswith("~$")
            )
    return sorted(out)
