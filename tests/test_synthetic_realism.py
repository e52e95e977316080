"""Synthetic data that behaves like the real databases: class imbalance and subject difficulty.

Options ``class_balance`` and ``subject_difficulty`` of :func:`srmer.data.synthetic.generate`.
Proportions are checked on the planning function (no frames rendered); generated sets are tiny.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import srmer.data
from srmer.data import synthetic
from srmer.data.classmaps import ClassMap
from srmer.data.synthetic.layouts import CLASS_BALANCES, _plan, _subject_scale
from srmer.errors import DatasetError
from srmer.eval.metrics import uar, war

TINY = dict(n_subjects=3, clips_per_subject=4, n_frames=3, size=32)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _meta(root: Path) -> dict:
    return json.loads((root / synthetic.META_FILE).read_text())


def _groups(plan) -> list[str]:
    return [g for clips in plan for g, _ in clips]


# --- defaults unchanged ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["casme2", "smic"])
def test_default_options_reproduce_the_default_call(tmp_path, layout):
    kw = dict(TINY, seed=5, layout=layout)
    a = synthetic.generate(tmp_path / "default", **kw)
    b = synthetic.generate(
        tmp_path / "explicit", class_balance="cycle", subject_difficulty=0.0, **kw
    )
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    for k in fa:
        if k.endswith(".xlsx"):  # stores its creation time: compare the cells
            sa = pd.read_excel(a / k, dtype=str, header=None)
            assert sa.equals(pd.read_excel(b / k, dtype=str, header=None)), k
        else:
            assert fa[k] == fb[k], k
    # the new options leave no trace in a default meta file (older files stay comparable)
    meta = _meta(a)
    assert "class_balance" not in meta["params"] and "subject_difficulty" not in meta["params"]
    assert all("subject_scale" not in c for c in meta["clips"])


def test_cycle_plan_is_still_balanced_per_subject():
    plan = _plan("casme2", 5, 8, seed=0)
    two_each = Counter(dict.fromkeys(CLASS_BALANCES["casme2"], 2))
    assert all(Counter(g for g, _ in clips) == two_each for clips in plan)


# --- class_balance --------------------------------------------------------------------------------


@pytest.mark.parametrize("balance", sorted(CLASS_BALANCES))
def test_balance_proportions_match_the_real_database(balance):
    counts = CLASS_BALANCES[balance]
    plan = _plan(balance, 100, 40, seed=1, class_balance=balance)
    got = Counter(_groups(plan))
    n = sum(got.values())
    assert n == 4000 and set(got) == set(counts)
    total = sum(counts.values())
    for g, c in counts.items():
        # 4000 independent draws: binomial sd <= 0.008, so 0.03 is about 4 sd
        assert abs(got[g] / n - c / total) < 0.03, (g, got[g] / n, c / total)


def test_real_counts_are_the_published_ones():
    c2, samm, smic = CLASS_BALANCES["casme2"], CLASS_BALANCES["samm"], CLASS_BALANCES["smic"]
    assert c2 == {"negative": 63 + 7 + 2, "positive": 32, "surprise": 25, "others": 99 + 27}
    assert sum(c2.values()) == 255
    assert samm == {"negative": 92, "positive": 26, "surprise": 15, "others": 26}
    assert smic == {"negative": 70, "positive": 51, "surprise": 43}
    assert sum(smic.values()) == 164


def test_balance_plan_is_deterministic_under_seed():
    a = _plan("samm", 6, 5, seed=3, class_balance="samm")
    assert a == _plan("samm", 6, 5, seed=3, class_balance="samm")
    assert a != _plan("samm", 6, 5, seed=4, class_balance="samm")
    # raw emotions are in the layout's spelling and belong to the drawn group
    cmap = ClassMap("samm", "4class")
    assert all(cmap.classes[cmap(raw)] == g for clips in a for g, raw in clips)


@pytest.mark.parametrize(("n_subjects", "clips_per_subject"), [(1, 4), (2, 2), (4, 1), (3, 3)])
def test_every_class_present_when_there_are_enough_clips(n_subjects, clips_per_subject):
    # SAMM's surprise rate is 15/159: four independent draws miss it most of the time
    for seed in range(40):
        plan = _plan("samm", n_subjects, clips_per_subject, seed, class_balance="samm")
        assert set(_groups(plan)) == set(CLASS_BALANCES["samm"]), seed
        assert [len(c) for c in plan] == [clips_per_subject] * n_subjects


def test_fewer_clips_than_classes_is_not_an_error():
    plan = _plan("casme2", 1, 3, seed=0, class_balance="casme2")
    assert len(plan[0]) == 3


def test_imbalance_separates_uar_from_war():
    # a classifier that always answers the majority class: WAR = its share, UAR = chance
    y = _groups(_plan("casme2", 26, 10, seed=0, class_balance="casme2"))
    majority = Counter(y).most_common(1)[0][0]
    assert majority == "others"
    pred = [majority] * len(y)
    assert uar(y, pred) == pytest.approx(0.25)
    assert war(y, pred) > 0.4
    # ... whereas on the cycled (balanced) set the two coincide
    yb = _groups(_plan("casme2", 26, 8, seed=0))
    assert war(yb, [majority] * len(yb)) == pytest.approx(uar(yb, [majority] * len(yb)))


def test_smic_layout_takes_the_ratios_of_a_four_class_database():
    plan = _plan("smic", 100, 40, seed=0, class_balance="casme2")
    got = Counter(_groups(plan))
    assert set(got) == {"negative", "positive", "surprise"}
    c = CLASS_BALANCES["casme2"]
    expect = c["negative"] / (c["negative"] + c["positive"] + c["surprise"])
    assert abs(got["negative"] / 4000 - expect) < 0.03


def test_generated_imbalanced_set_loads_with_its_drawn_labels(tmp_path):
    root = synthetic.generate(tmp_path / "c2", seed=2, class_balance="casme2", **TINY)
    meta = _meta(root)
    assert meta["params"]["class_balance"] == "casme2"
    s = srmer.data.load("casme2", root, classes="4class")
    assert len(s) == 12
    by_clip = {(c["subject"], c["clip"]): c["group"] for c in meta["clips"]}
    assert all(by_clip[(x.subject, x.clip)] == x.label_name for x in s)
    assert {x.label_name for x in s} == set(CLASS_BALANCES["casme2"])
    # the same plan _plan() gives (the files follow the planning function)
    assert [c["group"] for c in meta["clips"]] == _groups(_plan("casme2", 3, 4, 2, "casme2"))


def test_bad_class_balance(tmp_path):
    with pytest.raises(DatasetError, match="class_balance"):
        synthetic.generate(tmp_path / "a", class_balance="casme9", **TINY)
    with pytest.raises(DatasetError, match="others"):
        synthetic.generate(tmp_path / "b", class_balance="smic", **TINY)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# --- subject_difficulty ---------------------------------------------------------------------------


def test_subject_difficulty_recorded_per_clip_constant_within_subject(tmp_path):
    kw = dict(n_subjects=4, clips_per_subject=2, n_frames=3, size=32, seed=1)
    hard = _meta(synthetic.generate(tmp_path / "hard", subject_difficulty=0.5, **kw))
    base = _meta(synthetic.generate(tmp_path / "base", **kw))
    assert hard["params"]["subject_difficulty"] == 0.5
    per_subject: dict[str, set[float]] = {}
    for h, b in zip(hard["clips"], base["clips"], strict=True):
        per_subject.setdefault(h["subject"], set()).add(h["subject_scale"])
        # the clip streams are untouched: only the amplitude changes, by the subject's factor
        for k in ("aus", "apex_index", "onset", "offset", "blink", "group", "emotion", "clip"):
            assert h[k] == b[k], k
        assert h["amplitude_px"] == pytest.approx(b["amplitude_px"] * h["subject_scale"])
    assert all(len(v) == 1 for v in per_subject.values())
    scales = [next(iter(v)) for v in per_subject.values()]
    assert len(set(scales)) == 4 and min(scales) > 0


def test_subject_scale_is_lognormal_seeded_and_independent_of_the_set_size():
    z = np.log([_subject_scale(0, i, 1.0) for i in range(2000)])
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1.0) < 0.1
    # the same standard normal behind every spread: a larger spread only stretches the factors
    assert _subject_scale(0, 7, 0.3) == pytest.approx(np.exp(0.3 * z[7]))
    assert _subject_scale(0, 7, 0.0) == 1.0
    assert _subject_scale(1, 7, 1.0) != _subject_scale(0, 7, 1.0)


def test_bad_subject_difficulty(tmp_path):
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(DatasetError, match="subject_difficulty"):
            synthetic.generate(tmp_path / "x", subject_difficulty=bad, **TINY)
