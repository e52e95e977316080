"""Deep MER methods: flow-image networks, MMNet on onset/apex frames, the 3D-ResNet on TIM-16.

Each class pairs a per-clip representation (cached by the benchmark engine) with a
:class:`srmer.mer.train.NetClassifier` preset with the paper's optimiser and learning rate. Parameters
come from the experiment config, e.g.::

    mer: [{name: ststnet, epochs: 20, device: auto}, {name: rcna, size: 60}]

Representation parameters (they change the cached input): ``size``, ``normalise``, ``flow`` (a dict of
:func:`srmer.features.flow.tvl1_flow` parameters), for ``htnet`` also ``scale``, and for ``resnet3d``
``frames`` and ``interpolation`` (``mmnet``: ``size`` only). Training parameters (they only change the
estimator): ``epochs``, ``lr``, ``lr_decay``, ``lr_decay_epochs``, ``batch_size``, ``optimizer``,
``momentum``, ``weight_decay``, ``stop_loss``, ``class_weight``, ``device``, ``num_threads``,
``deterministic``, ``checkpoint_dir``, ``checkpoint_every``, ``verbose``, ``net_params``.

See ``docs/deep_mer.md`` for every network's paper, input, defaults and deviations.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import cv2
import numpy as np

from srmer.errors import ClipError, ConfigError
from srmer.features.flow import flow_images, tvl1_flow
from srmer.mer.base import MERMethod
from srmer.mer.train import NetClassifier

__all__ = [
    "RCNAMER",
    "DualInceptionMER",
    "FeatRefMER",
    "FlowNetMethod",
    "HTNetMER",
    "MMNetMER",
    "OffApexNetMER",
    "ResNet3DMER",
    "STSTNetMER",
]


_TRAIN_KEYS = {
    "epochs",
    "lr",
    "lr_decay",
    "lr_decay_epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "weight_decay",
    "stop_loss",
    "class_weight",
    "device",
    "num_threads",
    "deterministic",
    "checkpoint_dir",
    "checkpoint_every",
    "verbose",
    "net_params",
}


class _NetworkMethod(MERMethod):
    """Shared parameter handling of the network methods."""

    kind: ClassVar[str] = "network"
    net_name: ClassVar[str] = ""
    #: the paper's training settings (NetClassifier keyword arguments)
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: representation parameters and their defaults
    represent_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        allowed = set(self.represent_defaults) | _TRAIN_KEYS
        bad = sorted(set(params) - allowed)
        if bad:
            raise ConfigError(
                f"mer {self.name}: unknown parameter(s) {', '.join(bad)}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        for key in ("epochs", "batch_size", "size"):
            if key in params and (not isinstance(params[key], int) or params[key] < 1):
                raise ConfigError(
                    f"mer {self.name}: {key} must be a positive integer, got {params[key]!r}"
                )
        if "lr" in params and not (isinstance(params["lr"], int | float) and params["lr"] > 0):
            raise ConfigError(
                f"mer {self.name}: lr must be a positive number, got {params['lr']!r}"
            )
        super().__init__(**params)
        self.represent_params = {
            **self.represent_defaults,
            **{k: v for k, v in params.items() if k in self.represent_defaults},
        }
        self.train_params = {
            **self.train_defaults,
            **{k: v for k, v in params.items() if k in _TRAIN_KEYS},
        }

    def estimator(self, n_classes: int, seed: int = 0) -> NetClassifier:
        """A fresh :class:`NetClassifier` for this network with the paper's defaults."""
        kw = dict(self.train_params)
        net_params = dict(self._net_params())
        net_params.update(kw.pop("net_params", None) or {})
        return NetClassifier(
            net=self.net_name, net_params=net_params, n_classes=n_classes, seed=seed, **kw
        )

    def _net_params(self) -> dict[str, Any]:
        return {}

    def cache_params(self) -> dict[str, Any]:
        """Only the representation parameters (training settings do not change the cached input)."""
        return {"net": self.net_name, **self.represent_params}

    @staticmethod
    def _indices(clip: np.ndarray, onset: int, apex: int | None) -> tuple[int, int]:
        t = len(clip)
        if clip.ndim not in (3, 4) or t < 2:
            raise ClipError(
                "clip", f"expected (T, H, W[, 3]) frames with T >= 2, got shape {clip.shape}"
            )
        apex = (t // 2) if apex is None else apex
        if not (0 <= onset < t and 0 <= apex < t):
            raise ClipError(
                "clip",
                f"onset {onset} / apex {apex} outside the clip's {t} frames",
                "check the annotation sheet's onset and apex frame numbers",
            )
        return onset, apex


class FlowNetMethod(_NetworkMethod):
    """Base of the onset-apex flow-image networks: ``represent`` -> ``(C, size, size)`` float32."""

    channels: ClassVar[tuple[str, ...]] = ("u", "v", "strain")
    reads_frames: ClassVar[str] = "onset_apex"
    represent_defaults: ClassVar[dict[str, Any]] = {
        "size": 28,
        "normalise": "per_channel",
        "flow": {},
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.represent_params["normalise"] not in ("per_channel", "max_abs", "none"):
            raise ConfigError(
                f"mer {self.name}: normalise must be per_channel, max_abs or none, "
                f"got {self.represent_params['normalise']!r}"
            )
        flow = self.represent_params["flow"]
        if not isinstance(flow, dict):
            raise ConfigError(f"mer {self.name}: flow must be a mapping of TV-L1 parameters")
        known = set(inspect.signature(tvl1_flow).parameters) - {"frame_a", "frame_b"}
        bad = sorted(set(flow) - known)
        if bad:
            raise ConfigError(
                f"mer {self.name}: unknown flow parameter(s) {', '.join(bad)}; "
                f"allowed: {', '.join(sorted(known))}"
            )

    def _net_params(self) -> dict[str, Any]:
        return {"input_size": int(self.represent_params["size"])}

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """TV-L1 flow maps between the onset and apex frames.

        Returns
        -------
        ndarray
            ``(C, size, size)`` float32 (see :func:`srmer.features.flow.flow_images`).
        """
        clip = np.asarray(clip)
        onset, apex = self._indices(clip, onset, apex)
        return flow_images(
            clip[onset],
            clip[apex],
            size=int(self.represent_params["size"]),
            channels=self.channels,
            normalise=self.represent_params["normalise"],
            **self.represent_params["flow"],
        )

    def cache_params(self) -> dict[str, Any]:
        return {**super().cache_params(), "channels": list(self.channels)}


class STSTNetMER(FlowNetMethod):
    """STSTNet (Liong et al., FG 2019): shallow triple-stream CNN on onset-apex flow (u, v, strain), 28x28."""

    name = "ststnet"
    display_name = "STSTNet"
    description = (
        "STSTNet: shallow triple-stream CNN on onset-apex TV-L1 flow (u, v, strain), 28x28"
    )
    citation = "Liong et al., STSTNet, FG 2019 (arXiv:1902.03634)"
    net_name = "ststnet"
    channels = ("u", "v", "strain")
    # paper: Adam 5e-5, batch 256, 800 epochs, last epoch (Zhou et al. reports 500 epochs)
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 5e-5,
        "batch_size": 256,
        "epochs": 800,
    }

    def _net_params(self) -> dict[str, Any]:
        return {"input_size": int(self.represent_params["size"]), "in_channels": len(self.channels)}


class OffApexNetMER(FlowNetMethod):
    """Off-ApexNet (Gan et al., SPIC 2019): two-stream CNN on onset-apex flow (u, v), 28x28."""

    name = "offapexnet"
    display_name = "OFF-ApexNet"
    description = "Off-ApexNet: two-stream CNN on onset-apex TV-L1 flow (u, v), 28x28"
    citation = "Gan et al., OFF-ApexNet on micro-expression recognition system, SPIC 2019"
    net_name = "offapexnet"
    channels = ("u", "v")
    # Adam 1e-4 from the paper; batch size and epochs are not in our sources (assumed)
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 1e-4,
        "batch_size": 64,
        "epochs": 200,
    }


