"""The FSR-FER experiment of Jing et al. (2020) as an experiment kind of the engine.

Static expression recognition at x2..x8: an HR classifier (backbone F + classifier C), FSR-FER's
feature generator G with and without classification-aware re-weighting, and bicubic and image-SR
baselines, evaluated on the test split (Table 1 and Table 2 of the paper). ``srmer run CONFIG`` runs
it when the config says ``experiment: fsr_fer`` (:class:`srmer.fer.config.FERConfig`); the run
directory, lock, config and provenance files are the engine's (:mod:`srmer.bench.runner`), and the
trained models are cached under the run's cache folder (``<cache>/fer_models``), so a re-run
resumes. The models, losses and training recipes stay in :mod:`srmer.fer`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from srmer.bench.cache import Cache, atomic_write_text
from srmer.fer.config import FERConfig, load_fer_config, parse_fer_config
from srmer.fer.evaluate import (
    accuracy,
    bicubic_accuracy,
    fsr_accuracy,
    image_sr_accuracy,
    load_fer_data,
    plot_losses,
    results_frame,
    to_markdown,
)
from srmer.fer.train import save_history, train_backbone, train_fsr
from srmer.sr.methods import get_method_class

__all__ = ["fsr_fer_plan", "run_fsr_fer", "run_fsr_fer_experiment", "write_fer_report"]


def fsr_fer_plan(cfg: FERConfig) -> dict[str, Any]:
    """What ``plan.json`` records of an FSR-FER run."""
    return {
        "experiment": "fsr_fer",
        "scales": list(cfg.fsr.scales),
        "rows": ["HR", "Bicubic", *[s.label or s.name for s in cfg.image_sr], "FSR-FER"],
        "ablation_no_reweight": bool(cfg.fsr.ablation_no_reweight),
        "data": cfg.data.kind,
    }


def run_fsr_fer_experiment(
    cfg: FERConfig,
    run_dir: Path,
    cache: Cache,
    device: str,
    workers: int | None = None,
    progress: Any = None,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Train and evaluate one FSR-FER config into ``run_dir`` (called by :func:`srmer.bench.runner.run`).

    Returns
    -------
    dict
        ``tables``: ``"table1"`` (rows ``HR``, ``Bicubic``, image SR rows, ``FSR-FER``) and, with
        the ablation, ``"table2"`` (``w/o re-weighting``, ``w/ re-weighting``); columns ``x2..x8``
        and ``avg``, total accuracy in percent on the test split. ``timings``: seconds per stage.
    """
    import time

    import torch

    out = Path(run_dir)
    ck = Path(cache.root) / "fer_models"
    ck.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    say = log or (lambda s: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[f"fsr_fer:{stage.last}"] = now - t
        t, stage.last = now, name
        say(f"FSR-FER: {name}")

    stage.last = "start"
    stage("data")
    data = load_fer_data(cfg, Path(cache.root))
    scales = cfg.fsr.scales
    stage("backbone")
    bb_path = cfg.backbone.checkpoint or ck / "backbone.pt"
    bb = train_backbone(
        data.train_images,
        data.train_labels,
        cfg.backbone,
        len(data.classes),
        bb_path,
        cfg.seed,
        device,
        cfg.progress,
    )
    save_history(bb.history, out / "backbone_history.csv")
    net = bb.model
    stage("fsr")
    fsr = train_fsr(
        net,
        data.train_images,
        data.train_labels,
        cfg.fsr,
        ck / ("fsr.pt" if cfg.fsr.reweight else "fsr_noreweight.pt"),
        cfg.seed,
        device,
        cfg.progress,
    )
    histories = {"FSR-FER" + ("" if cfg.fsr.reweight else " (w/o re-weighting)"): fsr.history}
    save_history(fsr.history, out / "loss_fsr.csv")
    ablation = None
    if cfg.fsr.ablation_no_reweight and cfg.fsr.reweight:
        stage("fsr-ablation")
        ablation = train_fsr(
            net,
            data.train_images,
            data.train_labels,
            cfg.fsr.model_copy(update={"reweight": False}),
            ck / "fsr_noreweight.pt",
            cfg.seed,
            device,
            cfg.progress,
        )
        histories["w/o re-weighting"] = ablation.history
        save_history(ablation.history, out / "loss_fsr_noreweight.csv")
    stage("evaluate")
    hr = accuracy(net, data.test_images, data.test_labels, None, device)
    rows: dict[str, dict[int, float]] = {
        "HR": dict.fromkeys(scales, hr),
        "Bicubic": bicubic_accuracy(net, data.test_images, data.test_labels, scales, device),
    }
    for spec in cfg.image_sr:
        stage(f"image-sr {spec.name}")
        label = spec.label or get_method_class(spec.name).display_name
        rows[label] = image_sr_accuracy(
            spec,
            net,
            data.train_images,
            data.test_images,
            data.test_labels,
            scales,
            ck,
            device,
            cfg.seed,
            cfg.progress,
        )
    fsr_acc = fsr_accuracy(net, fsr.generator, data.test_images, data.test_labels, scales, device)
    rows["FSR-FER"] = fsr_acc
    table1 = results_frame(rows, scales)
    tables = {"table1": table1}
    if ablation is not None:
        abl = fsr_accuracy(
            net, ablation.generator, data.test_images, data.test_labels, scales, device
        )
        tables["table2"] = results_frame(
            {"w/o re-weighting": abl, "w/ re-weighting": fsr_acc}, scales
        )
    for name, df in tables.items():
        atomic_write_text(out / f"{name}.csv", df.to_csv())
        atomic_write_text(out / f"{name}.md", to_markdown(df))
    plot_losses(histories, out / "loss_curves.png")
    summary = {
        "config": json.loads(cfg.model_dump_json()),
        "n_train": len(data.train_labels),
        "n_test": len(data.test_labels),
        "classes": list(data.classes),
        "backbone_train_acc": bb.history[-1]["acc"] if bb.history else None,
        "tables": {k: json.loads(v.to_json(orient="index")) for k, v in tables.items()},
    }
    atomic_write_text(out / "results.json", json.dumps(summary, indent=2, default=str))
    stage("done")
    return {"tables": tables, "timings": timings, "summary": summary}


_TABLE_CAPTIONS = {
    "table1": "Table 1 (Jing et al. 2020): accuracy (%) on the test split at each down-sampling factor: "
    "bicubic up-sampling then the HR classifier, image SR methods then the HR classifier, and FSR-FER "
    "(LR features super-resolved, then the HR classifier).",
    "table2": "Table 2 (Jing et al. 2020): FSR-FER with and without classification-aware re-weighting "
    "w = (sigma - p)^r.",
}


def write_fer_report(
    out_dir: str | os.PathLike,
    tables: dict[str, pd.DataFrame],
    summary: dict,
    curves: str | os.PathLike | None = None,
) -> Path:
    """Self-contained ``report.html`` of an FSR-FER run: the tables, the loss curves and the config.

    Parameters
    ----------
    out_dir : path
        The run's output folder (``loss_curves.png`` is embedded when present).
    tables : dict of DataFrame
        ``table1`` (and ``table2``) as returned by :func:`run_fsr_fer`.
    summary : dict
        The run summary written to ``results.json``.
    curves : path, optional
        The loss-curve PNG to embed (default ``out_dir/loss_curves.png``, when present).

    Returns
    -------
    Path
        ``out_dir/report.html``.
    """
    import base64
    import html

    out = Path(out_dir)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>srmer FSR-FER report</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ccc;"
        "padding:4px 10px;text-align:right}caption{text-align:left;font-weight:bold;margin:.5em 0}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>",
        "<h1>FSR-FER: feature super-resolution for static expression recognition</h1>",
        f"<p>{summary.get('n_train')} training and {summary.get('n_test')} test faces, classes: "
        f"{html.escape(', '.join(summary.get('classes', [])))}. Accuracy in % (the protocol of Jing et al. 2020).</p>",
    ]
    for name, df in tables.items():
        caption = html.escape(_TABLE_CAPTIONS.get(name, name))
        table = df.to_html(float_format=lambda v: f"{v:.1f}", na_rep="", border=0)
        cut = table.index(">") + 1  # after the opening <table ...> tag
        parts.append(f"{table[:cut]}<caption>{caption}</caption>{table[cut:]}")
    curves = Path(curves) if curves is not None else out / "loss_curves.png"
    if curves.is_file():
        b64 = base64.b64encode(curves.read_bytes()).decode()
        parts.append(
            "<h2>Training losses</h2><p>Backbone and FSR-FER training curves (critic and "
            "generator losses per iteration).</p>"
        )
        parts.append(
            f"<img alt='loss curves' style='max-width:100%' src='data:image/png;base64,{b64}'>"
        )
    parts.append(
        "<h2>Configuration</h2><pre>"
        + html.escape(json.dumps(summary.get("config", {}), indent=2, default=str))
        + "</pre>"
    )
    parts.append("</body></html>")
    path = out / "report.html"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(parts))
    return path


