"""srmer.train: resume equals an uninterrupted run, one checkpoint format, one corrupt-file policy,
seeding in a forked RNG, one device rule, and the layering (srmer.train imports only srmer.errors)."""

from __future__ import annotations

import ast
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from srmer.errors import CheckpointError, ConfigError
from srmer.train import (
    FORMAT,
    CheckpointWarning,
    Trainer,
    atomic_save,
    fingerprint,
    read_checkpoint,
    resolve_device,
    seeded,
)

torch.set_num_threads(1)

SRC = Path(__file__).resolve().parents[1] / "src" / "srmer"


def _run(
    total: int,
    ckpt: Path | None = None,
    stop_at: int | None = None,
    seed: int = 0,
    key: str = "toy",
    save_every: int = 2,
) -> tuple[nn.Module, Trainer]:
    """A toy training drawing from every kind of randomness a recipe uses: initial weights and
    dropout (global torch RNG), an explicit torch generator, a numpy generator, plus a scheduler."""
    with seeded(seed) as gen:
        model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 1))
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        rng = np.random.default_rng(seed)
        trainer = Trainer(
            total,
            modules={"model": model},
            optimizers={"opt": opt},
            schedulers={"sched": sched},
            generators={"torch": gen, "numpy": rng},
            fingerprint=fingerprint(key),
            ckpt_path=ckpt,
            save_every=save_every,
            stop_at=stop_at,
        )
        for step in trainer:
            x = torch.randn(8, 4, generator=gen) + float(rng.normal())
            loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            trainer.log({"step": step, "loss": float(loss.detach())})
    return model, trainer


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_stopped_and_resumed_equals_straight(tmp_path: Path) -> None:
    straight, t0 = _run(6)
    ck = tmp_path / "run.pt"
    half, t1 = _run(6, ck, stop_at=3)
    assert t1.step == 3 and not t1.finished and not _same(half, straight)
    resumed, t2 = _run(6, ck)
    assert t2.resumed_from == 3 and t2.step == 6 and t2.finished
    assert _same(resumed, straight)  # bit-identical, not approximately equal
    assert t2.history == t0.history
    again, t3 = _run(6, ck)  # a finished checkpoint is loaded, nothing is trained
    assert t3.resumed_from == 6 and len(t3.history) == 6 and _same(again, straight)
    assert not list(tmp_path.glob("*.tmp"))


