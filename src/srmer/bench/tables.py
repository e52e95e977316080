"""Paper-style result tables (Zhou et al. Tables II-VI) as HTML, Markdown and LaTeX.

A table is built once as a :class:`StyledTable` (cells carrying their value, text and marks:
underline, bold, colour) and rendered three ways, so the marks are decided in one place:

* :func:`sr_mer_table` — Zhou et al. Tables II-IV: rows = SR method x resolution (HR reference first,
  then per resolution the LR row "Bicubic m x m" and the SR rows "X mto256"), columns = MER methods
  + Avg., an Avg. row at the bottom. As in the paper's captions: the best value of each row is
  underlined, the best entry of the Avg. row (best MER method on average) is bold, the best Avg. of
  each resolution block (best SR strategy at that resolution) is red, the Avg. of the 256 x 256
  reference is blue.
* :func:`summary_table` — Jing et al. Table 1 / Sharma et al. Table 2 layout: SR method x resolution, mean
  over MER methods, best per resolution bold.
* :func:`quality_table` — Zhou et al. Table V: PSNR / SSIM per SR method and resolution, one column
  pair per dataset; best of each resolution block bold, second underlined.
* :func:`anova_table` — Zhou et al. Table VI: level means with letter groups and the p-value of each
  factor, one column per dataset.

Ties are judged on the displayed (rounded) values so that equal-looking numbers get the same mark,
as in the paper (e.g. two 0.572 underlined in one SAMM row).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from srmer.errors import SrmerError


class _RegistryNames(Mapping):
    """Display names of a method registry's entries, read from each class's ``display_name``.

    The registry is the one source of the papers' spellings; ``extra`` adds names that are not
    registered methods (e.g. FSR-FER's rows). Unknown names are shown as they are.
    """

    def __init__(self, module: str, attr: str, extra: dict[str, str] | None = None) -> None:
        self._module, self._attr, self._extra = module, attr, dict(extra or {})
        self._cache: dict[str, str] | None = None

    def _names(self) -> dict[str, str]:
        if self._cache is None:
            import importlib

            reg = getattr(importlib.import_module(self._module), self._attr)
            names = dict(self._extra)
            for name in reg.names():
                try:
                    shown = getattr(reg.get(name), "display_name", "")
                except SrmerError:  # a broken optional module: keep its registry name
                    shown = ""
                if shown:
                    names[name] = shown
            self._cache = names
        return self._cache

    def __getitem__(self, key: str) -> str:
        return self._names()[key]

    def __iter__(self):
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: paper spellings of SR and MER method names, from the registries (``display_name``)
SR_DISPLAY: Mapping[str, str] = _RegistryNames(
    "srmer.sr.methods", "SR_METHODS", extra={"fsrfer": "FSR-FER"}
)
MER_DISPLAY: Mapping[str, str] = _RegistryNames("srmer.mer.registry", "MER_METHODS")
DATASET_DISPLAY = {
    "casme2": "CASME II",
    "samm": "SAMM",
    "smic": "SMIC-HS",
    "casme3": "CAS(ME)³",
    "rafdb": "RAF-DB",
    "synthetic": "Synthetic",
    "composite": "MEGC 2019 composite",
}
METRIC_DISPLAY = {"war": "WAR", "uar": "UAR", "uf1": "UF1", "psnr": "PSNR", "ssim": "SSIM"}

# Row/column order of the paper's tables; names not listed follow in order of appearance.
SR_ORDER = [
    "none", "bicubic", "edsr", "rdn", "glean", "srcnn", "srgan", "esrgan", "nesrganplus",
    "realesrgan", "rcan", "metasr", "edvr", "basicvsr", "iconvsr", "basicvsrpp", "realbasicvsr",
]  # fmt: skip
MER_ORDER = [
    "lbptop", "lbpsip", "lpqtop", "hog3d", "hogtop", "higotop", "rcna", "ststnet", "featref",
    "offapexnet", "dualinception", "resnet3d",
]  # fmt: skip

RESULT_COLUMNS = ("dataset", "resolution", "sr", "mer")


def display(name: object, table: dict[str, str]) -> str:
    """Paper spelling of a registry name (falls back to the name itself)."""
    s = str(name)
    return table.get(s, table.get(s.lower(), s))


def ordered(values: Iterable, order: Sequence[str]) -> list:
    """Unique ``values`` in ``order`` first, the others after in order of first appearance."""
    seen = list(dict.fromkeys(values))
    rank = {n: i for i, n in enumerate(order)}
    return sorted(seen, key=lambda v: (rank.get(str(v), len(rank)), seen.index(v)))


@dataclass
class Cell:
    """One table cell: its text and how it is marked."""

    text: str
    value: float = float("nan")
    underline: bool = False
    bold: bool = False
    color: str | None = None  # "red" | "blue"
    header: bool = False
    title: str = ""  # tooltip in HTML (why the cell is marked)


@dataclass
class StyledTable:
    """A table with marked cells, rendered by :func:`to_html`, :func:`to_markdown`, :func:`to_latex`.

    ``columns`` are the header labels; ``groups`` an optional header row above them as
    ``(label, span)`` pairs; ``rules`` the row indices before which a horizontal rule is drawn
    (between resolution blocks); ``stub`` the number of leading label columns (left aligned).
    """

    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    groups: list[tuple[str, int]] = field(default_factory=list)
    rules: list[int] = field(default_factory=list)
    stub: int = 2
    label: str = ""
    legend: str = ""  # how to read the marks, shown under the table

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.columns)


# --------------------------------------------------------------------------------------- helpers
def _fmt(v: float, digits: int) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or not np.isfinite(p):
        return "–"
    return f"{p:.2E}" if p < 1e-3 else f"{p:.4f}"


def _ranks(cells: list[Cell], digits: int) -> tuple[list[int], list[int]]:
    """Indices of the best and second-best finite cells (higher is better; ties share a rank).

    Judged on values rounded to the displayed ``digits``; fewer than two numbers is no ranking.
    """
    vals = [round(c.value, digits) if np.isfinite(c.value) else None for c in cells]
    finite = [v for v in vals if v is not None]
    if len(finite) < 2:
        return [], []
    distinct = sorted(set(finite), reverse=True)
    best = [i for i, v in enumerate(vals) if v == distinct[0]]
    second = [i for i, v in enumerate(vals) if len(distinct) > 1 and v == distinct[1]]
    return best, second


def _rank_marks(cells: list[Cell], digits: int, first: str, second: str | None = None) -> None:
    """Set attribute ``first`` on the best cells and ``second`` on the runners-up."""
    best, runner = _ranks(cells, digits)
    for i in best:
        setattr(cells[i], first, True)
    if second:
        for i in runner:
            setattr(cells[i], second, True)


def res_label(resolution: int, sr: str, hr: int | None) -> str:
    """``16×16`` for an LR / reference row, ``16to256`` for an SR row (Zhou et al. naming)."""
    r = int(resolution)
    if sr == "none" or hr is None:
        return f"{r}×{r}"
    return f"{r}to{hr}"


def check_results(df: pd.DataFrame, where: str, need: Iterable[str] = RESULT_COLUMNS) -> None:
    """Raise a :class:`SrmerError` naming the missing columns of a results table."""
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise SrmerError(
            f"{where}: column(s) {missing} missing (have {list(df.columns)}); the results table "
            "must come from `srmer run` (one row per dataset x resolution x SR x MER)"
        )


def hr_size(df: pd.DataFrame) -> int | None:
    """HR size of a results table, from its ``hr_size`` column (``None`` for an empty table).

    Results tables written before the column existed (srmer 0.1) fall back to the resolutions: the
    reference row's resolution when it is above every SR row's, never the setting names.
    """
    if "hr_size" in df.columns:
        sizes = df["hr_size"].dropna().astype(int).unique()
        return int(sizes.max()) if len(sizes) else None
    lr = df.loc[df["sr"].astype(str) != "none", "resolution"]
    none_res = df.loc[df["sr"].astype(str) == "none", "resolution"]
    if len(lr) and len(none_res) and none_res.max() > lr.max():
        return int(none_res.max())
    if not len(lr) and none_res.nunique() > 1 and none_res.max() >= 256:
        # No SR rows to tell the HR size: assume the papers' 256 x 256 reference.
        return int(none_res.max())
    return None


def reference_mask(df: pd.DataFrame) -> pd.Series:
    """Rows of the HR reference (Zhou et al.'s ``256x256``), from the ``is_reference`` column."""
    if "is_reference" in df.columns:
        return df["is_reference"].astype(str).str.lower().isin(("true", "1")).set_axis(df.index)
    hr = hr_size(df)
    if hr is None:
        return pd.Series(False, index=df.index)
    return (df["sr"].astype(str) == "none") & (df["resolution"].astype(int) >= hr)


#: result columns that tell the protocol tasks of one dataset apart (a cross-dataset run has one
#: task per (train, test) pair); tables select one task like they select one degradation
TASK_KEYS = ("protocol", "train_datasets", "test_dataset")
#: a :func:`select` value that keeps all values of its column (a table spanning several tasks)
ANY = "*"


def select(
    results: pd.DataFrame,
    dataset: str | None = None,
    degradation: str | None = None,
    class_map: str | None = None,
    **task: str | None,
) -> pd.DataFrame:
    """Rows of one dataset (and degradation / class map / protocol task when the run has several).

    ``task`` takes ``protocol``, ``train_datasets`` and ``test_dataset`` (:data:`TASK_KEYS`); any
    selection given as :data:`ANY` keeps every value.
    """
    unknown = sorted(set(task) - set(TASK_KEYS))
    if unknown:
        raise TypeError(f"select() got unknown selection(s) {unknown}")
    df = results
    if dataset is not None:
        df = df[df["dataset"].astype(str) == str(dataset)]
        if df.empty:
            raise SrmerError(
                f"dataset {dataset!r} not in the results (have "
                f"{sorted(results['dataset'].astype(str).unique())})"
            )
    wanted = {"degradation": degradation, "class_map": class_map}
    wanted.update({k: task.get(k) for k in TASK_KEYS})
    for col, val in wanted.items():
        if col not in df.columns or val == ANY:
            continue
        have = sorted(df[col].dropna().astype(str).unique())
        if val is not None:
            df = df[df[col].astype(str) == str(val)]
            if df.empty:
                raise SrmerError(f"{col} {val!r} not in the results for {dataset!r} (have {have})")
        elif len(have) > 1:
            raise SrmerError(
                f"the results for {dataset!r} mix {len(have)} values of {col} ({have}); "
                f"pass {col}= to choose one table"
            )
    return df


def task_title(train: str, test: str, protocol: str) -> str:
    """``CASME II → SAMM`` for a cross-dataset task, ``CASME II (kfold)`` for a non-LOSO one."""
    if protocol == "cross_dataset":
        src = " + ".join(display(t, DATASET_DISPLAY) for t in str(train).split("+"))
        return f"{src} → {display(test, DATASET_DISPLAY)}"
    if protocol == "leave_one_dataset_out":
        return "leave one dataset out"
    return str(protocol)


def panels(results: pd.DataFrame) -> list[tuple[str, dict[str, str | None]]]:
    """(title, selection kwargs) of every dataset x degradation x class map x protocol task."""
    keys = ["dataset"] + [
        c for c in ("degradation", "class_map", *TASK_KEYS) if c in results.columns
    ]
    out = []
    for combo, part in results.groupby(keys, sort=False, dropna=False):
        # Split a dataset by degradation / class map only where that dataset has several.
        same_ds = results[results["dataset"].astype(str) == str(part["dataset"].iloc[0])]
        multi = {c: same_ds[c].nunique() > 1 for c in keys[1:]}
        combo = combo if isinstance(combo, tuple) else (combo,)
        kw = dict(zip(keys, (None if pd.isna(v) else str(v) for v in combo), strict=True))
        title = display(kw["dataset"], DATASET_DISPLAY)
        if "+" in title:  # a pool of several datasets
            title = " + ".join(display(d, DATASET_DISPLAY) for d in kw["dataset"].split("+"))
        extra = [
            f"{c.replace('_', ' ')} {kw[c]}" for c in keys[1:] if multi[c] and c not in TASK_KEYS
        ]
        proto = kw.get("protocol") or "loso"
        if proto != "loso":
            extra.append(
                task_title(kw.get("train_datasets", ""), kw.get("test_dataset", ""), proto)
            )
        if extra:
            title += " (" + ", ".join(extra) + ")"
        sel = {"dataset": kw["dataset"]}
        for c in keys[1:]:
            sel[c] = kw[c] if multi[c] else None
        out.append((title, sel))
    return out


def setting_rows(df: pd.DataFrame) -> list[tuple[int, str]]:
    """(resolution, sr) rows in table order: reference, then per resolution none, SR methods."""
    ref = reference_mask(df)
    rows = []
    ref_res = sorted(df.loc[ref, "resolution"].astype(int).unique())
    rows += [(r, "none") for r in ref_res]
    lr = df[~ref]
    for r in sorted(lr["resolution"].astype(int).unique()):
        srs = ordered(lr.loc[lr["resolution"].astype(int) == r, "sr"].astype(str), SR_ORDER)
        rows += [(r, s) for s in srs]
    return rows


# ------------------------------------------------------------------------------ Tables II - IV
def sr_mer_table(
    results: pd.DataFrame,
    dataset: str,
    metric: str = "war",
    degradation: str | None = None,
    class_map: str | None = None,
    digits: int = 3,
    intervals: bool = False,
    **task: str | None,
) -> StyledTable:
    """Zhou et al. Table II-IV: ``metric`` per (SR method, resolution) row and MER column.

    Parameters
    ----------
    results : pandas.DataFrame
        ``results.csv`` of a run: columns dataset, resolution (int), sr, mer and ``metric``
        (float in [0, 1]); optional setting, degradation, class_map.
    dataset : str
        Dataset name as in the ``dataset`` column.
    metric : {"war", "uar", "uf1"}, default "war"
    degradation, class_map : str, optional
        Required only when the run holds several for this dataset.
    digits : int, default 3
        Decimals shown (and used for ties).
    intervals : bool, default False
        Show each cell with its subject-bootstrap interval, ``0.412 [0.30, 0.52]`` (needs the
        ``<metric>_lo`` / ``<metric>_hi`` columns; marks are still judged on the value).

    Returns
    -------
    StyledTable
        Rows = settings + an "Avg." row; columns = "SR method", "Resolution", MER methods, "Avg.".
    """
    check_results(results, "sr_mer_table", (*RESULT_COLUMNS, metric))
    df = select(results, dataset, degradation, class_map, **task)
    hr = hr_size(df)
    mers = ordered(df["mer"].astype(str), MER_ORDER)
    ref = reference_mask(df)
    piv = df.pivot_table(index=["resolution", "sr"], columns="mer", values=metric, aggfunc="mean")
    piv.index = pd.MultiIndex.from_tuples([(int(r), str(s)) for r, s in piv.index])
    piv.columns = [str(c) for c in piv.columns]
    bounds = None
    if intervals and {f"{metric}_lo", f"{metric}_hi"} <= set(df.columns):
        bounds = {
            side: df.pivot_table(
                index=["resolution", "sr"], columns="mer", values=f"{metric}_{side}", aggfunc="mean"
            )
            for side in ("lo", "hi")
        }
        for b in bounds.values():
            b.index = pd.MultiIndex.from_tuples([(int(r), str(x)) for r, x in b.index])
            b.columns = [str(c) for c in b.columns]

    def _text(v: float, r: int, s: str, m: str) -> str:
        if bounds is None or (r, s) not in bounds["lo"].index or m not in bounds["lo"].columns:
            return _fmt(v, digits)
        lo, hi = float(bounds["lo"].loc[(r, s), m]), float(bounds["hi"].loc[(r, s), m])
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return _fmt(v, digits)
        return f"{_fmt(v, digits)} [{lo:.2f}, {hi:.2f}]"

    rows_idx = setting_rows(df)
    ref_keys = {(int(r), "none") for r in df.loc[ref, "resolution"]}

    rows: list[list[Cell]] = []
    rules: list[int] = []
    block_of: list[int | None] = []  # resolution block of each data row (None for reference)
    prev_block: object = "start"
    for r, s in rows_idx:
        is_ref = (r, s) in ref_keys
        block = None if is_ref else r
        if block != prev_block and rows:
            rules.append(len(rows))
        prev_block = block
        vals = [
            float(piv.loc[(r, s), m]) if (r, s) in piv.index and m in piv.columns else float("nan")
            for m in mers
        ]
        finite = [v for v in vals if np.isfinite(v)]
        avg = float(np.mean(finite)) if finite else float("nan")
        sr_name = "" if is_ref else display(s, SR_DISPLAY)
        cells = [
            Cell(sr_name, header=True),
            Cell(res_label(r, "none" if is_ref else s, hr), header=True),
        ]
        cells += [Cell(_text(v, r, s, m), v) for v, m in zip(vals, mers, strict=True)]
        cells.append(Cell(_fmt(avg, digits), avg))
        _rank_marks(cells[2 : 2 + len(mers)], digits, "underline")
        for c in cells[2 : 2 + len(mers)]:
            if c.underline:
                c.title = "best MER method in this row"
        if is_ref:
            cells[-1].color = "blue"
            cells[-1].title = "average over MER methods at the HR reference"
        rows.append(cells)
        block_of.append(block)

    # Red: best Avg. among the rows of one resolution block (m x m and its mto256 rows).
    for b in sorted({x for x in block_of if x is not None}):
        block_cells = [rows[i][-1] for i, x in enumerate(block_of) if x == b]
        for i in _ranks(block_cells, digits)[0]:
            block_cells[i].color = "red"
            block_cells[i].title = f"best SR strategy (average over MER methods) at {b}×{b}"

    # Avg. row: mean of each MER column over every row above (the paper includes the reference).
    col_means = [
        float(np.nanmean([rows[i][2 + j].value for i in range(len(rows))]))
        if any(np.isfinite(rows[i][2 + j].value) for i in range(len(rows)))
        else float("nan")
        for j in range(len(mers))
    ]
    avg_row = [Cell("Avg.", header=True), Cell("", header=True)]
    avg_row += [Cell(_fmt(v, digits), v) for v in col_means]
    avg_row.append(Cell("", float("nan")))
    _rank_marks(avg_row[2 : 2 + len(mers)], digits, "bold")
    for c in avg_row[2:]:
        if c.bold:
            c.title = "best MER method on average"
    rules.append(len(rows))
    rows.append(avg_row)

    mname = METRIC_DISPLAY.get(metric, metric.upper())
    dname = display(dataset, DATASET_DISPLAY)
    return StyledTable(
        caption=f"{mname} of each SR method and MER method on {dname}.",
        columns=["SR method", "Resolution", *[display(m, MER_DISPLAY) for m in mers], "Avg."],
        groups=[("", 2), ("MER methods", len(mers)), ("", 1)],
        rows=rows,
        rules=rules,
        label=f"tab:{_slug(dataset)}-{metric}",
        legend=(
            "Underlined: best MER method in each row. Bold: best MER method on average (Avg. row). "
            f"Red: best SR strategy at each resolution (Avg. column, m×m and mto{hr or 'HR'} rows). "
            f"Blue: average over MER methods at the HR reference{f' ({hr}×{hr})' if hr else ''}. "
            "m×m rows recognise the low-resolution clip itself (Bicubic down-sampling only); "
            f"mto{hr or 'HR'} rows super-resolve it back to the HR size first."
        ),
    )


def summary_table(
    results: pd.DataFrame,
    dataset: str,
    metric: str = "war",
    degradation: str | None = None,
    class_map: str | None = None,
    digits: int = 3,
    **task: str | None,
) -> StyledTable:
    """Jing et al. Table 1 layout: rows = SR method, columns = resolution, mean over MER methods.

    Best value of each resolution column bold, second underlined. The reference (if any) is its own
    column, and the LR rows (SR ``none``) appear as "Bicubic (LR)".
    """
    check_results(results, "summary_table", (*RESULT_COLUMNS, metric))
    df = select(results, dataset, degradation, class_map, **task)
    hr = hr_size(df)
    ref = reference_mask(df)
    lr = df[~ref]
    res_levels = sorted(lr["resolution"].astype(int).unique())
    srs = ordered(lr["sr"].astype(str), SR_ORDER)
    means = lr.groupby([lr["sr"].astype(str), lr["resolution"].astype(int)])[metric].mean()
    rows = []
    for s in srs:
        name = "Bicubic (LR)" if s == "none" else display(s, SR_DISPLAY)
        cells = [Cell(name, header=True)]
        for r in res_levels:
            v = float(means.get((s, r), float("nan")))
            cells.append(Cell(_fmt(v, digits), v))
        rows.append(cells)
    for j in range(len(res_levels)):
        _rank_marks([row[1 + j] for row in rows], digits, "bold", "underline")
    columns = ["SR method", *[f"{r}×{r}" for r in res_levels]]
    ref_note = ""
    if ref.any():
        rv = float(df.loc[ref, metric].mean())
        ref_note = f" HR reference ({hr}×{hr}): {_fmt(rv, digits)}."
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    return StyledTable(
        caption=f"{mname} averaged over MER methods, per SR method and input resolution, on "
        f"{display(dataset, DATASET_DISPLAY)}.",
        columns=columns,
        rows=rows,
        stub=1,
        label=f"tab:{_slug(dataset)}-{metric}-summary",
        legend="Bold: best SR method at each resolution; underlined: second best. "
        "Bicubic (LR): recognition on the low-resolution clip itself." + ref_note,
    )


# ----------------------------------------------------------------------- MEGC 2019 protocols
#: MEGC 2019's column order of the source databases (composite first, then SMIC, CASME II, SAMM)
MEGC_ORDER = ["smic", "casme2", "samm"]


def _setting_label(df: pd.DataFrame, res: int, sr: str, hr: int | None) -> str:
    ref = reference_mask(df)
    is_ref = bool(
        (ref & (df["resolution"].astype(int) == res) & (df["sr"].astype(str) == sr)).any()
    )
    name = "HR" if is_ref else ("Bicubic (LR)" if sr == "none" else display(sr, SR_DISPLAY))
    return f"{name} {res}×{res}" if is_ref or sr == "none" else f"{name} {res_label(res, sr, hr)}"


def _cells_by_setting(df: pd.DataFrame, hr: int | None):
    """``(label, mer, rows)`` per (setting, MER method) cell in table order; ``label`` is the
    setting's name on its first MER row and empty after, so a rule goes before each non-empty one."""
    mers = ordered(df["mer"].astype(str), MER_ORDER)
    for res, sr in setting_rows(df):
        first = True
        for m in mers:
            cell = df[
                (df["resolution"].astype(int) == res)
                & (df["sr"].astype(str) == sr)
                & (df["mer"].astype(str) == m)
            ]
            if cell.empty:
                continue
            yield (_setting_label(df, res, sr, hr) if first else ""), m, cell
            first = False


def megc_table(
    results: pd.DataFrame,
    by_dataset: pd.DataFrame | None,
    dataset: str,
    metrics: Sequence[str] = ("uf1", "uar"),
    digits: int = 4,
    degradation: str | None = None,
    class_map: str | None = None,
    **task: str | None,
) -> StyledTable:
    """MEGC 2019's layout: UF1 and UAR overall and per source database, one row per cell.

    Parameters
    ----------
    results : pandas.DataFrame
        ``results.csv`` of a run.
    by_dataset : pandas.DataFrame or None
        ``results_by_dataset.csv`` (metrics of each results row per source database of its test
        clips); ``None`` or empty gives the overall columns only.
    dataset : str
        Value of the ``dataset`` column (``composite``, or a pool such as ``casme2+samm+smic``).
    metrics : sequence of {"uf1", "uar", "war"}
        Columns of each block, in order (MEGC reports UF1 then UAR; WAR can be added).
    digits : int
        Decimals (MEGC's summary paper gives 4).

    Returns
    -------
    StyledTable
        Columns "Setting", "MER method", then per block (overall, then SMIC-HS, CASME II, SAMM)
        the ``metrics``; best of each column bold, second underlined.
    """
    check_results(results, "megc_table", (*RESULT_COLUMNS, *metrics))
    df = select(results, dataset, degradation, class_map, **task)
    hr = hr_size(df)
    part = None
    if by_dataset is not None and not by_dataset.empty:
        part = by_dataset[by_dataset["dataset"].astype(str) == str(dataset)]
        for k, v in {"degradation": degradation, "class_map": class_map, **task}.items():
            if v is not None and k in part.columns:
                part = part[part[k].astype(str) == str(v)]
    sources = ordered(part["source_dataset"].astype(str), MEGC_ORDER) if part is not None else []
    rows, rules = [], []
    for label, m, cell in _cells_by_setting(df, hr):
        if label and rows:
            rules.append(len(rows))
        r0 = cell.iloc[0]
        row = [Cell(label, header=True), Cell(display(m, MER_DISPLAY), header=True)]
        row += [Cell(_fmt(float(r0[k]), digits), float(r0[k])) for k in metrics]
        for src in sources:
            hit = part[
                (part["resolution"].astype(int) == int(r0["resolution"]))
                & (part["sr"].astype(str) == str(r0["sr"]))
                & (part["mer"].astype(str) == m)
                & (part["source_dataset"].astype(str) == src)
            ]
            for k in metrics:
                v = float(hit[k].iloc[0]) if not hit.empty else float("nan")
                row.append(Cell(_fmt(v, digits), v))
        rows.append(row)
    n_cols = len(metrics) * (1 + len(sources))
    for j in range(n_cols):
        _rank_marks([r[2 + j] for r in rows], digits, "bold", "underline")
    names = [METRIC_DISPLAY.get(k, k.upper()) for k in metrics]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    groups = [("", 2), ("Overall", len(metrics))]
    groups += [(display(src, DATASET_DISPLAY), len(metrics)) for src in sources]
    return StyledTable(
        caption=f"{listed} overall and per source database on "
        f"{display(dataset, DATASET_DISPLAY) if '+' not in dataset else dataset} "
        "(the layout of the MEGC 2019 summary).",
        columns=["Setting", "MER method", *(names * (1 + len(sources)))],
        rows=rows,
        groups=groups,
        rules=rules,
        stub=2,
        label=f"tab:{_slug(dataset)}-megc",
        legend="Bold: best of the column; underlined: second best. Per-database scores are "
        "computed from the same pooled predictions as the overall ones (MEGC 2019 convention).",
    )


def cross_dataset_table(
    results: pd.DataFrame,
    dataset: str,
    metric: str = "uf1",
    digits: int = 3,
    degradation: str | None = None,
    class_map: str | None = None,
) -> StyledTable:
    """Cross-dataset results as source x target matrices, one flattened matrix per row.

    Rows are (setting, MER method) cells; the column groups are the training (source) databases
    and, inside each, the test (target) databases, so each row reads as the matrix
    ``metric[source, target]`` of that cell. Best of each column bold, second underlined.

    Parameters
    ----------
    results : pandas.DataFrame
        ``results.csv`` of a cross-dataset run (columns ``train_datasets`` and ``test_dataset``).
    dataset : str
        The pool's name (value of the ``dataset`` column).
    metric : {"uf1", "uar", "war"}
    """
    check_results(results, "cross_dataset_table", (*RESULT_COLUMNS, *TASK_KEYS, metric))
    df = select(
        results,
        dataset,
        degradation,
        class_map,
        protocol="cross_dataset",
        train_datasets=ANY,
        test_dataset=ANY,
    )
    hr = hr_size(df)
    pairs = list(
        dict.fromkeys(
            zip(df["train_datasets"].astype(str), df["test_dataset"].astype(str), strict=True)
        )
    )
    trains = ordered([a for a, _ in pairs], MEGC_ORDER)
    pairs = [(a, b) for a in trains for (x, b) in pairs if x == a]
    rows, rules = [], []
    for label, m, cell in _cells_by_setting(df, hr):
        if label and rows:
            rules.append(len(rows))
        row = [Cell(label, header=True), Cell(display(m, MER_DISPLAY), header=True)]
        for a, b in pairs:
            hit = cell[
                (cell["train_datasets"].astype(str) == a) & (cell["test_dataset"].astype(str) == b)
            ]
            v = float(hit[metric].iloc[0]) if not hit.empty else float("nan")
            row.append(Cell(_fmt(v, digits), v))
        rows.append(row)
    for j in range(len(pairs)):
        _rank_marks([r[2 + j] for r in rows], digits, "bold", "underline")

    def _name(key: str) -> str:
        return " + ".join(display(t, DATASET_DISPLAY) for t in key.split("+"))

    groups = [("", 2)] + [(f"train {_name(a)}", sum(1 for x, _ in pairs if x == a)) for a in trains]
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    return StyledTable(
        caption=f"Cross-dataset {mname}: trained on the source database (column group), tested "
        "on the target database (column).",
        columns=["Setting", "MER method", *(f"→ {_name(b)}" for _, b in pairs)],
        rows=rows,
        groups=groups,
        rules=rules,
        stub=2,
        label=f"tab:{_slug(dataset)}-cross-{metric}",
        legend="Bold: best of the column; underlined: second best. Labels of every database are "
        "mapped to one class map (megc3: negative, positive, surprise).",
    )


def cross_dataset_matrix(
    results: pd.DataFrame,
    dataset: str,
    resolution: int,
    sr: str,
    metric: str = "uf1",
    digits: int = 3,
) -> StyledTable:
    """One setting's cross-dataset results as a literal matrix per MER method.

    Rows are the training (source) databases, columns the test (target) databases, one block of
    rows per MER method; a pair that was not run shows "–".
    """
    check_results(results, "cross_dataset_matrix", (*RESULT_COLUMNS, *TASK_KEYS, metric))
    df = select(results, dataset, protocol="cross_dataset", train_datasets=ANY, test_dataset=ANY)
    df = df[(df["resolution"].astype(int) == int(resolution)) & (df["sr"].astype(str) == sr)]
    hr = hr_size(results)
    trains = ordered(df["train_datasets"].astype(str), MEGC_ORDER)
    tests = ordered(df["test_dataset"].astype(str), MEGC_ORDER)
    rows, rules = [], []
    for m in ordered(df["mer"].astype(str), MER_ORDER):
        part = df[df["mer"].astype(str) == m]
        if rows:
            rules.append(len(rows))
        for i, a in enumerate(trains):
            row = [
                Cell(display(m, MER_DISPLAY) if i == 0 else "", header=True),
                Cell(" + ".join(display(t, DATASET_DISPLAY) for t in a.split("+")), header=True),
            ]
            for b in tests:
                hit = part[
                    (part["train_datasets"].astype(str) == a)
                    & (part["test_dataset"].astype(str) == b)
                ]
                v = float(hit[metric].iloc[0]) if not hit.empty else float("nan")
                row.append(Cell(_fmt(v, digits), v))
            rows.append(row)
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    where = _setting_label(df, int(resolution), sr, hr) if not df.empty else f"{resolution}"
    return StyledTable(
        caption=f"Cross-dataset {mname} at {where}: rows train (source), columns test (target).",
        columns=["MER method", "train \\ test", *(display(b, DATASET_DISPLAY) for b in tests)],
        rows=rows,
        rules=rules,
        stub=2,
        label=f"tab:{_slug(dataset)}-cross-matrix-{metric}-{resolution}-{_slug(sr)}",
        legend="–: the pair was not run (a database is never tested on itself).",
    )


# --------------------------------------------------------------------------------- statistics
def comparison_table(
    comps: pd.DataFrame, title: str, metric: str = "war", alpha: float = 0.05
) -> StyledTable:
    """ "Does SR help?": one row per (resolution, MER, SR method, baseline) comparison.

    ``comps`` are rows of :func:`srmer.bench.statistics.sr_comparisons` for one panel. The
    difference is bold where the Holm-corrected test rejects (the verdict says which way).
    """
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    rows, rules = [], []
    mer_rank = {m: i for i, m in enumerate(ordered(comps["mer"].astype(str), MER_ORDER))}
    d = comps.assign(_m=comps["mer"].astype(str).map(mer_rank)).sort_values(
        ["resolution", "_m", "baseline", "sr"], kind="stable"
    )
    prev = None
    for _, r in d.iterrows():
        block = (int(r["resolution"]), str(r["mer"]))
        if prev is not None and block[0] != prev[0]:
            rules.append(len(rows))
        first = block != prev
        prev = block
        sig = bool(np.isfinite(r["p_holm"]) and r["p_holm"] < alpha)
        rows.append(
            [
                Cell(f"{block[0]}×{block[0]}" if first else "", header=True),
                Cell(display(r["mer"], MER_DISPLAY) if first else "", header=True),
                Cell(display(r["sr"], SR_DISPLAY), header=True),
                Cell(
                    "LR (none)" if r["baseline"] == "none" else display(r["baseline"], SR_DISPLAY),
                    header=True,
                ),
                Cell(
                    f"{r['diff']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}]",
                    float(r["diff"]),
                    bold=sig,
                ),
                Cell(_fmt_p(float(r["p"])), float(r["p"])),
                Cell(_fmt_p(float(r["p_holm"])), float(r["p_holm"])),
                Cell(str(r["verdict"]).split(" (")[0], header=True),
            ]
        )
    test = "McNemar" if metric == "war" else "sign-flip"
    return StyledTable(
        caption=f"Does SR help? {mname} of each SR method minus its baseline on {title}.",
        columns=[
            "Res.",
            "MER method",
            "SR method",
            "against",
            f"Δ{mname} [CI]",
            f"p ({test})",
            "p (Holm)",
            "verdict",
        ],
        rows=rows,
        rules=rules,
        stub=4,
        label=f"tab:{_slug(title)}-sr-help",
        legend="Bold: the difference is significant after Holm's correction over this table. "
        "CI: paired subject-bootstrap interval (every method resampled on the same subjects).",
    )


def power_statement(comps: pd.DataFrame, metric: str = "war") -> str:
    """What "no detectable difference" means for a panel: the smallest difference detected at 80%."""
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    det = comps["detectable"].astype(float)
    det = det[np.isfinite(det)]
    if det.empty:
        return f"Power: not estimated (no bootstrap spread of the {mname} differences)."
    n = int(comps["n_clips"].max())
    s = int(comps["n_subjects"].max())
    return (
        f"Power: with {n} clips of {s} subjects, the smallest {mname} difference this run detects "
        f"with 80% probability (two-sided test at 0.05, simulated from the subject bootstrap) is "
        f"about {det.median():.3f} (range {det.min():.3f}-{det.max():.3f} over the comparisons). "
        "A verdict of no detectable difference does not rule out smaller differences."
    )


def frame_table(df: pd.DataFrame, caption: str, label: str, digits: int = 4) -> StyledTable:
    """A plain DataFrame as a :class:`StyledTable` (numbers with ``digits`` significant digits)."""
    rows = []
    for _, r in df.iterrows():
        row = []
        for j, c in enumerate(df.columns):
            v = r[c]
            if isinstance(v, (float, np.floating)):
                row.append(Cell("–" if not np.isfinite(v) else f"{v:.{digits}g}", float(v)))
            else:
                row.append(Cell(str(v), header=j == 0))
        rows.append(row)
    return StyledTable(
        caption=caption, columns=[str(c) for c in df.columns], rows=rows, stub=1, label=label
    )


# ------------------------------------------------------------------------------------ Table V
def quality_frame(results: pd.DataFrame, quality: pd.DataFrame | None) -> pd.DataFrame:
    """Per (dataset, resolution, sr): psnr, ssim (and tcons when measured), SR rows only."""
    if (
        quality is not None
        and not quality.empty
        and {"dataset", "resolution", "sr"} <= set(quality.columns)
    ):
        q = quality.copy()
    else:
        cols = [c for c in ("psnr", "ssim", "tcons") if c in results.columns]
        if not cols:
            return pd.DataFrame(columns=["dataset", "resolution", "sr", "psnr", "ssim"])
        q = results.groupby(["dataset", "resolution", "sr"], as_index=False, sort=False)[
            cols
        ].mean()
    metrics = [c for c in ("psnr", "ssim", "tcons") if c in q.columns]
    q = q[q["sr"].astype(str) != "none"]
    if metrics:
        q = q.dropna(subset=metrics, how="all")
    q = q.groupby(["dataset", "resolution", "sr"], as_index=False, sort=False)[metrics].mean()
    return q


def quality_table(quality: pd.DataFrame, hr: int | None = None) -> StyledTable | None:
    """Zhou et al. Table V: PSNR (dB, 2 decimals) / SSIM (4 decimals) per SR setting and dataset.

    Parameters
    ----------
    quality : pandas.DataFrame
        From :func:`quality_frame`: dataset, resolution, sr, psnr, ssim[, tcons].
    hr : int, optional
        HR size for the "mtoN" labels.

    Returns
    -------
    StyledTable or None
        None when no SR setting has a PSNR/SSIM. Best of each resolution block bold, second
        underlined (PSNR and SSIM, higher is better). The temporal-consistency column, when
        present, is shown without marks because its direction depends on its definition.
    """
    if quality is None or quality.empty:
        return None
    metrics = [
        c for c in ("psnr", "ssim", "tcons") if c in quality.columns and quality[c].notna().any()
    ]
    if not metrics:
        return None
    datasets = list(dict.fromkeys(quality["dataset"].astype(str)))
    keys = sorted(
        {(int(r), str(s)) for r, s in zip(quality["resolution"], quality["sr"], strict=True)}
    )
    by_res: dict[int, list[str]] = {}
    for r, s in keys:
        by_res.setdefault(r, []).append(s)
    q = quality.assign(resolution=quality["resolution"].astype(int), sr=quality["sr"].astype(str))
    q = q.set_index(["dataset", "resolution", "sr"])
    digits = {"psnr": 2, "ssim": 4, "tcons": 4}
    rows, rules, blocks = [], [], []
    for r in sorted(by_res):
        if rows:
            rules.append(len(rows))
        block = []
        for s in ordered(by_res[r], SR_ORDER):
            cells = [
                Cell(display(s, SR_DISPLAY), header=True),
                Cell(res_label(r, s, hr), header=True),
            ]
            for d in datasets:
                for m in metrics:
                    v = float(q[m].get((d, r, s), float("nan")))
                    cells.append(Cell(_fmt(v, digits[m]), v))
            rows.append(cells)
            block.append(len(rows) - 1)
        blocks.append(block)
    ncol = len(datasets) * len(metrics)
    for block in blocks:
        for j in range(ncol):
            m = metrics[j % len(metrics)]
            if m == "tcons":
                continue
            _rank_marks([rows[i][2 + j] for i in block], digits[m], "bold", "underline")
    names = {"psnr": "PSNR", "ssim": "SSIM", "tcons": "T-cons."}
    return StyledTable(
        caption="Reconstruction quality of each SR method: PSNR (dB) and SSIM of the super-resolved "
        "clips against the HR clips, averaged over clips.",
        columns=["SR method", "Resolution", *[names[m] for _ in datasets for m in metrics]],
        groups=[("", 2), *[(display(d, DATASET_DISPLAY), len(metrics)) for d in datasets]],
        rows=rows,
        rules=rules,
        label="tab:quality",
        legend="Bold: best SR method for a dataset and resolution; underlined: second best."
        + (" T-cons.: temporal consistency (not ranked)." if "tcons" in metrics else ""),
    )


# ----------------------------------------------------------------------------------- Table VI
FACTOR_DISPLAY = {"resolution": "Res.", "sr": "SR", "mer": "MER"}
FACTOR_NAMES = {"resolution": "resolution", "sr": "SR method", "mer": "MER method"}


def anova_table(anovas: dict[str, object], hr: int | None = None) -> StyledTable | None:
    """Zhou et al. Table VI from ``{dataset title: AnovaResult}``.

    Each factor contributes its levels (mean and letters, "a" = highest group), an F row and a
    p-value row; p < 0.05 is bold. Levels absent for a dataset are shown as "–".
    """
    if not anovas:
        return None
    titles = list(anovas)
    # Datasets may have been analysed with fewer factors (a factor with one level is dropped).
    present = [f for a in anovas.values() for f in a.factors]
    factors = ordered(present, ["resolution", "sr", "mer"])
    full = all(len(a.factors) == 3 for a in anovas.values())
    rows: list[list[Cell]] = []
    rules: list[int] = []
    for f in factors:
        levels: list = []
        for a in anovas.values():
            if f in a.factors:
                levels += [lv for lv in a.factors[f].levels["level"] if lv not in levels]
        if f == "resolution":
            levels = sorted(levels, key=lambda x: int(x))
        elif f == "sr":
            levels = ordered([str(x) for x in levels], SR_ORDER)
        elif f == "mer":
            levels = ordered([str(x) for x in levels], MER_ORDER)
        if rows:
            rules.append(len(rows))
        for n_lv, lv in enumerate(levels):
            if f == "resolution":
                name = res_label(int(lv), "sr", hr)
            elif f == "sr":
                name = "Bicubic (LR)" if lv == "none" else display(lv, SR_DISPLAY)
            elif f == "mer":
                name = display(lv, MER_DISPLAY)
            else:
                name = str(lv)
            fname = FACTOR_DISPLAY.get(f, f) if n_lv == 0 else ""
            cells = [Cell(fname, header=True), Cell(name, header=True)]
            for a in anovas.values():
                tab = a.factors[f].levels if f in a.factors else pd.DataFrame(columns=["level"])
                hit = tab[tab["level"].astype(str) == str(lv)]
                if hit.empty:
                    cells.append(Cell("–"))
                else:
                    m = float(hit["mean"].iloc[0])
                    cells.append(Cell(f"{m:.4f} {hit['letters'].iloc[0]}", m))
            rows.append(cells)
        f_cells = [Cell("", header=True), Cell("F (df)", header=True)]
        p_cells = [Cell("", header=True), Cell("p value", header=True)]
        for a in anovas.values():
            if f not in a.factors:
                f_cells.append(Cell("–"))
                p_cells.append(Cell("–"))
                continue
            s = a.factors[f]
            f_cells.append(Cell(f"{s.F:.2f} ({s.df:g}, {a.df_resid:g})", s.F))
            p_cells.append(Cell(_fmt_p(s.p), s.p, bold=bool(np.isfinite(s.p) and s.p < 0.05)))
        rows += [f_cells, p_cells]
    first = next(iter(anovas.values()))
    test = "Tukey HSD" if first.posthoc == "tukey" else "Fisher LSD"
    return StyledTable(
        caption=(
            f"Three-factor ANOVA of {first.response.upper()} ~ resolution + SR method + MER method"
            if full
            else f"ANOVA of {first.response.upper()} on the factors with at least two levels ("
            + " + ".join(FACTOR_NAMES.get(f, f) for f in factors)
            + ")"
        )
        + f", with level means and {test} letter groups (α = {first.alpha:g}).",
        columns=["Factor", "Level", *titles],
        rows=rows,
        rules=rules,
        label="tab:anova",
        legend=f"Letters: levels that share a letter do not differ significantly ({test} on the "
        "ANOVA model's residual mean square and degrees of freedom); 'a' is the group with the "
        "highest mean. Bold p values: the factor has a significant effect (p < 0.05).",
    )


# ---------------------------------------------------------------------------------- renderers
def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(s).lower()).strip("-")


def _html_cell(c: Cell, tag: str = "td") -> str:
    t = html.escape(c.text)
    if c.underline:
        t = f"<u>{t}</u>"
    if c.bold:
        t = f"<b>{t}</b>"
    cls = []
    if c.color:
        cls.append(c.color)
    if c.header:
        cls.append("stub")
    attrs = f' class="{" ".join(cls)}"' if cls else ""
    if c.title:
        attrs += f' title="{html.escape(c.title)}"'
    return f"<{tag}{attrs}>{t}</{tag}>"


def to_html(t: StyledTable, number: str = "") -> str:
    """HTML ``<table>`` with caption and legend; marks as ``<u>``, ``<b>``, ``class="red|blue"``."""
    out = [f'<figure class="table" id="{html.escape(t.label)}">', "<table>"]
    cap = f"<b>{html.escape(number)}</b> " if number else ""
    out.append(f"<caption>{cap}{html.escape(t.caption)}</caption>")
    out.append("<thead>")
    if t.groups and any(g for g, _ in t.groups):
        out.append(
            "<tr>"
            + "".join(f'<th colspan="{n}" class="group">{html.escape(g)}</th>' for g, n in t.groups)
            + "</tr>"
        )
    out.append(
        "<tr>"
        + "".join(
            f'<th class="stub">{html.escape(c)}</th>'
            if j < t.stub
            else f"<th>{html.escape(c)}</th>"
            for j, c in enumerate(t.columns)
        )
        + "</tr>"
    )
    out.append("</thead><tbody>")
    for i, row in enumerate(t.rows):
        cls = ' class="rule"' if i in t.rules else ""
        out.append(f"<tr{cls}>" + "".join(_html_cell(c) for c in row) + "</tr>")
    out.append("</tbody></table>")
    if t.legend:
        out.append(f'<figcaption class="legend">{html.escape(t.legend)}</figcaption>')
    out.append("</figure>")
    return "\n".join(out)


def _md_cell(c: Cell) -> str:
    t = c.text.replace("|", "\\|")
    if not t:
        return ""
    if c.underline:
        t = f"<u>{t}</u>"
    if c.bold:
        t = f"**{t}**"
    if c.color == "red":
        t += " †"
    return t


def to_markdown(t: StyledTable) -> str:
    """GitHub-flavoured Markdown table: underline as ``<u>``, bold as ``**``, red as a ``†``."""
    cols = list(t.columns)
    if t.groups and any(g for g, _ in t.groups):
        # Markdown has one header row: prefix grouped columns with their group.
        labels = [g for g, n in t.groups for _ in range(n)]
        multi = sum(1 for g, _ in t.groups if g) > 1
        cols = [f"{g} {c}" if g and multi else c for g, c in zip(labels, cols, strict=False)]
    lines = ["| " + " | ".join(cols) + " |"]
    lines.append("|" + "|".join(":---" if j < t.stub else "---:" for j in range(len(cols))) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    return "\n".join(lines)


def to_rich(t: StyledTable):
    """A :class:`rich.table.Table` for the terminal: aligned columns, underline and bold as styles.

    On a terminal the marks show as text styles; written to a file or a pipe the table is plain
    aligned text (no Markdown or HTML tags), with ``†`` kept for the red (best SR strategy) mark.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    cols = list(t.columns)
    if t.groups and any(g for g, _ in t.groups):
        labels = [g for g, n in t.groups for _ in range(n)]
        multi = sum(1 for g, _ in t.groups if g) > 1
        cols = [f"{g} {c}" if g and multi else c for g, c in zip(labels, cols, strict=False)]
    for j, c in enumerate(cols):
        table.add_column(c, justify="left" if j < t.stub else "right", no_wrap=True)
    for i, row in enumerate(t.rows):
        cells = []
        for c in row:
            style = " ".join(x for x, on in (("underline", c.underline), ("bold", c.bold)) if on)
            cells.append(Text(c.text + (" †" if c.color == "red" else ""), style=style))
        table.add_row(*cells, end_section=i + 1 in t.rules)
    return table


_TEX_ESC = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
}  # fmt: skip


def _tex(s: str) -> str:
    s = "".join(_TEX_ESC.get(ch, ch) for ch in s)
    s = re.sub(r"(\d+)×(\d+)", r"$\1\\times\2$", s)
    return (
        s.replace("×", r"$\times$")
        .replace("–", "--")
        .replace("α", r"$\alpha$")
        .replace("³", r"$^3$")
    )


def _tex_cell(c: Cell) -> str:
    t = _tex(c.text)
    if c.underline:
        t = rf"\underline{{{t}}}"
    if c.bold:
        t = rf"\textbf{{{t}}}"
    if c.color:
        t = rf"\textcolor{{{c.color}}}{{{t}}}"
    return t


def to_latex(t: StyledTable) -> str:
    """booktabs ``table`` environment; marks as ``\\underline``, ``\\textbf``, ``\\textcolor``."""
    ncol = len(t.columns)
    spec = "l" * t.stub + "r" * (ncol - t.stub)
    out = [r"\begin{table}[t]", r"\centering", rf"\caption{{{_tex(t.caption)}}}"]
    if t.label:
        out.append(rf"\label{{{t.label}}}")
    out += [r"\small", rf"\begin{{tabular}}{{{spec}}}", r"\toprule"]
    if t.groups and any(g for g, _ in t.groups):
        parts, rules, col = [], [], 1
        for g, n in t.groups:
            parts.append(rf"\multicolumn{{{n}}}{{c}}{{{_tex(g)}}}" if g else " & ".join([""] * n))
            if g:
                rules.append(rf"\cmidrule(lr){{{col}-{col + n - 1}}}")
            col += n
        out.append(" & ".join(parts) + r" \\")
        out.append(" ".join(rules))
    out.append(" & ".join(_tex(c) for c in t.columns) + r" \\")
    out.append(r"\midrule")
    for i, row in enumerate(t.rows):
        if i in t.rules:
            out.append(r"\midrule")
        out.append(" & ".join(_tex_cell(c) for c in row) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    if t.legend:
        out.append(rf"\par\smallskip\footnotesize {_tex(t.legend)}")
    out.append(r"\end{table}")
    return "\n".join(out)
