"""What the store keeps about pipeline runs: node states and cache entries, written and read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, cast

import orjson
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from ladder.db import Base, upsert
from ladder.errors import PipelineNotFound
from ladder.ids import now_ms
from ladder.pipelines.materializers import StoredValue, current_version
from ladder.pipelines.models import CacheEntryRow, PipelineRunRow, PipelineStepRow
from ladder.tracking import RunInfo, get_run, search_runs
from ladder.workspace import Workspace, open_workspace

STEP_STATUSES = (
    "pending",
    "running",
    "retrying",
    "finished",
    "cached",
    "failed",
    "skipped",
    "cancelled",
    "killed",
)
DONE_STATUSES = ("finished", "cached")


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def outputs_json(outputs: tuple[StoredValue, ...]) -> str:
    return orjson.dumps([o.to_json() for o in outputs]).decode()


def outputs_from_json(text: str) -> tuple[StoredValue, ...]:
    return tuple(StoredValue.from_json(item) for item in orjson.loads(text or "[]"))


@dataclass(frozen=True)
class StepRecord:
    """One node of a pipeline run as stored."""

    node: str
    step: str
    position: int
    status: str
    run_id: str | None
    attempts: int
    cache_key: str | None
    cached_from: str | None
    outputs: tuple[StoredValue, ...]
    error: str | None
    start_time: int | None
    end_time: int | None
    upstream: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000

    @property
    def cache_hit(self) -> bool:
        return self.status == "cached"

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["outputs"] = [o.to_json() for o in self.outputs]
        data["upstream"] = list(self.upstream)
        data["duration_s"] = self.duration_s
        return data


@dataclass(frozen=True)
class PipelineRunInfo:
    """A pipeline run: its tracking run, how it was built, and its nodes in topological order."""

    run: RunInfo
    pipeline: str
    entry: str | None
    params: dict[str, Any]
    executor: str
    resumed_from: str | None
    dag: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def status(self) -> str:
        return self.run.status

    def step(self, node: str) -> StepRecord:
        for record in self.steps:
            if record.node == node:
                return record
        raise KeyError(
            f"pipeline run {self.id}: no node {node!r}; nodes: {[s.node for s in self.steps]}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "pipeline": self.pipeline,
            "entry": self.entry,
            "params": self.params,
            "executor": self.executor,
            "resumed_from": self.resumed_from,
            "dag": self.dag,
            "steps": [s.to_dict() for s in self.steps],
        }


def create_pipeline_run(
    ws: Workspace,
    *,
    run_id: str,
    pipeline: str,
    entry: str | None,
    params_json: str,
    dag: dict[str, Any],
    executor: str,
    resumed_from: str | None,
    steps: list[tuple[str, str]],
) -> None:
    """Record a pipeline run and its nodes (``(node, step)``, topological order) as pending."""
    now = now_ms()
    row = {
        "run_id": run_id,
        "pipeline": pipeline,
        "entry": entry,
        "params": params_json,
        "dag": orjson.dumps(dag).decode(),
        "executor": executor,
        "resumed_from": resumed_from,
        "created": now,
    }
    step_rows = [
        {
            "pipeline_run_id": run_id,
            "node": node,
            "position": position,
            "step": step,
            "status": "pending",
            "run_id": None,
            "attempts": 0,
            "cache_key": None,
            "cached_from": None,
            "outputs": "[]",
            "error": None,
            "start_time": None,
            "end_time": None,
        }
        for position, (node, step) in enumerate(steps)
    ]

    def work(session: Session) -> None:
        session.execute(_table(PipelineRunRow).insert(), [row])
        if step_rows:
            session.execute(_table(PipelineStepRow).insert(), step_rows)

    ws.store.write(work)


def update_steps(
    ws: Workspace,
    pipeline_run_id: str,
    changes: dict[str, dict[str, Any]],
    cache_entry: CacheEntry | None = None,
) -> bool:
    """Apply ``{node: {column: value}}`` to nodes of one pipeline run, and store ``cache_entry``
    unless its key has a usable entry already (the first writer wins), in one transaction.

    Returns True when ``cache_entry`` was stored.
    """

    return bool(
        ws.store.write(
            lambda session: write_steps(ws, session, pipeline_run_id, changes, cache_entry)
        )
    )


def write_steps(
    ws: Workspace,
    session: Session,
    pipeline_run_id: str,
    changes: dict[str, dict[str, Any]],
    cache_entry: CacheEntry | None = None,
) -> bool:
    """``update_steps`` in the caller's transaction."""
    connection = session.connection()  # Core, not the ORM's bulk-update path: a hot path
    steps = cast(Table, PipelineStepRow.__table__)
    for node, values in changes.items():
        connection.execute(
            update(steps)
            .where(steps.c.pipeline_run_id == pipeline_run_id, steps.c.node == node)
            .values(**values)
        )
    return cache_entry is not None and _store_cache(ws, session, cache_entry)


@dataclass(frozen=True)
class CacheEntry:
    cache_key: str
    step: str
    outputs: tuple[StoredValue, ...]
    run_id: str


def lookup_cache(ws: Workspace, cache_keys: list[str]) -> dict[str, CacheEntry]:
    """The entries of ``cache_keys`` whose outputs are still loadable as they were written.

    One query for all the keys: the nodes a finished step makes ready are looked up together.
    """
    table = _table(CacheEntryRow)
    entries = []
    with ws.store.read() as session:
        connection = session.connection()
        for start in range(0, len(cache_keys), 500):  # bound the statement's parameters
            rows = connection.execute(
                select(table.c.cache_key, table.c.step, table.c.outputs, table.c.run_id).where(
                    table.c.cache_key.in_(cache_keys[start : start + 500])
                )
            )
            entries += [CacheEntry(k, s, outputs_from_json(o), r) for k, s, o, r in rows]
    return {entry.cache_key: entry for entry in entries if usable(ws, entry.outputs)}


