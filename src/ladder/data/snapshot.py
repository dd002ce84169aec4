"""Snapshotting a file or a folder: walk, hash (with the stat cache), then store what is new.

Only files whose stat changed since they were last hashed are read; only
contents the store lacks are copied. Small files are read once: the bytes just
hashed are written to a local store right away. Every file is checked to still
have the stat it had when it was listed, after hashing and before its object is
published, so a file written during an add makes the add fail
(``SourceChanged``) instead of recording a version that mixes two contents.
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NamedTuple, TypeVar, cast

from blake3 import blake3

from ladder.artifacts import FileStat
from ladder.artifacts.digest import format_digest, hash_bytes, hash_file_chunked
from ladder.artifacts.store import ArtifactStore, check_file_state
from ladder.data.gc_pause import gc_paused
from ladder.data.manifest import FileEntry, check_names_bulk, check_relative_path
from ladder.data.progress import ProgressReporter
from ladder.data.stat_cache import CachedDigest, FileState, StatCache
from ladder.errors import DatasetSourceError, EmptyDataset, UnsafePath

_native_listing: ModuleType | None
try:  # built by setup.py where a C compiler was found at install
    from ladder.data import _listing as _native_listing
except ImportError:  # pragma: no cover - depends on the install
    _native_listing = None

T = TypeVar("T")
SMALL_FILE = 1 << 20  # read whole; larger files are memory-mapped and hashed in chunks
# Small-file work is dominated by system calls, which release the GIL, but more threads
# than cores only contend for the same folder and inode locks (measured on 2 cores).
_WORKERS = min(4, max(2, os.cpu_count() or 2))


class ListedStat(NamedTuple):
    """The stat fields of a file listed in C: those that tell one content from another."""

    st_size: int
    st_mtime_ns: int
    st_ino: int


class SourceFile(NamedTuple):
    """A file found under the source, with the stat it had when it was listed.

    A tuple, like ``FileEntry``: a re-add of 100,000 unchanged files is mostly
    the cost of the per-file objects.
    """

    relative: str
    path: str
    stat: FileStat

    @property
    def state(self) -> FileState:
        return FileState.of(self.stat)


@dataclass(frozen=True)
class Snapshot:
    """The files of a source, hashed: manifest entries and the stats they were hashed with."""

    root: Path
    single_file: bool
    files: tuple[SourceFile, ...]
    entries: tuple[FileEntry, ...]
    hashed: int
    stored: frozenset[str] = frozenset()
    """Digests known to be in the store: the small files stored while they were hashed."""

    def check_unchanged(self) -> None:
        """Raise ``SourceChanged`` if any file no longer has the stat it was hashed with."""
        for source in self.files:
            check_file_state(Path(source.path), source.stat)


class FolderListing:
    """A folder's regular files as listed once: the listing's digest, and the files.

    ``digest`` covers every file's relative path, size, mtime and inode (see
    ``listing_digest``); ``newest_mtime_ns`` is the newest of the mtimes. A
    listing made in C (``ladder.data._listing``) builds its ``files`` only when
    they are asked for: an unchanged re-add needs the digest alone.
    """

    __slots__ = ("_files", "_native", "digest", "newest_mtime_ns", "root")

    def __init__(
        self,
        root: str,
        digest: str,
        newest_mtime_ns: int,
        files: list[SourceFile] | None = None,
        native: tuple[str, bytes, bytes, bytes] | None = None,
    ) -> None:
        self.root = root
        self.digest = digest
        self.newest_mtime_ns = newest_mtime_ns
        self._files = files
        self._native = native

    def __len__(self) -> int:
        if self._files is not None:
            return len(self._files)
        assert self._native is not None
        return len(self._native[1]) // 8  # 8 bytes per size

    @property
    def files(self) -> list[SourceFile]:
        """The files, sorted by relative path."""
        if self._files is None:
            assert self._native is not None
            self._files = _source_files(self.root, *self._native)
            self._native = None
        return self._files


def list_source_files(source: Path) -> tuple[bool, list[SourceFile]]:
    """Return (is a single file, its files sorted by relative path); checks existence and access."""
    stat = _source_stat(source)
    if source.is_dir():
        return False, list_folder(source).files
    if not source.is_file():
        raise DatasetSourceError(
            f"dataset source {source}: expected a regular file or a folder, got a special file"
        )
    if not os.access(source, os.R_OK):
        raise DatasetSourceError(f"dataset source {source}: permission denied (not readable)")
    if stat.st_size == 0:
        raise EmptyDataset(f"dataset source {source}: the file is empty (0 bytes)")
    name = check_relative_path(source.name)
    return True, [SourceFile(name, str(source.resolve()), stat)]


def list_folder(source: Path) -> FolderListing:
    """List the folder ``source``: in C where the extension is built, else (or for a folder
    with symlinks, special files or unsafe names, which get their errors there) in Python."""
    _source_stat(source)
    root = str(source)
    listed = _native_listing.scan(root) if _native_listing is not None else None
    if listed is not None:
        names, sizes, mtimes, inodes = listed
        try:
            text = names.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # bytes that are not UTF-8: the walk in Python names the file
        if text and not check_names_bulk((text.replace("\0", "/"),)):
            digest = _digest_listing(names, sizes, mtimes, inodes)
            newest = max(memoryview(mtimes).cast("q"))
            return FolderListing(root, digest, newest, native=(text, sizes, mtimes, inodes))
    files = _walk(source)
    if not files:
        raise EmptyDataset(f"dataset source {source}: the folder holds no files")
    digest, newest = listing_digest(files)
    return FolderListing(root, digest, newest, files=files)


def _source_stat(source: Path) -> os.stat_result:
    try:
        return source.stat()
    except FileNotFoundError:
        raise DatasetSourceError(f"dataset source {source}: no such file or directory") from None
    except PermissionError:
        raise DatasetSourceError(f"dataset source {source}: permission denied") from None


def _source_files(
    root: str, text: str, sizes: bytes, mtimes: bytes, inodes: bytes
) -> list[SourceFile]:
    """The ``SourceFile`` of each file of a listing made in C."""
    base = root if root.endswith(os.sep) else root + os.sep
    stats = zip(
        memoryview(sizes).cast("q"),
        memoryview(mtimes).cast("q"),
        memoryview(inodes).cast("Q"),
        strict=True,
    )
    with gc_paused():
        return [
            # tuple.__new__ skips the NamedTuples' Python-level __new__: 0.3 µs a file each.
            _new_tuple(SourceFile, (name, base + name, _new_tuple(ListedStat, stat)))
            for name, stat in zip(text.split("\0"), stats, strict=True)
        ]


_new_tuple = tuple.__new__


def _walk(root: Path) -> list[SourceFile]:
    base = os.path.realpath(root)
    found: list[SourceFile] = []

    def walk(folder: str, prefix: str, ancestors: frozenset[str]) -> None:
        real = os.path.realpath(folder)
        if real in ancestors:
            return  # a symlink back to a folder being walked: a cycle
        ancestors = ancestors | {real}
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except PermissionError:
            raise DatasetSourceError(f"dataset source folder {folder}: permission denied") from None
        for entry in entries:
            if entry.is_file(follow_symlinks=False):  # the common case, first: one lstat each
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    raise DatasetSourceError(
                        f"dataset source {entry.path}: {exc.strerror}"
                    ) from None
                # tuple.__new__ skips the NamedTuple's Python-level __new__: 0.3 µs a file.
                found.append(_new_tuple(SourceFile, (prefix + entry.name, entry.path, stat)))
                continue
            relative = prefix + entry.name
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target != base and not target.startswith(base + os.sep):
                    raise UnsafePath(
                        f"dataset source {entry.path}: symlink points outside {root} (to {target})"
                    )
            if entry.is_dir():
                walk(entry.path, relative + "/", ancestors)
            elif entry.is_file():
                try:
                    stat = entry.stat()
                except OSError as exc:
                    raise DatasetSourceError(
                        f"dataset source {entry.path}: {exc.strerror}"
                    ) from None
                found.append(SourceFile(relative, entry.path, stat))
            elif not entry.is_symlink():
                raise DatasetSourceError(
                    f"dataset source {entry.path}: expected regular files, got a special file "
                    "(socket, FIFO or device)"
                )
            else:
                raise DatasetSourceError(f"dataset source {entry.path}: broken symlink")

    walk(str(root), "", frozenset())
    # scandir names never hold '/' or NUL and are never '.' or '..': one scan for the rest.
    if check_names_bulk(f.relative for f in found):
        for file in found:
            check_relative_path(file.relative)
    found.sort()
    return found


def listing_digest(files: list[SourceFile]) -> tuple[str, int]:
    """A digest of every file's relative path, size, mtime and inode; and the newest mtime.

    The numbers go in as packed 64-bit arrays: formatting 30,000 integers as text
    cost more than the listing's system calls.
    """
    with gc_paused():
        stats = [f.stat for f in files]
        mtimes = array("q", [s.st_mtime_ns for s in stats])
        digest = _digest_listing(
            "\0".join(f.relative for f in files).encode("utf-8", "surrogateescape"),
            array("q", [s.st_size for s in stats]).tobytes(),
            mtimes.tobytes(),
            array("Q", [s.st_ino for s in stats]).tobytes(),
        )
    return digest, max(mtimes, default=0)


def _digest_listing(names: bytes, sizes: bytes, mtimes: bytes, inodes: bytes) -> str:
    """The listing digest's layout, for both listings: NUL-joined paths, two NULs, the arrays."""
    hasher = blake3(names)
    for part in (b"\0\0", sizes, mtimes, inodes):
        hasher.update(part)
    return format_digest(hasher.hexdigest())


