"""FSR-FER evaluation: the paper's Table 1 (accuracy at x2..x8) and Table 2 (re-weighting ablation).

Jing et al. 2020 (seed 003), section 4: RAF-DB basic test faces (100x100) are down-sampled with MATLAB
bicubic by integer factors x2..x8 and classified by

* **Bicubic**: bicubic up-sampling back to 100x100, then the HR classifier;
* **image SR** (from :mod:`srmer.sr`): RCAN, one model per factor (the paper reports x2, x3, x4, x8),
  and Meta-SR, one model for every factor with the output size set to 100x100, then the HR classifier;
* **FSR-FER**: the HR classifier's C on ``G(F(bicubic_up(I_lr)))``, one G for every factor;
* Table 2: FSR-FER trained with and without the classification-aware re-weighting.

Accuracies are total (overall) accuracy in percent, as the paper's tables. :func:`run_fsr_fer` is the
whole experiment from a config (``srmer.fer.config``); the lead's CLI or benchmark can call it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from srmer.errors import ConfigError, SrmerError
from srmer.fer.backbone import FERNet
from srmer.fer.config import FERConfig, ImageSRConfig, load_fer_config, parse_fer_config
from srmer.fer.fsr import FeatureGenerator
from srmer.fer.train import (
    degrade_up,
    extract_features,
    save_history,
    train_backbone,
    train_fsr,
)

__all__ = [
    "FERData",
    "accuracy",
    "bicubic_accuracy",
    "fsr_accuracy",
    "image_sr_accuracy",
    "load_fer_data",
    "plot_losses",
    "run_fsr_fer",
    "to_markdown",
]


@dataclass
class FERData:
    """HR faces of one experiment: ``(N, S, S, 3)`` uint8 images and ``(N,)`` int labels per split."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: tuple[str, ...]


def _read_split(root: Path, split: str, variant: str, size: int, cap: int | None, seed: int):
    from srmer.data import load
    from srmer.degrade import imresize
    from srmer.video.io import read_image

    samples = load("rafdb", root, classes="7class", split=split, variant=variant)
    items = list(samples)
    if not items:
        raise SrmerError(f"no usable RAF-DB {split} images under {root}; check the folder layout")
    if cap is not None and cap < len(items):
        # a fixed random subset (not the first names) keeps the class balance of the split
        keep = np.sort(np.random.default_rng(seed).permutation(len(items))[:cap])
        items = [items[i] for i in keep]
    imgs = []
    for s in items:
        im = read_image(s.frames[0])
        if im.shape[:2] != (size, size):
            im = imresize(im, size=size)
        imgs.append(im)
    return np.stack(imgs), np.array([s.label for s in items]), samples.classes


def load_fer_data(cfg: FERConfig, out_dir: str | os.PathLike | None = None) -> FERData:
    """Load (or, for ``data.kind: synthetic``, generate) the train and test faces of a config."""
    d = cfg.data
    root = d.root
    if d.kind == "synthetic":
        from srmer.data.synthetic import generate_static

        if root is None:
            if out_dir is None:
                raise ConfigError("data.root: give a folder for the synthetic set (or an out_dir)")
            root = Path(out_dir) / "data"
        if not (Path(root) / "basic" / "EmoLabel" / "list_patition_label.txt").is_file():
            generate_static(
                root,
                n_train_per_class=d.n_train_per_class,
                n_test_per_class=d.n_test_per_class,
                size=d.size,
                amplitude=d.amplitude,
                seed=d.synthetic_seed,
            )
    assert root is not None
    xtr, ytr, classes = _read_split(Path(root), "train", d.variant, d.size, d.max_train, cfg.seed)
    xte, yte, _ = _read_split(Path(root), "test", d.variant, d.size, d.max_test, cfg.seed + 1)
    return FERData(xtr, ytr, xte, yte, tuple(classes))


# ----------------------------------------------------------------------------- accuracies


