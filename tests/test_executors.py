import numpy as np
import pytest

from srmer.bench.executors import LocalExecutor, make_executor


def _square(x):
    return x * x


def test_local_executor_returns_every_result_with_its_index():
    with LocalExecutor(workers=2) as ex:
        got = dict(ex.imap(_square, range(6)))
    assert got == {i: i * i for i in range(6)}


def test_single_worker_runs_inline():
    with LocalExecutor(workers=1) as ex:
        assert list(ex.imap(_square, [3])) == [(0, 9)]


def test_unknown_executor_kind():
    with pytest.raises(ValueError, match="local"):
        make_executor("slurm")


def test_ray_executor_matches_local():
    pytest.importorskip("ray")
    jobs = [np.arange(i, i + 3) for i in range(4)]
    with LocalExecutor(workers=1) as ex:
        local = dict(ex.imap(np.sum, jobs))
    with make_executor("ray", workers=2) as ex:
        remote = dict(ex.imap(np.sum, jobs))
    assert remote == local
