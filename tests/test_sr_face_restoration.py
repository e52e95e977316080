"""Face-restoration architectures: GFPGAN v1 clean and CodeFormer (official key names, detection,
[0,1] I/O at a fixed size, deterministic noise, the CodeFormer fidelity weight)."""

from __future__ import annotations

import importlib

import pytest
import torch

from srmer.sr.archs import codeformer as cf
from srmer.sr.archs import gfpgan as gf

torch.set_num_threads(1)

GFP_TINY = {
    "out_size": 64,
    "num_style_feat": 32,
    "channel_multiplier": 1,
    "narrow": 0.0625,  # decoder 32 channels up to 32x32, 16 at 64x64; U-Net half of that
    "num_mlp": 2,
}
CF_TINY = {
    "img_size": 64,
    "nf": 32,
    "ch_mult": (1, 1, 2),  # 64 -> 16x16 latent grid, as the official 512 -> 16
    "res_blocks": 1,
    "attn_resolutions": (16,),
    "emb_dim": 32,
    "dim_embd": 32,
    "n_head": 8,
    "n_layers": 2,
    "codebook_size": 64,
    "latent_size": 256,
    "connect_list": ("32", "64"),
}

#: modules of the other SR families whose detectors must not claim these state_dicts
OTHER_MODULES = (
    "srcnn",
    "srresnet",
    "edsr",
    "rdn",
    "rrdbnet",
    "nesrganplus",
    "srvgg",
    "rcan",
    "metasr",
    "glean",
    "edvr",
    "basicvsr",
    "iconvsr",
    "basicvsrpp",
    "realbasicvsr",
)


