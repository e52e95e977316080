"""FSR-FER evaluation: the paper's Table 1 (accuracy at x2..x8) and Table 2 (re-weighting ablation).

Jing et al. 2020 (seed 003), section 4: RAF-DB basic test faces (100x100) are down-sampled with MATLAB
bicubic by integer factors x2..x8 and classified by

* **Bicubic**: bicubic up-sampling back to 100x100, then the HR classifier;
* **image SR** (from :mod:`srmer.sr`): RCAN, one model per factor (the paper reports x2, x3, x4, x8),
  and Meta-SR, one model for every factor with the output size set to 100x100, then the HR classifier;
* **FSR-FER**: the HR classifier's C on ``G(F(bicubic_up(I_lr)))``, one G for every factor;
* Table 2: FSR-FER trained with and without the classification-aware re-weighting.

Accuracies are total (overall) accuracy in percent, as the paper's tables. The whole experiment (train,
evaluate, tables, report) is the engine's ``fsr_fer`` experiment kind,
:func:`srmer.bench.experiments.fsr_fer.run_fsr_fer`, run by ``srmer run`` on a config with
``experiment: fsr_fer``; this module holds the evaluation pieces it calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from srmer.errors import ConfigError, SrmerError
from srmer.fer.backbone import FERNet
from srmer.fer.config import FERConfig, ImageSRConfig
from srmer.fer.fsr import FeatureGenerator
from srmer.fer.train import degrade_up, extract_features

__all__ = [
    "FERData",
    "accuracy",
    "bicubic_accuracy",
    "fsr_accuracy",
    "image_sr_accuracy",
    "load_fer_data",
    "plot_losses",
    "results_frame",
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
    # one model for every factor (Meta-SR) or one per factor (RCAN): the architecture declares it
    from srmer.sr.registry import get_spec

    any_scale = get_spec(spec.name).any_scale
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
            if any_scale:
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

    if any_scale:
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


def results_frame(rows: dict[str, dict[int, float]], scales: list[int]) -> pd.DataFrame:
    """Table of accuracies: rows = methods (``rows`` order), columns ``x<s>`` per factor and ``avg``."""
    df = pd.DataFrame({f"x{s}": [rows[m].get(s, np.nan) for m in rows] for s in scales})
    df.index = pd.Index(list(rows), name="method")
    df["avg"] = df.mean(axis=1, skipna=False)
    return df


def main(argv: list[str] | None = None) -> int:
    """Deprecated ``python -m srmer.fer.evaluate CONFIG OUT_DIR``: use ``srmer run CONFIG``."""
    import importlib
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(
            "usage: srmer run CONFIG   (python -m srmer.fer.evaluate CONFIG OUT_DIR is deprecated)"
        )
        return 2
    print("python -m srmer.fer.evaluate is deprecated: use `srmer run CONFIG` (or `srmer fer run`)")
    cli = importlib.import_module("srmer.cli")  # by name: the CLI is the top layer
    return cli.main_with(["fer", "run", *args])


if __name__ == "__main__":
    raise SystemExit(main())
