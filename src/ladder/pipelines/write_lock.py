"""One writer at a time on a SQLite store, among a pipeline run's processes, queued on a file lock.

SQLite admits one writer at a time and makes the others poll with growing
sleeps (1 ms, 2 ms, 5 ms … up to 100 ms). Parallel steps each write a handful
of small transactions (their step run, links, artifacts), so left to SQLite
they spend most of their time asleep, and a 2-worker run is slower than a
sequential one. Taking an exclusive ``flock`` around each burst of bookkeeping
hands the database to the next process the moment it is free. PostgreSQL
needs none of this.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from typing import IO

from ladder.workspace import Workspace

_guard = threading.RLock()
_depth = 0
_handle: IO[bytes] | None = None
_handle_path: str | None = None


def _lock_path(ws: Workspace) -> str | None:
    uri = ws.store.uri
    if not ws.store.is_sqlite or "///" not in uri:
        return None
    path = uri.split("///", 1)[1].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return f"{path}.pipeline-writes.lock"


@contextlib.contextmanager
def serialized_writes(ws: Workspace) -> Iterator[None]:
    """Hold the store's write lock (re-entrant within this process; a no-op off SQLite)."""
    global _depth, _handle, _handle_path
    path = _lock_path(ws)
    if path is None:
        yield
        return
    with _guard:
        if _depth == 0:
            if _handle is None or _handle_path != path:
                if _handle is not None:
                    _handle.close()
                _handle = open(path, "ab")  # noqa: SIM115 - kept open across uses
                _handle_path = path
            fcntl.flock(_handle.fileno(), fcntl.LOCK_EX)
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
            if _depth == 0 and _handle is not None:
                fcntl.flock(_handle.fileno(), fcntl.LOCK_UN)


def forget_lock() -> None:
    """Drop the lock file handle (a forked child must not share its parent's)."""
    global _handle, _handle_path, _depth
    with _guard:
        if _handle is not None:
            with contextlib.suppress(OSError):
                _handle.close()
        _handle, _handle_path, _depth = None, None, 0


os.register_at_fork(after_in_child=forget_lock)
