"""Content-addressed artifact storage."""

from ladder.artifacts.digest import hash_bytes, hash_file, parse_digest
from ladder.artifacts.paths import check_artifact_name, safe_destination
from ladder.artifacts.store import (
    ArtifactStore,
    FileStat,
    Manifest,
    ManifestEntry,
    Stored,
    open_artifact_store,
    walk_files,
)

__all__ = [
    "ArtifactStore",
    "FileStat",
    "Manifest",
    "ManifestEntry",
    "Stored",
    "check_artifact_name",
    "hash_bytes",
    "hash_file",
    "open_artifact_store",
    "parse_digest",
    "safe_destination",
    "walk_files",
]
