"""The ``srmer`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from srmer.errors import SrmerError, did_you_mean

#: -h as well as --help, on every command
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _group(help: str) -> typer.Typer:
    # typer suggests the closest command for a misspelt one ("Did you mean 'run'?")
    return typer.Typer(
        help=help, no_args_is_help=True, context_settings=CONTEXT, rich_markup_mode="markdown"
    )


app = typer.Typer(
    help="srmer: super-resolution for low-resolution facial micro-expression recognition.\n\n"
    "Benchmark grids of resolutions x SR methods x recognition methods under LOSO and the MEGC "
    "protocols, with the tables, statistics and figures of Zhou et al., Sharma et al. and Jing "
    "et al. Start with `srmer demo`; `srmer COMMAND -h` explains each command.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
    rich_markup_mode="markdown",
)
data_app = _group("Generate synthetic datasets and validate dataset copies.")
cache_app = _group("Inspect or clear a run's stage cache.")
sr_app = _group("Train super-resolution models and upscale images or clips.")
fer_app = _group(
    "Static expression recognition with feature super-resolution (FSR-FER, Jing et al. 2020)."
)
app.add_typer(data_app, name="data")
# the former name of `srmer data` (scripts written for 0.2 keep working)
app.add_typer(data_app, name="datasets", hidden=True)
app.add_typer(cache_app, name="cache")
app.add_typer(sr_app, name="sr")
app.add_typer(fer_app, name="fer")

console = Console(soft_wrap=True)  # paths and tables are never broken across lines
err_console = Console(stderr=True, log_path=False)  # no source positions in messages


def _version(value: bool) -> None:
    if value:
        from srmer import __version__

        console.print(f"srmer {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """srmer: super-resolution for low-resolution facial micro-expression recognition."""


PACKAGE_CONFIGS = Path(__file__).parent / "configs"
DEMO_DATA = Path("data/synthetic")


def _print_table(run_dir: Path) -> None:
    """The run's Table II-shaped tables on stdout, as aligned text (Markdown/HTML are in files)."""
    import pandas as pd
    from rich.measure import Measurement

    from srmer.bench.report import run_metric
    from srmer.bench.tables import METRIC_DISPLAY, panels, sr_mer_table, to_rich

    results = pd.read_csv(run_dir / "results.csv")
    metric = run_metric(run_dir)
    for title, sel in panels(results):
        proto = sel.get("protocol") or (
            str(results["protocol"].iloc[0]) if "protocol" in results.columns else "loso"
        )
        console.print(f"\n[bold]{title}[/bold]: {METRIC_DISPLAY[metric]} ({proto})")
        table = to_rich(sr_mer_table(results, metric=metric, **sel))
        # at its natural width: a pipe or file (80 columns by default) must not truncate cells
        need = Measurement.get(console, console.options.update(max_width=10_000), table).maximum
        out = (
            console
            if need <= console.width
            else Console(file=console.file, soft_wrap=True, width=need)
        )
        out.print(table)
    console.print(
        "underlined: best per row; bold: best average; †: best SR strategy at that resolution "
        "(the report marks the same)",
        style="dim",
        highlight=False,
    )


def _print_fer_tables(tables) -> None:
    from srmer.fer.evaluate import to_markdown

    for name, df in tables.items():
        console.print(f"\n[bold]{name}[/bold] (accuracy %, test split)")
        console.print(to_markdown(df, 1), markup=False)


def _verbosity(quiet: bool, verbose: bool) -> tuple[bool, bool]:
    if quiet and verbose:
        raise SrmerError("--quiet and --verbose exclude each other; give one")
    return quiet, verbose


QUIET = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display; warnings and errors only.")
]
VERBOSE = Annotated[
    bool, typer.Option("--verbose", "-v", help="Debug messages too (always in RUN_DIR/run.log).")
]
WORKERS = Annotated[
    int | None,
    typer.Option(help="Worker processes (default: the config's executor.workers, else all cores)."),
]


