"""Report figures (Zhou et al. Figs. 4-5, WAR-vs-resolution curves, confusion matrices) as PNG bytes.

Figures are drawn with matplotlib's object API on an Agg canvas (``matplotlib.figure.Figure``), never
through ``pyplot``: no global state, no GUI backend, safe in worker processes and headless CI.
Each function takes the rows of one dataset and returns the PNG file's bytes, or None when the
data cannot make the figure (the report then says why).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy.stats import pearsonr

from srmer.bench.tables import (
    MER_DISPLAY,
    MER_ORDER,
    METRIC_DISPLAY,
    SR_DISPLAY,
    SR_ORDER,
    display,
    hr_size,
    ordered,
    reference_mask,
    res_label,
)

DPI = 110


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _sr_name(s: str) -> str:
    return "Bicubic (LR)" if s == "none" else display(s, SR_DISPLAY)


def avg_per_mer_sr(
    df: pd.DataFrame,
    metric: str = "war",
    title: str = "",
    intervals: dict[tuple[str, str], tuple[float, float]] | None = None,
) -> bytes | None:
    """Zhou et al. Fig. 4: mean ``metric`` of each MER method under each SR method, over resolutions.

    Parameters
    ----------
    df : pandas.DataFrame
        Results rows of one dataset (columns resolution, sr, mer, ``metric``). The HR reference rows
        are left out of the averages; each MER method's own HR score is drawn as a black tick
        across each of its bars, so a bar is compared with its method's HR reference (a mean over
        methods would let one method's bar rise above "HR" without beating its own).
    intervals : dict, optional
        ``{(sr, mer): (lo, hi)}``: interval of each bar's mean (from the subject bootstrap of the
        averaged cells, :func:`srmer.bench.statistics.mean_interval`), drawn as error bars.
    """
    ref = reference_mask(df)
    lr = df[~ref]
    if lr.empty:
        return None
    srs = ordered(lr["sr"].astype(str), SR_ORDER)
    mers = ordered(lr["mer"].astype(str), MER_ORDER)
    means = lr.groupby([lr["sr"].astype(str), lr["mer"].astype(str)])[metric].mean()
    # Wide enough for the bars, capped so the page never needs horizontal scrolling.
    fig = Figure(
        figsize=(min(13.0, max(6.0, 1.0 + 0.2 * len(srs) * len(mers) + 0.4 * len(srs))), 4.0)
    )
    ax = fig.add_subplot()
    width = 0.8 / len(mers)
    x = np.arange(len(srs))
    cmap = _palette(len(mers))
    hr = df[ref].groupby(df.loc[ref, "mer"].astype(str))[metric].mean() if ref.any() else {}
    for j, m in enumerate(mers):
        vals = [means.get((s, m), np.nan) for s in srs]
        xs = x - 0.4 + width * (j + 0.5)
        ax.bar(xs, vals, width, label=display(m, MER_DISPLAY), color=cmap[j])
        if m in hr:
            ax.hlines(
                np.full(len(xs), float(hr[m])), xs - width / 2, xs + width / 2, colors="black",
                linestyles="--", lw=1.2, label="HR reference (per method)" if j == 0 else None,
            )  # fmt: skip
        if intervals:
            bounds = [intervals.get((s, m), (np.nan, np.nan)) for s in srs]
            err = np.array(
                [
                    [max(v - lo, 0.0), max(hi - v, 0.0)]
                    for v, (lo, hi) in zip(vals, bounds, strict=True)
                ]
            ).T
            ax.errorbar(xs, vals, yerr=err, fmt="none", ecolor="black", elinewidth=0.7, capsize=1.5)
    ax.set_xticks(
        x,
        [_sr_name(s) for s in srs],
        rotation=30 if len(srs) > 4 else 0,
        ha="right" if len(srs) > 4 else "center",
    )
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    ax.set_ylabel(f"mean {mname} over resolutions")
    ax.set_xlabel("SR method")
    vals = pd.concat([means, df.loc[ref, metric]]) if ref.any() else means
    _ylim(ax, vals)
    ax.set_title(title or f"Average {mname} per MER and SR method")
    ax.legend(
        fontsize=9,
        ncols=min(4, len(mers) + 1),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18 if len(srs) <= 4 else -0.3),
        frameon=False,
    )
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def quality_vs_metric(
    df: pd.DataFrame, quality: pd.DataFrame, metric: str = "war", title: str = ""
) -> tuple[bytes | None, dict[str, float]]:
    """Zhou et al. Fig. 5: PSNR and SSIM of each SR setting against the ``metric`` it produced.

    Parameters
    ----------
    df : pandas.DataFrame
        Results rows of one dataset (resolution, sr, mer, ``metric``).
    quality : pandas.DataFrame
        Per (resolution, sr) of the same dataset: psnr, ssim.

    Returns
    -------
    png : bytes or None
        Two scatter panels (PSNR, SSIM on x; ``metric`` on y); one point per (SR setting, MER),
        coloured by MER, with the Pearson r per MER in the legend and over all points in the title.
        None with fewer than three SR settings that have quality numbers.
    r : dict of str to float
        ``{"psnr": r, "ssim": r}`` over all points (NaN when undefined).

    Notes
    -----
    The paper draws curves over "SR method_resolution"; a scatter with correlation coefficients
    states the same relation (higher reconstruction quality, higher WAR) more directly.
    """
    out_r = {"psnr": float("nan"), "ssim": float("nan")}
    if quality is None or quality.empty:
        return None, out_r
    q = quality.assign(resolution=quality["resolution"].astype(int), sr=quality["sr"].astype(str))
    d = df.assign(
        resolution=df["resolution"].astype(int), sr=df["sr"].astype(str), mer=df["mer"].astype(str)
    )
    metrics = [m for m in ("psnr", "ssim") if m in q.columns and q[m].notna().any()]
    if not metrics:
        return None, out_r
    d = d.drop(columns=[c for c in ("psnr", "ssim", "tcons") if c in d.columns])
    j = d.merge(q[["resolution", "sr", *metrics]], on=["resolution", "sr"], how="inner")
    j = j.dropna(subset=[metric])
    if j[["resolution", "sr"]].drop_duplicates().shape[0] < 3:
        return None, out_r
    mers = ordered(j["mer"], MER_ORDER)
    cmap = _palette(len(mers))
    fig = Figure(figsize=(5.2 * len(metrics), 4.2))
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    for k, qm in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        for i, m in enumerate(mers):
            sub = j[(j["mer"] == m) & j[qm].notna()]
            r = _pearson(sub[qm], sub[metric])
            lab = display(m, MER_DISPLAY) + (f" (r = {r:.2f})" if np.isfinite(r) else "")
            ax.scatter(sub[qm], sub[metric], s=22, color=cmap[i], label=lab, alpha=0.85)
            if {f"{metric}_lo", f"{metric}_hi"} <= set(sub.columns) and len(sub):
                v = sub[metric].to_numpy(float)
                err = np.vstack([
                    np.clip(v - sub[f"{metric}_lo"].to_numpy(float), 0, None),
                    np.clip(sub[f"{metric}_hi"].to_numpy(float) - v, 0, None),
                ])  # fmt: skip
                ax.errorbar(sub[qm], v, yerr=err, fmt="none", ecolor=cmap[i], elinewidth=0.6,
                            alpha=0.5)  # fmt: skip
        jj = j[j[qm].notna()]
        r_all = _pearson(jj[qm], jj[metric])
        out_r[qm] = r_all
        ax.set_xlabel("PSNR (dB)" if qm == "psnr" else "SSIM")
        ax.set_ylabel(mname)
        ax.set_title(
            f"{qm.upper()} vs {mname}: r = {r_all:.2f}"
            if np.isfinite(r_all)
            else f"{qm.upper()} vs {mname}"
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, loc="best")
    if title:
        fig.suptitle(title)
    return _png(fig), out_r


def metric_vs_resolution(df: pd.DataFrame, metric: str = "war", title: str = "") -> bytes | None:
    """``metric`` against input resolution: one panel per MER method, one line per SR method.

    The HR reference of each MER method is a dashed horizontal line. x is on a log2 axis.
    """
    ref = reference_mask(df)
    lr = df[~ref]
    if lr.empty:
        return None
    mers = ordered(lr["mer"].astype(str), MER_ORDER)
    srs = ordered(lr["sr"].astype(str), SR_ORDER)
    ncols = min(4, len(mers))
    nrows = int(np.ceil(len(mers) / ncols))
    fig = Figure(figsize=(3.6 * ncols + 1.8, 3.0 * nrows + 0.6))
    cmap = _palette(len(srs))
    res_all = sorted(lr["resolution"].astype(int).unique())
    mname = METRIC_DISPLAY.get(metric, metric.upper())
    handles = {}
    axes = []
    for i, m in enumerate(mers):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        axes.append(ax)
        sub = lr[lr["mer"].astype(str) == m]
        for k, s in enumerate(srs):
            ss = (
                sub[sub["sr"].astype(str) == s]
                .groupby(sub["resolution"].astype(int))[metric]
                .mean()
                .sort_index()
            )
            if ss.empty:
                continue
            (h,) = ax.plot(ss.index, ss.values, marker="o", ms=4, color=cmap[k],
                           ls=":" if s == "none" else "-")  # fmt: skip
            handles[_sr_name(s)] = h
            yerr = _yerr(sub[sub["sr"].astype(str) == s], metric, ss)
            if yerr is not None:
                ax.errorbar(ss.index, ss.values, yerr=yerr, fmt="none", ecolor=cmap[k],
                            elinewidth=0.8, capsize=2, alpha=0.7)  # fmt: skip
        rsub = df[ref & (df["mer"].astype(str) == m)]
        if not rsub.empty:
            h = ax.axhline(float(rsub[metric].mean()), color="black", ls="--", lw=1)
            hr = hr_size(df)
            handles[f"HR reference ({hr}×{hr})" if hr else "HR reference"] = h
        ax.set_xscale("log", base=2)
        ax.set_xticks(res_all, [str(r) for r in res_all])
        ax.minorticks_off()
        ax.set_title(display(m, MER_DISPLAY), fontsize=10)
        ax.set_xlabel("input resolution (px)")
        ax.set_ylabel(mname)
        ax.grid(alpha=0.3)
    # the legend is the key to every panel: as large as the axis labels
    ncols = min(5, len(handles))
    rows = -(-len(handles) // ncols)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncols=ncols,
               fontsize=10, frameon=False, bbox_to_anchor=(0.5, -0.02))  # fmt: skip
    fig.suptitle(title or f"{mname} against input resolution")
    fig.tight_layout(rect=(0, 0.03 + 0.045 * rows, 1, 0.97))
    return _png(fig)


def confusion(
    panels: list[tuple[str, pd.DataFrame]], title: str = "", classes: list[str] | None = None
) -> bytes | None:
    """Row-normalised confusion matrices, side by side, annotated with counts.

    Parameters
    ----------
    panels : list of (str, pandas.DataFrame)
        Subtitle and the prediction rows (columns y_true, y_pred: class names) of each setting.
    classes : list of str, optional
        Class order; default the sorted union of true and predicted labels.
    """
    panels = [(t, p) for t, p in panels if p is not None and not p.empty]
    if not panels:
        return None
    if classes is None:
        labs = pd.concat([pd.concat([p["y_true"], p["y_pred"]]) for _, p in panels]).astype(str)
        classes = sorted(labs.unique())
    k = len(classes)
    side = max(3.2, 0.55 * k + 1.8)
    fig = Figure(figsize=(side * len(panels) + 0.8, side + 0.4))
    idx = {c: i for i, c in enumerate(classes)}
    for n, (sub_title, p) in enumerate(panels):
        cm = np.zeros((k, k), dtype=np.int64)
        for t, q in zip(p["y_true"].astype(str), p["y_pred"].astype(str), strict=True):
            if t in idx and q in idx:
                cm[idx[t], idx[q]] += 1
        rows = cm.sum(axis=1, keepdims=True)
        norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
        ax = fig.add_subplot(1, len(panels), n + 1)
        im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for a in range(k):
            for b in range(k):
                ax.text(b, a, f"{norm[a, b]:.2f}\n({cm[a, b]})", ha="center", va="center", fontsize=7,
                        color="white" if norm[a, b] > 0.55 else "black")  # fmt: skip
        ax.set_xticks(range(k), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), classes, fontsize=8)
        ax.set_xlabel("predicted class")
        if n == 0:
            ax.set_ylabel("true class")
        else:
            ax.tick_params(labelleft=False)  # same classes as the first panel; saves overlap
        acc = np.trace(cm) / max(cm.sum(), 1)
        ax.set_title(f"{sub_title}\nWAR = {acc:.3f}, n = {cm.sum()}", fontsize=9)
    fig.colorbar(im, ax=fig.axes, fraction=0.025, pad=0.03, label="fraction of true class")
    if title:
        fig.suptitle(title)
    return _png(fig)


def setting_title(
    resolution: int, sr: str, mer: str, hr: int | None, reference: bool = False
) -> str:
    """``"RCNA, EDSR 64to256"`` style label of one benchmark cell (``"RCNA, HR 256×256"``)."""
    if reference:
        return f"{display(mer, MER_DISPLAY)}, HR {resolution}×{resolution}"
    return f"{display(mer, MER_DISPLAY)}, {_sr_name(sr)} {res_label(resolution, sr, hr)}"


def _yerr(rows: pd.DataFrame, metric: str, values: pd.Series) -> np.ndarray | None:
    """``(2, n)`` error-bar lengths of ``values`` (indexed by resolution) from the rows'
    ``<metric>_lo`` / ``<metric>_hi`` subject-bootstrap bounds; None when there are none."""
    lo_c, hi_c = f"{metric}_lo", f"{metric}_hi"
    if not {lo_c, hi_c} <= set(rows.columns) or rows[lo_c].isna().all():
        return None
    g = rows.groupby(rows["resolution"].astype(int))
    lo = g[lo_c].mean().reindex(values.index).to_numpy()
    hi = g[hi_c].mean().reindex(values.index).to_numpy()
    v = values.to_numpy()
    return np.vstack([np.clip(v - lo, 0, None), np.clip(hi - v, 0, None)])


def _pearson(x: pd.Series, y: pd.Series) -> float:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(pearsonr(x, y).statistic)


def _ylim(ax, values: pd.Series) -> None:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return
    lo, hi = float(v.min()), float(v.max())
    pad = max(0.02, 0.1 * (hi - lo))
    ax.set_ylim(max(0.0, lo - 3 * pad), min(1.0, hi + pad) if hi <= 1 else hi + pad)


def _palette(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]
