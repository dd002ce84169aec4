"""The buffered metric writer and run heartbeats: one background thread per process.

``log_metric`` appends to an in-memory buffer (microseconds); the thread writes
the buffer in one transaction every ``FLUSH_SECONDS`` or as soon as it holds
``FLUSH_POINTS`` points, and ``flush()`` writes it synchronously (run end, exit,
exceptions). The same thread touches the heartbeat of every live run of this
process so that a run whose process died shows as crashed.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, update
from sqlalchemy.orm import Session

from ladder.db import Store
from ladder.tracking.models import RunRow

log = logging.getLogger("ladder.tracking")

FLUSH_SECONDS = float(os.environ.get("LADDER_FLUSH_SECONDS", "1.0"))
FLUSH_POINTS = 20_000

# One buffered metric point, in the column order of ``metrics``:
# (run_id, key, step, timestamp_ms, value), the value None for NaN (SQLite cannot store NaN).
# Plain tuples: they go to the driver as they are, with no per-point object to build or unpack.
PointRow = tuple[str, str, int, int, float | None]

_POINT_COLUMNS = ("run_id", "key", "step", "timestamp", "value")
_by_step_and_time = itemgetter(2, 3)
_by_run_and_key = itemgetter(0, 1)


def heartbeat_seconds() -> float:
    return float(os.environ.get("LADDER_HEARTBEAT_SECONDS", "10"))


def driver_sql(connection: Connection, sql: str) -> str:
    """``sql`` written with ``?`` markers, in the paramstyle of ``connection``'s driver."""
    return _in_paramstyle(connection.dialect.paramstyle, sql)


@functools.cache
def _in_paramstyle(paramstyle: str, sql: str) -> str:
    return sql if paramstyle == "qmark" else sql.replace("?", "%s")


def insert_rows(
    connection: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    on_conflict: str = "",
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) with one driver-level executemany.

    The statement text is built once per table and dialect, and skips SQLAlchemy's
    statement compilation and parameter processing: the hot paths of run creation
    and metric flushes. Returns the number of rows the database reports inserted.
    """
    sql = _insert_sql(connection.dialect.paramstyle, table, tuple(columns), on_conflict)
    many = rows if isinstance(rows, list) else list(rows)  # a list is what means executemany
    return int(connection.exec_driver_sql(sql, many).rowcount)


@functools.cache
def _insert_sql(paramstyle: str, table: str, columns: tuple[str, ...], on_conflict: str) -> str:
    names = ", ".join(f'"{name}"' for name in columns)
    markers = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({names}) VALUES ({markers}) {on_conflict}".rstrip()
    return _in_paramstyle(paramstyle, sql)


def write_points(session: Session, points: list[PointRow]) -> None:
    """Insert points and move each (run, key)'s latest value forward, in the caller's session."""
    if not points:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY is the bulk path of PostgreSQL: an order of magnitude above INSERT batches.
        raw: Any = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY metrics (run_id, key, step, timestamp, value) FROM STDIN") as copy,
        ):
            for row in points:
                copy.write_row(row)
    else:
        insert_rows(connection, "metrics", _POINT_COLUMNS, points)
    # The latest point of each (run, key): highest step, then latest time, then last logged.
    # A stable sort on (step, time) puts it last among its key's points, and a dict keeps
    # the last row per key: both in C, and near-linear on the usual step-ordered buffer.
    ordered = sorted(points, key=_by_step_and_time)
    latest = dict(zip(map(_by_run_and_key, ordered), ordered, strict=True))
    # One single-row statement run over every row: compiled once, unlike a multi-row VALUES.
    connection.exec_driver_sql(driver_sql(connection, _LATEST_UPSERT), list(latest.values()))


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
        self._points: list[PointRow] = []
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

    def add(self, point: PointRow) -> None:
        with self._lock:
            self._points.append(point)
            full = len(self._points) >= FLUSH_POINTS
        if full and not self._wake.is_set():
            self._wake.set()

    def add_many(self, points: list[PointRow]) -> None:
        with self._lock:
            self._points.extend(points)
            full = len(self._points) >= FLUSH_POINTS
        if full and not self._wake.is_set():
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