@app.command(context_settings=CONTEXT)
def run(
    config: Annotated[
        Path, typer.Argument(metavar="CONFIG", help="Experiment YAML (ready ones in configs/).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Run directory (default: the config's output, else runs/NAME)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Override a config field (dotted key, YAML value); repeatable.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Validate everything and print the plan; write nothing."),
    ] = False,
    workers: WORKERS = None,
    quiet: QUIET = False,
    verbose: VERBOSE = False,
) -> None:
    """Run an experiment config: a micro-expression grid (`experiment: grid`, the default) or FSR-FER (`experiment: fsr_fer`).

    Writes results, predictions, provenance, a log and the report to the run directory; the
    results table goes to stdout, progress to stderr. The whole config is checked before anything
    is written; an interrupted run resumes where it stopped when started again (stage outputs are
    cached); a second run on a directory in use is refused.

    Examples:

        srmer run configs/seed000_casme2.yaml

        srmer run configs/demo.yaml --set resolutions=[16,32] --set seed=1 -o runs/demo-seed1

        srmer run configs/demo.yaml --set mer.0.radii=[1,1,2] --dry-run
    """
    from srmer.bench.config import Config, load_config, parse_overrides, preflight
    from srmer.bench.runner import run as run_experiment

    quiet, verbose = _verbosity(quiet, verbose)
    overrides = parse_overrides(set_ or [])
    if output is not None:
        overrides["output"] = str(output)
    cfg = load_config(config, overrides)
    if dry_run:
        preflight(cfg)
        _print_plan(cfg)
        return
    result = run_experiment(cfg, workers=workers, quiet=quiet, verbose=verbose)
    if isinstance(cfg, Config):
        _print_table(result.run_dir)
    else:
        _print_fer_tables(result.tables)
    if result.skipped:
        err_console.print(
            f"[yellow]{len(result.skipped)} clip(s) skipped[/yellow] (listed in provenance.json and the report)"
        )
    console.print(f"\nrun directory: {result.run_dir}")
    if result.report is not None:
        console.print(f"report: {result.report}")


def _print_plan(cfg) -> None:
    """What `run --dry-run` shows: the run directory, the grid's size, what is cached."""
    from srmer.bench.cache import Cache
    from srmer.bench.config import Config
    from srmer.bench.runner import _plan

    plan = _plan(cfg)
    console.print(
        f"config is valid: {cfg.name} ({plan.get('experiment', 'grid')})", highlight=False
    )
    console.print(f"run directory: {cfg.output_dir}", highlight=False)
    cache = Cache(cfg.cache_dir).info() if Path(cfg.cache_dir).is_dir() else {}
    n = sum(d["entries"] for d in cache.values())
    console.print(
        f"cache: {cfg.cache_dir} ({n} entries already there)" if n else f"cache: {cfg.cache_dir}",
        highlight=False,
    )
    if isinstance(cfg, Config):
        from srmer.data import load

        for ds in cfg.datasets:
            ss = load(ds.name, ds.source, classes=ds.classes or "4class", **ds.options)
            console.print(
                f"dataset {ds.name}: {len(ss)} clips of {len(ss.subjects)} subjects, classes "
                f"{', '.join(ss.classes)}" + (f"; {len(ss.skipped)} skipped" if ss.skipped else ""),
                highlight=False,
            )
        settings, mers = plan["settings"], plan["mer"]
        console.print(
            f"{len(settings)} settings x {len(mers)} MER methods ({', '.join(mers)}) under "
            f"{plan['protocol']['name']}; main metric {plan['metric']}",
            highlight=False,
        )
        for sid in settings:
            console.print(f"  {sid}", highlight=False)
    else:
        for k, v in plan.items():
            console.print(f"{k}: {v}", highlight=False)
    console.print("dry run: nothing was written", style="dim")


