"""Validate a dataset copy: counts per subject and class under every class map, and every problem found.

Backs ``srmer data check NAME ROOT``:

>>> report = check_dataset("casme2", "/data/CASME2")  # doctest: +SKIP
>>> print(report.render())  # doctest: +SKIP

The MEGC 2019 composite is checked against its clip list (:func:`check_composite`):

>>> report = check_dataset("composite", {"casme2": c2, "samm": sm, "smic": sc})  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from srmer.data.classmaps import CLASS_MAPS, ClassMap
from srmer.data.sample import Skipped
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

    def render(self, width: int = 110, counts: bool = True) -> str:
        """The report as text: a table per class map, then the problems (rich tables, no colour).

        Parameters
        ----------
        width : int
            Text width.
        counts : bool
            Include the per-subject tables of every class map (``False``: only the summary and the
            problems, as the composite's report shows its sources).
        """
        from rich.table import Table

        buf = io.StringIO()
        con = _console(buf, width)
        con.print(f"{self.dataset} at {self.root}")
        for k, v in self.sources.items():
            con.print(f"  {k}: {v}")
        con.print(
            f"  {self.n_annotated} annotated clips, {self.n_usable} usable, "
            f"{self.n_annotated - self.n_usable} skipped"
        )
        for cmap, per_subject in self.counts.items() if counts else ():
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


def _console(buf: io.StringIO, width: int):
    from rich.console import Console

    # no colour and no terminal control codes: the text goes to files, logs and tests as it is
    return Console(file=buf, width=width, color_system=None, force_terminal=False)


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


def check_dataset(
    name: str, root: str | Path | Mapping[str, str | Path], **options
) -> CheckReport | CompositeCheck:
    """Validate a dataset copy.

    Parameters
    ----------
    name : str
        ``casme2``, ``samm``, ``smic``, ``casme3``, ``rafdb`` or ``composite``.
    root : str, Path or mapping
        The copy's root folder; for ``composite`` the three sources' roots as a mapping, or their
        parent folder (see :func:`check_composite`).
    **options
        Passed to the dataset's scan (e.g. ``sheet=``, ``variant=``); for ``composite``, those of
        :func:`check_composite`.

    Returns
    -------
    CheckReport or CompositeCheck
        Counts per subject and class under every class map defined for the dataset, and every problem
        (missing frames, onset/offset outside the frames present, unknown apex, unknown emotion,
        duplicate clip ids, bad annotations) with the clip it concerns. ``composite`` gives a
        :class:`CompositeCheck`.

    Raises
    ------
    DatasetError
        The root, sheet or frame folder cannot be found, or the sheet lacks a column (these stop a
        load too).
    """
    if name == "composite":
        return check_composite(root, **options)
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


# ---------------------------------------------------------------------------- the MEGC 2019 composite
#: at most this many missing clips are listed by CompositeCheck.render (all are in the object)
SHOWN_MISSING = 20


@dataclass(frozen=True)
class LabelMismatch:
    """A listed clip whose sheet emotion does not map (under ``megc3``) to the list's class.

    The composite uses the list's label; this only tells the user that their sheet and the list
    disagree (e.g. a different sheet release).
    """

    clip: str
    emotion: str
    sheet_class: str | None
    list_class: str


@dataclass
class CompositeCheck:
    """What :func:`check_composite` found.

    Attributes
    ----------
    root : Path
        The common folder of the three sources.
    list_path : Path
        The composite list checked against.
    sources : dict
        ``{dataset: root}``.
    classes : tuple of str
        ``("negative", "positive", "surprise")``.
    listed, found : dict
        ``{dataset: {class: n}}``: clips the list holds, and those of them found usable in the copies.
    listed_subjects, found_subjects : dict
        ``{dataset: n}``: distinct subjects of the list, and of the clips found.
    missing : list of Skipped
        Every listed clip absent from its copy or skipped by its loader, with the reason.
    unlisted : dict
        ``{dataset: n}``: clips of the copies the list does not hold (not used).
    mismatches : list of LabelMismatch
        Listed clips whose sheet emotion maps to another class than the list's.
    reports : dict
        ``{dataset: CheckReport}``: each source's own check.
    """

    root: Path
    list_path: Path
    sources: dict[str, Path]
    classes: tuple[str, ...]
    listed: dict[str, dict[str, int]]
    found: dict[str, dict[str, int]]
    listed_subjects: dict[str, int]
    found_subjects: dict[str, int]
    missing: list[Skipped] = field(default_factory=list)
    unlisted: dict[str, int] = field(default_factory=dict)
    mismatches: list[LabelMismatch] = field(default_factory=list)
    reports: dict[str, CheckReport] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        """``"composite"`` (like :attr:`CheckReport.dataset`)."""
        return "composite"

    @property
    def n_listed(self) -> int:
        """Clips of the list."""
        return sum(sum(v.values()) for v in self.listed.values())

    @property
    def n_found(self) -> int:
        """Listed clips found usable."""
        return sum(sum(v.values()) for v in self.found.values())

    @property
    def ok(self) -> bool:
        """Every listed clip is usable."""
        return not self.missing

    def render(self, width: int = 110) -> str:
        """The report as text (rich tables, no colour): found/listed per dataset and class, the
        missing clips (at most :data:`SHOWN_MISSING`), label mismatches, then each source's problems.
        """
        from rich.table import Table

        buf = io.StringIO()
        con = _console(buf, width)
        n_subjects = sum(self.listed_subjects.values())
        con.print(f"composite (MEGC 2019) at {self.root}")
        con.print(f"  list: {self.list_path} ({self.n_listed} clips, {n_subjects} subjects)")
        for k, v in self.sources.items():
            con.print(f"  {k}: {v}")
        n_unlisted = sum(self.unlisted.values())
        con.print(
            f"  {self.n_found} of {self.n_listed} listed clips found, {len(self.missing)} missing; "
            f"{n_unlisted} clip(s) on disk not in the list (not used)"
        )
        t = Table(title="clips found / listed", title_justify="left")
        for col in ("dataset", *self.classes, "total", "subjects", "not in list"):
            t.add_column(col, justify="left" if col == "dataset" else "right")
        for ds in self.sources:
            f, li = self.found.get(ds, {}), self.listed.get(ds, {})
            t.add_row(
                ds,
                *(f"{f.get(c, 0)}/{li.get(c, 0)}" for c in self.classes),
                f"{sum(f.values())}/{sum(li.values())}",
                f"{self.found_subjects.get(ds, 0)}/{self.listed_subjects.get(ds, 0)}",
                str(self.unlisted.get(ds, 0)),
            )
        t.add_row(
            "all",
            *(
                f"{sum(self.found[d].get(c, 0) for d in self.found)}/"
                f"{sum(self.listed[d].get(c, 0) for d in self.listed)}"
                for c in self.classes
            ),
            f"{self.n_found}/{self.n_listed}",
            f"{sum(self.found_subjects.values())}/{n_subjects}",
            str(n_unlisted),
            style="bold",
        )
        con.print(t)
        if self.missing:
            t = Table(
                title=f"{len(self.missing)} listed clip(s) missing or unusable",
                title_justify="left",
            )
            for col in ("clip", "what is wrong", "fix"):
                t.add_column(col, overflow="fold")
            for m in self.missing[:SHOWN_MISSING]:
                t.add_row(m.clip, m.problem, m.fix)
            con.print(t)
            if len(self.missing) > SHOWN_MISSING:
                con.print(f"... and {len(self.missing) - SHOWN_MISSING} more")
        else:
            con.print("every listed clip was found")
        if self.mismatches:
            t = Table(
                title=f"{len(self.mismatches)} clip(s) whose sheet emotion disagrees with the list "
                f"(the list's label is used)",
                title_justify="left",
            )
            for col in ("clip", "sheet emotion", "sheet class (megc3)", "list class"):
                t.add_column(col)
            for m in self.mismatches:
                t.add_row(m.clip, m.emotion, m.sheet_class or "(dropped)", m.list_class)
            con.print(t)
        for ds, rep in self.reports.items():
            # the source's own text as it is (printing it through rich again would re-wrap it and
            # read brackets in paths as markup)
            buf.write(f"\nsource {ds}: ")
            buf.write(rep.render(width=width, counts=False))
        return buf.getvalue()


def check_composite(
    root: str | Path | Mapping[str, str | Path],
    list: str | Path | None = None,  # the MEGC term for the clip list (load_composite's keyword)
    **options,
) -> CompositeCheck:
    """Check the three source copies of the MEGC 2019 composite against its list.

    Parameters
    ----------
    root : str, Path or mapping
        ``{"casme2": path, "samm": path, "smic": path}`` or one folder holding ``casme2/``, ``samm/``
        and ``smic/``.
    list : str or Path, optional
        A composite list in the MEGC format; default the official one.
    **options
        Per-source options as mappings (``casme2={"variant": "cropped"}``), as for
        :func:`srmer.data.composite.load_composite`.

    Returns
    -------
    CompositeCheck
        Found vs listed clips per dataset and class, subjects, every missing clip, the clips on disk the
        list does not hold, label mismatches, and each source's own :class:`CheckReport`.

    Raises
    ------
    DatasetError
        A missing or nonexistent root, a malformed list, or a source its loader cannot read.
    """
    from srmer.data.composite import CLASSES, SOURCES, compose, megc3_label, normalise_subject

    comp = compose(root, list=list, **options)
    sset = comp.samples
    listed = {ds: dict.fromkeys(CLASSES, 0) for ds in SOURCES}
    listed_subjects: dict[str, set[str]] = {ds: set() for ds in SOURCES}
    for e in comp.entries:
        listed[e.dataset][CLASSES[e.label]] += 1
        listed_subjects[e.dataset].add(normalise_subject(e.subject))
    found = {ds: dict.fromkeys(CLASSES, 0) for ds in SOURCES}
    found_subjects: dict[str, set[str]] = {ds: set() for ds in SOURCES}
    mismatches = []
    for s in sset:
        found[s.dataset][s.label_name] += 1
        found_subjects[s.dataset].add(s.subject)
        sheet = megc3_label(s.dataset, s.emotion)
        if sheet != s.label:
            mismatches.append(
                LabelMismatch(
                    s.key, s.emotion, None if sheet is None else CLASSES[sheet], s.label_name
                )
            )
    per_source = {k: dict(options.get(k) or {}) for k in SOURCES}
    reports = {k: check_dataset(k, p, **per_source[k]) for k, p in sset.sources.items()}
    return CompositeCheck(
        root=sset.root,
        list_path=comp.list_path,
        sources=dict(sset.sources),
        classes=CLASSES,
        listed=listed,
        found=found,
        listed_subjects={k: len(v) for k, v in listed_subjects.items()},
        found_subjects={k: len(v) for k, v in found_subjects.items()},
        missing=[*sset.skipped],  # `list` is the parameter here
        unlisted={k: len(v) for k, v in comp.unlisted.items()},
        mismatches=mismatches,
        reports=reports,
    )
