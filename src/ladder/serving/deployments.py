"""Deployments: a stored traffic policy per name, its history of changes, and rollback.

Every change writes the new policy and bumps the deployment's ``revision`` in
one transaction, and appends an event (who, when, why, which policy). Running
servers poll the revision (``deployment_revision``, one indexed row) and swap
models in when it moves. ``rollback_deployment`` re-applies the policy that the
current one replaced, as a new revision, so history is only ever appended to.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ladder.errors import (
    DeploymentExists,
    DeploymentNotFound,
    InvalidTrafficPolicy,
    LadderError,
    NothingToRollBack,
)
from ladder.ids import new_id
from ladder.registry import current_actor, get_model_version
from ladder.serving.models import DeploymentEventRow, DeploymentRow
from ladder.serving.traffic import (
    CANARY,
    PRIMARY,
    SHADOW,
    VARIANT_A,
    VARIANT_B,
    TrafficPolicy,
    parse_share_spec,
    policy_from_options,
)
from ladder.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class Deployment:
    """A deployment as stored: its name, current policy and revision."""

    name: str
    revision: int
    policy: TrafficPolicy
    created: int
    updated: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "revision": self.revision,
            "kind": self.policy.kind,
            "policy": self.policy.to_dict(),
            "created": self.created,
            "updated": self.updated,
        }


@dataclass(frozen=True)
class DeploymentEvent:
    """One change in a deployment's history."""

    revision: int
    action: str  # create | set | rollback
    policy: TrafficPolicy
    actor: str
    reason: str | None
    created: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "action": self.action,
            "kind": self.policy.kind,
            "policy": self.policy.to_dict(),
            "actor": self.actor,
            "reason": self.reason,
            "created": self.created,
        }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _check_models_exist(policy: TrafficPolicy, ws: Workspace) -> None:
    """Refuse a policy naming a model version or alias the registry cannot resolve now."""
    for variant in policy.variants:
        try:
            get_model_version(variant.model, workspace=ws)
        except LadderError as exc:
            raise InvalidTrafficPolicy(f"variant {variant.name!r}: {exc}") from None


def _dump(policy: TrafficPolicy) -> str:
    return orjson.dumps(policy.to_dict()).decode()


def _load(text: str) -> TrafficPolicy:
    return TrafficPolicy.from_dict(orjson.loads(text))


def _row(session: Session, project: str, name: str, *, lock: bool = False) -> DeploymentRow:
    query = select(DeploymentRow).where(
        DeploymentRow.project == project, DeploymentRow.name == name
    )
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        names = session.scalars(
            select(DeploymentRow.name)
            .where(DeploymentRow.project == project)
            .order_by(DeploymentRow.name)
        ).all()
        known = ", ".join(names) if names else "none yet (ladder deploy create NAME --model M)"
        raise DeploymentNotFound(f"deployment {name!r}: not found in project {project!r}; {known}")
    return row


def _deployment(row: DeploymentRow) -> Deployment:
    return Deployment(row.name, row.revision, _load(row.policy), row.created, row.updated)


