"""The MEGC 2019 composite: CASME II + SAMM + SMIC-HS pooled into negative / positive / surprise.

The composite is defined by a list of clips (``dataset, subject, clip, label``; the official one ships as
``srmer/data/protocols/megc2019_composite_3class.csv``), not by a class map: each source is loaded from
its own official layout with its own loader, then exactly the listed clips are kept, labelled by the
list.

Layout: the three source copies, each as its own loader expects it::

    {"casme2": "/data/CASME2", "samm": "/data/SAMM", "smic": "/data/SMIC"}

or one folder holding them as ``casme2/``, ``samm/`` and ``smic/``.

Matching. The list spells subjects the challenge's way (``sub01``, ``6``, ``s01``; SMIC clips
``s01_ne_01``) while the copies spell them ``01``, ``006``, ``s1`` (``s1_ne_01``). A listed clip matches
a clip on disk when the dataset is the same, the subjects have the same number and the clip ids are
equal ignoring case, after a SMIC clip's subject prefix is reduced to its number.

>>> samples = load_composite({"casme2": c2, "samm": sm, "smic": sc})  # doctest: +SKIP
>>> samples.counts()  # doctest: +SKIP
{'negative': 250, 'positive': 109, 'surprise': 83}
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from srmer.data.classmaps import ClassMap
from srmer.data.sample import Sample, SampleSet, Skipped
from srmer.errors import DatasetError

__all__ = [
    "CLASSES",
    "MEGC2019_LIST",
    "SOURCES",
    "CompositeEntry",
    "Composition",
    "compose",
    "load_composite",
    "match_key",
    "megc3_label",
    "normalise_clip",
    "normalise_subject",
    "read_composite_list",
    "resolve_roots",
]

#: the official MEGC 2019 composite list shipped with srmer (442 clips, 68 subjects)
MEGC2019_LIST = Path(__file__).parent / "protocols" / "megc2019_composite_3class.csv"
#: the source datasets, in the order the composite reports them
SOURCES = ("casme2", "samm", "smic")
#: class names of the list's labels 0, 1, 2
CLASSES = ("negative", "positive", "surprise")
_NAMES = {"casme2": "CASME II", "samm": "SAMM", "smic": "SMIC-HS"}
_FORMAT = "dataset,subject,clip,label (no header; label 0 negative, 1 positive, 2 surprise)"


@dataclass(frozen=True)
class CompositeEntry:
    """One row of a composite list, as the list spells it.

    Attributes
    ----------
    dataset : str
        ``casme2``, ``samm`` or ``smic`` (lower case).
    subject : str
        Subject as the list spells it (``sub01``, ``6``, ``s01``).
    clip : str
        Clip id as the list spells it (``EP02_01f``, ``006_1_2``, ``s01_ne_01``).
    label : int
        0 negative, 1 positive, 2 surprise.
    """

    dataset: str
    subject: str
    clip: str
    label: int

    @property
    def key(self) -> str:
        """``dataset/subject/clip`` in the list's spelling (used in skipped entries and reports)."""
        return f"{self.dataset}/{self.subject}/{self.clip}"

    @property
    def match_key(self) -> tuple[str, str, str]:
        """The key a clip on disk must share to match this entry (see :func:`normalise_subject`)."""
        return match_key(self.dataset, self.subject, self.clip)


def normalise_subject(subject: str) -> str:
    """A subject id reduced to its number, so every spelling of it compares equal.

    ``sub01``/``01`` -> ``1`` (CASME II), ``6``/``006`` -> ``6`` (SAMM), ``s01``/``s1`` -> ``1``
    (SMIC); an id without that shape is only lower-cased.
    """
    t = str(subject).strip().lower()
    m = re.fullmatch(r"(?:sub|s)?0*(\d+)", t)
    return str(int(m.group(1))) if m else t


def normalise_clip(dataset: str, clip: str) -> str:
    """A clip id in a comparable spelling: lower case; SMIC's subject prefix reduced to its number.

    SMIC clip ids start with the subject folder's name, which MEGC zero pads (``s01_ne_01``) and the
    release does not (``s1_ne_01``); CASME II and SAMM clip ids are spelt the same in both.
    """
    t = str(clip).strip().lower()
    if dataset == "smic":
        t = re.sub(r"^s0*(\d+)_", r"s\1_", t)
    return t


def match_key(dataset: str, subject: str, clip: str) -> tuple[str, str, str]:
    """``(dataset, normalised subject, normalised clip)``: equal for a listed clip and its copy."""
    return (dataset, normalise_subject(subject), normalise_clip(dataset, clip))


