"""CASME II loader: generated trees, hand-made trees with the official quirks, counts per class map."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

import srmer.data
from srmer.data import synthetic
from srmer.data.casme2 import load_casme2, scan_casme2
from srmer.data.classmaps import ClassMap
from srmer.errors import DatasetError
from srmer.video.io import write_image

HEADER = [
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


def write_sheet(path: Path, rows, header=HEADER) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def write_clip(folder: Path, numbers, prefix="img") -> None:
    img = np.full((8, 8, 3), 128, np.uint8)
    for n in numbers:
        write_image(folder / f"{prefix}{n}.jpg", img)


@pytest.fixture
def quirky(tmp_path) -> Path:
    """A small tree with the quirks of the real release."""
    raw = tmp_path / "CASME2_RAW_selected"
    write_clip(raw / "sub01" / "EP02_01f", range(46, 52))
    write_clip(raw / "sub02" / "EP02_01f", range(10, 15))  # same Filename under another subject
    write_clip(raw / "sub04" / "EP12_01f", range(100, 106))  # apex '/'
    write_clip(raw / "sub05" / "EP01_02", [1, 2, 4, 5])  # frame 3 missing
    write_clip(raw / "sub05" / "EP03_01", range(20, 25))  # offset beyond the frames present
    write_clip(raw / "sub06" / "EP07_01", range(30, 35))  # unknown emotion
    write_clip(raw / "sub06" / "EP08_01", range(30, 35))  # sadness: dropped by 5class
    rows = [
        ("01", "EP02_01f", None, 46, 48, 51, None, "12", "happiness"),
        ("02", "EP02_01f", None, 10, 12, 14, None, "4+L10", "Disgust"),
        ("04", "EP12_01f", None, 100, "/", 105, None, "?", "others"),
        ("05", "EP01_02", None, 1, 3, 5, None, "14", "repression"),
        ("05", "EP03_01", None, 20, 22, 30, None, "1+2", "surprise"),
        ("06", "EP07_01", None, 30, 31, 34, None, "1", "confusion"),
        ("06", "EP08_01", None, 30, 40, 34, None, "15", "sadness"),  # apex outside onset..offset
        ("01", "EP02_01f", None, 46, 48, 51, None, "12", "happiness"),  # duplicate row
        ("03", "EP09_09", None, 5, 6, 7, None, "4", "disgust"),  # folder absent
    ]
    write_sheet(tmp_path / "CASME2-coding-20140508.xlsx", rows)
    return tmp_path


def test_quirks(quirky):
    s = srmer.data.load("casme2", quirky, classes="4class")
    keys = {x.key: x for x in s}
    assert set(keys) == {
        "casme2/01/EP02_01f",
        "casme2/02/EP02_01f",
        "casme2/04/EP12_01f",
        "casme2/06/EP08_01",
    }
    a = keys["casme2/01/EP02_01f"]
    assert a.subject == "01" and a.onset == 46 and a.apex == 48 and a.offset == 51
    assert a.frame_numbers == tuple(range(46, 52))
    assert [p.name for p in a.frames] == [f"img{n}.jpg" for n in range(46, 52)]
    assert (a.label_name, a.emotion) == ("positive", "happiness")
    assert keys["casme2/02/EP02_01f"].emotion == "disgust"  # case normalised
    assert keys["casme2/04/EP12_01f"].apex is None  # '/', never 0
    assert keys["casme2/06/EP08_01"].apex is None  # apex outside onset..offset
    assert keys["casme2/04/EP12_01f"].apex_index == 3  # middle frame fallback
    skipped = {k.clip: str(k) for k in s.skipped}
    assert set(skipped) == {
        "casme2/05/EP01_02",
        "casme2/05/EP03_01",
        "casme2/06/EP07_01",
        "casme2/01/EP02_01f",
        "casme2/03/EP09_09",
    }
    assert "missing" in skipped["casme2/05/EP01_02"] and ": 3" in skipped["casme2/05/EP01_02"]
    assert "outside the frames present (20..24)" in skipped["casme2/05/EP03_01"]
    assert "confusion" in skipped["casme2/06/EP07_01"]
    assert "twice" in skipped["casme2/01/EP02_01f"]
    assert "does not exist" in skipped["casme2/03/EP09_09"]


def test_counts_per_class_map(quirky):
    four = load_casme2(quirky, classes="4class").counts()
    assert four == {"negative": 2, "positive": 1, "surprise": 0, "others": 1}
    five = load_casme2(quirky, classes="5class").counts()  # sadness dropped, not skipped
    assert five == {"happiness": 1, "surprise": 0, "disgust": 1, "repression": 0, "others": 1}
    assert len(load_casme2(quirky, classes="5class").skipped) == 5
    megc = load_casme2(quirky, classes="megc3").counts()
    assert megc == {"negative": 1, "positive": 1, "surprise": 0}


def test_missing_column_names_column_and_sheet(tmp_path):
    write_clip(tmp_path / "CASME2_RAW_selected" / "sub01" / "EP01_01", range(1, 4))
    header = [h for h in HEADER if h != "ApexFrame"]
    write_sheet(
        tmp_path / "CASME2-coding-20140508.xlsx",
        [("01", "EP01_01", None, 1, 3, None, "4", "disgust")],
        header=header,
    )
    with pytest.raises(DatasetError, match=r"no column 'ApexFrame'.*") as e:
        srmer.data.load("casme2", tmp_path)
    assert "CASME2-coding-20140508.xlsx" in str(e.value)


def test_missing_root_sheet_and_frames(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        srmer.data.load("casme2", tmp_path / "absent")
    with pytest.raises(DatasetError, match="coding sheet"):
        load_casme2(tmp_path)
    write_sheet(tmp_path / "CASME2-coding-20140508.xlsx", [])
    with pytest.raises(DatasetError, match="CASME2_RAW_selected"):
        load_casme2(tmp_path)


def test_cropped_variant_newest_sheet_and_numeric_subjects(tmp_path):
    write_clip(
        tmp_path / "CASME2_Cropped" / "Cropped" / "sub03" / "EP01_01",
        range(7, 10),
        prefix="reg_img",
    )
    # a sheet saved with numbers in Subject (pandas would lose the padding without dtype=str)
    write_sheet(
        tmp_path / "CASME2-coding-20140508.xlsx",
        [(3, "EP01_01", None, 7, 8, 9, None, "12", "happiness")],
    )
    write_sheet(
        tmp_path / "CASME2-coding-20190701.xlsx",
        [(3, "EP01_01", None, 7, 9, 9, None, "1+2", "surprise")],
    )
    s = load_casme2(tmp_path)
    assert [(x.subject, x.emotion, x.apex) for x in s] == [("03", "surprise", 9)]
    assert s[0].frames[0].name == "reg_img7.jpg"
    old = load_casme2(tmp_path, sheet="CASME2-coding-20140508.xlsx", variant="cropped")
    assert [x.emotion for x in old] == ["happiness"]
    with pytest.raises(DatasetError, match="CASME2_RAW_selected"):
        load_casme2(tmp_path, variant="raw")


def test_generated_tree_counts_match_generator(tmp_path):
    root = synthetic.generate(
        tmp_path / "g", n_subjects=3, clips_per_subject=8, n_frames=4, size=32, seed=1
    )
    meta = json.loads((root / synthetic.META_FILE).read_text())["clips"]
    for classes in ("4class", "5class", "megc3", "raw"):
        s = srmer.data.load("casme2", root, classes=classes)
        cmap = ClassMap("casme2", classes)
        expected = Counter(
            cmap.classes[cmap(c["emotion"])] for c in meta if cmap(c["emotion"]) is not None
        )
        assert s.counts() == {k: expected.get(k, 0) for k in cmap.classes}
        assert not s.skipped
    s = srmer.data.load("casme2", root)
    assert s.subjects == ["01", "02", "03"]
    by_key = {(c["subject"], c["clip"]): c for c in meta}
    for x in s:
        c = by_key[(x.subject, x.clip)]
        assert (x.onset, x.apex, x.offset) == (c["onset"], c["apex"], c["offset"])
        assert len(x.frames) == 4 and all(p.is_file() for p in x.frames)


def test_scan_reads_no_image(quirky, monkeypatch):
    import cv2

    def boom(*a, **k):
        raise AssertionError("the scan must not decode images")

    monkeypatch.setattr(cv2, "imread", boom)
    scan = scan_casme2(quirky)
    assert len(scan.records) == 9