def read_fer_run(run_dir: str | os.PathLike) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables and summary an FSR-FER run wrote (for :func:`srmer.bench.report.write_report`)."""
    from srmer.errors import SrmerError

    out = Path(run_dir)
    tables = {}
    for name in ("table1", "table2"):
        p = out / f"{name}.csv"
        if p.is_file():
            tables[name] = pd.read_csv(p, index_col=0)
    if "table1" not in tables:
        raise SrmerError(
            f"{out}: no table1.csv; the FSR-FER run did not finish (run `srmer run CONFIG` again: "
            "trained models are cached)"
        )
    summary_path = out / "results.json"
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    except ValueError:
        summary = {}
    return tables, summary


def run_fsr_fer(
    config: dict[str, Any] | str | os.PathLike | FERConfig,
    out_dir: str | os.PathLike,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run an FSR-FER config into ``out_dir`` through the engine and return its tables.

    Parameters
    ----------
    config : dict, path or FERConfig
        A config mapping, a YAML path (``src/srmer/configs/fer_demo.yaml``) or a validated config.
    out_dir : path
        The run directory (its ``output:``); trained models are cached in ``out_dir/cache`` unless
        the config sets ``cache:``, and a re-run resumes from them.
    on_stage : callable, optional
        Receives a short line before each stage.

    Returns
    -------
    dict of DataFrame
        ``"table1"`` and (with the ablation) ``"table2"``; see :func:`run_fsr_fer_experiment`.
    """
    from srmer.bench.runner import run

    if isinstance(config, str | os.PathLike) and not isinstance(config, dict):
        cfg = load_fer_config(config)
    else:
        cfg = parse_fer_config(config)
    cfg = cfg.model_copy(update={"output": Path(out_dir)})
    result = run(cfg, quiet=on_stage is None or not cfg.progress, write_report=True)
    return result.tables
