"""The benchmark runner: load -> preprocess -> degrade -> SR -> represent -> LOSO -> metrics -> report.

Work is split into two kinds of independent jobs, both cached (``srmer.bench.cache``) and run by an
executor (``srmer.bench.executors``):

* a **clip job** streams one clip: reads its frames, builds the HR clip, and for every (resolution,
  SR) setting makes the LR and SR clips, their PSNR/SSIM and every MER method's representation. Only
  the small representations come back, so memory is bounded by a few clips, never the dataset;
* a **fold job** runs the LOSO protocol of one (dataset, setting, MER) cell on the cached
  representations: every estimator is fitted on the training subjects of its fold only.

A killed run loses nothing that finished: each clip's and cell's outputs are stored atomically and a
re-run finds them in the cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from srmer.bench.cache import Cache, atomic_write_text, make_key
from srmer.bench.config import Config, MethodSpec, dump_config
from srmer.bench.executors import make_executor
from srmer.bench.plan import Setting, expand
from srmer.data import SampleSet, load
from srmer.data.sample import Sample
from srmer.errors import ClipError

#: version of the HR-clip stage (reading, cropping, resizing); bump when it changes
HR_VERSION = 1
PACKAGES = (
    "srmer",
    "numpy",
    "scipy",
    "scikit-learn",
    "scikit-image",
    "opencv-contrib-python-headless",
    "torch",
    "pandas",
    "statsmodels",
    "pydantic",
)


# ----------------------------------------------------------------------------------------- helpers
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


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class ClipPlan:
    """Everything a clip job needs (picklable)."""

    cache_root: str
    preprocess: dict[str, Any]
    degradation: dict[str, Any]
    settings: list[Setting]
    mer: list[MethodSpec]
    seed: int
    sr_context: dict[str, Any] = field(default_factory=dict)
    cache_clips: str = "auto"
    quality: list[str] = field(default_factory=lambda: ["psnr", "ssim"])


_METHOD_MEMO: dict[str, Any] = {}


def _memo(kind: str, spec: MethodSpec, factory):
    key = kind + json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    if key not in _METHOD_MEMO:
        _METHOD_MEMO[key] = factory()
    return _METHOD_MEMO[key]


def _sr_method(spec: MethodSpec, context: dict[str, Any]):
    from srmer.sr.methods import get_method

    def build():
        m = get_method(spec.name, **spec.kwargs())
        if m.needs_preparation:
            m.prepare(**context)  # loads the weights trained by the main process from the cache
        return m

    return _memo("sr", spec, build)


def _mer_method(spec: MethodSpec):
    from srmer.mer.registry import create

    return _memo("mer", spec, lambda: create(spec.name, **spec.kwargs()))


def cell_mer(spec: MethodSpec, sr: MethodSpec | None):
    """The MER method that runs in a (setting, MER) cell, or ``None`` when the pair cannot run.

    Feature-level SR methods (``kind == "feature"``, e.g. ``fsr``) do not restore clips for the MER
    method: they wrap it (LR descriptors mapped towards HR ones inside each fold). Methods they cannot
    wrap (networks) have no cell under them.
    """
    from srmer.errors import ConfigError
    from srmer.sr.methods import get_method, get_method_class

    if sr is None or get_method_class(sr.name).kind != "feature":
        return _mer_method(spec)

    def build():
        try:
            return get_method(sr.name, **sr.kwargs()).wrap(_mer_method(spec))
        except ConfigError:
            return None

    return _memo(
        "cell",
        MethodSpec(
            name=f"{sr.name}|{spec.name}",
            options={"sr": sr.model_dump(mode="json"), "mer": spec.model_dump(mode="json")},
        ),
        build,
    )


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
    return clip


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


def _mean_quality(
    per_clip: dict[int, dict[str, Any]], kept: list[int], setting_id: str
) -> dict[str, float]:
    """Per-setting mean of each quality metric over the clips (empty when the setting has no SR output)."""
    qs = [per_clip[i]["quality"][setting_id] for i in kept if setting_id in per_clip[i]["quality"]]
    return {m: float(np.mean([q[m] for q in qs])) for m in (qs[0] if qs else {})}


def _setting_keys(plan: ClipPlan, sample: Sample) -> dict[str, Any]:
    """Cache keys of every stage output of one clip (computed without touching the frames)."""
    from srmer.sr.methods import get_method_class

    hr_key = make_key("hr", plan.preprocess, [clip_fingerprint(sample)], HR_VERSION)
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
            reprs[spec.label] = make_key(
                "repr", {"name": mer.name, **mer.cache_params()}, [sr_key], mer.version
            )
        keys["settings"][st.id] = {
            "lr": lr_key,
            "sr": sr_key,
            "repr": reprs,
            "quality": make_key("quality", {"metrics": plan.quality}, [sr_key, hr_key], 1),
        }
    return keys


def _store_policy(plan: ClipPlan, stage: str, setting: Setting | None = None) -> bool:
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
            bool(plan.preprocess.get("crop_faces")) or plan.preprocess.get("frames", "all") != "all"
        )
    if stage == "lr":
        return plan.degradation["name"] != "bicubic"
    from srmer.sr.methods import get_method_class

    return get_method_class(setting.sr.name).kind in ("image", "video")


class _ClipStages:
    """Lazily computed, optionally cached HR/LR/SR clips of one sample, with stage timings."""

    def __init__(self, plan: ClipPlan, sample: Sample, cache: Cache, keys: dict[str, Any]) -> None:
        self.plan, self.sample, self.cache, self.keys = plan, sample, cache, keys
        self.timings: dict[str, float] = {}
        self._hr: np.ndarray | None = None

    def _get(self, stage: str, key: str, store: bool, compute) -> np.ndarray:
        if store:
            hit = self.cache.load(stage, key)
            if hit is not None:
                return hit["clip"]
        t = time.perf_counter()
        clip = compute()
        self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - t
        if store:
            self.cache.save(stage, key, {"clip": clip})
        return clip

    def hr(self) -> np.ndarray:
        if self._hr is None:
            self._hr = self._get(
                "hr",
                self.keys["hr"],
                _store_policy(self.plan, "hr"),
                lambda: read_hr_clip(self.sample, self.plan.preprocess),
            )
        return self._hr

    def sr(self, st: Setting) -> np.ndarray:
        if st.is_reference:
            return self.hr()
        k = self.keys["settings"][st.id]
        seed = clip_seed(self.plan.seed, self.sample.key)

        def lr() -> np.ndarray:
            return self._get(
                "lr",
                k["lr"],
                _store_policy(self.plan, "lr"),
                lambda: degrade_clip(self.hr(), st.resolution, self.plan.degradation, seed),
            )

        return self._get(
            "sr",
            k["sr"],
            _store_policy(self.plan, "sr", st),
            lambda: _sr_method(st.sr, self.plan.sr_context).upscale(lr(), st.hr_size),
        )


def clip_job(args: tuple[ClipPlan, Sample]) -> dict[str, Any]:
    """Process one clip for every setting; returns representations and quality, or the skip reason.

    Nothing is read or computed for a setting whose representations and quality are all cached.
    """
    plan, sample = args
    cache = Cache(plan.cache_root)
    keys = _setting_keys(plan, sample)
    stages = _ClipStages(plan, sample, cache, keys)
    out: dict[str, Any] = {"clip": sample.key, "repr": {}, "quality": {}}
    t0 = time.perf_counter()
    try:
        for st in plan.settings:
            k = keys["settings"][st.id]
            has_sr_output = not (st.is_reference or st.sr.name == "none")
            quality = cache.load("quality", k["quality"]) if has_sr_output else None
            if quality is None and has_sr_output:
                sr, hr = stages.sr(st), stages.hr()
                t = time.perf_counter()
                quality = {"meta": quality_metrics(sr, hr, plan.quality)}
                stages.timings["quality"] = (
                    stages.timings.get("quality", 0.0) + time.perf_counter() - t
                )
                cache.save("quality", k["quality"], {}, meta=quality["meta"])
            if quality is not None:
                out["quality"][st.id] = quality["meta"]
            got = {}
            for spec in plan.mer:
                if spec.label not in k["repr"]:
                    continue  # no cell (a feature-SR method that cannot wrap this MER method)
                hit = cache.load("repr", k["repr"][spec.label])
                if hit is None:
                    sr = stages.sr(st)
                    mer = cell_mer(spec, st.sr)
                    t = time.perf_counter()
                    if getattr(mer, "needs_hr_pair", False):
                        x = mer.represent_pair(
                            sr, stages.hr(), sample.onset_index, sample.apex_index
                        )
                    else:
                        x = mer.represent(sr, sample.onset_index, sample.apex_index)
                    hit = {"x": np.asarray(x, dtype=np.float32)}
                    stages.timings["represent"] = (
                        stages.timings.get("represent", 0.0) + time.perf_counter() - t
                    )
                    cache.save("repr", k["repr"][spec.label], hit)
                got[spec.label] = hit["x"]
            out["repr"][st.id] = got
    except ClipError as err:
        return {"clip": sample.key, "skipped": str(err)}
    out["timings"] = {**stages.timings, "clip_total": time.perf_counter() - t0}
    return out


def fold_job(
    args: tuple[MethodSpec, MethodSpec | None, np.ndarray, np.ndarray, np.ndarray, int, int, str],
) -> np.ndarray:
    """LOSO predictions of one (dataset, setting, MER) cell."""
    from srmer.eval.protocol import loso_predict

    spec, sr_spec, X, y, groups, n_classes, seed, checkpoints = args
    mer = cell_mer(spec, sr_spec)

    def make():
        est = mer.estimator(n_classes, seed)
        # networks checkpoint each fold (keyed by its training data and settings), so a killed
        # cell resumes mid-training instead of starting the fold again
        if checkpoints and getattr(est, "checkpoint_dir", False) is None:
            est.checkpoint_dir = checkpoints
        return est

    return loso_predict(make, X, y, groups)


# ------------------------------------------------------------------------------------------ runner
@dataclass
class RunResult:
    run_dir: Path
    results: pd.DataFrame
    skipped: list[dict[str, str]]


def _versions() -> dict[str, str]:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _sr_pool_images(config: Config) -> list[str]:
    if config.sr_pool is None:
        return []
    exts = {".png", ".jpg", ".jpeg", ".bmp"}
    return sorted(str(p) for p in Path(config.sr_pool).rglob("*") if p.suffix.lower() in exts)


def files_fingerprint(paths: list[str]) -> str:
    """Key of a set of files (path, size, mtime): changes when a file is added, removed or rewritten."""
    h = hashlib.sha256()
    for p in sorted(paths):
        try:
            st = Path(p).stat()
            h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p}|missing\n".encode())
    return h.hexdigest()


def prepare_sr_methods(config: Config, cache: Cache, device: str, log) -> dict[str, Any]:
    """Train (or load) every learned SR method that has no checkpoint, once, before the clip jobs.

    Returns the context the clip jobs pass to ``prepare`` (which then loads the cached weights), with
    a ``models`` fingerprint per SR label (its checkpoint file or the training pool) that enters the
    SR outputs' cache keys, so new weights or a changed pool never reuse old SR clips.
    """
    from srmer.errors import ConfigError
    from srmer.sr.methods import get_method

    pool = _sr_pool_images(config)
    context: dict[str, Any] = {
        "pool_images": pool,
        "device": device,
        "cache_dir": str(cache.root / "sr_models"),
        "seed": config.seed,
    }
    models: dict[str, str] = {}
    for spec in config.sr:
        m = get_method(spec.name, **spec.kwargs())
        checkpoint = spec.options.get("checkpoint")
        if checkpoint:
            paths = list(checkpoint.values()) if isinstance(checkpoint, dict) else [checkpoint]
            models[spec.label] = files_fingerprint([str(p) for p in paths])
        elif m.needs_preparation:
            models[spec.label] = files_fingerprint(pool)
        if m.needs_preparation:
            if not pool and not checkpoint:
                raise ConfigError(
                    f"SR method {spec.label!r} needs training images or a checkpoint: set `sr_pool:` to a "
                    f"folder of HR faces of identities not in the evaluation data, or give `checkpoint:`"
                )
            size = config.preprocess.size
            scales = sorted(
                {math.ceil(size / r) for r in spec.options.get("resolutions", config.resolutions)}
            )
            log(
                f"preparing SR method {spec.label} for x{', x'.join(map(str, scales))} (trained once, then cached)"
            )
            # every factor is trained here, once: workers then only load the cached weights
            m.prepare(**context, scales=scales)
    return {**context, "models": models}


def run(
    config: Config, workers: int | None = None, quiet: bool = False, write_report: bool = True
) -> RunResult:
    """Run a benchmark config end to end and write its run directory.

    Parameters
    ----------
    config : Config
        Validated experiment config.
    workers : int, optional
        Override ``executor.workers``.
    quiet : bool
        No progress bars.
    write_report : bool
        Write the HTML/Markdown/LaTeX report at the end.

    Returns
    -------
    RunResult
        Run directory, results table (one row per dataset x setting x MER) and skipped clips.
    """
    from rich.console import Console

    console = Console(stderr=True, quiet=quiet)
    run_dir = config.output_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    cache = Cache(config.cache_dir)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    timings: dict[str, float] = {}
    settings = expand(config)
    atomic_write_text(run_dir / "config.yaml", dump_config(config))
    atomic_write_text(
        run_dir / "plan.json",
        json.dumps(
            {
                "settings": [s.id for s in settings],
                "mer": [m.label for m in config.mer],
                "datasets": [d.name for d in config.datasets],
            },
            indent=2,
        ),
    )
    device = resolve_device(config.device)

    t = time.perf_counter()
    sr_context = prepare_sr_methods(config, cache, device, console.log)
    timings["sr_prepare"] = time.perf_counter() - t

    rows, pred_rows, quality_rows, skipped = [], [], [], []
    executor = make_executor(
        config.executor.kind, workers or config.executor.workers, config.executor.address
    )
    with executor, _progress() if not quiet else _NullProgress() as progress:
        for ds in config.datasets:
            t = time.perf_counter()
            samples: SampleSet = load(ds.name, ds.root, classes=ds.classes, **ds.options)
            timings[f"load:{ds.name}"] = time.perf_counter() - t
            skipped += [
                {"dataset": ds.name, "clip": s.clip, "problem": s.problem} for s in samples.skipped
            ]
            plan = ClipPlan(
                str(cache.root),
                config.preprocess.model_dump(mode="json"),
                config.degradation.model_dump(mode="json"),
                settings,
                config.mer,
                config.seed,
                sr_context,
                config.cache_clips,
                list(config.quality),
            )

            # clip stage: stream clips, keep only representations
            t = time.perf_counter()
            task = progress.add_task(f"{ds.name}: clips", total=len(samples))
            per_clip: dict[int, dict[str, Any]] = {}
            stage_t: dict[str, float] = {}
            for i, res in executor.imap(
                clip_job, [(plan, s) for s in samples], gpu=device.startswith("cuda")
            ):
                if "skipped" in res:
                    skipped.append(
                        {"dataset": ds.name, "clip": res["clip"], "problem": res["skipped"]}
                    )
                else:
                    per_clip[i] = res
                    for k, v in res["timings"].items():
                        stage_t[k] = stage_t.get(k, 0.0) + v
                progress.advance(task)
            timings[f"clips:{ds.name}"] = time.perf_counter() - t
            timings.update({f"{k}:{ds.name} (cpu-s)": v for k, v in stage_t.items()})
            kept = sorted(per_clip)
            if len(kept) < 2:
                from srmer.errors import DatasetError

                reasons = "; ".join(x["problem"] for x in skipped if x["dataset"] == ds.name)[:800]
                raise DatasetError(
                    f"dataset {ds.name} at {ds.root}: fewer than 2 usable clips "
                    f"({len(samples)} loaded). Skipped: {reasons or 'none'}"
                )
            used = [samples[i] for i in kept]
            y = np.array([s.label for s in used])
            groups = np.array([s.subject for s in used])

            # fold stage: one LOSO job per (setting, MER) cell
            t = time.perf_counter()
            cells, jobs, keys = [], [], []
            for st in settings:
                for spec in config.mer:
                    if spec.label not in per_clip[kept[0]]["repr"][st.id]:
                        continue
                    X = np.stack([per_clip[i]["repr"][st.id][spec.label] for i in kept])
                    fkey = make_key(
                        "fold",
                        {
                            "mer": spec.model_dump(mode="json"),
                            "sr": st.sr.model_dump(mode="json") if st.sr is not None else None,
                            "seed": config.seed,
                            "protocol": config.protocol,
                        },
                        [
                            hashlib.sha256(X.tobytes()).hexdigest(),
                            hashlib.sha256(y.tobytes() + "|".join(groups).encode()).hexdigest(),
                        ],
                    )
                    cells.append((st, spec))
                    keys.append(fkey)
                    jobs.append(
                        (
                            spec,
                            st.sr,
                            X,
                            y,
                            groups,
                            len(samples.classes),
                            config.seed,
                            str(cache.root / "net_checkpoints"),
                        )
                    )
            preds: dict[int, np.ndarray] = {}
            todo = []
            for j, fkey in enumerate(keys):
                hit = cache.load("fold", fkey)
                if hit is not None:
                    preds[j] = hit["y_pred"]
                else:
                    todo.append(j)
            task = progress.add_task(f"{ds.name}: LOSO folds", total=len(jobs))
            progress.advance(task, len(jobs) - len(todo))
            for jj, y_pred in executor.imap(fold_job, [jobs[j] for j in todo]):
                j = todo[jj]
                cache.save("fold", keys[j], {"y_pred": y_pred})
                preds[j] = y_pred
                progress.advance(task)
            timings[f"folds:{ds.name}"] = time.perf_counter() - t

            from srmer.eval.metrics import all_metrics

            for j, (st, spec) in enumerate(cells):
                y_pred = preds[j]
                m = all_metrics(y, y_pred)
                q = _mean_quality(per_clip, kept, st.id)
                rows.append(
                    {
                        "dataset": ds.name,
                        "class_map": samples.class_map,
                        "degradation": config.degradation.label,
                        "resolution": st.resolution,
                        "setting": st.name,
                        "sr": st.sr_label,
                        "mer": spec.label,
                        **m,
                        "n_clips": len(kept),
                        **{metric: q.get(metric, np.nan) for metric in config.quality},
                    }
                )
                pred_rows += [
                    {
                        "dataset": ds.name,
                        "resolution": st.resolution,
                        "setting": st.name,
                        "sr": st.sr_label,
                        "mer": spec.label,
                        "subject": s.subject,
                        "clip": s.clip,
                        "y_true": samples.classes[a],
                        "y_pred": samples.classes[b],
                    }
                    for s, a, b in zip(used, y, y_pred, strict=True)
                ]
            for st in settings:
                q = _mean_quality(per_clip, kept, st.id)
                if q:
                    quality_rows.append(
                        {
                            "dataset": ds.name,
                            "resolution": st.resolution,
                            "setting": st.name,
                            "sr": st.sr_label,
                            **q,
                        }
                    )

    results = pd.DataFrame(rows)
    _write_table(run_dir / "results", results)
    _write_table(run_dir / "predictions", pd.DataFrame(pred_rows), parquet=False)
    _write_table(run_dir / "quality", pd.DataFrame(quality_rows), parquet=False)
    provenance = {
        "versions": _versions(),
        "seed": config.seed,
        "timings": timings,
        "skipped": skipped,
        "started": started,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "device": device,
        "machine": f"{platform.node()} {platform.machine()} "
        f"{platform.processor() or ''} python {platform.python_version()}".strip(),
        "executor": {"kind": config.executor.kind, "workers": executor.workers},
    }
    atomic_write_text(run_dir / "provenance.json", json.dumps(provenance, indent=2))
    if write_report:
        from srmer.bench.report import write_report as _write_report
        from srmer.errors import SrmerError

        try:
            _write_report(run_dir)
        except SrmerError as err:  # the results are safe on disk; `srmer report` can retry
            console.print(f"[yellow]report not written: {err}[/yellow]")
    return RunResult(run_dir, results, skipped)


def _write_table(stem: Path, df: pd.DataFrame, parquet: bool = True) -> None:
    atomic_write_text(stem.with_suffix(".csv"), df.to_csv(index=False))
    if parquet:
        import io

        from srmer.bench.cache import atomic_write_bytes

        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(stem.with_suffix(".parquet"), buf.getvalue())


class _NullProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add_task(self, *a, **k):
        return 0

    def advance(self, *a, **k):
        pass
