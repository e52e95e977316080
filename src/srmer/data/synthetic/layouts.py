"""Write synthetic datasets to disk in the official layouts (CASME II, SAMM, SMIC-HS, RAF-DB)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from srmer.data.synthetic.clip import (
    Nuisance,
    au_field,
    draw_clip_spec,
    render_clip,
    render_frame,
)
from srmer.data.synthetic.face import DEFAULT_TEXTURE, identity_rng, make_identity
from srmer.errors import DatasetError
from srmer.video.io import write_image

META_FILE = "synthetic_meta.json"

# Identity domains: evaluation subjects, SR training pool and the static FER set never share an identity,
# because an identity's random stream is keyed by (seed, domain, index).
EVAL, POOL, STATIC = 0, 1, 2
# Other random streams of a generated set (kept apart from identity streams by their spawn keys).
# The subject stream is its own key so that turning ``subject_difficulty`` on leaves every clip's
# stream, and so every other random choice, exactly as it was.
_CLIP_STREAM, _PLAN_STREAM, _SUBJECT_STREAM = 10, 11, 12

# 4class group -> (raw emotion as the layout spells it, weight); weights follow the real sheets'
# proportions inside each group (CASME II 2014 sheet, SAMM v2).
_RAW_BY_GROUP: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "casme2": {
        "negative": (("disgust", 0.75), ("sadness", 0.15), ("fear", 0.10)),
        "positive": (("happiness", 1.0),),
        "surprise": (("surprise", 1.0),),
        "others": (("others", 0.7), ("repression", 0.3)),
    },
    "samm": {
        "negative": (
            ("Anger", 0.55),
            ("Contempt", 0.15),
            ("Disgust", 0.12),
            ("Fear", 0.1),
            ("Sadness", 0.08),
        ),
        "positive": (("Happiness", 1.0),),
        "surprise": (("Surprise", 1.0),),
        "others": (("Other", 1.0),),
    },
    "casme3": {
        "negative": (("disgust", 0.5), ("anger", 0.2), ("fear", 0.15), ("sad", 0.15)),
        "positive": (("happy", 1.0),),
        "surprise": (("surprise", 1.0),),
        "others": (("others", 1.0),),
    },
    "smic": {
        "negative": (("negative", 1.0),),
        "positive": (("positive", 1.0),),
        "surprise": (("surprise", 1.0),),
    },
}
_SMIC_ABBR = {"negative": "ne", "positive": "po", "surprise": "sur"}

# Clip counts per 4class group of the real databases (the ``class_balance`` options of
# :func:`generate`). CASME II (255 clips, 4class grouping): negative = disgust 63 + sadness 7 +
# fear 2, positive = happiness 32, surprise 25, others = others 99 + repression 27. SAMM (159 micro
# clips under the same grouping): negative 92, positive 26, surprise 15, others 26. SMIC-HS (164
# clips, its own 3 classes): negative 70, positive 51, surprise 43.
CLASS_BALANCES: dict[str, dict[str, int]] = {
    "casme2": {"negative": 72, "positive": 32, "surprise": 25, "others": 126},
    "samm": {"negative": 92, "positive": 26, "surprise": 15, "others": 26},
    "smic": {"negative": 70, "positive": 51, "surprise": 43},
}

LAYOUTS = ("casme2", "samm", "smic", "casme3")


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(key)))


def _prepare(out: Path, folder: str) -> None:
    """Empty a previously generated tree; refuse to overwrite anything srmer did not write."""
    target = out / folder
    if target.exists():
        if not (out / META_FILE).is_file():
            raise DatasetError(
                f"{target} exists and was not written by the synthetic generator; "
                f"choose an empty output folder"
            )
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)


def _plan(
    layout: str,
    n_subjects: int,
    clips_per_subject: int,
    seed: int,
    class_balance: str = "cycle",
) -> list[list[tuple[str, str]]]:
    """Per subject, the 4class group and raw emotion of each clip.

    ``class_balance="cycle"``: groups cycle through a per-subject permutation so every subject has
    every group once ``clips_per_subject >= number of groups`` (LOSO folds then test every class),
    and the groups are balanced overall. Otherwise each clip's group is drawn independently with the
    proportions of :data:`CLASS_BALANCES` ``[class_balance]`` (restricted to the layout's groups), then
    :func:`_ensure_every_group` makes sure every group occurs once there are enough clips.
    """
    if class_balance == "cycle":
        return _cycle_plan(layout, n_subjects, clips_per_subject, seed)
    groups, weights = _balance_weights(layout, class_balance)
    # its own sub-stream: the "cycle" plan's stream and the naming streams (PLAN, 1, i) are untouched
    rng = _stream(seed, _PLAN_STREAM, 2)
    n = n_subjects * clips_per_subject
    drawn = rng.choice(len(groups), size=n, p=weights)
    drawn = _ensure_every_group(drawn, len(groups), rng)
    plan = []
    for i in range(n_subjects):
        clips = []
        for gi in drawn[i * clips_per_subject : (i + 1) * clips_per_subject]:
            g = groups[int(gi)]
            clips.append((g, _draw_raw(layout, g, rng)))
        plan.append(clips)
    return plan


def _cycle_plan(
    layout: str, n_subjects: int, clips_per_subject: int, seed: int
) -> list[list[tuple[str, str]]]:
    """The ``"cycle"`` plan, drawn exactly as before the ``class_balance`` option existed.

    The permutation and the raw emotions of a subject come from one stream, in this order (subject
    by subject: permutation, then one raw draw per clip); changing that order would change every
    default dataset.
    """
    rng = _stream(seed, _PLAN_STREAM)
    groups = list(_RAW_BY_GROUP[layout])
    plan = []
    for _ in range(n_subjects):
        order = list(rng.permutation(groups))
        seq = [order[j % len(order)] for j in range(clips_per_subject)]
        plan.append([(g, _draw_raw(layout, g, rng)) for g in seq])
    return plan


def _draw_raw(layout: str, group: str, rng: np.random.Generator) -> str:
    """A raw emotion of ``group`` in the layout's spelling, with the layout's within-group weights."""
    names = [r for r, _ in _RAW_BY_GROUP[layout][group]]
    w = np.array([p for _, p in _RAW_BY_GROUP[layout][group]])
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _balance_weights(layout: str, class_balance: str) -> tuple[list[str], np.ndarray]:
    """The layout's groups and their probabilities under ``class_balance``.

    Groups the layout does not have are left out and the rest renormalised (SMIC-HS has no
    "others": ``layout="smic", class_balance="casme2"`` draws CASME II's negative : positive :
    surprise ratios); a layout group the database has no count for cannot be drawn and is an error.
    """
    if class_balance not in CLASS_BALANCES:
        raise DatasetError(
            f"unknown class_balance {class_balance!r}; choose 'cycle' or one of "
            f"{', '.join(CLASS_BALANCES)}"
        )
    counts = CLASS_BALANCES[class_balance]
    groups = list(_RAW_BY_GROUP[layout])
    lacking = [g for g in groups if g not in counts]
    if lacking:
        raise DatasetError(
            f"class_balance={class_balance!r} has no {'/'.join(lacking)} class, which the "
            f"{layout} layout needs; choose a class_balance with the classes "
            f"{', '.join(groups)} (e.g. {layout!r} or 'cycle')"
        )
    w = np.array([counts[g] for g in groups], dtype=np.float64)
    return groups, w / w.sum()


def _ensure_every_group(drawn: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Relabel a few clips so that each of the ``k`` groups occurs at least once.

    Only when there are at least ``k`` clips (fewer cannot hold every group). Without this, a small
    imbalanced set (e.g. 3 subjects x 4 clips under SAMM's 15/159 surprise rate) often lacks a class
    entirely and UAR / UF1 are undefined. Each missing group takes the place of a random clip of the
    currently most frequent group, which changes the expected proportions by at most ``k - 1`` clips.
    """
    out = drawn.copy()
    if out.size < k:
        return out
    for g in range(k):
        if np.any(out == g):
            continue
        counts = np.bincount(out, minlength=k)
        # the most frequent group has >= 2 clips here (n >= k and some group is missing), so taking
        # one of its clips never empties it
        donor = int(np.argmax(counts))
        out[int(rng.choice(np.flatnonzero(out == donor)))] = g
    return out


def generate(
    out_dir: str | Path,
    n_subjects: int = 10,
    clips_per_subject: int = 8,
    n_frames: int = 24,
    size: int = 256,
    amplitude: float = 2.0,
    seed: int = 0,
    layout: str = "casme2",
    nuisance: Nuisance | None = None,
    amplitude_jitter: float = 0.2,
    non_micro_per_subject: int = 1,
    texture: float = DEFAULT_TEXTURE,
    class_balance: str = "cycle",
    subject_difficulty: float = 0.0,
) -> Path:
    """Generate a synthetic micro-expression dataset in an official on-disk layout.

    Parameters
    ----------
    out_dir : str or Path
        Dataset root to write (created). Pass it to :func:`srmer.data.load` as ``root``.
    n_subjects : int
        Number of subjects (distinct identities).
    clips_per_subject : int
        Clips per subject; with ``class_balance="cycle"`` the classes cycle so each subject has every
        class when this is at least the number of classes (4 for CASME II / SAMM, 3 for SMIC-HS).
    n_frames : int
        Frames per clip, onset to offset inclusive (>= 3).
    size : int
        Side of the square face crop in pixels.
    amplitude : float
        Nominal apex displacement in pixels at 256x256 (scaled with ``size``); each clip draws its own
        within ``amplitude * (1 +- amplitude_jitter)``. About 2 px reproduces the real databases'
        difficulty (docs/synthetic.md); lower it to make the data harder.
    seed : int
        Determines everything: the same arguments write identical files.
    layout : {"casme2", "samm", "smic", "casme3"}
        ``casme2``: ``CASME2_RAW_selected/subXX/EPxx_yy/imgN.jpg`` + ``CASME2-coding-20140508.xlsx``;
        ``samm``: ``SAMM/006/006_1_2/006_05562.jpg`` (grey) + ``SAMM_Micro_FACS_Codes_v2.xlsx``;
        ``smic``: ``HS/s1/micro/negative/s1_ne_01/image559740.bmp`` (+ ``non_micro`` clips);
        ``casme3``: ``data/part_A/spNO.1/a/color/N.jpg`` (one video per clip, 3 neutral frames before
        the onset and after the offset) + ``annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx``.
    nuisance : Nuisance, optional
        Head motion, blink, lighting and noise strengths (default :class:`Nuisance`).
    amplitude_jitter : float
        Relative per-clip spread of the amplitude.
    non_micro_per_subject : int
        SMIC layout only: clips without a micro-expression written to ``non_micro`` (loaders must
        ignore them).
    texture : float
        Skin texture contrast multiplier (:func:`~srmer.data.synthetic.face.make_identity`).
    class_balance : {"cycle", "casme2", "samm", "smic"}, default "cycle"
        How clips get their class. ``"cycle"``: classes cycle in a per-subject random order, so the
        set is balanced and every subject has every class. ``"casme2"`` / ``"samm"`` / ``"smic"``:
        each clip's class is drawn independently with that database's proportions
        (:data:`CLASS_BALANCES`; CASME II 4class negative 72 : positive 32 : surprise 25 :
        others 126, SAMM 92 : 26 : 15 : 26, SMIC-HS negative 70 : positive 51 : surprise 43), so a
        classifier biased towards the majority class gets a WAR well above its UAR, as on the real
        data. Classes the layout lacks are left out and the rest renormalised (``layout="smic"``
        with ``"casme2"``); a layout class the database lacks (``"others"`` under ``"smic"``) is an
        error. Every class still occurs at least once when ``n_subjects * clips_per_subject`` is at
        least the number of classes (a few clips are relabelled if the draw missed one), so UAR is
        defined; a subject may lack some classes, as real subjects do.
    subject_difficulty : float, default 0.0
        Spread of a per-subject amplitude factor: subject ``i`` draws ``exp(subject_difficulty * z_i)``
        with ``z_i ~ N(0, 1)`` from its own stream (independent of the clip streams, and the same
        ``z_i`` for any ``subject_difficulty``), and every clip of the subject has its amplitude
        multiplied by it, so some subjects show weaker (harder) micro-expressions than others, as
        real subjects do. 0 (default) gives every subject factor 1. Recorded per clip as
        ``subject_scale`` in ``synthetic_meta.json`` (when non-zero).

    Returns
    -------
    Path
        ``out_dir``.

    Notes
    -----
    Frames are numbered like the real data (a non-zero onset; only onset..offset present) and the
    sheet is the official one's column layout, so the real loader path is exercised. A
    ``synthetic_meta.json`` beside the tree records each clip's action units, apex amplitude (px at
    ``size``, subject factor included) and identity key.

    ``class_balance="cycle"`` and ``subject_difficulty=0`` write exactly the files of a call that
    does not pass them (the meta file mentions the two options only when they are not the default),
    so datasets generated before the options existed are reproduced byte for byte.
    """
    if layout not in LAYOUTS:
        raise DatasetError(
            f"unknown synthetic layout {layout!r}; choose one of {', '.join(LAYOUTS)}"
        )
    if n_frames < 3:
        raise DatasetError(f"n_frames={n_frames} is too short; a clip needs at least 3 frames")
    if n_subjects < 1 or clips_per_subject < 1:
        raise DatasetError("n_subjects and clips_per_subject must be at least 1")
    if not (np.isfinite(subject_difficulty) and subject_difficulty >= 0):
        raise DatasetError(
            f"subject_difficulty={subject_difficulty} must be a finite number >= 0 "
            "(the standard deviation of the log amplitude factor per subject)"
        )
    if class_balance != "cycle":
        _balance_weights(layout, class_balance)  # validate before anything is written
    out = Path(out_dir)
    nuisance = nuisance or Nuisance()
    folder = {"casme2": "CASME2_RAW_selected", "samm": "SAMM", "smic": "HS", "casme3": "data"}[
        layout
    ]
    _prepare(out, folder)
    plan = _plan(layout, n_subjects, clips_per_subject, seed, class_balance)
    rows, meta_clips = [], []
    for i, clips in enumerate(plan):
        ident = make_identity(seed, EVAL, i, size, texture)
        scale = _subject_scale(seed, i, subject_difficulty)
        subject = _subject_id(layout, i)
        name_rng = _stream(seed, _PLAN_STREAM, 1, i)
        episodes = name_rng.permutation(max(40, clips_per_subject + 1))[:clips_per_subject] + 1
        per_class_count: dict[str, int] = {}
        for j, (group, raw) in enumerate(clips):
            rng = _stream(seed, _CLIP_STREAM, i, j)
            # amplitude * 1.0 is exactly amplitude, so subject_difficulty=0 changes nothing
            spec = draw_clip_spec(
                rng, raw, n_frames, amplitude * scale, size, nuisance, amplitude_jitter
            )
            frames = render_clip(ident, spec, rng)
            onset = _first_frame_number(layout, rng)
            numbers = list(range(onset, onset + n_frames))
            apex = onset + spec.apex_index
            per_class_count[group] = per_class_count.get(group, 0) + 1
            clip, paths = _clip_paths(
                layout,
                subject,
                group,
                int(episodes[j]),
                j,
                per_class_count[group],
                numbers,
                name_rng,
                folder,
            )
            if layout == "casme3":
                # whole-video folders: a few neutral frames before the onset and after the offset
                pad = [paths[0].with_name(f"{n}.jpg") for n in range(numbers[0] - 3, numbers[0])]
                post = [
                    paths[0].with_name(f"{n}.jpg") for n in range(numbers[-1] + 1, numbers[-1] + 4)
                ]
                _write_frames(out, pad, np.repeat(frames[:1], 3, 0), grey=False)
                _write_frames(out, post, np.repeat(frames[-1:], 3, 0), grey=False)
            _write_frames(out, paths, frames, grey=(layout == "samm"))
            au_text = "+".join(str(a) for a in spec.aus)
            rows.append((subject, clip, numbers[0], apex, numbers[-1], au_text, raw, j))
            entry = {
                "subject": subject,
                "clip": clip,
                "group": group,
                "emotion": raw,
                "aus": list(spec.aus),
                "amplitude_px": spec.amplitude,
                "apex_index": spec.apex_index,
                "onset": numbers[0],
                "apex": apex,
                "offset": numbers[-1],
                "blink": list(spec.blink) if spec.blink else None,
                "identity": list(ident.key),
            }
            if subject_difficulty > 0:  # absent by default: default meta files stay as they were
                entry["subject_scale"] = scale
            meta_clips.append(entry)
        if layout == "smic":
            for k in range(non_micro_per_subject):
                rng = _stream(seed, _CLIP_STREAM, i, 1000 + k)
                spec = draw_clip_spec(rng, "neutral", n_frames, amplitude, size, nuisance, 0.0)
                frames = render_clip(ident, spec, rng)
                onset = _first_frame_number(layout, rng)
                clip_dir = Path(folder) / subject / "non_micro" / f"{subject}_no_{k + 1:02d}"
                paths = [clip_dir / f"image{n:06d}.bmp" for n in range(onset, onset + n_frames)]
                _write_frames(out, paths, frames, grey=False)
    if layout == "casme2":
        _write_casme2_sheet(out / "CASME2-coding-20140508.xlsx", rows)
    elif layout == "samm":
        _write_samm_sheet(out / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    elif layout == "casme3":
        (out / "annotation").mkdir(exist_ok=True)
        _write_casme3_sheet(out / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", rows)
    meta = {
        "generator": "srmer.data.synthetic.generate",
        "params": {
            "n_subjects": n_subjects,
            "clips_per_subject": clips_per_subject,
            "n_frames": n_frames,
            "size": size,
            "amplitude": amplitude,
            "seed": seed,
            "layout": layout,
            "amplitude_jitter": amplitude_jitter,
            "texture": texture,
            "nuisance": dataclasses.asdict(nuisance),
        },
        "clips": meta_clips,
    }
    # recorded only when not the default, so a default call writes the same meta file as always
    if class_balance != "cycle":
        meta["params"]["class_balance"] = class_balance
    if subject_difficulty > 0:
        meta["params"]["subject_difficulty"] = subject_difficulty
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    return out


def _subject_scale(seed: int, i: int, subject_difficulty: float) -> float:
    """Amplitude factor ``exp(subject_difficulty * z)``, ``z ~ N(0, 1)``, of evaluation subject ``i``.

    One stream per subject (not one for all), so a subject's factor does not depend on
    ``n_subjects``; 1.0 without drawing when the spread is 0.
    """
    if subject_difficulty == 0:
        return 1.0
    z = _stream(seed, _SUBJECT_STREAM, i).standard_normal()
    return float(np.exp(subject_difficulty * z))


def _subject_id(layout: str, i: int) -> str:
    if layout == "casme2":
        return f"{i + 1:02d}"
    if layout == "samm":
        return f"{i + 6:03d}"  # SAMM participants start at 006
    if layout == "casme3":
        return f"spNO.{i + 1}"
    return f"s{i + 1}"  # SMIC: not zero padded


def _first_frame_number(layout: str, rng: np.random.Generator) -> int:
    if layout == "casme2":
        return int(rng.integers(20, 400))
    if layout == "samm":
        return int(rng.integers(1000, 9000))
    if layout == "casme3":
        return int(rng.integers(3, 600))
    return int(rng.integers(100000, 900000))


def _clip_paths(layout, subject, group, episode, j, k, numbers, rng, folder):
    """Clip id and frame paths (relative to the root) in the layout's naming."""
    if layout == "casme2":
        clip = f"EP{episode:02d}_{int(rng.integers(1, 10)):02d}" + (
            "f" if rng.random() < 0.6 else ""
        )
        d = Path(folder) / f"sub{subject}" / clip
        return clip, [d / f"img{n}.jpg" for n in numbers]
    if layout == "samm":
        clip = f"{subject}_{episode}_{int(rng.integers(1, 8))}"
        d = Path(folder) / subject / clip
        return clip, [d / f"{subject}_{n:05d}.jpg" for n in numbers]
    if layout == "casme3":
        video = _video_letter(j)
        d = Path(folder) / "part_A" / subject / video / "color"
        return f"{video}_{numbers[0]}", [d / f"{n}.jpg" for n in numbers]
    clip = f"{subject}_{_SMIC_ABBR[group]}_{k:02d}"
    d = Path(folder) / subject / "micro" / group / clip
    return clip, [d / f"image{n:06d}.bmp" for n in numbers]


def _video_letter(j: int) -> str:
    """CAS(ME)^3 video names: a, b, ..., z, aa, ab, ..."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(97 + r) + s
    return s


def _write_frames(root: Path, paths: Sequence[Path], frames: np.ndarray, grey: bool) -> None:
    (root / paths[0]).parent.mkdir(parents=True, exist_ok=True)
    for p, f in zip(paths, frames, strict=True):
        write_image(root / p, cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) if grey else f, quality=95)


def _write_casme2_sheet(path: Path, rows) -> None:
    """The official CASME II coding sheet layout: Subject as text, two unnamed columns."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(
        [
            "Subject",
            "Filename",
            None,
            "OnsetFrame",
            "ApexFrame",
            "OffsetFrame",
            None,
            "Action Units",
            "Estimated Emotion",
        ]
    )
    for subject, clip, onset, apex, offset, aus, emotion, _ in rows:
        ws.append([subject, clip, None, onset, apex, offset, None, aus, emotion])
    wb.save(path)


def _write_samm_sheet(path: Path, rows) -> None:
    """SAMM v2 layout: sheet ``MICRO_ONLY``, 13 preamble rows, header on Excel row 14."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "MICRO_ONLY"
    preamble = [
        ["SAMM Micro-Movement FACS Codes (synthetic, written by srmer)"],
        [],
        ["Onset, apex and offset are frame numbers of the clip folder's files."],
        [
            "Objective classes: 1 anger, 2 contempt, 3 happiness, 4 surprise, 5 disgust/fear/sadness, 7 other"
        ],
    ]
    for r in range(13):
        ws.append(preamble[r] if r < len(preamble) else [])
    ws.append(
        [
            "Subject",
            "Filename",
            "Inducement Code",
            "Onset Frame",
            "Apex Frame",
            "Offset Frame",
            "Duration",
            "Micro",
            "Action Units",
            "Estimated Emotion",
            "Objective Classes",
            "Notes",
        ]
    )
    objective = {
        "anger": 1,
        "contempt": 2,
        "happiness": 3,
        "surprise": 4,
        "disgust": 5,
        "fear": 5,
        "sadness": 5,
        "other": 7,
    }
    for n, (subject, clip, onset, apex, offset, aus, emotion, _) in enumerate(rows):
        r = 15 + n
        ws.append(
            [
                subject,
                clip,
                int(clip.split("_")[1]),
                onset,
                apex,
                offset,
                f"=F{r}-D{r}",
                "Micro - 1/2",
                aus,
                emotion,
                objective[emotion.lower()],
                None,
            ]
        )
    wb.save(path)


def _write_casme3_sheet(path: Path, rows) -> None:
    """CAS(ME)^3 part A label sheet (worksheet ``label``)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "label"
    ws.append(
        ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
    )
    for subject, clip, onset, apex, offset, aus, emotion, _ in rows:
        ws.append(
            [
                subject,
                clip.rsplit("_", 1)[0],
                onset,
                apex,
                offset,
                aus.replace("+", ","),
                None,
                emotion,
            ]
        )
    wb.save(path)


def generate_sr_pool(
    out_dir: str | Path,
    n_identities: int = 16,
    frames_per_identity: int = 16,
    size: int = 256,
    seed: int = 0,
    max_amplitude: float = 3.0,
    texture: float = DEFAULT_TEXTURE,
    moving: bool = False,
) -> Path:
    """Write frames of identities that are not evaluation subjects, for training SR models.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write; frames go to ``out_dir/sr_pool/idXXX/frame_NNN.png`` (lossless).
    n_identities, frames_per_identity : int
        Pool size.
    size : int
        Frame side in pixels (the HR size SR models are trained to produce).
    seed : int
        The same seed as the evaluation set is fine: pool identities come from a different identity
        domain, so they never coincide with an evaluation subject of any seed.
    max_amplitude : float
        Each frame shows a random action-unit combination at up to this displacement (px at 256),
        with random head pose, blink and noise, so the pool covers the appearance of expressive frames.
    texture : float
        Skin texture contrast multiplier; keep it equal to the evaluation set's.
    moving : bool
        Write each identity's frames as one *moving clip* instead of unrelated expressive frames:
        one random action-unit combination whose amplitude rises from 0 to a peak in
        ``(max_amplitude / 2, max_amplitude]`` and falls back (a raised cosine over the frames,
        onset -> apex -> offset), under a slow head drift of up to 0.5 px and frame noise. This is
        the facial motion that the motion loss of SR trained for recognition learns to keep
        (``loss: {motion: ...}``, :mod:`srmer.sr.motion`). ``False`` (default) writes the same bytes
        as before this option existed.

    Returns
    -------
    Path
        ``out_dir/sr_pool``.
    """
    from srmer.data.synthetic.clip import AU_BUMPS

    out = Path(out_dir)
    pool = out / "sr_pool"
    if pool.exists():
        if not (pool / "pool_meta.json").is_file():
            raise DatasetError(
                f"{pool} exists and was not written by generate_sr_pool; choose another folder"
            )
        shutil.rmtree(pool)
    pool.mkdir(parents=True)
    aus_all = sorted(AU_BUMPS)
    keys = []
    for i in range(n_identities):
        ident = make_identity(seed, POOL, i, size, texture)
        keys.append(list(ident.key))
        rng = identity_rng(seed, POOL, 10_000 + i)
        k = size / 256.0
        if moving:
            _write_moving_pool_clip(
                pool / f"id{i:03d}", ident, rng, frames_per_identity, max_amplitude * k, k
            )
            continue
        for f in range(frames_per_identity):
            n_au = int(rng.integers(0, 3))
            aus = tuple(int(a) for a in rng.choice(aus_all, n_au, replace=False))
            frame = render_frame(
                ident,
                au_field(ident, aus),
                rng.uniform(0, max_amplitude) * k,
                shift=rng.normal(0, 1.0, 2) * k,
                rotation=np.deg2rad(rng.normal(0, 1.0)),
                closure=float(rng.uniform(0, 1)) if rng.random() < 0.2 else 0.0,
                light=(rng.uniform(-0.05, 0.05), rng.uniform(-0.1, 0.1), rng.uniform(0, 2 * np.pi)),
                noise_sigma=2.0,
                rng=rng,
            )
            write_image(pool / f"id{i:03d}" / f"frame_{f:03d}.png", frame)
    meta = {"seed": seed, "size": size, "identities": keys, **({"moving": True} if moving else {})}
    (pool / "pool_meta.json").write_text(json.dumps(meta))
    return pool


def _write_moving_pool_clip(
    folder: Path, ident, rng: np.random.Generator, n: int, peak_px: float, k: float
) -> None:
    """One identity's onset -> apex -> offset clip of ``n`` frames (see ``generate_sr_pool``)."""
    from srmer.data.synthetic.clip import AU_BUMPS

    aus_all = sorted(AU_BUMPS)
    aus = tuple(int(a) for a in rng.choice(aus_all, int(rng.integers(1, 3)), replace=False))
    field_ = au_field(ident, aus)
    peak = rng.uniform(0.5, 1.0) * peak_px
    drift = rng.normal(0, 0.25, 2) * k
    t = np.linspace(0.0, 1.0, max(n, 2))[:n]
    for f, tf in enumerate(t):
        frame = render_frame(
            ident,
            field_,
            peak * 0.5 * (1 - np.cos(2 * np.pi * tf)),
            shift=drift * tf,
            noise_sigma=2.0,
            rng=rng,
        )
        write_image(folder / f"frame_{f:03d}.png", frame)


def sr_pool_paths(pool_dir: str | Path) -> list[Path]:
    """Sorted frame paths of an SR pool written by :func:`generate_sr_pool`.

    Parameters
    ----------
    pool_dir : str or Path
        The ``sr_pool`` folder or its parent.
    """
    p = Path(pool_dir)
    if (p / "sr_pool").is_dir():
        p = p / "sr_pool"
    if not p.is_dir():
        raise DatasetError(f"SR pool folder {p} does not exist; write one with generate_sr_pool()")
    paths = sorted(p.glob("id*/frame_*.png"))
    if not paths:
        raise DatasetError(f"SR pool folder {p} holds no id*/frame_*.png files")
    return paths


# RAF-DB basic labels 1..7 and the AU combinations their posed (full, not micro) expressions show.
RAFDB_CLASSES = ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")
STATIC_AUS: dict[str, tuple[tuple[int, ...], ...]] = {
    "surprise": ((1, 2, 26), (1, 2)),
    "fear": ((1, 4, 26), (1, 4, 15)),
    "disgust": ((9, 10), (9, 15)),
    "happiness": ((6, 12), (12, 26)),
    "sadness": ((1, 4, 15), (15, 17)),
    "anger": ((4, 7, 24), (4, 7, 17)),
    "neutral": ((),),
}


def generate_static(
    out_dir: str | Path,
    n_train_per_class: int = 40,
    n_test_per_class: int = 10,
    size: int = 100,
    amplitude: float = 12.0,
    seed: int = 0,
    texture: float = DEFAULT_TEXTURE,
) -> Path:
    """Write a static 7-class RAF-DB-style set (``basic/Image/aligned`` + ``list_patition_label.txt``).

    Parameters
    ----------
    out_dir : str or Path
        Root to write (pass it to ``srmer.data.load("rafdb", root)``).
    n_train_per_class, n_test_per_class : int
        Images per class in each split (every image is a new identity).
    size : int
        Side of the aligned face (RAF-DB: 100).
    amplitude : float
        Expression displacement in px at 256 (scaled with ``size``); much larger than the micro
        expressions' because these are full, posed expressions. Each image draws ``U(0.7, 1.3)`` of it.
    seed : int
        Determines everything.
    texture : float
        Skin texture contrast multiplier.

    Returns
    -------
    Path
        ``out_dir``.
    """
    out = Path(out_dir)
    _prepare(out, "basic")
    img_dir = out / "basic" / "Image" / "aligned"
    lab_dir = out / "basic" / "EmoLabel"
    lab_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    index = 0
    for split, n in (("train", n_train_per_class), ("test", n_test_per_class)):
        rng = _stream(seed, _PLAN_STREAM, 2, 0 if split == "train" else 1)
        labels = np.repeat(np.arange(len(RAFDB_CLASSES)), n)
        labels = labels[rng.permutation(len(labels))]
        for k, lab in enumerate(labels, start=1):
            emotion = RAFDB_CLASSES[lab]
            ident = make_identity(seed, STATIC, index, size, texture)
            index += 1
            options = STATIC_AUS[emotion]
            aus = options[int(rng.integers(len(options)))]
            amp = amplitude * size / 256.0 * rng.uniform(0.7, 1.3)
            frame = render_frame(
                ident,
                au_field(ident, aus),
                amp,
                shift=rng.normal(0, 0.5, 2) * size / 256,
                rotation=np.deg2rad(rng.normal(0, 2.0)),
                light=(rng.uniform(-0.1, 0.1), rng.uniform(-0.2, 0.2), rng.uniform(0, 2 * np.pi)),
                noise_sigma=2.0,
                rng=rng,
            )
            name = f"{split}_{k:05d}"
            write_image(img_dir / f"{name}_aligned.jpg", frame, quality=95)
            lines.append(f"{name}.jpg {lab + 1}")
    (lab_dir / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    (out / META_FILE).write_text(
        json.dumps(
            {
                "generator": "srmer.data.synthetic.generate_static",
                "params": {
                    "n_train_per_class": n_train_per_class,
                    "n_test_per_class": n_test_per_class,
                    "size": size,
                    "amplitude": amplitude,
                    "seed": seed,
                },
            }
        )
    )
    return out
