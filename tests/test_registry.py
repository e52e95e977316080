"""The shared Registry helper and the five registries built on it."""

from __future__ import annotations

import pickle
import sys
import types

import pytest

from srmer.errors import ConfigError, RegistryImportError, SrmerError, UnknownMethodError
from srmer.registry import REQUIRED, Entry, Registry, all_registries, describe_all, format_listing


def _loader(root, classes="4class", variant="auto", sheet=None):
    """Load a toy set."""
    return ("loaded", root, classes, variant, sheet)


class _Method:
    """A toy method."""

    description = "toy method for the tests"

    def __init__(self, *, size: int = 8, mode: str = "fast") -> None:
        if size < 1:
            raise ConfigError(f"toy: size must be positive, got {size}")
        self.size, self.mode = size, mode


class _Declared:
    """Takes **options but declares them."""

    defaults = {"alpha": 1.0, "beta": "x"}

    def __init__(self, **options):
        self.options = options


@pytest.fixture
def broken_module(monkeypatch, tmp_path):
    """A module that raises while importing (as one with a missing native dependency would)."""
    name = "srmer_test_broken_mod"
    (tmp_path / f"{name}.py").write_text(
        "raise ImportError('libfoo.so: cannot open shared object')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def test_register_get_create_and_mapping_behaviour():
    reg = Registry("toy")
    reg.register("m", _Method)
    reg.register("lazy", f"{__name__}:_Method", "a lazily imported method")
    assert "m" in reg and "nope" not in reg and 3 not in reg
    assert list(reg) == ["m", "lazy"] == reg.names() and sorted(reg) == ["lazy", "m"]
    assert len(reg) == 2
    assert reg.get("lazy") is _Method and reg["m"] is _Method
    assert reg.items()[1] == ("lazy", Entry(f"{__name__}:_Method", "a lazily imported method"))
    obj = reg.create("m", size=3)
    assert isinstance(obj, _Method) and obj.size == 3
    reg.unregister("m")
    assert "m" not in reg


def test_unknown_name_lists_the_known_ones():
    reg = Registry("SR method")
    reg.register("edsr", _Method)
    reg.register("rdn", _Method)
    with pytest.raises(
        UnknownMethodError, match=r"unknown SR method 'edrs'; choose one of: edsr, rdn"
    ):
        reg.get("edrs")
    with pytest.raises(UnknownMethodError):
        reg.create("edrs")


def test_a_module_that_fails_to_import_is_named(broken_module):
    reg = Registry("MER method")
    reg.register("good", _Method)
    reg.register("bad", f"{broken_module}:Thing")
    reg.register("noattr", f"{__name__}:Missing")
    assert reg.get("good") is _Method  # the others still work
    with pytest.raises(RegistryImportError) as info:
        reg.get("bad")
    msg = str(info.value)
    assert "MER method 'bad'" in msg and f"module {broken_module!r} failed to import" in msg
    assert "ImportError: libfoo.so: cannot open shared object" in msg
    assert isinstance(info.value, SrmerError) and isinstance(info.value, ImportError)
    with pytest.raises(RegistryImportError, match="has no attribute 'Missing'"):
        reg.get("noattr")
    rows = reg.describe_all(on_error="row")
    assert [r["name"] for r in rows] == ["good", "bad", "noattr"] and "error" in rows[1]
    with pytest.raises(RegistryImportError):
        reg.describe_all()


def test_bad_target_string_is_rejected():
    with pytest.raises(ConfigError, match="module:attr"):
        Registry("toy").register("x", "no_colon_here")


def test_describe_reads_signature_declared_defaults_and_explicit_options():
    reg = Registry("dataset", skip=("root", "classes"), cheap=False)
    reg.register("toy", _loader, "toy data")
    row = reg.describe("toy")
    assert row == {
        "kind": "dataset",
        "name": "toy",
        "description": "toy data",
        "target": f"{__name__}:_loader",
        "options": {"variant": "auto", "sheet": None},
        "more_options": False,
    }
    reg2 = Registry("toy")
    reg2.register("m", _Method)
    reg2.register("d", _Declared)
    reg2.register("e", _Declared, options={"gamma": 2})
    assert reg2.describe("m")["options"] == {"size": 8, "mode": "fast"}
    assert reg2.describe("m")["description"] == "toy method for the tests"
    assert reg2.describe("d")["options"] == {"alpha": 1.0, "beta": "x"}
    assert reg2.describe("d")["description"] == "Takes **options but declares them."
    assert reg2.describe("e")["options"] == {"gamma": 2}

    def needs(x, y=2):
        """Needs x."""

    reg2.register("f", needs)
    assert reg2.describe("f")["options"] == {"x": REQUIRED, "y": 2}
    assert pickle.loads(pickle.dumps(REQUIRED)) is REQUIRED


def test_validate_checks_names_and_values_without_heavy_work():
    reg = Registry("toy")
    reg.register("m", _Method)
    assert reg.validate("m", {"size": 2}) == {"size": 2, "mode": "fast"}
    with pytest.raises(
        ConfigError, match=r"toy 'm': unknown option\(s\) sise; known options: mode, size"
    ):
        reg.validate("m", {"sise": 2})
    with pytest.raises(ConfigError, match="size must be positive"):
        reg.validate("m", {"size": 0})
    calls = []
    lazy = Registry("dataset", skip=("root",), cheap=False)
    lazy.register("toy", lambda root, variant="a": calls.append(root))
    assert lazy.validate("toy", {"variant": "b"}) == {"variant": "b"}
    assert calls == []  # not cheap: nothing was called
    with pytest.raises(ConfigError, match="variantt"):
        lazy.validate("toy", {"variantt": "b"})


def test_populate_runs_once_and_a_failure_is_not_a_silent_gap():
    state = {"calls": 0, "fail": True}

    def populate():
        state["calls"] += 1
        if state["fail"]:
            raise RegistryImportError("SR architecture module", "m", "m:SPECS", "it failed")
        return [("a", _Method, "A"), ("b", _Method, "B")]

    reg = Registry("SR architecture", populate=populate)
    with pytest.raises(RegistryImportError):
        reg.names()
    with pytest.raises(RegistryImportError):  # still an error the second time, never empty
        "a" in reg  # noqa: B015
    state["fail"] = False
    assert reg.names() == ["a", "b"] and reg.names() == ["a", "b"]
    assert state["calls"] == 3 and reg.description("b") == "B"


# ---------------------------------------------------------------------------- the five registries


def test_all_registries_and_describe_all_cover_every_entry():
    regs = all_registries()
    assert set(regs) == {"dataset", "degradation", "SR architecture", "SR method", "MER method"}
    rows = describe_all()
    for kind, reg in regs.items():
        assert isinstance(reg, Registry) and reg.kind == kind
        names = [r["name"] for r in rows if r["kind"] == kind]
        assert names == reg.names() and names
    for row in rows:
        assert row["description"], row
        assert isinstance(row["options"], dict)
    by = {(r["kind"], r["name"]): r for r in rows}
    assert by["dataset", "casme2"]["options"] == {"variant": "auto", "sheet": None}
    assert by["degradation", "blur_noise"]["options"]["noise_sigma"] == 0.0
    assert by["SR architecture", "edsr"]["options"]["num_block"] == 16
    assert "x16" in by["SR architecture", "edsr"]["support"]
    assert by["SR method", "fsr"]["options"] == {
        "restore": "bicubic",
        "alpha": 1.0,
        "residual": True,
        "train_on": "both",
    }
    assert by["MER method", "lbptop"]["options"]["C"] == 1000.0
    assert by["MER method", "ststnet"]["options"]["epochs"] == 800
    text = format_listing(rows)
    assert "SR methods:" in text and "MER methods:" in text and "datasets:" in text
    assert "train_on='both'" in text and "noise_sigma=0.0" in text
    with pytest.raises(UnknownMethodError):
        describe_all(kinds=["optimiser"])


def test_public_names_keep_working():
    from srmer.data import DATASETS, register_dataset
    from srmer.data.registry import get_loader
    from srmer.degrade import DEGRADATIONS, BicubicDegradation
    from srmer.mer import MER_METHODS, create, get_class
    from srmer.sr.methods import SR_METHODS, get_method, get_method_class

    assert "casme2" in DATASETS and sorted(DATASETS)[0] == "casme2"
    for name, (target, desc) in DATASETS.items():  # the old (target, description) pairs
        assert ":" in target and desc, name
    assert get_loader("casme2").__name__ == "load_casme2"
    assert DEGRADATIONS["bicubic"] is BicubicDegradation
    assert get_method_class("bicubic").kind == "interpolation"
    assert get_method("none").upscale("clip", 8) == "clip"
    assert get_class("lbptop").name == "lbptop" and create("lbptop").name == "lbptop"
    assert {"edsr", "fsr", "basicvsr"} <= set(SR_METHODS) and "ststnet" in MER_METHODS
    register_dataset("toyset", f"{__name__}:_loader", "toy")
    try:
        assert get_loader("toyset") is _loader
    finally:
        DATASETS.unregister("toyset")


def test_fsr_is_named_by_string_in_the_sr_layer():
    from srmer.sr.methods import SR_METHODS

    assert SR_METHODS.entry("fsr").target == "srmer.mer.fsr:FeatureSR"
    assert SR_METHODS.get("fsr").__module__ == "srmer.mer.fsr"


def test_sr_arch_module_that_fails_to_import_is_an_error(monkeypatch, broken_module):
    from srmer.sr import registry

    fresh = Registry("SR architecture", populate=registry._collect_specs)
    monkeypatch.setattr(registry, "ARCH_MODULES", (*registry.ARCH_MODULES, broken_module))
    with pytest.raises(RegistryImportError, match=broken_module):
        fresh.names()
    empty = types.ModuleType("srmer_test_nospecs")
    monkeypatch.setitem(sys.modules, "srmer_test_nospecs", empty)
    monkeypatch.setattr(registry, "ARCH_MODULES", ("srmer_test_nospecs",))
    with pytest.raises(RegistryImportError, match="no SPECS"):
        Registry("SR architecture", populate=registry._collect_specs).names()


def test_sr_arch_registry_keeps_its_api():
    from srmer.sr import registry

    assert next(iter(registry.specs())) == "srcnn" and registry.get_spec("EDSR").name == "edsr"
    assert {r["name"] for r in registry.list_archs()} == set(registry.ARCHS)
    with pytest.raises(UnknownMethodError, match="SR architecture"):
        registry.get_spec("edsrr")
    assert registry.ARCHS.validate("edsr", {"num_block": 2, "scale": 2})["num_block"] == 2
    with pytest.raises(ConfigError, match="num_blok"):
        registry.ARCHS.validate("edsr", {"num_blok": 2})
    with pytest.raises(ConfigError, match="cannot reach x5"):
        registry.ARCHS.validate("edsr", {"scale": 5})
    model = registry.ARCHS.create("srcnn", scale=2)
    assert model.arch_name == "srcnn"


def test_method_registries_validate_options():
    from srmer.degrade.registry import DEGRADATIONS
    from srmer.mer.registry import MER_METHODS
    from srmer.sr.methods import SR_METHODS

    with pytest.raises(ConfigError, match="sigma"):
        SR_METHODS.validate("fsr", {"sigma": 2})
    with pytest.raises(ConfigError, match="unknown option"):
        SR_METHODS.validate("bicubic", {"scale": 2})
    assert SR_METHODS.validate("edsr", {"steps": 10})["steps"] == 10
    with pytest.raises(ConfigError, match="blox"):
        MER_METHODS.validate("lbptop", {"blox": 2})
    with pytest.raises(ConfigError, match="C=-2"):
        MER_METHODS.validate("lbptop", {"C": -2})
    assert MER_METHODS.validate("ststnet", {"device": "cpu"})["device"] == "cpu"
    with pytest.raises(ConfigError, match="unknown parameter"):
        DEGRADATIONS.validate("realesrgan", {"noise": 3})
    with pytest.raises(ConfigError, match="takes no parameter|unknown parameter"):
        DEGRADATIONS.validate("bicubic", {"sigma": 3})


def test_dataset_load_names_an_unknown_option(tmp_path):
    from srmer.data import load

    with pytest.raises(ConfigError, match="unknown option.*varient"):
        load("casme2", tmp_path, varient="x")
