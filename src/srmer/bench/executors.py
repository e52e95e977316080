"""Executors run independent jobs (clips, folds) in parallel: ``local`` (process pool) or ``ray``.

Jobs are top-level functions of picklable arguments, so any executor gives the same results; the
order of results follows the order of the jobs whatever order they finish in.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    # Workers already run in parallel: BLAS/OpenMP threads inside each would oversubscribe the cores.
    # Spawned children inherit the environment present when they start.
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update(dict.fromkeys(_THREAD_VARS, "1"))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@functools.cache
def _main_reruns_everything() -> bool:
    """Whether a spawned worker would re-run the whole ``__main__`` script, experiment included.

    Spawned processes import the parent's main module so that functions defined there can be
    unpickled. A plain script that calls ``srmer.run(...)`` at top level, without
    ``if __name__ == "__main__":``, would then start the experiment again in every worker, which
    fails (``BrokenProcessPool``). A script with that guard, the ``srmer`` command, a notebook or
    an interactive session is safe.
    """
    import ast

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path or not str(path).endswith(".py"):
        return False
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            return False
    return True


@contextmanager
def _spawn_safe_main() -> Iterator[None]:
    # The jobs are srmer functions, so the workers do not need an unguarded script: hide it from
    # multiprocessing's spawn preparation while the workers start. A plug-in defined in such a
    # script is then unknown to the workers; define plug-ins in a module, or add the guard.
    main = sys.modules.get("__main__")
    if main is None or not _main_reruns_everything():
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.update(saved)


def _worker_init() -> None:
    # One thread per worker for every pool a library may start: BLAS (OpenBLAS threads spin while
    # waiting, so two workers x two BLAS threads on two cores made bicubic resizing 4x slower),
    # OpenMP, OpenCV and torch. The pool starts its processes lazily, after the environment set in
    # _single_threaded_children may be gone, so limit the pools here, in the worker itself.
    import cv2
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


class LocalExecutor:
    """Process-pool executor (``workers`` processes; 1 runs jobs inline in this process)."""

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing as mp

            with _single_threaded_children():
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=mp.get_context("spawn"),
                    initializer=_worker_init,
                )
        return self._pool

    def imap(
        self, fn: Callable[[Any], Any], jobs: Iterable[Any], gpu: bool = False
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(job_index, result)`` as jobs finish (``gpu`` is a placement hint for Ray)."""
        jobs = list(jobs)
        if self.workers == 1 or len(jobs) <= 1:
            for i, job in enumerate(jobs):
                yield i, fn(job)
            return
        pool = self._get_pool()
        with _spawn_safe_main():  # the workers start at the first submit
            futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def make_executor(kind: str = "local", workers: int | None = None, address: str | None = None):
    """Executor from the config's ``executor`` section."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        from srmer.bench.ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers)
    raise ValueError(f"unknown executor kind {kind!r}; use 'local' or 'ray'")
