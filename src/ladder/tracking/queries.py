"""Reading runs back: get, search (with keyset pagination), history, delete, crash detection."""

from __future__ import annotations

import base64
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, delete, false, not_, or_, select, true, update
from sqlalchemy.orm import Session, aliased

from ladder.artifacts.paths import check_artifact_name
from ladder.errors import ArtifactNotFound, FilterSyntaxError, RunNotFound
from ladder.tracking.models import (
    ArtifactRow,
    EnvironmentRow,
    LatestMetricRow,
    MetricRow,
    ParamRow,
    RunLinkRow,
    RunRow,
    TagRow,
)
from ladder.tracking.search import (
    And,
    Compare,
    Field,
    Node,
    Not,
    Or,
    OrderKey,
    parse_filter,
    parse_order,
    required_metrics,
)
from ladder.tracking.writer import heartbeat_seconds
from ladder.workspace import Workspace, open_workspace


def heartbeat_timeout_ms() -> int:
    """A running run whose heartbeat is older than this is reported as crashed.

    ``LADDER_HEARTBEAT_TIMEOUT_SECONDS``, default three heartbeat intervals (30 s).
    """
    configured = os.environ.get("LADDER_HEARTBEAT_TIMEOUT_SECONDS")
    seconds = float(configured) if configured else 3 * heartbeat_seconds()
    return int(seconds * 1000)


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    digest: str
    size: int
    media_type: str
    kind: str


@dataclass(frozen=True)
class RunInfo:
    """A run as read back from the store."""

    id: str
    project: str
    name: str
    kind: str
    status: str
    parent_id: str | None
    start_time: int
    end_time: int | None
    user: str | None
    host: str | None
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    git_diff_digest: str | None
    command: str | None
    entry_point: str | None
    cwd: str | None
    environment_digest: str | None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float | None:
        return None if self.end_time is None else (self.end_time - self.start_time) / 1000

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["metrics"] = {k: _json_float(v) for k, v in self.metrics.items()}
        return data


