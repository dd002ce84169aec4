"""The run this process works for when another process opened it: a pipeline's worker.

A worker process computes a step whose step run the orchestrating process
opened and will end. The worker names that run here while the step's code
runs; if that code reaches for tracking (``ladder.log_metric``,
``ladder.active_run()``, a nested ``ladder.start_run()``), tracking adopts it
as the active run. A step that never does so imports no database layer and
writes nothing.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ladder.config import Settings


@dataclass(frozen=True)
class ForeignRun:
    """A run opened (and to be ended) by another process, on the stores ``settings`` name."""

    run_id: str
    settings: Settings


_lock = threading.Lock()
_current: ForeignRun | None = None
_on_leave: list[Callable[[], None]] = []


def foreign_run() -> ForeignRun | None:
    """The run named by the innermost ``working_for`` block, if any."""
    return _current


def on_leave(callback: Callable[[], None]) -> None:
    """Call ``callback`` when the current ``working_for`` block ends (tracking flushes there)."""
    with _lock:
        _on_leave.append(callback)


@contextlib.contextmanager
def working_for(run_id: str, settings: Settings) -> Iterator[None]:
    """Inside the block, code that asks for the active run gets ``run_id``, opened elsewhere."""
    global _current
    with _lock:
        _current = ForeignRun(run_id, settings)
    try:
        yield
    finally:
        with _lock:
            _current = None
            callbacks = list(_on_leave)
            _on_leave.clear()
        for callback in callbacks:
            callback()
