"""SwinIR and HAT: official parameter counts, shapes for any input size, padding, state_dict detection
and loading of the official files' derived buffers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import srmer.sr as sr
import srmer.sr.checkpoint as ckpt
from srmer.sr.archs import hat, swinir
from srmer.sr.archs.base import ArchSpec

torch.set_num_threads(1)

SPECS: dict[str, ArchSpec] = {s.name: s for s in [*swinir.SPECS, *hat.SPECS]}
FAMILY = {name: (hat if name.startswith("hat") else swinir) for name in SPECS}

#: tiny sizes, keeping each spec's upsampler / resi_connection / ratios
TINY_SWINIR = {"embed_dim": 16, "depths": (2, 2), "num_heads": (2, 4), "window_size": 4}
TINY_HAT = {
    "embed_dim": 24,
    "depths": (2, 2),
    "num_heads": (2, 3),
    "window_size": 4,
    "compress_ratio": 3,
    "squeeze_factor": 4,
}


def tiny(name: str, scale: int, **over: Any) -> torch.nn.Module:
    spec = SPECS[name]
    small = TINY_HAT if name.startswith("hat") else TINY_SWINIR
    torch.manual_seed(0)
    return spec.build(scale=scale, **{**spec.defaults, **small, **over}).eval()


def n_params(name: str, scale: int) -> float:
    spec = SPECS[name]
    with torch.device("meta"):
        model = spec.build(scale=scale, **spec.defaults)
    return sum(p.numel() for p in model.parameters()) / 1e6


def meta_state_dict(name: str, scale: int) -> dict[str, torch.Tensor]:
    spec = SPECS[name]
    with torch.device("meta"):
        return spec.build(scale=scale, **spec.defaults).state_dict()


def add_official_buffers(model: torch.nn.Module, img_size: int = 64) -> dict[str, torch.Tensor]:
    """The model's state_dict plus the derived buffers the official ``.pth`` files contain."""
    sd = dict(model.state_dict())
    ws = model.window_size
    if isinstance(model, hat.HAT):
        sd["relative_position_index_SA"] = swinir.relative_position_index(ws)
        ows = hat.overlap_window_size(ws, model.overlap_ratio)
        sd["relative_position_index_OCA"] = official_rpi_oca(ws, ows)
        return sd
    for i, layer in enumerate(model.layers):
        for j, blk in enumerate(layer.residual_group.blocks):
            p = f"layers.{i}.residual_group.blocks.{j}."
            sd[p + "attn.relative_position_index"] = swinir.relative_position_index(ws)
            if blk.shift_size:
                sd[p + "attn_mask"] = swinir.shift_window_mask(img_size, img_size, ws, ws // 2)
    return sd


def official_rpi_oca(ws: int, ows: int) -> torch.Tensor:
    """HAT's ``calculate_rpi_oca`` restated (entries left negative, as upstream)."""
    r = torch.arange(ws)
    ori = torch.stack(torch.meshgrid(r, r, indexing="ij")).flatten(1)
    e = torch.arange(ows)
    ext = torch.stack(torch.meshgrid(e, e, indexing="ij")).flatten(1)
    rel = (ext[:, None, :] - ori[:, :, None]).permute(1, 2, 0).clone()
    rel += ws - ows + 1
    rel[..., 0] *= ws + ows - 1
    return rel.sum(-1)


# ------------------------------------------------------------------ 1. official parameter counts
@pytest.mark.parametrize(
    ("name", "scale", "millions"),
    [
        ("swinir", 4, 11.90),
        ("swinir", 2, 11.75),
        ("swinir_light", 4, 0.93),
        ("hat", 4, 20.77),
        ("hat_s", 4, 9.62),
    ],
)
def test_parameter_counts_of_the_official_configurations(
    name: str, scale: int, millions: float
) -> None:
    assert abs(n_params(name, scale) - millions) <= 0.01


def test_derived_buffers_are_not_parameters_nor_state_dict_entries() -> None:
    for name in ("swinir", "hat"):
        keys = set(meta_state_dict(name, 4))
        assert not any(k.endswith(("relative_position_index", "attn_mask")) for k in keys)
        assert not any("relative_position_index_" in k for k in keys)
        assert "conv_first.weight" in keys and "patch_embed.norm.weight" in keys


# ------------------------------------------------------------------ 2. shapes for any input size
@pytest.mark.parametrize("name", sorted(SPECS))
def test_output_shape_every_native_scale_and_odd_sizes(name: str) -> None:
    for scale in SPECS[name].scales:
        if scale == 8 and name == "swinir":
            continue  # one x8 case below keeps the suite fast
        model = tiny(name, scale)
        assert model.scale == scale and model.window_size == 4
        with torch.no_grad():
            for h, w in ((13, 19), (8, 12)):
                y = model(torch.rand(1, 3, h, w))
                assert y.shape == (1, 3, scale * h, scale * w)
                assert torch.isfinite(y).all()


def test_swinir_x8_and_tiny_inputs() -> None:
    model = tiny("swinir", 8)
    with torch.no_grad():
        assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 40, 56)
    wide = tiny("swinir", 2, window_size=8)
    hat_m = tiny("hat", 2, window_size=8)
    with torch.no_grad():
        for h, w in ((3, 5), (1, 6), (2, 2)):  # pads larger than the side, one-pixel sides
            assert wide(torch.rand(2, 3, h, w)).shape == (2, 3, 2 * h, 2 * w)
            assert hat_m(torch.rand(1, 3, h, w)).shape == (1, 3, 2 * h, 2 * w)