class DualInceptionMER(FlowNetMethod):
    """Dual-Inception (Zhou, Mao and Xue, FG 2019): two Inception streams on onset-apex flow (u, v), 28x28."""

    name = "dualinception"
    display_name = "Dual-Inception"
    description = "Dual-Inception: two Inception streams on onset-apex TV-L1 flow (u, v), 28x28"
    citation = "Zhou, Mao and Xue, Dual-inception network for cross-database MER, FG 2019"
    net_name = "dualinception"
    channels = ("u", "v")
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 1e-4,
        "batch_size": 64,
        "epochs": 200,
    }


class RCNAMER(FlowNetMethod):
    """RCN-A (Xia et al., IEEE TIP 2020): recurrent convolutional network with attention, flow 60x60."""

    name = "rcna"
    display_name = "RCNA"
    description = "RCN-A: recurrent convolutional network with parameter-free attention, flow 60x60"
    citation = "Xia et al., Revealing the invisible with model and data shrinking, IEEE TIP 2020"
    net_name = "rcna"
    channels = ("u", "v", "strain")
    represent_defaults: ClassVar[dict[str, Any]] = {**FlowNetMethod.represent_defaults, "size": 60}
    # Zhou et al.: SGD lr 1e-4, momentum .9, weight decay 5e-4, stop at loss .5, at most 500 epochs;
    # batch 64 from the authors' release
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "sgd",
        "lr": 1e-4,
        "momentum": 0.9,
        "weight_decay": 5e-4,
        "batch_size": 64,
        "epochs": 500,
        "stop_loss": 0.5,
    }

    def _net_params(self) -> dict[str, Any]:
        return {"in_channels": len(self.channels)}


