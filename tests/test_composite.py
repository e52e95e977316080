"""The MEGC 2019 composite: list parsing, matching the list against the three copies, check, CLI, generator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

import srmer.data
from srmer.cli import app
from srmer.data.check import CompositeCheck, check_composite, check_dataset
from srmer.data.classmaps import ClassMap
from srmer.data.composite import (
    MEGC2019_LIST,
    load_composite,
    normalise_clip,
    normalise_subject,
    read_composite_list,
)
from srmer.data.registry import DATASETS, DEFAULT_CLASS_MAP
from srmer.data.synthetic import LIST_FILE, META_FILE, generate_composite
from srmer.errors import ConfigError, DatasetError, SrmerError
from srmer.video.io import write_image

CASME2_HEADER = [
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
SAMM_HEADER = [
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset Frame",
    "Apex Frame",
    "Offset Frame",
    "Duration",
    "Micro",
    "Action Units",
    "Estimated Emotion",
    "Objective Classes",
    "Notes",
]

# the listed clips the fabricated trees hold (real ids of the official list) and their list labels
FOUND = {
    "casme2/01/EP02_01f": 1,
    "casme2/01/EP19_05f": 0,
    "casme2/11/EP08_01f": 0,
    "samm/006/006_1_2": 0,
    "samm/006/006_3_5": 2,
    "samm/011/011_1_4": 0,  # the sheet says Other: the list's label wins
    "samm/011/011_2_7": 1,
    "smic/s1/s1_ne_01": 0,
    "smic/s1/s1_po_01": 1,
    "smic/s1/s1_sur_01": 2,
    "smic/s11/s11_ne_01": 0,
    "smic/s11/s11_po_01": 1,
}
# listed clips on disk that their loader skips (list spelling)
UNUSABLE = {"casme2/sub11/EP13_02f", "smic/s11/s11_po_02"}
# clips on disk the list does not hold
UNLISTED = {"casme2": 3, "samm": 2, "smic": 1}


def _casme2_sheet(path: Path, rows) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(CASME2_HEADER)
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def _samm_sheet(path: Path, rows) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "MICRO_ONLY"
    for r in range(13):  # the v2 sheet's preamble: header on Excel row 14
        ws.append([f"note {r}"] if r % 3 == 0 else [])
    ws.append(SAMM_HEADER)
    for r in rows:
        ws.append(list(r))
    wb.save(path)


def _frames(folder: Path, names) -> None:
    img = np.full((6, 6, 3), 120, np.uint8)
    for name in names:
        write_image(folder / name, img)


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> Path:
    """``data/{casme2,samm,smic}`` in the official layouts: some listed clips, some missing, some
    unusable, plus distractors (emotions megc3 drops, clips not in the list, a non_micro clip)."""
    data = tmp_path_factory.mktemp("composite") / "data"
    c2 = data / "casme2"
    raw = c2 / "CASME2_RAW_selected"
    casme2 = [
        ("01", "EP02_01f", 46, 48, 51, "happiness", range(46, 52)),
        ("01", "EP19_05f", 10, 12, 14, "disgust", range(10, 15)),
        ("11", "EP08_01f", 20, 22, 24, "repression", range(20, 25)),
        ("11", "EP13_02f", 30, 32, 35, "disgust", [30, 31, 33, 34, 35]),  # frame 32 missing
        ("01", "EP03_02", 5, 6, 8, "others", range(5, 9)),  # not listed (megc3 drops others)
        ("11", "EP99_01", 5, 6, 8, "sadness", range(5, 9)),  # not listed
        ("01", "EP05_05", 5, 6, 8, "happiness", range(5, 9)),  # not listed
    ]
    for subject, clip, _, _, _, _, numbers in casme2:
        _frames(raw / f"sub{subject}" / clip, (f"img{n}.jpg" for n in numbers))
    _casme2_sheet(
        c2 / "CASME2-coding-20140508.xlsx",
        [(s, c, None, on, ap, off, None, "4", emo) for s, c, on, ap, off, emo, _ in casme2],
    )

    sm = data / "samm"
    samm = [
        ("006", "006_1_2", 5562, 5564, 5567, "Anger"),
        ("006", "006_3_5", 100, 102, 104, "Surprise"),
        ("011", "011_2_7", 50, 52, 54, "Happiness"),
        ("011", "011_1_4", 60, 61, 63, "Other"),
        ("006", "006_9_9", 10, 11, 13, "Other"),  # not listed
        ("011", "011_8_8", 10, 11, 13, "Happiness"),  # not listed
    ]
    for subject, clip, on, _, off, _ in samm:
        _frames(
            sm / "SAMM" / subject / clip, (f"{subject}_{n:05d}.jpg" for n in range(on, off + 1))
        )
    _samm_sheet(
        sm / "SAMM_Micro_FACS_Codes_v2.xlsx",
        [
            (s, c, int(c.split("_")[1]), on, ap, off, off - on, "Micro - 1/2", "4", emo, 1, None)
            for s, c, on, ap, off, emo in samm
        ],
    )

    hs = data / "smic" / "HS"
    for subject, cls, clip in [
        ("s1", "negative", "s1_ne_01"),
        ("s1", "positive", "s1_po_01"),
        ("s1", "surprise", "s1_sur_01"),
        ("s11", "negative", "s11_ne_01"),
        ("s11", "positive", "s11_po_01"),
        ("s11", "negative", "s11_ne_09"),  # not listed
    ]:
        _frames(hs / subject / "micro" / cls / clip, (f"image{n:06d}.bmp" for n in range(7, 12)))
    _frames(hs / "s1" / "non_micro" / "s1_no_01", (f"image{n:06d}.bmp" for n in range(1, 4)))
    (hs / "s11" / "micro" / "positive" / "s11_po_02").mkdir(parents=True)  # listed, no frames
    return data


def _roots(data: Path) -> dict[str, Path]:
    return {k: data / k for k in ("casme2", "samm", "smic")}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------ the shipped list
def test_the_shipped_list_has_the_published_counts():
    entries = read_composite_list()  # the default is the shipped file
    assert MEGC2019_LIST.is_file() and len(entries) == 442
    per = {
        ds: tuple(Counter(e.label for e in entries if e.dataset == ds)[i] for i in range(3))
        for ds in ("casme2", "samm", "smic")
    }
    subjects = {
        ds: len({e.subject for e in entries if e.dataset == ds})
        for ds in ("casme2", "samm", "smic")
    }
    assert per == {"casme2": (88, 32, 25), "samm": (92, 26, 15), "smic": (70, 51, 43)}
    assert subjects == {"casme2": 24, "samm": 28, "smic": 16}
    assert sum(subjects.values()) == 68
    assert entries[0].key == "casme2/sub01/EP02_01f" and entries[0].label == 1


def test_spellings_normalise_to_one_key():
    assert normalise_subject("sub01") == normalise_subject("01") == "1"
    assert normalise_subject("6") == normalise_subject("006") == "6"
    assert normalise_subject("s01") == normalise_subject("S1") == "1"
    assert normalise_clip("smic", "s01_ne_01") == normalise_clip("smic", "s1_NE_01") == "s1_ne_01"
    assert normalise_clip("casme2", "EP02_01f") == "ep02_01f"


# ------------------------------------------------------------------------------------- list parsing
def test_separator_and_blank_lines_are_ignored(tmp_path):
    path = _write(tmp_path / "l.csv", "casme2,sub01,EP02_01f,1\n,,,\n\nsmic, s01 ,s01_ne_01,0\r\n")
    entries = read_composite_list(path)
    assert [(e.dataset, e.subject, e.clip, e.label) for e in entries] == [
        ("casme2", "sub01", "EP02_01f", 1),
        ("smic", "s01", "s01_ne_01", 0),
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("casme2,sub01,EP19_05f,3", "label '3' is not 0, 1 or 2"),
        ("casme3,sub01,EP19_05f,0", "dataset 'casme3' is not one of"),
        ("casme2,sub01,EP19_05f", "expected 4 columns, found 3"),
        ("casme2,sub01,EP19_05f,0,extra", "expected 4 columns, found 5"),
        ("casme2,,EP19_05f,0", "subject or clip column is empty"),
        ("casme2,01,ep02_01F,1", "listed twice (first on line 1)"),  # same clip, other spelling
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path, line, says):
    path = _write(tmp_path / "bad_list.csv", f"casme2,sub01,EP02_01f,1\n{line}\n")
    with pytest.raises(DatasetError) as err:
        read_composite_list(path)
    msg = str(err.value)
    assert "bad_list.csv" in msg and "line 2" in msg and says in msg


def test_a_header_line_and_an_empty_list_are_explained(tmp_path):
    with pytest.raises(DatasetError, match="no header line"):
        read_composite_list(_write(tmp_path / "h.csv", "dataset,subject,clip,label\n"))
    with pytest.raises(DatasetError, match="holds no clips"):
        read_composite_list(_write(tmp_path / "e.csv", ",,,\n\n"))
    with pytest.raises(DatasetError, match="nope.csv does not exist"):
        read_composite_list(tmp_path / "nope.csv")


# -------------------------------------------------------------------------------------------- loading
def test_exactly_the_listed_clips_present_with_the_list_labels(trees):
    s = load_composite(_roots(trees))
    by = {x.key: x for x in s}
    assert by.keys() == FOUND.keys() and len(s) == len(FOUND)
    assert {k: x.label for k, x in by.items()} == FOUND
    assert s.classes == ("negative", "positive", "surprise") and s.class_map == "megc3"
    assert all(x.label_name == s.classes[x.label] for x in s)
    assert by["samm/011/011_1_4"].emotion == "other"  # the sheet's raw emotion is kept
    assert Counter(x.dataset for x in s) == {"casme2": 3, "samm": 4, "smic": 5}
    assert s.counts() == {"negative": 6, "positive": 4, "surprise": 2}
    # the list's order (CASME II, SMIC, SAMM in the official file)
    order = [e.match_key for e in read_composite_list()]
    source = [(x.dataset, x.extra["source_subject"], x.clip) for x in s]
    positions = [order.index((d, normalise_subject(j), normalise_clip(d, c))) for d, j, c in source]
    assert positions == sorted(positions)
    assert s.unlisted == sum(UNLISTED.values())
    assert s.sources == _roots(trees) and s.root == trees.resolve()


def test_subject_ids_are_unique_across_datasets_and_keys_stay_the_sources(trees):
    s = srmer.data.load("composite", _roots(trees))
    subjects = {x.subject for x in s}
    assert {"casme2_11", "samm_011", "smic_s11"} <= subjects
    assert s.subjects == [
        "casme2_01",
        "casme2_11",
        "samm_006",
        "samm_011",
        "smic_s1",
        "smic_s11",
    ]
    x = next(x for x in s if x.clip == "s11_ne_01")
    assert x.extra["source_subject"] == "s11" and x.extra["megc_subject"] == "s11"
    assert x.extra["megc_clip"] == "s11_ne_01" and x.key == "smic/s11/s11_ne_01"
    # the same clip loaded alone has the same key (stage caches are shared)
    alone = srmer.data.load("casme2", trees / "casme2", classes="raw")
    c2 = next(x for x in s if x.clip == "EP02_01f")
    assert c2.key in {y.key for y in alone} and c2.extra["megc_subject"] == "sub01"
    assert c2.frames == next(y for y in alone if y.key == c2.key).frames


def test_listed_clips_missing_or_unusable_are_skipped_with_the_reason(trees):
    s = load_composite(trees)  # the parent folder form
    assert len(s) == len(FOUND)
    skipped = {k.clip: k for k in s.skipped}
    assert len(skipped) == 442 - len(FOUND)
    assert "casme2/sub01/EP19_06f" in skipped and "samm/37/037_3_2" in skipped
    gone = skipped["casme2/sub01/EP19_06f"]
    assert "in the MEGC 2019 list but missing" in gone.problem and gone.fix
    for key in UNUSABLE:
        assert "in the MEGC 2019 list but unusable" in skipped[key].problem
    assert "frame(s) missing" in skipped["casme2/sub11/EP13_02f"].problem
    assert "no frame files" in skipped["smic/s11/s11_po_02"].problem


def test_a_custom_list_in_the_megc_format(trees, tmp_path):
    path = _write(
        tmp_path / "mine.csv",
        "smic,s01,s01_ne_01,2\n,,,\ncasme2,sub01,EP02_01f,1\nsamm,6,006_1_2,0\nsmic,s03,s03_ne_01,0\n",
    )
    s = load_composite(_roots(trees), list=path)
    assert [(x.key, x.label) for x in s] == [
        ("smic/s1/s1_ne_01", 2),
        ("casme2/01/EP02_01f", 1),
        ("samm/006/006_1_2", 0),
    ]
    assert [k.clip for k in s.skipped] == ["smic/s03/s03_ne_01"]
    assert s.unlisted == 7 + 6 + 7 - 3  # every clip of the copies, usable or not, minus the listed


def test_bad_roots_and_classes_are_one_clear_error(trees, tmp_path):
    roots = _roots(trees)
    with pytest.raises(DatasetError, match="no folder given for smic"):
        load_composite({"casme2": roots["casme2"], "samm": roots["samm"]})
    with pytest.raises(DatasetError, match=r"root for samm: .*nowhere does not exist"):
        load_composite({**roots, "samm": tmp_path / "nowhere"})
    with pytest.raises(DatasetError, match=r"samm.*nowhere does not exist"):
        srmer.data.load("composite", {**roots, "samm": tmp_path / "nowhere"})
    with pytest.raises(DatasetError, match="unknown source 'casme3'"):
        load_composite({**roots, "casme3": roots["casme2"]})
    (tmp_path / "half" / "casme2").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"no samm/, smic/ folder"):
        load_composite(tmp_path / "half")
    with pytest.raises(DatasetError, match="gone does not exist"):
        srmer.data.load("composite", tmp_path / "gone")
    with pytest.raises(DatasetError, match="fixed by the MEGC 2019 list"):
        load_composite(roots, classes="4class")
    with pytest.raises(DatasetError, match="fixed by the MEGC 2019 list"):
        srmer.data.load("composite", roots, classes="4class")
    with pytest.raises(DatasetError, match="unknown option 'sheet'"):
        load_composite(roots, sheet="x.xlsx")
    with pytest.raises(DatasetError, match="takes one root folder"):
        srmer.data.load("casme2", roots)
    # a source its loader cannot read names the source
    (tmp_path / "bad" / "casme2").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"composite source casme2 .*no CASME II coding sheet"):
        load_composite({**roots, "casme2": tmp_path / "bad" / "casme2"})


def test_registered_with_its_default_classes(trees):
    assert "composite" in DATASETS and DEFAULT_CLASS_MAP["composite"] == "megc3"
    assert "442 clips, 68 subjects" in DATASETS.description("composite")
    s = srmer.data.load("composite", {k: str(v) for k, v in _roots(trees).items()})
    assert s.name == "composite" and len(s) == len(FOUND)
    with pytest.raises(ConfigError, match="unknown option.*sheet.*casme2, list, samm, smic"):
        srmer.data.load("composite", trees, sheet="x.xlsx")
    # per-source loader options travel as mappings
    no_apex = srmer.data.load("composite", trees, smic={"apex": "none"})
    smic = [x for x in no_apex if x.dataset == "smic"]
    assert len(no_apex) == len(FOUND) and len(smic) == 5
    assert all(x.apex is None for x in smic) and all(
        x.apex is not None for x in s if x.dataset == "smic"
    )
    with pytest.raises(DatasetError, match="bad option .apx. in smic=.*takes apex"):
        srmer.data.load("composite", trees, smic={"apx": "none"})


# ---------------------------------------------------------------------------------------------- check
def test_check_composite_counts_and_render(trees):
    rep = check_dataset("composite", trees)
    assert isinstance(rep, CompositeCheck) and not rep.ok
    assert rep.listed["casme2"] == {"negative": 88, "positive": 32, "surprise": 25}
    assert rep.listed["samm"] == {"negative": 92, "positive": 26, "surprise": 15}
    assert rep.found == {
        "casme2": {"negative": 2, "positive": 1, "surprise": 0},
        "samm": {"negative": 2, "positive": 1, "surprise": 1},
        "smic": {"negative": 2, "positive": 2, "surprise": 1},
    }
    assert rep.listed_subjects == {"casme2": 24, "samm": 28, "smic": 16}
    assert rep.found_subjects == {"casme2": 2, "samm": 2, "smic": 2}
    assert (rep.n_found, rep.n_listed, len(rep.missing)) == (12, 442, 430)
    assert rep.unlisted == UNLISTED
    assert [(m.clip, m.emotion, m.sheet_class, m.list_class) for m in rep.mismatches] == [
        ("samm/011/011_1_4", "other", None, "negative")
    ]
    kinds = {f.kind for f in rep.reports["casme2"].findings}
    assert "missing frames" in kinds and rep.reports["smic"].n_annotated == 7

    text = rep.render(width=160)
    assert "12 of 442 listed clips found, 430 missing" in text
    assert "6 clip(s) on disk not in the list" in text
    casme2_row = next(line for line in text.splitlines() if line.startswith("│ casme2"))
    assert "2/88" in casme2_row and "1/32" in casme2_row and "3/145" in casme2_row
    assert "2/24" in casme2_row
    assert "... and 410 more" in text and "casme2/sub01/EP19_06f" in text
    assert "samm/011/011_1_4" in text  # the label mismatch table
    assert "source casme2:" in text and "frame(s) missing" in text
    assert "\x1b[" not in text  # no colour codes
    assert check_composite(_roots(trees)).missing == rep.missing


def test_check_composite_with_every_listed_clip(trees, tmp_path):
    path = _write(tmp_path / "l.csv", "casme2,sub01,EP02_01f,1\nsmic,s01,s01_po_01,1\n")
    rep = check_composite(_roots(trees), list=path)
    assert rep.ok and rep.n_listed == 2 and rep.n_found == 2
    assert "every listed clip was found" in rep.render()


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_datasets_check_composite(trees):
    roots = _roots(trees)
    args = [f"{k}={v}" for k, v in roots.items()]
    res = CliRunner().invoke(app, ["datasets", "check", "composite", *args], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "12 of 442 listed clips found" in res.output and "... and 410 more" in res.output
    res = CliRunner().invoke(app, ["datasets", "check", "composite", str(trees)])
    assert res.exit_code == 0 and "12 of 442 listed clips found" in res.output
    assert "composite" in CliRunner().invoke(app, ["datasets", "check", "--help"]).output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["casme2", "a", "b"], "exactly one ROOT"),
        (["composite", "a", "b"], "not 2 folders"),
        (["composite", "casme2=a", "b"], "b is not SOURCE=PATH"),
        (["composite", "casme2=a", "casme2=b"], "given twice"),
    ],
)
def test_cli_bad_root_arguments(args, says):
    res = CliRunner().invoke(app, ["datasets", "check", *args])
    assert res.exit_code != 0
    assert isinstance(res.exception, SrmerError) and says in str(res.exception)


def test_cli_missing_source_is_one_message_without_traceback(trees):
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            "from srmer.cli import main; main()",
            "datasets",
            "check",
            "composite",
            f"casme2={trees / 'casme2'}",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no folder given for samm, smic" in res.stderr


# ------------------------------------------------------------------------------------------ generator
def test_generate_composite_round_trip(tmp_path):
    # what a killed generation left behind is discarded, never mistaken for a complete tree
    (tmp_path / ".comp.partial" / "casme2").mkdir(parents=True)
    (tmp_path / ".comp.partial" / "half_written.jpg").write_bytes(b"")
    out = generate_composite(
        tmp_path / "comp", n_subjects=2, clips_per_subject=4, n_frames=6, size=64, seed=3
    )
    assert out == tmp_path / "comp" and not list(tmp_path.glob(".*partial"))
    assert not (out / "half_written.jpg").exists()
    lines = (out / LIST_FILE).read_text().splitlines()
    entries = read_composite_list(out / LIST_FILE)
    assert len(entries) == len(lines) > 0
    assert {e.subject for e in entries} == {"sub01", "sub02", "6", "7", "s01", "s02"}
    s = load_composite(out, list=out / LIST_FILE)
    assert len(s) == len(entries) and not s.skipped
    assert len(s.subjects) == 6
    # every clip megc3 keeps is listed, labelled by megc3; the others are the unlisted ones
    kept = dropped = 0
    for ds in ("casme2", "samm", "smic"):
        cmap = ClassMap(ds, "megc3")
        for clip in json.loads((out / ds / META_FILE).read_text())["clips"]:
            if cmap(clip["emotion"]) is None:
                dropped += 1
            else:
                kept += 1
    assert kept == len(s) and dropped == s.unlisted
    assert all(x.label == ClassMap(x.dataset, "megc3")(x.emotion) for x in s)
    # different seeds per dataset: the datasets show different people
    ids = {
        ds: json.loads((out / ds / META_FILE).read_text())["clips"][0]["identity"]
        for ds in ("casme2", "samm", "smic")
    }
    assert len({tuple(v) for v in ids.values()}) == 3
    # regenerating replaces the folder and writes the same list
    again = generate_composite(out, n_subjects=2, clips_per_subject=4, n_frames=6, size=64, seed=3)
    assert (again / LIST_FILE).read_text() == "\n".join(lines) + "\n"


def test_generate_composite_refuses_a_foreign_folder_and_layout(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not written by generate_composite"):
        generate_composite(
            tmp_path / "mine", n_subjects=1, clips_per_subject=1, n_frames=3, size=32
        )
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    with pytest.raises(DatasetError, match="do not pass layout"):
        generate_composite(tmp_path / "x", layout="casme2")