def hash_source(
    source: Path,
    cache: StatCache,
    progress: ProgressReporter,
    artifacts: ArtifactStore | None = None,
    listed: FolderListing | None = None,
) -> Snapshot:
    """List and hash every file of ``source`` (a file or a folder), reusing the stat cache.

    With ``artifacts`` (a local store), the small files read to be hashed are
    stored from the same bytes, so ``store_snapshot`` does not read them again.
    ``listed``: the folder ``source`` as the caller listed it (and reported the scanning
    stage for).
    """
    started_ns = time.time_ns()
    with gc_paused():
        if listed is None:
            progress.stage("scanning", None, "files")
            single, files = list_source_files(source)
            progress.advance(len(files))
        else:
            single, files = False, listed.files
        if single:
            entry = cache.lookup(files[0].path)
            cached = {files[0].relative: entry} if entry else {}
            root = files[0].path
        else:
            root = os.path.realpath(source)
            cached = cache.lookup_tree(root)

        # Entries in listing order; a slot for each file to hash is filled once it is hashed.
        entries: list[FileEntry | None] = []
        to_hash: list[SourceFile] = []
        slots: list[int] = []
        for file in files:
            hit = cached.get(file.relative)
            stat = file.stat
            if hit is not None and hit.matches(stat.st_size, stat.st_mtime_ns, stat.st_ino):
                entries.append(FileEntry(file.relative, hit.digest, stat.st_size))
            else:
                slots.append(len(entries))
                entries.append(None)
                to_hash.append(file)
        del cached

    progress.stage("hashing", sum(f.stat.st_size for f in to_hash), "bytes")
    small = [f for f in to_hash if f.stat.st_size <= SMALL_FILE]
    large = [f for f in to_hash if f.stat.st_size > SMALL_FILE]
    # An object store answers existence per request: it is asked in bulk by store_snapshot.
    store_now = artifacts if artifacts is not None and artifacts.is_local else None
    digests: dict[str, str] = {}
    if small:
        with ThreadPoolExecutor(_WORKERS) as pool:
            hashed = pool.map(
                lambda chunk: [_hash_small(f, progress, store_now) for f in chunk], _chunks(small)
            )
            for file, digest in zip(small, (d for chunk in hashed for d in chunk), strict=True):
                digests[file.relative] = digest
    for file in large:
        digests[file.relative] = _hash_large(file, progress.advance)
    cache.record(
        (
            root if single else f"{root}/{f.relative}",
            CachedDigest.of(f.state, digests[f.relative], started_ns),
        )
        for f in to_hash
    )
    for slot, file in zip(slots, to_hash, strict=True):
        entries[slot] = FileEntry(file.relative, digests[file.relative], file.stat.st_size)
    return Snapshot(
        root=source,
        single_file=single,
        files=tuple(files),
        entries=cast("tuple[FileEntry, ...]", tuple(entries)),
        hashed=len(to_hash),
        stored=frozenset(digests[f.relative] for f in small) if store_now else frozenset(),
    )


