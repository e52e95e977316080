"""The SR-pool leakage guard: location, byte copies and identity metadata."""

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import srmer.data
from srmer.bench import pool_guard
from srmer.bench.pool_guard import PoolCheck, check_sr_pool
from srmer.data.synthetic import META_FILE, generate, generate_sr_pool
from srmer.errors import ConfigError

FIX = "give a folder of faces of other people"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small synthetic CASME II-layout dataset and a synthetic SR pool (read-only for the tests)."""
    base = tmp_path_factory.mktemp("pool_guard")
    root = generate(base / "casme2", n_subjects=2, clips_per_subject=2, n_frames=4, size=64)
    pool = generate_sr_pool(base / "pool", n_identities=2, frames_per_identity=2, size=64)
    return root, pool


def _datasets(root: Path):
    return [("casme2", root, list(srmer.data.load("casme2", root)))]


def _frames(root: Path) -> list[Path]:
    return [f for s in srmer.data.load("casme2", root) for f in s.frames]


def _refused(pool: Path, datasets) -> str:
    with pytest.raises(ConfigError) as info:
        check_sr_pool(pool, datasets)
    msg = str(info.value)
    assert "sr_pool" in msg and "casme2" in msg and FIX in msg
    return msg


def _random_pngs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"face_{i}.png"
        cv2.imwrite(str(p), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        paths.append(p)
    return paths


def test_pool_equal_to_dataset_root_is_refused(data):
    root, _ = data
    msg = _refused(root, _datasets(root))
    assert str(root) in msg and "is the root" in msg


def test_pool_inside_dataset_root_is_refused(data):
    root, _ = data
    inner = root / "CASME2_RAW_selected" / "sub01"
    msg = _refused(inner, _datasets(root))
    assert str(inner) in msg and "inside" in msg


def test_pool_containing_dataset_root_is_refused(data):
    root, _ = data
    msg = _refused(root.parent, _datasets(root))
    assert str(root.parent) in msg and "contains" in msg


def test_symlink_to_dataset_root_is_refused(data, tmp_path):
    root, _ = data
    link = tmp_path / "innocent_pool"
    link.symlink_to(root, target_is_directory=True)
    msg = _refused(link, _datasets(root))
    assert "is the root" in msg and str(link) in msg and str(root.resolve()) in msg


def test_renamed_copies_of_evaluation_frames_are_refused(data, tmp_path):
    root, pool = data
    leaky = tmp_path / "pool"
    shutil.copytree(pool, leaky)
    frames = _frames(root)
    shutil.copyfile(frames[0], leaky / "id000" / "totally_new_face.jpg")
    shutil.copyfile(frames[5], leaky / "other.jpg")
    msg = _refused(leaky, _datasets(root))
    assert "2 of the 6 images" in msg
    # the example pair: the first copy (sorted) and the frame it copies
    assert str(leaky / "id000" / "totally_new_face.jpg") in msg and str(frames[0]) in msg


def test_same_size_different_bytes_is_no_false_positive(data, tmp_path):
    root, _ = data
    frame = _frames(root)[0]
    raw = bytearray(frame.read_bytes())
    raw[-3] ^= 0xFF
    pool = tmp_path / "pool"
    pool.mkdir()
    (pool / "lookalike.jpg").write_bytes(bytes(raw))
    assert os.stat(pool / "lookalike.jpg").st_size == os.stat(frame).st_size
    out = check_sr_pool(pool, _datasets(root))
    assert out.status == "unchecked" and out.n_pool_images == 1


def test_only_frames_of_a_pool_file_size_are_read(data, tmp_path, monkeypatch):
    root, _ = data
    frames = _frames(root)
    pool = tmp_path / "pool"
    _random_pngs(pool, 2)
    raw = bytearray(frames[0].read_bytes())
    raw[-3] ^= 0xFF
    (pool / "lookalike.jpg").write_bytes(bytes(raw))
    hashed: list[Path] = []
    digest = pool_guard._digest
    monkeypatch.setattr(pool_guard, "_digest", lambda p: hashed.append(Path(p)) or digest(p))
    check_sr_pool(pool, _datasets(root))
    pool_sizes = {os.stat(p).st_size for p in pool.iterdir()}
    expected = {f for f in frames if os.stat(f).st_size in pool_sizes}
    assert frames[0] in expected
    assert {p for p in hashed if p.is_relative_to(root)} == expected
    assert len(expected) < len(frames)  # else the test would not show the prefilter


def test_synthetic_pool_vs_synthetic_dataset_is_checked(data):
    root, pool = data
    out = check_sr_pool(pool, _datasets(root))
    assert isinstance(out, PoolCheck)
    assert out.status == "checked", out.message
    assert out.n_pool_images == 4
    assert "disjoint" in out.message and "\n" not in out.message


def test_random_pngs_are_unchecked(data, tmp_path):
    root, _ = data
    pool = tmp_path / "pool"
    _random_pngs(pool, 3)
    out = check_sr_pool(pool, _datasets(root))
    assert out.status == "unchecked" and out.n_pool_images == 3
    assert "cannot be checked" in out.message and "must hold none of them" in out.message
    assert "\n" not in out.message


def test_dataset_without_identity_labels_is_unchecked(data, tmp_path):
    root, pool = data
    bare = tmp_path / "casme2"
    shutil.copytree(root, bare)
    (bare / META_FILE).unlink()
    out = check_sr_pool(pool, _datasets(bare))
    assert out.status == "unchecked" and "cannot be checked" in out.message
    assert META_FILE in out.message


def test_foreign_image_in_a_synthetic_pool_is_unchecked(data, tmp_path):
    root, pool = data
    mixed = tmp_path / "pool"
    shutil.copytree(pool, mixed)
    _random_pngs(mixed / "real_photos", 1)
    out = check_sr_pool(mixed, _datasets(root))
    assert out.status == "unchecked" and "real_photos" in out.message
    assert out.n_pool_images == 5


def test_overlapping_identity_metadata_is_refused(data, tmp_path):
    root, pool = data
    fake = tmp_path / "pool"
    shutil.copytree(pool, fake)
    meta = json.loads((root / META_FILE).read_text())
    eval_ids = sorted({tuple(c["identity"]) for c in meta["clips"]})
    assert len(eval_ids) == 2
    (fake / "pool_meta.json").write_text(
        json.dumps({"seed": 0, "size": 64, "identities": [list(k) for k in eval_ids]})
    )
    msg = _refused(fake, _datasets(root))
    assert str(fake) in msg and "2 identities" in msg and str(list(eval_ids[0])) in msg
