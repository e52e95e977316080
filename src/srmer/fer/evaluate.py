"""FSR-FER evaluation: the paper's Table 1 (accuracy at x2..x8) and Table 2 (re-weighting ablation).

Jing et al. 2020, section 4: RAF-DB basic test faces (100x100) are down-sampled with MATLAB
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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch

from srmer.errors import ConfigError, SrmerError
from srmer.fer.backbone import FERNet
from srmer.fer.config import FERConfig, ImageSRConfig
from srmer.fer.fsr import FeatureGenerator
from srmer.fer.train import degrade_up, extract_features

if TYPE_CHECKING:
    from srmer.sr.methods import SRMethod

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


def _sr_to_size(
    method: SRMethod, lr: np.ndarray, factor: int, size: int, any_scale: bool
) -> np.ndarray:
    """Super-resolve LR faces with an SR method and bring them to the classifier's input size.

    Parameters
    ----------
    method : SRMethod
        A prepared SR method (:func:`srmer.sr.methods.get_method`).
    lr : ndarray
        ``(N, h, h, 3)`` uint8 LR faces (``_lr`` of the test faces), run as one clip.
    factor : int
        The down-sampling factor that made ``lr``.
    size : int
        HR side (the classifier's input).
    any_scale : bool
        The architecture's ``any_scale`` capability: the model outputs exactly ``size`` (Meta-SR,
        as the paper); otherwise it runs at its integer ``factor`` (``h * factor`` px, e.g. RCAN
        x3 on a 34 px face gives 102 px), asked for explicitly so that the model of ``factor`` runs
        even on faces so small that ``size / h`` rounds to another factor.

    Returns
    -------
    ndarray
        ``(N, size, size, 3)`` uint8.
    """
    from srmer.degrade import imresize

    target = size if any_scale else lr.shape[1] * factor
    out = method.upscale(lr, target)
    if out.shape[1:3] != (size, size):
        # MATLAB bicubic to the classifier's input size, as the bicubic baseline
        out = imresize(out, size=size)
    return out


def _sr_options(spec: ImageSRConfig) -> dict[str, Any]:
    """The SR-method options of an ``image_sr`` entry's training fields (no checkpoint).

    ``train_steps``, ``batch_size``, ``lr_patch`` -> ``steps``, ``batch_size``, ``lr_patch``;
    ``hparams`` -> ``hparams``, and an empty ``hparams`` -> ``full: true`` (the architecture's
    published configuration, what ``image_sr`` has always trained, not the contract's reduced CPU
    one).
    """
    opts: dict[str, Any] = {
        "steps": spec.train_steps,
        "batch_size": spec.batch_size,
        "lr_patch": spec.lr_patch,
    }
    if spec.hparams:
        opts["hparams"] = dict(spec.hparams)
    else:
        opts["full"] = True
    return opts


def _checkpoint_for(spec: ImageSRConfig, factor: int, any_scale: bool) -> Path | None:
    """The ``checkpoints`` entry that serves ``factor``: its own key, else ``any`` (any-scale only)."""
    if str(factor) in spec.checkpoints:
        key = str(factor)
    elif "any" in spec.checkpoints and any_scale:
        key = "any"
    else:
        return None
    path = Path(spec.checkpoints[key])
    if not path.is_file():
        raise ConfigError(f"image_sr {spec.name}: checkpoints[{key}] {path} does not exist")
    return path


def _image_sr_methods(
    spec: ImageSRConfig, factors: list[int], any_scale: bool, context: dict[str, Any]
) -> dict[int, SRMethod]:
    """The prepared SR method serving each factor that has a model (a checkpoint or training).

    Factors with their own checkpoint run it (a method with ``checkpoint:``, whose architecture
    the contract checks); the others are trained once on ``context["pool_images"]`` when
    ``train_steps > 0``: one model per factor, or for an any-scale architecture one model over all
    of them (``train_scales``). Factors with neither are left out.
    """
    from srmer.sr.methods import get_method

    methods: dict[int, SRMethod] = {}
    by_file: dict[Path, SRMethod] = {}
    to_train: list[int] = []
    for s in factors:
        path = _checkpoint_for(spec, s, any_scale)
        if path is None:
            if spec.train_steps > 0:
                to_train.append(s)
            continue
        if path not in by_file:
            by_file[path] = get_method(spec.name, checkpoint=str(path))
        methods[s] = by_file[path]
        # loads (and checks the architecture of) the file now, not in the middle of evaluation
        methods[s].prepare(**context, scales=[s])
    if to_train:
        opts = _sr_options(spec)
        if any_scale:
            opts["train_scales"] = to_train  # the paper's one Meta-SR model for every factor
        trained = get_method(spec.name, **opts)
        trained.prepare(**context, scales=to_train)
        methods.update(dict.fromkeys(to_train, trained))
    return methods


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
    """Accuracy (%) of an image-SR baseline (SR to the HR side, then the HR classifier) per factor.

    The SR models are benchmark SR methods (:func:`srmer.sr.methods.get_method`, the contract of
    :class:`srmer.sr.trained.TrainedSR`): ``spec.checkpoints`` (``{"2": path, ...}``; ``{"any":
    path}`` for an any-scale architecture) are loaded with the contract's architecture check,
    other factors are trained on the *training* HR faces only and cached under ``work_dir``
    (``<name>-x<s>-<key>.pth``, Meta-SR ``<name>-xany-<key>.pth``; the key includes the faces'
    fingerprint). RCAN trains one model per factor, Meta-SR (``any_scale``) one model for every
    factor whose output size is set to the HR side, as the paper.

    Parameters
    ----------
    spec : ImageSRConfig
        The ``image_sr`` entry.
    backbone : FERNet
        The HR classifier.
    train_images : ndarray
        ``(N, S, S, 3)`` uint8 training HR faces: the SR training pool (never the test faces).
    test_images, test_labels : ndarray
        ``(M, S, S, 3)`` uint8 test HR faces and their ``(M,)`` int labels.
    scales : list of int
        The experiment's down-sampling factors (the table's columns); ``spec.scales`` may
        restrict them.
    work_dir : path
        Cache folder of the trained SR weights.
    device, seed, progress
        Training and inference device, training seed, progress bars.

    Returns
    -------
    dict
        ``{factor: accuracy %}`` for every factor of ``scales``; NaN (shown as "-", like the
        paper's RCAN x5..x7) where the entry has neither a checkpoint nor training
        (``train_steps: 0``) or does not ask for the factor.

    Raises
    ------
    ConfigError
        A checkpoint file does not exist, or ``checkpoints: {any: ...}`` for a fixed-scale
        architecture.
    CheckpointError
        A checkpoint holds another architecture (the message names the file).
    """
    from srmer.sr.registry import get_spec

    size = test_images.shape[1]
    factors = [s for s in (spec.scales or scales) if s in scales]
    # one model for every factor or one per factor: the architecture declares it
    any_scale = get_spec(spec.name).any_scale
    if "any" in spec.checkpoints and not any_scale:
        raise ConfigError(
            f"image_sr {spec.name}: checkpoints.any is for any-scale architectures (metasr); "
            f'give one checkpoint per factor, e.g. {{"2": RCAN_x2.pt, "4": RCAN_x4.pt}}'
        )
    context: dict[str, Any] = {
        # the SR training pool is the training split's HR faces only: the test faces are only
        # ever super-resolved, never trained on
        "pool_images": train_images,
        "cache_dir": str(work_dir),
        "device": device,
        "seed": seed,
        "progress": progress,
    }
    methods = _image_sr_methods(spec, factors, any_scale, context)
    out: dict[int, float] = {s: float("nan") for s in scales}
    for s, method in methods.items():
        sr_imgs = _sr_to_size(method, _lr(test_images, s), s, size, any_scale)
        out[s] = accuracy(backbone, sr_imgs, test_labels, None, device)
    return out


def _lr(images: np.ndarray, s: int) -> np.ndarray:
    """``(N, S, S, 3)`` uint8 HR faces -> MATLAB-bicubic x1/``s`` ``(N, ceil(S/s), ...)`` uint8."""
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