def usable(ws: Workspace, outputs: tuple[StoredValue, ...]) -> bool:
    """Outputs written by today's materializer versions and still in the artifact store."""
    return all(
        current_version(o.materializer) == o.version and ws.artifacts.exists(o.digest, o.size)
        for o in outputs
    )


def _store_cache(ws: Workspace, session: Session, entry: CacheEntry) -> bool:
    """Insert ``entry`` unless a usable one exists; a stale one (outputs gone) is replaced."""
    existing = session.get(CacheEntryRow, entry.cache_key)
    if existing is not None:
        if usable(ws, outputs_from_json(existing.outputs)):
            return False
        session.delete(existing)
        session.flush()
    row = {
        "cache_key": entry.cache_key,
        "step": entry.step,
        "outputs": outputs_json(entry.outputs),
        "run_id": entry.run_id,
        "created": now_ms(),
    }
    result = session.execute(upsert(session, CacheEntryRow).values(row).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _step_record(row: PipelineStepRow, upstream: dict[str, tuple[str, ...]]) -> StepRecord:
    return StepRecord(
        node=row.node,
        step=row.step,
        position=row.position,
        status=row.status,
        run_id=row.run_id,
        attempts=row.attempts,
        cache_key=row.cache_key,
        cached_from=row.cached_from,
        outputs=outputs_from_json(row.outputs),
        error=row.error,
        start_time=row.start_time,
        end_time=row.end_time,
        upstream=upstream.get(row.node, ()),
    )


def get_pipeline_run(ref: str, workspace: Workspace | None = None) -> PipelineRunInfo:
    """The pipeline run with id (or unique id prefix) ``ref``, with every node."""
    workspace = workspace or open_workspace()
    info = get_run(ref, workspace)
    with workspace.store.read() as session:
        row = session.get(PipelineRunRow, info.id)
        if row is None:
            raise PipelineNotFound(
                f"run {info.id} ({info.name}): not a pipeline run (its kind is {info.kind!r})"
            )
        step_rows = session.scalars(
            select(PipelineStepRow)
            .where(PipelineStepRow.pipeline_run_id == info.id)
            .order_by(PipelineStepRow.position)
        ).all()
        dag = orjson.loads(row.dag)
        upstream = {n["id"]: tuple(n["upstream"]) for n in dag.get("nodes", [])}
        steps = [_step_record(r, upstream) for r in step_rows]
        pipeline, entry, params = row.pipeline, row.entry, orjson.loads(row.params)
        executor, resumed_from = row.executor, row.resumed_from
    if info.status == "running":
        steps = _with_running_attempts(workspace, info.id, steps)
    return PipelineRunInfo(
        run=info,
        pipeline=pipeline,
        entry=entry,
        params=params,
        executor=executor,
        resumed_from=resumed_from,
        dag=dag,
        steps=steps,
    )


def _with_running_attempts(
    ws: Workspace, pipeline_run_id: str, steps: list[StepRecord]
) -> list[StepRecord]:
    """Nodes shown as running while their attempt runs.

    The scheduler records a node when its attempt ends (one write less per
    step); meanwhile the attempt's step run is the record that it is running.
    """
    running = search_runs(
        where=f"parent_id = '{pipeline_run_id}' and status = 'running'",
        workspace=ws,
        all_projects=True,
    ).runs
    attempts = {run.tags.get("ladder.node"): run for run in running}
    return [
        replace(
            step,
            status="running",
            run_id=attempts[step.node].id,
            start_time=step.start_time or attempts[step.node].start_time,
        )
        if step.status in ("pending", "retrying") and step.node in attempts
        else step
        for step in steps
    ]


@dataclass(frozen=True)
class PipelineRunSummary:
    """A line of ``ladder pipeline runs``."""

    run: RunInfo
    pipeline: str
    executor: str
    resumed_from: str | None
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "pipeline": self.pipeline,
            "executor": self.executor,
            "resumed_from": self.resumed_from,
            "steps": self.counts,
        }


def list_pipeline_runs(
    pipeline: str | None = None, limit: int = 50, workspace: Workspace | None = None
) -> list[PipelineRunSummary]:
    """Pipeline runs of the current project (of one pipeline if named), newest first."""
    workspace = workspace or open_workspace()
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit: expected an integer >= 1, got {limit!r}")
    where = "kind = 'pipeline'"
    if pipeline is not None:
        where += " and name = '" + pipeline.replace("'", "''") + "'"
    runs = search_runs(
        where=where, order_by="start_time desc", limit=limit, workspace=workspace
    ).runs
    if not runs:
        return []
    ids = [r.id for r in runs]
    with workspace.store.read() as session:
        rows = {
            r.run_id: r
            for r in session.scalars(select(PipelineRunRow).where(PipelineRunRow.run_id.in_(ids)))
        }
        counts: dict[str, dict[str, int]] = {i: {} for i in ids}
        for run_id, status in session.execute(
            select(PipelineStepRow.pipeline_run_id, PipelineStepRow.status).where(
                PipelineStepRow.pipeline_run_id.in_(ids)
            )
        ):
            counts[run_id][status] = counts[run_id].get(status, 0) + 1
    return [
        PipelineRunSummary(
            run=r,
            pipeline=rows[r.id].pipeline,
            executor=rows[r.id].executor,
            resumed_from=rows[r.id].resumed_from,
            counts=dict(sorted(counts[r.id].items())),
        )
        for r in runs
        if r.id in rows
    ]
