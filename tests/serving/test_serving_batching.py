"""Micro-batching: concurrent requests coalesce into one call and each gets its own results."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from ladder.serving.batching import BatchLimits, MicroBatcher


class Recorder:
    """A batch function that doubles numbers, records each call's items, and fails on 'bad'."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[object]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, items: Sequence[object]) -> list[object]:
        with self.lock:
            self.calls.append(list(items))
        time.sleep(self.delay)
        return [ValueError("bad item") if item == "bad" else item * 2 for item in items]  # type: ignore[operator]


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_concurrent_requests_are_coalesced_and_answered_in_order() -> None:
    recorder = Recorder(delay=0.02)

    async def main() -> list[object]:
        with ThreadPoolExecutor(2) as pool:
            batcher = MicroBatcher(recorder, pool, BatchLimits(max_batch_rows=64))
            return await asyncio.gather(*(batcher.submit(i) for i in range(40)))

    assert run(main()) == [i * 2 for i in range(40)]
    # The first request goes alone; the rest arrive while it is predicted and share one call.
    assert len(recorder.calls) <= 3
    assert sorted(x for call in recorder.calls for x in call) == list(range(40))  # type: ignore[type-var]


def test_a_batch_never_exceeds_max_rows_and_never_splits_a_request() -> None:
    recorder = Recorder(delay=0.01)

    async def main() -> list[object]:
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(recorder, pool, BatchLimits(max_batch_rows=10))
            return await asyncio.gather(*(batcher.submit(i, rows=4) for i in range(12)))

    assert run(main()) == [i * 2 for i in range(12)]
    assert all(len(call) * 4 <= 10 for call in recorder.calls)  # 2 requests of 4 rows at most


def test_max_wait_gathers_requests_that_arrive_slightly_apart() -> None:
    recorder = Recorder()

    async def main() -> None:
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(recorder, pool, BatchLimits(max_batch_rows=64, max_wait_ms=50))

            async def late(i: int) -> object:
                await asyncio.sleep(0.005 * i)
                return await batcher.submit(i)

            assert await asyncio.gather(*(late(i) for i in range(5))) == [0, 2, 4, 6, 8]

    run(main())
    assert [len(call) for call in recorder.calls] == [5]


def test_one_failing_item_fails_only_its_caller() -> None:
    recorder = Recorder(delay=0.01)

    async def main() -> list[object]:
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(recorder, pool)
            return await asyncio.gather(
                *(batcher.submit(x) for x in (1, "bad", 3)), return_exceptions=True
            )

    first, second, third = run(main())  # type: ignore[misc]
    assert (first, third) == (2, 6)
    assert isinstance(second, ValueError)


def test_a_batch_function_that_raises_fails_every_caller_of_that_batch_only() -> None:
    calls = []

    def explode(items: Sequence[object]) -> list[object]:
        calls.append(items)
        if len(calls) == 1:
            raise RuntimeError("model crashed")
        return list(items)

    async def main() -> tuple[object, object]:
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(explode, pool)
            failed = await asyncio.gather(batcher.submit(1), return_exceptions=True)
            return failed[0], await batcher.submit(2)

    failed, later = run(main())  # type: ignore[misc]
    assert isinstance(failed, RuntimeError) and later == 2


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch_rows"):
        BatchLimits(max_batch_rows=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        BatchLimits(max_wait_ms=-1)
