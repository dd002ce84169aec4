"""Writing a version's files out: to a user's folder (checkout) or to the local read-only cache.

Every file is copied from the artifact store with its digest verified. A file
already at the destination with the right content (known from the stat cache
or by hashing it) is left alone, so checking out a version over a folder that
holds its neighbour rewrites only what differs.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from pathlib import Path

from ladder.artifacts.digest import hash_file
from ladder.data.manifest import DatasetManifest, FileEntry
from ladder.data.progress import ProgressReporter
from ladder.data.stat_cache import FileState, StatCache
from ladder.errors import UnsafePath
from ladder.workspace import Workspace

CACHE_FOLDER = "datasets"


def safe_target(dest: Path, relative: str) -> Path:
    """``dest / relative``, refusing any path that would land outside ``dest``."""
    base = dest.resolve()
    target = (base / relative).resolve()
    if base not in target.parents:
        raise UnsafePath(f"dataset file {relative!r} would be written outside {base}")
    return target


def write_files(
    ws: Workspace,
    manifest: DatasetManifest,
    dest: Path,
    cache: StatCache,
    progress: ProgressReporter,
) -> int:
    """Write every file of ``manifest`` under ``dest``; return how many were (re)written."""
    dest.mkdir(parents=True, exist_ok=True)
    progress.stage("checking out", manifest.size, "bytes")
    written = 0
    for entry in manifest.files:
        target = safe_target(dest, entry.path)
        if not _already_there(target, entry, cache):
            ws.artifacts.get_file(entry.digest, target)
            written += 1
        progress.advance(entry.size)
    return written


def _already_there(target: Path, entry: FileEntry, cache: StatCache) -> bool:
    try:
        current = target.stat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(current.st_mode) or current.st_size != entry.size:
        return False
    cached = cache.lookup(str(target))
    if cached is not None and cached.valid_for(FileState.of(current)):
        return cached.digest == entry.digest
    return hash_file(target)[0] == entry.digest


def materialize(
    ws: Workspace, manifest: DatasetManifest, cache: StatCache, progress: ProgressReporter
) -> Path:
    """The version's files in ``.ladder/datasets/<version id>/`` (written once, read-only)."""
    root = ws.settings.state_dir / CACHE_FOLDER
    final = root / manifest.version_id
    if final.is_dir():
        return final
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".tmp-{uuid.uuid4().hex}"
    try:
        write_files(ws, manifest, temp, cache, progress)
        for folder, _, names in os.walk(temp):
            for name in names:
                os.chmod(os.path.join(folder, name), 0o444)
        try:
            os.rename(temp, final)
        except OSError:
            if not final.is_dir():  # pragma: no cover - a failure other than losing a race
                raise
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    return final
