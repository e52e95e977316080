"""Experiment configuration: a YAML file validated with pydantic.

Every error names the config file and the field at fault (``sr[2].name``) and what to do. Methods are
given either by name (``lbptop``) or as a mapping with their options
(``{name: lbptop, radii: [1, 1, 4]}``). Relative paths are resolved against the current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# the source databases of the composite (any other dataset is its own source)
from srmer.data.composite import SOURCES as COMPOSITE_SOURCES
from srmer.errors import ConfigError, SrmerError, did_you_mean
from srmer.schema import RunPaths, format_validation_error

if TYPE_CHECKING:
    from srmer.fer.config import FERConfig

#: options of a method entry that shape the grid instead of being passed to the method:
#: ``label`` (name in tables) and, for SR methods, ``resolutions`` (run only at these LR sides,
#: e.g. Zhou et al. ran video SR at 64to256 only)
GRID_OPTIONS = ("label", "resolutions")

VALID_RESOLUTIONS_HINT = (
    "side lengths in pixels smaller than preprocess.size, e.g. [16, 32, 64, 128]"
)


class MethodSpec(BaseModel):
    """A method name plus its options (everything but ``name``)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_short_forms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value, "options": {}}
        if isinstance(value, dict) and "name" in value and "options" not in value:
            rest = {k: v for k, v in value.items() if k != "name"}
            return {"name": value["name"], "options": rest}
        return value

    @property
    def label(self) -> str:
        """Name used in tables; ``label`` option overrides (to compare two settings of one method)."""
        return str(self.options.get("label", self.name))

    def kwargs(self) -> dict[str, Any]:
        """Options passed to the method's constructor (``label`` and ``resolutions`` are the grid's)."""
        return {k: v for k, v in self.options.items() if k not in GRID_OPTIONS}


class DatasetSpec(BaseModel):
    """One dataset of the grid: a registered name, its root folder, a class map and loader options."""

    model_config = ConfigDict(extra="forbid")
    name: str
    #: the dataset's root folder (for ``composite``: a folder holding casme2/, samm/ and smic/)
    root: Path | None = None
    #: ``composite`` only: the root of each source dataset, ``{casme2: ..., samm: ..., smic: ...}``
    roots: dict[str, Path] | None = None
    #: class map; default: 4class (micro-expression sets), 7class (RAF-DB), megc3 (composite and
    #: the cross-dataset protocols)
    classes: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _root_or_roots(self) -> DatasetSpec:
        if self.roots is not None:
            if self.name != "composite":
                raise ValueError(
                    f"`roots:` is for the composite dataset only; give {self.name} one `root:`"
                )
            missing = [d for d in COMPOSITE_SOURCES if d not in self.roots]
            extra = sorted(set(self.roots) - set(COMPOSITE_SOURCES))
            if missing or extra:
                raise ValueError(
                    "composite `roots:` needs exactly casme2, samm and smic"
                    + (f"; missing {missing}" if missing else "")
                    + (f"; unknown {extra}" if extra else "")
                )
            if self.root is not None:
                raise ValueError("give either `root:` or `roots:`, not both")
        elif self.root is None:
            raise ValueError(
                "`root:` is required (the folder of your copy)"
                + (
                    "; for the composite give `roots: {casme2: ..., samm: ..., smic: ...}`"
                    if self.name == "composite"
                    else ""
                )
            )
        return self

    @property
    def source(self) -> Path | dict[str, Path]:
        """What :func:`srmer.data.load` takes as ``root``: the folder, or the composite's mapping."""
        return self.roots if self.roots is not None else self.root  # type: ignore[return-value]

    @property
    def sources(self) -> tuple[str, ...]:
        """The source databases of the dataset's clips (``casme2, samm, smic`` for the composite)."""
        return COMPOSITE_SOURCES if self.name == "composite" else (self.name,)

    @field_validator("name")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        from srmer.data.registry import DATASETS

        if v not in DATASETS:
            raise ValueError(
                f"unknown dataset {v!r}; choose one of: {', '.join(sorted(DATASETS))}"
                f"{did_you_mean(v, DATASETS)}"
            )
        return v

    @field_validator("classes")
    @classmethod
    def _known_map(cls, v: str | None) -> str | None:
        from srmer.data.classmaps import CLASS_MAPS

        if v is not None and v not in CLASS_MAPS:
            raise ValueError(
                f"unknown class map {v!r}; choose one of: {', '.join(CLASS_MAPS)} "
                f"(docs/datasets.md lists each map's emotions){did_you_mean(v, CLASS_MAPS)}"
            )
        return v


