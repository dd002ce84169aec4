"""The stat cache: (path, size, mtime, inode) → digest, so unchanged files are not hashed again.

It lives in a small SQLite file beside the metadata (``.ladder/stat_cache.db``)
because it describes files on *this* machine, whatever store the project uses.
An entry is trusted only when the file's size, mtime (ns) and inode are
unchanged **and** the file had not been modified shortly before it was hashed:
file systems stamp mtimes from a coarse clock, so a file written within one
clock tick of being hashed could change again without its mtime moving (git's
"racy clean" problem). Such entries are re-hashed next time, then trusted.
Losing the cache only costs time: every fact in it can be recomputed.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ladder.artifacts import FileStat

CACHE_FILE = "stat_cache.db"
_FINE_MARGIN_NS = 100_000_000  # mtimes with sub-second precision: trust after 100 ms
_COARSE_MARGIN_NS = 2_000_000_000  # whole-second (or FAT's 2 s) mtimes: trust after 2 s


def settled(mtime_ns: int, seen_at_ns: int) -> bool:
    """True when a file last modified at ``mtime_ns`` could not change again unseen after it
    was read at ``seen_at_ns``: its mtime is older than the clock's granularity allows."""
    margin = _COARSE_MARGIN_NS if mtime_ns % 1_000_000_000 == 0 else _FINE_MARGIN_NS
    return mtime_ns <= seen_at_ns - margin


class FileState(NamedTuple):
    """The stat fields that identify one content of a file (a tuple: cheap at 100,000 files)."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, stat: FileStat) -> FileState:
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)


class CachedDigest(NamedTuple):
    """What the cache knows of a file: the stat it was hashed with, the digest, and when."""

    size: int
    mtime_ns: int
    inode: int
    digest: str
    hashed_at_ns: int

    @classmethod
    def of(cls, state: FileState, digest: str, hashed_at_ns: int) -> CachedDigest:
        return cls(state.size, state.mtime_ns, state.inode, digest, hashed_at_ns)

    @property
    def state(self) -> FileState:
        return FileState(self.size, self.mtime_ns, self.inode)

    def valid_for(self, state: FileState) -> bool:
        """True when ``state`` is the one hashed and the hash was not taken racily."""
        return self.matches(state.size, state.mtime_ns, state.inode)

    def matches(self, size: int, mtime_ns: int, inode: int) -> bool:
        """``valid_for`` without building a ``FileState`` (the hot loop of a re-add)."""
        if size != self.size or mtime_ns != self.mtime_ns or inode != self.inode:
            return False
        return settled(mtime_ns, self.hashed_at_ns)


class FolderRecord(NamedTuple):
    """What the last add of a folder found: its listing, read options and version id.

    ``listing`` digests every file's relative path, size, mtime and inode: equal
    listings mean the files the stat cache would vouch for one by one, so the
    version id can be reused without looking at each file's entry.
    """

    listing: str
    options: str  # how its tables are read (encoding, delimiter, column types), as JSON
    version_id: str
    recorded_ns: int  # when the files were listed for that add
    newest_mtime_ns: int

    def vouches_for(self, listing: str, options: str) -> bool:
        """True for the same listing and options, unless a file was written just before
        the add that recorded it (the racy case ``CachedDigest.matches`` guards too)."""
        if listing != self.listing or options != self.options:
            return False
        return settled(self.newest_mtime_ns, self.recorded_ns)


class StatCache:
    """Digests of local files keyed by absolute path, validated by their stat."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(50):
            try:
                with self._connect() as conn:
                    # WAL persists in the file: set once here, not on every connection, since
                    # changing the journal mode needs a lock that busy waiting does not cover.
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS files ("
                        " path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                        " inode INTEGER NOT NULL, digest TEXT NOT NULL,"
                        " hashed_at_ns INTEGER NOT NULL) WITHOUT ROWID"
                    )
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS folders ("
                        " root TEXT PRIMARY KEY, listing TEXT NOT NULL, options TEXT NOT NULL,"
                        " version_id TEXT NOT NULL, recorded_ns INTEGER NOT NULL,"
                        " newest_mtime_ns INTEGER NOT NULL) WITHOUT ROWID"
                    )
                return
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                time.sleep(0.02 * (1 + attempt % 5))

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        finally:
            conn.close()

    def lookup(self, path: str) -> CachedDigest | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT size, mtime_ns, inode, digest, hashed_at_ns FROM files WHERE path = ?",
                (path,),
            ).fetchone()
        return CachedDigest(*row) if row else None

    def lookup_tree(self, root: str) -> dict[str, CachedDigest]:
        """Every entry under the folder ``root`` (absolute), keyed by path relative to it."""
        prefix = root.rstrip("/") + "/"
        # '/' + 1 == '0': the range [prefix, prefix-with-'0') holds exactly the paths under root.
        upper = prefix[:-1] + "0"
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT substr(path, ?), size, mtime_ns, inode, digest, hashed_at_ns FROM files"
                " WHERE path >= ? AND path < ?",
                (len(prefix) + 1, prefix, upper),
            ).fetchall()
        return {
            relative: CachedDigest(size, mtime, inode, digest, hashed)
            for relative, size, mtime, inode, digest, hashed in rows
        }

    def folder(self, root: str) -> FolderRecord | None:
        """The record of the last add of the folder ``root`` (absolute), if any."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT listing, options, version_id, recorded_ns, newest_mtime_ns FROM folders"
                " WHERE root = ?",
                (root,),
            ).fetchone()
        return FolderRecord(*row) if row else None

    def record_folder(self, root: str, record: FolderRecord) -> None:
        """Remember what an add of ``root`` found; a locked or read-only cache is skipped."""
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?, ?)", (root, *record)
                )
        except sqlite3.OperationalError:
            return

    def record(self, entries: Iterable[tuple[str, CachedDigest]]) -> None:
        """Remember (absolute path, digest) facts; a locked or read-only cache is skipped."""
        rows = [(path, *entry) for path, entry in entries]
        if not rows:
            return
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
        except sqlite3.OperationalError:
            # The cache is an optimisation: failing to update it must not fail the add.
            return


def open_stat_cache(state_dir: Path) -> StatCache:
    return StatCache(state_dir / CACHE_FILE)
