"""Checkpoint loading (architecture detected from the weights) and atomic saving.

:func:`load_checkpoint` follows spandrel's design: the container is unwrapped once, then every
registered :class:`~srmer.sr.archs.base.ArchSpec`'s ``detect`` is asked in turn; the first that
recognises the keys gives the hyper-parameters, the model is built and loaded with ``strict=True``.

Containers understood:

- BasicSR: ``{'params': sd}`` or ``{'params': sd, 'params_ema': sd}`` (``params_ema`` preferred);
- mmagic / mmediting: ``{'meta': ..., 'state_dict': sd}`` with keys prefixed ``generator.`` and
  ``generator_ema.`` (EMA preferred; ``discriminator.`` and other prefixes ignored);
- raw state_dicts (EDSR-PyTorch, yulunzhang/RCAN, Meta-SR, Real-ESRGAN ``params`` files...);
- a leading ``module.`` (DataParallel) is stripped;
- original ESRGAN / nESRGAN+ layouts (``RRDB_trunk``, ``model.1.sub``) are renamed to BasicSR's
  (:data:`LEGACY_CONVERTERS`);
- training checkpoints of :class:`srmer.train.Trainer` (``{'format': 'srmer.train', 'modules':
  {'model': sd, 'ema': sd}, 'meta': {'srmer': ...}}``; EMA preferred), so a run's checkpoint is
  also its model file;
- files written by :func:`save_checkpoint` carry an ``srmer`` entry (architecture name, scale,
  hyper-parameters, cascade order) and are rebuilt from it without guessing.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from srmer.errors import SrmerError
from srmer.sr.archs.base import StateDict
from srmer.sr.registry import Cascade, create, get_spec, specs
from srmer.train.checkpoint import FORMAT as TRAIN_FORMAT
from srmer.train.files import atomic_write

#: signature keys per family, quoted in the error for an unrecognised checkpoint
SIGNATURES: dict[str, str] = {
    "srcnn": "conv1, conv2, conv3 only",
    "msrresnet": "conv_first, body.N.conv1, upconv1, conv_hr, conv_last",
    "edsr": "conv_first, body.N.conv1, conv_after_body, upsample.0 (BasicSR) | sub_mean, head.0, "
    "body.N.body.0, tail.0.0, tail.1 (EDSR-PyTorch)",
    "rdn": "SFENet1, RDBs.N.convs.M.conv.0, RDBs.N.LFF, GFF.0, UPNet.0",
    "rrdbnet": "conv_first, body.N.rdb1.conv1, conv_body, conv_up1, conv_hr, conv_last",
    "nesrganplus": "rrdbnet keys + body.N.rdbK.conv1x1",
    "srvgg": "body.N.weight only (PReLU vectors at odd N)",
    "rcan": "conv_first, body.N.residual_group.M.rcab.0 (BasicSR) | head.0, "
    "body.N.body.M.body.3.conv_du.0, tail.0.0 (official)",
    "metasr": "SFENet1, RDBs, GFF, P2W.meta_block.0/2",
    "glean": "encoder.0.0.conv_first, generator.style_mapping, fusion_out, decoder (after generator. prefix)",
    "swinir": "conv_first, patch_embed.norm, layers.N.residual_group.blocks.M.attn."
    "relative_position_bias_table, norm, conv_after_body, upsample.0 | conv_up1",
    "hat": "swinir keys + layers.N.residual_group.blocks.M.conv_block.cab.0, "
    "layers.N.residual_group.overlap_attn.qkv",
    "gfpgan": "conv_body_first, conv_body_down.N, condition_scale.N, stylegan_decoder.style_mlp, "
    "stylegan_decoder.style_convs.N (GFPGANv1Clean)",
    "codeformer": "encoder.blocks.N, quantize.embedding, generator.blocks.N, position_emb, "
    "ft_layers.N.self_attn, idx_pred_layer, fuse_convs_dict.<size>",
    "spynet": "basic_module.L.basic_module.K (a standalone SPyNet flow network)",
}


def _read(path: Path, trusted: bool) -> Any:
    if not path.is_file():
        raise SrmerError(
            f"checkpoint {path} does not exist (check the path in your config or command)"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=not trusted)
    except pickle.UnpicklingError as exc:
        if not trusted and "Unsupported global" in str(exc):
            raise SrmerError(
                f"checkpoint {path} contains Python objects besides tensors; if you trust its source, "
                "load it with trusted=True (it then runs pickle code)"
            ) from exc
        detail = str(exc).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
        raise SrmerError(
            f"checkpoint {path} is corrupt, truncated or not a PyTorch .pth/.pt file ({detail}); "
            "download or copy it again"
        ) from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SrmerError(
            f"checkpoint {path} is corrupt, truncated or not a PyTorch .pth/.pt file ({exc}); "
            "download or copy it again"
        ) from exc


def _strip(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    n = len(prefix)
    return {k[n:]: v for k, v in sd.items() if k.startswith(prefix)}


def unwrap(obj: Any) -> tuple[StateDict, dict[str, Any]]:
    """Unwrap a checkpoint container once.

    Returns
    -------
    state_dict : dict of str to Tensor
    info : dict
        ``format`` (``"basicsr"``, ``"mmagic"``, ``"srmer.train"``, ``"raw"``), ``ema`` (bool) and the ``srmer`` entry
        when present.
    """
    info: dict[str, Any] = {"format": "raw", "ema": False}
    if not isinstance(obj, dict):
        raise SrmerError(f"expected a dict of tensors, found {type(obj).__name__}")
    if isinstance(obj.get("srmer"), dict):
        info["srmer"] = obj["srmer"]
    sd: dict[str, Any]
    if obj.get("format") == TRAIN_FORMAT and isinstance(obj.get("modules"), dict):
        info["format"] = TRAIN_FORMAT
        modules = obj["modules"]
        info["ema"] = isinstance(modules.get("ema"), dict)
        sd = modules["ema"] if info["ema"] else dict(modules.get("model") or {})
        meta = obj.get("meta")
        if isinstance(meta, dict) and isinstance(meta.get("srmer"), dict):
            info["srmer"] = meta["srmer"]
    elif isinstance(obj.get("params_ema"), dict) or isinstance(obj.get("params"), dict):
        info["format"] = "basicsr"
        info["ema"] = isinstance(obj.get("params_ema"), dict)
        sd = obj["params_ema"] if info["ema"] else obj["params"]
    elif isinstance(obj.get("state_dict"), dict):
        info["format"] = "mmagic"
        sd = obj["state_dict"]
        if any(k.startswith("generator_ema.") for k in sd):
            info["ema"] = True
            sd = _strip(sd, "generator_ema.")
        elif any(k.startswith("generator.") for k in sd):
            sd = _strip(sd, "generator.")
    else:
        sd = obj
    sd = {k: v for k, v in sd.items() if isinstance(v, Tensor)}
    if sd and all(k.startswith("module.") for k in sd):
        sd = _strip(sd, "module.")
    return sd, info


#: key converters for original-repository layouts, tried once after unwrapping ("module:function";
#: each returns the state_dict in srmer's layout or None)
LEGACY_CONVERTERS: tuple[str, ...] = ("srmer.sr.archs.rrdbnet:convert_legacy_esrgan",)


def convert_legacy(sd: StateDict) -> tuple[StateDict, str | None]:
    """Apply the first matching :data:`LEGACY_CONVERTERS` entry; returns ``(sd, converter or None)``."""
    import importlib

    for ref in LEGACY_CONVERTERS:
        mod, fn = ref.split(":")
        new = getattr(importlib.import_module(mod), fn)(sd)
        if new is not None:
            return new, ref
    return sd, None


def _attach(model: nn.Module, name: str, hp: dict[str, Any]) -> nn.Module:
    model.arch_name = name  # type: ignore[assignment]
    model.hparams = {k: v for k, v in hp.items() if k != "scale"}  # type: ignore[assignment]
    return model


def _load_strict(model: nn.Module, sd: StateDict, path: Path, what: str) -> None:
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        msg = str(exc).replace("\n", " ")
        raise SrmerError(
            f"checkpoint {path} looks like {what} but does not fit it: {msg[:600]} "
            "(a modified architecture or a truncated file?)"
        ) from exc


def _from_meta(meta: dict[str, Any], sd: StateDict, path: Path) -> nn.Module:
    if "cascade" in meta:
        stages = {}
        for key, sub in meta["cascade"]["stages"].items():
            stages[key] = _attach(
                create(sub["arch"], sub["scale"], **sub.get("hparams", {})),
                sub["arch"],
                sub.get("hparams", {}),
            )
        model: nn.Module = Cascade(stages, list(meta["cascade"]["order"]))
        model.arch_name = meta.get("arch", "cascade")  # type: ignore[assignment]
    else:
        get_spec(meta["arch"])
        model = _attach(
            create(meta["arch"], meta["scale"], **meta.get("hparams", {})),
            meta["arch"],
            meta.get("hparams", {}),
        )
    _load_strict(model, sd, path, f"srmer's {meta.get('arch')}")
    return model


def is_spynet(sd: StateDict) -> bool:
    """Whether ``sd`` is a standalone SPyNet (BasicSR ``spynet_sintel_final-*.pth`` or mmagic keys).

    BasicSR: ``basic_module.L.basic_module.(2K).weight``; mmagic: ``...basic_module.K.conv.weight``;
    both for 6 levels L, optionally with the ``mean``/``std`` buffers.
    """
    keys = [k for k in sd if k not in ("mean", "std")]
    return (
        bool(keys)
        and all(k.startswith("basic_module.") for k in keys)
        and any(k.startswith("basic_module.5.") for k in keys)
        and not any(k.startswith("basic_module.6.") for k in keys)
    )


def _spynet(sd: StateDict, path: Path) -> nn.Module:
    from srmer.sr.archs.spynet import SpyNet

    model = SpyNet()
    _load_strict(model, sd, path, "a standalone SPyNet")
    model.arch_name = "spynet"  # type: ignore[assignment]
    model.hparams = {}  # type: ignore[assignment]
    model.scale = None  # type: ignore[assignment]  # a flow network, not an SR model
    return model


def detect_arch(sd: StateDict) -> tuple[str, dict[str, Any]] | None:
    """``(name, hparams)`` of the first registered spec recognising ``sd``, else ``None``."""
    for name, spec in specs().items():
        try:
            hp = spec.detect(sd)
        except (KeyError, IndexError, AttributeError, ValueError):
            hp = None
        if hp is not None:
            return name, hp
    return None


def _build_with(name: str, scale: Any, hp: dict[str, Any], overrides: dict[str, Any], path: Path):
    """Build ``name`` with the detected ``hp`` updated by the user's ``overrides``."""
    from srmer.errors import did_you_mean

    merged = {**hp, **overrides}
    scale = merged.pop("scale", scale)
    try:
        model = get_spec(name).build(scale=scale, **merged)
    except TypeError as exc:  # an override the architecture does not take
        known = sorted({*hp, *get_spec(name).defaults, "scale"})
        bad = next((k for k in overrides if f"'{k}'" in str(exc)), next(iter(overrides), ""))
        raise SrmerError(
            f"checkpoint {path}: {name} takes no hyper-parameter {bad!r} ({exc}); its detected "
            f"hyper-parameters are {known}{did_you_mean(bad, known)}"
        ) from None
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise SrmerError(
            f"checkpoint {path}: {name} cannot be built with the overrides {overrides} ({exc}); "
            "fix or remove them"
        ) from None
    return scale, merged, model


