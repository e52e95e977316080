"""Results assembly: the rows of ``results.csv``, ``predictions.csv`` and ``quality.csv``.

Every results row carries the facts the report needs, so that nothing downstream parses setting
names: ``hr_size`` (the HR side), ``is_reference`` (the HR row, Zhou et al.'s ``256x256``), the
display names of the SR and MER methods as their classes in the registries spell them
(``sr_display``, ``mer_display``), and the protocol that produced it (``protocol``,
``train_datasets``, ``test_dataset``). When a row's test clips span several source databases (the
composite, leave-one-dataset-out), ``results_by_dataset`` holds its metrics per source database,
computed from the same pooled predictions (MEGC 2019 reports both).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srmer.bench.cache import atomic_write_bytes, atomic_write_text
from srmer.bench.config import MethodSpec
from srmer.bench.plan import Setting
from srmer.bench.stages.clip import ClipResult

#: columns every results row has (besides the metrics and quality columns)
RESULT_SCHEMA: tuple[str, ...] = (
    "dataset",
    "protocol",
    "train_datasets",
    "test_dataset",
    "class_map",
    "degradation",
    "resolution",
    "hr_size",
    "is_reference",
    "setting",
    "sr",
    "sr_display",
    "mer",
    "mer_display",
    "n_clips",
)


def sr_display(spec: MethodSpec | None) -> str:
    """Display name of an SR entry: its ``label`` if given, else the method class's display name."""
    if spec is None:
        return "HR"
    if "label" in spec.options:
        return spec.label
    from srmer.sr.methods import get_method_class

    return _display_of(get_method_class(spec.name), spec.name)


def mer_display(spec: MethodSpec) -> str:
    """Display name of a MER entry: its ``label`` if given, else the method class's display name."""
    if "label" in spec.options:
        return spec.label
    from srmer.mer.registry import get_class

    return _display_of(get_class(spec.name), spec.name)


def _display_of(cls: type, name: str) -> str:
    return str(getattr(cls, "display_name", "") or name)


def mean_quality(results: list[ClipResult], setting_id: str) -> dict[str, float]:
    """Per-setting mean of each quality metric over the clips (empty when the setting has no SR output)."""
    qs = [r.quality[setting_id] for r in results if setting_id in r.quality]
    return {m: float(np.mean([q[m] for q in qs])) for m in (qs[0] if qs else {})}


def cell_row(
    dataset: str,
    class_map: str,
    degradation: str,
    st: Setting,
    mer: MethodSpec,
    metrics: dict[str, float],
    n_clips: int,
    quality: dict[str, float],
    quality_names: list[str],
    protocol: str = "loso",
    train_datasets: str | None = None,
    test_dataset: str | None = None,
) -> dict[str, Any]:
    """One ``results.csv`` row: a (pool, protocol task, setting, MER) cell's metrics and SR quality."""
    return {
        "dataset": dataset,
        "protocol": protocol,
        "train_datasets": train_datasets or dataset,
        "test_dataset": test_dataset or dataset,
        "class_map": class_map,
        "degradation": degradation,
        "resolution": st.resolution,
        "hr_size": st.hr_size,
        "is_reference": st.is_reference,
        "setting": st.name,
        "sr": st.sr_label,
        "sr_display": sr_display(st.sr),
        "mer": mer.label,
        "mer_display": mer_display(mer),
        **metrics,
        "n_clips": n_clips,
        **{q: quality.get(q, np.nan) for q in quality_names},
    }


#: the columns of a results row that identify its cell (``results_by_dataset`` repeats them)
CELL_KEYS = tuple(
    c
    for c in RESULT_SCHEMA
    if c not in ("hr_size", "is_reference", "sr_display", "mer_display", "n_clips")
)


def by_dataset_rows(
    row: dict[str, Any], used: list, y_true: np.ndarray, y_pred: np.ndarray
) -> list[dict[str, Any]]:
    """``results_by_dataset`` rows of one cell: its metrics per source database of its test clips.

    Empty when the test clips come from one database (the row itself is then that database's).
    """
    from srmer.eval.metrics import all_metrics

    src = np.array([s.dataset for s in used])
    names = list(dict.fromkeys(src.tolist()))
    if len(names) < 2:
        return []
    out = []
    for name in names:
        m = src == name
        out.append(
            {
                **{k: row[k] for k in CELL_KEYS},
                "source_dataset": name,
                **all_metrics(y_true[m], y_pred[m]),
                "n_clips": int(m.sum()),
            }
        )
    return out


def prediction_rows(
    dataset: str,
    st: Setting,
    mer: MethodSpec,
    used: list,
    classes: tuple[str, ...] | list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    protocol: str = "loso",
    train_datasets: str | None = None,
    test_dataset: str | None = None,
) -> list[dict[str, Any]]:
    """``predictions.csv`` rows of one cell: source database, subject, clip, true and predicted class."""
    return [
        {
            "dataset": dataset,
            "protocol": protocol,
            "train_datasets": train_datasets or dataset,
            "test_dataset": test_dataset or dataset,
            "resolution": st.resolution,
            "setting": st.name,
            "sr": st.sr_label,
            "mer": mer.label,
            "source_dataset": s.dataset,
            "subject": s.subject,
            "clip": s.clip,
            "y_true": classes[a],
            "y_pred": classes[b],
        }
        for s, a, b in zip(used, y, y_pred, strict=True)
    ]


def write_table(stem: Path, df: pd.DataFrame, parquet: bool = True) -> None:
    """Write ``stem.csv`` (and ``stem.parquet``) atomically."""
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    if parquet:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(stem.with_suffix(".parquet"), buf.getvalue())
