"""The ``srmer`` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from srmer.errors import SrmerError

app = typer.Typer(
    help="srmer: super-resolution for low-resolution facial micro-expression recognition.\n\n"
    "Benchmark grids of resolutions x SR methods x recognition methods under LOSO, with the papers' "
    "tables, statistics and figures. Start with `srmer demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="Inspect and validate datasets.", no_args_is_help=True)
cache_app = typer.Typer(help="Inspect or clear a run's stage cache.", no_args_is_help=True)
sr_app = typer.Typer(
    help="Train super-resolution models and upscale images or clips.", no_args_is_help=True
)
fer_app = typer.Typer(
    help="Static expression recognition with feature super-resolution (FSR-FER, Jing et al. 2020).",
    no_args_is_help=True,
)
app.add_typer(datasets_app, name="datasets")
app.add_typer(cache_app, name="cache")
app.add_typer(sr_app, name="sr")
app.add_typer(fer_app, name="fer")

console = Console(soft_wrap=True)  # paths and tables are never broken across lines
err_console = Console(stderr=True)

PACKAGE_CONFIGS = Path(__file__).parent / "configs"
DEMO_DATA = Path("data/synthetic")


def _print_table(run_dir: Path) -> None:
    import pandas as pd

    from srmer.bench.report import markdown_table, run_metric
    from srmer.bench.tables import METRIC_DISPLAY, panels

    results = pd.read_csv(run_dir / "results.csv")
    metric = run_metric(run_dir)
    for title, sel in panels(results):
        proto = sel.get("protocol") or (
            str(results["protocol"].iloc[0]) if "protocol" in results.columns else "loso"
        )
        console.print(f"\n[bold]{title}[/bold]: {METRIC_DISPLAY[metric]} ({proto})")
        console.print(markdown_table(results, metric=metric, **sel), markup=False, soft_wrap=True)


def _print_fer_tables(tables) -> None:
    from srmer.fer.evaluate import to_markdown

    for name, df in tables.items():
        console.print(f"\n[bold]{name}[/bold] (accuracy %, test split)")
        console.print(to_markdown(df, 1), markup=False)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (see configs/).")],
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: executor.workers or all cores).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Run an experiment config: a micro-expression grid (`experiment: grid`, the default) or FSR-FER (`experiment: fsr_fer`).

    Writes results, predictions, provenance and the report to the run directory. The whole config is
    checked before anything is written; a run that is interrupted resumes where it stopped when
    started again (stage outputs are cached); a second run on a directory in use is refused.
    """
    from srmer.bench.config import Config, load_config
    from srmer.bench.runner import run as run_experiment

    cfg = load_config(config)
    result = run_experiment(cfg, workers=workers, quiet=quiet)
    if isinstance(cfg, Config):
        _print_table(result.run_dir)
    else:
        _print_fer_tables(result.tables)
    if result.skipped:
        err_console.print(
            f"[yellow]{len(result.skipped)} clip(s) skipped[/yellow] (listed in provenance.json and the report)"
        )
    console.print(f"\nrun directory: {result.run_dir}")


