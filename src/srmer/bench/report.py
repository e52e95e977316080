"""The run report: one self-contained HTML page plus Markdown and LaTeX tables.

``write_report(run_dir)`` reads what ``srmer run`` wrote (``results.csv`` or ``.parquet``, and when
present ``predictions.csv``, ``quality.csv``, ``config.yaml``, ``provenance.json``) and writes
``run_dir/report/``:

* ``report.html`` — tables, figures (PNG embedded as base64) and provenance; inline CSS, no
  external resource, so the file can be mailed or archived alone;
* ``report.md`` — the same tables in GitHub Markdown, figures linked as PNG files;
* ``tables.tex`` — the tables as booktabs ``table`` environments (needs ``booktabs`` and ``xcolor``);
* ``*.png`` — every figure.

What is shown follows Zhou et al.: Tables II-IV (per dataset), Table V (PSNR/SSIM), Table VI
(three-factor ANOVA with letter groups), Fig. 4 (mean WAR per MER per SR), Fig. 5 (PSNR/SSIM vs
WAR), plus WAR-vs-resolution curves, confusion matrices and a Jing et al.-style summary table.
Anything the run cannot support (one level of a factor, no SR output, no predictions) is omitted
with a sentence saying why, never silently.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from srmer.bench import figures
from srmer.bench.statistics import StatsOptions, mean_interval, sr_comparisons
from srmer.bench.statistics import panels as stat_panels_of
from srmer.bench.tables import (
    DATASET_DISPLAY,
    METRIC_DISPLAY,
    SR_DISPLAY,
    TASK_KEYS,
    StyledTable,
    anova_table,
    check_results,
    comparison_table,
    cross_dataset_matrix,
    cross_dataset_table,
    display,
    frame_table,
    hr_size,
    megc_table,
    panels,
    power_statement,
    quality_frame,
    quality_table,
    reference_mask,
    select,
    sr_mer_table,
    summary_table,
    task_title,
    to_html,
    to_latex,
    to_markdown,
)
from srmer.errors import SrmerError

__all__ = ["RunData", "anova_subset", "load_run", "markdown_table", "write_report"]


@dataclass
class RunData:
    """Everything a report reads from a run directory (optional parts may be None / empty)."""

    run_dir: Path
    results: pd.DataFrame
    predictions: pd.DataFrame | None = None
    quality: pd.DataFrame | None = None
    #: metrics of each results row per source database (composite, leave-one-dataset-out)
    by_dataset: pd.DataFrame | None = None
    config_text: str = ""
    provenance: dict = field(default_factory=dict)


def experiment_kind(run_dir: str | Path) -> str:
    """``"grid"`` or ``"fsr_fer"``: the experiment kind recorded in a run directory's ``plan.json``."""
    plan = Path(run_dir) / "plan.json"
    try:
        kind = json.loads(plan.read_text()).get("experiment", "grid")
    except (OSError, ValueError, AttributeError):
        kind = "grid"  # run directories written before experiment kinds existed are grids
    return str(kind)


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory written by ``srmer run``.

    Raises
    ------
    srmer.errors.SrmerError
        ``run_dir`` does not exist, has no results table, or a file is unreadable.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise SrmerError(
            f"run directory {run_dir} does not exist (give the folder `srmer run` printed)"
        )
    csv, pq = run_dir / "results.csv", run_dir / "results.parquet"
    try:
        if csv.is_file():
            results = pd.read_csv(csv)
        elif pq.is_file():
            results = pd.read_parquet(pq)
        else:
            raise SrmerError(
                f"{run_dir}: no results.csv or results.parquet; the run did not finish its "
                "metrics stage (run `srmer run CONFIG` again: finished work is cached)"
            )
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise SrmerError(
            f"{csv if csv.exists() else pq}: cannot read ({e}); re-run `srmer run`"
        ) from e
    check_results(results, str(csv))
    results["resolution"] = results["resolution"].astype(int)
    for c in ("dataset", "sr", "mer"):
        results[c] = results[c].astype(str)

    def _opt_csv(name: str) -> pd.DataFrame | None:
        p = run_dir / name
        if not p.is_file():
            return None
        try:
            df = pd.read_csv(p)
        except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
        return df if not df.empty else None

    prov: dict = {}
    pj = run_dir / "provenance.json"
    if pj.is_file():
        try:
            prov = json.loads(pj.read_text())
        except (OSError, ValueError):
            prov = {"error": f"{pj} is not valid JSON"}
    cfg = run_dir / "config.yaml"
    return RunData(
        run_dir=run_dir,
        results=results,
        predictions=_opt_csv("predictions.csv"),
        quality=_opt_csv("quality.csv"),
        by_dataset=_opt_csv("results_by_dataset.csv"),
        config_text=cfg.read_text(errors="replace") if cfg.is_file() else "",
        provenance=prov if isinstance(prov, dict) else {},
    )