def load_checkpoint(
    path: str | os.PathLike,
    trusted: bool = False,
    device: str | torch.device = "cpu",
    **hparams: Any,
) -> nn.Module:
    """Load an SR checkpoint of any supported format, detecting the architecture from its keys.

    Parameters
    ----------
    path : path-like
        ``.pth``/``.pt`` file (BasicSR, mmagic, EDSR-PyTorch, RCAN, Meta-SR, Real-ESRGAN or srmer).
    trusted : bool
        Allow non-tensor Python objects in the file (runs pickle; only for files you trust).
    device : str or torch.device
        Where the model goes.
    **hparams
        Hyper-parameters the keys cannot reveal, overriding what detection infers: EDSR's
        ``res_scale`` (0.1 for the large model, 1.0 for the baseline: it scales activations, not
        shapes), ``upscale``/``scale`` of a pixel-shuffle-direct head, ``img_range``,
        ``window_size``... (``srmer list arch`` shows each architecture's). In a config:
        ``checkpoint_options: {res_scale: 0.1}``. An override the architecture does not take, or
        one that changes a tensor shape so the weights no longer fit, is a clear error.

    Returns
    -------
    torch.nn.Module
        In eval mode, with ``arch_name``, ``hparams`` and ``scale`` attributes; image models take and
        return float RGB in [0, 1] ``(N,3,H,W)`` (0..255 weights are wrapped inside). A standalone
        SPyNet file (BasicSR's ``spynet_sintel_final-*.pth``, or mmagic's keys) gives the flow
        network :class:`srmer.sr.archs.spynet.SpyNet` (``arch_name == "spynet"``, ``scale`` None).

    Raises
    ------
    SrmerError
        Missing, corrupt or foreign file, or keys/shapes matching no registered architecture; the
        message names the file, the expected signature keys and the first keys found.
    """
    path = Path(path)
    obj = _read(path, trusted)
    try:
        sd, info = unwrap(obj)
    except SrmerError as exc:
        raise SrmerError(f"checkpoint {path}: {exc}") from exc
    if not sd:
        top = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise SrmerError(
            f"checkpoint {path} holds no tensors (top-level entries: {top}); not an SR model file"
        )
    sd, converter = convert_legacy(sd)
    if converter:
        info["converted_by"] = converter
    if "srmer" in info:
        meta = info["srmer"]
        if hparams and "cascade" not in meta:
            meta = {**meta, "hparams": {**meta.get("hparams", {}), **hparams}}
            meta["scale"] = meta["hparams"].pop("scale", meta.get("scale"))
        model = _from_meta(meta, sd, path)
    elif is_spynet(sd):
        model = _spynet(sd, path)
    else:
        found = detect_arch(sd)
        if found is None:
            expected = "; ".join(f"{k}: {v}" for k, v in SIGNATURES.items())
            first = list(sd)[:8]
            raise SrmerError(
                f"checkpoint {path} ({info['format']} container, {len(sd)} tensors) matches no known SR "
                f"architecture. First keys found: {first}. Expected signature keys -- {expected}"
            )
        name, hp = found
        scale = hp.pop("scale")
        if hparams:
            scale, hp, model = _build_with(name, scale, hp, hparams, path)
            model = _attach(model, name, hp)
            _load_strict(
                model, sd, path, f"{name} with {hp} (your overrides {hparams} change its shapes)"
            )
        else:
            model = _attach(get_spec(name).build(scale=scale, **hp), name, hp)
            _load_strict(model, sd, path, f"{name} with {hp}")
    model.checkpoint_info = info  # type: ignore[assignment]
    return model.to(device).eval()


