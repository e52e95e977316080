"""Apex helpers: middle frame and the motion-based spotter."""

from __future__ import annotations

import numpy as np
import pytest

from srmer.video import middle_apex, motion_apex, motion_curve


def test_middle_apex():
    assert middle_apex(5) == 2
    assert middle_apex(4) == 1
    assert middle_apex(1) == 0
    # SMIC: onset + (offset - onset) // 2 with offset = onset + n - 1
    assert middle_apex(11, onset=100) == 100 + (110 - 100) // 2
    with pytest.raises(Exception, match="frame"):
        middle_apex(0)


def test_motion_apex_on_a_known_time_course():
    rng = np.random.default_rng(0)
    base = rng.random((32, 32)) * 200
    pattern = np.zeros((32, 32))
    pattern[10:20, 8:24] = 1.0
    amp = np.array([0, 1, 3, 6, 9, 11, 12, 10, 7, 4, 2, 1], dtype=float)
    clip = np.stack([base + a * pattern + rng.normal(0, 0.5, base.shape) for a in amp])
    curve = motion_curve(clip)
    assert curve[0] == 0 and np.argmax(curve) == 6
    assert motion_apex(clip) == 6
    # one glitch frame (e.g. a dropped frame) is outweighed by the moving average
    glitch = clip.copy()
    glitch[10] += 15 * pattern  # amplitude 2 -> 17, above the true peak of 12
    assert motion_apex(glitch, smooth=3) == 6
    assert motion_apex(glitch, smooth=1) == 10


def test_motion_apex_on_synthetic_micro_expression():
    from srmer.data.synthetic import Nuisance, draw_clip_spec, make_identity, render_clip

    ident = make_identity(0, 0, 1, size=96)
    rng = np.random.default_rng(3)
    spec = draw_clip_spec(rng, "surprise", 13, 3.0, 96, Nuisance(0, 0, 0, 0, 0, 1.0))
    clip = render_clip(ident, spec, rng)
    assert abs(motion_apex(clip) - spec.apex_index) <= 1