@torch.no_grad()
def accuracy(
    backbone: FERNet,
    images: np.ndarray,
    labels: np.ndarray,
    generator: FeatureGenerator | None = None,
    device: str | torch.device = "cpu",
    batch: int = 128,
) -> float:
    """Total accuracy (%) of ``C(G(F(x)))`` (``G`` omitted: ``C(F(x))``) on ``(N, H, W, 3)`` uint8."""
    backbone.eval()
    if generator is not None:
        generator.eval()
    correct = 0
    for i in range(0, len(images), batch):
        f = extract_features(backbone, images[i : i + batch], device).to(device)
        if generator is not None:
            f = generator(f)
        pred = backbone.classifier(f).argmax(1).cpu().numpy()
        correct += int((pred == labels[i : i + batch]).sum())
    return 100.0 * correct / max(len(images), 1)


def bicubic_accuracy(
    backbone: FERNet, images: np.ndarray, labels: np.ndarray, scales: list[int], device="cpu"
) -> dict[int, float]:
    """Accuracy (%) of the HR classifier on bicubic-restored faces, per down-sampling factor."""
    return {s: accuracy(backbone, degrade_up(images, s), labels, None, device) for s in scales}


def fsr_accuracy(
    backbone: FERNet,
    generator: FeatureGenerator,
    images: np.ndarray,
    labels: np.ndarray,
    scales: list[int],
    device="cpu",
) -> dict[int, float]:
    """Accuracy (%) of FSR-FER (one generator for every factor) per down-sampling factor."""
    return {s: accuracy(backbone, degrade_up(images, s), labels, generator, device) for s in scales}


def _sr_to_size(model: torch.nn.Module, lr: np.ndarray, size: int, device) -> np.ndarray:
    from srmer.degrade import imresize
    from srmer.sr import upscale

    out = upscale(model, lr, device=device, batch=16)
    if out.shape[1:3] != (size, size):
        # e.g. RCAN x3 on a 34 px face gives 102 px; MATLAB bicubic to the classifier's input size
        out = imresize(out, size=size)
    return out


