"""Class maps of the papers: raw emotion strings -> class labels, per dataset.

``4class`` is Zhou et al.'s Table I grouping (SMIC-HS keeps its 3 classes), ``5class`` the common
CASME II / SAMM 5-class protocol, ``megc3`` the MEGC 2019 composite (negative/positive/surprise) and
``7class`` the 7 basic expressions (RAF-DB, CAS(ME)^3) and ``raw`` keeps every emotion string as its
own class. Raw strings are matched case-insensitively.
Emotions a map does not list are dropped from the experiment (e.g. sadness and fear under ``5class``);
this is the papers' protocol, not an error.
"""

from __future__ import annotations

from srmer.errors import UnknownMethodError

# map name -> dataset -> {class name: raw emotions}; class order is the column order of the papers' tables.
_MAPS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "4class": {
        "casme2": {
            "negative": ("disgust", "sadness", "fear"),
            "positive": ("happiness",),
            "surprise": ("surprise",),
            "others": ("repression", "others"),
        },
        "samm": {
            "negative": ("anger", "contempt", "disgust", "fear", "sadness"),
            "positive": ("happiness",),
            "surprise": ("surprise",),
            "others": ("other",),
        },
        "smic": {
            "negative": ("negative",),
            "positive": ("positive",),
            "surprise": ("surprise",),
        },
        # CAS(ME)^3 part A spells its 7 emotions happy/sad/...; grouped like CASME II.
        "casme3": {
            "negative": ("disgust", "fear", "anger", "sad"),
            "positive": ("happy",),
            "surprise": ("surprise",),
            "others": ("others",),
        },
        # RAF-DB grouped the same way (neutral as others); FER work uses `7class`.
        "rafdb": {
            "negative": ("fear", "disgust", "sadness", "anger"),
            "positive": ("happiness",),
            "surprise": ("surprise",),
            "others": ("neutral",),
        },
    },
    "5class": {
        "casme2": {
            "happiness": ("happiness",),
            "surprise": ("surprise",),
            "disgust": ("disgust",),
            "repression": ("repression",),
            "others": ("others",),
        },
        "samm": {
            "anger": ("anger",),
            "contempt": ("contempt",),
            "happiness": ("happiness",),
            "surprise": ("surprise",),
            "other": ("other",),
        },
    },
    "megc3": {
        "casme2": {
            "negative": ("disgust", "repression"),
            "positive": ("happiness",),
            "surprise": ("surprise",),
        },
        "samm": {
            "negative": ("anger", "contempt", "disgust", "fear", "sadness"),
            "positive": ("happiness",),
            "surprise": ("surprise",),
        },
        "smic": {
            "negative": ("negative",),
            "positive": ("positive",),
            "surprise": ("surprise",),
        },
        "casme3": {
            "negative": ("disgust", "fear", "anger", "sad"),
            "positive": ("happy",),
            "surprise": ("surprise",),
        },
    },
    # The 7 basic-expression classes: RAF-DB's label order 1..7 and CAS(ME)^3's 7 emotions.
    "7class": {
        "rafdb": {
            e: (e,)
            for e in ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
        },
        "casme3": {
            e: (e,) for e in ("happy", "disgust", "fear", "anger", "sad", "surprise", "others")
        },
    },
}

# Raw emotion vocabularies, used by `raw` and to flag unknown strings.
RAW_EMOTIONS: dict[str, tuple[str, ...]] = {
    "casme2": ("happiness", "surprise", "disgust", "sadness", "fear", "repression", "others"),
    "samm": ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other"),
    "smic": ("negative", "positive", "surprise"),
    "casme3": ("happy", "disgust", "fear", "anger", "sad", "surprise", "others"),
    "rafdb": ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"),
}

CLASS_MAPS = ("4class", "5class", "megc3", "7class", "raw")


class ClassMap:
    """A mapping from raw emotion strings to class indices for one dataset.

    Parameters
    ----------
    dataset : str
        ``casme2``, ``samm``, ``smic``, ``casme3`` or ``rafdb``.
    name : str
        One of :data:`CLASS_MAPS`.
    """

    def __init__(self, dataset: str, name: str) -> None:
        if name not in CLASS_MAPS:
            raise UnknownMethodError("class map", name, CLASS_MAPS)
        if name == "raw":
            if dataset not in RAW_EMOTIONS:
                raise UnknownMethodError("dataset for class maps", dataset, list(RAW_EMOTIONS))
            groups = {e: (e,) for e in RAW_EMOTIONS[dataset]}
        else:
            table = _MAPS[name]
            if dataset not in table:
                raise UnknownMethodError(f"dataset for class map {name!r}", dataset, list(table))
            groups = table[dataset]
        self.dataset = dataset
        self.name = name
        self.classes: tuple[str, ...] = tuple(groups)
        self._lookup = {raw: i for i, raws in enumerate(groups.values()) for raw in raws}

    def __call__(self, emotion: str) -> int | None:
        """Class index of a raw emotion string, or ``None`` when this map drops it."""
        return self._lookup.get(normalise_emotion(emotion))

    def is_known(self, emotion: str) -> bool:
        """Whether the raw string belongs to the dataset's vocabulary at all."""
        return normalise_emotion(emotion) in RAW_EMOTIONS.get(self.dataset, ())


def normalise_emotion(emotion: str) -> str:
    """Lower-case, stripped emotion string (SAMM v2 uses title case, CASME II lower case)."""
    return str(emotion).strip().lower()
