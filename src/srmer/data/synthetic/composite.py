"""A synthetic MEGC 2019 composite: the three source layouts side by side and their composite list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from srmer.data.classmaps import ClassMap
from srmer.data.composite import SOURCES
from srmer.data.synthetic.layouts import META_FILE, generate
from srmer.errors import DatasetError

#: the composite list written beside the three trees (the MEGC file's name, ``combined`` -> composite)
LIST_FILE = "composite_3class_gt.csv"
_GENERATOR = "srmer.data.synthetic.generate_composite"


def megc_spelling(dataset: str, subject: str, clip: str) -> tuple[str, str]:
    """``(subject, clip)`` as the MEGC 2019 list spells a clip of the official layout.

    CASME II ``01`` -> ``sub01``; SAMM ``006`` -> ``6``; SMIC ``s1`` / ``s1_ne_01`` -> ``s01`` /
    ``s01_ne_01`` (the list zero pads SMIC subjects, the release does not).
    """
    if dataset == "casme2":
        return f"sub{subject}", clip
    if dataset == "samm":
        return str(int(subject)), clip
    number = int(subject[1:])
    megc = f"s{number:02d}"
    return megc, (megc + clip[len(subject) :] if clip.startswith(f"{subject}_") else clip)


def generate_composite(
    out_dir: str | Path,
    n_subjects: int = 4,
    clips_per_subject: int = 6,
    n_frames: int = 16,
    size: int = 256,
    seed: int = 0,
    **kwargs,
) -> Path:
    """Write a synthetic MEGC 2019 composite: CASME II, SAMM and SMIC-HS trees and their list.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write: ``out_dir/casme2``, ``out_dir/samm`` and ``out_dir/smic`` (each in its
        official layout, see :func:`~srmer.data.synthetic.generate`) and ``out_dir/composite_3class_gt.csv``.
        An existing folder is replaced only if this function wrote it (or it is empty).
    n_subjects, clips_per_subject, n_frames, size : int
        Per source dataset, as for :func:`~srmer.data.synthetic.generate`.
    seed : int
        CASME II uses ``seed``, SAMM ``seed + 1``, SMIC ``seed + 2``: the three datasets show
        different people, as the real ones do. The same arguments write identical files.
    **kwargs
        Further options of :func:`~srmer.data.synthetic.generate` (``amplitude``, ``nuisance``, ...);
        not ``layout``.

    Returns
    -------
    Path
        ``out_dir``; load it with
        ``load_composite(out_dir, list=out_dir / "composite_3class_gt.csv")``.

    Notes
    -----
    The list holds every generated clip the ``megc3`` map keeps (it drops e.g. CASME II's sadness,
    fear and others, SAMM's other), labelled by ``megc3``, with subjects spelt the MEGC way (``sub01``,
    ``6``, ``s01``) so the loader's matching of spellings is exercised. Everything is written into a
    hidden sibling folder and renamed at the end: a killed generation never leaves a folder that
    looks complete.
    """
    if "layout" in kwargs:
        raise DatasetError(
            "generate_composite writes all three layouts (casme2, samm, smic); do not pass layout="
        )
    out = Path(out_dir)
    if out.exists():
        _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    lines = []
    for k, dataset in enumerate(SOURCES):
        root = generate(
            tmp / dataset,
            n_subjects=n_subjects,
            clips_per_subject=clips_per_subject,
            n_frames=n_frames,
            size=size,
            seed=seed + k,
            layout=dataset,
            **kwargs,
        )
        cmap = ClassMap(dataset, "megc3")
        meta = json.loads((root / META_FILE).read_text())
        for clip in meta["clips"]:
            label = cmap(clip["emotion"])
            if label is None:
                continue  # megc3 drops this emotion: the composite does not hold it
            subject, name = megc_spelling(dataset, clip["subject"], clip["clip"])
            lines.append(f"{dataset},{subject},{name},{label}")
    (tmp / LIST_FILE).write_text("\n".join(lines) + "\n")
    (tmp / META_FILE).write_text(
        json.dumps(
            {
                "generator": _GENERATOR,
                "params": {
                    "n_subjects": n_subjects,
                    "clips_per_subject": clips_per_subject,
                    "n_frames": n_frames,
                    "size": size,
                    "seed": seed,
                    "seeds": {d: seed + k for k, d in enumerate(SOURCES)},
                },
                "list": LIST_FILE,
                "n_clips": len(lines),
            },
            indent=1,
        )
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _check_replaceable(out: Path) -> None:
    """Refuse to delete a folder this generator did not write (an empty one is fine)."""
    if out.is_dir() and not any(out.iterdir()):
        return
    meta = out / META_FILE
    try:
        ok = json.loads(meta.read_text()).get("generator") == _GENERATOR
    except (OSError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise DatasetError(
            f"{out} exists and was not written by generate_composite; choose an empty or new "
            f"output folder"
        )
