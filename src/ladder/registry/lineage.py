"""Lineage of a model version: model → run → pipeline run → datasets → git commit.

Read through tracking's public functions (``get_run``, ``run_links``): the
datasets are those recorded at registration plus any the run, its parent
steps or its pipeline run linked as inputs since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladder.errors import RunNotFound
from ladder.registry.versions import DatasetUse, ModelVersion, get_model_version
from ladder.tracking import RunInfo, RunLink, get_run, run_links
from ladder.workspace import Workspace, open_workspace

MAX_DEPTH = 16


@dataclass(frozen=True)
class ModelLineage:
    """Where a model version came from, and which runs have used it since."""

    version: ModelVersion
    run: RunInfo | None
    parents: tuple[RunInfo, ...]  # the run's parent steps, innermost first, up to the pipeline
    pipeline_run: RunInfo | None
    datasets: tuple[DatasetUse, ...]
    git_commit: str | None
    git_dirty: bool | None
    used_by: tuple[RunLink, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.version.uri,
            "flavor": self.version.flavor,
            "run": self.run.to_dict() if self.run else None,
            "parents": [p.to_dict() for p in self.parents],
            "pipeline_run": self.pipeline_run.to_dict() if self.pipeline_run else None,
            "datasets": [{"ref": d.ref, "role": d.role} for d in self.datasets],
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "used_by": [{"run_id": u.run_id, "role": u.role} for u in self.used_by],
        }


def model_lineage(uri: str, workspace: Workspace | None = None) -> ModelLineage:
    """The lineage of the version ``uri`` names."""
    ws = workspace or open_workspace()
    version = get_model_version(uri, workspace=ws)
    run = _run(version.run_id, ws)
    chain: list[RunInfo] = []
    cursor = run
    while cursor is not None and cursor.parent_id is not None and len(chain) < MAX_DEPTH:
        cursor = _run(cursor.parent_id, ws)
        if cursor is not None:
            chain.append(cursor)
    pipeline = next((r for r in ([run] if run else []) + chain if r.kind == "pipeline"), None)
    if pipeline is None and version.pipeline_run_id:
        pipeline = _run(version.pipeline_run_id, ws)
    parents = tuple(r for r in chain if pipeline is None or r.id != pipeline.id)
    datasets: dict[tuple[str, str], DatasetUse] = {(d.ref, d.role): d for d in version.datasets}
    for source in [r for r in (run, *chain) if r is not None]:
        for link in run_links(source.id, kind="dataset", workspace=ws):
            if link.direction == "input":
                use = DatasetUse(link.ref, link.role or "input")
                datasets.setdefault((use.ref, use.role), use)
    used_by = tuple(
        link
        for link in run_links(kind="model", ref=version.uri, workspace=ws)
        if link.direction == "input"
    )
    return ModelLineage(
        version=version,
        run=run,
        parents=parents,
        pipeline_run=pipeline,
        datasets=tuple(datasets.values()),
        git_commit=version.git_commit or (run.git_commit if run else None),
        git_dirty=version.git_dirty if version.git_commit else (run.git_dirty if run else None),
        used_by=used_by,
    )


def _run(run_id: str | None, ws: Workspace) -> RunInfo | None:
    if run_id is None:
        return None
    try:
        return get_run(run_id, workspace=ws)
    except RunNotFound:  # deleted since: the model keeps its id, the lineage shows a gap
        return None