def read_composite_list(path: str | Path | None = None) -> list[CompositeEntry]:
    """Read a composite list in the MEGC 2019 format.

    Parameters
    ----------
    path : str or Path, optional
        A CSV file without header, one clip a line: ``dataset,subject,clip,label`` with ``dataset`` in
        casme2/samm/smic and ``label`` 0 (negative), 1 (positive) or 2 (surprise). Blank lines and
        ``,,,`` lines (the challenge's ``-2`` copy has them) are skipped. Default: the official list
        :data:`MEGC2019_LIST`.

    Returns
    -------
    list of CompositeEntry
        In the file's order.

    Raises
    ------
    DatasetError
        The file is missing or empty, or a line has the wrong number of columns, an unknown dataset,
        a label other than 0/1/2, an empty subject or clip, or repeats a clip; the message names the
        file, the line and the fix.
    """
    path = Path(path) if path is not None else MEGC2019_LIST
    if not path.is_file():
        raise DatasetError(
            f"composite list {path} does not exist; pass a CSV in the MEGC 2019 format ({_FORMAT}) "
            f"or leave list= out to use the official one"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM written by spreadsheet programs
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(
            f"composite list {path} cannot be read ({e}); it must be a text CSV ({_FORMAT})"
        ) from e
    entries: list[CompositeEntry] = []
    seen: dict[tuple[str, str, str], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split(",")]
        if not any(cells):
            continue  # blank and ",,," separator lines

        def bad(what: str, fix: str, number: int = number, line: str = line) -> DatasetError:
            return DatasetError(
                f"composite list {path}, line {number} ({line.strip()!r}): {what}; {fix}"
            )

        if len(cells) != 4:
            raise bad(
                f"expected 4 columns, found {len(cells)}",
                f"write the line as {_FORMAT}",
            )
        dataset, subject, clip, label = cells
        dataset = dataset.lower()
        if dataset not in SOURCES:
            hint = " (the list has no header line: remove it)" if number == 1 else ""
            raise bad(
                f"dataset {cells[0]!r} is not one of {', '.join(SOURCES)}{hint}",
                "correct the first column",
            )
        if label not in ("0", "1", "2"):
            raise bad(
                f"label {label!r} is not 0, 1 or 2",
                "use 0 for negative, 1 for positive, 2 for surprise",
            )
        if not subject or not clip:
            raise bad("the subject or clip column is empty", "complete the line or remove it")
        entry = CompositeEntry(dataset, subject, clip, int(label))
        first = seen.get(entry.match_key)
        if first is not None:
            raise bad(
                f"clip {entry.key} is listed twice (first on line {first})",
                "remove the repeated line",
            )
        seen[entry.match_key] = number
        entries.append(entry)
    if not entries:
        raise DatasetError(
            f"composite list {path} holds no clips; it needs one line per clip ({_FORMAT})"
        )
    return entries


def resolve_roots(root: str | Path | Mapping[str, str | Path]) -> dict[str, Path]:
    """The three source roots of a composite, checked to exist.

    Parameters
    ----------
    root : str, Path or mapping
        ``{"casme2": path, "samm": path, "smic": path}`` (all three), or one folder holding sub-folders
        named ``casme2``, ``samm`` and ``smic`` (matched ignoring case).

    Returns
    -------
    dict
        ``{dataset: Path}`` in :data:`SOURCES` order.

    Raises
    ------
    DatasetError
        A key is missing or unknown, a path does not exist, or the folder lacks a sub-folder; the
        message names the dataset, the path and the fix.
    """
    usage = (
        "pass root={'casme2': PATH, 'samm': PATH, 'smic': PATH} or one folder holding "
        "casme2/, samm/ and smic/"
    )
    if isinstance(root, Mapping):
        unknown = sorted(str(k) for k in root if k not in SOURCES)
        if unknown:
            raise DatasetError(
                f"composite root: unknown source {', '.join(map(repr, unknown))}; the composite's "
                f"sources are {', '.join(SOURCES)} ({usage})"
            )
        missing = [k for k in SOURCES if k not in root or root[k] in (None, "")]
        if missing:
            raise DatasetError(
                f"composite root: no folder given for {', '.join(missing)}; all three sources are "
                f"needed ({usage})"
            )
        roots = {k: Path(root[k]) for k in SOURCES}
        for k, p in roots.items():
            if not p.exists():
                raise DatasetError(
                    f"composite root for {k}: {p} does not exist; pass the folder of your "
                    f"{_NAMES[k]} copy as {k}=PATH"
                )
        return roots
    parent = Path(root)
    if not parent.is_dir():
        raise DatasetError(f"composite root {parent} does not exist; {usage}")
    children = {p.name.lower(): p for p in sorted(parent.iterdir()) if p.is_dir()}
    missing = [k for k in SOURCES if k not in children]
    if missing:
        raise DatasetError(
            f"composite root {parent} has no {', '.join(f'{k}/' for k in missing)} folder; put the "
            f"{' and '.join(_NAMES[k] for k in missing)} copy there or {usage}"
        )
    return {k: children[k] for k in SOURCES}


@dataclass
class Composition:
    """Everything :func:`compose` found: the composite, and what was left out of it and why.

    Attributes
    ----------
    samples : SampleSet
        The composite (see :func:`load_composite`).
    entries : list of CompositeEntry
        The list as read.
    list_path : Path
        The list file.
    sources : dict
        ``{dataset: SampleSet}``: each source as its loader returned it (``raw`` classes).
    unlisted : dict
        ``{dataset: [clip keys]}``: clips of the copies (loaded or skipped by their loader) that the
        list does not hold.
    """

    samples: SampleSet
    entries: list[CompositeEntry]
    list_path: Path
    sources: dict[str, SampleSet]
    unlisted: dict[str, list[str]] = field(default_factory=dict)


def _load_source(dataset: str, root: Path, options: Mapping) -> SampleSet:
    # each source through its own loader, keeping every annotated emotion: the list, not a class
    # map, decides which clips belong to the composite
    from srmer.data.casme2 import load_casme2
    from srmer.data.samm import load_samm
    from srmer.data.smic import load_smic

    loader = {"casme2": load_casme2, "samm": load_samm, "smic": load_smic}[dataset]
    # checked against the signature rather than by catching TypeError, which a bug inside the
    # loader could raise too; `classes` is not an option here (the list decides the labels)
    known = [p for p in inspect.signature(loader).parameters if p not in ("root", "classes")]
    bad = sorted(k for k in options if k not in known)
    if bad:
        raise DatasetError(
            f"composite source {dataset}: bad option {', '.join(map(repr, bad))} in "
            f"{dataset}={dict(options)!r}; the {dataset} loader takes {', '.join(known)}"
        )
    try:
        return loader(root, classes="raw", **options)
    except DatasetError as e:
        raise DatasetError(f"composite source {dataset} ({root}): {e}") from e


def _source_options(options: Mapping) -> dict[str, dict]:
    unknown = sorted(k for k in options if k not in SOURCES)
    if unknown:
        raise DatasetError(
            f"composite: unknown option {', '.join(map(repr, unknown))}; the composite takes list= "
            f"and per-source loader options as casme2={{...}}, samm={{...}}, smic={{...}} "
            f"(e.g. casme2={{'variant': 'cropped'}})"
        )
    out: dict[str, dict] = {}
    for k in SOURCES:
        v = options.get(k) or {}
        if not isinstance(v, Mapping):
            raise DatasetError(
                f"composite option {k}={v!r}: give the {k} loader's options as a mapping, "
                f"e.g. {k}={{'sheet': 'PATH'}}"
            )
        out[k] = dict(v)
    return out


def _split_key(key: str) -> tuple[str, str, str]:
    dataset, subject, clip = key.split("/", 2)
    return dataset, subject, clip


def compose(
    root: str | Path | Mapping[str, str | Path],
    list: str | Path | None = None,  # shadows the builtin: `list` is load_composite's keyword
    **options,
) -> Composition:
    """Load the three sources and keep the listed clips (what :func:`load_composite` returns, and more).

    Parameters are those of :func:`load_composite` (without ``classes``).

    Returns
    -------
    Composition
        The composite and, per source, the loaded set and the unlisted clips.
    """
    roots = resolve_roots(root)
    per_source = _source_options(options)
    list_path = Path(list) if list is not None else MEGC2019_LIST
    entries = read_composite_list(list_path)
    sources = {k: _load_source(k, roots[k], per_source[k]) for k in SOURCES}

    found: dict[tuple[str, str, str], Sample] = {}
    unusable: dict[tuple[str, str, str], Skipped] = {}
    # every clip of the copies, usable or not, by match key (a repeated sheet row counts once)
    on_disk: dict[str, dict[tuple[str, str, str], str]] = {k: {} for k in SOURCES}
    for k, sset in sources.items():
        for s in sset:
            mk = match_key(k, s.subject, s.clip)
            found.setdefault(mk, s)  # the source already flags duplicates; keep the first
            on_disk[k].setdefault(mk, s.key)
        for sk in sset.skipped:
            _, subject, clip = _split_key(sk.clip)
            mk = match_key(k, subject, clip)
            unusable.setdefault(mk, sk)
            on_disk[k].setdefault(mk, sk.clip)

    samples: list[Sample] = []
    skipped: list[Skipped] = []
    for e in entries:
        mk = e.match_key
        s = found.get(mk)
        if s is not None:
            extra = {
                **s.extra,
                "source_subject": s.subject,
                "megc_subject": e.subject,
                "megc_clip": e.clip,
            }
            samples.append(
                replace(
                    s,
                    subject=f"{e.dataset}_{s.subject}",
                    label=e.label,
                    label_name=CLASSES[e.label],
                    extra=extra,
                )
            )
        elif mk in unusable:
            why = unusable[mk]
            skipped.append(
                Skipped(
                    e.key,
                    f"in the MEGC 2019 list but unusable in the {e.dataset} copy at "
                    f"{roots[e.dataset]}: {why.problem}",
                    why.fix,
                )
            )
        else:
            skipped.append(
                Skipped(
                    e.key,
                    f"in the MEGC 2019 list but missing from the {e.dataset} copy at "
                    f"{roots[e.dataset]}: no such annotated clip",
                    "restore its frames and annotation, or remove it from the list",
                )
            )

    listed = {e.match_key for e in entries}
    unlisted = {k: [key for mk, key in on_disk[k].items() if mk not in listed] for k in SOURCES}
    try:
        common = Path(os.path.commonpath([str(p.resolve()) for p in roots.values()]))
    except ValueError:  # roots on different drives have no common folder
        common = roots["casme2"].resolve().parent
    sset = SampleSet(
        name="composite",
        root=common,
        class_map="megc3",
        classes=CLASSES,
        samples=samples,
        skipped=skipped,
        sources=dict(roots),
        unlisted=sum(len(v) for v in unlisted.values()),
    )
    return Composition(sset, entries, list_path, sources, unlisted)


def load_composite(
    root: str | Path | Mapping[str, str | Path],
    classes: str = "megc3",
    list: str | Path | None = None,  # the MEGC term for the clip list
    **options,
) -> SampleSet:
    """Load the MEGC 2019 composite (CASME II + SAMM + SMIC-HS, negative/positive/surprise).

    Parameters
    ----------
    root : str, Path or mapping
        ``{"casme2": path, "samm": path, "smic": path}`` (each the root its own loader takes), or one
        folder holding ``casme2/``, ``samm/`` and ``smic/``.
    classes : str
        Must be ``megc3``: the composite's classes are fixed by its list.
    list : str or Path, optional
        A composite list in the MEGC format (``dataset,subject,clip,label``, no header), e.g. the one
        :func:`srmer.data.synthetic.generate_composite` writes. Default: the official 442-clip list.
    **options
        Per-source loader options as mappings: ``casme2={"variant": "cropped"}``,
        ``samm={"sheet": "..."}``, ``smic={"apex": "none"}``.

    Returns
    -------
    SampleSet
        The listed clips found in the copies, in the list's order, labelled by the list (``classes`` =
        negative, positive, surprise; ``emotion`` keeps the sheet's raw emotion). Each sample keeps its
        source ``dataset``; ``subject`` is ``"<dataset>_<source subject>"`` (``casme2_01``,
        ``samm_006``, ``smic_s1``) so subjects never collide across datasets (LOSO leaves out one
        person); ``extra`` holds ``source_subject``, ``megc_subject`` and ``megc_clip``; ``key`` stays the
        source's (``casme2/01/EP02_01f``) so stage caches are shared with single-dataset runs. Listed
        clips that are absent or that their loader skipped are in ``skipped`` with the reason;
        ``unlisted`` counts the copies' clips the list does not hold (not used); ``sources`` maps each
        dataset to its root and ``root`` is the roots' common folder.

    Raises
    ------
    DatasetError
        ``classes`` other than ``megc3``, a missing or nonexistent root, a malformed list, or a source
        its loader cannot read (the message names the dataset and the path).
    """
    if classes != "megc3":
        raise DatasetError(
            f"composite: classes={classes!r} is not available; the composite's classes are fixed by "
            f"the MEGC 2019 list (negative, positive, surprise): use classes='megc3' or leave it out"
        )
    return compose(root, list=list, **options).samples


def megc3_label(dataset: str, emotion: str) -> int | None:
    """The ``megc3`` class a source emotion maps to (``None`` when the map drops it)."""
    return ClassMap(dataset, "megc3")(emotion)