def _seeded(fn, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fn()


def _gfp(**hp) -> gf.GFPGANv1Clean:
    return _seeded(lambda: gf.build(**{**GFP_TINY, **hp})).eval()


def _cf(**hp) -> cf.CodeFormer:
    return _seeded(lambda: cf.build(**{**CF_TINY, **hp})).eval()


def _rand(side: int, n: int = 2) -> torch.Tensor:
    return torch.rand(n, 3, side, side, generator=torch.Generator().manual_seed(1))


def _detect_or_none(detect, sd):
    # as srmer.sr.checkpoint.detect_arch: a detector failing on foreign keys does not claim them
    try:
        return detect(sd)
    except (KeyError, IndexError, AttributeError, ValueError):
        return None


def _counts(model: torch.nn.Module) -> tuple[int, int, int]:
    return (
        sum(p.numel() for p in model.parameters()),
        sum(b.numel() for b in model.buffers()),
        len(model.state_dict()),
    )


# ------------------------------------------------------------------ official configurations
@pytest.fixture(scope="module")
def official() -> dict[str, torch.nn.Module]:
    # shapes only: built on the meta device (no 90 M weights allocated or initialised)
    with torch.device("meta"):
        return {"gfpgan": gf.build(**gf.OFFICIAL), "codeformer": cf.build()}


def test_gfpgan_official_counts(official) -> None:
    params, buffers, keys = _counts(official["gfpgan"])
    # 87,143,276 tensors' elements in GFPGANv1.4.pth's params_ema, as published on the
    # huggingface.co/mlx-community/GFPGANv1.4-fp32 card (consistent with the 348,632,874-byte file);
    # 699,024 of them are the 15 stored noise buffers
    assert params + buffers == 87_143_276
    assert (params, buffers, keys) == (86_444_252, 699_024, 285)
    sd = official["gfpgan"].state_dict()
    assert sd["stylegan_decoder.noises.noise14"].shape == (1, 1, 512, 512)
    assert sd["final_linear.weight"].shape == (16 * 512, 256 * 16)
    assert sd["condition_scale.6.2.weight"].shape == (32, 32, 3, 3)  # sft_half: U-Net width
    assert sd["stylegan_decoder.to_rgbs.6.modulated_conv.weight"].shape == (1, 3, 64, 1, 1)
    assert {
        "conv_body_first.weight",
        "conv_body_down.6.skip.weight",
        "final_conv.bias",
        "conv_body_up.0.conv2.weight",
        "toRGB.6.weight",
        "condition_shift.0.0.bias",
        "stylegan_decoder.style_mlp.15.weight",
        "stylegan_decoder.constant_input.weight",
        "stylegan_decoder.style_conv1.modulated_conv.modulation.bias",
        "stylegan_decoder.style_conv1.weight",
        "stylegan_decoder.to_rgb1.bias",
        "stylegan_decoder.style_convs.13.bias",
        "stylegan_decoder.noises.noise0",
    } <= set(sd)


def test_codeformer_official_counts_and_tables(official) -> None:
    m = official["codeformer"]
    params, buffers, keys = _counts(m)
    # no published count found: the implementation's, checked against the official key names and
    # shapes of codeformer_arch.py / vqgan_arch.py (the 376,637,898-byte codeformer.pth holds
    # ~94.16 M float32 values, this count plus the per-tensor overhead of 515 tensors)
    assert (params, buffers, keys) == (94_112_707, 0, 515)
    vqgan = sum(
        p.numel()
        for n, p in m.named_parameters()
        if n.startswith(("encoder.", "quantize.", "generator."))
    )
    assert vqgan == 63_740_099
    # the block tables CodeFormer hard-codes upstream, derived here from the layout
    assert m.fuse_encoder_block == {"512": 2, "256": 5, "128": 8, "64": 11, "32": 14, "16": 18}
    assert m.fuse_generator_block == {"16": 6, "32": 9, "64": 12, "128": 15, "256": 18, "512": 21}
    assert m.channels == {"16": 512, "32": 256, "64": 256, "128": 128, "256": 128, "512": 64}
    sd = m.state_dict()
    assert sd["position_emb"].shape == (256, 512)
    assert sd["quantize.embedding.weight"].shape == (1024, 256)
    assert sd["ft_layers.8.self_attn.in_proj_weight"].shape == (1536, 512)
    assert sd["ft_layers.0.linear1.weight"].shape == (1024, 512)
    assert sd["idx_pred_layer.1.weight"].shape == (1024, 512)
    assert sd["fuse_convs_dict.256.encode_enc.conv_out.weight"].shape == (128, 256, 1, 1)
    assert {
        "encoder.blocks.0.weight",
        "encoder.blocks.17.q.weight",
        "encoder.blocks.24.weight",
        "generator.blocks.24.bias",
        "feat_emb.weight",
        "ft_layers.0.self_attn.out_proj.weight",
        "ft_layers.0.norm2.bias",
        "idx_pred_layer.0.weight",
        "fuse_convs_dict.32.scale.2.weight",
        "fuse_convs_dict.128.shift.0.bias",
    } <= set(sd)
    assert not any(p.requires_grad for p in m.generator.parameters())
    assert not m.quantize.embedding.weight.requires_grad
    assert all(p.requires_grad for p in m.encoder.parameters())


def test_official_detection(official) -> None:
    hp = gf.detect(official["gfpgan"].state_dict())
    assert hp == {"scale": 1, **gf.OFFICIAL}
    hp = cf.detect(official["codeformer"].state_dict())
    assert hp == {"scale": 1, **cf.OFFICIAL}


def test_specs_and_model_attributes(official) -> None:
    for mod, model in ((gf, official["gfpgan"]), (cf, official["codeformer"])):
        (spec,) = mod.SPECS
        assert spec.restoration_size == 512 and spec.scales == (1,) and not spec.fixed_input
        assert model.scale == 1 and model.input_size == 512
    with pytest.raises(ValueError, match="scale 1"):
        gf.build(scale=4, **GFP_TINY)
    with pytest.raises(ValueError, match="scale 1"):
        cf.build(scale=2, **CF_TINY)


# ------------------------------------------------------------------ small models: forward
def test_gfpgan_shape_range_and_size_check() -> None:
    m = _gfp()
    assert m.input_size == 64 and m.scale == 1
    with torch.no_grad():
        y = m(_rand(64))
    assert y.shape == (2, 3, 64, 64) and float(y.min()) >= 0 and float(y.max()) <= 1
    with pytest.raises(ValueError, match="takes 64x64"):
        m(_rand(32))
    image, rgbs = m.restore(_rand(64) * 2 - 1, return_rgb=True)
    assert image.shape == (2, 3, 64, 64) and [r.shape[-1] for r in rgbs] == [8, 16, 32, 64]


def test_gfpgan_deterministic_noise_from_buffers() -> None:
    m = _gfp()
    with torch.no_grad():
        for conv in [m.stylegan_decoder.style_conv1, *m.stylegan_decoder.style_convs]:
            conv.weight.fill_(1.0)  # noise strength (0 at init) so that noise matters
        x = _rand(64)
        a, b = m(x), m(x)
        assert torch.equal(a, b)
        m.stylegan_decoder.noises.noise3.add_(1.0)  # the stored buffer is what is used
        assert not torch.equal(m(x), a)
        m.randomize_noise = True  # upstream's inference default: fresh noise per call
        assert not torch.equal(m(x), m(x))


def test_gfpgan_sft_half_touches_half_the_channels() -> None:
    m = _gfp()
    dec = m.stylegan_decoder
    out = torch.randn(1, 32, 8, 8)
    cond = [torch.full((1, 16, 8, 8), 2.0), torch.full((1, 16, 8, 8), 1.0)]
    y = dec._modulate(out, 0, cond)
    assert torch.equal(y[:, :16], out[:, :16]) and torch.allclose(y[:, 16:], out[:, 16:] * 2 + 1)


def test_codeformer_shape_range_and_size_check() -> None:
    m = _cf()
    assert m.input_size == 64 and m.scale == 1 and m.fidelity_weight == 0.5 and m.adain
    with torch.no_grad():
        y = m(_rand(64))
        assert y.shape == (2, 3, 64, 64) and float(y.min()) >= 0 and float(y.max()) <= 1
        image, logits, lq = m.restore(_rand(64) * 2 - 1, w=0.5, adain=True)
    assert (
        image.shape == (2, 3, 64, 64)
        and logits.shape == (2, 256, 64)
        and lq.shape == (2, 32, 16, 16)
    )
    with pytest.raises(ValueError, match="takes 64x64"):
        m(_rand(32))


def test_codeformer_fidelity_weight_acts_only_through_cft() -> None:
    m = _cf()
    x = _rand(64) * 2 - 1
    with torch.no_grad():
        y0, lg0, lq0 = m.restore(x, w=0.0, adain=True)
        y1, lg1, lq1 = m.restore(x, w=1.0, adain=True)
        assert not torch.allclose(y0, y1)
        # the code prediction does not depend on w
        assert torch.equal(lg0, lg1) and torch.equal(lq0, lq1)
        # the forward wrapper reads the attribute
        m.fidelity_weight = 0.0
        assert torch.equal(m(x * 0.5 + 0.5), ((y0 + 1) / 2).clamp(0, 1))
        m.fidelity_weight = 1.0
        assert torch.equal(m(x * 0.5 + 0.5), ((y1 + 1) / 2).clamp(0, 1))
        # w = 0 ignores the CFT weights entirely
        for p in m.fuse_convs_dict.parameters():
            p.add_(0.5)
        assert torch.equal(m.restore(x, w=0.0, adain=True)[0], y0)
        # a CFT with zero scale/shift outputs adds nothing: then w = 1 equals w = 0
        for block in m.fuse_convs_dict.values():
            for head in (block.scale, block.shift):
                head[2].weight.zero_()
                head[2].bias.zero_()
        assert torch.allclose(m.restore(x, w=1.0, adain=True)[0], y0, atol=1e-6)


def test_codeformer_adain_changes_output() -> None:
    m = _cf()
    x = _rand(64) * 2 - 1
    with torch.no_grad():
        assert not torch.allclose(
            m.restore(x, 0.5, adain=False)[0], m.restore(x, 0.5, adain=True)[0]
        )


# ------------------------------------------------------------------ detection round trips
@pytest.mark.parametrize(
    "hp",
    [
        {},
        {"out_size": 32, "channel_multiplier": 2},  # below 64x64 the multiplier changes no shape
        {"sft_half": False, "different_w": False, "num_mlp": 1},
        {"out_size": 128, "channel_multiplier": 2, "narrow": 0.03125},
    ],
)
def test_gfpgan_detect_round_trip(hp) -> None:
    m = _gfp(**hp)
    found = gf.detect(m.state_dict())
    assert found is not None and found["scale"] == 1
    for k, v in hp.items():
        if k != "channel_multiplier" or found["out_size"] >= 64:
            assert found[k] == v, k
    rebuilt = _seeded(lambda: gf.build(**found), seed=5).eval()
    rebuilt.load_state_dict(m.state_dict(), strict=True)
    x = _rand(m.out_size, n=1)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), m(x))