def _json_float(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


@dataclass(frozen=True)
class RunPage:
    runs: list[RunInfo]
    next_page_token: str | None


def reap_crashed(ws: Workspace) -> int:
    """Mark running runs whose heartbeat stopped as crashed; return how many."""
    cutoff = int(time.time() * 1000) - heartbeat_timeout_ms()
    stale = and_(RunRow.status == "running", RunRow.heartbeat < cutoff)
    with ws.store.read() as session:
        if session.execute(select(RunRow.id).where(stale).limit(1)).first() is None:
            return 0
    statement = update(RunRow).where(stale).values(status="crashed", end_time=RunRow.heartbeat)
    return int(ws.store.write(lambda session: session.connection().execute(statement).rowcount))


def _resolve_id(session: Session, ref: str) -> str:
    if session.get(RunRow, ref) is not None:
        return ref
    if len(ref) >= 4:
        matches = session.scalars(select(RunRow.id).where(RunRow.id.like(f"{ref}%")).limit(3)).all()
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise RunNotFound(f"run {ref!r}: prefix matches several runs ({', '.join(matches)})")
    raise RunNotFound(f"run {ref!r}: no run with this id or id prefix")


def _hydrate(session: Session, rows: Sequence[RunRow]) -> list[RunInfo]:
    ids = [row.id for row in rows]
    params: dict[str, dict[str, str]] = {i: {} for i in ids}
    tags: dict[str, dict[str, str]] = {i: {} for i in ids}
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    if ids:
        for run_id, key, value in session.execute(
            select(ParamRow.run_id, ParamRow.key, ParamRow.value).where(ParamRow.run_id.in_(ids))
        ):
            params[run_id][key] = value
        for run_id, key, value in session.execute(
            select(TagRow.run_id, TagRow.key, TagRow.value).where(TagRow.run_id.in_(ids))
        ):
            tags[run_id][key] = value
        for run_id, key, number in session.execute(
            select(LatestMetricRow.run_id, LatestMetricRow.key, LatestMetricRow.value).where(
                LatestMetricRow.run_id.in_(ids)
            )
        ):
            metrics[run_id][key] = math.nan if number is None else number
    return [
        RunInfo(
            id=row.id,
            project=row.project,
            name=row.name,
            kind=row.kind,
            status=row.status,
            parent_id=row.parent_id,
            start_time=row.start_time,
            end_time=row.end_time,
            user=row.user,
            host=row.host,
            git_commit=row.git_commit,
            git_branch=row.git_branch,
            git_dirty=row.git_dirty,
            git_diff_digest=row.git_diff_digest,
            command=row.command,
            entry_point=row.entry_point,
            cwd=row.cwd,
            environment_digest=row.environment_digest,
            params=dict(sorted(params[row.id].items())),
            tags=dict(sorted(tags[row.id].items())),
            metrics=dict(sorted(metrics[row.id].items())),
        )
        for row in rows
    ]


def get_run(ref: str, workspace: Workspace | None = None) -> RunInfo:
    """Return the run with id (or unique id prefix) ``ref``."""
    ws = workspace or open_workspace()
    reap_crashed(ws)
    with ws.store.read() as session:
        row = session.get(RunRow, _resolve_id(session, ref))
        assert row is not None
        return _hydrate(session, [row])[0]


def get_environment(digest: str, workspace: Workspace | None = None) -> dict[str, Any] | None:
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        row = session.get(EnvironmentRow, digest)
        if row is None:
            return None
        return {
            "python": row.python,
            "platform": row.platform,
            "packages": orjson.loads(row.packages),
        }


def metric_history(
    ref: str, key: str, workspace: Workspace | None = None
) -> list[tuple[int, int, float]]:
    """Every point of one metric of one run as (step, timestamp_ms, value), in step order."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        run_id = _resolve_id(session, ref)
        rows = session.execute(
            select(MetricRow.step, MetricRow.timestamp, MetricRow.value)
            .where(MetricRow.run_id == run_id, MetricRow.key == key)
            .order_by(MetricRow.step, MetricRow.timestamp, MetricRow.id)
        ).all()
    return [(s, t, math.nan if v is None else v) for s, t, v in rows]


def count_metric_points(ref: str, workspace: Workspace | None = None) -> int:
    ws = workspace or open_workspace()
    from sqlalchemy import func

    with ws.store.read() as session:
        run_id = _resolve_id(session, ref)
        return int(session.scalar(select(func.count()).where(MetricRow.run_id == run_id)) or 0)


def list_artifacts(ref: str, workspace: Workspace | None = None) -> list[ArtifactInfo]:
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        run_id = _resolve_id(session, ref)
        rows = session.scalars(
            select(ArtifactRow).where(ArtifactRow.run_id == run_id).order_by(ArtifactRow.path)
        ).all()
    return [ArtifactInfo(r.path, r.digest, r.size, r.media_type, r.kind) for r in rows]


def download_artifact(ref: str, name: str, dest: Path, workspace: Workspace | None = None) -> Path:
    """Write artifact ``name`` of run ``ref`` to ``dest`` (a file, or a folder for a directory).

    When ``dest`` is an existing folder and the artifact is a file, the file is
    written inside it under its base name. Every byte is verified first.
    """
    ws = workspace or open_workspace()
    check_artifact_name(name)
    artifact = next((a for a in list_artifacts(ref, ws) if a.path == name), None)
    if artifact is None:
        names = [a.path for a in list_artifacts(ref, ws)]
        raise ArtifactNotFound(
            f"artifact {name!r} of run {ref}: not found; the run has {names or 'no artifacts'}"
        )
    dest = Path(dest)
    if artifact.kind == "dir":
        ws.artifacts.get_dir(artifact.digest, dest)
        return dest
    target = dest / Path(name).name if dest.is_dir() else dest
    ws.artifacts.get_file(artifact.digest, target)
    return target


@dataclass(frozen=True)
class RunLink:
    run_id: str
    direction: str
    kind: str
    ref: str
    role: str
    created: int


def run_links(
    run_ref: str | None = None,
    *,
    kind: str | None = None,
    ref: str | None = None,
    workspace: Workspace | None = None,
) -> list[RunLink]:
    """Lineage links, of one run (``run_ref``) and/or to one object (``kind`` + ``ref``)."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        statement = select(RunLinkRow)
        if run_ref is not None:
            statement = statement.where(RunLinkRow.run_id == _resolve_id(session, run_ref))
        if kind is not None:
            statement = statement.where(RunLinkRow.kind == kind)
        if ref is not None:
            statement = statement.where(RunLinkRow.ref == ref)
        rows = session.scalars(statement.order_by(RunLinkRow.created)).all()
    return [RunLink(r.run_id, r.direction, r.kind, r.ref, r.role, r.created) for r in rows]


def delete_runs(refs: Sequence[str], workspace: Workspace | None = None) -> list[str]:
    """Delete runs with their params, tags, metrics and artifact records; return their ids.

    Stored objects stay in the content-addressed store (other runs may share them).
    """
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        ids = [_resolve_id(session, ref) for ref in refs]

    def work(session: Session) -> None:
        for model in (MetricRow, LatestMetricRow, ParamRow, TagRow, ArtifactRow, RunLinkRow):
            session.execute(delete(model).where(model.run_id.in_(ids)))
        session.execute(update(RunRow).where(RunRow.parent_id.in_(ids)).values(parent_id=None))
        session.execute(delete(RunRow).where(RunRow.id.in_(ids)))

    ws.store.write(work)
    return ids


class _Compiler:
    """Turns a filter tree and order keys into one SELECT over runs with aliased joins."""

    def __init__(self, where: Node | None, order: list[OrderKey]) -> None:
        self.where = where
        self.order = order
        self.required = required_metrics(where)
        self.joins: dict[tuple[str, str], Any] = {}

    def alias(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key not in self.joins:
            model = {"metrics": LatestMetricRow, "params": ParamRow, "tags": TagRow}[kind]
            self.joins[key] = aliased(model, name=f"{kind[0]}{len(self.joins)}")
        return self.joins[key]

    def column(self, fld: Field) -> Any:
        if fld.kind == "attributes":
            return getattr(RunRow, fld.name)
        return self.alias(fld.kind, fld.name).value

    def condition(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(*(self.condition(item) for item in node.items))
        if isinstance(node, Or):
            return or_(*(self.condition(item) for item in node.items))
        if isinstance(node, Not):
            return not_(self.condition(node.item))
        return self.compare(node)

    def compare(self, node: Compare) -> ColumnElement[bool]:
        column = self.column(node.field)
        present: ColumnElement[bool] = true()
        if node.field.kind != "attributes":
            present = self.alias(node.field.kind, node.field.name).run_id.is_not(None)
        op, value = node.op, node.value
        if op == "is null":
            return column.is_(None) if node.field.kind == "attributes" else not_(present)
        if op == "is not null":
            return column.is_not(None) if node.field.kind == "attributes" else present
        if op in ("in", "not in"):
            assert isinstance(value, tuple)
            finite = [v for v in value if not (isinstance(v, float) and math.isnan(v))]
            has_nan = len(finite) != len(value)
            match = or_(column.in_(finite), and_(present, column.is_(None)) if has_nan else false())
            return and_(present, match) if op == "in" else and_(present, not_(match))
        if isinstance(value, float) and math.isnan(value):
            nan = and_(present, column.is_(None))  # NaN is stored as NULL
            if op == "=":
                return nan
            if op == "!=":
                return and_(present, column.is_not(None))
            return false()
        if op == "like":
            return and_(present, column.like(value))
        if op == "ilike":
            return and_(present, column.ilike(value))
        comparison = {
            "=": column == value,
            "!=": column != value,
            "<": column < value,
            "<=": column <= value,
            ">": column > value,
            ">=": column >= value,
        }[op]
        return and_(present, comparison)

    def statement(self, project: str | None, status: str | None, token: str | None) -> Any:
        condition = self.condition(self.where) if self.where is not None else true()
        order_columns = [self.column(key.field) for key in self.order]
        statement = select(RunRow)
        for (kind, name), alias in self.joins.items():
            on = and_(alias.run_id == RunRow.id, alias.key == name)
            if kind == "metrics" and name in self.required:
                statement = statement.join(alias, on)
            else:
                statement = statement.outerjoin(alias, on)
        filters = [condition]
        if project is not None:
            filters.append(RunRow.project == project)
        if status is not None:
            filters.append(RunRow.status == status)
        if token is not None:
            filters.append(self.after(order_columns, _decode_token(token, len(self.order))))
        statement = statement.where(*filters)
        clauses = []
        for key, column in zip(self.order, order_columns, strict=True):
            nullable = key.field.kind != "attributes" and key.field.name not in self.required
            clause = column.desc() if key.descending else column.asc()
            clauses.append(clause.nulls_last() if nullable else clause)
        tie = RunRow.id.desc() if (self.order and self.order[0].descending) else RunRow.id.asc()
        return statement.order_by(*clauses, tie), order_columns

    def after(self, columns: list[Any], last: list[Any]) -> ColumnElement[bool]:
        """Rows strictly after ``last`` in the sort order (NULLs sort last in every direction)."""
        *values, last_id = last
        descending_tie = bool(self.order) and self.order[0].descending
        alternatives = []
        equal: list[ColumnElement[bool]] = []
        for key, column, value in zip(self.order, columns, values, strict=True):
            if value is None:
                later: ColumnElement[bool] = false()
                same = column.is_(None)
            else:
                later = or_(column < value if key.descending else column > value, column.is_(None))
                same = column == value
            alternatives.append(and_(*equal, later))
            equal.append(same)
        alternatives.append(
            and_(*equal, RunRow.id < last_id if descending_tie else RunRow.id > last_id)
        )
        return or_(*alternatives)


def _encode_token(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def _decode_token(token: str, size: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as exc:
        raise FilterSyntaxError(f"page token: not a token from a previous page ({exc})") from None
    if not isinstance(values, list) or len(values) != size + 1:
        raise FilterSyntaxError("page token: it belongs to a search with another order_by")
    return values


_SEARCHED_TABLES = ("runs", "latest_metrics", "params", "tags")


def search_runs(
    where: str | None = None,
    order_by: str | list[str] | None = None,
    *,
    project: str | None = None,
    status: str | None = None,
    limit: int = 100,
    page_token: str | None = None,
    workspace: Workspace | None = None,
    all_projects: bool = False,
) -> RunPage:
    """Find runs matching a filter, sorted, one page at a time (keyset pagination).

    ``project`` defaults to the current project; ``all_projects=True`` searches all.
    """
    ws = workspace or open_workspace()
    if not isinstance(limit, int) or limit < 1 or limit > 100_000:
        raise ValueError(f"limit: expected an integer from 1 to 100000, got {limit!r}")
    reap_crashed(ws)
    ws.store.refresh_statistics(_SEARCHED_TABLES)
    node = parse_filter(where) if where and where.strip() else None
    order = parse_order(order_by)
    compiler = _Compiler(node, order)
    statement, order_columns = compiler.statement(
        None if all_projects else (project or ws.project), status, page_token
    )
    values_statement = statement.add_columns(*order_columns).limit(limit + 1)
    with ws.store.read() as session:
        rows = session.execute(values_statement).all()
        more = len(rows) > limit
        rows = rows[:limit]
        runs = _hydrate(session, [row[0] for row in rows])
    token = None
    if more and rows:
        last = rows[-1]
        token = _encode_token([*last[1:], last[0].id])
    return RunPage(runs, token)
