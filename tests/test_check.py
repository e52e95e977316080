"""srmer.data.check: counts per subject/class under every map, and every problem with its clip."""

from __future__ import annotations

import numpy as np
import pytest

from srmer.data import synthetic
from srmer.data.check import check_dataset
from srmer.errors import DatasetError, UnknownMethodError
from srmer.video.io import write_image


def test_report_on_generated_tree_with_planted_problems(tmp_path):
    root = synthetic.generate(
        tmp_path / "g", n_subjects=2, clips_per_subject=4, n_frames=5, size=24, seed=0
    )
    clean = check_dataset("casme2", root)
    assert clean.ok and clean.n_usable == clean.n_annotated == 8
    assert set(clean.counts) == {"4class", "5class", "megc3", "raw"}
    assert clean.totals("4class") == {"negative": 2, "positive": 2, "surprise": 2, "others": 2}
    assert {s: sum(v.values()) for s, v in clean.counts["4class"].items()} == {"01": 4, "02": 4}
    # plant problems: delete a middle frame of one clip, unknown apex, unknown emotion, duplicate row
    from openpyxl import load_workbook

    sheet = root / "CASME2-coding-20140508.xlsx"
    wb = load_workbook(sheet)
    ws = wb.active
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    subj, clip, _, onset = rows[0][:4]
    (root / "CASME2_RAW_selected" / f"sub{subj}" / clip / f"img{onset + 2}.jpg").unlink()
    ws.cell(row=3, column=5, value="/")
    ws.cell(row=4, column=9, value="boredom")
    ws.append(list(rows[5]))
    wb.save(sheet)
    rep = check_dataset("casme2", root)
    kinds = {(f.clip, f.kind, f.fatal) for f in rep.findings}
    assert (f"casme2/{subj}/{clip}", "missing frames", True) in kinds
    assert (f"casme2/{rows[1][0]}/{rows[1][1]}", "unknown apex", False) in kinds
    assert (f"casme2/{rows[2][0]}/{rows[2][1]}", "unknown emotion", True) in kinds
    assert (f"casme2/{rows[5][0]}/{rows[5][1]}", "duplicate clip", True) in kinds
    assert rep.n_annotated == 9 and rep.n_usable == 6 and not rep.ok
    assert rep.problem_counts() == {
        "missing frames": 1,
        "unknown apex": 1,
        "unknown emotion": 1,
        "duplicate clip": 1,
    }
    text = rep.render()
    assert "class map 4class" in text and "boredom" in text and "skipped" in text and clip in text


def test_offset_outside_frames_reported(tmp_path):
    root = synthetic.generate(
        tmp_path / "s",
        n_subjects=1,
        clips_per_subject=3,
        n_frames=4,
        size=24,
        seed=1,
        layout="samm",
    )
    from openpyxl import load_workbook

    sheet = root / "SAMM_Micro_FACS_Codes_v2.xlsx"
    wb = load_workbook(sheet)
    ws = wb["MICRO_ONLY"]
    ws.cell(row=15, column=6, value=ws.cell(row=15, column=6).value + 50)
    wb.save(sheet)
    rep = check_dataset("samm", root)
    assert [f.kind for f in rep.findings] == ["onset/offset outside frames"]
    assert rep.n_usable == 2


def test_smic_rafdb_and_errors(tmp_path):
    hs = tmp_path / "HS"
    for n in (1, 2, 3):
        write_image(
            hs / "s1" / "micro" / "positive" / "s1_po_01" / f"image{n:06d}.bmp",
            np.zeros((4, 4, 3), np.uint8),
        )
    rep = check_dataset("smic", tmp_path)
    assert rep.ok and set(rep.counts) == {"4class", "megc3", "raw"}
    assert rep.counts["4class"] == {"s1": {"negative": 0, "positive": 1, "surprise": 0}}
    with pytest.raises(UnknownMethodError):
        check_dataset("nope", tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        check_dataset("casme2", tmp_path / "absent")
    raf = synthetic.generate_static(tmp_path / "raf", n_train_per_class=1, n_test_per_class=1)
    rep = check_dataset("rafdb", raf)
    assert rep.n_annotated == 14 and set(rep.counts) == {"4class", "7class", "raw"}