@app.command(context_settings=CONTEXT)
def demo(
    which: Annotated[
        str,
        typer.Argument(
            metavar="[DEMO]",
            help="grid (Zhou et al.'s grid, configs/demo.yaml), composite (the MEGC 2019 "
            "composite protocol), cross_dataset (train on one database, test on another) or "
            "joint (SR trained for recognition against its pixel-loss twin).",
        ),
    ] = "grid",
    data: Annotated[
        Path, typer.Option(help="Where the synthetic data lives (generated if absent).")
    ] = DEMO_DATA,
    workers: WORKERS = None,
    quiet: QUIET = False,
    verbose: VERBOSE = False,
) -> None:
    """Generate the built-in synthetic data (if absent) and run a packaged demo config on it.

    Examples:

        srmer demo                 # configs/demo.yaml

        srmer demo composite       # configs/composite_demo.yaml

        srmer demo cross_dataset   # configs/cross_dataset_demo.yaml

        srmer demo joint           # configs/joint_demo.yaml
    """
    from srmer.bench.config import parse_config
    from srmer.bench.demo import DEMOS, demo_config, ensure_demo_data
    from srmer.bench.runner import run as run_benchmark

    quiet, verbose = _verbosity(quiet, verbose)
    cfg = parse_config(demo_config(which, data), DEMOS.get(which, which))
    ensure_demo_data(data, console=None if quiet else err_console, which=which)
    result = run_benchmark(cfg, workers=workers, quiet=quiet, verbose=verbose)
    _print_table(result.run_dir)
    console.print(f"\nreport: {result.run_dir / 'report' / 'report.html'}")


@app.command(context_settings=CONTEXT)
def report(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="A run directory written by `srmer run`.")
    ],
    metric: Annotated[
        str | None,
        typer.Option(
            help="Main metric: war, uar or uf1 (default: the config's report.metric; UF1 for "
            "the composite and cross-dataset protocols, WAR otherwise)."
        ),
    ] = None,
) -> None:
    """(Re)write the HTML, Markdown and LaTeX report of a run directory.

    Examples:

        srmer report runs/demo

        srmer report runs/composite_demo --metric uar
    """
    from srmer.bench.report import experiment_kind, write_report

    _must_exist(run_dir, "run directory", "give a folder written by `srmer run`")
    done = "table1.csv" if experiment_kind(run_dir) == "fsr_fer" else "results.csv"
    if not (run_dir / done).is_file():
        raise SrmerError(
            f"{run_dir} is not a run directory (no {done}); run `srmer run CONFIG` first"
        )
    if metric is not None and metric not in ("war", "uar", "uf1"):
        raise SrmerError(f"--metric {metric!r}: choose war, uar or uf1")
    path = write_report(run_dir, metric=metric)
    console.print(f"report: {path}")


@app.command(context_settings=CONTEXT)
def compare(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN_DIR...", help="Two or more run directories written by `srmer run`."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory for the merged results and report.")
    ] = Path("runs/compare"),
) -> None:
    """Merge several runs into one table and one report with paired comparisons.

    The runs must have tested the same clips under the same protocol (refused otherwise, with
    what differs). A cell whose predictions differ between runs is labelled with its run's name.

    Examples:

        srmer compare runs/edsr-a runs/edsr-b --output runs/edsr-a-vs-b
    """
    from srmer.bench.compare import compare_runs

    for d in run_dirs:
        _must_exist(d, "run directory", "give folders written by `srmer run`")
    path = compare_runs(run_dirs, output)
    console.print(f"report: {path}")


KINDS = {"dataset": "dataset", "degradation": "degradation", "arch": "SR architecture",
         "sr": "SR method", "mer": "MER method"}  # fmt: skip


