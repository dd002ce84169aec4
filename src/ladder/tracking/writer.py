"""The buffered metric writer and run heartbeats: one background thread per process.

``log_metric`` appends to an in-memory buffer (microseconds); the thread writes
the buffer in one transaction every ``FLUSH_SECONDS`` or as soon as it holds
``FLUSH_POINTS`` points, and ``flush()`` writes it synchronously (run end, exit,
exceptions). The same thread touches the heartbeat of every live run of this
process so that a run whose process died shows as crashed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from ladder.db import Store
from ladder.tracking.models import RunRow

log = logging.getLogger("ladder.tracking")

FLUSH_SECONDS = float(os.environ.get("LADDER_FLUSH_SECONDS", "1.0"))
FLUSH_POINTS = 20_000


def heartbeat_seconds() -> float:
    return float(os.environ.get("LADDER_HEARTBEAT_SECONDS", "10"))


@dataclass(slots=True)  # not frozen: frozen dataclasses cost a third more to build
class Point:
    run_id: str
    key: str
    value: float
    step: int
    timestamp: int


def write_points(session: Session, points: list[Point]) -> None:
    """Insert points and move each (run, key)'s latest value forward, in the caller's session."""
    if not points:
        return
    rows = [
        (p.run_id, p.key, p.step, p.timestamp, None if p.value != p.value else p.value)
        for p in points
    ]
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # COPY is the bulk path of PostgreSQL: an order of magnitude above INSERT batches.
        raw: Any = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY metrics (run_id, key, step, timestamp, value) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        connection.exec_driver_sql(
            "INSERT INTO metrics (run_id, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    latest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for row in rows:
        current = latest.get((row[0], row[1]))
        if current is None or (row[2], row[3]) >= (current[2], current[3]):
            latest[(row[0], row[1])] = row
    # One single-row statement run over every row: compiled once, unlike a multi-row VALUES.
    marker = "%s" if dialect == "postgresql" else "?"
    connection.exec_driver_sql(_LATEST_UPSERT.replace("?", marker), list(latest.values()))


_LATEST_UPSERT = """
INSERT INTO latest_metrics (run_id, key, step, timestamp, value) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (run_id, key) DO UPDATE
SET step = excluded.step, timestamp = excluded.timestamp, value = excluded.value
WHERE excluded.step > latest_metrics.step
   OR (excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp)
"""


class MetricWriter:
    """Buffers metric points for every run of this process that writes to one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._points: list[Point] = []
        self._lock = threading.Lock()
        # Re-entrant: a SIGTERM handler may end a run while this thread is mid-flush.
        self._flush_lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._live_runs: set[str] = set()
        self._last_beat = 0.0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="ladder-writer", daemon=True)
        self._thread.start()

    def add(self, point: Point) -> None:
        with self._lock:
            self._points.append(point)
            full = len(self._points) >= FLUSH_POINTS
        if full:
            self._wake.set()

    def add_many(self, points: list[Point]) -> None:
        with self._lock:
            self._points.extend(points)
            full = len(self._points) >= FLUSH_POINTS
        if full:
            self._wake.set()

    def track(self, run_id: str) -> None:
        with self._lock:
            self._live_runs.add(run_id)

    def untrack(self, run_id: str) -> None:
        with self._lock:
            self._live_runs.discard(run_id)

    def flush(self, then: Callable[[Session], Any] | None = None) -> None:
        """Write every buffered point now, and run ``then`` in the same transaction.

        Raises if the store refuses them (the points stay buffered).
        """
        with self._flush_lock:
            with self._lock:
                points, self._points = self._points, []
            if not points and then is None:
                return

            def work(session: Session) -> None:
                write_points(session, points)
                if then is not None:
                    then(session)

            try:
                self.store.write(work)
            except BaseException:
                with self._lock:
                    self._points[:0] = points
                raise

    def beat(self) -> None:
        with self._lock:
            run_ids = list(self._live_runs)
        if not run_ids:
            return
        now = int(time.time() * 1000)
        self.store.write(
            lambda session: session.execute(
                update(RunRow)
                .where(RunRow.id.in_(run_ids), RunRow.status == "running")
                .values(heartbeat=now)
            )
        )

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            try:
                self.flush()
                if time.monotonic() - self._last_beat >= heartbeat_seconds():
                    self._last_beat = time.monotonic()
                    self.beat()
            except Exception as exc:  # keep buffering; the next flush retries
                log.warning("ladder: could not write metrics yet (%s); will retry", exc)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()


_writers: dict[tuple[int, str], MetricWriter] = {}
_writers_lock = threading.Lock()


def writer_for(store: Store) -> MetricWriter:
    """The process's writer for ``store`` (a new one after ``fork``)."""
    key = (os.getpid(), store.uri)
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = MetricWriter(store)
        return writer


def flush_all() -> None:
    pid = os.getpid()
    for (owner, _), writer in list(_writers.items()):
        if owner == pid:
            writer.flush()
