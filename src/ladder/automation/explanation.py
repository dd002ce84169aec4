"""``ladder events explain MODEL/V``: why a version is (or isn't) serving, from the record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ladder.automation.events import Event, list_events
from ladder.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class Explanation:
    model: str
    version: int
    aliases: tuple[str, ...]
    serving: tuple[str, ...]  # "deployment: variant share" lines
    verdict: str
    events: tuple[Event, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "aliases": list(self.aliases),
            "serving": list(self.serving),
            "verdict": self.verdict,
            "events": [e.to_dict() for e in self.events],
        }


_DECISIVE = (
    "promoted",
    "rolled_back",
    "gate_failed",
    "loop_failed",
    "gate_passed",
    "canary_started",
)


def explain(uri: str, workspace: Workspace | None = None) -> Explanation:
    """Where ``name/N`` (or ``name@alias``) serves, and the automation events that decided it."""
    from ladder.registry import get_model_version, list_evaluations, resolve_uri
    from ladder.serving import list_deployments

    ws = workspace or open_workspace()
    version = get_model_version(uri, workspace=ws)
    name, number = version.name, version.version
    serving = []
    for deployment in list_deployments(workspace=ws):
        for variant in deployment.policy.variants:
            if resolve_uri(variant.model, workspace=ws) == f"{name}/{number}":
                share = f" {variant.share:g}%" if variant.share is not None else ""
                serving.append(f"{deployment.name}: {variant.name} ({variant.model}){share}")
    # list_events(version=) also returns the model's events without a version: keep this one's.
    events = tuple(
        e
        for e in list_events(model=name, version=number, limit=10_000, workspace=ws)
        if e.version == number
    )
    decisive = [e for e in events if e.kind in _DECISIVE]
    if serving:
        verdict = f"{name}/{number} is serving: " + "; ".join(serving)
        if decisive:
            verdict += f". Last decision: {decisive[-1].message}"
    elif decisive:
        verdict = f"{name}/{number} is not serving. Last decision: {decisive[-1].message}"
    else:
        gates = [g for g in list_evaluations(name, workspace=ws) if g.candidate_version == number]
        if gates:
            outcome = "passed" if gates[-1].passed else "failed"
            verdict = (
                f"{name}/{number} is not serving; its last gate {outcome} and no automation "
                "event names it (it was registered or gated by hand)"
            )
        else:
            verdict = (
                f"{name}/{number} is not serving and no automation event names it "
                "(registered by hand and never gated or deployed)"
            )
    return Explanation(
        model=name,
        version=number,
        aliases=tuple(version.aliases),
        serving=tuple(serving),
        verdict=verdict,
        events=events,
    )