@pytest.mark.parametrize(
    "hp",
    [
        {},
        {"connect_list": ("16", "64"), "res_blocks": 2},
        {"connect_list": (), "ch_mult": (1, 2), "img_size": 32, "attn_resolutions": ()},
    ],
)
def test_codeformer_detect_round_trip(hp) -> None:
    m = _cf(**hp)
    found = cf.detect(m.state_dict())
    assert found is not None and found["scale"] == 1
    want = {**CF_TINY, **hp}
    for k in ("img_size", "nf", "res_blocks", "emb_dim", "dim_embd", "n_layers", "codebook_size"):
        assert found[k] == want[k], k
    assert found["ch_mult"] == list(want["ch_mult"])
    assert found["attn_resolutions"] == list(want["attn_resolutions"])
    assert found["connect_list"] == sorted(want["connect_list"], key=int)
    rebuilt = _seeded(lambda: cf.build(**found), seed=5).eval()
    rebuilt.load_state_dict(m.state_dict(), strict=True)
    x = _rand(m.img_size, n=1)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), m(x))


# ------------------------------------------------------------------ no cross-family claims
def _other_state_dicts() -> dict[str, dict[str, torch.Tensor]]:
    from srmer.sr.archs import edsr, glean, rrdbnet

    return {
        "glean": glean.SPECS[0]
        .build(
            scale=4,
            out_size=64,
            max_channels=8,
            style_channels=8,
            num_mlps=2,
            rrdb_channels=8,
            num_rrdbs=1,
        )
        .state_dict(),
        "edsr": edsr.build(scale=2, num_feat=8, num_block=1).state_dict(),
        "rrdbnet": rrdbnet.build(scale=4, num_feat=8, num_block=1, num_grow_ch=4).state_dict(),
    }


