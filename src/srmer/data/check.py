"""Validate a dataset copy: counts per subject and class under every class map, and every problem found.

Backs ``srmer datasets check NAME ROOT``:

>>> report = check_dataset("casme2", "/data/CASME2")  # doctest: +SKIP
>>> print(report.render())  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from srmer.data.classmaps import CLASS_MAPS, ClassMap
from srmer.data.sheets import Scan, clip_key
from srmer.errors import DatasetError, UnknownMethodError

# dataset -> "module:scan function" (same modules as the loaders in srmer.data.registry)
SCANNERS: dict[str, str] = {
    "casme2": "srmer.data.casme2:scan_casme2",
    "samm": "srmer.data.samm:scan_samm",
    "smic": "srmer.data.smic:scan_smic",
    "casme3": "srmer.data.casme3:scan_casme3",
    "rafdb": "srmer.data.rafdb:scan_rafdb",
}


@dataclass(frozen=True)
class Finding:
    """One problem of one clip."""

    clip: str
    kind: str
    message: str
    fix: str
    fatal: bool


@dataclass
class CheckReport:
    """What :func:`check_dataset` found.

    Attributes
    ----------
    dataset, root : str, Path
    sources : dict
        Files and folders read (sheet, frame root, label list).
    n_annotated : int
        Annotated clips (sheet rows, clip folders or label lines).
    n_usable : int
        Clips without a fatal problem.
    counts : dict
        ``{class map: {subject: {class: n}}}`` over usable clips, for every map defined for the
        dataset.
    classes : dict
        ``{class map: class names in order}``.
    findings : list of Finding
        Every problem, fatal (the clip is skipped by the loader) or not (e.g. unknown apex).
    """

    dataset: str
    root: Path
    sources: dict[str, Path]
    n_annotated: int
    n_usable: int
    counts: dict[str, dict[str, dict[str, int]]]
    classes: dict[str, tuple[str, ...]]
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No fatal problem."""
        return not any(f.fatal for f in self.findings)

    def problem_counts(self) -> dict[str, int]:
        """Number of findings of each kind."""
        return dict(Counter(f.kind for f in self.findings))

    def totals(self, class_map: str) -> dict[str, int]:
        """Clips per class under one map, over all subjects."""
        out = dict.fromkeys(self.classes[class_map], 0)
        for per in self.counts[class_map].values():
            for k, v in per.items():
                out[k] += v
        return out

    def render(self, width: int = 110) -> str:
        """The report as text: a table per class map, then the problems (rich tables, no colour)."""
        from rich.console import Console
        from rich.table import Table

        buf = io.StringIO()
        con = Console(file=buf, width=width, color_system=None, force_terminal=False)
        con.print(f"{self.dataset} at {self.root}")
        for k, v in self.sources.items():
            con.print(f"  {k}: {v}")
        con.print(
            f"  {self.n_annotated} annotated clips, {self.n_usable} usable, "
            f"{self.n_annotated - self.n_usable} skipped"
        )
        for cmap, per_subject in self.counts.items():
            classes = self.classes[cmap]
            t = Table(title=f"class map {cmap}", title_justify="left")
            t.add_column("subject")
            for c in classes:
                t.add_column(c, justify="right")
            t.add_column("total", justify="right")
            for subj in sorted(per_subject, key=_natural):
                row = per_subject[subj]
                t.add_row(subj, *(str(row.get(c, 0)) for c in classes), str(sum(row.values())))
            tot = self.totals(cmap)
            t.add_row("all", *(str(tot[c]) for c in classes), str(sum(tot.values())), style="bold")
            con.print(t)
        if self.findings:
            t = Table(title=f"{len(self.findings)} problem(s)", title_justify="left")
            for col in ("clip", "problem", "what is wrong", "fix", "effect"):
                t.add_column(col, overflow="fold")
            for f in self.findings:
                t.add_row(f.clip, f.kind, f.message, f.fix, "skipped" if f.fatal else "kept")
            con.print(t)
        else:
            con.print("no problems found")
        return buf.getvalue()


def _natural(s: str) -> tuple:
    import re

    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", s))


def scan_dataset(name: str, root: str | Path, **options) -> Scan:
    """Run a dataset's scan (records and problems, before any class map)."""
    if name not in SCANNERS:
        raise UnknownMethodError("dataset", name, list(SCANNERS))
    root = Path(root)
    if not root.exists():
        raise DatasetError(
            f"dataset root {root} does not exist; pass the folder of your {name} copy"
        )
    module, func = SCANNERS[name].split(":")
    return getattr(importlib.import_module(module), func)(root, **options)


def check_dataset(name: str, root: str | Path, **options) -> CheckReport:
    """Validate a dataset copy.

    Parameters
    ----------
    name : str
        ``casme2``, ``samm``, ``smic``, ``casme3`` or ``rafdb``.
    root : str or Path
        The copy's root folder.
    **options
        Passed to the dataset's scan (e.g. ``sheet=``, ``variant=``).

    Returns
    -------
    CheckReport
        Counts per subject and class under every class map defined for the dataset, and every problem
        (missing frames, onset/offset outside the frames present, unknown apex, unknown emotion,
        duplicate clip ids, bad annotations) with the clip it concerns.

    Raises
    ------
    DatasetError
        The root, sheet or frame folder cannot be found, or the sheet lacks a column (these stop a
        load too).
    """
    scan = scan_dataset(name, root, **options)
    findings = [
        Finding(clip_key(name, r.subject, r.clip), p.kind, p.message, p.fix, p.fatal)
        for r in scan.records
        for p in r.problems
    ]
    usable = [r for r in scan.records if r.fatal is None]
    counts: dict[str, dict[str, dict[str, int]]] = {}
    classes: dict[str, tuple[str, ...]] = {}
    for cmap_name in CLASS_MAPS:
        try:
            cmap = ClassMap(name, cmap_name)
        except UnknownMethodError:
            continue  # map not defined for this dataset
        classes[cmap_name] = cmap.classes
        per: dict[str, dict[str, int]] = {}
        for r in usable:
            lab = cmap(r.emotion)
            if lab is None:
                continue
            row = per.setdefault(r.subject, dict.fromkeys(cmap.classes, 0))
            row[cmap.classes[lab]] += 1
        counts[cmap_name] = per
    return CheckReport(
        dataset=name,
        root=Path(root),
        sources=dict(scan.sources),
        n_annotated=len(scan.records),
        n_usable=len(usable),
        counts=counts,
        classes=classes,
        findings=findings,
    )
