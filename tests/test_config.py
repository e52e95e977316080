import pytest
import yaml

from srmer.bench.config import load_config, parse_config
from srmer.bench.plan import expand
from srmer.errors import ConfigError

BASE = {"name": "t", "datasets": [{"name": "casme2", "root": "/x"}], "mer": ["lbptop"]}


def test_defaults_and_short_forms():
    cfg = parse_config({**BASE, "sr": ["none", {"name": "bicubic", "label": "bic"}]})
    assert [s.name for s in cfg.sr] == ["none", "bicubic"]
    assert cfg.sr[1].label == "bic" and cfg.sr[1].kwargs() == {}
    assert cfg.resolutions == [16, 32, 64, 128] and cfg.degradation.name == "bicubic"


def test_unknown_sr_method_names_the_field():
    with pytest.raises(ConfigError) as e:
        parse_config({**BASE, "sr": ["none", "edsrr"]}, "my.yaml")
    msg = str(e.value)
    assert "my.yaml" in msg and "sr[1]" in msg and "edsrr" in msg and "bicubic" in msg


def test_unknown_mer_and_misspelt_field():
    with pytest.raises(ConfigError, match=r"mer\[0\]"):
        parse_config({**BASE, "mer": ["lbp-top"]})
    with pytest.raises(ConfigError, match="resolution.*unknown field"):
        parse_config({**BASE, "resolution": [16]})


def test_resolution_must_be_below_hr_size():
    with pytest.raises(ConfigError, match="preprocess.size"):
        parse_config({**BASE, "resolutions": [16, 256]})


def test_missing_config_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_demo_config_is_valid():
    from srmer.cli import PACKAGE_CONFIGS

    cfg = parse_config(yaml.safe_load((PACKAGE_CONFIGS / "demo.yaml").read_text()))
    settings = expand(cfg)
    names = [s.name for s in settings]
    assert names[0] == "256x256"
    assert {"16x16", "16to256", "128x128", "128to256"} <= set(names)
    per_sr = [len(s.options.get("resolutions", cfg.resolutions)) for s in cfg.sr]
    assert len(settings) == 1 + sum(per_sr)


def test_sr_method_restricted_to_some_resolutions():
    cfg = parse_config(
        {
            **BASE,
            "sr": ["none", "bicubic", {"name": "bicubic", "label": "b64", "resolutions": [64]}],
        }
    )
    names = [(s.name, s.sr_label) for s in expand(cfg)]
    assert ("64to256", "b64") in names and ("16to256", "b64") not in names
    assert cfg.sr[2].kwargs() == {}
    with pytest.raises(ConfigError, match=r"sr\[0\].*resolutions"):
        parse_config({**BASE, "sr": [{"name": "bicubic", "resolutions": [48]}]})


@pytest.mark.parametrize("name", ["seed000_casme2", "seed000_samm", "seed000_smic", "seed001_smic"])
def test_paper_configs_are_valid(name):
    from srmer.cli import PACKAGE_CONFIGS

    cfg = parse_config(yaml.safe_load((PACKAGE_CONFIGS / f"{name}.yaml").read_text()), name)
    assert len(expand(cfg)) > 3


@pytest.mark.parametrize(
    "name,protocol,metric",
    [("composite_demo", "loso", "uf1"), ("cross_dataset_demo", "cross_dataset", "uf1")],
)
def test_megc_demo_configs_are_valid(name, protocol, metric):
    from srmer.bench.demo import demo_config

    which = name.removesuffix("_demo")
    cfg = parse_config(demo_config(which, "data/synthetic"), name)
    assert cfg.protocol.name == protocol
    assert cfg.report_metric == metric
    assert {s for ds in cfg.datasets for s in ds.sources} == {"casme2", "samm", "smic"}
