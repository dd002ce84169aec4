"""The automation event log: every step of the loop, with its reason and figures."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import insert, or_, select

from ladder.automation.models import EventRow
from ladder.ids import new_id
from ladder.workspace import Workspace, open_workspace

KINDS = (
    "trigger_fired",
    "trigger_skipped",
    "retrain_blocked",
    "drift_explained",
    "pipeline_started",
    "pipeline_finished",
    "pipeline_failed",
    "candidate_registered",
    "gate_passed",
    "gate_failed",
    "canary_started",
    "canary_evaluated",
    "promoted",
    "rolled_back",
    "loop_resumed",
    "loop_failed",
)


@dataclass(frozen=True)
class Event:
    id: str
    time: int
    kind: str
    message: str
    model: str | None = None
    version: int | None = None
    deployment: str | None = None
    trigger: str | None = None
    loop_id: str | None = None
    details: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "message": self.message,
            "model": self.model,
            "version": self.version,
            "deployment": self.deployment,
            "trigger": self.trigger,
            "loop_id": self.loop_id,
            "details": dict(self.details or {}),
        }


def record_event(
    kind: str,
    message: str,
    *,
    model: str | None = None,
    version: int | None = None,
    deployment: str | None = None,
    trigger: str | None = None,
    loop_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    workspace: Workspace | None = None,
) -> Event:
    """Append one event to the log and return it."""
    if kind not in KINDS:
        raise ValueError(f"event kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    ws = workspace or open_workspace()
    event = Event(
        id=new_id(),
        time=int(time.time() * 1000),
        kind=kind,
        message=message,
        model=model,
        version=version,
        deployment=deployment,
        trigger=trigger,
        loop_id=loop_id,
        details=dict(details or {}),
    )
    row = {
        **event.to_dict(),
        "details": orjson.dumps(
            event.details, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
        ).decode(),
    }
    ws.store.write(lambda session: session.execute(insert(EventRow), [row]))
    return event


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        time=row.time,
        kind=row.kind,
        message=row.message,
        model=row.model,
        version=row.version,
        deployment=row.deployment,
        trigger=row.trigger,
        loop_id=row.loop_id,
        details=orjson.loads(row.details),
    )


def list_events(
    *,
    model: str | None = None,
    version: int | None = None,
    loop_id: str | None = None,
    after: str | None = None,
    limit: int = 200,
    workspace: Workspace | None = None,
) -> list[Event]:
    """Events in time order (oldest first); ``after`` continues from an event id."""
    ws = workspace or open_workspace()
    statement = select(EventRow)
    if model is not None:
        statement = statement.where(EventRow.model == model)
    if version is not None:
        statement = statement.where(or_(EventRow.version == version, EventRow.version.is_(None)))
    if loop_id is not None:
        statement = statement.where(EventRow.loop_id == loop_id)
    if after is not None:
        statement = statement.where(EventRow.id > after)
    with ws.store.read() as session:
        rows = session.scalars(statement.order_by(EventRow.id.desc()).limit(limit)).all()
    return [_event(row) for row in reversed(rows)]


def follow_events(
    *, poll_seconds: float = 1.0, workspace: Workspace | None = None
) -> Iterator[Event]:
    """Yield new events as they are recorded (for ``ladder events --follow``)."""
    ws = workspace or open_workspace()
    last: str | None = None
    existing = list_events(limit=1, workspace=ws)
    if existing:
        last = existing[-1].id
    while True:
        fresh = list_events(after=last, limit=1000, workspace=ws)
        for event in fresh:
            yield event
            last = event.id
        time.sleep(poll_seconds)
