import os

import numpy as np
import pytest

from srmer.bench.cache import Cache, CacheWarning, atomic_write_bytes, make_key


def test_key_changes_when_and_only_when_an_input_changes():
    base = make_key("repr", {"radii": [1, 1, 4], "points": [4, 4, 4]}, ["clipA"], 1)
    assert base == make_key(
        "repr", {"points": [4, 4, 4], "radii": [1, 1, 4]}, ["clipA"], 1
    )  # order-free
    assert base == make_key("repr", {"radii": (1, 1, 4), "points": [4, 4, 4.0]}, ["clipA"], 1)
    assert base != make_key("repr", {"radii": [1, 1, 3], "points": [4, 4, 4]}, ["clipA"], 1)
    assert base != make_key("repr", {"radii": [1, 1, 4], "points": [4, 4, 4]}, ["clipB"], 1)
    assert base != make_key("repr", {"radii": [1, 1, 4], "points": [4, 4, 4]}, ["clipA"], 2)
    assert base != make_key("sr", {"radii": [1, 1, 4], "points": [4, 4, 4]}, ["clipA"], 1)


def test_roundtrip_and_meta(tmp_path):
    c = Cache(tmp_path)
    k = make_key("x", {"a": 1})
    assert c.load("x", k) is None
    c.save("x", k, {"v": np.arange(5)}, meta={"psnr": 30.5})
    got = c.load("x", k)
    assert np.array_equal(got["v"], np.arange(5)) and got["meta"] == {"psnr": 30.5}
    assert c.info()["x"]["entries"] == 1
    assert c.clear() == 1 and not c.has("x", k)


def test_get_or_compute_computes_once(tmp_path):
    c = Cache(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return {"v": np.ones(3)}

    for _ in range(3):
        c.get_or_compute("s", "k" * 64, compute)
    assert len(calls) == 1


def test_damaged_entry_is_recomputed(tmp_path):
    c = Cache(tmp_path)
    k = make_key("x", {})
    c.save("x", k, {"v": np.ones(2)})
    c.path("x", k).write_bytes(b"not a zip")
    with pytest.warns(CacheWarning, match="unreadable"):
        assert c.load("x", k) is None
    assert not c.has("x", k)


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    try:
        atomic_write_bytes(target, b"new")
    except OSError:
        pass
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
