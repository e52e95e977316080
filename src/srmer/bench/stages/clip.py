"""The clip stage: one clip through HR -> LR -> SR -> quality -> representation, for every setting.

A clip job streams one clip: it reads the frames, builds the HR clip and, for every (resolution, SR)
setting, the LR and SR clips, their quality metrics and every MER method's representation. Only the
small representations come back (:class:`ClipResult`), so memory is bounded by a few clips, never
the dataset. Each output is cached under a key of its stage, parameters and inputs
(:mod:`srmer.bench.cache`), and nothing is read or computed for a setting whose outputs are cached.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srmer.bench.cache import Cache, make_key
from srmer.bench.config import MethodSpec
from srmer.bench.plan import Setting
from srmer.data.sample import Sample
from srmer.errors import ClipError, ConfigError

#: version of the HR-clip stage (reading, cropping, resizing); bump when it changes
HR_VERSION = 1


@dataclass
class ClipPlan:
    """Everything a clip job needs (picklable, the same for every clip of a dataset)."""

    cache_root: str
    preprocess: dict[str, Any]
    degradation: dict[str, Any]
    settings: list[Setting]
    mer: list[MethodSpec]
    seed: int
    #: :meth:`srmer.bench.stages.sr_prepare.SRContext.as_dict` of the run
    sr_context: dict[str, Any] = field(default_factory=dict)
    cache_clips: str = "auto"
    quality: list[str] = field(default_factory=lambda: ["psnr", "ssim"])


@dataclass
class ClipResult:
    """What a clip job returns: per setting id, the representations and quality of one clip.

    ``skipped`` holds the reason when the clip could not be used (its other fields are then empty).
    """

    clip: str
    repr: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    quality: dict[str, dict[str, float]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


# ----------------------------------------------------------------------------- method instances
# One instance per process and method configuration: SR models are loaded once per worker, not once
# per clip. The key holds everything the instance depends on -- the options, and for SR methods the
# fingerprint of their weights and the cache folder -- so a second run in the same process with
# another pool or cache never reuses the first run's models.
_METHOD_MEMO: dict[str, Any] = {}


def _memo(key_doc: dict[str, Any], factory):
    key = json.dumps(key_doc, sort_keys=True, default=str)
    if key not in _METHOD_MEMO:
        _METHOD_MEMO[key] = factory()
    return _METHOD_MEMO[key]


def sr_method(spec: MethodSpec, context: dict[str, Any]):
    """The (prepared) SR method of a config entry, memoised per process and context."""
    from srmer.sr.methods import get_method

    def build():
        m = get_method(spec.name, **spec.kwargs())
        if m.needs_preparation:
            m.prepare(**context)  # loads the weights trained by the main process from the cache
        return m

    return _memo(
        {
            "kind": "sr",
            "spec": spec.model_dump(mode="json"),
            "weights": context.get("models", {}).get(spec.label, ""),
            "cache_dir": context.get("cache_dir", ""),
            "device": context.get("device", ""),
        },
        build,
    )


def mer_method(spec: MethodSpec):
    """The MER method of a config entry, memoised per process."""
    from srmer.mer.registry import create

    return _memo(
        {"kind": "mer", "spec": spec.model_dump(mode="json")},
        lambda: create(spec.name, **spec.kwargs()),
    )


def fold_dependent(sr: MethodSpec | None) -> bool:
    """Whether an SR entry is trained inside each fold (a ``task`` loss term: it uses labels), so
    the clip stage keeps its LR clip and the fold stage super-resolves (:mod:`srmer.mer.task_sr`)."""
    if sr is None or sr.name in ("none", "bicubic"):
        return False
    from srmer.sr.methods import get_method

    return bool(
        _memo(
            {"kind": "fold_dependent", "spec": sr.model_dump(mode="json")},
            lambda: getattr(get_method(sr.name, **sr.kwargs()), "fold_dependent", False),
        )
    )


def cell_mer(spec: MethodSpec, sr: MethodSpec | None, context: dict[str, Any] | None = None):
    """The MER method that runs in a (setting, MER) cell, or ``None`` when the pair cannot run.

    Feature-level SR methods (``kind == "feature"``, e.g. ``fsr``) do not restore clips for the MER
    method: they wrap it (LR descriptors mapped towards HR ones inside each fold). Methods they cannot
    wrap (networks) have no cell under them. Task-driven SR methods (:func:`fold_dependent`) wrap
    it too: the fold stage fine-tunes the SR network per fold, then runs the MER method on its
    output (``context`` is the run's SR context, needed there).
    """
    from srmer.sr.methods import get_method, get_method_class

    if fold_dependent(sr):
        from srmer.mer.task_sr import TaskSRMER

        assert sr is not None
        return TaskSRMER(mer_method(spec), sr.name, sr.kwargs(), context)
    if sr is None or get_method_class(sr.name).kind != "feature":
        return mer_method(spec)

    def build():
        try:
            return get_method(sr.name, **sr.kwargs()).wrap(mer_method(spec))
        except ConfigError:
            return None

    return _memo(
        {"kind": "cell", "sr": sr.model_dump(mode="json"), "mer": spec.model_dump(mode="json")},
        build,
    )


# ------------------------------------------------------------------------------ pure clip steps
def clip_fingerprint(sample: Sample) -> str:
    """Key of a clip's source data: its identity and every frame file's size and mtime."""
    h = hashlib.sha256(sample.key.encode())
    for p in sample.frames:
        try:
            st = Path(p).stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"{p}|missing".encode())
    return h.hexdigest()


def clip_seed(seed: int, key: str) -> int:
    """Per-clip seed for random degradations: fixed by the config seed and the clip, not the order."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:4], "little")


def read_hr_clip(sample: Sample, preprocess: dict[str, Any]) -> np.ndarray:
    """HR face clip ``(T, S, S, 3)`` uint8 of a sample under the ``preprocess`` settings."""
    from srmer.degrade import resize_clip
    from srmer.video.io import read_frames

    clip = read_frames(sample.frames)
    if preprocess.get("crop_faces"):
        from srmer.video import crop_faces

        clip = crop_faces(clip, size=preprocess["size"], clip_id=sample.key)
    size = preprocess["size"]
    if clip.shape[1:3] != (size, size):
        clip = resize_clip(clip, size)
    frames = preprocess.get("frames", "all")
    if frames != "all":
        from srmer.video import temporal

        fn = (
            temporal.tim_interpolate
            if preprocess.get("temporal") == "tim"
            else temporal.linear_interpolate
        )
        clip = fn(clip, int(frames))
    mag = preprocess.get("magnify")
    if mag and preprocess.get("magnify_at", "hr") == "hr":
        clip = magnify_clip(clip, mag)
    return clip


def magnify_clip(clip: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    """``clip`` (T, S, S[, 3]) uint8 with Eulerian motion magnification (``preprocess.magnify``)."""
    from srmer.video.magnify import magnify

    opts = dict(options)
    if opts.get("band") is not None:
        opts["band"] = tuple(opts["band"])
    return magnify(clip, **opts)


def hr_params(preprocess: dict[str, Any]) -> dict[str, Any]:
    """The preprocessing options that shape the HR clip (magnification only when applied to it)."""
    if preprocess.get("magnify") and preprocess.get("magnify_at", "hr") == "hr":
        return preprocess
    return {k: v for k, v in preprocess.items() if k not in ("magnify", "magnify_at")}


def sr_magnify(preprocess: dict[str, Any]) -> dict[str, Any] | None:
    """The magnification applied to what the recognisers see (``magnify_at: sr``), else None."""
    if preprocess.get("magnify") and preprocess.get("magnify_at", "hr") == "sr":
        return preprocess["magnify"]
    return None


def degrade_clip(hr: np.ndarray, size: int, degradation: dict[str, Any], seed: int) -> np.ndarray:
    """LR clip ``(T, size, size, 3)`` uint8 under the configured degradation."""
    name, options = degradation["name"], degradation.get("options", {})
    if name == "bicubic" and not options:
        from srmer.degrade import resize_clip

        return resize_clip(hr, size)
    from srmer.degrade import get_degradation

    return get_degradation({"name": name, **options})(hr, size, seed=seed)


def quality_metrics(sr: np.ndarray, hr: np.ndarray, metrics: list[str]) -> dict[str, float]:
    """Image-quality metrics of an SR clip against its HR clip (``(T, S, S[, 3])`` uint8 each).

    ``psnr``/``ssim`` follow the SR papers' conventions (mean over frames); ``tcons`` is the
    flow-based temporal consistency (warping error of consecutive SR frames relative to the HR clip's;
    0 = as consistent as the HR clip, see :mod:`srmer.quality.temporal`).
    """
    out: dict[str, float] = {}
    if "psnr" in metrics or "ssim" in metrics:
        from srmer.quality import psnr_clip, ssim_clip

        if "psnr" in metrics:
            out["psnr"] = float(psnr_clip(sr, hr))
        if "ssim" in metrics:
            out["ssim"] = float(ssim_clip(sr, hr))
    if "tcons" in metrics:
        from srmer.quality.temporal import temporal_consistency

        out["tcons"] = float(temporal_consistency(sr, hr))
    return out


# --------------------------------------------------------------------------------- cache keys
def setting_keys(plan: ClipPlan, sample: Sample) -> dict[str, Any]:
    """Cache keys of every stage output of one clip (computed without touching the frames)."""
    from srmer.sr.methods import get_method_class

    hr_key = make_key("hr", hr_params(plan.preprocess), [clip_fingerprint(sample)], HR_VERSION)
    mag = sr_magnify(plan.preprocess)
    seed = clip_seed(plan.seed, sample.key)
    keys: dict[str, Any] = {"hr": hr_key, "settings": {}}
    for st in plan.settings:
        if st.is_reference:
            lr_key = sr_key = hr_key
        else:
            lr_key = make_key(
                "lr", {**plan.degradation, "size": st.resolution, "seed": seed}, [hr_key]
            )
            sr_cls = get_method_class(st.sr.name)
            sr_key = make_key(
                "sr",
                {"name": st.sr.name, **st.sr.kwargs(), "size": st.hr_size},
                [lr_key, plan.sr_context.get("models", {}).get(st.sr.label, "")],
                sr_cls.version,
            )
        reprs = {}
        for spec in plan.mer:
            mer = cell_mer(spec, st.sr)
            if mer is None:
                continue
            # only the options that shape the representation: changing the SVM's C keeps the descriptors
            params = {"name": mer.name, **mer.cache_params()}
            if mag:  # the recogniser sees the magnified clip
                params["magnify"] = mag
            reprs[spec.label] = make_key("repr", params, [sr_key], mer.version)
        keys["settings"][st.id] = {
            "lr": lr_key,
            "sr": sr_key,
            "repr": reprs,
            "quality": make_key("quality", {"metrics": plan.quality}, [sr_key, hr_key], 1),
        }
    return keys


def store_policy(plan: ClipPlan, stage: str, setting: Setting | None = None) -> bool:
    """Whether a clip-sized stage output is worth storing (``cache_clips`` option).

    ``auto`` stores what is expensive to recompute: the HR clip when faces are detected or frames are
    interpolated, LR clips of random degradations, and SR clips of learned methods. Bicubic clips are
    recomputed: resizing is faster than reading them back.
    """
    if plan.cache_clips == "all":
        return True
    if plan.cache_clips == "none":
        return False
    if stage == "hr":
        return (
            bool(plan.preprocess.get("crop_faces"))
            or plan.preprocess.get("frames", "all") != "all"
            or bool(plan.preprocess.get("magnify"))
        )
    if stage == "lr":
        return plan.degradation["name"] != "bicubic"
    from srmer.sr.methods import get_method_class

    return get_method_class(setting.sr.name).kind in ("image", "video")


class ClipStages:
    """Lazily computed, optionally cached HR/LR/SR clips of one sample, with stage timings."""

    def __init__(self, plan: ClipPlan, sample: Sample, cache: Cache, keys: dict[str, Any]) -> None:
        self.plan, self.sample, self.cache, self.keys = plan, sample, cache, keys
        self.timings: dict[str, float] = {}
        self._hr: np.ndarray | None = None
        # Outputs already made in this job, by cache key: an LR clip serves the `none` and every SR
        # setting of its resolution, an SR clip both its quality and its representations. Only the
        # LR clips (small) and the latest SR clip are held, so memory stays a few clips.
        self._lr: dict[str, np.ndarray] = {}
        self._sr: tuple[str, np.ndarray] | None = None

    def timed(self, stage: str, fn, *args):
        t = time.perf_counter()
        out = fn(*args)
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t
        return out

    def _get(self, stage: str, key: str, store: bool, compute) -> np.ndarray:
        if store:
            hit = self.cache.load(stage, key, expect=("clip",))
            if hit is not None:
                return hit["clip"]
        clip = self.timed(stage, compute)
        if store:
            self.cache.save(stage, key, {"clip": clip})
        return clip

    def hr(self) -> np.ndarray:
        if self._hr is None:
            self._hr = self._get(
                "hr",
                self.keys["hr"],
                store_policy(self.plan, "hr"),
                lambda: read_hr_clip(self.sample, self.plan.preprocess),
            )
        return self._hr

    def sr(self, st: Setting) -> np.ndarray:
        if st.is_reference:
            return self.hr()
        k = self.keys["settings"][st.id]
        seed = clip_seed(self.plan.seed, self.sample.key)

        def lr() -> np.ndarray:
            if k["lr"] not in self._lr:
                self._lr[k["lr"]] = self._get(
                    "lr",
                    k["lr"],
                    store_policy(self.plan, "lr"),
                    lambda: degrade_clip(self.hr(), st.resolution, self.plan.degradation, seed),
                )
            return self._lr[k["lr"]]

        if st.sr.name == "none" or fold_dependent(st.sr):
            return lr()  # task-driven SR runs in the fold stage, on the LR clip
        if self._sr is None or self._sr[0] != k["sr"]:
            clip = self._get(
                "sr",
                k["sr"],
                store_policy(self.plan, "sr", st),
                lambda: sr_method(st.sr, self.plan.sr_context).upscale(lr(), st.hr_size),
            )
            self._sr = (k["sr"], clip)
        return self._sr[1]


def _represent(mer, stages: ClipStages, st: Setting, sample: Sample) -> np.ndarray:
    sr = stages.sr(st)
    mag = sr_magnify(stages.plan.preprocess)
    if mag:
        sr = stages.timed("magnify", magnify_clip, sr, mag)
    if getattr(mer, "needs_hr_pair", False):
        x = mer.represent_pair(sr, stages.hr(), sample.onset_index, sample.apex_index)
    else:
        x = mer.represent(sr, sample.onset_index, sample.apex_index)
    return np.asarray(x, dtype=np.float32)


def clip_job(args: tuple[ClipPlan, Sample]) -> ClipResult:
    """Process one clip for every setting; a clip that cannot be used comes back ``skipped``.

    Nothing is read or computed for a setting whose representations and quality are all cached.
    """
    plan, sample = args
    cache = Cache(plan.cache_root)
    keys = setting_keys(plan, sample)
    stages = ClipStages(plan, sample, cache, keys)
    out = ClipResult(clip=sample.key)
    t0 = time.perf_counter()
    try:
        for st in plan.settings:
            k = keys["settings"][st.id]
            has_sr_output = not (st.is_reference or st.sr.name == "none" or fold_dependent(st.sr))
            if has_sr_output:
                hit = cache.load("quality", k["quality"], expect=("meta",))
                if hit is None:
                    sr, hr = stages.sr(st), stages.hr()
                    q = stages.timed("quality", quality_metrics, sr, hr, plan.quality)
                    cache.save("quality", k["quality"], {}, meta=q)
                else:
                    q = hit["meta"]
                out.quality[st.id] = q
            got = {}
            for spec in plan.mer:
                if spec.label not in k["repr"]:
                    continue  # no cell (a feature-SR method that cannot wrap this MER method)
                hit = cache.load("repr", k["repr"][spec.label], expect=("x",))
                if hit is None:
                    mer = cell_mer(spec, st.sr)
                    x = stages.timed("represent", _represent, mer, stages, st, sample)
                    hit = {"x": x}
                    cache.save("repr", k["repr"][spec.label], hit)
                got[spec.label] = hit["x"]
            out.repr[st.id] = got
    except ClipError as err:
        # name the clip by its dataset key: a method deep in the stack only knows the array it got
        why = err.problem + (f" ({err.fix})" if err.fix else "")
        return ClipResult(clip=sample.key, skipped=f"clip {sample.key}: {why}")
    out.timings = {**stages.timings, "clip_total": time.perf_counter() - t0}
    return out