def model_meta(model: nn.Module) -> dict[str, Any]:
    """The ``srmer`` entry of a checkpoint: architecture name, scale, hyper-parameters (cascade order).

    :func:`load_checkpoint` rebuilds the model from it without guessing.
    """
    if isinstance(model, Cascade):
        return {
            "arch": getattr(model, "arch_name", "cascade"),
            "scale": model.scale,
            "cascade": {
                "order": list(model.order),
                "stages": {k: model_meta(m) for k, m in model.stages.items()},
            },
        }
    return {
        "arch": getattr(model, "arch_name", type(model).__name__.lower()),
        "scale": getattr(model, "scale", None),
        "hparams": dict(getattr(model, "hparams", {})),
    }


def save_checkpoint(
    model: nn.Module,
    path: str | os.PathLike,
    ema: nn.Module | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save ``{'params': sd, 'params_ema': sd_ema, 'srmer': meta, **extra}`` atomically (BasicSR format).

    The file is written to a temporary name in the same folder and renamed, so an interrupted save
    never leaves a truncated checkpoint. ``extra`` may hold training state (optimiser, step) for resuming.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    obj: dict[str, Any] = {"params": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    if ema is not None:
        obj["params_ema"] = {k: v.detach().cpu() for k, v in ema.state_dict().items()}
    obj["srmer"] = model_meta(model)
    if extra:
        obj.update(extra)
    return atomic_write(path, lambda fh: torch.save(obj, fh))
