"""The dataset catalog in the metadata store: finding, listing and recording versions."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ladder.data.models import DatasetRow, DatasetVersionRow
from ladder.data.refs import VersionSelector
from ladder.db import upsert
from ladder.errors import DatasetNotFound, DatasetVersionNotFound
from ladder.ids import new_id
from ladder.workspace import Workspace

_LISTED = 20  # names / versions quoted in a not-found message


@dataclass(frozen=True)
class NewVersion:
    """What ``record_version`` needs to file a version: the columns its caller decides."""

    version_id: str
    description: str | None
    source: str
    table_format: str | None
    file_count: int
    size: int
    row_count: int | None
    schema_json: str | None
    profile_json: str | None
    sample_digest: str | None
    sample_rows: int | None
    sample_seed: int | None
    created_by_run: str | None


_NEW_FIELDS = tuple(f.name for f in fields(NewVersion))


@dataclass(frozen=True)
class VersionRecord(NewVersion):
    """A version row with its dataset's name, detached from any session."""

    project: str
    name: str
    number: int
    created: int


def _record(name: str, project: str, row: DatasetVersionRow) -> VersionRecord:
    return VersionRecord(
        project=project,
        name=name,
        number=row.number,
        created=row.created,
        **{field: getattr(row, field) for field in _NEW_FIELDS},
    )


def _dataset(session: Session, project: str, name: str) -> DatasetRow | None:
    return session.scalars(
        select(DatasetRow).where(DatasetRow.project == project, DatasetRow.name == name)
    ).first()


def dataset_names(ws: Workspace) -> list[str]:
    with ws.store.read() as session:
        return list(
            session.scalars(
                select(DatasetRow.name)
                .where(DatasetRow.project == ws.project)
                .order_by(DatasetRow.name)
            )
        )


def _require_dataset(session: Session, ws: Workspace, name: str) -> DatasetRow:
    dataset = _dataset(session, ws.project, name)
    if dataset is None:
        names = list(
            session.scalars(
                select(DatasetRow.name)
                .where(DatasetRow.project == ws.project)
                .order_by(DatasetRow.name)
                .limit(_LISTED + 1)
            )
        )
        known = ", ".join(names[:_LISTED]) + (", …" if len(names) > _LISTED else "")
        raise DatasetNotFound(
            f"dataset {name!r}: not found in project {ws.project!r}; "
            + (f"datasets: {known}" if names else "the project has no datasets yet")
        )
    return dataset


def find_version(ws: Workspace, name: str, selector: VersionSelector) -> VersionRecord:
    """The version of ``name`` that ``selector`` picks; the error lists the versions there are."""
    with ws.store.read() as session:
        dataset = _require_dataset(session, ws, name)
        statement = select(DatasetVersionRow).where(DatasetVersionRow.dataset_id == dataset.id)
        if selector.number is not None:
            rows = list(
                session.scalars(statement.where(DatasetVersionRow.number == selector.number))
            )
        elif selector.id_prefix is not None:
            rows = list(
                session.scalars(
                    statement.where(DatasetVersionRow.version_id.startswith(selector.id_prefix))
                    .order_by(DatasetVersionRow.number)
                    .limit(2)
                )
            )
        else:
            rows = list(
                session.scalars(statement.order_by(DatasetVersionRow.number.desc()).limit(1))
            )
        if len(rows) == 1:
            return _record(name, ws.project, rows[0])
        existing = list(
            session.execute(
                select(DatasetVersionRow.number, DatasetVersionRow.version_id)
                .where(DatasetVersionRow.dataset_id == dataset.id)
                .order_by(DatasetVersionRow.number.desc())
                .limit(_LISTED)
            )
        )
    listed = ", ".join(f"@{n} ({v[:12]})" for n, v in reversed(existing))
    if len(rows) > 1:
        raise DatasetVersionNotFound(
            f"dataset {name}@{selector}: the prefix matches several versions "
            f"(@{rows[0].number}, @{rows[1].number}); give more digits. Versions: {listed}"
        )
    raise DatasetVersionNotFound(
        f"dataset {name}@{selector}: no such version; "
        + (f"versions: {listed}" if existing else "the dataset has no versions")
    )


