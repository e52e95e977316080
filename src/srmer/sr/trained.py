"""The contract of trained SR methods: "the given checkpoint, else train on the SR pool (once)".

:class:`TrainedSR` is the base of the image methods (:mod:`srmer.sr.learned`) and of the video
methods (:mod:`srmer.sr.video`). It owns what they share:

- **one set of option names** (:data:`COMMON_OPTIONS`, plus each kind's own; the video methods' old
  ``train_*`` names are aliases, :data:`ALIASES`);
- **one preparation contract**: ``prepare(**context)`` with the context keys ``pool_images``
  (HR faces: ``(N,H,W,3)`` uint8 array, list of image paths or a folder), ``pool_clips`` (HR clips
  ``(T,H,W,3)`` uint8), ``cache_dir``, ``device``, ``seed``, ``scales`` (factors to prepare now),
  ``lr_size`` and ``progress``; unknown keys (e.g. the benchmark's ``models``) are ignored;
- **one weight cache**: a method without ``checkpoint:`` trains on the pool and caches the weights
  in ``cache_dir`` under a key of its method, version, architecture, hyper-parameters, training
  options, seed, scale *and the training pool's fingerprint* (:meth:`TrainedSR.training_key`), so a
  changed pool retrains. A truncated or unreadable cached file is reported with a warning naming it,
  removed and retrained;
- **the checkpoint architecture check**: the architecture detected from a ``checkpoint:`` file must
  be one the method runs (:attr:`TrainedSR.accepts`), otherwise :class:`~srmer.errors.CheckpointError`;
- :meth:`TrainedSR.model_fingerprint`: the fingerprint of the model the method will use, for the
  SR outputs' cache keys.

Architecture-specific behaviour is read from the :class:`~srmer.sr.archs.base.ArchSpec`
capabilities (``any_scale``, ``fixed_input``, ``window_multiple``), never from the architecture's
name.
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from torch import nn

from srmer.errors import CheckpointError, ConfigError, SrmerError
from srmer.sr.methods import SRMethod
from srmer.train import array_fingerprint, fingerprint, warn_recompute

log = logging.getLogger(__name__)

#: option names every trained SR method knows
COMMON_OPTIONS: frozenset[str] = frozenset(
    {
        "checkpoint",  # path, or {scale: path} for image methods
        "checkpoint_options",  # hyper-parameters the checkpoint's keys cannot reveal (res_scale...)
        "arch",  # registry name of the architecture (default: the method's)
        "hparams",  # architecture hyper-parameters
        "full",  # train the published configuration instead of the reduced CPU one
        "steps",  # training iterations
        "batch_size",  # samples per step
        "lr_patch",  # LR patch side of the training samples
        "lr",  # learning rate
        "seed",  # training seed (default: the run's seed)
        "device",  # "auto", "cpu", "cuda:0"...
        "loss",  # term weights {pixel, motion, strain, task} (srmer.sr.motion.parse_loss)
    }
)

#: old option names (the video methods') -> the common name; both are accepted, not together
ALIASES: dict[str, str] = {
    "train_steps": "steps",
    "train_batch": "batch_size",
    "train_patch": "lr_patch",
    "train_lr": "lr",
    "train_clip_len": "clip_len",
}

#: file suffixes of SR-pool images (a pool folder is searched for these)
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp"})


def canonical_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with :data:`ALIASES` renamed; an alias given with its common name is refused."""
    out = dict(options)
    for old, new in ALIASES.items():
        if old in out:
            if new in out:
                raise ConfigError(
                    f"SR method {method!r}: options {old!r} and {new!r} are the same setting; "
                    f"give only {new!r}"
                )
            out[new] = out.pop(old)
    return out