@app.command()
def demo(
    which: Annotated[
        str,
        typer.Argument(
            help="grid (Zhou et al.'s grid, configs/demo.yaml), composite (the MEGC 2019 "
            "composite protocol) or cross_dataset (train on one database, test on another)."
        ),
    ] = "grid",
    data: Annotated[
        Path, typer.Option(help="Where the synthetic data lives (generated if absent).")
    ] = DEMO_DATA,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: all cores).")
    ] = None,
) -> None:
    """Generate the built-in synthetic data (if absent) and run a packaged demo config on it.

    Examples:

        srmer demo                 # configs/demo.yaml

        srmer demo composite       # configs/composite_demo.yaml

        srmer demo cross_dataset   # configs/cross_dataset_demo.yaml
    """
    from srmer.bench.config import parse_config
    from srmer.bench.demo import DEMOS, demo_config, ensure_demo_data
    from srmer.bench.runner import run as run_benchmark

    cfg = parse_config(demo_config(which, data), DEMOS.get(which, which))
    ensure_demo_data(data, console=err_console, which=which)
    result = run_benchmark(cfg, workers=workers)
    _print_table(result.run_dir)
    console.print(f"\nreport: {result.run_dir / 'report' / 'report.html'}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `srmer run`.")],
    metric: Annotated[
        str | None,
        typer.Option(
            help="Main metric: war, uar or uf1 (default: the config's report.metric; UF1 for "
            "the composite and cross-dataset protocols, WAR otherwise)."
        ),
    ] = None,
) -> None:
    """(Re)write the HTML, Markdown and LaTeX report of a run directory."""
    from srmer.bench.report import experiment_kind, write_report

    done = "table1.csv" if experiment_kind(run_dir) == "fsr_fer" else "results.csv"
    if not (run_dir / done).is_file():
        raise SrmerError(
            f"{run_dir} is not a run directory (no {done}); run `srmer run CONFIG` first"
        )
    if metric is not None and metric not in ("war", "uar", "uf1"):
        raise SrmerError(f"--metric {metric!r}: choose war, uar or uf1")
    path = write_report(run_dir, metric=metric)
    console.print(f"report: {path}")


