"""``ladder.dataset``: add, get, list, diff, check out and validate versioned datasets.

::

    import ladder

    ds = ladder.dataset.add("loans", "data/loans.csv", description="2024 export")
    ds = ladder.dataset.get("loans@latest")      # or loans@3, loans@<version id>
    frame = ds.to_pandas()
    report = ds.validate(new_frame)

Adding unchanged content returns the existing version (the version id is the
digest of the content). Inside an active run, ``add`` records the run as the
version's producer; ``run.use_dataset(ds, role="train")`` records a consumer.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ladder.data import catalog
from ladder.data.catalog import NewVersion
from ladder.data.formats import data_file_names, detect_table_format
from ladder.data.gc_pause import gc_paused
from ladder.data.manifest import DatasetManifest, FileEntry, TableSpec, stored_digests
from ladder.data.progress import ProgressReporter, SilentProgress
from ladder.data.refs import check_dataset_name, parse_ref
from ladder.data.sample import DEFAULT_SAMPLE_ROWS, DEFAULT_SEED
from ladder.data.snapshot import (
    FolderListing,
    Snapshot,
    hash_source,
    list_folder,
    store_snapshot,
)
from ladder.data.stat_cache import FolderRecord, StatCache, open_stat_cache
from ladder.data.version import DatasetVersion
from ladder.errors import DatasetSourceError, EmptyDataset, InvalidReadOption
from ladder.run_context import foreign_run
from ladder.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    from ladder.data.diff import DatasetDiff
    from ladder.data.tabular import TableReader
    from ladder.data.validate import ValidationReport
    from ladder.tracking import Run

FRAME_FILE = "data.parquet"
_FRAME_MODULES = ("pandas", "polars", "pyarrow")


@dataclass(frozen=True)
class DatasetSummary:
    """A dataset in ``list_datasets``: its latest version and how many versions it has."""

    name: str
    versions: int
    latest: DatasetVersion


def add(
    name: str,
    source: Any,
    description: str | None = None,
    workspace: Workspace | None = None,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    column_types: Mapping[str, str] | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    seed: int = DEFAULT_SEED,
    allow_empty: bool = False,
    progress: ProgressReporter | None = None,
) -> DatasetVersion:
    """Version ``source`` under ``name``; return the new version, or the existing one if unchanged.

    ``source``: a file, a folder (any files), a pandas or polars DataFrame or a
    pyarrow Table. CSV, Parquet and JSON Lines files (and folders of one of
    them) are tabular: they get a schema, a profile and a reference sample of
    ``sample_rows`` rows drawn with ``seed``. ``encoding``, ``delimiter`` and
    ``column_types`` (``{"zip": "string"}``) say how CSV / JSON Lines are read.
    A table with no rows is refused unless ``allow_empty``.
    """
    check_dataset_name(name)
    if not isinstance(sample_rows, int) or sample_rows < 0:
        raise InvalidReadOption(f"sample_rows: expected an integer >= 0, got {sample_rows!r}")
    ws = workspace or open_workspace()
    reporter = progress or SilentProgress()
    snapshot: Snapshot | None = None
    folder: _FolderSeen | None = None
    spec: TableSpec | None
    reader: TableReader | None
    if _is_frame(source):
        if encoding or delimiter or column_types:
            raise InvalidReadOption(
                "encoding, delimiter and column_types apply to CSV / JSON Lines files, "
                f"not to a {type(source).__module__}.{type(source).__name__}"
            )
        files, spec, reader, source_text = _store_frame(ws, source, allow_empty)
        single = True
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        cache = open_stat_cache(ws.settings.state_dir)
        with gc_paused():  # 10,000 files are 10,000 tuples: see ladder.data.gc_pause
            folder = _FolderSeen.list(path, encoding, delimiter, column_types, reporter)
            unchanged = folder.known_version(ws, name, cache) if folder is not None else None
        if unchanged is not None:
            _link_producer(unchanged)
            return unchanged
        snapshot = hash_source(
            path,
            cache,
            reporter,
            artifacts=ws.artifacts,
            listed=folder.listing if folder is not None else None,
        )
        files = list(snapshot.entries)
        spec, reader = _file_table(snapshot, encoding, delimiter, column_types)
        source_text = str(path.resolve())
        single = snapshot.single_file
    else:
        raise DatasetSourceError(
            "dataset source: expected a file or folder path, a pandas or polars DataFrame or a "
            f"pyarrow Table, got {type(source).__module__}.{type(source).__name__}"
        )

    with gc_paused():
        manifest = DatasetManifest.build(files, spec, single)
        version_id = manifest.version_id
    if folder is not None:
        folder.remember(cache, version_id)
    existing = catalog.find_by_version_id(ws, name, version_id)
    if existing is not None:
        # Its files were stored when it was added: an unchanged re-add reads no file content.
        version = DatasetVersion.from_record(existing, ws)
        _link_producer(version)
        return version
    if snapshot is not None:
        store_snapshot(snapshot, ws.artifacts, reporter, known=_latest_digests(ws, name))
    ws.artifacts.put_bytes(manifest.to_bytes())

    profile_fields = _profile_fields(
        ws, manifest, reader, spec, column_types, sample_rows, seed, allow_empty, reporter, name
    )
    if snapshot is not None and spec is not None:
        snapshot.check_unchanged()  # the profile must describe the bytes that were stored
    run = _active_run()
    record, _ = catalog.record_version(
        ws,
        name,
        NewVersion(
            version_id=manifest.version_id,
            description=description,
            source=source_text,
            table_format=spec.format if spec else None,
            file_count=len(manifest.files),
            size=manifest.size,
            created_by_run=run.id if run is not None and run.workspace.store is ws.store else None,
            **profile_fields,
        ),
    )
    version = DatasetVersion.from_record(record, ws)
    _link_producer(version)
    return version


@dataclass(frozen=True)
class _FolderSeen:
    """A folder source as listed for an add, with what identifies its state for the stat cache.

    When the last add of the folder saw the same listing (every file's path,
    size, mtime and inode) and the same read options, its version id is known
    without looking up each file: an unchanged re-add costs the listing.
    """

    root: str
    listing: FolderListing
    options: str
    listed_ns: int

    @classmethod
    def list(
        cls,
        path: Path,
        encoding: str | None,
        delimiter: str | None,
        column_types: Mapping[str, str] | None,
        progress: ProgressReporter,
    ) -> _FolderSeen | None:
        """List ``path`` if it is a folder (a lone file is cheap enough as it is)."""
        if not path.is_dir():
            return None
        progress.stage("scanning", None, "files")
        listed_ns = time.time_ns()
        listing = list_folder(path)
        progress.advance(len(listing))
        options = orjson.dumps(
            [encoding, delimiter, dict(column_types or {})], option=orjson.OPT_SORT_KEYS
        ).decode()
        return cls(os.path.realpath(path), listing, options, listed_ns)

    def known_version(self, ws: Workspace, name: str, cache: StatCache) -> DatasetVersion | None:
        """The version ``name`` already has for this folder state, if the cache vouches for it."""
        record = cache.folder(self.root)
        if record is None or not record.vouches_for(self.listing.digest, self.options):
            return None
        existing = catalog.find_by_version_id(ws, name, record.version_id)
        return DatasetVersion.from_record(existing, ws) if existing is not None else None

    def remember(self, cache: StatCache, version_id: str) -> None:
        cache.record_folder(
            self.root,
            FolderRecord(
                self.listing.digest,
                self.options,
                version_id,
                self.listed_ns,
                self.listing.newest_mtime_ns,
            ),
        )


def _latest_digests(ws: Workspace, name: str) -> set[str]:
    """Contents of the dataset's latest version: stored already, no need to ask the store."""
    latest = catalog.find_latest(ws, name)
    if latest is None:
        return set()
    return stored_digests(ws.artifacts.get_bytes(f"blake3:{latest.version_id}"))


