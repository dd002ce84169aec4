"""Micro-batching: concurrent requests for one model become one ``predict`` call.

Requests queue on the event loop. One drain task per batcher takes up to
``max_batch_rows`` rows at a time (never splitting a request), optionally waits
up to ``max_wait_ms`` for more to arrive, and runs the batch on a worker thread
so the event loop keeps reading requests meanwhile; a model whose batches
take well under a millisecond runs on the event loop itself, because the
hand-over to a thread and back would cost more than the prediction. Requests that arrive while
a batch is being predicted form the next batch, so the batch size follows the
load on its own; each caller gets its own slice of the results, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class BatchLimits:
    """How big a batch may grow and how long the first request may wait for company."""

    max_batch_rows: int = 1024
    max_wait_ms: float = 0.0
    inline_below_ms: float = 5.0  # batches faster than this (on average) skip the thread hop
    # Batches of one model predicted at once on threads: libraries that release the GIL
    # (scikit-learn's trees, NumPy, XGBoost, ONNX Runtime) then use more than one core.
    max_concurrent_batches: int = 2

    def __post_init__(self) -> None:
        if self.max_batch_rows < 1:
            raise ValueError(f"max_batch_rows: expected >= 1, given {self.max_batch_rows}")
        if self.max_concurrent_batches < 1:
            raise ValueError(
                f"max_concurrent_batches: expected >= 1, given {self.max_concurrent_batches}"
            )
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms: expected >= 0, given {self.max_wait_ms}")


class MicroBatcher(Generic[Item, Result]):
    """Coalesces ``submit``ted items into calls of ``run_batch(items) -> results``.

    ``run_batch`` runs on ``executor`` and returns one result (or exception) per
    item; an exception it raises itself fails every item of that batch.
    """

    def __init__(
        self,
        run_batch: Callable[[Sequence[Item]], Sequence[Result | BaseException]],
        executor: Executor,
        limits: BatchLimits | None = None,
    ) -> None:
        self._run_batch = run_batch
        self._executor = executor
        self.limits = limits or BatchLimits()
        self._queue: deque[tuple[Item, int, asyncio.Future[Result]]] = deque()
        self._queued_rows = 0
        self._drainer: asyncio.Task[None] | None = None
        self._average_ms: float | None = None  # moving average of batch run time

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    async def submit(self, item: Item, rows: int = 1) -> Result:
        """Queue ``item`` (``rows`` rows) and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        self._queue.append((item, rows, future))
        self._queued_rows += rows
        if self._drainer is None:
            self._drainer = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            while self._queue or running:
                if not self._queue or len(running) >= self.limits.max_concurrent_batches:
                    # Wait for a batch in flight; requests arriving meanwhile form the next one.
                    _, pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    running = set(pending)
                    continue
                if self.limits.max_wait_ms > 0 and self._queued_rows < self.limits.max_batch_rows:
                    await asyncio.sleep(self.limits.max_wait_ms / 1000)
                batch = self._take()
                if not batch:
                    continue
                average = self._average_ms
                if average is not None and average < self.limits.inline_below_ms:
                    self._answer(batch, self._run_or_fail([item for item, _, _ in batch]))
                else:
                    running.add(asyncio.create_task(self._run_in_thread(batch)))
        finally:
            self._drainer = None

    async def _run_in_thread(self, batch: list[tuple[Item, int, asyncio.Future[Result]]]) -> None:
        loop = asyncio.get_running_loop()
        items = [item for item, _, _ in batch]
        results = await loop.run_in_executor(self._executor, self._run_or_fail, items)
        self._answer(batch, results)

    def _run_or_fail(self, items: list[Item]) -> Sequence[Result | BaseException]:
        try:
            return self._timed(items)
        except Exception as exc:  # the whole batch failed: every caller hears it
            return [exc] * len(items)

    @staticmethod
    def _answer(
        batch: list[tuple[Item, int, asyncio.Future[Result]]],
        results: Sequence[Result | BaseException],
    ) -> None:
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away (client disconnected)
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _timed(self, items: list[Item]) -> Sequence[Result | BaseException]:
        """Run a batch, keeping a moving average of how long batches take (thread hops excluded)."""
        started = time.perf_counter()
        try:
            return self._run_batch(items)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            average = self._average_ms
            self._average_ms = elapsed if average is None else 0.8 * average + 0.2 * elapsed

    def _take(self) -> list[tuple[Item, int, asyncio.Future[Result]]]:
        """Up to ``max_batch_rows`` rows of queued requests (at least one request)."""
        batch: list[tuple[Item, int, asyncio.Future[Result]]] = []
        rows = 0
        while self._queue:
            item, count, future = self._queue[0]
            if batch and rows + count > self.limits.max_batch_rows:
                break
            self._queue.popleft()
            self._queued_rows -= count
            if future.done():  # cancelled while queued: do not predict for no one
                continue
            batch.append((item, count, future))
            rows += count
        return batch
