"""Lineage of a step output: the run that computed it, its commit, its inputs, back to datasets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ladder.tracking import get_run, run_links
from ladder.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class Lineage:
    """How one stored value came to be. ``run_id`` is None for a value no step produced."""

    digest: str
    run_id: str | None = None
    step: str | None = None
    pipeline_run_id: str | None = None
    git_commit: str | None = None
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    inputs: tuple[Lineage, ...] = field(default_factory=tuple)

    def all_datasets(self) -> set[str]:
        """Every dataset version anywhere upstream."""
        found = set(self.datasets)
        for item in self.inputs:
            found |= item.all_datasets()
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "run_id": self.run_id,
            "step": self.step,
            "pipeline_run_id": self.pipeline_run_id,
            "git_commit": self.git_commit,
            "datasets": list(self.datasets),
            "models": list(self.models),
            "inputs": [i.to_dict() for i in self.inputs],
        }


def trace_lineage(digest: str, workspace: Workspace | None = None) -> Lineage:
    """Walk back from a stored value to the runs, commits and datasets it was computed from.

    When several runs output the value (cache hits, identical results), the
    first run that computed it is followed.
    """
    ws = workspace or open_workspace()
    memo: dict[str, Lineage] = {}

    def trace(target: str, depth: int) -> Lineage:
        if target in memo:
            return memo[target]
        producers = [
            link.run_id
            for link in run_links(kind="artifact", ref=target, workspace=ws)
            if link.direction == "output"
        ]
        runs = [get_run(run_id, ws) for run_id in producers]
        runs = [r for r in runs if r.kind == "step"] or runs  # a pipeline run re-links its result
        computed = [r for r in runs if r.tags.get("ladder.cache") not in ("hit", "resumed")]
        chosen = min(computed or runs, key=lambda r: r.start_time, default=None)
        if chosen is None or depth > 200:
            memo[target] = Lineage(target)
            return memo[target]
        links = run_links(chosen.id, workspace=ws)
        inputs = tuple(
            trace(link.ref, depth + 1)
            for link in links
            if link.direction == "input" and link.kind == "artifact"
        )
        memo[target] = Lineage(
            digest=target,
            run_id=chosen.id,
            step=chosen.tags.get("ladder.step", chosen.name),
            pipeline_run_id=chosen.parent_id,
            git_commit=chosen.git_commit,
            datasets=tuple(x.ref for x in links if x.direction == "input" and x.kind == "dataset"),
            models=tuple(x.ref for x in links if x.direction == "input" and x.kind == "model"),
            inputs=inputs,
        )
        return memo[target]

    return trace(digest, 0)
