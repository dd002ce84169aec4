"""Content digests: ``blake3:<64 hex>``, computed by streaming."""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from blake3 import blake3

from ladder.errors import UnsafePath

ALGORITHM = "blake3"
CHUNK = 1 << 20
_DIGEST = re.compile(r"^blake3:[0-9a-f]{64}$")


def format_digest(hex_digest: str) -> str:
    return f"{ALGORITHM}:{hex_digest}"


def parse_digest(digest: str) -> str:
    """Return the hex part of a digest; anything but ``blake3:<64 hex>`` is refused."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise UnsafePath(f"digest: expected 'blake3:' followed by 64 hex digits, got {digest!r}")
    return digest.split(":", 1)[1]


def hash_bytes(data: bytes) -> str:
    return format_digest(blake3(data).hexdigest())


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """Hash a binary stream to its end; return (digest, size)."""
    hasher = blake3()
    size = 0
    while chunk := stream.read(CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    return format_digest(hasher.hexdigest()), size


def hash_file(path: Path) -> tuple[str, int]:
    """Hash a local file with memory mapping and BLAKE3's threads; return (digest, size)."""
    size = path.stat().st_size
    hasher = blake3(max_threads=blake3.AUTO)
    if size:
        hasher.update_mmap(str(path))
    return format_digest(hasher.hexdigest()), size


def hash_file_chunked(
    path: Path, progress: Callable[[int], None] | None = None, chunk: int = 64 * CHUNK
) -> tuple[str, int]:
    """Hash a local file like ``hash_file``, calling ``progress(bytes)`` after each chunk.

    Chunks are zero-copy views of one memory map, so BLAKE3 still uses its threads.
    """
    hasher = blake3(max_threads=blake3.AUTO)
    size = 0
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    for start in range(0, len(view), chunk):
                        piece = view[start : start + chunk]
                        hasher.update(piece)
                        size += len(piece)
                        piece.release()
                        if progress:
                            progress(size - start)
                finally:
                    view.release()
    return format_digest(hasher.hexdigest()), size
