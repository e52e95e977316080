"""SAMM loader: generated trees (grey frames, preamble rows) and hand-made trees with quirks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

import srmer.data
from srmer.data import synthetic
from srmer.data.classmaps import ClassMap
from srmer.data.samm import load_samm
from srmer.errors import DatasetError
from srmer.video.io import read_image, write_image

HEADER = [
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


def write_sheet(path: Path, rows, header=HEADER, preamble: int = 13, sheet="MICRO_ONLY") -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in range(preamble):
        ws.append([f"note {r}"] if r % 3 == 0 else [])
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def write_clip(folder: Path, subject: str, numbers) -> None:
    for n in numbers:
        write_image(folder / f"{subject}_{n:05d}.jpg", np.full((8, 8), 100, np.uint8))


@pytest.fixture
def quirky(tmp_path) -> Path:
    s = tmp_path / "SAMM"
    write_clip(s / "006" / "006_1_2", "006", range(5562, 5568))
    write_clip(s / "007" / "007_3_1", "007", range(100, 106))
    write_clip(s / "009" / "009_2_4", "009", [10, 11, 13])  # frame 12 missing
    write_clip(s / "011" / "011_1_1", "011", range(50, 55))
    rows = [
        (
            "006",
            "006_1_2",
            1,
            5562,
            5564,
            5567,
            "=F15-D15",
            "Micro - 1/2",
            "R12 or 14",
            "Happiness",
            3,
            None,
        ),
        (
            "7",
            "007_3_1",
            3,
            100,
            "-",
            105,
            None,
            "Micro - 1/2",
            "4+7",
            "Anger",
            1,
            None,
        ),  # subject as number
        ("009", "009_2_4", 2, 10, 11, 13, None, "Micro", "14", "Other", 7, None),
        ("011", "011_1_1", 1, 50, 52, 54, None, "Micro", "R14", "Contempt", 2, None),
        ("011", "011_1_2", 1, 50, 52, 54, None, "Micro", "4", "Disgust", 5, None),  # folder absent
    ]
    write_sheet(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", rows)
    return tmp_path


def test_quirks(quirky):
    s = srmer.data.load("samm", quirky, classes="4class")
    by = {x.key: x for x in s}
    assert set(by) == {"samm/006/006_1_2", "samm/007/007_3_1", "samm/011/011_1_1"}
    a = by["samm/006/006_1_2"]
    assert (a.onset, a.apex, a.offset) == (5562, 5564, 5567)
    assert [p.name for p in a.frames][:2] == ["006_05562.jpg", "006_05563.jpg"]
    assert (a.emotion, a.label_name) == ("happiness", "positive")  # title case matched
    assert by["samm/007/007_3_1"].apex is None and by["samm/007/007_3_1"].subject == "007"
    assert by["samm/011/011_1_1"].label_name == "negative"
    skipped = {k.clip: str(k) for k in s.skipped}
    assert set(skipped) == {"samm/009/009_2_4", "samm/011/011_1_2"}
    assert "12" in skipped["samm/009/009_2_4"]


def test_counts_per_map(quirky):
    assert load_samm(quirky, "5class").counts() == {
        "anger": 1,
        "contempt": 1,
        "happiness": 1,
        "surprise": 0,
        "other": 0,
    }
    assert load_samm(quirky, "megc3").counts() == {"negative": 2, "positive": 1, "surprise": 0}


def test_other_preamble_length_and_missing_column(tmp_path):
    write_clip(tmp_path / "SAMM" / "006" / "006_1_1", "006", range(1, 4))
    write_sheet(
        tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx",
        [("006", "006_1_1", 1, 1, 2, 3, None, "Micro", "12", "Happiness", 3, None)],
        preamble=5,
    )
    assert len(load_samm(tmp_path)) == 1
    header = [h for h in HEADER if h != "Offset Frame"]
    write_sheet(
        tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx",
        [("006", "006_1_1", 1, 1, 2, None, "Micro", "12", "Happiness", 3, None)],
        header=header,
    )
    with pytest.raises(
        DatasetError, match=r"SAMM_Micro_FACS_Codes_v2\.xlsx has no column 'Offset Frame'"
    ):
        load_samm(tmp_path)
    write_sheet(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", [], sheet="Sheet1")
    with pytest.raises(DatasetError, match="MICRO_ONLY"):
        load_samm(tmp_path)


def test_generated_tree(tmp_path):
    root = synthetic.generate(
        tmp_path / "g",
        n_subjects=3,
        clips_per_subject=4,
        n_frames=4,
        size=32,
        seed=2,
        layout="samm",
    )
    meta = json.loads((root / synthetic.META_FILE).read_text())["clips"]
    for classes in ("4class", "5class", "megc3", "raw"):
        s = srmer.data.load("samm", root, classes=classes)
        cmap = ClassMap("samm", classes)
        expected = Counter(
            cmap.classes[cmap(c["emotion"])] for c in meta if cmap(c["emotion"]) is not None
        )
        assert s.counts() == {k: expected.get(k, 0) for k in cmap.classes}
        assert not s.skipped
    s = srmer.data.load("samm", root)
    assert s.subjects == ["006", "007", "008"]
    assert read_image(s[0].frames[0]).shape == (32, 32, 3)
    assert read_image(s[0].frames[0], grey=True).shape == (32, 32)
    # SAMM frames are grey: all three channels equal
    f = read_image(s[0].frames[0])
    assert np.array_equal(f[..., 0], f[..., 1]) and np.array_equal(f[..., 1], f[..., 2])
    # the per-subject class balance the generator promises
    per = Counter((x.subject, x.label_name) for x in s)
    assert all(per[(subj, c)] >= 1 for subj in s.subjects for c in s.classes)