def create_deployment(
    name: str,
    model: str,
    *,
    canary: str | None = None,
    shadow: str | None = None,
    ab: str | None = None,
    reason: str | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Store deployment ``name`` serving ``model`` with an optional canary, shadow or A-B split.

    Every model URI must resolve in the registry now (aliases keep moving later:
    a server follows them).
    """
    ws = workspace or open_workspace()
    check_deployment_name(name)
    policy = policy_from_options(model, canary=canary, shadow=shadow, ab=ab)
    _check_models_exist(policy, ws)
    now = _now_ms()
    actor = current_actor()
    text = _dump(policy)

    def work(session: Session) -> Deployment:
        exists = session.scalar(
            select(DeploymentRow.id).where(
                DeploymentRow.project == ws.project, DeploymentRow.name == name
            )
        )
        if exists is not None:
            raise DeploymentExists(
                f"deployment {name!r}: already exists in project {ws.project!r}; "
                "change it with ladder deploy set"
            )
        row = DeploymentRow(
            id=new_id(),
            project=ws.project,
            name=name,
            revision=1,
            policy=text,
            created=now,
            updated=now,
        )
        session.add(row)
        session.flush()
        session.add(_event(row, "create", actor, reason, now))
        return _deployment(row)

    return ws.store.write(work)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,249}$")


def check_deployment_name(name: object) -> str:
    """Return ``name`` if it can name a deployment (it becomes a URL path and a file name)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidTrafficPolicy(
            f"deployment name {name!r}: expected 1-250 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def _event(row: DeploymentRow, action: str, actor: str, reason: str | None, now: int) -> Any:
    return DeploymentEventRow(
        deployment_id=row.id,
        revision=row.revision,
        action=action,
        policy=row.policy,
        actor=actor,
        reason=reason,
        created=now,
    )


def get_deployment(name: str, workspace: Workspace | None = None) -> Deployment:
    """The stored deployment ``name`` (``DeploymentNotFound`` lists the known names)."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        return _deployment(_row(session, ws.project, name))


def list_deployments(workspace: Workspace | None = None) -> list[Deployment]:
    """Every deployment of the project, by name."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        rows = session.scalars(
            select(DeploymentRow)
            .where(DeploymentRow.project == ws.project)
            .order_by(DeploymentRow.name)
        ).all()
        return [_deployment(row) for row in rows]


def deployment_revision(name: str, workspace: Workspace) -> int | None:
    """The current revision of ``name`` (None when it is gone): the servers' cheap poll."""
    with workspace.store.read() as session:
        return session.scalar(
            select(DeploymentRow.revision).where(
                DeploymentRow.project == workspace.project, DeploymentRow.name == name
            )
        )


def _apply(
    ws: Workspace,
    name: str,
    action: str,
    reason: str | None,
    change: Any,
) -> Deployment:
    """Run ``change(session, row) -> TrafficPolicy`` under a row lock and store a new revision."""
    now = _now_ms()
    actor = current_actor()

    def work(session: Session) -> Deployment:
        row = _row(session, ws.project, name, lock=True)
        policy: TrafficPolicy = change(session, row)
        row.policy = _dump(policy)
        row.revision += 1
        row.updated = now
        session.add(_event(row, action, actor, reason, now))
        return _deployment(row)

    return ws.store.write(work)


def set_deployment(
    name: str,
    *,
    model: str | None = None,
    canary: str | None = None,
    shadow: str | None = None,
    ab: str | None = None,
    no_canary: bool = False,
    no_shadow: bool = False,
    no_ab: bool = False,
    reason: str | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Change deployment ``name``: options given replace that part of the current policy.

    ``model`` replaces the main model (primary, or ``a`` of an A-B split);
    ``canary``/``ab`` (``MODEL:PERCENT``) set the live split; ``shadow`` sets the
    shadow; the ``no_*`` flags remove a part. Promoting a canary is
    ``set_deployment(name, model="loans/5", no_canary=True)``.
    """
    ws = workspace or open_workspace()
    if (canary and no_canary) or (shadow and no_shadow) or (ab and no_ab):
        raise InvalidTrafficPolicy(
            f"deployment {name!r}: an option and its --no- form were both given"
        )

    def change(session: Session, row: DeploymentRow) -> TrafficPolicy:
        current = _load(row.policy)
        main = current.variant(PRIMARY) or current.variant(VARIANT_A)
        assert main is not None  # every valid policy has a primary or an a
        current_canary = current.variant(CANARY)
        current_b = current.variant(VARIANT_B)
        current_shadow = current.variant(SHADOW)
        new_canary = None if no_canary else canary or _spec(current_canary)
        new_ab = None if no_ab else ab or _spec(current_b)
        if canary and not ab:
            new_ab = None  # switching an A-B split to a canary
        if ab and not canary:
            new_canary = None
        new_shadow = (
            None if no_shadow else shadow or (current_shadow.model if current_shadow else None)
        )
        policy = policy_from_options(
            model or main.model, canary=new_canary, shadow=new_shadow, ab=new_ab
        )
        if policy == current:
            raise InvalidTrafficPolicy(
                f"deployment {name!r}: the change leaves the policy as it is ({current.describe()})"
            )
        return policy

    # Validate the spec and the models before taking the row lock.
    for spec, option in ((canary, "--canary"), (ab, "--ab")):
        if spec:
            candidate, _ = parse_share_spec(spec, option)
            _check_models_exist(policy_from_options(candidate), ws)
    for uri in (model, shadow):
        if uri:
            _check_models_exist(policy_from_options(uri), ws)
    return _apply(ws, name, "set", reason, change)


def _spec(variant: Any) -> str | None:
    return f"{variant.model}:{variant.share:g}" if variant is not None else None


def rollback_deployment(
    name: str,
    *,
    to_revision: int | None = None,
    reason: str | None = None,
    workspace: Workspace | None = None,
) -> Deployment:
    """Return ``name`` to the policy its current one replaced (or to ``to_revision``'s).

    The rollback is a new revision; rolling back twice returns to where it started,
    like ``kubectl rollout undo``.
    """
    ws = workspace or open_workspace()

    def change(session: Session, row: DeploymentRow) -> TrafficPolicy:
        if to_revision is None:
            target = _replaced_revision(session, row)
        elif not 1 <= to_revision <= row.revision:
            raise NothingToRollBack(
                f"deployment {name!r}: no revision {to_revision} "
                f"(expected 1-{row.revision}; the current one is {row.revision})"
            )
        else:
            target = to_revision
        text = session.scalar(
            select(DeploymentEventRow.policy).where(
                DeploymentEventRow.deployment_id == row.id,
                DeploymentEventRow.revision == target,
            )
        )
        assert text is not None  # every revision has its event, written in the same transaction
        policy = _load(text)
        if text == row.policy:
            raise NothingToRollBack(
                f"deployment {name!r}: revision {target} has the current policy already "
                f"({policy.describe()})"
            )
        return policy

    return _apply(ws, name, "rollback", reason, change)


def _replaced_revision(session: Session, row: DeploymentRow) -> int:
    """The latest revision whose policy differs from the current one."""
    target = session.scalar(
        select(func.max(DeploymentEventRow.revision)).where(
            DeploymentEventRow.deployment_id == row.id,
            DeploymentEventRow.policy != row.policy,
        )
    )
    if target is None:
        raise NothingToRollBack(
            f"deployment {row.name!r}: it has had one policy only (revision {row.revision}); "
            "there is nothing to roll back to"
        )
    return int(target)


def deployment_history(name: str, workspace: Workspace | None = None) -> list[DeploymentEvent]:
    """Every change of ``name``, oldest first."""
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        row = _row(session, ws.project, name)
        events = session.scalars(
            select(DeploymentEventRow)
            .where(DeploymentEventRow.deployment_id == row.id)
            .order_by(DeploymentEventRow.revision)
        ).all()
        return [
            DeploymentEvent(e.revision, e.action, _load(e.policy), e.actor, e.reason, e.created)
            for e in events
        ]
