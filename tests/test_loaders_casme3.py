"""CAS(ME)^3 part A loader: whole-video color/ folders and cut clips, label sheet quirks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook

import srmer.data
from srmer.data import synthetic
from srmer.data.casme3 import load_casme3
from srmer.data.classmaps import ClassMap
from srmer.errors import DatasetError
from srmer.video.io import write_image

HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]


def write_sheet(path: Path, rows, header=HEADER, title="label") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def write_frames(folder: Path, numbers) -> None:
    for n in numbers:
        write_image(folder / f"{n}.jpg", np.full((6, 6, 3), 70, np.uint8))


@pytest.fixture
def videos(tmp_path) -> Path:
    part = tmp_path / "part_A"
    data = part / "data" / "part_A"
    write_frames(data / "spNO.1" / "a" / "color", range(0, 40))
    write_frames(data / "spNo.2" / "b" / "color", range(0, 10))  # folder spelt spNo
    rows = [
        ("spNO.1", "a", 5, 8, 12, "12", 1, "happy"),
        ("spNO.1", "a", 20, 25, 30, "4,9", 2, "Disgust"),  # second ME of the same video
        ("spNO.2", "b", 2, 4, 6, "1,2", 3, "surprise"),
        (
            "spNO.2",
            "b",
            3647,
            2668,
            2694,
            "4",
            2,
            "anger",
        ),  # onset after offset (public sheet quirk)
        ("spNO.2", "b", 0, 0, 25, "4", 2, "sad"),  # offset beyond the video
        ("spNO.3", "c", 1, 2, 3, "7", 6, "others"),  # no such subject folder
    ]
    write_sheet(part / "annotation" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", rows)
    return part


def test_video_layout_quirks(videos):
    s = srmer.data.load("casme3", videos, classes="4class")
    by = {x.key: x for x in s}
    assert set(by) == {"casme3/spNO.1/a_5", "casme3/spNO.1/a_20", "casme3/spNO.2/b_2"}
    a = by["casme3/spNO.1/a_5"]
    assert (a.onset, a.apex, a.offset) == (5, 8, 12)
    assert a.frame_numbers == tuple(range(5, 13)) and a.frames[0].name == "5.jpg"
    assert a.label_name == "positive" and a.extra["video"] == "a"
    assert by["casme3/spNO.1/a_20"].emotion == "disgust"
    skipped = {k.clip: str(k) for k in s.skipped}
    assert set(skipped) == {"casme3/spNO.2/b_3647", "casme3/spNO.2/b_0", "casme3/spNO.3/c_1"}
    assert "after offset" in skipped["casme3/spNO.2/b_3647"]
    assert "outside" in skipped["casme3/spNO.2/b_0"]


def test_counts_per_map(videos):
    assert load_casme3(videos, "megc3").counts() == {"negative": 1, "positive": 1, "surprise": 1}
    seven = load_casme3(videos, "7class").counts()
    assert seven["happy"] == 1 and seven["disgust"] == 1 and sum(seven.values()) == 3


def test_cut_clip_layout_and_errors(tmp_path):
    clips = tmp_path / "Part_A_ME_clip" / "frame"
    write_frames(clips / "spNO.1_a_355", range(355, 361))
    write_sheet(
        tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
        [("spNO.1", "a", 355, 357, 360, "12", 1, "happy")],
        title="Sheet1",
    )
    s = load_casme3(tmp_path, layout="clips")
    assert [(x.clip, x.apex, len(x.frames)) for x in s] == [("a_355", 357, 6)]
    header = [h for h in HEADER if h != "emotion"]
    write_sheet(
        tmp_path / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
        [("spNO.1", "a", 355, 357, 360, "12", 1)],
        header=header,
    )
    with pytest.raises(DatasetError, match="no column 'emotion'"):
        load_casme3(tmp_path)
    with pytest.raises(DatasetError, match="frames"):
        load_casme3(tmp_path, layout="videos")


def test_generated_tree(tmp_path):
    root = synthetic.generate(
        tmp_path / "g",
        n_subjects=2,
        clips_per_subject=4,
        n_frames=4,
        size=32,
        seed=5,
        layout="casme3",
    )
    meta = json.loads((root / synthetic.META_FILE).read_text())["clips"]
    for classes in ("4class", "megc3", "7class"):
        s = srmer.data.load("casme3", root, classes=classes)
        cmap = ClassMap("casme3", classes)
        expected = Counter(
            cmap.classes[cmap(c["emotion"])] for c in meta if cmap(c["emotion"]) is not None
        )
        assert s.counts() == {k: expected.get(k, 0) for k in cmap.classes}
        assert not s.skipped
    # the video folders hold neutral frames around the clip; the loader keeps onset..offset only
    x = srmer.data.load("casme3", root)[0]
    video = x.frames[0].parent
    assert len(list(video.iterdir())) == 4 + 6 and len(x.frames) == 4
