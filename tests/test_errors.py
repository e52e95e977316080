"""Every srmer error survives pickling (a worker's clear error must reach the parent as itself)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import re
from pathlib import Path

import pytest

import srmer
import srmer.errors
from srmer.errors import ClipError, SrmerError, UnknownMethodError

SRC = Path(srmer.__file__).parent


def _error_modules() -> list[str]:
    """Every srmer module that defines an exception class (found in the source, then imported)."""
    pattern = re.compile(r"^class \w+\(.*(Error|Exception)\b", re.M)
    mods = []
    for path in sorted(SRC.rglob("*.py")):
        if pattern.search(path.read_text(encoding="utf-8")):
            rel = path.relative_to(SRC.parent).with_suffix("")
            mods.append(".".join(rel.parts).removesuffix(".__init__"))
    return mods


def _all_error_classes() -> list[type[SrmerError]]:
    for mod in _error_modules():
        importlib.import_module(mod)
    seen: dict[str, type[SrmerError]] = {}
    todo = [SrmerError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("srmer"):
            seen[f"{cls.__module__}.{cls.__qualname__}"] = cls
        todo.extend(cls.__subclasses__())
    return [seen[k] for k in sorted(seen)]


def _instance(cls: type[SrmerError]) -> SrmerError:
    """An instance built from the class's own signature (strings, or lists for list parameters)."""
    sig = inspect.signature(cls.__init__)
    params = [p for p in sig.parameters.values() if p.name != "self"]
    if all(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return cls(f"{cls.__name__}: something went wrong; fix it")
    kwargs = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = str(p.annotation)
        kwargs[p.name] = ["beta", "alpha"] if "list" in ann or "tuple" in ann else f"<{p.name}>"
    return cls(**kwargs)


def test_every_error_module_is_found():
    names = {c.__name__ for c in _all_error_classes()}
    # the custom-signature errors, and the ones defined outside srmer.errors
    assert {"ClipError", "UnknownMethodError", "RegistryImportError"} <= names
    assert {"DescriptorInputError", "NoFaceError"} <= names


@pytest.mark.parametrize("cls", _all_error_classes(), ids=lambda c: c.__qualname__)
def test_error_round_trips_through_pickle(cls):
    err = _instance(cls)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == str(err)
    assert back.args == err.args
    assert vars(back) == vars(err)


def test_custom_signature_attributes_survive():
    clip = pickle.loads(
        pickle.dumps(ClipError("sub01/EP02_01f", "frame 3 unreadable", "re-copy it"))
    )
    assert (clip.clip, clip.problem, clip.fix) == (
        "sub01/EP02_01f",
        "frame 3 unreadable",
        "re-copy it",
    )
    assert str(clip) == "clip sub01/EP02_01f: frame 3 unreadable (re-copy it)"
    unk = pickle.loads(pickle.dumps(UnknownMethodError("SR method", "edrs", ["rdn", "edsr"])))
    assert (unk.kind, unk.name, unk.known) == ("SR method", "edrs", ["edsr", "rdn"])
    assert "choose one of: edsr, rdn" in str(unk)


def test_error_crosses_a_process_pool():
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1) as pool, pytest.raises(ClipError) as info:
        pool.submit(_raise_clip_error).result()
    assert info.value.clip == "c1" and "bad frames" in str(info.value)


def _raise_clip_error() -> None:
    raise ClipError("c1", "bad frames", "re-extract them")