@app.command(name="list", context_settings=CONTEXT)
def list_methods(
    what: Annotated[
        str | None,
        typer.Argument(
            metavar="[KIND|NAME]",
            help="A kind (dataset, degradation, arch, sr, mer) to list, or one method's name to "
            "describe with every option and its default.",
        ),
    ] = None,
) -> None:
    """List registered datasets, degradations, SR architectures, SR and MER methods with their options and defaults.

    SR architectures (`arch`) are what `srmer sr train ARCH` and `checkpoint:` files hold; SR
    methods (`sr`) are what a config's `sr:` list takes.

    Examples:

        srmer list

        srmer list mer

        srmer list lbptop
    """
    from srmer.registry import all_registries, describe_all, format_listing

    regs = all_registries()
    kinds = list(regs)
    if what is not None:
        key = what.lower()
        wanted = KINDS.get(key) or KINDS.get(key.rstrip("s"))
        if wanted is None:
            matches = [(k, r) for k, r in regs.items() if what in r.names()]
            if not matches:
                names = sorted({n for r in regs.values() for n in r.names()})
                raise SrmerError(
                    f"{what!r} is neither a kind nor a registered name; kinds: "
                    f"{', '.join(KINDS)} (`srmer list` shows every name)"
                    f"{did_you_mean(what, [*KINDS, *names])}"
                )
            for kind, reg in matches:
                console.print(_describe_one(reg, kind, what), markup=False, highlight=False)
            return
        kinds = [k for k in kinds if k == wanted]
    console.print(
        format_listing(describe_all(kinds=kinds, on_error="row")),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _describe_one(reg, kind: str, name: str) -> str:
    """One entry in full: description, every option with its default, the class's docstring."""
    import inspect

    from srmer.registry import REQUIRED

    row = reg.describe(name)
    lines = [f"{name} ({kind}): {row['description']}"]
    if row.get("support"):
        lines.append(f"  scales: {row['support']}")
    opts = row.get("options", {})
    if opts:
        lines.append("  options (default):")
        width = max(len(k) for k in opts)
        for k, v in opts.items():
            lines.append(f"    {k:<{width}}  {'(required)' if v is REQUIRED else repr(v)}")
    else:
        lines.append("  options: none")
    if row.get("more_options"):
        lines.append(
            "    ... and further options (training settings of networks, the options of a wrapped method; see its documentation)"
        )
    target = reg.get(name)
    if not (inspect.isclass(target) or inspect.isfunction(target)):
        # an architecture spec: its module's docstring describes the architecture
        import sys

        build = getattr(target, "build", None)
        target = sys.modules.get(getattr(build, "__module__", ""), None)
    doc = inspect.getdoc(target) or "" if target is not None else ""
    if doc:
        lines += ["", *[f"  {ln}" for ln in doc.splitlines()]]
    return "\n".join(lines)


@data_app.command("check", context_settings=CONTEXT)
def datasets_check(
    name: Annotated[
        str,
        typer.Argument(
            metavar="DATASET", help="Dataset name (casme2, samm, smic, casme3, rafdb, composite)."
        ),
    ],
    root: Annotated[
        list[str],
        typer.Argument(
            metavar="ROOT...",
            help="The dataset's root folder. composite: casme2=PATH samm=PATH smic=PATH, or one "
            "folder holding casme2/, samm/ and smic/.",
        ),
    ],
    clip_list: Annotated[
        Path | None,
        typer.Option(
            "--list",
            help="composite only: a clip list in the MEGC format (default: the official MEGC "
            "2019 list shipped with srmer).",
        ),
    ] = None,
) -> None:
    """Validate a dataset copy: counts per subject and class under each class map, and every problem found.

    The MEGC 2019 composite is checked against its list: found vs listed clips per dataset and class,
    the listed clips missing, and each source's own problems.

    Examples:

        srmer data check casme2 /data/CASME2

        srmer data check composite casme2=/data/CASME2 samm=/data/SAMM smic=/data/SMIC

        srmer data check composite data/synthetic/composite --list data/synthetic/composite/composite_3class_gt.csv
    """
    from srmer.data.check import check_dataset

    if clip_list is not None and name != "composite":
        raise SrmerError("--list is for the composite dataset only")
    options = {"list": clip_list} if clip_list is not None else {}
    rep = check_dataset(name, _check_root(name, root), **options)
    console.print(rep.render(), markup=False, highlight=False)


def _check_root(name: str, args: list[str]) -> Path | dict[str, Path]:
    """ROOT arguments of `data check` -> one folder, or the composite's ``{source: folder}``."""
    from srmer.data.composite import SOURCES
    from srmer.data.registry import MULTI_ROOT

    if name not in MULTI_ROOT:
        if len(args) != 1:
            raise SrmerError(
                f"data check {name} takes exactly one ROOT folder, got {len(args)} "
                f"({' '.join(args)}); only composite takes several (casme2=PATH samm=PATH smic=PATH)"
            )
        return Path(args[0])
    # `source=PATH` when the text before the first `=` names a source, so a folder whose name
    # holds `=` still reads as a folder
    pairs = [a.split("=", 1) for a in args]
    named = [p for p in pairs if len(p) == 2 and p[0].lower() in SOURCES]
    if not named:
        if len(args) != 1:
            raise SrmerError(
                f"data check {name}: give casme2=PATH samm=PATH smic=PATH or one folder holding "
                f"casme2/, samm/ and smic/, not {len(args)} folders"
            )
        return Path(args[0])
    if len(named) != len(args):
        other = [a for a, p in zip(args, pairs, strict=True) if p not in named]
        raise SrmerError(
            f"data check {name}: {' '.join(other)} is not SOURCE=PATH; give casme2=PATH "
            f"samm=PATH smic=PATH (or one folder holding casme2/, samm/ and smic/)"
        )
    roots: dict[str, Path] = {}
    for key, path in named:
        if key.lower() in roots:
            raise SrmerError(f"data check {name}: {key}= is given twice; give it once")
        roots[key.lower()] = Path(path)
    return roots


GENERATE_LAYOUTS = ("casme2", "samm", "smic", "casme3", "composite", "rafdb", "sr_pool")


@data_app.command("generate", context_settings=CONTEXT)
def data_generate(
    layout: Annotated[
        str,
        typer.Argument(
            metavar="LAYOUT",
            help="casme2, samm, smic, casme3 (micro-expression clips in that database's layout), "
            "composite (CASME II, SAMM and SMIC-HS layouts with their MEGC-format list), rafdb "
            "(static 7-class faces) or sr_pool (frames of identities for SR training).",
        ),
    ],
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Folder to write (must not exist).")],
    subjects: Annotated[
        int, typer.Option(help="Subjects (sr_pool: identities; composite: per database).")
    ] = 8,
    clips: Annotated[int, typer.Option(help="Clips per subject.")] = 8,
    frames: Annotated[
        int, typer.Option(help="Frames per clip, onset to offset (sr_pool: per identity).")
    ] = 16,
    size: Annotated[int, typer.Option(help="Face side in pixels (rafdb: 100).")] = 256,
    images: Annotated[int, typer.Option(help="rafdb only: training images per class.")] = 40,
    seed: Annotated[
        int, typer.Option(help="Random seed (the same seed writes the same data).")
    ] = 0,
    moving: Annotated[
        bool,
        typer.Option(
            help="sr_pool only: each identity's frames form one onset-apex-offset clip (for the "
            "motion loss of SR trained for recognition)."
        ),
    ] = False,
) -> None:
    """Write a synthetic dataset in an official layout (the data `srmer demo` uses; docs/synthetic.md).

    Examples:

        srmer data generate casme2 data/my_casme2 --subjects 10 --clips 8

        srmer data generate composite data/my_composite --subjects 4

        srmer data generate sr_pool data/my_pool --subjects 12 --frames 12

        srmer data generate sr_pool data/moving_pool --moving --size 128
    """
    from srmer.data import synthetic

    if layout not in GENERATE_LAYOUTS:
        raise SrmerError(
            f"unknown layout {layout!r}; choose one of: {', '.join(GENERATE_LAYOUTS)}"
            f"{did_you_mean(layout, GENERATE_LAYOUTS)}"
        )
    if out.exists() and any(out.iterdir()):
        raise SrmerError(f"{out} already exists and is not empty; give a new folder")
    if moving and layout != "sr_pool":
        raise SrmerError("--moving is for the sr_pool layout only")
    if layout == "composite":
        root = synthetic.generate_composite(
            out, n_subjects=subjects, clips_per_subject=clips, n_frames=frames, size=size, seed=seed
        )
    elif layout == "rafdb":
        root = synthetic.generate_static(
            out, n_train_per_class=images, size=size if size != 256 else 100, seed=seed
        )
    elif layout == "sr_pool":
        root = synthetic.generate_sr_pool(
            out,
            n_identities=subjects,
            frames_per_identity=frames,
            size=size,
            seed=seed,
            moving=moving,
        )
    else:
        root = synthetic.generate(
            out,
            n_subjects=subjects,
            clips_per_subject=clips,
            n_frames=frames,
            size=size,
            seed=seed,
            layout=layout,
        )
    console.print(f"wrote {layout} to {root}", highlight=False)


def _must_exist(path: Path, what: str, fix: str) -> None:
    if not path.exists():
        raise SrmerError(f"{what} {path} does not exist; {fix}")


@cache_app.command("info", context_settings=CONTEXT)
def cache_info(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="CACHE", help="Cache folder (a run's cache/ or the config's `cache:`)."
        ),
    ],
) -> None:
    """Entries and size per stage.

    Examples:

        srmer cache info runs/demo/cache
    """
    from rich.table import Table

    from srmer.bench.cache import Cache

    _must_exist(path, "cache folder", "give a run's cache/ folder or the config's `cache:`")
    info = Cache(path).info()
    t = Table("stage", "entries", "MiB", title=f"cache {path}")
    for stage, d in info.items():
        t.add_row(stage, str(d["entries"]), f"{d['bytes'] / 2**20:.1f}")
    console.print(t if info else f"cache {path} is empty")