class MagnifySpec(BaseModel):
    """Linear Eulerian motion magnification (Wu et al. 2012), :func:`srmer.video.magnify.magnify`."""

    model_config = ConfigDict(extra="forbid")
    #: amplification of the band-passed signal (0 = no change)
    alpha: float = Field(10.0, ge=0)
    #: spatial pyramid levels
    levels: int = Field(4, ge=1, le=8)
    #: temporal pass band, cycles per frame (or Hz when ``fps`` is given)
    band: tuple[float, float] = (0.05, 0.4)
    fps: float | None = Field(None, gt=0)
    pyramid: Literal["laplacian", "gaussian"] = "laplacian"
    filter: Literal["ideal", "iir"] = "ideal"
    #: chroma attenuation of colour clips (1 = as luminance)
    attenuation: float = Field(1.0, ge=0)
    #: spatial cut-off wavelength in pixels of the paper's alpha limit (None: constant alpha)
    lambda_c: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _band_order(self) -> MagnifySpec:
        lo, hi = self.band
        top = self.fps / 2 if self.fps else 0.5
        if not 0 < lo < hi <= top:
            raise ValueError(
                f"`band`: {list(self.band)} must be 0 < low < high <= {top:g} "
                f"({'Hz, half the frame rate' if self.fps else 'cycles per frame'})"
            )
        return self


class PreprocessSpec(BaseModel):
    """How a raw clip becomes the HR clip: size, face crop and temporal normalisation."""

    model_config = ConfigDict(extra="forbid")
    #: side of the HR face clip (Zhou et al.: 256)
    size: int = Field(256, ge=16, le=4096)
    #: detect and crop the face (box fixed from the onset frame); off for pre-cropped data
    crop_faces: bool = False
    #: ``all`` frames onset..offset, or a fixed count by temporal interpolation (``temporal``)
    frames: Literal["all"] | int = "all"
    temporal: Literal["tim", "linear"] = "linear"
    #: Eulerian motion magnification of the clip (none by default)
    magnify: MagnifySpec | None = None
    #: where magnification is applied: the HR clip before degradation (``hr``) or every clip the
    #: recognisers see, after SR (``sr``: also the LR rows and the HR reference)
    magnify_at: Literal["hr", "sr"] = "hr"

    @field_validator("frames", mode="before")
    @classmethod
    def _frame_count(cls, v: Any) -> Any:
        # one message for both forms (pydantic would report each member of the union)
        if v == "all" or (isinstance(v, int) and not isinstance(v, bool) and v >= 2):
            return v
        raise ValueError(f"{v!r} is not `all` or a number of frames of at least 2 (e.g. 10)")


