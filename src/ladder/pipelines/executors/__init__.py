"""Executors run step attempts: ``local`` (in-process and a worker process pool) and ``ray``.

The scheduler decides what runs when; an executor only starts attempts and
reports how they ended through a ``concurrent.futures.Future``. A future that
raises ``WorkerLost`` means the process running the attempt died.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future

from ladder.config import Settings
from ladder.errors import ExecutorError
from ladder.pipelines.task import OnFinished, StepOutcome, StepTask


class WorkerLost(Exception):
    """The process (or Ray worker) running an attempt died before reporting its outcome."""


class Executor(ABC):
    """Starts step attempts somewhere and reports their outcomes."""

    name: str

    def prepare(self, settings: Settings) -> None:  # noqa: B027 - optional hook
        """Check (before the pipeline run starts) that this executor can reach the stores."""

    def warm_up(self, parallelism: int) -> None:  # noqa: B027 - optional hook
        """Start, in the background, what running ``parallelism`` steps at once will need."""

    def in_process(self, alone: bool) -> bool:
        """Whether ``submit(task, alone)`` runs the step in this process (returning when done)."""
        return False

    @abstractmethod
    def submit(
        self, task: StepTask, alone: bool, on_finished: OnFinished | None = None
    ) -> Future[StepOutcome]:
        """Start one attempt. ``alone``: nothing else is ready or running.

        ``on_finished``: the node's record, which an executor that ends step runs in
        this process writes with the run's end (and marks the outcome ``recorded``).
        """

    @abstractmethod
    def capacity(self) -> int:
        """How many more attempts may start now."""

    @abstractmethod
    def cancel_all(self) -> None:
        """Stop every running attempt (their processes are ended)."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release what ``submit`` started (worker processes)."""

    @abstractmethod
    def describe(self) -> str:
        """A short description for the pipeline run record, e.g. ``local(max_workers=4)``."""


def resolve_executor(spec: str | Executor, max_workers: int | None = None) -> Executor:
    """``"local"``, ``"ray"``, ``"ray://host:10001"`` or an ``Executor`` instance."""
    if isinstance(spec, Executor):
        return spec
    if max_workers is not None and (
        not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
    ):
        raise ExecutorError(f"max_workers: expected an integer >= 1, got {max_workers!r}")
    if spec == "local":
        from ladder.pipelines.executors.local import LocalExecutor

        return LocalExecutor(max_workers=max_workers)
    if isinstance(spec, str) and (spec == "ray" or spec.startswith("ray://")):
        from ladder.pipelines.executors.ray import RayExecutor

        return RayExecutor(address=None if spec == "ray" else spec, max_workers=max_workers)
    raise ExecutorError(
        f"executor: expected 'local', 'ray', a 'ray://host:port' address or an Executor, "
        f"got {spec!r}"
    )


__all__ = ["Executor", "WorkerLost", "resolve_executor"]
