"""What changed between two versions: files, schema, and per-column profile shifts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ladder.data.profile import ColumnProfile

if TYPE_CHECKING:
    from ladder.data.version import DatasetVersion


@dataclass(frozen=True)
class FileChange:
    """A file ``added``, ``removed`` or ``changed`` (same path, other content)."""

    path: str
    change: str
    size_before: int | None
    size_after: int | None


@dataclass(frozen=True)
class SchemaChange:
    """A column ``added`` or ``removed``, or whose ``type``, ``nullable`` or ``kind`` changed."""

    column: str
    change: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ColumnShift:
    """How the statistics of a column present in both versions moved.

    ``mean_shift`` is the change of the mean in standard deviations of the
    first version (numeric and datetime columns). ``category_distance`` is the
    total variation distance between the category frequencies (0: same mix,
    1: no category in common), computed from the stored category counts.
    """

    column: str
    kind: str
    missing_before: float
    missing_after: float
    mean_before: float | None
    mean_after: float | None
    std_before: float | None
    std_after: float | None
    mean_shift: float | None
    distinct_before: int | None
    distinct_after: int | None
    categories_added: tuple[str, ...]
    categories_removed: tuple[str, ...]
    category_distance: float | None

    @property
    def changed(self) -> bool:
        return bool(
            self.missing_before != self.missing_after
            or (self.mean_shift or 0.0) != 0.0
            or self.std_before != self.std_after
            or self.distinct_before != self.distinct_after
            or self.categories_added
            or self.categories_removed
            or (self.category_distance or 0.0) > 0.0
        )


@dataclass(frozen=True)
class DatasetDiff:
    """The difference from version ``before`` to ``after`` (their ``name@number`` labels)."""

    before: str
    after: str
    files: tuple[FileChange, ...]
    unchanged_files: int
    schema: tuple[SchemaChange, ...]
    columns: tuple[ColumnShift, ...]
    rows_before: int | None
    rows_after: int | None

    @property
    def identical(self) -> bool:
        return not self.files and not self.schema and self.rows_before == self.rows_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "unchanged_files": self.unchanged_files,
            "files": [vars(f) for f in self.files],
            "schema": [vars(s) for s in self.schema],
            "columns": [
                {
                    **vars(c),
                    "categories_added": list(c.categories_added),
                    "categories_removed": list(c.categories_removed),
                }
                for c in self.columns
            ],
        }


def diff_versions(before: DatasetVersion, after: DatasetVersion) -> DatasetDiff:
    old, new = before.manifest.by_path(), after.manifest.by_path()
    files: list[FileChange] = []
    for path in sorted(old.keys() | new.keys()):
        a, b = old.get(path), new.get(path)
        if a is None and b is not None:
            files.append(FileChange(path, "added", None, b.size))
        elif b is None and a is not None:
            files.append(FileChange(path, "removed", a.size, None))
        elif a is not None and b is not None and a.digest != b.digest:
            files.append(FileChange(path, "changed", a.size, b.size))
    unchanged = sum(1 for p in old.keys() & new.keys() if old[p].digest == new[p].digest)

    schema_changes: list[SchemaChange] = []
    shifts: list[ColumnShift] = []
    if before.schema is not None or after.schema is not None:
        old_cols = {c.name: c for c in before.schema.columns} if before.schema else {}
        new_cols = {c.name: c for c in after.schema.columns} if after.schema else {}
        for name in old_cols.keys() - new_cols.keys():
            schema_changes.append(SchemaChange(name, "removed", old_cols[name].type, None))
        for name in new_cols.keys() - old_cols.keys():
            schema_changes.append(SchemaChange(name, "added", None, new_cols[name].type))
        for name in [n for n in old_cols if n in new_cols]:
            a_col, b_col = old_cols[name], new_cols[name]
            if a_col.type != b_col.type:
                schema_changes.append(SchemaChange(name, "type", a_col.type, b_col.type))
            if a_col.nullable != b_col.nullable:
                schema_changes.append(
                    SchemaChange(name, "nullable", str(a_col.nullable), str(b_col.nullable))
                )
            if a_col.kind != b_col.kind:
                schema_changes.append(SchemaChange(name, "kind", a_col.kind, b_col.kind))
            if before.profile is not None and after.profile is not None:
                shifts.append(column_shift(before.profile.column(name), after.profile.column(name)))
        schema_changes.sort(key=lambda c: (c.column, c.change))
    return DatasetDiff(
        before=before.label,
        after=after.label,
        files=tuple(files),
        unchanged_files=unchanged,
        schema=tuple(schema_changes),
        columns=tuple(shifts),
        rows_before=before.row_count,
        rows_after=after.row_count,
    )


def column_shift(a: ColumnProfile, b: ColumnProfile) -> ColumnShift:
    mean_shift = None
    if a.mean is not None and b.mean is not None:
        scale = a.std if a.std else (abs(a.mean) or 1.0)
        mean_shift = (b.mean - a.mean) / scale
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    distance = None
    if a.categories_complete and b.categories_complete:
        added = tuple(sorted(b.categories - a.categories))
        removed = tuple(sorted(a.categories - b.categories))
        a_share = {c.value: c.count / a.count for c in a.top_categories} if a.count else {}
        b_share = {c.value: c.count / b.count for c in b.top_categories} if b.count else {}
        distance = 0.5 * sum(
            abs(a_share.get(v, 0.0) - b_share.get(v, 0.0)) for v in a_share.keys() | b_share.keys()
        )
    return ColumnShift(
        column=a.name,
        kind=b.kind,
        missing_before=a.missing_fraction,
        missing_after=b.missing_fraction,
        mean_before=a.mean,
        mean_after=b.mean,
        std_before=a.std,
        std_after=b.std,
        mean_shift=mean_shift,
        distinct_before=a.distinct,
        distinct_after=b.distinct,
        categories_added=added,
        categories_removed=removed,
        category_distance=distance,
    )
