"""Promotion: move an alias to a candidate only behind a passing gate (or a forced, reasoned move).

The gate must have compared the candidate with the version that holds the
alias *now*; a gate against an older champion is stale. The move itself is a
compare-and-set on that version, so of two promotions racing for one alias,
exactly one wins and the other gets ``AliasConflict`` (both are audited).
"""

from __future__ import annotations

from sqlalchemy import select

from ladder.errors import AliasNotFound, GateFailed, InvalidValue
from ladder.registry.aliases import AliasEvent, set_alias
from ladder.registry.gating import GateResult, evaluation_from_row
from ladder.registry.models import ModelEvaluationRow
from ladder.registry.uri import check_alias, parse_model_uri
from ladder.registry.versions import same_model, version_row
from ladder.workspace import Workspace, open_workspace


def promote(
    candidate: str,
    alias: str = "champion",
    *,
    force: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    workspace: Workspace | None = None,
) -> AliasEvent:
    """Point ``alias`` (``champion`` or ``name@champion``) at ``candidate`` (``name/N``).

    Refuses with ``GateFailed`` unless the candidate's latest gate against the
    current alias holder passed. ``force=True`` skips that check and needs a
    ``reason``, which the audit trail keeps.
    """
    ws = workspace or open_workspace()
    parsed = parse_model_uri(candidate)
    name = parsed.name
    if "@" in alias:
        target = parse_model_uri(alias)
        same_model(parsed, target.name, f"promote to {alias}")
        alias = str(target.alias)
    check_alias(alias)
    if force and not (reason and reason.strip()):
        raise InvalidValue(
            f"promote {candidate} to {name}@{alias} with force: a reason is required"
        )
    with ws.store.read() as session:
        model, row = version_row(session, ws.project, parsed)
        number = row.version
        try:
            _, holder = version_row(session, ws.project, parse_model_uri(f"{name}@{alias}"))
            current: int | None = holder.version
        except AliasNotFound:
            current = None
        evaluations = session.scalars(
            select(ModelEvaluationRow)
            .where(
                ModelEvaluationRow.model_id == model.id,
                ModelEvaluationRow.candidate_version == number,
            )
            .order_by(ModelEvaluationRow.created.desc(), ModelEvaluationRow.id.desc())
        ).all()
        gates = [evaluation_from_row(name, e) for e in evaluations]
    evaluation = next((g for g in gates if g.champion_version == current), None)
    if not force:
        _require_passing(name, number, alias, current, evaluation, gates)
    assert evaluation is not None or force
    return set_alias(
        name,
        alias,
        number,
        reason=reason or (evaluation.summary() if evaluation else None),
        expected=current,
        actor=actor,
        workspace=ws,
        evaluation_id=evaluation.id if evaluation else None,
        forced=force,
    )


def _require_passing(
    name: str,
    number: int,
    alias: str,
    current: int | None,
    evaluation: GateResult | None,
    gates: list[GateResult],
) -> None:
    holder = f"{name}/{current}" if current is not None else "nobody"
    if evaluation is None:
        compared = sorted({g.champion or "no champion" for g in gates})
        stale = f"; its gates compared it with {', '.join(compared)}" if gates else ""
        raise GateFailed(
            f"promote {name}/{number} to {name}@{alias}: no gate against the current holder "
            f"({holder}){stale}; run ladder.gate(candidate='{name}/{number}', "
            f"against='{name}@{alias}', ...) first, or force=True with a reason"
        )
    if not evaluation.passed:
        raise GateFailed(
            f"promote {name}/{number} to {name}@{alias}: its latest gate against {holder} "
            f"failed ({evaluation.summary()}); use force=True with a reason to override"
        )