def test_detectors_reject_other_families() -> None:
    others = _other_state_dicts()
    for name, sd in others.items():
        assert gf.detect(sd) is None, name
        assert cf.detect(sd) is None, name
    assert gf.detect(_cf().state_dict()) is None
    assert cf.detect(_gfp().state_dict()) is None
    # a truncated checkpoint is not claimed (strict loading would fail later anyway)
    sd = _gfp().state_dict()
    sd["extra.weight"] = torch.zeros(1)
    assert gf.detect(sd) is None


def test_other_detectors_do_not_claim_face_models() -> None:
    mine = {"gfpgan": _gfp().state_dict(), "codeformer": _cf().state_dict()}
    for mod_name in OTHER_MODULES:
        mod = importlib.import_module(f"srmer.sr.archs.{mod_name}")
        for spec in mod.SPECS:
            for name, sd in mine.items():
                assert _detect_or_none(spec.detect, sd) is None, (spec.name, name)


# ------------------------------------------------------------------ full size (slow)
@pytest.mark.slow
def test_full_size_forward() -> None:
    # ~10 s (GFPGAN) and ~25 s (CodeFormer) per 512x512 forward on 2 CPU threads
    x = _rand(512, n=1)
    with torch.no_grad():
        g = _seeded(lambda: gf.build(**gf.OFFICIAL)).eval()
        a, b = g(x), g(x)
        assert a.shape == (1, 3, 512, 512) and torch.equal(a, b)
        assert float(a.min()) >= 0 and float(a.max()) <= 1
        del g
        c = _seeded(lambda: cf.build()).eval()
        y0, y1 = (
            c.restore(x * 2 - 1, w=0.0, adain=True)[0],
            c.restore(x * 2 - 1, w=1.0, adain=True)[0],
        )
        assert y0.shape == (1, 3, 512, 512) and not torch.allclose(y0, y1)
