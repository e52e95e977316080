"""Static facial expression recognition and feature super-resolution (FSR-FER, Jing et al. 2020).

Jing et al., "Feature super-resolution based facial expression recognition for multi-scale
low-resolution faces" (2020): a FER classifier trained on HR faces is split into a feature extractor F
and a classifier C; a GAN generator G (RRDB blocks) maps features of bicubic-restored LR faces towards
the HR features; one G serves every down-sampling factor x2..x8. See ``docs/fsr_fer.md``.

The experiment itself (train, evaluate, tables, report) is the engine's ``fsr_fer`` kind: run
``srmer run configs/fer_demo.yaml``, or from Python::

    from srmer.bench.experiments.fsr_fer import run_fsr_fer
    tables = run_fsr_fer("src/srmer/configs/fer_demo.yaml", "runs/fer_demo")   # Table 1 and Table 2

This package holds the models, losses and training recipes it uses.

Torch-heavy modules are imported lazily so that ``import srmer.fer`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "FSRMER",
    "FERConfig",
    "FeatureCritic",
    "FeatureGenerator",
    "FeatureSR",
    "accuracy",
    "create_fer",
    "generator_loss",
    "load_backbone",
    "load_fer_config",
    "load_generator",
    "reweight",
    "run_fsr_fer",
    "train_backbone",
    "train_fsr",
    "wgan_div_penalty",
]

_LAZY = {
    "FERConfig": "srmer.fer.config",
    "load_fer_config": "srmer.fer.config",
    "create_fer": "srmer.fer.backbone",
    "FeatureGenerator": "srmer.fer.fsr",
    "FeatureCritic": "srmer.fer.fsr",
    "generator_loss": "srmer.fer.losses",
    "reweight": "srmer.fer.losses",
    "wgan_div_penalty": "srmer.fer.losses",
    "train_backbone": "srmer.fer.train",
    "train_fsr": "srmer.fer.train",
    "load_backbone": "srmer.fer.train",
    "load_generator": "srmer.fer.train",
    "accuracy": "srmer.fer.evaluate",
    "FSRMER": "srmer.mer.fsr",
    "FeatureSR": "srmer.mer.fsr",
}


#: deprecated names kept working until 0.3: they moved up to the engine (srmer.bench), so they are
#: resolved by name on first use, never imported by this package
_MOVED = {"run_fsr_fer": "srmer.bench.experiments.fsr_fer"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import warnings

        warnings.warn(
            f"srmer.fer.{name} moved to {_MOVED[name]}.{name} (or run `srmer run CONFIG`); "
            "the old name goes in srmer 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(_MOVED[name]), name)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srmer.fer' has no attribute {name!r}")
