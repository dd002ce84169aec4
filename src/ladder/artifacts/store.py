"""The content-addressed artifact store over fsspec.

Objects live at ``<root>/objects/<2 hex>/<62 hex>`` under their BLAKE3 digest.
Local writes go to a temporary file (in ``tmp/``, or ``.<hex>.tmp`` beside the
object for small files stored from memory) and are renamed into place; object-store
writes (S3) are single atomic PUTs. Every read re-hashes the bytes and raises
``ArtifactCorrupted`` when they no longer match. A directory is stored as a
manifest object listing (path, digest, size) of each file.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import orjson
from blake3 import blake3

from ladder.artifacts.digest import CHUNK, format_digest, hash_bytes, hash_file, parse_digest
from ladder.artifacts.paths import check_artifact_name, is_within, safe_destination
from ladder.errors import (
    ArtifactCorrupted,
    ArtifactNotFound,
    LadderError,
    SourceChanged,
    UnsafePath,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

MANIFEST_FORMAT = "ladder.manifest/1"


class FileStat(Protocol):
    """The stat fields that tell one content of a file from another: an ``os.stat_result``,
    or the lighter record a folder listing makes (``ladder.data.snapshot.ListedStat``)."""

    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...
    @property
    def st_ino(self) -> int: ...


Progress = Callable[[int], None]
"""Called with the number of bytes (or files) just processed."""


@dataclass(frozen=True)
class Stored:
    """What ``put_*`` returns: the digest and the size in bytes of the stored content."""

    digest: str
    size: int


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class Manifest:
    entries: tuple[ManifestEntry, ...]

    def to_bytes(self) -> bytes:
        rows = [[e.path, e.digest, e.size] for e in sorted(self.entries, key=lambda e: e.path)]
        return orjson.dumps({"format": MANIFEST_FORMAT, "entries": rows})

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        try:
            document = orjson.loads(data)
            if document.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            entries = tuple(
                ManifestEntry(str(p), str(d), int(s)) for p, d, s in document["entries"]
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ArtifactCorrupted(
                f"manifest: expected {MANIFEST_FORMAT}, could not read: {exc}"
            ) from exc
        for entry in entries:
            check_artifact_name(entry.path, field="manifest entry")
            parse_digest(entry.digest)
        return cls(entries)

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)


def _local_root(uri: str) -> str | None:
    """The absolute folder of a local store URI (a path or ``file://``), else None.

    Local stores are served by ``os`` alone, so opening one does not import
    fsspec (a fifth of the start-up of a pipeline worker process).
    """
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif "://" in uri or "::" in uri:
        return None
    return os.path.abspath(os.path.expanduser(uri)).replace(os.sep, "/")


def _is_local_fs(fs: AbstractFileSystem) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


class ArtifactStore:
    """A content-addressed object store at a local path or any fsspec URL."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._fs: AbstractFileSystem | None = None
        root = _local_root(uri)
        self.is_local = root is not None
        if root is None:
            import fsspec

            self._fs, root = fsspec.core.url_to_fs(uri)
            self.is_local = _is_local_fs(self._fs)
        self.root = root.rstrip("/")
        if self.is_local:
            Path(self.root, "objects").mkdir(parents=True, exist_ok=True)
            Path(self.root, "tmp").mkdir(parents=True, exist_ok=True)

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec file system (made on first use for a local store: its paths go through os)."""
        if self._fs is None:
            import fsspec

            self._fs = fsspec.filesystem("file")
        return self._fs

    # -- locations -------------------------------------------------------------
    def object_path(self, digest: str) -> str:
        hex_digest = parse_digest(digest)
        return f"{self.root}/objects/{hex_digest[:2]}/{hex_digest[2:]}"

    def _temp_path(self) -> Path:
        return Path(self.root, "tmp", uuid.uuid4().hex)

    def exists(self, digest: str, size: int | None = None) -> bool:
        path = self.object_path(digest)
        if self.is_local:
            try:
                found = os.stat(path)
            except FileNotFoundError:
                return False
            return size is None or found.st_size == size
        return bool(self.fs.exists(path))

    # -- writes ----------------------------------------------------------------
    def put_bytes(self, data: bytes) -> Stored:
        digest = hash_bytes(data)
        if not self.exists(digest, len(data)):
            if self.is_local:
                temp = self._temp_path()
                temp.write_bytes(data)
                self._publish(temp, digest)
            else:
                self.fs.pipe_file(self.object_path(digest), data)
        return Stored(digest, len(data))

    def put_file(self, path: Path) -> Stored:
        """Store one local file. A file that changes while it is stored is refused."""
        path = Path(path)
        before = path.stat()
        digest, size = hash_file(path)
        if not self.exists(digest, size):
            if self.is_local:
                temp = self._temp_path()
                try:
                    shutil.copyfile(path, temp)
                    _check_unchanged(path, before)
                    self._publish(temp, digest)
                finally:
                    temp.unlink(missing_ok=True)
            else:
                self.fs.put_file(str(path), self.object_path(digest))
        _check_unchanged(path, before)
        return Stored(digest, size)

    def scratch_dir(self) -> Path | None:
        """A folder for files to be moved into a local store (same file system), else None."""
        return Path(self.root, "tmp") if self.is_local else None

    def put_owned_file(self, path: Path) -> Stored:
        """Store a file the caller wrote and gives up: moved into place, not copied.

        On a local store ``path`` should be under ``scratch_dir()`` (a rename
        across file systems falls back to a copy); elsewhere it is uploaded.
        The file is gone afterwards either way.
        """
        path = Path(path)
        try:
            if not self.is_local:
                return self.put_file(path)  # an upload either way
            digest, size = hash_file(path)
            if not self.exists(digest, size):
                try:
                    self._publish(path, digest)
                except OSError:  # on another file system: stored as a copy
                    return self.put_file(path)
            return Stored(digest, size)
        finally:
            path.unlink(missing_ok=True)

    def put_dir(self, path: Path, progress: Progress | None = None) -> tuple[Stored, Manifest]:
        """Store every file under ``path`` and a manifest of them; return the manifest's digest.

        Symlinks are followed only when they point inside ``path``; one pointing
        outside is refused rather than copying files from elsewhere.
        """
        root = Path(path)
        entries = []
        for relative, file_path in walk_files(root):
            stored = self.put_file(file_path)
            entries.append(ManifestEntry(relative, stored.digest, stored.size))
            if progress:
                progress(1)
        manifest = Manifest(tuple(entries))
        stored = self.put_bytes(manifest.to_bytes())
        return Stored(stored.digest, manifest.size), manifest

    def missing(self, digests: Iterable[str]) -> set[str]:
        """Return the digests among ``digests`` that have no object in the store.

        On an object store a large batch costs one listing per two-hex-digit
        prefix (at most 256) instead of one request per object.
        """
        wanted = set(digests)
        if self.is_local:
            return {digest for digest in wanted if not os.path.exists(self.object_path(digest))}
        if len(wanted) <= 64:
            return {digest for digest in wanted if not self.fs.exists(self.object_path(digest))}
        by_prefix: dict[str, set[str]] = {}
        for digest in wanted:
            hex_digest = parse_digest(digest)
            by_prefix.setdefault(hex_digest[:2], set()).add(hex_digest[2:])
        found: set[str] = set()
        for prefix, rests in by_prefix.items():
            try:
                listed = self.fs.ls(f"{self.root}/objects/{prefix}", detail=False)
            except FileNotFoundError:
                continue
            names = {str(path).rstrip("/").rsplit("/", 1)[-1] for path in listed}
            found.update(format_digest(prefix + rest) for rest in rests & names)
        return wanted - found

    def put_hashed_file(self, path: Path, digest: str, before: FileStat) -> Stored:
        """Store a local file that the caller hashed to ``digest`` while its stat was ``before``.

        Saves hashing twice when the caller needs the digest first (a stat cache,
        a manifest). The file must still have the size, mtime and inode of
        ``before`` after the copy, else ``SourceChanged`` is raised and nothing
        is stored. Local copies use a reflink where the file system has them.
        """
        path = Path(path)
        if not self.exists(digest, before.st_size):
            if self.is_local:
                temp = self._temp_path()
                try:
                    clone_file(path, temp)
                    check_file_state(path, before)
                    self._publish(temp, digest)
                except BaseException:
                    temp.unlink(missing_ok=True)
                    raise
            else:
                self._put_remote(
                    digest, path, before, lambda target: self.fs.put_file(str(path), target)
                )
        check_file_state(path, before)
        return Stored(digest, before.st_size)

    def _put_remote(
        self,
        digest: str,
        path: str | os.PathLike[str],
        before: FileStat,
        upload: Callable[[str], object],
    ) -> None:
        """Upload an object (one PUT), then remove it again if ``path`` changed meanwhile."""
        target = self.object_path(digest)
        upload(target)
        try:
            check_file_state(path, before)
        except SourceChanged:
            self.fs.rm_file(target)
            raise

    def put_file_content(
        self, path: str | os.PathLike[str], data: bytes, digest: str, before: FileStat
    ) -> bool:
        """Store ``data``: the whole content of the local file ``path``, read while its stat was
        ``before``, hashed by the caller to ``digest``. Return True when an object was written.

        Saves reading a small file twice when it was just read to be hashed. As
        with ``put_hashed_file``, the file must still have the size, mtime and
        inode of ``before`` when the object is published, else ``SourceChanged``
        is raised and nothing is stored.
        """
        if self.exists(digest, len(data)):
            check_file_state(path, before)
            return False
        if not self.is_local:
            self._put_remote(digest, path, before, lambda target: self.fs.pipe_file(target, data))
            return True
        # The temporary file goes beside its object, as git and DVC do: the rename stays in
        # one folder, and new inodes are spread over the fan-out folders' block groups.
        target = self.object_path(digest)
        folder = target[: target.rindex("/")]
        temp = f"{folder}/.{uuid.uuid4().hex}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            descriptor = os.open(temp, flags, 0o666)
        except FileNotFoundError:  # the first object of its fan-out folder
            os.makedirs(folder, exist_ok=True)
            descriptor = os.open(temp, flags, 0o666)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
            finally:
                os.close(descriptor)
            check_file_state(path, before)
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return True

    def _publish(self, temp: Path, digest: str) -> None:
        target = self.object_path(digest)
        try:
            os.replace(temp, target)
        except FileNotFoundError:
            # The first object of its fan-out folder (a missing temp file fails again below).
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(temp, target)

    # -- reads -----------------------------------------------------------------
    def get_bytes(self, digest: str) -> bytes:
        path = self.object_path(digest)
        try:
            data = Path(path).read_bytes() if self.is_local else self.fs.cat_file(path)
        except FileNotFoundError:
            raise ArtifactNotFound(f"artifact {digest}: no such object in {self.uri}") from None
        actual = hash_bytes(data)
        if actual != digest:
            raise ArtifactCorrupted(f"artifact {digest}: stored bytes hash to {actual}")
        return bytes(data)

    @contextlib.contextmanager
    def local_copy(self, digest: str) -> Iterator[Path]:
        """Yield a verified local file with the object's content (the object itself when local)."""
        path = self.object_path(digest)
        if self.is_local:
            if not os.path.exists(path):
                raise ArtifactNotFound(f"artifact {digest}: no such object in {self.uri}")
            _verify_file(Path(path), digest)
            yield Path(path)
            return
        temp = Path(tempfile.mkdtemp(prefix="ladder-")) / "object"
        try:
            try:
                self.fs.get_file(path, str(temp))
            except FileNotFoundError:
                raise ArtifactNotFound(f"artifact {digest}: no such object in {self.uri}") from None
            _verify_file(temp, digest)
            yield temp
        finally:
            shutil.rmtree(temp.parent, ignore_errors=True)

    def get_file(self, digest: str, dest: Path) -> None:
        """Write the object to ``dest`` atomically, after verifying its digest."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            if self.is_local:
                _copy_verified(Path(self.object_path(digest)), temp, digest)
            else:
                with self.local_copy(digest) as local:
                    shutil.copyfile(local, temp)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)

    def read_manifest(self, digest: str) -> Manifest:
        return Manifest.from_bytes(self.get_bytes(digest))

    def get_dir(self, digest: str, dest: Path, progress: Progress | None = None) -> Manifest:
        """Write every file of a stored directory under ``dest``; never outside it."""
        manifest = self.read_manifest(digest)
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for entry in manifest.entries:
            self.get_file(entry.digest, safe_destination(dest, entry.path))
            if progress:
                progress(1)
        return manifest


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield (relative posix path, path) for every file under ``root``, sorted, symlinks checked."""
    if not root.is_dir():
        raise LadderError(f"path {root}: expected a directory")

    def walk(folder: Path, prefix: str, ancestors: frozenset[str]) -> Iterator[tuple[str, Path]]:
        real = os.path.realpath(folder)
        if real in ancestors:
            return  # a symlink back to a folder being walked: a cycle
        ancestors = ancestors | {real}
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            path = Path(entry.path)
            relative = f"{prefix}{entry.name}"
            if entry.is_symlink() and not is_within(path, root):
                raise UnsafePath(
                    f"path {path}: symlink points outside {root} (to {os.path.realpath(path)})"
                )
            if entry.is_dir():
                yield from walk(path, relative + "/", ancestors)
            elif entry.is_file():
                yield check_artifact_name(relative, field="file"), path

    yield from walk(root, "", frozenset())


def _check_unchanged(path: Path, before: os.stat_result) -> None:
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise LadderError(f"file {path}: changed while it was being stored; nothing was recorded")


def _verify_file(path: Path, digest: str) -> None:
    actual, _ = hash_file(path)
    if actual != digest:
        raise ArtifactCorrupted(f"artifact {digest}: stored bytes hash to {actual}")


def _copy_verified(source: Path, target: Path, digest: str) -> None:
    hasher = blake3()
    try:
        with source.open("rb") as reader, target.open("wb") as writer:
            while chunk := reader.read(CHUNK):
                hasher.update(chunk)
                writer.write(chunk)
    except FileNotFoundError:
        if not source.exists():
            raise ArtifactNotFound(f"artifact {digest}: no such object at {source}") from None
        raise
    actual = format_digest(hasher.hexdigest())
    if actual != digest:
        raise ArtifactCorrupted(f"artifact {digest}: stored bytes hash to {actual}")


_FICLONE = 0x40049409  # Linux ioctl: share the source's extents (btrfs, XFS, bcachefs)


def clone_file(source: Path, target: Path) -> None:
    """Copy ``source`` to a new file ``target``: a reflink where supported, else a copy.

    A reflink costs no data copy and keeps the two files independent (unlike a
    hard link, editing one never changes the other). A file of ``DIRECT_WRITE_MIN``
    bytes or more is written around the page cache (see ``_write_direct``); others
    are copied by the kernel.
    """
    with source.open("rb") as reader, target.open("xb") as writer:
        try:
            fcntl.ioctl(writer.fileno(), _FICLONE, reader.fileno())
            return
        except OSError:
            pass  # no reflinks on this file system (ext4, tmpfs, across devices)
        remaining = os.fstat(reader.fileno()).st_size
        if remaining >= DIRECT_WRITE_MIN and _write_direct(reader.fileno(), target, remaining):
            return
        try:
            while remaining > 0:
                copied = os.copy_file_range(reader.fileno(), writer.fileno(), remaining)
                if copied == 0:
                    break
                remaining -= copied
        except OSError:
            # copy_file_range refused (old kernel, special file system): copy in user space.
            reader.seek(0)
            writer.seek(0)
            writer.truncate()
            shutil.copyfileobj(reader, writer, CHUNK)


DIRECT_WRITE_MIN = 64 * 1024 * 1024
"""Copies of this many bytes or more are written with O_DIRECT where the file system allows."""
_DIRECT_CHUNK = 8 * 1024 * 1024
_DIRECT_ALIGN = 4096  # O_DIRECT writes: buffer, offset and length in whole logical blocks


def _write_direct(source: int, target: Path, size: int) -> bool:
    """Copy ``size`` bytes of the open file ``source`` into the empty ``target`` with O_DIRECT.

    A stored copy of a large file is read again rarely: writing it around the page
    cache does not evict what the user is working on, and allocates no cache pages
    for it. On a VM whose memory is mapped lazily, new cache pages cost more than
    the disk: 1 GiB took 0.4 s this way against 0.9–3 s through the cache
    (benchmarks/RESULTS.md, fourth session).
    Reads go through one reused, page-aligned buffer. Returns False, having written
    nothing, where the file system refuses O_DIRECT (tmpfs, some network file systems).
    """
    direct_flag = getattr(os, "O_DIRECT", 0)
    if not direct_flag:
        return False
    try:
        direct = os.open(target, os.O_WRONLY | os.O_CLOEXEC | direct_flag)
    except OSError:
        return False
    buffer = mmap.mmap(-1, _DIRECT_CHUNK)  # anonymous memory: page-aligned
    view = memoryview(buffer)
    try:
        offset = 0
        while offset < size:
            got = os.preadv(source, [view[: min(_DIRECT_CHUNK, size - offset)]], offset)
            if got == 0:
                break  # the source shrank: the caller's stat check reports it
            whole = got - got % _DIRECT_ALIGN
            done = 0
            try:
                while done < whole:
                    done += os.pwrite(direct, view[done:whole], offset + done)
            except OSError:
                if offset or done:
                    raise
                return False  # refused at the first write: nothing written, copy another way
            if done < got:  # the last, partial block: an ordinary write
                with target.open("r+b") as tail:
                    tail.seek(offset + done)
                    tail.write(view[done:got])
            offset += got
        return True
    finally:
        view.release()
        buffer.close()
        os.close(direct)


def check_file_state(path: str | os.PathLike[str], before: FileStat) -> None:
    """Raise ``SourceChanged`` unless ``path`` still has the size, mtime and inode of ``before``."""
    try:
        after = os.stat(path)
    except FileNotFoundError:
        raise SourceChanged(
            f"file {path}: deleted while it was being stored; nothing was recorded"
        ) from None
    fields = ("st_size", "st_mtime_ns", "st_ino")
    if any(getattr(after, name) != getattr(before, name) for name in fields):
        raise SourceChanged(
            f"file {path}: modified while it was being stored (size {before.st_size} → "
            f"{after.st_size}, mtime_ns {before.st_mtime_ns} → {after.st_mtime_ns}); "
            "nothing was recorded: add it again once it is no longer being written"
        )


_stores: dict[str, ArtifactStore] = {}


def open_artifact_store(uri: str) -> ArtifactStore:
    """Return the (per-process cached) artifact store at ``uri``."""
    store = _stores.get(uri)
    if store is None:
        store = _stores[uri] = ArtifactStore(uri)
    return store
