"""One autopilot at a time per store: a file lock on SQLite, an advisory lock on PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from ladder.workspace import Workspace

_AUTOPILOT_LOCK_KEY = 0x1ADDE3
# Keyed by schema too, so that stores in different schemas of one database don't exclude each other.
_TRY = text("SELECT pg_try_advisory_lock(:k, hashtext(current_schema()))")
_UNLOCK = text("SELECT pg_advisory_unlock(:k, hashtext(current_schema()))")


@contextlib.contextmanager
def autopilot_lock(ws: Workspace) -> Iterator[bool]:
    """Try to become the store's autopilot; yields False (and holds nothing) if another is."""
    if ws.store.is_sqlite:
        path = Path(ws.settings.state_dir) / "autopilot.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            os.close(handle)
        return
    with ws.store.engine.connect() as conn:
        held = bool(conn.execute(_TRY, {"k": _AUTOPILOT_LOCK_KEY}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(_UNLOCK, {"k": _AUTOPILOT_LOCK_KEY})
                conn.commit()