@app.command()
def compare(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Two or more run directories written by `srmer run`.")
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

    path = compare_runs(run_dirs, output)
    console.print(f"report: {path}")


@app.command(name="list")
def list_methods(
    kind: Annotated[
        str | None,
        typer.Argument(help="Only one kind: dataset, degradation, arch, sr or mer."),
    ] = None,
) -> None:
    """List registered datasets, degradations, SR architectures, SR and MER methods with their options and defaults."""
    from srmer.registry import all_registries, describe_all, format_listing

    kinds = list(all_registries())
    if kind is not None:
        # short forms: `dataset`, `degradation`, `arch`, `sr`, `mer`
        aliases = {"arch": "SR architecture", "sr": "SR method", "mer": "MER method"}
        wanted = aliases.get(kind.lower(), kind).lower().rstrip("s")
        kinds = [k for k in kinds if k.lower() == wanted]
        if not kinds:
            raise SrmerError(
                f"unknown kind {kind!r}; choose one of: dataset, degradation, arch, sr, mer"
            )
    console.print(
        format_listing(describe_all(kinds=kinds, on_error="row")),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@datasets_app.command("check")
def datasets_check(
    name: Annotated[
        str, typer.Argument(help="Dataset name (casme2, samm, smic, casme3, rafdb, composite).")
    ],
    root: Annotated[
        list[str],
        typer.Argument(
            help="The dataset's root folder. composite: casme2=PATH samm=PATH smic=PATH, or one "
            "folder holding casme2/, samm/ and smic/."
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

        srmer datasets check casme2 /data/CASME2

        srmer datasets check composite casme2=/data/CASME2 samm=/data/SAMM smic=/data/SMIC

        srmer datasets check composite data/synthetic/composite --list data/synthetic/composite/composite_3class_gt.csv
    """
    from srmer.data.check import check_dataset

    if clip_list is not None and name != "composite":
        raise SrmerError("--list is for the composite dataset only")
    options = {"list": clip_list} if clip_list is not None else {}
    rep = check_dataset(name, _check_root(name, root), **options)
    console.print(rep.render(), markup=False, highlight=False)


def _check_root(name: str, args: list[str]) -> Path | dict[str, Path]:
    """ROOT arguments of `datasets check` -> one folder, or the composite's ``{source: folder}``."""
    from srmer.data.composite import SOURCES
    from srmer.data.registry import MULTI_ROOT

    if name not in MULTI_ROOT:
        if len(args) != 1:
            raise SrmerError(
                f"datasets check {name} takes exactly one ROOT folder, got {len(args)} "
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
                f"datasets check {name}: give casme2=PATH samm=PATH smic=PATH or one folder holding "
                f"casme2/, samm/ and smic/, not {len(args)} folders"
            )
        return Path(args[0])
    if len(named) != len(args):
        other = [a for a, p in zip(args, pairs, strict=True) if p not in named]
        raise SrmerError(
            f"datasets check {name}: {' '.join(other)} is not SOURCE=PATH; give casme2=PATH "
            f"samm=PATH smic=PATH (or one folder holding casme2/, samm/ and smic/)"
        )
    roots: dict[str, Path] = {}
    for key, path in named:
        if key.lower() in roots:
            raise SrmerError(f"datasets check {name}: {key}= is given twice; give it once")
        roots[key.lower()] = Path(path)
    return roots


@cache_app.command("info")
def cache_info(
    path: Annotated[
        Path, typer.Argument(help="Cache folder (a run's cache/ or the config's `cache:`).")
    ],
) -> None:
    """Entries and size per stage."""
    from rich.table import Table

    from srmer.bench.cache import Cache

    info = Cache(path).info()
    t = Table("stage", "entries", "MiB", title=f"cache {path}")
    for stage, d in info.items():
        t.add_row(stage, str(d["entries"]), f"{d['bytes'] / 2**20:.1f}")
    console.print(t if info else f"cache {path} is empty")


@cache_app.command("clear")
def cache_clear(
    path: Annotated[Path, typer.Argument(help="Cache folder.")],
    stage: Annotated[
        str | None,
        typer.Option(help="Only this stage (hr, lr, sr, repr, quality, fold, sr_models)."),
    ] = None,
) -> None:
    """Delete cached stage outputs (everything, or one stage)."""
    from srmer.bench.cache import Cache

    n = Cache(path).clear(stage)
    console.print(f"removed {n} entries")


@sr_app.command("train")
def sr_train(
    arch: Annotated[
        str,
        typer.Argument(
            help="Architecture name (see `srmer list`; e.g. edsr, rdn_psnr_small, esrgan)."
        ),
    ],
    data: Annotated[
        Path,
        typer.Argument(
            help="Folder of HR face images (e.g. data/synthetic/sr_pool), a .txt list or a .npy array. Never test subjects."
        ),
    ],
    out: Annotated[
        Path,
        typer.Argument(help="Checkpoint to write (BasicSR format); re-running resumes from it."),
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
    """Train an SR model on HR faces: L1 pre-training, then perceptual and adversarial losses for GAN recipes."""
    from srmer.sr.train import train_command

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


@sr_app.command("upscale")
def sr_upscale(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            help="SR checkpoint (BasicSR, mmagic or EDSR-PyTorch format; architecture detected)."
        ),
    ],
    src: Annotated[
        Path,
        typer.Argument(
            help="An image, a folder of frames (a clip) or a .npy clip (T,H,W,3) uint8."
        ),
    ],
    dst: Annotated[Path, typer.Argument(help="Output image, folder or .npy.")],
    tile: Annotated[
        int | None,
        typer.Option(help="Tile side for bounded memory on large inputs (overlapping tiles)."),
    ] = None,
    overlap: Annotated[int, typer.Option(help="Tile overlap in LR pixels.")] = 16,
    batch: Annotated[int, typer.Option(help="Frames per batch.")] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Super-resolve an image, a folder of frames or a clip with a checkpoint."""
    from srmer.sr.infer import upscale_path

    written = upscale_path(
        str(checkpoint), str(src), str(dst), tile=tile, overlap=overlap, batch=batch, device=device
    )
    console.print(f"wrote {len(written)} file(s) to {dst}")


@fer_app.command("run")
def fer_run(
    config: Annotated[
        Path,
        typer.Argument(help="FSR-FER config (configs/fer_demo.yaml, configs/seed003_rafdb.yaml)."),
    ],
    out: Annotated[
        Path, typer.Argument(help="Run directory (re-running resumes from its cached models).")
    ],
) -> None:
    """Jing et al.'s FSR-FER experiment at x2..x8 (same as `srmer run CONFIG` with `output: OUT`)."""
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