def markdown_table(
    results_df: pd.DataFrame,
    dataset: str,
    metric: str = "war",
    *,
    degradation: str | None = None,
    class_map: str | None = None,
    **task: str | None,
) -> str:
    """Zhou et al. Table II-shaped Markdown table of one dataset.

    Parameters
    ----------
    results_df : pandas.DataFrame
        ``results.csv`` of a run (dataset, resolution, sr, mer, ``metric``; optional setting).
    dataset : str
        Value of the ``dataset`` column.
    metric : {"war", "uar", "uf1"}, default "war"
    degradation, class_map : str, optional
        Needed only when the results mix several for this dataset.
    **task : str, optional
        ``protocol``, ``train_datasets``, ``test_dataset``: needed only when the results hold
        several protocol tasks for this dataset (cross-dataset pairs).

    Returns
    -------
    str
        GitHub Markdown: a header row ``SR method | Resolution | <MER methods> | Avg.``, one row per
        setting (reference first, then per resolution the LR row and the SR rows) and an ``Avg.``
        row. Best per row ``<u>underlined</u>``, best average MER **bold**, best SR strategy per
        resolution marked ``†``.
    """
    t = sr_mer_table(
        results_df, dataset, metric, degradation=degradation, class_map=class_map, **task
    )
    return to_markdown(t)


