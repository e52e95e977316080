"""Tests of the synthetic micro-expression generator (srmer.data.synthetic)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from srmer.data import synthetic
from srmer.data.classmaps import ClassMap
from srmer.data.synthetic.face import identity_rng
from srmer.data.synthetic.layouts import EVAL, POOL
from srmer.errors import DatasetError
from srmer.video.io import read_frames, read_image

TINY = dict(n_subjects=3, clips_per_subject=4, n_frames=6, size=48)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return synthetic.generate(tmp_path_factory.mktemp("syn") / "c2", seed=3, **TINY)


def test_same_seed_same_bytes_different_seed_differs(tiny, tmp_path):
    again = synthetic.generate(tmp_path / "again", seed=3, **TINY)
    a, b = _files(tiny), _files(again)
    assert a.keys() == b.keys()
    for k in a:
        if k.endswith((".jpg", ".json")):
            assert a[k] == b[k], k
    # the xlsx stores a creation time, so compare its cells instead of its bytes
    import pandas as pd

    s1 = pd.read_excel(tiny / "CASME2-coding-20140508.xlsx", dtype=str)
    s2 = pd.read_excel(again / "CASME2-coding-20140508.xlsx", dtype=str)
    assert s1.equals(s2)
    other = synthetic.generate(tmp_path / "other", seed=4, **TINY)
    m1 = json.loads((tiny / synthetic.META_FILE).read_text())["clips"]
    m2 = json.loads((other / synthetic.META_FILE).read_text())["clips"]
    assert [c["amplitude_px"] for c in m1] != [c["amplitude_px"] for c in m2]
    f1 = read_image(next(tiny.rglob("*.jpg")))
    f2 = read_image(next(other.rglob("*.jpg")))
    assert np.abs(f1.astype(int) - f2.astype(int)).mean() > 5


def test_layout_and_frame_numbers(tiny):
    meta = json.loads((tiny / synthetic.META_FILE).read_text())["clips"]
    assert len(meta) == TINY["n_subjects"] * TINY["clips_per_subject"]
    for c in meta:
        d = tiny / "CASME2_RAW_selected" / f"sub{c['subject']}" / c["clip"]
        names = sorted(p.name for p in d.iterdir())
        expected = sorted(f"img{n}.jpg" for n in range(c["onset"], c["offset"] + 1))
        assert names == expected  # only onset..offset, numbered as the sheet
        assert c["onset"] > 0
        assert c["offset"] - c["onset"] + 1 == TINY["n_frames"]
        assert c["onset"] < c["apex"] < c["offset"]
    clip = read_frames(sorted((tiny / "CASME2_RAW_selected").glob("sub01/*/img*.jpg"))[:2])
    assert clip.shape == (2, 48, 48, 3) and clip.dtype == np.uint8


def test_sheet_has_official_columns_and_text_subjects(tiny):
    from openpyxl import load_workbook

    ws = load_workbook(tiny / "CASME2-coding-20140508.xlsx").active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == (
        "Subject",
        "Filename",
        None,
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        None,
        "Action Units",
        "Estimated Emotion",
    )
    subject_cells = [r[0].data_type for r in ws.iter_rows(min_row=2, max_col=1)]
    assert set(subject_cells) == {"s"}  # stored as text, like the official sheet
    assert {r[0] for r in rows[1:]} == {"01", "02", "03"}
    meta = json.loads((tiny / synthetic.META_FILE).read_text())["clips"]
    for r, c in zip(rows[1:], meta, strict=True):
        assert (r[1], r[3], r[4], r[5], r[8]) == (
            c["clip"],
            c["onset"],
            c["apex"],
            c["offset"],
            c["emotion"],
        )


def test_labels_balanced_and_every_subject_has_every_class(tmp_path):
    root = synthetic.generate(
        tmp_path / "bal", n_subjects=4, clips_per_subject=8, n_frames=3, size=32, seed=0
    )
    meta = json.loads((root / synthetic.META_FILE).read_text())["clips"]
    cmap = ClassMap("casme2", "4class")
    per_subject: dict[str, set[str]] = {}
    for c in meta:
        # the raw CASME II string maps to the group the generator meant
        assert cmap.classes[cmap(c["emotion"])] == c["group"]
        per_subject.setdefault(c["subject"], set()).add(c["group"])
    assert all(g == set(cmap.classes) for g in per_subject.values())
    counts = Counter(c["group"] for c in meta)
    assert set(counts.values()) == {8}


def test_au_field_unit_peak_and_time_course():
    ident = synthetic.make_identity(0, 0, 0, 64)
    for au in synthetic.AU_BUMPS:
        f = synthetic.au_field(ident, (au,))
        assert f.shape == (64, 64, 2)
        assert np.sqrt((f**2).sum(-1)).max() == pytest.approx(1.0, abs=1e-5)
    a = synthetic.time_course(24, 9)
    assert a[0] == 0 and a[-1] == pytest.approx(0, abs=1e-12) and a[9] == pytest.approx(1)
    assert np.all(np.diff(a[:10]) > 0) and np.all(np.diff(a[9:]) < 0)


def _local_shift(a: np.ndarray, b: np.ndarray, cy: int, cx: int, half: int = 3) -> np.ndarray:
    """Brute-force sub-pixel shift (dx, dy) of the window around (cy, cx) from a to b (b(x) = a(x - d))."""
    ys, xs = np.mgrid[cy - half : cy + half + 1, cx - half : cx + half + 1].astype(float)
    target = b[cy - half : cy + half + 1, cx - half : cx + half + 1].astype(float)
    cand = np.arange(-4, 4.001, 0.05)
    dx, dy = np.meshgrid(cand, cand)
    dx, dy = dx.ravel(), dy.ravel()
    coords = np.stack(
        [(ys[None] - dy[:, None, None]).ravel(), (xs[None] - dx[:, None, None]).ravel()]
    )
    warped = map_coordinates(a.astype(float), coords, order=3).reshape(len(dx), *ys.shape)
    k = np.argmin(((warped - target) ** 2).sum((1, 2)))
    return np.array([dx[k], dy[k]])


@pytest.mark.parametrize("aus", [(12,), (4,), (1, 2, 26)])
def test_apex_displacement_equals_amplitude(aus):
    ident = synthetic.make_identity(5, 0, 1, 256)
    rng = np.random.default_rng(0)
    spec = synthetic.draw_clip_spec(rng, "happiness", 9, 2.0, 256, synthetic.Nuisance.none(), 0.0)
    spec.aus = aus
    clip = synthetic.render_clip(ident, spec, rng)
    grey = clip.astype(float).mean(-1)
    field = synthetic.au_field(ident, aus)
    mag = np.sqrt((field**2).sum(-1))
    cy, cx = np.unravel_index(np.argmax(mag), mag.shape)
    d = _local_shift(grey[0], grey[spec.apex_index], cy, cx)
    # the measured motion is the field's peak direction scaled by the amplitude (2 px), to ~0.2 px
    assert np.linalg.norm(d) == pytest.approx(spec.amplitude, abs=0.25)
    assert np.dot(d, field[cy, cx]) / np.linalg.norm(d) > 0.95
    # and the onset and offset frames are the neutral face
    assert np.abs(clip[0].astype(int) - clip[-1].astype(int)).max() <= 1


def test_nuisances_present_but_class_independent():
    ident = synthetic.make_identity(1, 0, 0, 64)
    rng = np.random.default_rng(1)
    blinks = Counter()
    for emotion in ("happiness", "disgust", "surprise", "others"):
        for _ in range(40):
            spec = synthetic.draw_clip_spec(rng, emotion, 24, 2.0, 64, synthetic.Nuisance(), 0.2)
            blinks[emotion] += spec.blink is not None
            assert np.abs(spec.head_shift).max() > 0
    # blink probability 0.5 in every class (binomial(40, .5): 10..30 holds with p > 0.999)
    assert all(10 <= v <= 30 for v in blinks.values())
    spec = synthetic.draw_clip_spec(rng, "neutral", 24, 2.0, 64, synthetic.Nuisance(), 0.0)
    spec.blink = (5, 6, 1.0)
    clip = synthetic.render_clip(ident, spec, rng)
    x, y, ax, ay = ident.eyes[0]
    eye = (slice(int(y - ay), int(y + ay) + 1), slice(int(x - ax), int(x + ax) + 1))
    closed = clip[8][eye].astype(float)
    opened = clip[0][eye].astype(float)
    assert np.abs(closed - opened).mean() > 10  # the lid covers the eye mid-blink


def test_sr_pool_uses_no_evaluation_identity(tmp_path, tiny):
    pool = synthetic.generate_sr_pool(
        tmp_path, n_identities=3, frames_per_identity=2, size=48, seed=3
    )
    paths = synthetic.sr_pool_paths(tmp_path)
    assert len(paths) == 6 and all(p.suffix == ".png" for p in paths)
    pool_ids = {tuple(k) for k in json.loads((pool / "pool_meta.json").read_text())["identities"]}
    eval_ids = {
        tuple(c["identity"]) for c in json.loads((tiny / synthetic.META_FILE).read_text())["clips"]
    }
    assert pool_ids.isdisjoint(eval_ids)
    # the identities themselves differ (not just their labels): compare faces of the same index
    for i in range(3):
        e = synthetic.make_identity(3, EVAL, i, 48).image
        p = synthetic.make_identity(3, POOL, i, 48).image
        assert np.abs(e - p).mean() > 0.02
    # random streams of different domains never coincide, for any pair of seeds
    assert identity_rng(0, 0, 1).random() != identity_rng(0, 1, 1).random()
    with pytest.raises(DatasetError, match="generate_sr_pool"):
        synthetic.sr_pool_paths(tmp_path / "nothing")


def test_refuses_to_overwrite_foreign_folder(tmp_path):
    (tmp_path / "CASME2_RAW_selected").mkdir()
    with pytest.raises(DatasetError, match="not written by the synthetic generator"):
        synthetic.generate(tmp_path, **TINY)
    (tmp_path / "sr_pool").mkdir()
    with pytest.raises(DatasetError, match="not written by generate_sr_pool"):
        synthetic.generate_sr_pool(tmp_path, n_identities=1, frames_per_identity=1, size=16)


def test_bad_arguments():
    with pytest.raises(DatasetError, match="layout"):
        synthetic.generate("/tmp/never", layout="nope")
    with pytest.raises(DatasetError, match="n_frames"):
        synthetic.generate("/tmp/never", n_frames=2)


@pytest.mark.slow
def test_demo_set_generates_quickly(tmp_path):
    import time

    t = time.perf_counter()
    synthetic.generate(tmp_path / "demo", seed=0)
    assert time.perf_counter() - t < 20


def test_static_expressions_are_larger_than_micro_expressions():
    from srmer.data.synthetic.layouts import STATIC_AUS

    assert set(STATIC_AUS) == set(synthetic.RAFDB_CLASSES)
    ident = synthetic.make_identity(2, 2, 0, 100)
    neutral = synthetic.render_frame(ident, synthetic.au_field(ident, ()), 0.0)

    def change(aus, amp_at_256):
        f = synthetic.render_frame(ident, synthetic.au_field(ident, aus), amp_at_256 * 100 / 256)
        return np.abs(f.astype(float) - neutral).mean()

    import inspect

    def default(f, name):
        return inspect.signature(f).parameters[name].default

    micro = change((12,), default(synthetic.generate, "amplitude"))
    static_amp = default(synthetic.generate_static, "amplitude")
    for emotion, options in STATIC_AUS.items():
        if emotion != "neutral":
            # posed expressions move the face several times more than micro-expressions
            assert change(options[0], static_amp) > 3 * micro, emotion