def test_nearest_conv_supports_only_x2_x4_and_hat_only_pixelshuffle() -> None:
    with pytest.raises(ValueError, match="nearest"):
        swinir.SwinIR(scale=3, upsampler="nearest+conv", **TINY_SWINIR)
    with pytest.raises(ValueError, match="pixelshuffle"):
        hat.HAT(scale=4, upsampler="pixelshuffledirect", **TINY_HAT)


# ------------------------------------------------------------------ 3. padding and round trips
@pytest.mark.parametrize(
    ("name", "scale", "window"),
    [("swinir", 3, 4), ("swinir_light", 2, 8), ("swinir_real", 4, 4), ("hat", 2, 4), ("hat", 3, 8)],
)
def test_padding_equals_hand_padded_input_cropped(name: str, scale: int, window: int) -> None:
    model = tiny(name, scale, window_size=window)
    x = torch.rand(2, 3, 13, 19)
    ph, pw = (-13) % window, (-19) % window
    padded = F.pad(x, (0, pw, 0, ph), mode="reflect")
    with torch.no_grad():
        y = model(x)
        ref = model(padded)[..., : 13 * scale, : 19 * scale]
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=0)


ROUND_TRIPS = [(name, s) for name, spec in SPECS.items() for s in spec.scales if s != 8]


@pytest.mark.parametrize(("name", "scale"), ROUND_TRIPS)
def test_detect_build_load_round_trip(name: str, scale: int) -> None:
    model = tiny(name, scale)
    mod = FAMILY[name]
    hp = mod.detect(model.state_dict())
    assert hp is not None and hp["scale"] == scale
    spec_defaults = SPECS[name].defaults
    for key in ("upsampler", "resi_connection", "mlp_ratio"):
        assert hp[key] == spec_defaults[key]
    if mod is hat:
        assert hp["overlap_ratio"] == 0.5 and hp["compress_ratio"] == 3
        assert hp["squeeze_factor"] == 4
    again = SPECS[mod.SPECS[0].name].build(**hp).eval()
    again.load_state_dict(model.state_dict(), strict=True)
    x = torch.rand(1, 3, 13, 19)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


@pytest.mark.parametrize(
    ("name", "scale"),
    [
        ("swinir", 4),
        ("swinir", 3),
        ("swinir_light", 2),
        ("swinir_real", 4),
        ("swinir_real_large", 4),
        ("hat", 4),
        ("hat_s", 3),
        ("hat_l", 2),
    ],
)
def test_detect_full_size_configurations(name: str, scale: int) -> None:
    hp = FAMILY[name].detect(meta_state_dict(name, scale))
    assert hp is not None
    assert hp.pop("scale") == scale
    for key, value in SPECS[name].defaults.items():
        if key != "conv_scale":  # not stored in the weights
            assert hp[key] == value, key


# ------------------------------------------------------------------ 4. other families are refused
OTHERS = [
    ("edsr", {"num_feat": 8, "num_block": 2}),
    ("edsr", {"num_feat": 8, "num_block": 2, "key_style": "official"}),
    ("rcan", {"num_feat": 8, "num_group": 2, "num_block": 1, "squeeze_factor": 4}),
    (
        "rcan",
        {
            "num_feat": 8,
            "num_group": 1,
            "num_block": 1,
            "squeeze_factor": 4,
            "key_style": "official",
        },
    ),
    ("rrdbnet", {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}),
    ("nesrganplus", {"num_feat": 8, "num_block": 1, "num_grow_ch": 4}),
    ("msrresnet", {"num_feat": 8, "num_block": 1}),
    ("srvgg", {"num_feat": 8, "num_conv": 2}),
    ("rdn", {"D": 2, "C": 2, "G": 4, "G0": 8}),
]


@pytest.mark.parametrize(("name", "hp"), OTHERS)
def test_detect_refuses_other_families(name: str, hp: dict[str, Any]) -> None:
    sd = sr.create(name, 4, **hp).state_dict()
    assert swinir.detect(sd) is None
    assert hat.detect(sd) is None


