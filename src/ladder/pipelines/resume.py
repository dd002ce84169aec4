"""Resuming a failed pipeline run: a new run that reuses every step the old one finished.

The new run rebuilds the DAG from the recorded parameters and the pipeline's
current code. A node is reused when its cache key is the one it had in the old
run (same code, parameters and inputs), whatever its ``cache`` setting: the
failed step (after a fix) and everything downstream of a change run again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ladder.errors import PipelineNotResumable
from ladder.pipelines.executors import Executor
from ladder.pipelines.pipeline import Pipeline, import_pipeline

if TYPE_CHECKING:
    from ladder.pipelines.result import PipelineResult
    from ladder.pipelines.scheduler import Observer
    from ladder.workspace import Workspace

RESUMABLE = ("failed", "killed", "crashed")


def resume(
    run_ref: str,
    *,
    pipeline: Pipeline | None = None,
    executor: str | Executor = "local",
    max_workers: int | None = None,
    workspace: Workspace | None = None,
    observer: Observer | None = None,
) -> PipelineResult:
    """Resume pipeline run ``run_ref`` (id or unique prefix); return the new run's result.

    ``pipeline`` defaults to the one recorded with the run (``module:name``),
    imported again; pass it when the pipeline is not importable (defined in a
    function or a notebook).
    """
    from ladder.pipelines.records import DONE_STATUSES, get_pipeline_run
    from ladder.workspace import open_workspace

    ws = workspace or open_workspace()
    info = get_pipeline_run(run_ref, ws)
    if info.status not in RESUMABLE:
        hint = "it is still running" if info.status == "running" else "it finished"
        raise PipelineNotResumable(
            f"pipeline run {info.id} ({info.pipeline}): expected a failed, killed or crashed "
            f"run, got status {info.status!r} ({hint}); run the pipeline again instead"
        )
    if pipeline is None:
        if info.entry is None:
            raise PipelineNotResumable(
                f"pipeline run {info.id} ({info.pipeline}): the pipeline was defined inside a "
                f"function, so it cannot be imported again; resume it from Python with "
                f"{info.pipeline}.resume({info.id!r})"
            )
        pipeline = import_pipeline(info.entry)
    elif pipeline.name != info.pipeline:
        raise PipelineNotResumable(
            f"pipeline run {info.id}: it is a run of pipeline {info.pipeline!r}, "
            f"got pipeline {pipeline.name!r}"
        )
    reuse = {record.node: record for record in info.steps if record.status in DONE_STATUSES}
    return pipeline._execute(
        info.params,
        executor=executor,
        max_workers=max_workers,
        no_cache=False,
        fail_fast=False,
        workspace=ws,
        observer=observer,
        reuse=reuse,
        resumed_from=info.id,
    )