def _is_frame(source: object) -> bool:
    return type(source).__module__.split(".")[0] in _FRAME_MODULES and not isinstance(
        source, (str, os.PathLike)
    )


def _store_frame(
    ws: Workspace, source: object, allow_empty: bool
) -> tuple[list[FileEntry], TableSpec, TableReader, str]:
    from ladder.data.tabular import TableReader, frame_to_table, table_to_parquet

    table = frame_to_table(source)
    kind = f"{type(source).__module__.split('.')[0]}.{type(source).__name__}"
    if table.num_rows == 0 and not allow_empty:
        raise EmptyDataset(
            f"dataset source {kind}: it has 0 rows (columns: {', '.join(table.column_names)}); "
            "pass allow_empty=True to version an empty table"
        )
    if table.num_columns == 0:
        raise EmptyDataset(f"dataset source {kind}: it has no columns")
    stored = ws.artifacts.put_bytes(table_to_parquet(table))
    return (
        [FileEntry(FRAME_FILE, stored.digest, stored.size)],
        TableSpec("parquet"),
        TableReader.from_table(table),
        kind,
    )


def _file_table(
    snapshot: Snapshot,
    encoding: str | None,
    delimiter: str | None,
    column_types: Mapping[str, str] | None,
) -> tuple[TableSpec | None, TableReader | None]:
    names = data_file_names([f.relative for f in snapshot.files])
    fmt = detect_table_format(names)
    if fmt is None:
        if encoding or delimiter or column_types:
            raise InvalidReadOption(
                f"dataset source {snapshot.root}: encoding, delimiter and column_types apply to "
                "CSV / JSON Lines files; this source is not one table format"
            )
        return None, None
    from ladder.data.tabular import TablePart, TableReader, make_spec

    spec = make_spec(fmt, names, encoding, delimiter, column_types)
    by_name = {f.relative: f.path for f in snapshot.files}
    return spec, TableReader([TablePart(by_name[n], n) for n in names], spec)