class FeatRefMER(FlowNetMethod):
    """FeatRef (Zhou et al., Pattern Recognition 2022): expression-specific feature learning on flow (u, v)."""

    name = "featref"
    display_name = "FeatRef"
    description = "FeatRef: expression-specific feature learning and fusion on TV-L1 flow (u, v)"
    citation = "Zhou et al., Feature refinement, Pattern Recognition 122 (2022) 108275"
    net_name = "featref"
    channels = ("u", "v")
    # Zhou et al.: lr 1e-3, lambda .85 (net_params); optimiser, batch and epochs assumed
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 1e-3,
        "batch_size": 64,
        "epochs": 200,
    }

    def _net_params(self) -> dict[str, Any]:
        return {"input_size": int(self.represent_params["size"]), "lambda_": 0.85}


class HTNetMER(FlowNetMethod):
    """HTNet (Wang et al., Neurocomputing 2024): hierarchical transformer on four facial areas of the
    onset-apex flow (u, v, strain), 28x28."""

    name = "htnet"
    display_name = "HTNet"
    description = (
        "HTNet: hierarchical transformer on four facial areas (eyes, lip corners) of onset-apex "
        "TV-L1 flow (u, v, strain), 28x28; landmark-free regions"
    )
    citation = (
        "Wang, Zhang, Luo and Sankaranarayana, HTNet for micro-expression recognition, "
        "Neurocomputing 602 (2024) 128196 (arXiv:2307.14637)"
    )
    net_name = "htnet"
    channels = ("u", "v", "strain")
    # upstream feeds the 8-bit flow images as 0..255 floats: per-clip min-max to [0, 1], times 255
    represent_defaults: ClassVar[dict[str, Any]] = {
        **FlowNetMethod.represent_defaults,
        "scale": 255.0,
    }
    # main_HTNet.py: Adam 5e-5 (no weight decay), batch 256, 800 epochs
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 5e-5,
        "batch_size": 256,
        "epochs": 800,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        scale = self.represent_params["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
            raise ConfigError(f"mer htnet: scale must be a positive number, got {scale!r}")
        net = self.train_params.get("net_params") or {}
        if not isinstance(net, dict):
            raise ConfigError(f"mer htnet: net_params must be a mapping, got {net!r}")
        patch = net.get("patch_size", 7)
        levels = net.get("num_hierarchies", 3)
        whole = all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (patch, levels)
        )
        step = patch * 2 ** (levels - 1) if whole else 0
        size = self.represent_params["size"]
        if step < 1 or size % step or size % 2:
            raise ConfigError(
                f"mer htnet: size must be an even multiple of patch_size * 2 ** (num_hierarchies - 1)"
                f" ({step or '?'} with patch_size {patch!r}, num_hierarchies {levels!r}), got {size}"
            )

    def _net_params(self) -> dict[str, Any]:
        return {"input_size": int(self.represent_params["size"]), "in_channels": len(self.channels)}

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """The four facial areas of the onset-apex flow images, tiled as HTNet tiles them.

        Returns
        -------
        ndarray
            ``(3, size, size)`` float32: u, v, strain (normalised as ``normalise``, times ``scale``),
            top row left eye | right eye, bottom row left | right lip corner
            (:func:`srmer.mer.nets.htnet.four_area_image`).
        """
        from srmer.mer.nets.htnet import four_area_image

        flow = super().represent(clip, onset, apex)
        out = four_area_image(flow) * np.float32(self.represent_params["scale"])
        return out.astype(np.float32, copy=False)