def test_swinir_and_hat_do_not_claim_each_other_nor_are_claimed() -> None:
    sd_swin = tiny("swinir", 4).state_dict()
    sd_hat = tiny("hat", 4).state_dict()
    assert hat.detect(sd_swin) is None and swinir.detect(sd_hat) is None
    mine = set(SPECS)
    for name, spec in sr.registry.specs().items():
        if name in mine:
            continue
        for sd in (sd_swin, sd_hat):
            try:
                found = spec.detect(sd)
            except (KeyError, IndexError, AttributeError, ValueError):
                found = None
            assert found is None, name
    extra = dict(sd_swin)
    extra["absolute_pos_embed"] = torch.zeros(1, 64, 16)  # an unsupported variant
    assert swinir.detect(extra) is None
    assert swinir.detect({}) is None and hat.detect({}) is None


# ------------------------------------------------------------------ 5. the official derived buffers
@pytest.mark.parametrize("name", ["swinir", "swinir_light", "hat", "hat_s"])
def test_official_buffers_load_strictly(name: str) -> None:
    model = tiny(name, 4)
    sd = add_official_buffers(model)
    assert len(sd) > len(model.state_dict())
    mod = FAMILY[name]
    hp = mod.detect(sd)
    assert hp == mod.detect(model.state_dict())
    again = SPECS[mod.SPECS[0].name].build(**hp).eval()
    again.load_state_dict(sd, strict=True)
    assert set(again.state_dict()) == set(model.state_dict())
    x = torch.rand(1, 3, 9, 14)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


def test_stored_index_of_another_window_is_an_error() -> None:
    model = tiny("swinir", 2)
    sd = add_official_buffers(model)
    sd["layers.0.residual_group.blocks.0.attn.relative_position_index"] = (
        swinir.relative_position_index(8)
    )
    with pytest.raises(RuntimeError, match="another window size"):
        model.load_state_dict(sd, strict=True)
    h = tiny("hat", 2)
    sd = add_official_buffers(h)
    sd["relative_position_index_OCA"] = official_rpi_oca(4, 8)
    with pytest.raises(RuntimeError, match="relative_position_index_OCA"):
        h.load_state_dict(sd)


def test_official_files_load_through_load_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the registry lists these modules only once they are in ARCH_MODULES: stand in for it here
    monkeypatch.setattr(ckpt, "specs", lambda: {s.name: s for s in (*swinir.SPECS, *hat.SPECS)})
    monkeypatch.setattr(ckpt, "get_spec", lambda name: SPECS[name])
    for name, scale in (("swinir_light", 3), ("swinir_real", 4), ("hat", 2)):
        model = tiny(name, scale)
        sd = add_official_buffers(model)
        path = tmp_path / f"{name}.pth"
        torch.save({"params": {k: v + 1 for k, v in sd.items()}, "params_ema": sd}, path)
        loaded = sr.load_checkpoint(path)
        assert loaded.arch_name == FAMILY[name].SPECS[0].name and loaded.scale == scale
        assert loaded.checkpoint_info["ema"]
        x = torch.rand(1, 3, 10, 7)
        with torch.no_grad():
            assert torch.equal(loaded(x), model(x))


def test_oca_index_is_upstreams_modulo_the_table() -> None:
    for ws, ratio in ((4, 0.5), (8, 0.5), (16, 0.5), (8, 0.25)):
        ows = hat.overlap_window_size(ws, ratio)
        mine = hat.relative_position_index_oca(ws, ows)
        theirs = official_rpi_oca(ws, ows)
        rows = (ws + ows - 1) ** 2
        assert mine.min() >= 0 and mine.max() < rows
        table = torch.randn(rows, 3)
        assert torch.equal(table[mine.view(-1)], table[theirs.view(-1)])


def test_window_attention_with_shift_mask_matches_explicit_softmax() -> None:
    torch.manual_seed(1)
    ws, heads, dim, b = 4, 2, 8, 3
    attn = swinir.WindowAttention(dim, ws, heads).eval()
    rpi = swinir.relative_position_index(ws)
    mask = swinir.shift_window_mask(8, 12, ws, ws // 2)  # 6 windows
    x = torch.randn(b * mask.shape[0], ws * ws, dim)
    with torch.no_grad():
        got = attn(x, rpi, mask)
        q, k, v = attn.qkv(x).reshape(x.shape[0], ws * ws, 3, heads, dim // heads).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        logits = (q * (dim // heads) ** -0.5) @ k.transpose(-2, -1)
        bias = attn.relative_position_bias_table[rpi.view(-1)].view(16, 16, heads)
        logits = logits + bias.permute(2, 0, 1)
        logits = logits.view(b, -1, heads, 16, 16) + mask[None, :, None]
        out = (logits.view(-1, heads, 16, 16).softmax(-1) @ v).transpose(1, 2).reshape(x.shape)
        want = attn.proj(out)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert set(mask.unique().tolist()) == {0.0, -100.0}
