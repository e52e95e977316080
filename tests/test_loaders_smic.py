"""SMIC-HS loader: labels from folders, non_micro ignored, non-padded subjects, middle apex."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import srmer.data
from srmer.data import synthetic
from srmer.data.smic import load_smic
from srmer.errors import DatasetError
from srmer.video.io import write_image


def write_clip(folder: Path, numbers) -> None:
    for n in numbers:
        write_image(folder / f"image{n:06d}.bmp", np.full((6, 6, 3), 90, np.uint8))


@pytest.fixture
def quirky(tmp_path) -> Path:
    hs = tmp_path / "SMIC" / "HS"
    write_clip(hs / "s1" / "micro" / "negative" / "s1_ne_01", range(559740, 559751))
    write_clip(hs / "s1" / "micro" / "positive" / "s1_po_01", range(100, 104))
    write_clip(hs / "s1" / "non_micro" / "s1_no_01", range(1, 5))  # ignored
    write_clip(hs / "s12" / "micro" / "surprise" / "s12_sur_01", range(7, 12))
    write_clip(hs / "s12" / "micro" / "surprise" / "s12_sur_02", [1, 2, 4])  # gap
    write_clip(hs / "s3" / "micro" / "disgust" / "s3_di_01", range(3))  # not a SMIC class
    (hs / "s3" / "micro" / "negative" / "s3_ne_01").mkdir(parents=True)  # empty clip folder
    return tmp_path


def test_quirks(quirky):
    s = srmer.data.load("smic", quirky)
    by = {x.key: x for x in s}
    assert set(by) == {"smic/s1/s1_ne_01", "smic/s1/s1_po_01", "smic/s12/s12_sur_01"}
    a = by["smic/s1/s1_ne_01"]
    assert (a.onset, a.offset) == (559740, 559750)
    assert a.apex == 559740 + (559750 - 559740) // 2 and a.apex_index == 5
    assert a.frames[0].name == "image559740.bmp" and len(a.frames) == 11
    assert s.subjects == ["s1", "s12"]  # not zero padded
    assert s.classes == ("negative", "positive", "surprise")
    skipped = {k.clip: str(k) for k in s.skipped}
    assert set(skipped) == {"smic/s12/s12_sur_02", "smic/s3/s3_di_01", "smic/s3/s3_ne_01"}
    assert "3" in skipped["smic/s12/s12_sur_02"]
    assert "disgust" in skipped["smic/s3/s3_di_01"]
    assert not any("non_micro" in str(p) for x in s for p in x.frames)
    assert all(x.apex is None for x in load_smic(quirky, apex="none"))


def test_counts_per_map(quirky):
    for classes in ("4class", "megc3", "raw"):
        assert load_smic(quirky, classes).counts() == {"negative": 1, "positive": 1, "surprise": 1}
    with pytest.raises(srmer.errors.UnknownMethodError):
        load_smic(quirky, "5class")


def test_bad_root(tmp_path):
    with pytest.raises(DatasetError, match="HS"):
        load_smic(tmp_path)


def test_generated_tree(tmp_path):
    root = synthetic.generate(
        tmp_path / "g",
        n_subjects=3,
        clips_per_subject=6,
        n_frames=5,
        size=32,
        seed=1,
        layout="smic",
        non_micro_per_subject=2,
    )
    assert len(list((root / "HS").glob("s*/non_micro/*"))) == 6
    s = srmer.data.load("smic", root, classes="4class")
    assert len(s) == 18 and not s.skipped
    assert s.counts() == {"negative": 6, "positive": 6, "surprise": 6}
    assert s.subjects == ["s1", "s2", "s3"]
    for x in s:
        assert x.clip.startswith(f"{x.subject}_") and len(x.frames) == 5
