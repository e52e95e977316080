"""RAF-DB basic loader: label list, aligned images, splits, 7class/4class maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import srmer.data
from srmer.data import synthetic
from srmer.data.rafdb import load_rafdb
from srmer.errors import DatasetError
from srmer.video.io import read_image, write_image


@pytest.fixture
def quirky(tmp_path) -> Path:
    basic = tmp_path / "RAF" / "basic"
    img = basic / "Image" / "aligned"
    for name in ("train_00001", "train_00002", "train_00003", "test_00001", "test_00002"):
        write_image(img / f"{name}_aligned.jpg", np.full((100, 100, 3), 80, np.uint8))
    lines = [
        "train_00001.jpg 5",
        "train_00002.jpg 1",
        "train_00003.jpg 9",
        "train_00004.jpg 4",
        "test_00001.jpg 7",
        "test_00002.jpg 4",
        "test_00002.jpg 4",
        "garbage",
        "",
    ]
    (basic / "EmoLabel").mkdir(parents=True)
    (basic / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines))
    return tmp_path


def test_splits_and_quirks(quirky):
    train = load_rafdb(quirky, split="train")
    assert [(x.clip, x.emotion) for x in train] == [
        ("train_00001", "sadness"),
        ("train_00002", "surprise"),
    ]
    assert train.classes[:2] == ("surprise", "fear") and len(train.classes) == 7
    assert train[0].frames[0].name == "train_00001_aligned.jpg" and len(train[0].frames) == 1
    assert train[0].extra["split"] == "train"
    skipped = {k.clip: str(k) for k in train.skipped}
    assert set(skipped) == {"rafdb/train_00003/train_00003", "rafdb/train_00004/train_00004"}
    assert "'9'" in skipped["rafdb/train_00003/train_00003"]
    assert "missing" in skipped["rafdb/train_00004/train_00004"]
    test = load_rafdb(quirky, split="test")
    assert [x.emotion for x in test] == ["neutral", "happiness"]
    assert any("twice" in str(k) for k in test.skipped)
    every = load_rafdb(quirky, split="all")
    assert len(every) == 4 and any("garbage" in str(k) for k in every.skipped)
    four = srmer.data.load("rafdb", quirky, classes="4class", split="all")
    assert four.counts() == {"negative": 1, "positive": 1, "surprise": 1, "others": 1}


def test_bad_options(quirky, tmp_path):
    with pytest.raises(DatasetError, match="split"):
        load_rafdb(quirky, split="val")
    with pytest.raises(DatasetError, match="original"):
        load_rafdb(quirky, variant="original")
    with pytest.raises(DatasetError, match="list_patition_label"):
        load_rafdb(tmp_path / "RAF" / "basic" / "Image")


def test_generated_static_set(tmp_path):
    root = synthetic.generate_static(
        tmp_path / "raf", n_train_per_class=2, n_test_per_class=1, size=48, seed=0
    )
    train = load_rafdb(root, split="train")
    test = load_rafdb(root, split="test")
    assert train.counts() == dict.fromkeys(train.classes, 2)
    assert test.counts() == dict.fromkeys(test.classes, 1)
    assert read_image(train[0].frames[0]).shape == (48, 48, 3)
    again = synthetic.generate_static(
        tmp_path / "raf2", n_train_per_class=2, n_test_per_class=1, size=48, seed=0
    )
    assert (root / "basic/EmoLabel/list_patition_label.txt").read_text() == (
        again / "basic/EmoLabel/list_patition_label.txt"
    ).read_text()
    a = read_image(train[0].frames[0]).astype(int)
    b = read_image(load_rafdb(again, split="train")[0].frames[0]).astype(int)
    assert np.array_equal(a, b)
