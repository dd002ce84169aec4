"""Aliases (``champion``, ``challenger``, any name) and their audit trail.

An alias moves in one transaction that holds the model's row lock, so moves of
one model's aliases are serialised on SQLite and PostgreSQL alike, and the
audit event is written in the same transaction as the move. ``expected=``
turns a move into a compare-and-set: when the alias no longer points where the
caller last saw it, the move is refused with ``AliasConflict`` — and the refused
attempt is audited too (action ``rejected``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ladder.errors import AliasConflict, AliasNotFound, InvalidValue, ModelNotFound
from ladder.registry.models import (
    ModelAliasEventRow,
    ModelAliasRow,
    ModelVersionRow,
)
from ladder.registry.uri import check_alias, check_model_name, parse_model_uri
from ladder.registry.versions import (
    ModelVersion,
    aliases_of,
    current_actor,
    lock_model,
    model_row,
    now_ms,
    same_model,
)
from ladder.workspace import Workspace, open_workspace

UNSET: Any = object()
"""Default of ``expected``: move the alias wherever it points now."""


@dataclass(frozen=True)
class AliasEvent:
    """One entry of the audit trail: who moved which alias from where to where, when and why."""

    id: int
    name: str
    alias: str
    action: str  # set | remove | rejected
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str | None
    created: int
    forced: bool = False
    evaluation_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _event(name: str, row: ModelAliasEventRow) -> AliasEvent:
    return AliasEvent(
        id=row.id,
        name=name,
        alias=row.alias,
        action=row.action,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        reason=row.reason,
        created=row.created,
        forced=row.forced,
        evaluation_id=row.evaluation_id,
    )


def _version_number(name: str, version: int | str | ModelVersion) -> int:
    if isinstance(version, ModelVersion):
        same_model(parse_model_uri(version.uri), name, f"alias of {name}")
        return version.version
    if isinstance(version, bool):
        raise InvalidValue(f"version: expected a number or 'name/N', got {version!r}")
    if isinstance(version, int):
        if version < 1:
            raise InvalidValue(f"version of {name}: expected a positive number, got {version}")
        return version
    if isinstance(version, str):
        if version.isdigit():
            return _version_number(name, int(version))
        parsed = parse_model_uri(version)
        same_model(parsed, name, f"alias of {name}")
        if parsed.version is None:
            raise InvalidValue(
                f"version {version!r}: expected a fixed version such as {name}/3 "
                "(resolve aliases first)"
            )
        return parsed.version
    raise InvalidValue(f"version: expected a number or 'name/N', got {type(version).__name__}")


def set_alias(
    name: str,
    alias: str,
    version: int | str | ModelVersion,
    *,
    reason: str | None = None,
    expected: int | None = UNSET,
    actor: str | None = None,
    workspace: Workspace | None = None,
    evaluation_id: str | None = None,
    forced: bool = False,
) -> AliasEvent:
    """Point ``name@alias`` at ``version`` (a number, ``name/N`` or a ``ModelVersion``).

    With ``expected`` (a version number, or None for "not set yet") the move
    happens only if the alias still points there; otherwise ``AliasConflict``
    is raised and the refused attempt is recorded. Returns the audit event.
    """
    ws = workspace or open_workspace()
    check_model_name(name)
    check_alias(alias)
    number = _version_number(name, version)
    who = actor or current_actor()
    now = now_ms()

    def work(session: Session) -> tuple[AliasEvent, bool]:
        model = lock_model(session, ws.project, name, now)
        if model is None:
            model_row(session, ws.project, name)  # raises ModelNotFound listing models
            raise AssertionError("unreachable")
        target = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.model_id == model.id, ModelVersionRow.version == number
            )
        ).one_or_none()
        if target is None:
            raise ModelNotFound(f"model version {name}/{number}: no such version")
        current = _current(session, model.id, alias)
        refused = expected is not UNSET and current != expected
        row = ModelAliasEventRow(
            model_id=model.id,
            alias=alias,
            action="rejected" if refused else "set",
            from_version=current,
            to_version=number,
            actor=who,
            reason=reason,
            evaluation_id=evaluation_id,
            forced=forced,
            created=now,
        )
        session.add(row)
        if not refused:
            existing = session.get(ModelAliasRow, (model.id, alias))
            if existing is None:
                session.add(
                    ModelAliasRow(model_id=model.id, alias=alias, version_id=target.id, updated=now)
                )
            else:
                existing.version_id, existing.updated = target.id, now
        session.flush()
        return _event(name, row), refused

    event, refused = ws.store.write(work)
    if refused:
        raise AliasConflict(
            f"alias {name}@{alias}: expected it at "
            f"{_describe(name, expected)}, but it is at {_describe(name, event.from_version)} "
            f"(moved by someone else); not moved to {name}/{number}"
        )
    return event


def _describe(name: str, version: int | None) -> str:
    return f"{name}/{version}" if version is not None else "nothing (unset)"


def _current(session: Session, model_id: str, alias: str) -> int | None:
    return session.scalar(
        select(ModelVersionRow.version)
        .join(ModelAliasRow, ModelAliasRow.version_id == ModelVersionRow.id)
        .where(ModelAliasRow.model_id == model_id, ModelAliasRow.alias == alias)
    )


def remove_alias(
    name: str,
    alias: str,
    *,
    reason: str | None = None,
    actor: str | None = None,
    workspace: Workspace | None = None,
) -> AliasEvent:
    """Remove ``name@alias``; ``AliasNotFound`` (listing the aliases there are) if it is not set."""
    ws = workspace or open_workspace()
    check_model_name(name)
    check_alias(alias)
    who = actor or current_actor()
    now = now_ms()

    def work(session: Session) -> AliasEvent:
        model = lock_model(session, ws.project, name, now)
        if model is None:
            model_row(session, ws.project, name)
            raise AssertionError("unreachable")
        current = _current(session, model.id, alias)
        if current is None:
            existing = aliases_of(session, model.id)
            listed = ", ".join(sorted(existing)) or "none"
            raise AliasNotFound(f"alias {name}@{alias}: not set; {name}'s aliases: {listed}")
        session.execute(
            delete(ModelAliasRow).where(
                ModelAliasRow.model_id == model.id, ModelAliasRow.alias == alias
            )
        )
        row = ModelAliasEventRow(
            model_id=model.id,
            alias=alias,
            action="remove",
            from_version=current,
            to_version=None,
            actor=who,
            reason=reason,
            forced=False,
            created=now,
        )
        session.add(row)
        session.flush()
        return _event(name, row)

    return ws.store.write(work)


def alias_history(
    name: str,
    alias: str | None = None,
    *,
    limit: int | None = None,
    workspace: Workspace | None = None,
) -> list[AliasEvent]:
    """The audit trail of ``name``'s aliases (or of one alias), oldest first."""
    ws = workspace or open_workspace()
    check_model_name(name)
    with ws.store.read() as session:
        model = model_row(session, ws.project, name)
        statement = select(ModelAliasEventRow).where(ModelAliasEventRow.model_id == model.id)
        if alias is not None:
            statement = statement.where(ModelAliasEventRow.alias == check_alias(alias))
        if limit is not None:
            newest = statement.order_by(ModelAliasEventRow.id.desc()).limit(limit)
            rows = list(reversed(session.scalars(newest).all()))
        else:
            rows = list(session.scalars(statement.order_by(ModelAliasEventRow.id)).all())
        return [_event(name, row) for row in rows]


def get_aliases(name: str, workspace: Workspace | None = None) -> dict[str, int]:
    """Alias -> version number for model ``name``."""
    ws = workspace or open_workspace()
    check_model_name(name)
    with ws.store.read() as session:
        return dict(sorted(aliases_of(session, model_row(session, ws.project, name).id).items()))