class ProtocolSpec(BaseModel):
    """How clips are split into training and test data (``srmer.eval.protocol``).

    Given as a name (``loso``) or a mapping (``{name: kfold, k: 5, seed: 0}``).
    """

    model_config = ConfigDict(extra="forbid")
    name: Literal["loso", "kfold", "holdout", "cross_dataset", "leave_one_dataset_out"] = "loso"
    #: kfold: number of folds (by subject) and the seed that shuffles the subjects
    k: int | None = Field(None, ge=2)
    seed: int | None = None
    #: holdout: the subjects tested (as the dataset spells them; the composite's are casme2_01, ...)
    test_subjects: list[str] | None = None
    #: cross_dataset: train on these datasets, test on each of ``test``; or ``pairs``
    train: list[str] | None = None
    test: list[str] | None = None
    #: cross_dataset: ``all`` ordered pairs of the configured datasets, or ``[[train, test], ...]``
    pairs: Literal["all"] | list[tuple[str, str]] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, dict) and isinstance(value.get("test"), str):
            return {**value, "test": [value["test"]]}
        return value

    @model_validator(mode="after")
    def _fields_of_the_protocol(self) -> ProtocolSpec:
        own = {
            "loso": set(),
            "kfold": {"k", "seed"},
            "holdout": {"test_subjects"},
            "cross_dataset": {"train", "test", "pairs"},
            "leave_one_dataset_out": set(),
        }[self.name]
        given = {f for f in ("k", "seed", "test_subjects", "train", "test", "pairs")}
        given = {f for f in given if getattr(self, f) is not None}
        if given - own:
            raise ValueError(
                f"protocol {self.name} takes no {sorted(given - own)}"
                + (f" (it takes {sorted(own)})" if own else "")
            )
        if self.name == "holdout" and not self.test_subjects:
            raise ValueError("protocol holdout needs `test_subjects: [...]`")
        if self.name == "cross_dataset":
            if self.pairs is not None and (self.train or self.test):
                raise ValueError("cross_dataset takes either `pairs:` or `train:` + `test:`")
            if self.pairs is None and not (self.train and self.test):
                raise ValueError(
                    "cross_dataset needs `train: [...]` and `test: [...]`, or `pairs: all`"
                )
        return self

    def as_dict(self) -> dict[str, Any]:
        """The spec as :func:`srmer.eval.protocol.protocol_tasks` takes it (defaults filled in)."""
        d = self.model_dump(mode="json", exclude_none=True)
        if self.name == "kfold":
            d.setdefault("k", 5)
            d.setdefault("seed", 0)
        return d

    @property
    def pooled(self) -> bool:
        """Whether the protocol pools the configured datasets (cross-dataset, leave one out)."""
        return self.name in ("cross_dataset", "leave_one_dataset_out")


class ReportSpec(BaseModel):
    """The report's main metric, its intervals (bootstrap resamples, level, method) and test level."""

    model_config = ConfigDict(extra="forbid")
    #: main metric of the tables, ANOVA and figures; ``auto``: UF1 for the composite and the
    #: cross-dataset protocols (MEGC's), WAR otherwise (Zhou et al.'s)
    metric: Literal["auto", "war", "uar", "uf1"] = "auto"
    #: show each table value with its interval, ``0.412 [0.30, 0.52]`` (the paper-style table is
    #: the default)
    intervals: bool = False
    #: subject-bootstrap resamples for every interval (2000 or more for a paper)
    n_boot: int = Field(2000, ge=100, le=100_000)
    #: confidence level of the intervals
    level: float = Field(0.95, gt=0.5, lt=1.0)
    #: ``percentile`` or ``bca`` (bias-corrected and accelerated, jackknife over subjects)
    ci: Literal["percentile", "bca"] = "percentile"
    #: level of the paired tests (after Holm's correction)
    alpha: float = Field(0.05, gt=0.0, lt=0.5)