def find_latest(ws: Workspace, name: str) -> VersionRecord | None:
    """The latest version of ``name``, or None when the dataset has no version yet."""
    with ws.store.read() as session:
        row = session.execute(
            select(DatasetVersionRow)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(DatasetRow.project == ws.project, DatasetRow.name == name)
            .order_by(DatasetVersionRow.number.desc())
            .limit(1)
        ).scalar_one_or_none()
        return _record(name, ws.project, row) if row else None


def find_by_version_id(ws: Workspace, name: str, version_id: str) -> VersionRecord | None:
    with ws.store.read() as session:
        row = session.execute(
            select(DatasetVersionRow)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(
                DatasetRow.project == ws.project,
                DatasetRow.name == name,
                DatasetVersionRow.version_id == version_id,
            )
        ).scalar_one_or_none()
        return _record(name, ws.project, row) if row else None


def find_profiled(
    ws: Workspace, version_id: str, sample_rows: int, seed: int
) -> VersionRecord | None:
    """Any version (of any dataset) with this content already profiled with these settings."""
    with ws.store.read() as session:
        found = session.execute(
            select(DatasetVersionRow, DatasetRow.name, DatasetRow.project)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .where(
                DatasetVersionRow.version_id == version_id,
                DatasetVersionRow.profile_json.is_not(None),
                DatasetVersionRow.sample_seed == seed,
            )
        ).all()
    for row, name, project in found:
        # The stored sample is what this request would draw when it asked for the same size
        # or when it held every row anyway (a smaller table than either size).
        same = row.sample_rows == min(sample_rows, row.row_count or 0)
        if same:
            return _record(name, project, row)
    return None


def list_versions(ws: Workspace, name: str) -> list[VersionRecord]:
    with ws.store.read() as session:
        dataset = _require_dataset(session, ws, name)
        rows = session.scalars(
            select(DatasetVersionRow)
            .where(DatasetVersionRow.dataset_id == dataset.id)
            .order_by(DatasetVersionRow.number)
        ).all()
        return [_record(name, ws.project, row) for row in rows]


def latest_versions(ws: Workspace) -> list[tuple[VersionRecord, int]]:
    """(latest version, number of versions) of every dataset of the project, by name."""
    with ws.store.read() as session:
        counts = (
            select(
                DatasetVersionRow.dataset_id,
                func.max(DatasetVersionRow.number).label("latest"),
                func.count().label("versions"),
            )
            .group_by(DatasetVersionRow.dataset_id)
            .subquery()
        )
        rows = session.execute(
            select(DatasetVersionRow, DatasetRow.name, counts.c.versions)
            .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
            .join(
                counts,
                (counts.c.dataset_id == DatasetVersionRow.dataset_id)
                & (counts.c.latest == DatasetVersionRow.number),
            )
            .where(DatasetRow.project == ws.project)
            .order_by(DatasetRow.name)
        ).all()
        return [(_record(name, ws.project, row), int(versions)) for row, name, versions in rows]


def record_version(ws: Workspace, name: str, new: NewVersion) -> tuple[VersionRecord, bool]:
    """File ``new`` as the next version of ``name``; return (version, created).

    Content already versioned under ``name`` returns the existing version.

    Version numbers are allocated inside the write transaction; two writers
    racing for the same number (PostgreSQL) make one of them retry.
    """
    now = int(time.time() * 1000)

    def work(session: Session) -> tuple[VersionRecord, bool]:
        session.execute(
            upsert(session, DatasetRow)
            .values(id=new_id(), project=ws.project, name=name, created=now)
            .on_conflict_do_nothing(index_elements=["project", "name"])
        )
        dataset = _dataset(session, ws.project, name)
        assert dataset is not None
        existing = session.scalars(
            select(DatasetVersionRow).where(
                DatasetVersionRow.dataset_id == dataset.id,
                DatasetVersionRow.version_id == new.version_id,
            )
        ).first()
        if existing is not None:
            return _record(name, ws.project, existing), False
        latest = session.scalar(
            select(func.max(DatasetVersionRow.number)).where(
                DatasetVersionRow.dataset_id == dataset.id
            )
        )
        row = DatasetVersionRow(
            dataset_id=dataset.id,
            number=(latest or 0) + 1,
            created=now,
            **{field: getattr(new, field) for field in _NEW_FIELDS},
        )
        session.add(row)
        session.flush()
        return _record(name, ws.project, row), True

    for attempt in range(10):
        try:
            return ws.store.write(work)
        except IntegrityError:
            if attempt == 9:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
