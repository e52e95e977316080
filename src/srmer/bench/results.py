"""Results assembly: the rows of ``results.csv``, ``predictions.csv`` and ``quality.csv``.

Every results row carries the facts the report needs, so that nothing downstream parses setting
names: ``hr_size`` (the HR side), ``is_reference`` (the HR row, Zhou et al.'s ``256x256``), and the
display names of the SR and MER methods as their classes in the registries spell them
(``sr_display``, ``mer_display``).
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


def mean_quality(
    per_clip: dict[int, ClipResult], kept: list[int], setting_id: str
) -> dict[str, float]:
    """Per-setting mean of each quality metric over the clips (empty when the setting has no SR output)."""
    qs = [per_clip[i].quality[setting_id] for i in kept if setting_id in per_clip[i].quality]
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
) -> dict[str, Any]:
    """One ``results.csv`` row: a (dataset, setting, MER) cell's metrics and its SR quality."""
    return {
        "dataset": dataset,
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


def prediction_rows(
    dataset: str,
    st: Setting,
    mer: MethodSpec,
    used: list,
    classes: tuple[str, ...] | list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
) -> list[dict[str, Any]]:
    """``predictions.csv`` rows of one cell: subject, clip, true and predicted class names."""
    return [
        {
            "dataset": dataset,
            "resolution": st.resolution,
            "setting": st.name,
            "sr": st.sr_label,
            "mer": mer.label,
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