def image_sr_accuracy(
    spec: ImageSRConfig,
    backbone: FERNet,
    train_images: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    scales: list[int],
    work_dir: str | os.PathLike,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool = False,
) -> dict[int, float]:
    """Accuracy (%) of image SR (``rcan`` per factor, ``metasr`` for any factor) + HR classifier.

    Models come from ``spec.checkpoints`` (``{"2": path, ...}`` for RCAN, ``{"any": path}`` for Meta-SR)
    or are trained on the *training* HR faces with :func:`srmer.sr.train_sr` for ``spec.train_steps``
    steps (checkpoints under ``work_dir``, resumable). Factors with neither give NaN (shown as "-",
    like the paper's RCAN x5..x7). Meta-SR training cycles once through the factors with
    ``train_steps / len(factors)`` steps each (an approximation of its random-scale training).
    """
    import srmer.sr as sr

    size = test_images.shape[1]
    wanted = spec.scales or scales
    out: dict[int, float] = {s: float("nan") for s in scales}
    work = Path(work_dir)

    def obtain(scale: int, key: str, train_scales: list[int]) -> torch.nn.Module | None:
        if key in spec.checkpoints:
            p = spec.checkpoints[key]
            if not Path(p).is_file():
                raise ConfigError(f"image_sr {spec.name}: checkpoints[{key}] {p} does not exist")
            return sr.load_checkpoint(p)
        if spec.train_steps <= 0:
            return None
        model = sr.create(spec.name, scale=scale, seed=seed, **spec.hparams)
        per = max(1, spec.train_steps // len(train_scales))
        for s in train_scales:
            if spec.name == "metasr":
                model.scale = s
            sr.train_sr(
                model,
                train_images,
                scale=s,
                steps=per,
                batch_size=spec.batch_size,
                lr_patch=spec.lr_patch,
                ckpt_path=work / f"{spec.name}_{key}_x{s}.pt",
                device=device,
                seed=seed,
                progress=progress,
            )
        return model

    if spec.name == "metasr":
        model = obtain(4, "any", [s for s in wanted if s in scales])
        if model is None:
            return out
        for s in wanted:
            if s not in scales:
                continue
            lr = _lr(test_images, s)
            model.scale = size / lr.shape[1]  # output exactly the HR side, as the paper
            out[s] = accuracy(
                backbone, _sr_to_size(model, lr, size, device), test_labels, None, device
            )
        return out
    for s in wanted:
        if s not in scales:
            continue
        model = obtain(s, str(s), [s])
        if model is None:
            continue
        sr_imgs = _sr_to_size(model, _lr(test_images, s), size, device)
        out[s] = accuracy(backbone, sr_imgs, test_labels, None, device)
    return out


def _lr(images: np.ndarray, s: int) -> np.ndarray:
    from srmer.degrade import imresize

    return imresize(images, scale=1.0 / s)


# ----------------------------------------------------------------------------- outputs


def to_markdown(df: pd.DataFrame, digits: int = 2) -> str:
    """A pipe table of a result frame (NaN as ``-``, like the paper's missing RCAN factors)."""
    cols = [str(c) for c in df.columns]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in df.iterrows():
        cells = ["-" if pd.isna(v) else f"{v:.{digits}f}" for v in row.to_numpy()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_losses(histories: dict[str, list[dict[str, float]]], path: str | os.PathLike) -> Path:
    """Loss curves (critic, generator terms; moving averages) of each FSR run as a PNG (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("loss_d", "critic L_D"), ("l_gan", "L_gan"), ("l_p", "L_p"), ("l_2", "L_2")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2))
    for name, hist in histories.items():
        if not hist:
            continue
        df = pd.DataFrame(hist)
        win = max(1, len(df) // 50)
        for ax, (k, title) in zip(axes, keys, strict=True):
            ax.plot(df["step"], df[k].rolling(win, min_periods=1).mean(), label=name)
            ax.set_title(title)
            ax.set_xlabel("iteration")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _frame(rows: dict[str, dict[int, float]], scales: list[int]) -> pd.DataFrame:
    df = pd.DataFrame({f"x{s}": [rows[m].get(s, np.nan) for m in rows] for s in scales})
    df.index = pd.Index(list(rows), name="method")
    df["avg"] = df.mean(axis=1, skipna=False)
    return df


def run_fsr_fer(
    config: dict[str, Any] | str | os.PathLike | FERConfig,
    out_dir: str | os.PathLike,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the seed-003 experiment: backbone, FSR-FER (+ ablation), image SR baselines, tables.

    Parameters
    ----------
    config : dict, path or FERConfig
        A config mapping, a YAML path (``src/srmer/configs/fer_demo.yaml``) or a validated config.
    out_dir : path
        Output folder. Checkpoints (``backbone.pt``, ``fsr.pt``, ``fsr_noreweight.pt``, SR models)
        go to ``out_dir/checkpoints`` and make a re-run resume; results are ``table1.csv/.md``,
        ``table2.csv/.md``, ``loss_fsr*.csv``, ``loss_curves.png``, ``backbone_history.csv`` and
        ``results.json``.
    on_stage : callable, optional
        Called with a short stage name before each stage (for a caller's log).

    Returns
    -------
    dict of DataFrame
        ``"table1"``: rows ``HR`` (no down-sampling, every column), ``Bicubic``, image SR rows,
        ``FSR-FER``; ``"table2"``: ``w/o re-weighting`` and ``w/ re-weighting``. Columns ``x2..x8``
        and ``avg``, total accuracy in percent on the test split.
    """
    if isinstance(config, str | os.PathLike) and not isinstance(config, dict):
        cfg = load_fer_config(config)
    else:
        cfg = parse_fer_config(config)
    out = Path(out_dir)
    ck = out / "checkpoints"
    ck.mkdir(parents=True, exist_ok=True)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    from srmer.sr.infer import resolve_device

    device = resolve_device(cfg.device)
    say = on_stage or (lambda s: None)
    say("data")
    data = load_fer_data(cfg, out)
    scales = cfg.fsr.scales
    say("backbone")
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
    say("fsr")
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
        say("fsr-ablation")
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
    say("evaluate")
    hr = accuracy(net, data.test_images, data.test_labels, None, device)
    rows: dict[str, dict[int, float]] = {
        "HR": dict.fromkeys(scales, hr),
        "Bicubic": bicubic_accuracy(net, data.test_images, data.test_labels, scales, device),
    }
    for spec in cfg.image_sr:
        say(f"image-sr {spec.name}")
        label = spec.label or {"rcan": "RCAN", "metasr": "Meta-SR"}[spec.name]
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
    table1 = _frame(rows, scales)
    tables = {"table1": table1}
    if ablation is not None:
        abl = fsr_accuracy(
            net, ablation.generator, data.test_images, data.test_labels, scales, device
        )
        tables["table2"] = _frame({"w/o re-weighting": abl, "w/ re-weighting": fsr_acc}, scales)
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv")
        (out / f"{name}.md").write_text(to_markdown(df))
    plot_losses(histories, out / "loss_curves.png")
    summary = {
        "config": json.loads(cfg.model_dump_json()),
        "n_train": len(data.train_labels),
        "n_test": len(data.test_labels),
        "classes": list(data.classes),
        "backbone_train_acc": bb.history[-1]["acc"] if bb.history else None,
        "tables": {k: json.loads(v.to_json(orient="index")) for k, v in tables.items()},
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    write_fer_report(out, tables, summary)
    return tables


_TABLE_CAPTIONS = {
    "table1": "Table 1 (seed 003): accuracy (%) on the test split at each down-sampling factor: "
    "bicubic up-sampling then the HR classifier, image SR methods then the HR classifier, and FSR-FER "
    "(LR features super-resolved, then the HR classifier).",
    "table2": "Table 2 (seed 003): FSR-FER with and without classification-aware re-weighting "
    "w = (sigma - p)^r.",
}


def write_fer_report(
    out_dir: str | os.PathLike, tables: dict[str, pd.DataFrame], summary: dict
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
    """
    import base64
    import html

    from srmer.bench.cache import atomic_write_text

    out = Path(out_dir)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>srmer FSR-FER report</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ccc;"
        "padding:4px 10px;text-align:right}caption{text-align:left;font-weight:bold;margin:.5em 0}"
        "pre{background:#f6f6f6;padding:1em;overflow:auto}</style></head><body>",
        "<h1>FSR-FER: feature super-resolution for static expression recognition</h1>",
        f"<p>{summary.get('n_train')} training and {summary.get('n_test')} test faces, classes: "
        f"{html.escape(', '.join(summary.get('classes', [])))}. Accuracy in % (seed 003, Jing et al.).</p>",
    ]
    for name, df in tables.items():
        caption = html.escape(_TABLE_CAPTIONS.get(name, name))
        table = df.to_html(float_format=lambda v: f"{v:.1f}", na_rep="", border=0)
        cut = table.index(">") + 1  # after the opening <table ...> tag
        parts.append(f"{table[:cut]}<caption>{caption}</caption>{table[cut:]}")
    curves = out / "loss_curves.png"
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
    atomic_write_text(path, "\n".join(parts))
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m srmer.fer.evaluate CONFIG OUT_DIR``: run :func:`run_fsr_fer` and print the tables."""
    import argparse

    from srmer.errors import SrmerError

    ap = argparse.ArgumentParser(
        prog="python -m srmer.fer.evaluate", description=__doc__.splitlines()[0]
    )
    ap.add_argument("config", help="FSR-FER YAML config (e.g. src/srmer/configs/fer_demo.yaml)")
    ap.add_argument("out_dir", help="output folder (re-running resumes from its checkpoints)")
    args = ap.parse_args(argv)
    try:
        tables = run_fsr_fer(args.config, args.out_dir, on_stage=lambda s: print(f"[fsr-fer] {s}"))
    except SrmerError as err:
        print(f"error: {err}")
        return 2
    for name, df in tables.items():
        print(f"\n{name} (total accuracy %, test split)\n{to_markdown(df, 1)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