def test_interrupted_by_an_exception_resumes_from_the_last_checkpoint(tmp_path: Path) -> None:
    straight, _ = _run(5, save_every=2)
    ck = tmp_path / "run.pt"
    calls = {"n": 0}
    real = torch.optim.Adam.step

    def crash(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    torch.optim.Adam.step = crash  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            _run(5, ck, save_every=2)
    finally:
        torch.optim.Adam.step = real  # type: ignore[method-assign]
    assert read_checkpoint(ck)["step"] == 2
    resumed, t = _run(5, ck, save_every=2)
    assert t.resumed_from == 2 and _same(resumed, straight)


def test_the_checkpoint_format(tmp_path: Path) -> None:
    ck = tmp_path / "run.pt"
    _run(2, ck)
    obj = torch.load(ck, weights_only=True)  # plain data and tensors only
    assert obj["format"] == FORMAT and obj["version"] == 1
    assert obj["step"] == obj["total"] == 2 and obj["stopped"] is False
    assert obj["fingerprint"] == fingerprint("toy")
    assert set(obj["modules"]) == {"model"} and set(obj["optimizers"]) == {"opt"}
    assert set(obj["schedulers"]) == {"sched"}
    assert set(obj["rng"]["generators"]) == {"torch", "numpy"}
    assert isinstance(obj["rng"]["torch"], torch.Tensor)
    assert read_checkpoint(ck)["step"] == 2


@pytest.mark.parametrize(
    "damage",
    ["empty", "truncated", "garbage", "list", "foreign_dict", "other_training", "wrong_shapes"],
)
def test_unusable_checkpoint_is_recomputed_with_a_warning(tmp_path: Path, damage: str) -> None:
    ck = tmp_path / "run.pt"
    fresh, _ = _run(4)
    _run(4, ck, key="other" if damage == "other_training" else "toy")
    if damage == "empty":
        ck.write_bytes(b"")
    elif damage == "truncated":
        ck.write_bytes(ck.read_bytes()[: ck.stat().st_size // 2])
    elif damage == "garbage":
        ck.write_bytes(b"\x00not a checkpoint" * 10)
    elif damage == "list":
        torch.save([1, 2, 3], ck)
    elif damage == "foreign_dict":
        torch.save({"params": {"w": torch.zeros(2)}}, ck)
    elif damage == "wrong_shapes":
        obj = torch.load(ck, weights_only=True)
        obj["modules"]["model"] = {k: v[:1] for k, v in obj["modules"]["model"].items()}
        torch.save(obj, ck)
    with pytest.warns(CheckpointWarning, match=str(ck.name)) as rec:
        model, t = _run(4, ck)
    assert len(rec) == 1
    assert t.resumed_from == 0 and _same(model, fresh)  # recomputed, nothing half-applied
    assert read_checkpoint(ck)["fingerprint"] == fingerprint("toy")  # overwritten


def test_more_steps_in_the_checkpoint_than_asked_is_recomputed(tmp_path: Path) -> None:
    ck = tmp_path / "run.pt"
    _run(4, ck)
    with pytest.warns(CheckpointWarning, match="more than the 2 asked"):
        model, t = _run(2, ck)
    assert t.resumed_from == 0 and _same(model, _run(2)[0])


def test_a_stopped_training_is_not_continued(tmp_path: Path) -> None:
    ck = tmp_path / "run.pt"
    with seeded(0):
        model = nn.Linear(2, 1)
        t = Trainer(10, modules={"m": model}, fingerprint="k", ckpt_path=ck)
        for step in t:
            t.log(step)
            if step == 2:
                t.stop()
    assert t.step == 3 and t.finished and read_checkpoint(ck)["stopped"] is True
    t2 = Trainer(10, modules={"m": nn.Linear(2, 1)}, fingerprint="k", ckpt_path=ck)
    assert list(t2) == [] and t2.step == 3 and t2.history == [0, 1, 2]


def test_loading_an_unreadable_checkpoint_is_an_error_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"")
    with pytest.raises(CheckpointError, match="bad.pt"):
        read_checkpoint(bad)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    ck = tmp_path / "a.pt"
    atomic_save({"x": 1}, ck)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        atomic_save({"x": lambda: 0}, ck)
    assert torch.load(ck, weights_only=True) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_seeding_leaves_the_global_rng_alone_and_fixes_the_result() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, _ = _run(3, seed=7)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(999)  # another process start
    b, _ = _run(3, seed=7)
    assert _same(a, b)
    assert not _same(a, _run(3, seed=8)[0])


def test_resolve_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") == resolve_device(None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="gpu0"):
        resolve_device("gpu0")


def test_srmer_train_imports_only_srmer_errors() -> None:
    for path in (SRC / "train").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for n in names:
                if n == "srmer" or n.startswith("srmer."):
                    assert n == "srmer.errors" or n.startswith("srmer.train"), (path, n)


def _inside_fork_rng(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(
            "fork_rng" in ast.unparse(item.context_expr) for item in node.items
        ):
            for sub in ast.walk(node):
                if hasattr(sub, "lineno"):
                    lines.add(sub.lineno)
    return lines


def test_no_global_manual_seed_outside_a_forked_rng() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        forked = _inside_fork_rng(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) in ("torch.manual_seed", "torch.cuda.manual_seed_all")
                and node.lineno not in forked
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders


def test_every_training_loop_uses_the_trainer() -> None:
    for rel in ("sr/train.py", "sr/video.py", "mer/train.py", "fer/train.py"):
        text = (SRC / rel).read_text()
        assert "Trainer(" in text and "seeded(" in text, rel
        assert "torch.save(" not in text, rel  # checkpoints go through srmer.train


@pytest.mark.parametrize("interrupt_at", [2])
def test_video_sr_training_resumes_to_the_same_weights(tmp_path: Path, interrupt_at: int) -> None:
    from srmer.sr.archs import basicvsr
    from srmer.sr.video import make_training_clips, train_video_sr

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    data = make_training_clips([clip], hr_size=32, scale=4, input_sizes=[8])
    kw = {"steps": 4, "batch": 1, "clip_len": 2, "patch": 4, "seed": 1, "device": "cpu"}

    def build() -> nn.Module:
        with seeded(0):
            return basicvsr.build(num_feat=4, num_block=1)

    straight = train_video_sr(build(), data, **kw)

    def stop(step: int, loss: float) -> None:
        if step == interrupt_at:
            raise KeyboardInterrupt

    ck = tmp_path / "v.pt"
    with pytest.raises(KeyboardInterrupt):
        train_video_sr(build(), data, ckpt_path=ck, save_every=2, callback=stop, **kw)
    assert read_checkpoint(ck)["step"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointWarning)  # a clean resume, no warning
        resumed = train_video_sr(build(), data, ckpt_path=ck, save_every=2, **kw)
    assert _same(resumed, straight)
