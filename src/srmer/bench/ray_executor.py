"""Ray executor for grids that outgrow one machine (``executor: {kind: ray, address: ...}``).

The jobs are the same top-level functions the local executor runs, so results are identical. SR and
network jobs flagged ``gpu=True`` ask Ray for ``num_gpus`` (default 1) per task when the cluster has
GPUs, so Ray places them on GPU nodes and never oversubscribes a card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from srmer.errors import ConfigError


def _call(fn: Callable[[Any], Any], job: Any) -> Any:
    # A plain-function trampoline: ray.remote rejects builtins and numpy ufunc-like callables.
    return fn(job)


class RayExecutor:
    """Runs jobs as Ray tasks.

    Parameters
    ----------
    address : str, optional
        ``auto`` joins a running cluster, ``ray://host:10001`` a remote one; ``None`` starts a local
        Ray instance with ``workers`` CPUs.
    workers : int, optional
        CPUs of the local instance (ignored when joining a cluster).
    num_gpus : float
        GPUs requested by each GPU job when the cluster has GPUs.
    """

    kind = "ray"

    def __init__(
        self, address: str | None = None, workers: int | None = None, num_gpus: float = 1.0
    ) -> None:
        try:
            import ray
        except ImportError as e:
            raise ConfigError(
                "executor.kind is 'ray' but Ray is not installed; `pip install ray` or use `executor: {kind: local}`"
            ) from e
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(
                address=address or None,
                num_cpus=None if address else workers,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                runtime_env={"env_vars": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}},
            )
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self._gpus = ray.cluster_resources().get("GPU", 0)
        self.num_gpus = num_gpus

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def imap(
        self, fn: Callable[[Any], Any], jobs: Iterable[Any], gpu: bool = False
    ) -> Iterator[tuple[int, Any]]:
        """Yield ``(job_index, result)`` as Ray tasks finish."""
        ray = self._ray
        opts = {"num_cpus": 1}
        if gpu and self._gpus > 0:
            opts["num_gpus"] = self.num_gpus
        remote = ray.remote(**opts)(_call)
        fn_ref = ray.put(fn)
        refs = {remote.remote(fn_ref, job): i for i, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                yield refs[ref], ray.get(ref)

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()