def files_fingerprint(paths: list[str]) -> str:
    """Fingerprint of files (checkpoints, pool images) by path, size and mtime.

    Cheap, and it changes when a file is added, removed or rewritten.
    """
    rows = []
    for p in sorted(str(q) for q in paths):
        try:
            st = Path(p).stat()
            rows.append(f"{p}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            rows.append(f"{p}|missing")
    return fingerprint("files", rows)


def pool_fingerprint(pool: Any) -> str:
    """Fingerprint of a training pool: arrays by content, files by path, size and mtime.

    Parameters
    ----------
    pool : ndarray, sequence of ndarray, path, folder or sequence of paths
        ``(N,H,W,3)`` uint8 frames, HR clips ``(T,H,W,3)``, an image / ``.npy`` file, a folder of
        images, or a list of image paths.
    """
    if isinstance(pool, np.ndarray):
        return array_fingerprint(pool)
    if isinstance(pool, str | os.PathLike):
        p = Path(pool)
        if p.is_dir():
            return files_fingerprint(
                [str(q) for q in p.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES]
            )
        return files_fingerprint([str(p)])
    items = list(pool)
    if items and all(isinstance(x, np.ndarray) for x in items):
        return fingerprint("arrays", [array_fingerprint(x) for x in items])
    return files_fingerprint([str(x) for x in items])


def clips_from_images(paths: list[str] | list[Path], min_len: int = 2) -> list[np.ndarray]:
    """Group pool images by folder into clips (frames sorted by name), centre-cropped square.

    Returns
    -------
    list of ndarray
        ``(T, S, S, 3)`` uint8 per folder of at least ``min_len`` frames.
    """
    from srmer.video.io import read_frames

    groups: dict[str, list[Path]] = {}
    for p in sorted(Path(p) for p in paths):
        groups.setdefault(str(p.parent), []).append(p)
    clips = []
    for files in groups.values():
        frames = read_frames(files)
        side = min(frames.shape[1:3])
        if frames.shape[1] != frames.shape[2]:
            y0 = (frames.shape[1] - side) // 2
            x0 = (frames.shape[2] - side) // 2
            frames = frames[:, y0 : y0 + side, x0 : x0 + side]
        if len(frames) >= min_len:
            clips.append(frames)
    return clips


def _nonempty(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, np.ndarray):
        return value.size > 0
    if isinstance(value, str | os.PathLike):
        return True
    return len(value) > 0


class TrainedSR(SRMethod):
    """Base class of SR methods that run a given checkpoint or train on the SR pool.

    Subclasses set :attr:`arch`, :attr:`accepts` and :attr:`train_defaults`, list their own options
    in :attr:`kind_options`, and implement :meth:`_prepare_models` and :meth:`upscale`.
    """

    version = 1
    #: registry name of the architecture trained when no checkpoint is given
    arch: ClassVar[str] = ""
    #: architecture names a ``checkpoint:`` may hold; a trailing ``*`` is a prefix (``"edsr*"``).
    #: Empty: the method's :attr:`arch` only.
    accepts: ClassVar[tuple[str, ...]] = ()
    #: training defaults under the common option names
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: options of this kind besides :data:`COMMON_OPTIONS`
    kind_options: ClassVar[frozenset[str]] = frozenset()
    #: options that do not change the SR outputs (left out of :meth:`cache_params`)
    output_neutral_options: ClassVar[frozenset[str]] = frozenset({"device"})
    #: reduced configuration used when training from scratch without ``hparams``/``full``/``arch``
    train_hparams: ClassVar[dict[str, Any]] = {}
    #: defaults of the options that are not training options (inference, strategy...)
    run_defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # what the registry and `srmer list` show; computed per class, so a subclass's own
        # defaults (e.g. a GAN method's adversarial steps) appear
        cls.defaults = cls.option_defaults()

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """Every option of the method with its default (``None``: unset, or taken from the run),
        then the accepted aliases of old option names."""
        names = sorted(COMMON_OPTIONS | cls.kind_options)
        known = {"device": "auto", "full": False, **cls.train_defaults, **cls.run_defaults}
        out = {n: known.get(n) for n in names}
        out.update({a: f"alias of {b}" for a, b in ALIASES.items() if b in out})
        return out

    def __init__(self, **options: Any) -> None:
        options = canonical_options(self.name, options)
        known = COMMON_OPTIONS | self.kind_options
        unknown = sorted(set(options) - known)
        if unknown:
            aliases = ", ".join(f"{a} (= {b})" for a, b in ALIASES.items() if b in known)
            raise ConfigError(
                f"SR method {self.name!r}: unknown option(s) {unknown}; known: {sorted(known)}"
                + (f"; aliases: {aliases}" if aliases else "")
            )
        super().__init__(**options)
        self._context: dict[str, Any] = {}
        if options.get("loss") is not None:
            from srmer.sr.motion import parse_loss

            parse_loss(options["loss"], self.name)
            if self.fold_dependent and not callable(getattr(self, "model_for", None)):
                raise ConfigError(
                    f"SR method {self.name!r}: the task loss fine-tunes an image SR network per "
                    "fold (srmer.mer.task_sr); it is not available for this method. Use loss "
                    "terms pixel, motion and strain, or an image SR method (srcnn, edsr, ...)"
                )

    # ---------------------------------------------------------------- configuration
    def loss_weights(self) -> dict[str, float]:
        """The ``loss`` option as ``{pixel, motion, strain, task}`` weights (defaults filled in)."""
        from srmer.sr.motion import parse_loss

        return parse_loss(self.options.get("loss"), self.name)

    def pool_loss(self) -> dict[str, float] | None:
        """The weights of the training on the SR pool, or ``None`` for the pixel loss alone.

        ``task`` is trained per fold, not on the pool: a method whose only other term is ``task``
        trains on the pool exactly as its pixel-loss twin does (the same cached weights), and
        fine-tunes them per fold (:mod:`srmer.mer.task_sr`).
        """
        w = {**self.loss_weights(), "task": 0.0}
        return None if not (w["motion"] or w["strain"]) else w

    @property
    def fold_dependent(self) -> bool:
        """Whether the method is trained inside each fold (a ``task`` loss term: it uses labels)."""
        return self.loss_weights()["task"] > 0

    @property  # type: ignore[override]
    def needs_preparation(self) -> bool:
        """Without a checkpoint the method trains (once) in :meth:`prepare`."""
        return not self.options.get("checkpoint")

    @property
    def arch_name(self) -> str:
        """Registry name of the architecture to train (the ``arch`` option, else :attr:`arch`)."""
        return str(self.options.get("arch") or self.arch)

    def arch_spec(self, name: str | None = None) -> Any:
        """The :class:`~srmer.sr.archs.base.ArchSpec` of ``name`` (default :attr:`arch_name`)."""
        from srmer.sr.registry import get_spec

        return get_spec(name or self.arch_name)

    def hparams(self, training: bool) -> dict[str, Any]:
        """Architecture overrides: the user's, else (training from scratch) :attr:`train_hparams`."""
        if self.options.get("hparams") is not None:
            return dict(self.options["hparams"])
        if training and not self.options.get("full") and not self.options.get("arch"):
            return dict(self.train_hparams)
        return {}

    def train_options(self) -> dict[str, Any]:
        """The training budget under the common names, defaults filled in (``seed`` included)."""
        out = {k: self.options.get(k, v) for k, v in self.train_defaults.items()}
        out["seed"] = int(self.options.get("seed", self._context.get("seed", 0)) or 0)
        return out

    def cache_params(self) -> dict[str, Any]:
        """Options that determine the SR outputs (for the SR outputs' cache keys)."""
        return {k: v for k, v in self.options.items() if k not in self.output_neutral_options}

    def key_extras(self) -> dict[str, Any]:
        """What else determines the trained weights (recipe, degradation, the kind's own training
        options); subclasses extend it. Inference-only options (tile, window...) stay out."""
        return {}

    # ---------------------------------------------------------------- pool and keys
    def _pool_source(self) -> tuple[str, Any] | None:
        images = self._context.get("pool_images")
        clips = self._context.get("pool_clips")
        if _nonempty(images):
            return "images", images
        if _nonempty(clips):
            return "clips", list(clips)
        return None

    def _no_pool(self) -> SrmerError:
        return ConfigError(
            f"SR method {self.name!r} has no checkpoint and no SR training pool: give `checkpoint: "
            f"path` in its config entry, or `sr_pool:` (a folder of HR faces of identities not in "
            f"the evaluation data; video methods group its images into clips by folder). "
            f"srmer.data.synthetic.generate_sr_pool writes one"
        )

    def pool_fingerprint(self) -> str:
        """Fingerprint of the training pool in the context (:func:`pool_fingerprint`)."""
        src = self._pool_source()
        if src is None:
            raise self._no_pool()
        return f"{src[0]}:{pool_fingerprint(src[1])}"

    def training_key(self, **where: Any) -> dict[str, Any]:
        """Everything that determines the trained weights; ``where`` adds e.g. ``scale``, ``lr_size``."""
        return {
            "method": self.name,
            "version": self.version,
            "arch": self.arch_name,
            "hparams": self.hparams(training=True),
            "train": self.train_options(),
            "extras": self.key_extras(),
            "pool": self.pool_fingerprint(),
            # only when given: weights trained with the pixel loss keep their old key and cache
            **({"loss": loss} if (loss := self.pool_loss()) else {}),
            **where,
        }

    def cache_dir(self) -> Path:
        """Folder of the cached trained weights (``cache_dir`` of the context, else ~/.cache/srmer/sr)."""
        return Path(self._context.get("cache_dir") or Path.home() / ".cache" / "srmer" / "sr")

    def weights_path(self, scale: int | str, **where: Any) -> Path:
        """Cache file of the weights trained for ``scale``: ``<name>-x<scale>-<key>.pth``.

        ``scale`` is an integer factor, or ``"any"`` for one any-scale model trained over several
        factors (the image methods' ``train_scales`` option, part of the key).
        """
        h = fingerprint(self.training_key(scale=scale, **where))[:16]
        return self.cache_dir() / f"{self.name}-x{scale}-{h}.pth"

    def checkpoint_paths(self) -> list[str]:
        """The file(s) of the ``checkpoint`` option (``path`` or ``{scale: path}``)."""
        ck = self.options.get("checkpoint")
        if not ck:
            return []
        return [str(p) for p in (ck.values() if isinstance(ck, dict) else [ck])]

    def model_fingerprint(self, context: dict[str, Any] | None = None) -> str:
        """Fingerprint of the model(s) the method will run, for the SR outputs' cache keys.

        Parameters
        ----------
        context : dict, optional
            The preparation context (as :meth:`prepare` takes it); merged into the remembered one.

        Returns
        -------
        str
            ``"checkpoint:<digest>"`` of the checkpoint files (path, size, mtime), or
            ``"trained:<digest>"`` of :meth:`training_key` without the scale (covers the pool,
            options, seed and version). Does not load or train anything.
        """
        if context:
            self._context.update(context)
        paths = self.checkpoint_paths()
        if paths:
            over = self.options.get("checkpoint_options") or {}
            return (
                "checkpoint:" + files_fingerprint(paths) + (":" + fingerprint(over) if over else "")
            )
        return "trained:" + fingerprint(self.training_key())

    # ---------------------------------------------------------------- checkpoints
    def accepts_arch(self, name: str) -> bool:
        """Whether a checkpoint of architecture ``name`` may run as this method."""
        allowed = self.accepts or (self.arch,)
        name = name.lower()
        return any(name.startswith(a[:-1]) if a.endswith("*") else name == a for a in allowed)

    def load_user_checkpoint(self, path: str | os.PathLike) -> nn.Module:
        """Load a ``checkpoint:`` file and check its architecture is one this method runs.

        Raises
        ------
        CheckpointError
            The detected architecture is not in :attr:`accepts`; the message names the file, the
            detected and the accepted architectures.
        SrmerError
            The file is missing, corrupt or of no known architecture (:func:`load_checkpoint`).
        """
        from srmer.sr.checkpoint import load_checkpoint
        from srmer.sr.registry import Cascade

        overrides = self.options.get("checkpoint_options") or {}
        if not isinstance(overrides, dict):
            raise ConfigError(
                f"SR method {self.name!r}: `checkpoint_options` must be a mapping of "
                f"hyper-parameters (e.g. {{res_scale: 0.1}}), not {overrides!r}"
            )
        model = load_checkpoint(path, **overrides)
        if isinstance(model, Cascade):  # a cascade file: its stages carry the architecture
            names = [str(getattr(m, "arch_name", "")) for m in model.stages.values()]
        else:
            names = [str(getattr(model, "arch_name", "") or type(model).__name__)]
        bad = [n for n in names if not self.accepts_arch(n)]
        found = bad[0] if bad else names[0]
        if bad:
            allowed = ", ".join(self.accepts or (self.arch,))
            raise CheckpointError(
                f"SR method {self.name!r}: checkpoint {path} holds a {found!r} model, but "
                f"{self.name} runs {allowed}; give a checkpoint of that architecture, or use the "
                f"SR method made for {found!r} (`srmer list` shows which)"
            )
        return model

    def load_cached(self, path: Path) -> nn.Module | None:
        """The cached trained model at ``path``, or ``None`` (absent, or unreadable: removed)."""
        from srmer.sr.checkpoint import load_checkpoint

        if not path.is_file():
            return None
        try:
            return load_checkpoint(path)
        except SrmerError as exc:
            cause = exc.__cause__ or exc
            warn_recompute(
                path,
                f"of SR method {self.name!r} is unreadable or truncated ({type(cause).__name__})",
                "removed it, training it again",
                what="cached trained SR model",
            )
            path.unlink(missing_ok=True)
            return None

    def load_or_train(self, path: Path, train: Callable[[Path], nn.Module]) -> nn.Module:
        """The cached model at ``path``, else ``train(partial_checkpoint)`` saved there.

        ``train`` receives the path of the resumable training checkpoint (``*.partial.pth``, next to
        the cache file) and returns the trained model; it is written atomically to ``path`` and the
        partial checkpoint is removed.
        """
        from srmer.sr.checkpoint import save_checkpoint

        model = self.load_cached(path)
        if model is not None:
            log.info(
                "SR method %s (%s): trained weights found in the cache (%s)",
                self.name,
                self.arch_name,
                path.name,
            )
            return model
        partial = path.with_name(path.stem + ".partial.pth")
        log.info("training SR method %s (%s), cached at %s", self.name, self.arch_name, path)
        model = train(partial)
        save_checkpoint(model, path)
        for p in partial.parent.glob(partial.name + "*"):
            p.unlink(missing_ok=True)
        return model

    def pool_clips(self) -> list[np.ndarray]:
        """The SR pool as HR clips ``(T, H, W, 3)`` uint8 (``pool_clips``, or ``pool_images``
        grouped by folder, :func:`clips_from_images`), for the video methods and the motion loss.

        Raises
        ------
        ConfigError
            No pool, or no folder of at least 2 frames in it.
        """
        src = self._pool_source()
        if src is None:
            raise self._no_pool()
        kind, pool = src
        if kind == "clips":
            return [np.asarray(c) for c in pool]
        if isinstance(pool, np.ndarray):
            return [pool] if pool.ndim == 4 else [pool[None]]
        if isinstance(pool, str | os.PathLike):
            root = Path(pool)
            pool = sorted(str(q) for q in root.rglob("*") if q.suffix.lower() in IMAGE_SUFFIXES)
        clips = clips_from_images(list(pool))
        if not clips:
            raise ConfigError(
                f"SR method {self.name!r}: the SR pool has no training clips (a clip is a folder "
                "of at least 2 frames of one identity); give `checkpoint:` or such a pool"
            )
        return clips

    # ---------------------------------------------------------------- preparation
    def prepare(self, **context: Any) -> None:
        """Remember the context; load the checkpoint or train (or load cached) models now.

        Parameters
        ----------
        **context
            ``pool_images`` (``(N,H,W,3)`` uint8 array, image paths or a folder: HR faces of
            identities outside the evaluation data) or ``pool_clips`` (HR clips ``(T,H,W,3)``
            uint8), ``cache_dir``, ``device``, ``seed``, ``scales`` (integer factors to prepare
            now; image methods prepare others on first use), ``lr_size`` (LR side, for
            fixed-input architectures) and ``progress``. Other keys are ignored.
        """
        self._context.update(context)
        self._prepare_models([float(s) for s in (context.get("scales") or ())])

    # ---------------------------------------------------------------- inference helpers
    def run_frames(
        self, model: nn.Module, clip: np.ndarray, size: int, tile: int | None = None
    ) -> np.ndarray:
        """Frames through an image ``model`` with the method's ``batch`` and ``device``.

        Parameters
        ----------
        clip : ndarray
            ``(T,h,w,3)`` RGB or ``(T,h,w)`` grey, uint8 (grey is replicated to RGB for the model
            and averaged back).
        size : int
            Output side; outputs of another size are resized with MATLAB bicubic.

        Returns
        -------
        ndarray
            ``(T,size,size[,3])`` uint8.
        """
        from srmer.degrade import resize_clip
        from srmer.sr.infer import upscale

        clip = np.asarray(clip)
        grey = clip.ndim == 3
        rgb = np.repeat(clip[..., None], 3, axis=-1) if grey else clip
        out = upscale(
            model,
            rgb,
            tile=tile,
            batch=int(self.options.get("batch", self.run_defaults.get("batch", 8))),
            device=self.options.get("device", self._context.get("device", "auto")),
        )
        if out.shape[1:3] != (size, size):
            out = resize_clip(out, size)
        if grey:
            out = np.round(out.astype(np.float32).mean(-1)).astype(np.uint8)
        return out

    @abstractmethod
    def _prepare_models(self, scales: list[float]) -> None:
        """Load or train what :meth:`upscale` needs for ``scales`` (may be empty)."""


__all__ = [
    "ALIASES",
    "COMMON_OPTIONS",
    "TrainedSR",
    "canonical_options",
    "clips_from_images",
    "files_fingerprint",
    "pool_fingerprint",
]