def store_snapshot(
    snapshot: Snapshot,
    artifacts: ArtifactStore,
    progress: ProgressReporter,
    known: set[str] | None = None,
) -> int:
    """Copy into the store the contents it lacks (each once); return how many were copied.

    ``known``: digests known to be stored (the previous version's), not asked
    about again. Each file must still have the stat it was hashed with (else
    ``SourceChanged``).
    """
    missing = artifacts.missing(
        {e.digest for e in snapshot.entries} - snapshot.stored - (known or set())
    )
    first_with: dict[str, SourceFile] = {}
    for file, entry in zip(snapshot.files, snapshot.entries, strict=True):
        if entry.digest in missing and entry.digest not in first_with:
            first_with[entry.digest] = file
    progress.stage("storing", len(first_with), "files")

    def store(chunk: list[tuple[str, SourceFile]]) -> None:
        for digest, file in chunk:
            artifacts.put_hashed_file(Path(file.path), digest, file.stat)
        progress.advance(len(chunk))

    if first_with:
        with ThreadPoolExecutor(_WORKERS) as pool:
            list(pool.map(store, _chunks(list(first_with.items()))))
    return len(first_with)


def _chunks(items: list[T]) -> list[list[T]]:
    """Work for the pool in batches: one task per file would cost more than the file."""
    size = max(1, min(256, len(items) // (_WORKERS * 4) or 1))
    return [items[start : start + size] for start in range(0, len(items), size)]


def _hash_small(
    file: SourceFile, progress: ProgressReporter, artifacts: ArtifactStore | None
) -> str:
    """Hash a small file read whole; with ``artifacts``, store the same bytes."""
    try:
        data = _read_whole(file.path, file.stat.st_size)
    except OSError as exc:
        raise DatasetSourceError(f"dataset source {file.path}: {exc.strerror}") from None
    progress.advance(len(data))
    digest = hash_bytes(data)
    if artifacts is None:
        check_file_state(file.path, file.stat)
    else:
        artifacts.put_file_content(file.path, data, digest, file.stat)
    return digest


def _read_whole(path: str, size: int) -> bytes:
    """Read a file expected to hold ``size`` bytes; a longer file yields more (caught later)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(descriptor, size + 1)
        if len(data) < size:  # a short read, or a file that shrank: read to the end
            parts = [data]
            while part := os.read(descriptor, size + 1):
                parts.append(part)
            data = b"".join(parts)
    finally:
        os.close(descriptor)
    return data


def _hash_large(file: SourceFile, advance: Callable[[int], None]) -> str:
    try:
        digest, _ = hash_file_chunked(Path(file.path), advance)
    except OSError as exc:
        raise DatasetSourceError(f"dataset source {file.path}: {exc.strerror}") from None
    check_file_state(Path(file.path), file.stat)
    return digest