def anova_subset(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Rows of one dataset that enter Table VI, and a note on what was left out.

    The HR reference is left out (it has no resolution x SR structure). The LR rows (SR ``none``)
    stay in: with them, Zhou et al.'s published Table VI means and SR p-value are reproduced from its
    Tables II-IV. SR methods that were not run at every resolution (e.g. video SR only at 64) are
    left out so the design stays a full grid, as in the paper.
    """
    d = df[~reference_mask(df)]
    res_all = set(d["resolution"].astype(int))
    cover = d.groupby(d["sr"].astype(str))["resolution"].apply(lambda s: set(s.astype(int)))
    full = [s for s, rs in cover.items() if rs == res_all]
    dropped = sorted(set(cover.index) - set(full))
    d = d[d["sr"].astype(str).isin(full)]
    note = ""
    if dropped:
        note = "SR methods not run at every resolution left out: " + ", ".join(
            display(s, SR_DISPLAY) for s in dropped
        )
    return d, note


def _anovas(results: pd.DataFrame, metric: str, posthoc: str) -> tuple[dict, list[str]]:
    from srmer.eval.stats import three_factor_anova

    out, notes = {}, []
    for title, sel in panels(results):
        df = select(results, **sel)
        sub, note = anova_subset(df)
        levels = {f: sub[f].nunique() for f in ("resolution", "sr", "mer")}
        keep = [f for f, n in levels.items() if n >= 2]
        few = {f: n for f, n in levels.items() if n < 2}
        if not keep:
            notes.append(
                f"{title}: omitted — the ANOVA needs at least two levels of a factor; this grid has "
                + ", ".join(f"{n} {f} level{'s' if n != 1 else ''}" for f, n in few.items())
                + (f" ({note})" if note else "")
                + "."
            )
            continue
        try:
            out[title] = three_factor_anova(sub, response=metric, factors=keep, posthoc=posthoc)
        except SrmerError as e:
            notes.append(f"{title}: omitted — {e}.")
            continue
        if few:
            notes.append(
                f"{title}: "
                + ", ".join(f"{f} has a single level ({sub[f].iloc[0]})" for f in few)
                + " in this grid, so the model has only the other factor(s); the full three-factor "
                "analysis needs at least two levels of each."
            )
        if note:
            notes.append(f"{title}: {note}.")
    return out, notes


# ------------------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
 color:#1d2330;background:#fff;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:1.7em;margin:0 0 4px} h2{margin-top:2.2em;border-bottom:2px solid #d9dee8;
 padding-bottom:4px} h3{margin-top:1.6em}
.meta{color:#555;font-size:.92em} .note{color:#444;font-size:.93em;max-width:900px}
.omit{background:#fff7e0;border-left:4px solid #e0a800;padding:6px 10px;font-size:.92em}
nav ul{columns:2;font-size:.92em}
figure{margin:14px 0 22px} figure.table{overflow-x:auto}
table{border-collapse:collapse;font-size:.86em;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;padding:4px 0 8px;font-size:1.02em}
th,td{padding:3px 9px;text-align:right;white-space:nowrap}
thead th{border-bottom:1px solid #444;background:#f3f5f9} thead tr:first-child th{border-top:2px solid #222}
th.group{text-align:center;border-bottom:1px solid #999}
td.stub,th.stub{text-align:left;color:#222} tbody tr:last-child td{border-bottom:2px solid #222}
tr.rule td{border-top:1px solid #999}
tbody tr:hover td{background:#f6f8fc}
td.red{color:#c00000} td.blue{color:#0645ad}
.legend{font-size:.85em;color:#444;margin-top:6px;max-width:900px}
img{max-width:100%;height:auto;border:1px solid #e3e6ec}
pre{background:#f6f8fa;padding:10px;overflow-x:auto;font-size:.85em;max-height:420px}
table.kv td{text-align:left} table.kv tr:last-child td{border-bottom:none} table.kv td:first-child{color:#555;padding-right:18px}
details summary{cursor:pointer;color:#0645ad;margin:6px 0}
"""


def _img(png: bytes, alt: str, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        f'<figcaption class="legend">{html.escape(caption)}</figcaption></figure>'
    )


def _p(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{html.escape(text)}</p>'


def _kv_table(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in pairs)
    return f'<table class="kv">{rows}</table>'


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-") or "x"


def _best_cell(df: pd.DataFrame, metric: str) -> pd.Series | None:
    d = df[~reference_mask(df)].dropna(subset=[metric])
    if d.empty:
        return None
    return d.sort_values([metric, "resolution"], ascending=[False, False]).iloc[0]


def _preds_for(
    pred: pd.DataFrame | None,
    dataset: str,
    resolution: int,
    sr: str,
    mer: str,
    task: dict[str, str | None] | None = None,
) -> pd.DataFrame | None:
    if pred is None or not {"dataset", "resolution", "sr", "mer", "y_true", "y_pred"} <= set(
        pred.columns
    ):
        return None
    m = (
        (pred["dataset"].astype(str) == str(dataset))
        & (pred["resolution"].astype(int) == int(resolution))
        & (pred["sr"].astype(str) == str(sr))
        & (pred["mer"].astype(str) == str(mer))
    )
    for k, v in (task or {}).items():
        if v is not None and k in pred.columns:
            m &= pred[k].astype(str) == str(v)
    sub = pred[m]
    return sub if not sub.empty else None


def run_metric(run_dir: str | Path) -> str:
    """The main metric a run's config chose (``plan.json``), ``war`` for runs that name none."""
    try:
        metric = json.loads((Path(run_dir) / "plan.json").read_text()).get("metric", "war")
    except (OSError, ValueError, AttributeError):
        metric = "war"
    return metric if metric in ("war", "uar", "uf1") else "war"


def write_report(
    run_dir: str | Path,
    metric: str | None = None,
    posthoc: str = "tukey",
    out_dir: str | Path | None = None,
) -> Path:
    """Write ``report.html``, ``report.md``, ``tables.tex`` and figure PNGs for a run.

    Parameters
    ----------
    run_dir : str or pathlib.Path
        Run directory written by ``srmer run`` (needs ``results.csv`` or ``results.parquet``).
    metric : {"war", "uar", "uf1"}, optional
        Metric of the main tables, ANOVA and figures (the other two are shown in collapsed tables);
        default: the config's ``report.metric`` (UF1 under MEGC's protocols, else WAR).
    posthoc : {"tukey", "lsd"}, default "tukey"
        Pairwise test behind Table VI's letters (see :func:`srmer.eval.stats.three_factor_anova`).
    out_dir : str or pathlib.Path, optional
        Where to write; default ``run_dir/report``.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.
    """
    if experiment_kind(run_dir) == "fsr_fer":
        from srmer.bench.experiments.fsr_fer import read_fer_run, write_fer_report

        tables, summary = read_fer_run(run_dir)
        return write_fer_report(
            Path(out_dir) if out_dir else Path(run_dir) / "report",
            tables,
            summary,
            curves=Path(run_dir) / "loss_curves.png",
        )
    run = load_run(run_dir)
    res = run.results
    metric = metric or run_metric(run_dir)
    if metric not in res.columns:
        raise SrmerError(
            f"{run.run_dir}/results.csv has no {metric!r} column (have {list(res.columns)})"
        )
    out = Path(out_dir) if out_dir is not None else run.run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    other_metrics = [m for m in ("war", "uar", "uf1") if m != metric and m in res.columns]
    hr = hr_size(res)
    name = _run_name(run)

    body: list[str] = []  # HTML sections
    md: list[str] = [f"# srmer report: {name}", ""]
    tex: list[str] = [
        f"% srmer report tables for run {name}",
        "% needs \\usepackage{booktabs} and \\usepackage{xcolor}",
        "",
    ]
    toc: list[tuple[str, str]] = []
    pngs: dict[str, bytes] = {}

    def add_table(t: StyledTable, number: str, anchor: str) -> None:
        body.append(to_html(t, number).replace(f'id="{html.escape(t.label)}"', f'id="{anchor}"', 1))
        legend = t.legend.replace("Red:", "†, red in the HTML report:").replace(
            "Blue:", "Blue in the HTML report:"
        )
        md.extend([f"**{number}** {t.caption}", "", to_markdown(t), ""])
        if legend:
            md.extend([f"_{legend}_", ""])
        tex.extend([to_latex(t), ""])

    def add_fig(png: bytes | None, key: str, alt: str, caption: str, why_not: str) -> None:
        if png is None:
            body.append(_p(why_not, "omit"))
            md.extend([f"_{why_not}_", ""])
            return
        fname = f"{key}.png"
        pngs[fname] = png
        body.append(_img(png, alt, caption))
        md.extend([f"![{alt}]({fname})", "", f"_{caption}_", ""])

    quality_all = quality_frame(res, run.quality)
    cfg = _config(run)
    opts = StatsOptions.from_config(cfg)
    rep_cfg = cfg.get("report") if isinstance(cfg.get("report"), dict) else {}
    show_ci = bool(rep_cfg.get("intervals", False))
    stat_panels = list(stat_panels_of(run.predictions, opts)) if run.predictions is not None else []
    table_no = 1
    if "protocol" in res.columns and (res["protocol"].astype(str) == "cross_dataset").any():
        toc.append(("cross-dataset", "Cross-dataset matrices"))
        body.append('<h2 id="cross-dataset">Cross-dataset matrices</h2>')
        md.extend(["## Cross-dataset matrices", ""])
        cross = res[res["protocol"].astype(str) == "cross_dataset"]
        for pool in dict.fromkeys(cross["dataset"].astype(str)):
            # the literal matrix at the HR reference (or the first setting), then every setting
            part = cross[cross["dataset"].astype(str) == pool]
            ref = part[reference_mask(part)]
            first = (ref if not ref.empty else part).iloc[0]
            add_table(
                cross_dataset_matrix(
                    res, pool, int(first["resolution"]), str(first["sr"]), metric=metric
                ),
                f"Table {table_no}.",
                f"cross-{_slug(pool)}-matrix",
            )
            table_no += 1
            for m in dict.fromkeys([metric, *(x for x in ("uf1", "uar") if x != metric)]):
                add_table(
                    cross_dataset_table(res, pool, metric=m),
                    f"Table {table_no}.",
                    f"cross-{_slug(pool)}-{m}",
                )
                table_no += 1
    for title, sel in panels(res):
        df = select(res, **sel)
        anchor = _slug(title)
        toc.append((anchor, title))
        body.append(f'<h2 id="{anchor}">{html.escape(title)}</h2>')
        md.extend([f"## {title}", ""])
        n_clips = (
            int(df["n_clips"].max())
            if "n_clips" in df.columns and df["n_clips"].notna().any()
            else None
        )
        intro = (
            f"{df['mer'].nunique()} MER method(s) x {len(df[['resolution', 'sr']].drop_duplicates())} "
            f"(resolution, SR) settings"
            + (f", {n_clips} test clips" if n_clips else "")
            + f", protocol {_protocol_text(df)}"
            + f". {mname}: {_METRIC_MEANING.get(metric, metric)}."
        )
        body.append(_p(intro))
        t = sr_mer_table(res, metric=metric, intervals=show_ci, **sel)
        add_table(t, f"Table {table_no}.", f"{anchor}-{metric}")
        table_no += 1
        task = {k: sel.get(k) for k in TASK_KEYS if k in sel}
        if run.by_dataset is not None and not _panel_rows(run.by_dataset, sel).empty:
            megc_metrics = ["uf1", "uar", "war"]
            add_table(
                megc_table(
                    res,
                    run.by_dataset,
                    metrics=megc_metrics,
                    **sel,
                ),
                f"Table {table_no}.",
                f"{anchor}-megc",
            )
            table_no += 1
        for om in other_metrics:
            t2 = sr_mer_table(res, metric=om, **sel)
            body.append(f"<details><summary>Same table for {METRIC_DISPLAY.get(om, om)}</summary>")
            body.append(to_html(t2, ""))
            body.append("</details>")
            md.extend(
                [
                    f"<details><summary>{METRIC_DISPLAY.get(om, om)}</summary>",
                    "",
                    to_markdown(t2),
                    "",
                    "</details>",
                    "",
                ]
            )
            tex.extend([to_latex(t2), ""])
        st = summary_table(res, metric=metric, **sel)
        if len(st.columns) > 2 or len(st.rows) > 1:
            add_table(st, f"Table {table_no}.", f"{anchor}-summary")
            table_no += 1

        key = _slug(
            sel["dataset"] + "-" + "-".join(v for k, v in sel.items() if k != "dataset" and v)
        )
        body.append("<h3>Average per MER and SR method (Fig. 4 of Zhou et al.)</h3>")
        add_fig(
            figures.avg_per_mer_sr(
                df,
                metric,
                title=f"{title}: mean {mname} over resolutions",
                intervals=_bar_intervals(_stat_panel(stat_panels, sel), df, metric, opts.level),
            ),
            f"fig4_{key}",
            f"bar chart of mean {mname} per MER and SR method on {title}",
            f"Bars: mean {mname} of each MER method under each SR method, averaged over the input "
            "resolutions at which that SR method was run (a method run at one resolution only, "
            "e.g. video SR at 64, is therefore not comparable with the others). Black dashed tick "
            "across each bar: that MER method's own score at the HR reference, so a bar above "
            "its tick beats HR for that method. Error bars: subject-bootstrap interval of each "
            "mean (the same subject resamples for every cell).",
            "No low-resolution rows: nothing to average.",
        )
        body.append(f"<h3>{mname} against input resolution</h3>")
        add_fig(
            figures.metric_vs_resolution(
                df, metric, title=f"{title}: {mname} against input resolution"
            ),
            f"curves_{key}",
            f"{mname} against resolution per MER method on {title}",
            "One panel per MER method; one line per SR method (dotted: recognise the LR clip "
            "itself); dashed: the same MER method at the HR reference. x axis on a log scale.",
            "No low-resolution rows: no curve to draw.",
        )
        body.append(f"<h3>Reconstruction quality against {mname} (Fig. 5 of Zhou et al.)</h3>")
        qd = quality_all[quality_all["dataset"].astype(str) == sel["dataset"]]
        if qd.empty:  # a pool of several datasets: the rows carry the mean quality of their clips
            qd = quality_frame(df, None)
        png, rr = figures.quality_vs_metric(df, qd, metric, title=f"{title}")
        r_txt = "; ".join(
            f"r({k.upper()}, {mname}) = {v:.2f}" for k, v in rr.items() if np.isfinite(v)
        )
        add_fig(
            png,
            f"fig5_{key}",
            f"PSNR and SSIM against {mname} on {title}",
            "Each point is one SR setting (method x resolution) and MER method; r is the Pearson "
            f"correlation between the quality measure and {mname} (per MER method in the legend)."
            + (f" Over all points: {r_txt}." if r_txt else ""),
            "Fewer than three SR settings with PSNR/SSIM: no correlation to show.",
        )
        body.append("<h3>Confusion matrices</h3>")
        best = _best_cell(df, metric)
        if best is None:
            add_fig(None, "", "", "", "No low-resolution result to pick a best setting from.")
        else:
            b_res, b_sr, b_mer = int(best["resolution"]), str(best["sr"]), str(best["mer"])
            cm_panels = [(f"best: {figures.setting_title(b_res, b_sr, b_mer, hr)}",
                          _preds_for(run.predictions, sel["dataset"], b_res, b_sr, b_mer, task))]  # fmt: skip
            ref = df[reference_mask(df) & (df["mer"] == b_mer)]
            if not ref.empty:
                r_res = int(ref["resolution"].iloc[0])
                cm_panels.append((f"HR reference: {figures.setting_title(r_res, 'none', b_mer, hr, reference=True)}",
                                  _preds_for(run.predictions, sel["dataset"], r_res, "none", b_mer, task)))  # fmt: skip
            add_fig(
                figures.confusion(cm_panels, title=f"{title}"),
                f"confusion_{key}",
                f"confusion matrices on {title}",
                f"Rows: true class, columns: predicted class; colour and first number: fraction of the "
                f"true class (row), in brackets: clip count. Left: the setting with the highest {mname}; "
                "right: the same MER method at the HR reference.",
                "No predictions.csv rows for these settings: confusion matrices omitted.",
            )

    # Table V
    toc.append(("quality", "Reconstruction quality (Table V)"))
    body.append('<h2 id="quality">Reconstruction quality (Table V of Zhou et al.)</h2>')
    md.extend(["## Reconstruction quality (Table V)", ""])
    qt = quality_table(quality_all, hr)
    if qt is None:
        msg = "No SR setting produced PSNR/SSIM numbers (only SR 'none' rows in this run)."
        body.append(_p(msg, "omit"))
        md.extend([f"_{msg}_", ""])
    else:
        add_table(qt, f"Table {table_no}.", "quality-table")
        table_no += 1

    # Table VI
    toc.append(("anova", "Three-factor ANOVA (Table VI)"))
    body.append('<h2 id="anova">Three-factor ANOVA (Table VI of Zhou et al.)</h2>')
    md.extend(["## Three-factor ANOVA (Table VI)", ""])
    explain = (
        f"Does the input resolution, the SR method or the MER method change {mname}? An additive "
        f"ANOVA {mname} ~ resolution + SR + MER over the low-resolution cells of each dataset (HR "
        "reference excluded; the LR rows count as SR level 'Bicubic (LR)'). Each level shows its "
        "mean and its letter group: levels that share a letter do not differ significantly "
        f"({'Tukey HSD' if posthoc == 'tukey' else 'Fisher LSD'}, alpha 0.05, on the ANOVA's "
        "residual mean square), and 'a' is the group with "
        "the highest mean. A factor whose p value is bold changes the score significantly."
    )
    body.append(_p(explain))
    md.extend([explain, ""])
    anovas, notes = _anovas(res, metric, posthoc)
    at = anova_table(anovas, hr)
    if at is not None:
        add_table(at, f"Table {table_no}.", "anova-table")
        table_no += 1
    for n in notes:
        body.append(_p(n, "omit" if "omitted" in n else "note"))
        md.extend([f"_{n}_", ""])

    # Does SR help?
    twins = _twins(cfg)
    toc.append(("sr-help", "Does SR help?"))
    body.append('<h2 id="sr-help">Does SR help?</h2>')
    md.extend(["## Does SR help?", ""])
    explain = (
        f"Each SR method against recognising the LR clip itself (none) and against bicubic "
        f"up-sampling, at the same resolution and MER method, on the same clips: the {mname} "
        f"difference with its paired subject-bootstrap {opts.level:.0%} interval, and "
        + (
            "the exact McNemar test on per-clip correctness"
            if metric == "war"
            else "the subject-level sign-flip permutation test"
        )
        + f", Holm-corrected over the comparisons of each table (alpha = {opts.alpha}). A "
        "difference is reliable when its interval excludes 0 and its corrected p value is below "
        "alpha; when none is, the power statement below says how large a difference the run "
        "could have detected. (srmer's documentation, docs/statistics.md, explains each test.)"
        + (
            " SR trained for recognition is also compared with its twin trained with the pixel "
            "loss alone (baseline " + ", ".join(f"{b} for {a}" for a, b in twins.items()) + ")."
            if twins
            else ""
        )
    )
    body.append(_p(explain))
    md.extend([explain, ""])
    refs = {
        (int(r), "none") for r in res.loc[reference_mask(res), "resolution"].astype(int).unique()
    }
    comps = (
        sr_comparisons(
            run.predictions, metric, opts, reference=refs, panels_=stat_panels, twins=twins
        )
        if run.predictions is not None
        else pd.DataFrame()
    )
    if comps.empty:
        msg = "No SR method ran beside `none` or `bicubic` at one resolution: nothing to compare."
        body.append(_p(msg, "omit"))
        md.extend([f"_{msg}_", ""])
    else:
        comps.to_csv(out / "comparisons.csv", index=False)
        for title, sel in panels(res):
            part = _panel_rows(comps, sel)
            if part.empty:
                continue
            add_table(
                comparison_table(part, title, metric, opts.alpha),
                f"Table {table_no}.",
                f"help-{_slug(title)}",
            )
            table_no += 1
            power = power_statement(part, metric)
            body.append(_p(power))
            md.extend([power, ""])

    # Per-clip model
    toc.append(("clip-model", "Per-clip model"))
    body.append('<h2 id="clip-model">Per-clip model of correctness</h2>')
    md.extend(["## Per-clip model of correctness", ""])
    for title, sel in panels(res):
        intro, model = _clip_model_parts(run.predictions, sel, refs)
        body.append(f"<h3>{html.escape(title)}</h3>")
        md.extend([f"### {title}", ""])
        body.append(_p(intro, "note" if model is not None else "omit"))
        md.extend([intro, ""])
        if model is None:
            continue
        add_table(
            frame_table(
                model.tests,
                f"Wald tests of each factor on {title}.",
                f"tab:{_slug(title)}-gee-tests",
            ),
            f"Table {table_no}.",
            f"gee-{_slug(title)}",
        )
        table_no += 1
        add_table(
            frame_table(
                model.coefficients, f"GEE coefficients on {title}.", f"tab:{_slug(title)}-gee"
            ),
            f"Table {table_no}.",
            f"gee-coef-{_slug(title)}",
        )
        table_no += 1

    # Provenance
    toc.append(("provenance", "Provenance"))
    body.append('<h2 id="provenance">Provenance</h2>')
    md.extend(["## Provenance", ""])
    body.append(_provenance_html(run))
    md.extend(_provenance_md(run))

    meta = _meta_pairs(run)
    head = (
        f"<h1>srmer benchmark report: {html.escape(name)}</h1>"
        f'<p class="meta">{html.escape(" · ".join(f"{k}: {v}" for k, v in meta))}</p>'
        + _p(
            "Micro-expression recognition on low-resolution faces with super-resolution. Rows of "
            "the main tables are (SR method, resolution) settings: m×m recognises the "
            f"down-sampled clip itself, mto{hr or 256} super-resolves it back first, "
            f"{hr or 256}×{hr or 256} is the full-resolution reference. Main metric: {mname}."
        )
        + "<nav><b>Contents</b><ul>"
        + "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in toc)
        + "</ul></nav>"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>srmer report: {html.escape(name)}</title><style>{_CSS}</style></head>"
        f"<body><main>{head}{''.join(body)}"
        f'<p class="meta">Generated by srmer on {_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}.</p>'
        "</main></body></html>\n"
    )
    for fname, png in pngs.items():
        (out / fname).write_bytes(png)
    html_path = out / "report.html"
    _atomic_write(html_path, page)
    _atomic_write(out / "report.md", "\n".join(md) + "\n")
    _atomic_write(out / "tables.tex", "\n".join(tex) + "\n")
    return html_path


def _stat_panel(stat_panels: list, sel: dict[str, str | None]):
    """The statistics panel (pool x protocol task) of a report panel, or None."""
    for p in stat_panels:
        if all(
            sel.get(k) is None or str(sel[k]) == p.key.get(k, str(sel[k]))
            for k in ("dataset", *TASK_KEYS)
        ):
            return p
    return None


def _bar_intervals(panel, df: pd.DataFrame, metric: str, level: float) -> dict | None:
    """``{(sr, mer): (lo, hi)}`` of Fig. 4's bars (means over resolutions), or None."""
    if panel is None:
        return None
    lr = df[~reference_mask(df)]
    out = {}
    for (sr, mer), part in lr.groupby([lr["sr"].astype(str), lr["mer"].astype(str)]):
        cells = [(int(r), sr, mer) for r in part["resolution"].astype(int)]
        cells = [c for c in cells if c in panel.replicates]
        if cells:
            out[(sr, mer)] = mean_interval(panel, cells, metric, level)
    return out or None


def _panel_rows(df: pd.DataFrame, sel: dict[str, str | None]) -> pd.DataFrame:
    """Rows of a per-panel table (comparisons, predictions, per-database scores) for one report
    panel: its dataset and every other given selection the table has a column for."""
    if "dataset" not in df.columns:
        return df.iloc[0:0]
    m = df["dataset"].astype(str) == str(sel["dataset"])
    for k, v in sel.items():
        if k != "dataset" and v is not None and k in df.columns:
            m &= df[k].astype(str) == str(v)
    return df[m]


def _clip_model_parts(
    pred: pd.DataFrame | None, sel: dict[str, str | None], refs: set
) -> tuple[str, object | None]:
    """The GEE model of one panel: (intro or the reason it is omitted, the model or None)."""
    if pred is None:
        return "No predictions.csv: the per-clip model needs every clip's prediction.", None
    from srmer.eval.clip_model import clip_model

    part = _panel_rows(pred, {k: sel.get(k) for k in ("dataset", *TASK_KEYS)})
    keep = [
        (int(r), str(s)) not in refs for r, s in zip(part["resolution"], part["sr"], strict=True)
    ]
    try:
        model = clip_model(part[keep])
    except SrmerError as err:
        return f"Omitted: {err}.", None
    intro = (
        "Logistic GEE of per-clip correctness on "
        + ", ".join(model.tests["factor"].astype(str))
        + f" with subject as the cluster ({model.n_obs} predictions, {model.n_clusters} subjects; "
        "exchangeable working correlation, robust standard errors), HR reference left out. "
        "Coefficients are log-odds of a correct prediction against each factor's reference "
        "level. Zhou et al.'s ANOVA above works on table means; this model uses every clip and "
        "accounts for the same subjects appearing in every cell. " + " ".join(model.notes)
    )
    return intro, model


def _protocol_text(df: pd.DataFrame) -> str:
    """How a panel's rows were evaluated, in words."""
    if "protocol" not in df.columns:
        return "LOSO (leave one subject out)"
    proto = str(df["protocol"].iloc[0])
    words = {
        "loso": "LOSO (leave one subject out), predictions pooled over the folds",
        "kfold": "k-fold by subject, predictions pooled over the folds",
        "holdout": "hold-out (fixed test subjects)",
        "leave_one_dataset_out": "leave one dataset out, predictions pooled over the datasets",
    }
    if proto == "cross_dataset":
        r = df.iloc[0]
        return "cross-dataset, " + task_title(r["train_datasets"], r["test_dataset"], proto)
    return words.get(proto, proto)


# ------------------------------------------------------------------------------- provenance
_METRIC_MEANING = {
    "war": "weighted average recall = accuracy over all clips, predictions pooled over folds",
    "uar": "unweighted average recall = mean of the per-class recalls",
    "uf1": "unweighted F1 = mean of the per-class F1 scores, counts pooled over folds",
}


def _twins(cfg: dict) -> dict[str, str]:
    """SR label -> its pixel-loss twin's label, from the run's config (none when unreadable)."""
    from srmer.bench.statistics import sr_twins

    try:
        return sr_twins(cfg.get("sr") or [])
    except Exception:  # an old or hand-edited config must not stop the report
        return {}


def _config(run: RunData) -> dict:
    """The run's config as a dict ({} when absent or unparsable: its text is still shown)."""
    if not run.config_text:
        return {}
    try:
        import yaml

        cfg = yaml.safe_load(run.config_text)
    except Exception:  # a broken config must not stop the report
        return {}
    return cfg if isinstance(cfg, dict) else {}


def _run_name(run: RunData) -> str:
    name = _config(run).get("name")
    return str(name) if name else run.run_dir.name


def _meta_pairs(run: RunData) -> list[tuple[str, str]]:
    p = run.provenance
    pairs = [("run directory", str(run.run_dir))]
    for k in ("started", "finished", "seed", "device"):
        if k in p:
            pairs.append((k, str(p[k])))
    history = _history_rows(p)
    if len(history) > 1:
        pairs.append(
            ("invocations", f"{len(history)} (first {history[0][1]}, last {history[-1][1]})")
        )
    ds = sorted({display(d, DATASET_DISPLAY) for d in run.results["dataset"]})
    pairs.append(("datasets", ", ".join(ds)))
    return pairs


HISTORY_COLUMNS = ("started", "wall time", "config", "command")


def _history_rows(p: dict) -> list[tuple[str, str, str, str]]:
    """One row per finished invocation in ``provenance["history"]`` (see HISTORY_COLUMNS)."""
    rows = []
    for h in p.get("history") or []:
        if isinstance(h, dict):
            wall = h.get("wall_s")
            rows.append(
                (
                    str(h.get("started", "")),
                    _fmt_seconds(float(wall)) if isinstance(wall, int | float) else "",
                    str(h.get("config_sha256", "")),
                    str(h.get("command", "")),
                )
            )
    return rows


def _provenance_html(run: RunData) -> str:
    p = run.provenance
    parts = []
    if not p:
        parts.append(_p("No provenance.json in the run directory.", "omit"))
    kv = [
        (k, str(p[k]))
        for k in ("command", "machine", "started", "finished", "seed", "device")
        if k in p
    ]
    if "executor" in p:
        kv.append(("executor", json.dumps(p["executor"])))
    pool = _pool_check_text(p)
    if pool:
        kv.append(("SR training pool", pool))
    if kv:
        parts.append(_kv_table(kv))
    skipped = p.get("skipped") or []
    parts.append(f"<h3>Skipped clips ({len(skipped)})</h3>")
    if skipped:
        rows = "".join(
            "<tr>"
            + "".join(
                f'<td class="stub">{html.escape(str(s.get(k, "")))}</td>'
                for k in ("dataset", "clip", "problem")
            )
            + "</tr>"
            for s in skipped
            if isinstance(s, dict)
        )
        parts.append(
            f'<figure class="table"><table><thead><tr><th class="stub">dataset</th><th class="stub">clip</th><th class="stub">problem</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></figure>"
        )
    else:
        parts.append(_p("None: every clip of every dataset was used."))
    history = _history_rows(p)
    if history:
        parts.append(f"<h3>Invocations ({len(history)})</h3>")
        parts.append(
            _p(
                "Every run of this directory, oldest first. A re-run finds finished work in the "
                "cache, so a warm run's time is not the cost of the experiment: the first (cold) "
                "invocation of a configuration is."
            )
        )
        head = "".join(f'<th class="stub">{h}</th>' for h in HISTORY_COLUMNS)
        body_rows = "".join(
            "<tr>" + "".join(f'<td class="stub">{html.escape(c)}</td>' for c in r) + "</tr>"
            for r in history
        )
        parts.append(
            f'<figure class="table"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body_rows}</tbody></table></figure>"
        )
    timings = p.get("timings") or {}
    if timings:
        parts.append("<h3>Timings of the last invocation</h3>")
        parts.append(_kv_table([(k, _fmt_seconds(v)) for k, v in timings.items()]))
    versions = p.get("versions") or {}
    if versions:
        parts.append("<h3>Package versions</h3>")
        parts.append(_kv_table([(k, str(v)) for k, v in sorted(versions.items())]))
    parts.append("<h3>Configuration</h3>")
    if run.config_text:
        parts.append(f"<pre>{html.escape(run.config_text)}</pre>")
    else:
        parts.append(_p("No config.yaml in the run directory.", "omit"))
    return "\n".join(parts)


def _provenance_md(run: RunData) -> list[str]:
    p = run.provenance
    lines = []
    for k in ("command", "machine", "started", "finished", "seed", "device"):
        if k in p:
            lines.append(f"- {k}: `{p[k]}`")
    pool = _pool_check_text(p)
    if pool:
        lines.append(f"- SR training pool: {pool}")
    skipped = p.get("skipped") or []
    lines.append(f"- skipped clips: {len(skipped)}")
    for s in skipped:
        if isinstance(s, dict):
            lines.append(f"  - {s.get('dataset', '')} {s.get('clip', '')}: {s.get('problem', '')}")
    for r in _history_rows(p):
        lines.append(
            "- invocation: "
            + ", ".join(f"{h} {c}" for h, c in zip(HISTORY_COLUMNS, r, strict=True))
        )
    timings = p.get("timings") or {}
    if timings:
        lines.append(
            "- timings of the last invocation: "
            + ", ".join(f"{k} {_fmt_seconds(v)}" for k, v in timings.items())
        )
    versions = p.get("versions") or {}
    if versions:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    if run.config_text:
        lines += ["", "```yaml", run.config_text.rstrip(), "```"]
    return [*lines, ""]


def _pool_check_text(p: dict) -> str:
    """What the SR-pool leakage guard found (empty when the run had no pool)."""
    check = p.get("sr_pool_check")
    if not isinstance(check, dict):
        return ""
    status = str(check.get("status", ""))
    head = "identities checked" if status == "checked" else "identities NOT checked"
    return f"{head}: {check.get('message', '')}"


def _fmt_seconds(v: object) -> str:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(x):
        return str(v)
    return f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
