"""Report on a fabricated run directory: tables, marks, figures, Markdown and LaTeX."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from srmer.bench.report import load_run, markdown_table, write_report
from srmer.bench.tables import sr_mer_table, to_latex
from srmer.errors import SrmerError

CLASSES = ["negative", "others", "positive", "surprise"]
MERS = ["lbptop", "ststnet", "rcna"]


def _war(ds: str, r: int, sr: str, mer: str, rng: np.random.Generator) -> float:
    """Plausible WAR: grows with resolution, rcna best, SR slightly above LR."""
    base = {"casme2": 0.35, "smic": 0.30}[ds] + 0.04 * np.log2(r / 16)
    base += {"lbptop": 0.0, "ststnet": 0.03, "rcna": 0.08}[mer]
    base += {"none": 0.0, "bicubic": 0.01, "edsr": 0.02, "basicvsrpp": 0.015}[sr]
    return float(np.clip(base + rng.normal(0, 0.004), 0, 1))


def make_run_dir(
    root: Path, *, datasets=("casme2", "smic"), resolutions=(16, 32, 64), mers=MERS
) -> Path:
    """A run directory shaped like `srmer run`'s output, with a few planted facts.

    Planted: on casme2 at 32to256 with EDSR, LBPTOP is the best MER method (0.52); BasicVSR++ only
    at 64 (must be left out of the ANOVA); one skipped clip.
    """
    rng = np.random.default_rng(0)
    run = root / "run"
    run.mkdir(parents=True)
    rows, preds, qual = [], [], []
    settings = [(256, "none", "256x256")]
    for r in resolutions:
        settings += [(r, "none", f"{r}x{r}"), (r, "bicubic", f"{r}to256"), (r, "edsr", f"{r}to256")]
        if r == 64:
            settings.append((r, "basicvsrpp", f"{r}to256"))
    for ds in datasets:
        for r, sr, setting in settings:
            if sr != "none":
                psnr = 20 + 5 * np.log2(r / 16) + {"bicubic": 0, "edsr": 1.0, "basicvsrpp": 0.5}[sr]
                ssim = (
                    0.7
                    + 0.06 * np.log2(r / 16)
                    + {"bicubic": 0, "edsr": 0.01, "basicvsrpp": 0.02}[sr]
                )
                qual.append(
                    dict(dataset=ds, resolution=r, setting=setting, sr=sr, psnr=psnr, ssim=ssim)
                )
            else:
                psnr = ssim = np.nan
            for mer in mers:
                war = 0.62 if r == 256 else _war(ds, r, sr, mer, rng)
                if r == 256:
                    war += {"lbptop": 0.0, "ststnet": 0.03, "rcna": 0.08}.get(mer, 0.0)
                if (ds, r, sr, mer) == ("casme2", 32, "edsr", "lbptop"):
                    war = 0.52
                rows.append(
                    dict(dataset=ds, class_map="4class", degradation="bicubic", resolution=r,
                         setting=setting, sr=sr, mer=mer, war=war, uar=war - 0.05, uf1=war - 0.08,
                         n_clips=40, psnr=psnr, ssim=ssim)
                )  # fmt: skip
                y_true = rng.choice(CLASSES, 40)
                correct = rng.random(40) < war
                y_pred = np.where(correct, y_true, rng.choice(CLASSES, 40))
                for i in range(40):
                    preds.append(dict(dataset=ds, resolution=r, setting=setting, sr=sr, mer=mer,
                                      subject=f"s{i % 8:02d}", clip=f"c{i:03d}",
                                      y_true=y_true[i], y_pred=y_pred[i]))  # fmt: skip
    pd.DataFrame(rows).to_csv(run / "results.csv", index=False)
    pd.DataFrame(preds).to_csv(run / "predictions.csv", index=False)
    pd.DataFrame(qual).to_csv(run / "quality.csv", index=False)
    (run / "config.yaml").write_text("name: fabricated-test\nresolutions: [16, 32, 64]\nseed: 0\n")
    prov = {
        "versions": {"numpy": np.__version__, "pandas": pd.__version__},
        "seed": 0,
        "timings": {"sr": 12.5, "features": 300.0},
        "skipped": [{"dataset": "casme2", "clip": "sub01/EP02_01f", "problem": "missing frame 12"}],
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T01:00:00+00:00",
        "command": "srmer run configs/demo.yaml",
        "machine": "test-host x86_64",
    }
    (run / "provenance.json").write_text(json.dumps(prov))
    return run


class _Tables(HTMLParser):
    """Collects every <table> as rows of (text, underlined, bold, classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[dict]]] = []
        self.captions: list[str] = []
        self._cell: dict | None = None
        self._row: list | None = None
        self._u = self._b = 0
        self._in_cap = False
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append([])
            self.captions.append("")
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = {
                "text": "",
                "u": False,
                "b": False,
                "cls": (a.get("class") or "").split(),
                "th": tag == "th",
            }
        elif tag == "u":
            self._u += 1
        elif tag == "b":
            self._b += 1
        elif tag == "caption":
            self._in_cap = True
        elif tag == "img":
            self.images.append(a.get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "u":
            self._u -= 1
        elif tag == "b":
            self._b -= 1
        elif tag == "caption":
            self._in_cap = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
            self._cell["u"] |= self._u > 0 and bool(data.strip())
            self._cell["b"] |= self._b > 0 and bool(data.strip())
        elif self._in_cap:
            self.captions[-1] += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = make_run_dir(tmp_path_factory.mktemp("rep"))
    path = write_report(run)
    parser = _Tables()
    parser.feed(path.read_text())
    return run, path, parser


def _table_with_caption(parser: _Tables, text: str) -> list[list[dict]]:
    for cap, t in zip(parser.captions, parser.tables, strict=True):
        if text in cap:
            return t
    raise AssertionError(f"no table captioned {text!r} in {parser.captions}")


def test_files_written(report):
    run, path, _ = report
    assert path == run / "report" / "report.html"
    for f in ("report.md", "tables.tex"):
        assert (run / "report" / f).stat().st_size > 500
    pngs = sorted((run / "report").glob("*.png"))
    assert len(pngs) >= 8  # 4 figures x 2 datasets
    html = path.read_text()
    # Self-contained: no external resources.
    assert not re.search(r"""(src|href)=["'](https?:|//)""", html)
    assert "<link" not in html and "<script" not in html


def test_embedded_images_are_png(report):
    _, _, parser = report
    assert len(parser.images) >= 8
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        raw = base64.b64decode(src.split(",", 1)[1])
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        import io

        from PIL import Image

        im = Image.open(io.BytesIO(raw))
        assert 300 < im.width < 3000 and 200 < im.height < 3000  # sane sizes


def test_table2_marks_land_on_the_right_cells(report):
    run, _, parser = report
    t = _table_with_caption(parser, "WAR of each SR method and MER method on CASME II")
    header = [c["text"] for c in t[1]]
    assert header == ["SR method", "Resolution", "LBP-TOP", "RCNA", "STSTNet", "Avg."]
    body = t[2:]
    labels = [(r[0]["text"], r[1]["text"]) for r in body]
    # Reference first, then per resolution: LR row, Bicubic_restore, EDSR (+ BasicVSR++ at 64).
    assert labels[0] == ("", "256×256")
    assert labels[1:4] == [
        ("Bicubic", "16×16"),
        ("Bicubic_restore", "16to256"),
        ("EDSR", "16to256"),
    ]
    assert ("BasicVSR++", "64to256") in labels
    assert labels[-1][0] == "Avg."

    res = pd.read_csv(run / "results.csv").query("dataset == 'casme2'")
    for row in body[:-1]:
        vals = np.array([float(c["text"]) for c in row[2:5]])
        under = [c["u"] for c in row[2:5]]
        assert under == list(np.isclose(vals, vals.max())), row
        # Avg. column = mean over MER methods of the row.
        assert float(row[5]["text"]) == pytest.approx(vals.mean(), abs=6e-4)
    planted = body[labels.index(("EDSR", "32to256"))]
    assert planted[2]["u"] and not planted[3]["u"]  # LBPTOP 0.520 beats RCNA there

    # Avg. row: column means over all rows (reference included), best one bold.
    avg = body[-1]
    means = res.groupby("mer")["war"].mean()
    got = [float(c["text"]) for c in avg[2:5]]
    np.testing.assert_allclose(got, means[["lbptop", "rcna", "ststnet"]], atol=6e-4)
    assert [c["b"] for c in avg[2:5]] == [False, True, False]
    # Blue: reference Avg.; red: the best Avg. of each resolution block, exactly one per block here.
    assert "blue" in body[0][5]["cls"]
    for r in (16, 32, 64):
        block = [
            row
            for row, lab in zip(body, labels, strict=False)
            if lab[1] in (f"{r}×{r}", f"{r}to256")
        ]
        reds = [row for row in block if "red" in row[5]["cls"]]
        assert len(reds) == 1
        assert float(reds[0][5]["text"]) == max(float(row[5]["text"]) for row in block)


def test_quality_table_bold_best_underline_second(report):
    _, _, parser = report
    t = _table_with_caption(parser, "Reconstruction quality")
    assert [c["text"] for c in t[0]] == ["", "CASME II", "SMIC-HS"]
    body = t[2:]
    # At 64: EDSR PSNR best (bold), BasicVSR++ second (underlined); SSIM: BasicVSR++ best.
    rows64 = {r[0]["text"]: r for r in body if r[1]["text"] == "64to256"}
    assert set(rows64) == {"Bicubic_restore", "EDSR", "BasicVSR++"}
    assert rows64["EDSR"][2]["b"] and not rows64["EDSR"][2]["u"]
    assert rows64["BasicVSR++"][2]["u"] and not rows64["BasicVSR++"][2]["b"]
    assert rows64["BasicVSR++"][3]["b"] and rows64["EDSR"][3]["u"]
    assert not rows64["Bicubic_restore"][2]["b"] and not rows64["Bicubic_restore"][2]["u"]


def test_anova_table_present_with_letters(report):
    _, path, parser = report
    t = _table_with_caption(parser, "Three-factor ANOVA")
    assert [c["text"] for c in t[0]] == ["Factor", "Level", "CASME II", "SMIC-HS"]
    levels = [r[1]["text"] for r in t[1:]]
    assert "BasicVSR++" not in levels  # not run at every resolution
    assert "Bicubic (LR)" in levels and "16to256" in levels
    factor, res_rows = "", {}
    for r in t[1:]:
        factor = r[0]["text"] or factor
        if factor == "Res.":
            res_rows[r[1]["text"]] = r[2]["text"]
    assert [r[0]["text"] for r in t[1:] if r[0]["text"]] == ["Res.", "SR", "MER"]
    # WAR grows with resolution by 0.04 per octave against tiny noise: three separate groups.
    assert res_rows["64to256"].endswith(" a") and res_rows["16to256"].endswith(" c")
    assert "BasicVSR++" in path.read_text()  # the note saying it was left out
    pvals = [r for r in t[1:] if r[1]["text"] == "p value"]
    assert len(pvals) == 3 and all(float(r[2]["text"]) < 0.05 for r in pvals[::2])


def test_provenance_shown(report):
    _, path, _ = report
    html = path.read_text()
    for s in ("sub01/EP02_01f", "missing frame 12", "srmer run configs/demo.yaml", "fabricated-test",
              "Skipped clips (1)", "5.0 min"):  # fmt: skip
        assert s in html, s


def test_markdown_table_shape(report):
    run, _, _ = report
    res = pd.read_csv(run / "results.csv")
    md = markdown_table(res, "casme2")
    lines = md.splitlines()
    n_settings = len(res.query("dataset == 'casme2'")[["resolution", "sr"]].drop_duplicates())
    assert len(lines) == 2 + n_settings + 1  # header, rule, settings, Avg.
    assert all(line.count("|") == 2 + 3 + 1 + 1 for line in lines if "\\|" not in line)
    assert lines[0].split("|")[1].strip() == "SR method"
    planted = next(line for line in lines if "EDSR" in line and "32to256" in line)
    assert "<u>0.520</u>" in planted
    assert "**" in lines[-1]  # best average MER method bold
    assert (run / "report" / "report.md").read_text().count("| SR method |") >= 2


def test_latex_underline_best_per_row(report):
    run, _, _ = report
    tex = (run / "report" / "tables.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and r"\midrule" in tex
    t = sr_mer_table(pd.read_csv(run / "results.csv"), "casme2")
    lines = to_latex(t).splitlines()
    planted = next(ln for ln in lines if "EDSR" in ln and "32to256" in ln)
    assert r"\underline{0.520}" in planted
    assert planted.count(r"\underline") == 1
    assert r"Bicubic\_restore" in to_latex(t)
    assert to_latex(t).count(r"\textbf{") >= 1


def test_degenerate_grids(tmp_path):
    # One resolution, one SR method (none), one MER method: tables still render, ANOVA explains.
    run = make_run_dir(tmp_path, datasets=("casme2",), resolutions=(32,), mers=("lbptop",))
    res = pd.read_csv(run / "results.csv")
    res = res[res["sr"].isin(["none"])]
    res.to_csv(run / "results.csv", index=False)
    (run / "quality.csv").unlink()
    (run / "predictions.csv").unlink()
    (run / "provenance.json").unlink()
    path = write_report(run)
    html = path.read_text()
    assert "ANOVA needs at least two levels" in html
    assert "No SR setting produced PSNR/SSIM" in html
    assert "confusion matrices omitted" in html
    assert "No provenance.json" in html
    assert "<u>" not in html  # one MER method: nothing to rank per row
    md = markdown_table(res, "casme2")
    assert len(md.splitlines()) == 2 + 2 + 1


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(SrmerError, match="does not exist"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SrmerError, match=r"results\.csv"):
        write_report(tmp_path / "empty")
    res = pd.DataFrame({"dataset": ["a"], "resolution": [16], "sr": ["none"], "war": [0.5]})
    with pytest.raises(SrmerError, match="mer"):
        markdown_table(res, "a")
    run = make_run_dir(tmp_path / "y")
    df = pd.read_csv(run / "results.csv")
    with pytest.raises(SrmerError, match="not in the results"):
        markdown_table(df, "samm")
    df2 = pd.concat([df, df.assign(degradation="realesrgan")])
    with pytest.raises(SrmerError, match="degradation"):
        markdown_table(df2, "casme2")
    assert markdown_table(df2, "casme2", degradation="realesrgan") == markdown_table(df, "casme2")


def test_anova_drops_a_single_level_factor(tmp_path):
    # The demo grid has one MER method: the ANOVA runs on resolution + SR and says why.
    from srmer.bench.report import _anovas
    from srmer.bench.tables import anova_table, to_html

    run = make_run_dir(tmp_path, datasets=("casme2",), mers=("lbptop",))
    res = pd.read_csv(run / "results.csv")
    anovas, notes = _anovas(res, "war", "tukey")
    (a,) = anovas.values()
    assert list(a.factors) == ["resolution", "sr"]
    assert any("mer has a single level (lbptop)" in n for n in notes)
    t = anova_table(anovas)
    assert t.caption.startswith("ANOVA of WAR on the factors with at least two levels")
    assert [r[0].text for r in t.rows if r[0].text] == ["Res.", "SR"]
    assert "MER" not in to_html(t)


def test_panels_split_only_where_a_dataset_mixes():
    from srmer.bench.tables import panels

    df = pd.DataFrame(
        {
            "dataset": ["casme2", "smic", "samm", "samm"],
            "class_map": ["4class", "3class", "4class", "4class"],
            "degradation": ["bicubic", "bicubic", "bicubic", "realesrgan"],
        }
    )
    got = dict(panels(df))
    assert set(got) == {
        "CASME II",
        "SMIC-HS",
        "SAMM (degradation bicubic)",
        "SAMM (degradation realesrgan)",
    }
    assert got["CASME II"] == {"dataset": "casme2", "degradation": None, "class_map": None}
    assert got["SAMM (degradation realesrgan)"]["degradation"] == "realesrgan"


def test_quality_table_from_results_and_tcons():
    from srmer.bench.tables import quality_frame, quality_table, to_markdown

    res = pd.DataFrame(
        {
            "dataset": ["casme2"] * 6,
            "resolution": [16, 16, 16, 16, 256, 16],
            "sr": ["bicubic", "bicubic", "edsr", "edsr", "none", "none"],
            "mer": ["lbptop", "rcna"] * 3,
            "war": [0.4] * 6,
            "psnr": [23.0, 23.0, 24.0, 24.0, np.nan, np.nan],
            "ssim": [0.75, 0.75, 0.74, 0.74, np.nan, np.nan],
        }
    )
    # Without quality.csv: per setting from results (MER rows collapsed), SR "none" rows dropped.
    q = quality_frame(res, None)
    assert sorted(q["sr"]) == ["bicubic", "edsr"]
    t = quality_table(q, hr=256)
    assert [c.text for c in t.rows[1][:4]] == ["EDSR", "16to256", "24.00", "0.7400"]
    assert t.rows[1][2].bold and t.rows[0][2].underline  # PSNR: EDSR best
    assert t.rows[0][3].bold and t.rows[1][3].underline  # SSIM: bicubic best
    # With a temporal-consistency column: shown, not ranked.
    qc = q.assign(tcons=[0.1, 0.2])
    t = quality_table(qc, hr=256)
    assert t.columns[-1] == "T-cons."
    assert not any(r[-1].bold or r[-1].underline for r in t.rows)
    assert "T-cons." in to_markdown(t)
    assert quality_table(quality_frame(res.assign(psnr=np.nan, ssim=np.nan), None)) is None


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_tables_compile(report, tmp_path):
    # Debian: apt-get install -y --no-install-recommends texlive-latex-base texlive-latex-recommended
    run, _, _ = report
    doc = tmp_path / "doc.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\usepackage{xcolor}\n\\usepackage[margin=1cm]{geometry}\n\\begin{document}\n"
        f"\\input{{{(run / 'report' / 'tables.tex').as_posix()}}}\n\\end{{document}}\n"
    )
    out = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
