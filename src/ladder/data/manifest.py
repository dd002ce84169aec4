"""The dataset manifest: what a version *is*, and the version id that names it.

A manifest lists every file (relative path, BLAKE3 digest, size) and, for
tabular data, how the files are read (format and read options). It is
serialised canonically (sorted paths, sorted keys, compact JSON), so the same
content read the same way always gives the same bytes, and the version id is
the hex BLAKE3 digest of those bytes. The manifest itself is stored in the
artifact store under that digest, which makes every version self-describing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import orjson

from ladder.artifacts.digest import format_digest, hash_bytes, parse_digest
from ladder.errors import ArtifactCorrupted, UnsafePath

FORMAT = "ladder.dataset/1"
TABLE_FORMATS = ("csv", "parquet", "jsonl")


class FileEntry(NamedTuple):
    """One file of a version (serialised as ``[path, digest, size]``)."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True)
class TableSpec:
    """How the files of a tabular version are read back (empty options: the defaults)."""

    format: str
    encoding: str = "utf-8"
    delimiter: str | None = None
    column_types: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        document: dict[str, object] = {"format": self.format}
        if self.format in ("csv", "jsonl") and self.encoding.lower().replace("_", "-") not in (
            "utf-8",
            "utf8",
        ):
            document["encoding"] = self.encoding
        if self.format == "csv" and self.delimiter not in (None, ","):
            document["delimiter"] = self.delimiter
        if self.column_types:
            document["column_types"] = dict(sorted(self.column_types.items()))
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, object]) -> TableSpec:
        fmt = str(document["format"])
        if fmt not in TABLE_FORMATS:
            raise ValueError(f"table format {fmt!r}")
        types = document.get("column_types") or {}
        if not isinstance(types, dict):
            raise ValueError("column_types is not a mapping")
        delimiter = document.get("delimiter")
        return cls(
            format=fmt,
            encoding=str(document.get("encoding", "utf-8")),
            delimiter=None if delimiter is None else str(delimiter),
            column_types={str(k): str(v) for k, v in types.items()},
        )


@dataclass(frozen=True)
class DatasetManifest:
    """Files plus (for tables) the way to read them; ``version_id`` is its digest.

    ``single_file`` tells a version added from one file (or a DataFrame) from a
    folder that happens to hold one file: checkouts are alike, ``path()`` differs.
    """

    files: tuple[FileEntry, ...]
    table: TableSpec | None = None
    single_file: bool = False

    @classmethod
    def build(
        cls, files: Iterable[FileEntry], table: TableSpec | None, single_file: bool
    ) -> DatasetManifest:
        return cls(tuple(sorted(files, key=lambda e: e.path)), table, single_file)

    def to_bytes(self) -> bytes:
        return self._bytes

    @cached_property
    def _bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "layout": "file" if self.single_file else "folder",
            "files": list(map(tuple, self.files)),  # [path, digest, size]
            "table": self.table.to_dict() if self.table else None,
        }
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)

    @cached_property
    def version_id(self) -> str:
        return parse_digest(hash_bytes(self.to_bytes()))

    @property
    def digest(self) -> str:
        return format_digest(self.version_id)

    @property
    def size(self) -> int:
        return sum(e.size for e in self.files)

    def by_path(self) -> dict[str, FileEntry]:
        return {e.path: e for e in self.files}

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetManifest:
        try:
            document = orjson.loads(data)
            if document.get("format") != FORMAT:
                raise ValueError(f"format {document.get('format')!r}")
            files = tuple(FileEntry(p, d, s) for p, d, s in document["files"])
            table = TableSpec.from_dict(document["table"]) if document.get("table") else None
            layout = document["layout"]
            if layout not in ("file", "folder") or (layout == "file" and len(files) != 1):
                raise ValueError(f"layout {layout!r} with {len(files)} files")
            if any(type(e.size) is not int or e.size < 0 for e in files):
                raise ValueError("a file size is not a whole number of bytes")
            # One scan each for all paths and all digests; the per-entry checks name the culprit.
            paths_ok = _safe_paths([e.path for e in files])
            digests = "\n".join(e.digest for e in files)
            digests_ok = len(digests) == 72 * len(files) - 1 and bool(_DIGESTS.fullmatch(digests))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ArtifactCorrupted(
                f"dataset manifest: expected {FORMAT}, could not read: {exc}"
            ) from None
        if not (paths_ok and digests_ok):
            for entry in files:
                check_relative_path(entry.path)
                parse_digest(entry.digest)
        return cls(files, table, layout == "file")


def stored_digests(data: bytes) -> set[str]:
    """The file digests a manifest lists, without building or re-checking its entries.

    For knowing what the store already holds: the bytes come from the artifact
    store, verified against their digest, so only their shape is checked here.
    """
    try:
        document = orjson.loads(data)
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
        return {str(entry[1]) for entry in document["files"]}
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ArtifactCorrupted(
            f"dataset manifest: expected {FORMAT}, could not read: {exc}"
        ) from None


_UNSAFE_CHARACTERS = "\x00-\x09\x0b-\x1f\\\\\udc80-\udcff"  # all but the newline, which follows
_UNSAFE_CHARACTER = re.compile(f"[{_UNSAFE_CHARACTERS}\n]")
_UNSAFE_SEGMENT = re.compile(r"(^|/)\.{0,2}(/|$)")
_UNSAFE_IN_LINES = re.compile(f"[{_UNSAFE_CHARACTERS}]")
# An empty, "." or ".." segment between two separators ("/" inside a path, "\n" around it
# in the newline-joined, newline-framed text): plain substring tests, ten times a regex's speed.
_UNSAFE_SEGMENTS = tuple(
    left + segment + right for segment in ("", ".", "..") for left in "\n/" for right in "/\n"
)
_DIGESTS = re.compile(r"(?:blake3:[0-9a-f]{64}\n)*blake3:[0-9a-f]{64}")


def _safe_paths(paths: list[str]) -> bool:
    """True when ``check_relative_path`` would accept every path: one scan of them joined
    (a manifest read back, a folder's listing); the per-path check then names a culprit."""
    joined = "\n".join(paths)
    if joined.count("\n") != len(paths) - 1 or _UNSAFE_IN_LINES.search(joined):
        return False  # a path holds a newline of its own, or an unsafe character
    framed = f"\n{joined}\n"
    return not any(segment in framed for segment in _UNSAFE_SEGMENTS)


def check_names_bulk(paths: Iterable[str]) -> bool:
    """True when any of ``paths`` has a character ``check_relative_path`` refuses (one scan).

    For paths built from ``os.scandir`` names, which never hold ``/`` or NUL and are never
    ``.`` or ``..``: their segments need no check.
    """
    return _UNSAFE_CHARACTER.search("/".join(paths)) is not None


def check_relative_path(path: str) -> str:
    """Return ``path`` if it is a safe relative ``/``-separated file path inside a dataset.

    Dataset folders hold users' own file names, so any printable name is kept;
    what is refused is what could escape a checkout folder or not round-trip:
    absolute paths, empty / ``.`` / ``..`` segments, backslashes, control
    characters and bytes that are not UTF-8.
    """
    problem = None
    if not path:
        problem = "it is empty"
    elif path.startswith("/"):
        problem = "it is absolute"
    elif _UNSAFE_SEGMENT.search(path):
        problem = "it has an empty, '.' or '..' segment"
    elif _UNSAFE_CHARACTER.search(path):
        problem = "it has a backslash, control characters or bytes that are not UTF-8"
    if problem:
        raise UnsafePath(f"dataset file path {path!r} refused: {problem}")
    return path
