"""``DatasetVersion``: one immutable version of a dataset, and everything it can be turned into."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ladder.data.catalog import VersionRecord
from ladder.data.manifest import DatasetManifest, FileEntry, TableSpec
from ladder.data.progress import ProgressReporter, SilentProgress
from ladder.data.stat_cache import open_stat_cache
from ladder.errors import NotTabular
from ladder.workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from ladder.data.profile import DatasetProfile
    from ladder.data.sample import ReferenceSample
    from ladder.data.schema import DatasetSchema
    from ladder.data.tabular import TableReader
    from ladder.data.validate import ValidationReport
    from ladder.tracking import RunLink


@dataclass(frozen=True, eq=False)
class DatasetVersion:
    """A version of a dataset, as returned by ``ladder.dataset.add`` and ``ladder.dataset.get``.

    Attributes:
        name: the dataset's name; ``number``: 1, 2, 3… per name.
        version_id: hex BLAKE3 digest of the version's manifest (files + read options).
        ref: ``"name@<version_id>"``, the stable reference lineage records.
        table_format: ``csv``, ``parquet`` or ``jsonl`` for tabular data, else None.
        row_count: rows of a tabular version; file_count, size: its files and bytes.
        source: where it was added from (an absolute path, or ``pandas.DataFrame``…).
        created: milliseconds since the epoch; created_by_run: the run that added it.
    """

    name: str
    number: int
    version_id: str
    project: str
    description: str | None
    source: str
    table_format: str | None
    file_count: int
    size: int
    row_count: int | None
    created: int
    created_by_run: str | None
    workspace: Workspace = field(repr=False)
    _record: VersionRecord = field(repr=False)

    @classmethod
    def from_record(cls, record: VersionRecord, workspace: Workspace) -> DatasetVersion:
        return cls(
            name=record.name,
            number=record.number,
            version_id=record.version_id,
            project=record.project,
            description=record.description,
            source=record.source,
            table_format=record.table_format,
            file_count=record.file_count,
            size=record.size,
            row_count=record.row_count,
            created=record.created,
            created_by_run=record.created_by_run,
            workspace=workspace,
            _record=record,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetVersion):
            return NotImplemented
        return (self.project, self.name, self.version_id) == (
            other.project,
            other.name,
            other.version_id,
        )

    def __hash__(self) -> int:
        return hash((self.project, self.name, self.version_id))

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version_id}"

    @property
    def short_id(self) -> str:
        return self.version_id[:12]

    @property
    def label(self) -> str:
        """``name@number``: how people refer to it."""
        return f"{self.name}@{self.number}"

    @property
    def is_tabular(self) -> bool:
        return self.table_format is not None

    # -- what the version holds ------------------------------------------------------------
    @cached_property
    def manifest(self) -> DatasetManifest:
        return DatasetManifest.from_bytes(
            self.workspace.artifacts.get_bytes(f"blake3:{self.version_id}")
        )

    @property
    def files(self) -> tuple[FileEntry, ...]:
        return self.manifest.files

    @cached_property
    def schema(self) -> DatasetSchema | None:
        """Columns with Arrow types, nullability and kind; None for plain files."""
        from ladder.data.schema import DatasetSchema

        if self._record.schema_json is None:
            return None
        return DatasetSchema.from_dict(orjson.loads(self._record.schema_json))

    @cached_property
    def profile(self) -> DatasetProfile | None:
        """Per-column statistics (see ``ladder.data.profile``); None for plain files."""
        from ladder.data.profile import DatasetProfile

        if self._record.profile_json is None:
            return None
        return DatasetProfile.from_dict(orjson.loads(self._record.profile_json))

    @cached_property
    def sample(self) -> ReferenceSample | None:
        """The seeded reference sample (at most 100,000 rows by default); None for plain files."""
        import pyarrow.parquet as pq

        from ladder.data.sample import ReferenceSample

        if self._record.sample_digest is None:
            return None
        data = self.workspace.artifacts.get_bytes(self._record.sample_digest)
        table = pq.read_table(io.BytesIO(data))
        return ReferenceSample(table, int(self._record.sample_seed or 0), int(self.row_count or 0))

    # -- reading ---------------------------------------------------------------------------
    def path(self, progress: ProgressReporter | None = None) -> Path:
        """A local, read-only copy of the files: the file itself for a one-file version."""
        from ladder.data.checkout import materialize

        ws = self.workspace
        folder = materialize(
            ws, self.manifest, open_stat_cache(ws.settings.state_dir), progress or SilentProgress()
        )
        return folder / self.files[0].path if self.manifest.single_file else folder

    def reader(self) -> TableReader:
        """Streaming access to the rows as Arrow record batches (``.batches()``)."""
        from ladder.data.formats import data_file_names
        from ladder.data.tabular import TablePart, TableReader

        spec = self._spec()
        files = self.files
        if len(files) == 1 and self.workspace.artifacts.is_local:
            # Read the verified object in place: no copy for a one-file version.
            with self.workspace.artifacts.local_copy(files[0].digest) as local:
                parts = [TablePart(str(local), files[0].path)]
        else:
            folder = self.path()
            base = folder if folder.is_dir() else folder.parent
            names = data_file_names([f.path for f in files])
            parts = [TablePart(str(base / name), name) for name in names]
        pinned = self.schema.arrow if self.schema and spec.format != "parquet" else None
        return TableReader(parts, spec, schema=pinned)

    def _spec(self) -> TableSpec:
        if self.manifest.table is None:
            raise NotTabular(
                f"dataset {self.label}: holds plain files ({self.file_count}), not a table; "
                "use .path() to read them"
            )
        return self.manifest.table

    def to_arrow(self) -> pa.Table:
        """All rows as an Arrow table, with the types recorded when the version was added."""
        return self.reader().read_all()

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()

    # -- checks and lineage ----------------------------------------------------------------
    def validate(
        self,
        data: Any,
        *,
        tolerance: float | None = None,
        strict: bool = False,
        encoding: str | None = None,
        delimiter: str | None = None,
    ) -> ValidationReport:
        """Check new data (a DataFrame, Arrow table or a file path) against this version.

        Returns a report; it never raises for failing checks (``report.raise_if_failed()`` does).
        """
        from ladder.data.validate import DEFAULT_TOLERANCE, validate_batches

        spec = self._spec()
        schema, profile = self.schema, self.profile
        assert schema is not None and profile is not None
        reader = _reader_for(data, spec, schema.names, encoding, delimiter)
        return validate_batches(
            reader.batches(),
            schema,
            profile,
            dataset=self.ref,
            tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
            strict=strict,
        )

    def lineage(self) -> tuple[list[RunLink], list[RunLink]]:
        """(runs that produced this version, runs that used it), oldest first."""
        from ladder.tracking import run_links

        links = run_links(kind="dataset", ref=self.ref, workspace=self.workspace)
        return (
            [link for link in links if link.direction == "output"],
            [link for link in links if link.direction == "input"],
        )

    def checkout(self, dest: str | Path, progress: ProgressReporter | None = None) -> Path:
        """Write the files under ``dest`` (a one-file version: ``dest/<file name>``)."""
        from ladder.data.checkout import write_files

        dest = Path(dest).expanduser()
        ws = self.workspace
        write_files(
            ws,
            self.manifest,
            dest,
            open_stat_cache(ws.settings.state_dir),
            progress or SilentProgress(),
        )
        return dest

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "number": self.number,
            "version_id": self.version_id,
            "ref": self.ref,
            "project": self.project,
            "description": self.description,
            "source": self.source,
            "table_format": self.table_format,
            "file_count": self.file_count,
            "size": self.size,
            "row_count": self.row_count,
            "created": self.created,
            "created_by_run": self.created_by_run,
        }


def _reader_for(
    data: Any,
    spec: TableSpec,
    reference_columns: list[str],
    encoding: str | None,
    delimiter: str | None,
) -> TableReader:
    from ladder.data.formats import data_file_names, detect_table_format
    from ladder.data.snapshot import list_source_files
    from ladder.data.tabular import TablePart, TableReader, frame_to_table, is_frame, make_spec
    from ladder.errors import DatasetSourceError

    if is_frame(data):
        return TableReader.from_table(frame_to_table(data))
    if not isinstance(data, (str, os.PathLike)):
        raise DatasetSourceError(
            "data to validate: expected a DataFrame, an Arrow table or a file path, "
            f"got {type(data).__name__}"
        )
    path = Path(data).expanduser()
    _, files = list_source_files(path)
    names = data_file_names([f.relative for f in files])
    fmt = detect_table_format(names)
    if fmt is None:
        raise NotTabular(
            f"data to validate {path}: expected CSV, Parquet or JSON Lines files, "
            f"got {', '.join(names[:5]) or 'no data files'}"
        )
    same = fmt == spec.format
    # Text files carry no types: read reference columns as text and check each value.
    types = {name: "string" for name in reference_columns} if fmt == "csv" else None
    read = make_spec(
        fmt,
        names,
        encoding or (spec.encoding if same else None),
        delimiter or (spec.delimiter if same else None),
        types,
    )
    by_name = {f.relative: f.path for f in files}
    return TableReader([TablePart(by_name[name], name) for name in names], read)
