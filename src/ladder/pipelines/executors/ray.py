"""The Ray executor: each step attempt is one Ray task.

It uses the Ray runtime already initialised in this process, or starts one
with ``ray.init(address=...)``: ``None`` starts (or joins, through
``RAY_ADDRESS``) a local cluster, ``ray://host:10001`` connects a Ray Client to
a remote one. Tasks receive the store URIs and open their own step runs; values
travel through the artifact store, not Ray's object store, so a remote cluster
needs stores it can reach (PostgreSQL and S3, not a local SQLite file and folder).
Retries are Ladder's (``max_retries=0`` for Ray) so that every attempt is a
recorded step run on either executor.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from ladder.config import Settings
from ladder.errors import ExecutorError
from ladder.pipelines.executors import Executor, WorkerLost
from ladder.pipelines.task import (
    OnFinished,
    PackedTask,
    StepOutcome,
    StepTask,
    pack_task,
    run_packed,
)


def _run_on_ray(packed: PackedTask) -> StepOutcome:
    return run_packed(packed)


def shares_stores(settings: Settings) -> bool:
    """True when both stores are network services a remote machine could reach."""
    local_artifacts = "://" not in settings.artifact_uri or settings.artifact_uri.startswith(
        ("file://", "local://")
    )
    return not settings.store_uri.startswith("sqlite") and not local_artifacts


class RayExecutor(Executor):
    """Runs each step attempt as a Ray task (``num_cpus`` each)."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        max_workers: int | None = None,
        num_cpus: float = 1.0,
        init_kwargs: dict[str, Any] | None = None,
        shared_filesystem: bool = False,
    ) -> None:
        if address is not None and not isinstance(address, str):
            raise ExecutorError(
                f"ray address: expected a string such as 'ray://host:10001', got {address!r}"
            )
        self.address = address
        self.max_workers = max_workers
        self.num_cpus = num_cpus
        self.init_kwargs = dict(init_kwargs or {})
        self.shared_filesystem = shared_filesystem
        self._refs: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self._remote: Any = None

    def describe(self) -> str:
        return f"ray({self.address or 'local'})"

    def prepare(self, settings: Settings) -> None:
        if (
            self.address is not None
            and self.address.startswith("ray://")
            and not self.shared_filesystem
            and not shares_stores(settings)
        ):
            raise ExecutorError(
                f"ray address {self.address}: a remote Ray cluster cannot reach this project's "
                f"stores (metadata {settings.store_uri}, artifacts {settings.artifact_uri}); "
                f"expected a PostgreSQL store (LADDER_STORE_URI) and an object-store artifact URI "
                f"such as s3://bucket/prefix (LADDER_ARTIFACT_URI), or "
                f"RayExecutor(address, shared_filesystem=True) if the cluster shares this disk"
            )
        try:
            import ray
        except ImportError:
            raise ExecutorError(
                "executor 'ray': Ray is not installed; pip install 'ladder-mlops[ray]'"
            ) from None
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, **self.init_kwargs)
            except Exception as exc:
                raise ExecutorError(
                    f"executor 'ray': could not start or reach Ray at "
                    f"{self.address or 'a new local cluster'}: {type(exc).__name__}: {exc}"
                ) from None
        self._remote = ray.remote(max_retries=0, num_cpus=self.num_cpus)(_run_on_ray)

    def capacity(self) -> int:
        if self.max_workers is None:
            return 1 << 30
        with self._lock:
            return max(self.max_workers - len(self._refs), 0)

    def submit(
        self, task: StepTask, alone: bool, on_finished: OnFinished | None = None
    ) -> Future[StepOutcome]:
        # A Ray task ends its step run where it runs: the scheduler records the node itself.
        if self._remote is None:
            raise ExecutorError("executor 'ray': prepare() must run before submit()")
        ref = self._remote.remote(pack_task(task))
        result: Future[StepOutcome] = Future()
        with self._lock:
            self._refs[ref] = result
        ref.future().add_done_callback(lambda done: self._settle(ref, done))
        return result

    def _settle(self, ref: Any, done: Future[Any]) -> None:
        with self._lock:
            result = self._refs.pop(ref, None)
        if result is None:
            return
        error = done.exception()
        if error is None:
            result.set_result(done.result())
            return
        result.set_exception(
            WorkerLost(f"Ray task failed outside the step: {type(error).__name__}: {error}")
        )

    def cancel_all(self) -> None:
        import ray

        with self._lock:
            refs = list(self._refs)
        for ref in refs:
            try:
                ray.cancel(ref, force=True)
            except Exception:
                continue
