"""load_checkpoint: every container format, architecture detection, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import srmer.sr as sr
from srmer.errors import SrmerError
from srmer.sr.checkpoint import save_checkpoint, unwrap

torch.set_num_threads(1)

# (registry name, scale, tiny hparams, detected family name)
CASES = [
    ("srcnn", 4, {"channels": (1, 8, 4, 1)}, "srcnn"),
    ("msrresnet", 3, {"num_feat": 8, "num_block": 2}, "msrresnet"),
    ("edsr", 4, {"num_feat": 8, "num_block": 2}, "edsr"),
    ("edsr", 3, {"num_feat": 8, "num_block": 2, "key_style": "official"}, "edsr"),
    ("rdn", 2, {"D": 3, "C": 2, "G": 4, "G0": 8}, "rdn"),
    ("rdn", 4, {"D": 2, "C": 3, "G": 4, "G0": 8}, "rdn"),
    ("rrdbnet", 4, {"num_feat": 8, "num_block": 2, "num_grow_ch": 4}, "rrdbnet"),
    ("rrdbnet", 2, {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}, "rrdbnet"),
    ("nesrganplus", 4, {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}, "nesrganplus"),
    ("srvgg", 4, {"num_feat": 8, "num_conv": 3}, "srvgg"),
    ("rcan", 2, {"num_feat": 8, "num_group": 2, "num_block": 2, "squeeze_factor": 4}, "rcan"),
    (
        "rcan",
        8,
        {
            "num_feat": 8,
            "num_group": 1,
            "num_block": 3,
            "squeeze_factor": 2,
            "key_style": "official",
        },
        "rcan",
    ),
    ("metasr", 4, {"D": 2, "C": 2, "G": 4, "G0": 8}, "metasr"),
]


def _randomise(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "mean" not in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model.eval()


def _check_same(a: torch.nn.Module, b: torch.nn.Module) -> None:
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(x), b.eval()(x), atol=1e-5, rtol=1e-5)


def _containers(sd: dict, other: dict) -> dict[str, object]:
    return {
        "raw": sd,
        "basicsr_params": {"params": sd},
        "basicsr_ema": {"params": other, "params_ema": sd},
        "module_prefix": {"params": {"module." + k: v for k, v in sd.items()}},
        "mmagic_generator": {
            "meta": {"epoch": 1},
            "state_dict": {
                **{"generator." + k: v for k, v in sd.items()},
                "discriminator.conv0.weight": torch.zeros(3),
            },
        },
        "mmagic_ema": {
            "meta": {},
            "state_dict": {
                **{"generator." + k: v for k, v in other.items()},
                **{"generator_ema." + k: v for k, v in sd.items()},
            },
        },
    }


@pytest.mark.parametrize(
    ("name", "scale", "hp", "family"), CASES, ids=[f"{c[0]}x{c[1]}" for c in CASES]
)
def test_round_trip_every_container(
    tmp_path: Path, name: str, scale: int, hp: dict, family: str
) -> None:
    model = _randomise(sr.create(name, scale, **hp), 0)
    other = _randomise(sr.create(name, scale, **hp), 1).state_dict()
    for fmt, obj in _containers(model.state_dict(), other).items():
        path = tmp_path / f"{fmt}.pth"
        torch.save(obj, path)
        loaded = sr.load_checkpoint(path)
        assert loaded.arch_name == family, fmt
        assert loaded.scale == (4 if family in ("srcnn", "metasr") else scale)
        if family in ("srcnn", "metasr"):
            loaded.scale = scale  # scale-free weights: the scale is a run-time choice
        assert not loaded.training
        _check_same(model, loaded)


def test_detected_hparams_of_standard_shapes(tmp_path: Path) -> None:
    m = sr.create("edsr_large", 2, num_block=3)
    torch.save({"params": m.state_dict()}, tmp_path / "e.pth")
    got = sr.load_checkpoint(tmp_path / "e.pth")
    assert got.hparams["num_feat"] == 256 and got.hparams["num_block"] == 3
    assert got.hparams["res_scale"] == 0.1
    m = sr.create("rdn_psnr_small", 2, G0=16, G=8)
    torch.save(m.state_dict(), tmp_path / "r.pth")
    got = sr.load_checkpoint(tmp_path / "r.pth")
    assert (got.hparams["D"], got.hparams["C"], got.scale) == (10, 3, 2)


def test_ema_preferred(tmp_path: Path) -> None:
    a = _randomise(sr.create("edsr", 2, num_feat=8, num_block=1), 0)
    b = _randomise(sr.create("edsr", 2, num_feat=8, num_block=1), 1)
    sd, info = unwrap({"params": a.state_dict(), "params_ema": b.state_dict()})
    assert info == {"format": "basicsr", "ema": True}
    assert torch.equal(sd["conv_first.weight"], b.state_dict()["conv_first.weight"])


def test_srmer_meta_round_trip_cascade_and_scale(tmp_path: Path) -> None:
    m = _randomise(sr.create("rdn", 8, D=2, C=2, G=4, G0=8), 3)
    save_checkpoint(m, tmp_path / "c.pth", ema=m, extra={"step": 5})
    got = sr.load_checkpoint(tmp_path / "c.pth")
    assert isinstance(got, sr.Cascade) and got.order == [4, 2]
    _check_same(m, got)
    s = _randomise(sr.create("srcnn", 3, channels=(1, 8, 4, 1)), 4)
    save_checkpoint(s, tmp_path / "s.pth")
    got = sr.load_checkpoint(tmp_path / "s.pth")
    assert got.scale == 3
    _check_same(s, got)
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_file_named(tmp_path: Path) -> None:
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(SrmerError, match="weights.pth.*corrupt"):
        sr.load_checkpoint(bad)
    good = tmp_path / "ok.pth"
    torch.save({"params": sr.create("edsr", 2, num_feat=8, num_block=1).state_dict()}, good)
    trunc = tmp_path / "trunc.pth"
    trunc.write_bytes(good.read_bytes()[:300])
    with pytest.raises(SrmerError, match="trunc.pth"):
        sr.load_checkpoint(trunc)
    with pytest.raises(SrmerError, match="does not exist"):
        sr.load_checkpoint(tmp_path / "missing.pth")


def test_foreign_state_dict_lists_keys_and_expectations(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save({"fc.weight": torch.zeros(2, 2), "layer1.0.conv1.weight": torch.zeros(1)}, path)
    with pytest.raises(SrmerError) as err:
        sr.load_checkpoint(path)
    msg = str(err.value)
    assert "resnet.pth" in msg and "fc.weight" in msg and "conv_after_body" in msg and "P2W" in msg
    path = tmp_path / "empty.pth"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    with pytest.raises(SrmerError, match="no tensors"):
        sr.load_checkpoint(path)


def test_mismatched_shapes_are_reported(tmp_path: Path) -> None:
    sd = sr.create("edsr", 2, num_feat=8, num_block=2).state_dict()
    sd["body.1.conv2.weight"] = torch.zeros(8, 8, 5, 5)
    torch.save(sd, tmp_path / "m.pth")
    with pytest.raises(SrmerError, match=r"m.pth looks like edsr.*body.1.conv2.weight"):
        sr.load_checkpoint(tmp_path / "m.pth")


def test_pickled_objects_need_trust(tmp_path: Path) -> None:
    path = tmp_path / "obj.pth"
    torch.save(
        {"params": sr.create("edsr", 2, num_feat=8, num_block=1).state_dict(), "opt": Path("x")},
        path,
    )
    with pytest.raises(SrmerError, match="trusted=True"):
        sr.load_checkpoint(path)
    assert sr.load_checkpoint(path, trusted=True).arch_name == "edsr"


def test_glean_mmagic_round_trip(tmp_path: Path) -> None:
    hp = {
        "out_size": 32,
        "max_channels": 8,
        "style_channels": 8,
        "num_mlps": 2,
        "rrdb_channels": 8,
        "num_rrdbs": 2,
    }
    m = _randomise(sr.create("glean", 4, **hp), 5)
    sd = m.state_dict()
    obj = {"meta": {}, "state_dict": {**{"generator." + k: v for k, v in sd.items()}}}
    torch.save(obj, tmp_path / "glean.pth")
    got = sr.load_checkpoint(tmp_path / "glean.pth")
    assert got.arch_name == "glean" and got.input_size == 8 and got.scale == 4
    assert got.hparams["num_rrdbs"] == 2 and got.hparams["num_mlps"] == 2
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(m(x), got(x), atol=1e-5, rtol=1e-5)


def _to_xinntao(sd: dict) -> dict:
    ren = {
        "conv_body.": "trunk_conv.",
        "conv_up1.": "upconv1.",
        "conv_up2.": "upconv2.",
        "conv_hr.": "HRconv.",
    }
    out = {}
    for k, v in sd.items():
        k2 = k
        if k.startswith("body."):
            _, n, rdb, rest = k.split(".", 3)
            k2 = f"RRDB_trunk.{n}.RDB{rdb[-1]}.{rest}"
        for a, b in ren.items():
            if k2.startswith(a):
                k2 = b + k2[len(a) :]
        out[k2] = v
    return out


def _to_old_arch(sd: dict, nb: int) -> dict:
    tail = {"conv_first": 0, "conv_up1": 3, "conv_up2": 6, "conv_hr": 8, "conv_last": 10}
    out = {}
    for k, v in sd.items():
        head, leaf = k.rsplit(".", 1)
        if k.startswith("body."):
            _, n, rdb, conv = head.split(".")
            sub = "conv1x1" if conv == "conv1x1" else f"{conv}.0"
            out[f"model.1.sub.{n}.RDB{rdb[-1]}.{sub}.{leaf}"] = v
        elif head == "conv_body":
            out[f"model.1.sub.{nb}.{leaf}"] = v
        else:
            out[f"model.{tail[head]}.{leaf}"] = v
    return out


@pytest.mark.parametrize("name", ["rrdbnet", "nesrganplus"])
def test_original_esrgan_layouts_are_converted(tmp_path: Path, name: str) -> None:
    m = _randomise(sr.create(name, 4, num_feat=8, num_block=2, num_grow_ch=4), 7)
    sd = m.state_dict()
    for label, conv in (("xinntao", _to_xinntao(sd)), ("old", _to_old_arch(sd, 2))):
        assert not set(conv) & {"conv_body.weight", "body.0.rdb1.conv1.weight"}
        torch.save(conv, tmp_path / f"{label}.pth")
        got = sr.load_checkpoint(tmp_path / f"{label}.pth")
        assert got.arch_name == name and got.checkpoint_info["converted_by"].endswith(
            "convert_legacy_esrgan"
        )
        _check_same(m, got)


@pytest.mark.parametrize(
    ("name", "hp"), [("msrresnet", {}), ("edsr", {}), ("rrdbnet", {"num_grow_ch": 4})]
)
def test_detectors_reject_larger_networks_sharing_names(
    tmp_path: Path, name: str, hp: dict
) -> None:
    # e.g. BasicSR's EDVR also has conv_first/upconv1/conv_hr/conv_last; extra modules must not be
    # silently dropped by a smaller architecture's detector
    sd = sr.create(name, 4, num_feat=8, num_block=1, **hp).state_dict()
    sd["pcd_align.dcn_pack.weight"] = torch.zeros(1)
    torch.save({"params": sd}, tmp_path / "x.pth")
    with pytest.raises(SrmerError, match="matches no known SR architecture"):
        sr.load_checkpoint(tmp_path / "x.pth")