@cache_app.command("clear", context_settings=CONTEXT)
def cache_clear(
    path: Annotated[Path, typer.Argument(metavar="CACHE", help="Cache folder.")],
    stage: Annotated[
        str | None,
        typer.Option(help="Only this stage (hr, lr, sr, repr, quality, fold, sr_models)."),
    ] = None,
) -> None:
    """Delete cached stage outputs (everything, or one stage).

    Examples:

        srmer cache clear runs/demo/cache --stage fold
    """
    from srmer.bench.cache import Cache

    _must_exist(path, "cache folder", "give a run's cache/ folder or the config's `cache:`")
    n = Cache(path).clear(stage)
    console.print(f"removed {n} entries")


@sr_app.command("train", context_settings=CONTEXT)
def sr_train(
    arch: Annotated[
        str,
        typer.Argument(
            metavar="ARCH",
            help="Architecture name (`srmer list arch`; e.g. edsr, rdn_psnr_small, esrgan).",
        ),
    ],
    data: Annotated[
        Path,
        typer.Argument(
            metavar="DATA",
            help="Folder of HR face images (e.g. data/synthetic/sr_pool), a .txt list or a .npy array. Never test subjects.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Checkpoint to write (BasicSR format); re-running resumes from it."
        ),
    ],
    scale: Annotated[int, typer.Option(help="Scale factor.")] = 4,
    steps: Annotated[int, typer.Option(help="L1 (pixel) pre-training steps.")] = 1000,
    gan_steps: Annotated[
        int, typer.Option(help="Perceptual + adversarial steps after pre-training (GAN recipes).")
    ] = 0,
    recipe: Annotated[
        str, typer.Option(help="psnr, srgan, esrgan, realesrgan, nesrganplus or glean.")
    ] = "psnr",
    hparams: Annotated[
        str | None, typer.Option(help="Architecture overrides as JSON, e.g. '{\"num_block\": 8}'.")
    ] = None,
    init: Annotated[
        Path | None, typer.Option(help="Start from this checkpoint (any supported format).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Patches per step.")] = 16,
    lr_patch: Annotated[int, typer.Option(help="LR patch side.")] = 24,
    degradation: Annotated[
        str, typer.Option(help="bicubic or realesrgan (second-order, for Real-ESRGAN).")
    ] = "bicubic",
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Train an SR model on HR faces: L1 pre-training, then perceptual and adversarial losses for GAN recipes.

    Examples:

        srmer sr train edsr data/synthetic/sr_pool runs/edsr_x4.pth --scale 4 --steps 2000

        srmer sr train esrgan data/synthetic/sr_pool runs/esrgan.pth --recipe esrgan --gan-steps 500
    """
    from srmer.sr.train import train_command

    _must_exist(data, "training data", "give a folder of HR face images, a .txt list or a .npy")
    path = train_command(
        arch,
        scale,
        str(data),
        str(out),
        steps=steps,
        gan_steps=gan_steps,
        recipe=recipe,
        hparams=hparams,
        init=str(init) if init else None,
        batch_size=batch_size,
        lr_patch=lr_patch,
        degradation=degradation,
        device=device,
        seed=seed,
    )
    console.print(f"checkpoint: {path}")


@sr_app.command("upscale", context_settings=CONTEXT)
def sr_upscale(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            metavar="CHECKPOINT",
            help="SR checkpoint (BasicSR, mmagic or EDSR-PyTorch format; architecture detected).",
        ),
    ],
    src: Annotated[
        Path,
        typer.Argument(
            metavar="SRC",
            help="An image, a folder of frames (a clip) or a .npy (T,H,W,3) or (H,W,3) uint8 "
            "array saved without pickling.",
        ),
    ],
    dst: Annotated[
        Path,
        typer.Argument(
            metavar="DST",
            help="For an image: an image file (.png .jpg .jpeg .bmp .tif .tiff .webp) or .npy; for "
            "a clip: a folder or .npy. Checked before any work.",
        ),
    ],
    tile: Annotated[
        int | None,
        typer.Option(help="Tile side for bounded memory on large inputs (overlapping tiles)."),
    ] = None,
    overlap: Annotated[int, typer.Option(help="Tile overlap in LR pixels.")] = 16,
    batch: Annotated[
        int,
        typer.Option(
            help="Frames per batch (one frame at a time when tiling frames larger than --tile)."
        ),
    ] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Super-resolve an image, a folder of frames or a clip with a checkpoint.

    Examples:

        srmer sr upscale RRDB_ESRGAN_x4.pth face_64.png face_256.png

        srmer sr upscale edsr_x4.pth clip_frames/ clip_sr/ --tile 128
    """
    from srmer.sr.infer import upscale_path

    written = upscale_path(
        str(checkpoint), str(src), str(dst), tile=tile, overlap=overlap, batch=batch, device=device
    )
    console.print(f"wrote {len(written)} file(s) to {dst}")


@fer_app.command("run", context_settings=CONTEXT)
def fer_run(
    config: Annotated[
        Path,
        typer.Argument(
            metavar="CONFIG",
            help="FSR-FER config (configs/fer_demo.yaml, configs/seed003_rafdb.yaml).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Run directory (re-running resumes from its cached models)."
        ),
    ],
) -> None:
    """Jing et al.'s FSR-FER experiment at x2..x8 (same as `srmer run CONFIG --output OUT`).

    Examples:

        srmer fer run configs/fer_demo.yaml runs/fer_demo
    """
    from srmer.bench.experiments.fsr_fer import run_fsr_fer

    tables = run_fsr_fer(str(config), str(out), on_stage=lambda s: err_console.log(s))
    _print_fer_tables(tables)
    console.print(f"\nrun directory: {out}")


def main_with(args: list[str]) -> int:
    """Run the CLI on ``args`` and return its exit status (for deprecated entry points)."""
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def main(args: list[str] | None = None) -> None:
    """Entry point: user errors print one clear message (no traceback) and exit with status 2."""
    try:
        app(args)
    except SrmerError as err:
        err_console.print(f"[bold red]error:[/bold red] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: finished work is cached; run the same command again to resume"
        )
        sys.exit(130)


if __name__ == "__main__":
    main()