class ExecutorSpec(BaseModel):
    """Where the jobs run: local worker processes or a Ray cluster."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "ray"] = "local"
    #: worker processes; default = number of cores
    workers: int | None = Field(None, ge=1)
    #: Ray cluster address (``auto`` to join a running cluster; empty for a local Ray instance)
    address: str | None = None


def _check_name(spec: MethodSpec, registry: dict, kind: str) -> MethodSpec:
    if spec.name not in registry:
        raise ValueError(
            f"unknown {kind} {spec.name!r}; choose one of: {', '.join(sorted(registry))} "
            f"(`srmer list` describes each){did_you_mean(spec.name, registry)}"
        )
    return spec


def _sr_name(spec: MethodSpec) -> MethodSpec:
    from srmer.sr.methods import SR_METHODS

    return _check_name(spec, SR_METHODS, "SR method")


def _mer_name(spec: MethodSpec) -> MethodSpec:
    from srmer.mer.registry import MER_METHODS

    return _check_name(spec, MER_METHODS, "MER method")


# Validating per item puts the index in the error location (`sr[2]`).
SRSpec = Annotated[MethodSpec, AfterValidator(_sr_name)]
MERSpec = Annotated[MethodSpec, AfterValidator(_mer_name)]


def _unique_labels(specs: list[MethodSpec], kind: str) -> list[MethodSpec]:
    labels = [s.label for s in specs]
    dup = {x for x in labels if labels.count(x) > 1}
    if dup:
        raise ValueError(
            f"{kind}s {sorted(dup)} appear twice; give each a distinct `label:` option"
        )
    return specs


class Config(RunPaths, BaseModel):
    """A benchmark: datasets x resolutions x SR methods x MER methods under one protocol."""

    model_config = ConfigDict(extra="forbid")
    #: experiment kind: ``grid`` (this schema) or ``fsr_fer`` (:class:`srmer.fer.config.FERConfig`)
    experiment: Literal["grid"] = "grid"
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    datasets: list[DatasetSpec] = Field(min_length=1)
    preprocess: PreprocessSpec = Field(default_factory=PreprocessSpec)
    resolutions: list[Annotated[int, Field(ge=4)]] = Field(
        default_factory=lambda: [16, 32, 64, 128], min_length=1
    )
    #: include the HR reference row (Zhou et al.'s "256x256")
    reference: bool = True
    degradation: MethodSpec = Field(default_factory=lambda: MethodSpec(name="bicubic"))
    sr: list[SRSpec] = Field(
        default_factory=lambda: [MethodSpec(name="none"), MethodSpec(name="bicubic")], min_length=1
    )
    mer: list[MERSpec] = Field(min_length=1)
    protocol: ProtocolSpec = Field(default_factory=ProtocolSpec)
    report: ReportSpec = Field(default_factory=ReportSpec)
    seed: int = 0
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    #: run directory (default runs/<name>)
    output: Path | None = None
    #: stage cache (default <output>/cache); share one between runs to reuse stage outputs
    cache: Path | None = None
    #: which clip-sized stage outputs to store: ``auto`` (the expensive ones: face-cropped HR clips,
    #: random degradations, learned SR), ``all`` or ``none``; representations and folds are always stored
    cache_clips: Literal["auto", "all", "none"] = "auto"
    #: SR-quality metrics: ``psnr``, ``ssim`` (Zhou et al. Table V) and ``tcons``, the flow-based temporal
    #: consistency of SR clips (costs ~50 ms per frame pair at 256x256, so it is opt-in)
    quality: list[Literal["psnr", "ssim", "tcons"]] = Field(
        default_factory=lambda: ["psnr", "ssim"]
    )
    #: folder of HR face images of identities NOT in the evaluation data, for training SR models
    sr_pool: Path | None = None

    @field_validator("sr")
    @classmethod
    def _unique_sr(cls, v: list[MethodSpec]) -> list[MethodSpec]:
        return _unique_labels(v, "SR method")

    @field_validator("mer")
    @classmethod
    def _unique_mer(cls, v: list[MethodSpec]) -> list[MethodSpec]:
        return _unique_labels(v, "MER method")

    @field_validator("degradation")
    @classmethod
    def _known_degradation(cls, v: MethodSpec) -> MethodSpec:
        try:
            from srmer.degrade import DEGRADATIONS
        except ImportError:  # registry not available: only Zhou et al.'s bicubic
            DEGRADATIONS = {"bicubic": None}
        if v.name not in DEGRADATIONS:
            raise ValueError(
                f"unknown degradation {v.name!r}; choose one of: "
                f"{', '.join(sorted(DEGRADATIONS))}{did_you_mean(v.name, DEGRADATIONS)}"
            )
        return v

    @model_validator(mode="after")
    def _resolutions_below_size(self) -> Config:
        bad = [r for r in self.resolutions if r >= self.preprocess.size]
        if bad:
            raise ValueError(
                f"`resolutions`: {bad} are not below preprocess.size={self.preprocess.size}; use "
                f"{VALID_RESOLUTIONS_HINT}"
            )
        for i, spec in enumerate(self.sr):
            only = spec.options.get("resolutions")
            if only is not None and (
                not isinstance(only, list) or not set(only) <= set(self.resolutions)
            ):
                raise ValueError(
                    f"`sr[{i}].resolutions` ({spec.label}): {only} must be a list drawn from the "
                    f"config's resolutions {self.resolutions}"
                )
        return self

    @model_validator(mode="after")
    def _protocol_fits_the_datasets(self) -> Config:
        p = self.protocol
        sources = [src for ds in self.datasets for src in ds.sources]
        if p.pooled:
            if len(set(sources)) < 2:
                raise ValueError(
                    f"`protocol`: {p.name} needs clips of at least two datasets; list several "
                    "datasets or use the composite (datasets: [{name: composite, roots: ...}])"
                )
            dup = sorted({s for s in sources if sources.count(s) > 1})
            if dup:
                raise ValueError(f"`datasets`: protocol {p.name} lists dataset(s) {dup} twice")
            # one label space for training and test: the MEGC 2019 classes unless all agree
            maps = {ds.classes for ds in self.datasets if ds.classes is not None}
            if len(maps) > 1:
                raise ValueError(
                    f"`protocol`: {p.name} trains and tests on different datasets, so every "
                    f"dataset needs the same class map (have {sorted(maps)}); use megc3"
                )
            for ds in self.datasets:
                if ds.classes is None:
                    ds.classes = "megc3"
        if p.name == "cross_dataset":
            from srmer.eval.protocol import cross_dataset_pairs

            try:
                cross_dataset_pairs(p.as_dict(), sorted(set(sources)))
            except SrmerError as err:
                raise ValueError(f"`protocol`: {err}") from None
        return self

    @property
    def report_metric(self) -> str:
        """The report's main metric with ``auto`` resolved (UF1 under MEGC's protocols)."""
        if self.report.metric != "auto":
            return self.report.metric
        megc = self.protocol.pooled or any(ds.name == "composite" for ds in self.datasets)
        return "uf1" if megc else "war"

    @model_validator(mode="after")
    def _method_options(self) -> Config:
        # Every option of every method is checked now, before any work: a misspelt MER option
        # must not surface after hours of SR training.
        from srmer.degrade import get_degradation
        from srmer.mer.registry import create as create_mer
        from srmer.sr.methods import get_method

        try:
            get_degradation({"name": self.degradation.name, **self.degradation.options})
        except SrmerError as err:
            raise ValueError(f"`degradation`: {err}") from None
        for i, spec in enumerate(self.sr):
            try:
                m = get_method(spec.name, **spec.kwargs())
            except SrmerError as err:
                raise ValueError(f"`sr[{i}]` ({spec.label}): {err}") from None
            if getattr(m, "requires_checkpoint", False) and not spec.options.get("checkpoint"):
                raise ValueError(f"`sr[{i}]` ({spec.label}): {m.checkpoint_hint()}")
            if m.needs_preparation and self.sr_pool is None:
                raise ValueError(
                    f"`sr[{i}]` ({spec.label}) needs training images or a checkpoint: set `sr_pool:` "
                    "to a folder of HR faces of identities not in the evaluation data, or give "
                    "`checkpoint:`"
                )
            if getattr(m, "fold_dependent", False) and self.preprocess.frames == "all":
                raise ValueError(
                    f"`sr[{i}]` ({spec.label}): task-driven SR (loss.task) is fine-tuned inside "
                    "each fold on the clips themselves, which must then have one length: set "
                    "`preprocess.frames:` to a number of frames (e.g. 16, with `temporal: tim`)"
                )
        for i, spec in enumerate(self.mer):
            try:
                create_mer(spec.name, **spec.kwargs())
            except SrmerError as err:
                raise ValueError(f"`mer[{i}]` ({spec.label}): {err}") from None
        return self


def parse_config(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a config mapping; raises :class:`ConfigError` naming each bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: expected a mapping of fields at the top level")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(
            format_validation_error(source, err, "configs/demo.yaml", Config)
        ) from None


EXPERIMENT_KINDS = ("grid", "fsr_fer")


def parse_any_config(data: Any, source: str = "<dict>") -> Config | FERConfig:
    """Validate a config mapping of any experiment kind (its ``experiment:`` field, default ``grid``)."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: expected a mapping of fields at the top level")
    kind = data.get("experiment", "grid")
    if kind == "fsr_fer":
        from srmer.fer.config import parse_fer_config

        return parse_fer_config(data, source)
    if kind != "grid":
        raise ConfigError(
            f"invalid config {source}:\n  field `experiment`: unknown experiment kind {kind!r}; "
            f"choose one of: {', '.join(EXPERIMENT_KINDS)}"
        )
    if "experiment" not in data and {"fsr", "backbone"} & set(data):
        raise ConfigError(
            f"invalid config {source}: it looks like an FSR-FER config (it has "
            f"{sorted({'fsr', 'backbone'} & set(data))}); add `experiment: fsr_fer` at the top"
        )
    return parse_config(data, source)


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["seed=1", "resolutions=[16, 32]"]`` (``--set`` arguments) -> ``{"seed": 1, ...}``.

    Each value is read as YAML, so numbers, booleans, lists and mappings keep their type.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                f"--set {item!r}: give KEY=VALUE with a dotted key, e.g. --set seed=1 or "
                "--set executor.workers=2 or --set mer.0.epochs=5"
            )
        try:
            out[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML ({err})") from None
    return out


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config mapping ``data`` with dotted-key ``overrides`` set.

    Parameters
    ----------
    data : dict
        A config as read from YAML.
    overrides : dict
        ``{"seed": 1, "executor.workers": 2, "mer.0.epochs": 5}``: each key is a path of field
        names and list indices (``__`` may stand for ``.``, for Python keyword arguments). A method
        given by name (``mer: [ststnet]``) becomes a mapping when one of its options is set.

    Returns
    -------
    dict
        The new mapping (``data`` is not changed); validate it with :func:`parse_any_config`.
    """
    import copy

    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        parts = dotted.replace("__", ".").split(".")
        node: Any = out
        for depth, part in enumerate(parts[:-1]):
            where = ".".join(parts[: depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f"override {dotted!r}: {where!r} is not an index of a list of {len(node)}"
                    )
                idx = int(part)
                if isinstance(node[idx], str):  # `ststnet` -> {name: ststnet}
                    node[idx] = {"name": node[idx]}
                node = node[idx]
            elif isinstance(node, dict):
                if isinstance(node.get(part), str):  # `protocol: loso` -> {name: loso}
                    node[part] = {"name": node[part]}
                node = node.setdefault(part, {})
            else:
                raise ConfigError(f"override {dotted!r}: {where!r} holds a value, not fields")
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ConfigError(f"override {dotted!r}: {last!r} is not an index of the list")
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"override {dotted!r}: its parent holds a value, not fields")
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML config file (not validated); clear errors for a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (ready configs are in configs/)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {path}: expected a mapping of fields at the top level")
    return data


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> Config | FERConfig:
    """Read and validate a YAML experiment config of any kind (``experiment: grid | fsr_fer``).

    ``overrides`` (dotted keys, :func:`apply_overrides`) are set before validation, so a bad
    override is reported like a bad field of the file.
    """
    data = read_config_file(path)
    if overrides:
        data = apply_overrides(data, overrides)
        keys = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        return parse_any_config(data, f"{path} (with {keys})")
    return parse_any_config(data, str(path))


def dump_config(config: Config | FERConfig) -> str:
    """The config as YAML (paths as strings), as written to the run directory."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _exists(path: Path | str, field: str, fix: str) -> None:
    if not Path(path).exists():
        raise ConfigError(f"config field `{field}`: {path} does not exist; {fix}")


def preflight(config: Config | FERConfig) -> None:
    """Check that every file and folder a config names exists, before anything is written.

    Raises
    ------
    ConfigError
        Naming the field and the missing path.
    """
    if not isinstance(config, Config):
        if config.data.kind == "rafdb" and config.data.root is not None:
            _exists(config.data.root, "data.root", "give the folder that holds RAF-DB's basic/")
        return
    for i, ds in enumerate(config.datasets):
        if ds.roots is not None:
            for src, path in ds.roots.items():
                _exists(
                    path,
                    f"datasets[{i}].roots.{src}",
                    f"pass the folder of your {src} copy (the composite needs all three)",
                )
            continue
        _exists(
            ds.root,
            f"datasets[{i}].root",
            f"pass the folder of your {ds.name} copy (or run `srmer demo` for the synthetic one)",
        )
    if config.sr_pool is not None:
        _exists(config.sr_pool, "sr_pool", "give a folder of HR face images for SR training")
    for i, spec in enumerate(config.sr):
        for opt in ("spynet_checkpoint",):
            if spec.options.get(opt):
                _exists(spec.options[opt], f"sr[{i}].{opt}", "fix the path to the weights file")
        ck = spec.options.get("checkpoint")
        if ck:
            for p in ck.values() if isinstance(ck, dict) else [ck]:
                _exists(p, f"sr[{i}].checkpoint", "fix the path to the weights file")