def _profile_fields(
    ws: Workspace,
    manifest: DatasetManifest,
    reader: TableReader | None,
    spec: TableSpec | None,
    column_types: Mapping[str, str] | None,
    sample_rows: int,
    seed: int,
    allow_empty: bool,
    progress: ProgressReporter,
    name: str,
) -> dict[str, Any]:
    if reader is None or spec is None:
        return {
            "row_count": None,
            "schema_json": None,
            "profile_json": None,
            "sample_digest": None,
            "sample_rows": None,
            "sample_seed": None,
        }
    known = catalog.find_profiled(ws, manifest.version_id, sample_rows, seed)
    if known is not None:
        return {
            "row_count": known.row_count,
            "schema_json": known.schema_json,
            "profile_json": known.profile_json,
            "sample_digest": known.sample_digest,
            "sample_rows": known.sample_rows,
            "sample_seed": known.sample_seed,
        }
    from ladder.data.profile import compute_profile
    from ladder.data.tabular import table_to_parquet

    result = compute_profile(
        reader,
        sample_size=sample_rows,
        seed=seed,
        check_mixed_text=spec.format in ("csv", "jsonl"),
        typed_columns=list(column_types or {}),
        progress=progress,
        total_rows=reader.table.num_rows if reader.table is not None else None,
        source_name=str(manifest.files[0].path if len(manifest.files) == 1 else "table"),
    )
    profile = result.profile
    if profile.row_count == 0 and not allow_empty:
        raise EmptyDataset(
            f"dataset {name}: the table has 0 rows (columns: {', '.join(profile.names)}); "
            "pass allow_empty=True to version an empty table"
        )
    empty = [c.name for c in profile.columns if c.count == 0 and profile.row_count]
    if empty:
        warnings.warn(
            f"dataset {name}: column(s) {', '.join(empty)} hold no values (all missing); "
            "they are versioned, but validation cannot check their values",
            UserWarning,
            stacklevel=3,
        )
    sample = ws.artifacts.put_bytes(table_to_parquet(result.sample))
    return {
        "row_count": profile.row_count,
        "schema_json": orjson.dumps(result.schema.to_dict()).decode(),
        "profile_json": orjson.dumps(profile.to_dict()).decode(),
        "sample_digest": sample.digest,
        "sample_rows": result.sample.num_rows,
        "sample_seed": seed,
    }


def _active_run() -> Run | None:
    """The active run; tracking is not imported where no run can be active (a command line)."""
    if "ladder.tracking" not in sys.modules and foreign_run() is None:
        return None  # no run was started in this process, nor handed to it by another
    from ladder.tracking import active_run

    return active_run()


def _link_producer(version: DatasetVersion) -> None:
    run = _active_run()
    if run is not None and run.workspace.store is version.workspace.store:
        run.link("output", "dataset", version.ref, "produced")


def get(ref: str, workspace: Workspace | None = None) -> DatasetVersion:
    """The version ``ref`` names: ``name``, ``name@latest``, ``name@3`` or ``name@<version id>``."""
    name, selector = parse_ref(ref)
    ws = workspace or open_workspace()
    return DatasetVersion.from_record(catalog.find_version(ws, name, selector), ws)


def versions(name: str, workspace: Workspace | None = None) -> list[DatasetVersion]:
    """Every version of ``name``, oldest first."""
    check_dataset_name(name)
    ws = workspace or open_workspace()
    return [DatasetVersion.from_record(r, ws) for r in catalog.list_versions(ws, name)]


def list_datasets(workspace: Workspace | None = None) -> list[DatasetSummary]:
    """Every dataset of the project with its latest version, by name."""
    ws = workspace or open_workspace()
    return [
        DatasetSummary(record.name, count, DatasetVersion.from_record(record, ws))
        for record, count in catalog.latest_versions(ws)
    ]


def diff(before: str, after: str, workspace: Workspace | None = None) -> DatasetDiff:
    """Files, schema and per-column profile changes from version ``before`` to ``after``."""
    from ladder.data.diff import diff_versions

    ws = workspace or open_workspace()
    return diff_versions(get(before, ws), get(after, ws))


def checkout(
    ref: str,
    dest: str | Path,
    workspace: Workspace | None = None,
    progress: ProgressReporter | None = None,
) -> Path:
    """Write the files of version ``ref`` under ``dest``; return ``dest``."""
    return get(ref, workspace).checkout(dest, progress)


def validate(
    ref: str,
    data: Any,
    *,
    tolerance: float | None = None,
    strict: bool = False,
    encoding: str | None = None,
    delimiter: str | None = None,
    workspace: Workspace | None = None,
) -> ValidationReport:
    """Check ``data`` (a DataFrame, Arrow table or file path) against version ``ref``."""
    return get(ref, workspace).validate(
        data, tolerance=tolerance, strict=strict, encoding=encoding, delimiter=delimiter
    )


__all__ = [
    "DatasetSummary",
    "DatasetVersion",
    "add",
    "checkout",
    "diff",
    "get",
    "list_datasets",
    "validate",
    "versions",
]