#: ImageNet mean and std of torchvision's ``Normalize`` (MMNet's input normalisation)
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class MMNetMER(_NetworkMethod):
    """MMNet (Li et al., IJCAI 2022): motion pattern (apex - onset) and position calibration on the
    onset and apex frames, RGB at 224x224 (``size`` smaller for CPU budgets)."""

    name = "mmnet"
    display_name = "MMNet"
    description = (
        "MMNet: muscle motion-guided network, CA-block ResNet on apex - onset plus a transformer "
        "position calibration, RGB frames at 224x224"
    )
    citation = (
        "Li, Sui, Zhu and Zhao, MMNet: Muscle motion-guided network for micro-expression "
        "recognition, IJCAI 2022 (arXiv:2201.05297)"
    )
    net_name = "mmnet"
    represent_defaults: ClassVar[dict[str, Any]] = {"size": 224}
    # CASME2_5.py: AdamW lr 8e-4, weight decay .6, ExponentialLR(.987) for the first 50 epochs, 74
    # epochs, batch 32
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adamw",
        "lr": 8e-4,
        "weight_decay": 0.6,
        "lr_decay": 0.987,
        "lr_decay_epochs": 50,
        "batch_size": 32,
        "epochs": 74,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.represent_params["size"] < 16:
            raise ConfigError(
                f"mer mmnet: size must be at least 16 (four stride-2 stages), "
                f"got {self.represent_params['size']}"
            )

    def _net_params(self) -> dict[str, Any]:
        return {"input_size": int(self.represent_params["size"]), "in_channels": 3}

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """The onset and apex frames, resized and ImageNet-normalised, stacked on the channel axis.

        Returns
        -------
        ndarray
            ``(6, size, size)`` float32: channels 0-2 the onset frame, 3-5 the apex frame, RGB (grey
            replicated), ``(x / 255 - mean) / std`` with ImageNet's mean and std; area averaging when
            shrinking, bilinear when enlarging.
        """
        clip = np.asarray(clip)
        onset, apex = self._indices(clip, onset, apex)
        s = int(self.represent_params["size"])
        out = []
        for i in (onset, apex):
            frame = clip[i].astype(np.float32)
            h, w = frame.shape[:2]
            interp = cv2.INTER_AREA if s <= min(h, w) else cv2.INTER_LINEAR
            frame = cv2.resize(frame, (s, s), interpolation=interp)
            if frame.ndim == 2:
                frame = np.repeat(frame[..., None], 3, axis=2)
            frame = (np.clip(frame / 255.0, 0.0, 1.0) - _IMAGENET_MEAN) / _IMAGENET_STD
            out.append(frame.transpose(2, 0, 1))
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def _temporal_normalise(clip: np.ndarray, n_out: int, how: str) -> np.ndarray:
    """``(n_out, ...)`` float32 frames by TIM or linear interpolation (:mod:`srmer.video.temporal`)."""
    from srmer.video.temporal import linear_interpolate, tim_interpolate

    # float input keeps the interpolated values unrounded
    fn = tim_interpolate if how == "tim" else linear_interpolate
    return np.asarray(fn(np.asarray(clip, dtype=np.float32), n_out), dtype=np.float32)


class ResNet3DMER(_NetworkMethod):
    """3D-ResNet-18 on the onset..offset clip temporally normalised to 16 frames (TIM)."""

    name = "resnet3d"
    display_name = "3DResNet"
    description = "3D-ResNet-18 (Hara et al.) on TIM-16 sequences, trained from scratch"
    citation = "Hara, Kataoka and Satoh, Learning spatio-temporal features with 3D residual networks, ICCVW 2017"
    net_name = "resnet3d"
    # 64x64 instead of Hara's 112x112 to fit CPU budgets (a parameter); lr 1e-4 from Zhou et al.
    represent_defaults: ClassVar[dict[str, Any]] = {
        "size": 64,
        "frames": 16,
        "interpolation": "tim",
    }
    train_defaults: ClassVar[dict[str, Any]] = {
        "optimizer": "adam",
        "lr": 1e-4,
        "batch_size": 16,
        "epochs": 100,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.represent_params["interpolation"] not in ("tim", "linear"):
            raise ConfigError(
                f"mer resnet3d: interpolation must be tim or linear, got {self.represent_params['interpolation']!r}"
            )

    def represent(self, clip: np.ndarray, onset: int = 0, apex: int | None = None) -> np.ndarray:
        """TIM-normalised RGB sequence from the onset frame to the end of the clip.

        Returns
        -------
        ndarray
            ``(3, frames, size, size)`` float32 in [0, 1] (grey clips are replicated to 3 channels;
            frames resized after the temporal normalisation, area averaging when shrinking).
        """
        clip = np.asarray(clip)
        onset, _ = self._indices(clip, onset, apex)
        seq = _temporal_normalise(
            clip[onset:],
            int(self.represent_params["frames"]),
            self.represent_params["interpolation"],
        )
        s = int(self.represent_params["size"])
        h, w = seq.shape[1:3]
        interp = cv2.INTER_AREA if s <= min(h, w) else cv2.INTER_LINEAR
        frames = [cv2.resize(f, (s, s), interpolation=interp) for f in seq.astype(np.float32)]
        out = np.stack(frames)
        if out.ndim == 3:
            out = np.repeat(out[..., None], 3, axis=3)
        out = np.clip(out / 255.0, 0.0, 1.0)
        return np.ascontiguousarray(out.transpose(3, 0, 1, 2), dtype=np.float32)
