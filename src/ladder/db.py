"""The metadata store: SQLAlchemy engine, declarative ``Base``, migrations and transactions.

SQLite (the embedded default) runs in WAL mode with a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on the
busy handler instead of failing on a stale snapshot, and a write that still
meets a lock is retried with backoff. PostgreSQL runs through psycopg 3.
Migrations (Alembic) run on first use under a lock (a file lock for SQLite, an
advisory lock for PostgreSQL) so that many processes opening a new store at the
same moment migrate it exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session

from ladder.errors import StoreError
from ladder.migrations import HEADS

T = TypeVar("T")

_SQLITE_BUSY_MS = 60_000
_WRITE_RETRIES = 30
_ADVISORY_LOCK_KEY = 0x1ADDE2  # pg_advisory_lock key reserved for Ladder migrations


class Base(DeclarativeBase):
    """Declarative base of every slice's tables."""


@dataclass
class Store:
    """An open metadata store: one engine and the way to run transactions on it."""

    uri: str
    engine: Engine
    migrated_here: bool = False  # True when opening this store applied migrations
    _statistics_checked: dict[tuple[str, ...], float] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (a deferred transaction, rolled back at the end)."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session  # closing the session ends the transaction, keeping loaded objects

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work(session)`` in one write transaction and commit it, retrying on lock.

        ``work`` must be safe to run again: a retry starts from a fresh session.
        """
        delay = 0.01
        for attempt in range(_WRITE_RETRIES):
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(ladder_write=True)
                    with Session(bind=conn, expire_on_commit=False) as session:
                        result = work(session)
                        session.commit()
                        return result
            except (OperationalError, DBAPIError) as exc:
                if not _is_transient(exc) or attempt == _WRITE_RETRIES - 1:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        self.engine.dispose()

    def refresh_statistics(self, tables: tuple[str, ...]) -> list[str]:
        """On PostgreSQL, ``ANALYZE`` those of ``tables`` changed much since their last analysis.

        The planner needs table statistics to pick index-driven plans (a search over
        100,000 runs: 13 ms with them, 0.5–2 s without). Autovacuum keeps them fresh
        on a default server, but not right after a bulk load, nor with autovacuum off.
        Checked at most once a minute per store and table set; returns what it analysed.
        """
        if self.engine.dialect.name != "postgresql":
            return []
        now = time.monotonic()
        if now - self._statistics_checked.get(tables, -_STATISTICS_CHECK_SECONDS) < (
            _STATISTICS_CHECK_SECONDS
        ):
            return []
        self._statistics_checked[tables] = now
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT relname, n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
                    "WHERE schemaname = current_schema() AND relname = ANY(:tables)"
                ),
                {"tables": list(tables)},
            ).all()
            stale = [
                name
                for name, live, modified in rows
                if modified > max(_STATISTICS_MIN_CHANGES, _STATISTICS_SHARE * live)
            ]
            if stale:
                conn.execute(text("ANALYZE " + ", ".join(f'"{name}"' for name in stale)))
        return stale


_STATISTICS_CHECK_SECONDS = 60.0
_STATISTICS_MIN_CHANGES = 1000  # rows inserted, updated or deleted since the last analysis
_STATISTICS_SHARE = 0.2  # ... and more than this share of the table's rows


def _is_transient(exc: DBAPIError) -> bool:
    message = str(exc.orig if exc.orig is not None else exc).lower()
    return any(
        marker in message
        for marker in ("database is locked", "database table is locked", "busy", "deadlock")
    ) or getattr(getattr(exc.orig, "sqlstate", None), "startswith", lambda _: False)("40")


def upsert(session: Session, model: Any) -> Any:
    """An INSERT for ``model`` in the session's dialect, with ``on_conflict_do_update/nothing``.

    SQLite and PostgreSQL spell upserts the same way in SQLAlchemy, through their
    own dialect's ``insert``; this picks the right one.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


_stores: dict[tuple[int, str], Store] = {}
_stores_lock = threading.Lock()


def open_store(uri: str) -> Store:
    """Return the (per-process cached) store at ``uri``, migrating it to head first."""
    key = (os.getpid(), uri)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = Store(uri=uri, engine=_create_engine(uri))
            store.migrated_here = migrate(store)
            _stores[key] = store
        return store


def forget_stores() -> None:
    """Drop cached stores (tests and forked workers use this)."""
    with _stores_lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()


def _create_engine(uri: str) -> Engine:
    if uri.startswith("sqlite"):
        return _create_sqlite_engine(uri)
    if uri.startswith("postgresql"):
        if uri.startswith("postgresql://"):
            uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
        return create_engine(uri, pool_pre_ping=True, pool_size=4, max_overflow=8)
    raise StoreError(
        f"store URI {uri!r}: expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def _create_sqlite_engine(uri: str) -> Engine:
    path = uri.split("///", 1)[1] if "///" in uri else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Pooled connections: opening one and setting its PRAGMAs costs more than a small write.
    engine = create_engine(
        uri,
        pool_size=4,
        max_overflow=16,
        connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("ladder_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def current_revisions(store: Store) -> frozenset[str]:
    """The Alembic revisions (one per slice branch) the store is at; empty for a new store."""
    with store.engine.connect() as conn:
        return _revisions(conn)


def _revisions(conn: Connection) -> frozenset[str]:
    try:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except (OperationalError, DBAPIError):
        conn.rollback()
        return frozenset()
    if conn.in_transaction():
        conn.rollback()
    return frozenset(row[0] for row in rows)


def migrate(store: Store, revision: str = "heads") -> bool:
    """Bring the store's schema to ``revision`` (default: every head), once across processes.

    Returns True when this call applied migrations, False when the store was current.
    """
    if revision == "heads" and current_revisions(store) == HEADS:
        return False
    with _migration_lock(store) as conn:
        if revision == "heads" and _revisions(conn) == HEADS:
            return False  # another process migrated while this one waited for the lock
        from alembic import command

        config = _alembic_config(conn)
        command.upgrade(config, revision)
        if conn.in_transaction():
            conn.commit()
        return True


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = conn
    return config


@contextlib.contextmanager
def _migration_lock(store: Store) -> Iterator[Connection]:
    if store.is_sqlite:
        db_path = store.uri.split("///", 1)[1] if "///" in store.uri else ""
        if not db_path or db_path == ":memory:":
            with store.engine.connect() as conn:
                yield conn
            return
        lock_path = Path(db_path + ".migrate.lock")
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with store.engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    with store.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            yield conn
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            conn.commit()
