"""FSR-FER config validation: errors name the field; the shipped configs validate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srmer.errors import ConfigError
from srmer.fer.config import load_fer_config, parse_fer_config
from srmer.fer.train import scaled_milestones

CONFIGS = Path(__file__).resolve().parents[1] / "src" / "srmer" / "configs"


def test_defaults_are_the_papers():
    cfg = parse_fer_config({})
    f = cfg.fsr
    assert (f.gp_k, f.gp_p, f.reweight_sigma, f.reweight_r, f.num_block, f.lr) == (
        2.0,
        6.0,
        1.5,
        1.0,
        6,
        2e-4,
    )
    assert f.milestones == [20_000, 50_000, 100_000, 200_000]
    assert f.scales == [2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    "data,field",
    [
        ({"fsr": {"reweight_sigma": 0.5}}, "fsr.reweight_sigma"),
        ({"fsr": {"scales": [1, 2]}}, "fsr.scales"),
        ({"backbone": {"head": "vgg"}}, "backbone.head"),
        ({"fsr": {"iterationz": 3}}, "fsr.iterationz"),
        ({"image_sr": [{"name": "edsr"}]}, "image_sr[0].name"),
        ({"data": {"kind": "rafdb"}}, "data.root"),
    ],
)
def test_errors_name_the_field(data, field):
    with pytest.raises(ConfigError, match=re.escape(f"`{field}`")):
        parse_fer_config(data, "x.yaml")


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_fer_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fsr: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_fer_config(bad)


@pytest.mark.parametrize("name", ["fer_demo.yaml", "seed003_rafdb.yaml"])
def test_shipped_configs_validate(name):
    cfg = load_fer_config(CONFIGS / name)
    assert cfg.fsr.scales == [2, 3, 4, 5, 6, 7, 8]


def test_milestones_scale_with_budget():
    cfg = parse_fer_config({"fsr": {"iterations": 1500, "schedule_reference": 150_000}}).fsr
    assert scaled_milestones(cfg) == [200, 500, 1000, 2000]
    full = parse_fer_config({"fsr": {"iterations": 150_000}}).fsr
    assert scaled_milestones(full) == [20_000, 50_000, 100_000, 200_000]
