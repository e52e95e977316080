"""The unit every loader returns: one micro-expression clip (or one static image) and its labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class Sample:
    """One clip of a dataset.

    Attributes
    ----------
    dataset : str
        Registered dataset name (``"casme2"``, ``"samm"``, ...).
    subject : str
        Subject id as the dataset spells it (``"01"`` for CASME II, ``"006"`` for SAMM, ``"s1"`` for SMIC).
        In a pooled set (the MEGC 2019 composite) it is prefixed by the dataset (``"casme2_01"``) so
        subjects of different datasets never share an id; the source's spelling is then in
        ``extra["source_subject"]``.
    clip : str
        Clip id within the subject (``"EP02_01f"``). A clip is identified by ``(subject, clip)``.
    frames : tuple of Path
        Frame files in temporal order (onset first for the micro-expression datasets).
    frame_numbers : tuple of int
        The dataset's frame number of each entry of ``frames``.
    onset, apex, offset : int or None
        Frame numbers (the dataset's numbering, not indices into ``frames``); ``apex`` is ``None`` when
        unknown (e.g. CASME II sub04 EP12_01f has apex ``/``).
    emotion : str
        The raw emotion string of the annotation (lower case).
    label : int
        Index of the mapped class in ``classes`` of the :class:`SampleSet`.
    label_name : str
        Name of the mapped class.
    extra : dict
        Loader-specific fields (action units, sheet row, ``source_subject`` ...); not compared.
    """

    dataset: str
    subject: str
    clip: str
    frames: tuple[Path, ...]
    frame_numbers: tuple[int, ...]
    onset: int | None
    apex: int | None
    offset: int | None
    emotion: str
    label: int
    label_name: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        """Stable identifier ``dataset/subject/clip`` (used in caches, reports and error messages).

        Always the source dataset's spelling (``casme2/01/EP02_01f``), also for a sample of a pooled
        set whose ``subject`` is prefixed (``casme2_01``): the clip's frames, and so every cached stage
        output keyed by this id, are the same whether it is loaded alone or inside the composite, so
        the two runs share their caches.
        """
        subject = self.extra.get("source_subject", self.subject)
        return f"{self.dataset}/{subject}/{self.clip}"

    def __repr__(self) -> str:
        # the dataclass repr lists every frame path (hundreds for SAMM); a clip is named by its key
        apex = "?" if self.apex is None else self.apex
        return (
            f"Sample({self.key!r}, {self.label_name!r}, {len(self.frames)} frames, "
            f"onset={self.onset}, apex={apex}, offset={self.offset})"
        )

    def read(self, grey: bool = False) -> np.ndarray:
        """The clip's frames as one array, in temporal order.

        Parameters
        ----------
        grey : bool
            Read as single-channel luminance instead of RGB.

        Returns
        -------
        ndarray
            ``(T, H, W, 3)`` RGB, or ``(T, H, W)`` when ``grey``; uint8, 0..255; ``T = len(frames)``.

        Raises
        ------
        srmer.errors.ClipError
            A frame is missing, unreadable or of another size than the first (the message names it).
        """
        from srmer.video.io import read_frames

        return read_frames(self.frames, grey=grey)

    def index_of(self, frame_number: int) -> int:
        """Position in ``frames`` of the given dataset frame number (``ValueError`` if absent)."""
        return self.frame_numbers.index(frame_number)

    @property
    def onset_index(self) -> int:
        """Index of the onset frame in ``frames`` (0 when the onset is not annotated)."""
        if self.onset is None or self.onset not in self.frame_numbers:
            return 0
        return self.index_of(self.onset)

    @property
    def apex_index(self) -> int:
        """Index of the apex frame; the middle frame when the apex is unknown (SMIC convention)."""
        if self.apex is not None and self.apex in self.frame_numbers:
            return self.index_of(self.apex)
        return len(self.frames) // 2


#: the fixed leading columns of :meth:`SampleSet.to_frame`
FRAME_COLUMNS = (
    "dataset",
    "subject",
    "clip",
    "key",
    "emotion",
    "label",
    "label_name",
    "n_frames",
    "onset",
    "apex",
    "offset",
    "first_frame",
)


@dataclass(frozen=True)
class Skipped:
    """A clip a loader could not use, with the reason and the fix."""

    clip: str
    problem: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.clip}: {self.problem}" + (f" ({self.fix})" if self.fix else "")


@dataclass
class SampleSet:
    """A loaded dataset: its clips, class names and the clips it had to skip.

    Behaves like a read-only list of :class:`Sample`.

    Attributes
    ----------
    name : str
        The dataset's registered name.
    root : Path
        The root folder it was loaded from (for a pooled set, the common folder of its sources).
    class_map : str
        The class map applied.
    classes : tuple of str
        Class names, in label order.
    samples : list of Sample
        The usable clips.
    skipped : list of Skipped
        Clips that could not be used, with the reason and the fix.
    sources : dict
        Pooled sets only (the composite): ``{source dataset: root}``; empty for a single dataset.
    unlisted : int
        Pooled sets only: clips found in the source copies that the pooled set's clip list does not
        hold (not used, not an error); 0 for a single dataset.
    """

    name: str
    root: Path
    class_map: str
    classes: tuple[str, ...]
    samples: list[Sample]
    skipped: list[Skipped] = field(default_factory=list)
    sources: dict[str, Path] = field(default_factory=dict)
    unlisted: int = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self):
        return iter(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]

    @property
    def subjects(self) -> list[str]:
        """Sorted distinct subject ids."""
        return sorted({s.subject for s in self.samples})

    def __repr__(self) -> str:
        return (
            f"SampleSet({self.name!r}, {len(self.samples)} clips, {len(self.subjects)} subjects, "
            f"classes={list(self.classes)}, skipped={len(self.skipped)})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per clip, for pandas-style exploration (as MEB users expect).

        Returns
        -------
        pandas.DataFrame
            Columns ``dataset, subject, clip, key, emotion, label, label_name, n_frames, onset,
            apex, offset, first_frame`` (``first_frame`` is the path of the first frame, a str),
            then one column per loader-specific ``extra`` field (e.g. ``source_subject``, action
            units). ``onset``/``apex``/``offset`` are nullable integers (``<NA>`` when unknown).
        """
        import pandas as pd

        rows = []
        for s in self.samples:
            row = {
                "dataset": s.dataset,
                "subject": s.subject,
                "clip": s.clip,
                "key": s.key,
                "emotion": s.emotion,
                "label": s.label,
                "label_name": s.label_name,
                "n_frames": len(s.frames),
                "onset": s.onset,
                "apex": s.apex,
                "offset": s.offset,
                "first_frame": str(s.frames[0]) if s.frames else "",
            }
            for k, v in s.extra.items():
                row.setdefault(
                    k, v if isinstance(v, str | int | float | bool) or v is None else str(v)
                )
            rows.append(row)
        df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(FRAME_COLUMNS))
        for col in ("onset", "apex", "offset"):
            df[col] = df[col].astype("Int64")
        return df

    def counts(self) -> dict[str, int]:
        """Number of clips per class name, in ``classes`` order."""
        out = dict.fromkeys(self.classes, 0)
        for s in self.samples:
            out[s.label_name] += 1
        return out
