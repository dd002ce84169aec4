"""Recording one attempt of a step as a step run: opened before, ended after its computation.

A step run is a tracking run whose parent is the pipeline run: params, tags
(step, node, attempt, executor, cache), input links; then, in one transaction
with its end, its outputs as artifacts and output links, or its traceback.
For a step computed by a local worker, the orchestrating process does both
ends and the worker only computes (``ladder.pipelines.task``); an in-process
step and a Ray task do all three where they run (``execute_step``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ladder.ids import now_ms
from ladder.pipelines.dag import value_refs
from ladder.pipelines.task import Computed, OnFinished, StepOutcome, StepTask, compute
from ladder.pipelines.write_lock import serialized_writes
from ladder.tracking import Link, Run, StoredArtifact, start_run
from ladder.workspace import Workspace, workspace_of

TRACEBACK_ARTIFACT = "ladder/traceback.txt"


def open_attempt(task: StepTask, ws: Workspace, *, active: bool) -> Run:
    """Start the attempt's step run; ``active=False`` when another process computes it."""
    with serialized_writes(ws):
        return start_run(
            task.node,
            kind="step",
            parent=task.pipeline_run_id,
            params=task.params,
            tags={
                "ladder.step": task.step,
                "ladder.node": task.node,
                "ladder.attempt": str(task.attempt),
                "ladder.executor": task.executor,
                "ladder.cache": task.cache_mode,
                **({"ladder.cache_key": task.cache_key} if task.cache_key else {}),
            },
            links=[
                Link("input", "artifact", ref.stored.digest, role[:64])
                for role, ref in value_refs(task.arguments)
                if ref.origin != "constant"
            ],
            workspace=ws,
            active=active,
        )


def close_attempt(
    task: StepTask,
    run: Run,
    computed: Computed,
    started: int,
    on_finished: OnFinished | None = None,
) -> StepOutcome:
    """End the step run with the computation's outputs (one transaction) or its error.

    ``on_finished`` (the node's record) is written in that transaction when the step finished.
    """
    ws = run.workspace
    if computed.error is None:
        outputs = zip(task.output_names, computed.outputs, strict=True)
        links = [Link("output", "artifact", stored.digest, name) for name, stored in outputs]
        links += [Link(*reference) for reference in computed.references]
        artifacts = [
            StoredArtifact(file, o.digest, o.size)
            for file, o in zip(computed.output_files, computed.outputs, strict=True)
        ]
        outcome = StepOutcome(
            task.node,
            task.attempt,
            "finished",
            run.id,
            computed.outputs,
            start_time=started,
            end_time=now_ms(),
            recorded=on_finished is not None,
        )

        def record_node(session: Any) -> None:
            if on_finished is not None:
                on_finished(session, outcome)

        with serialized_writes(ws):
            run.end("finished", links=links, artifacts=artifacts, also=record_node)
        return outcome
    with serialized_writes(ws):
        try:
            run.log_text(computed.error, TRACEBACK_ARTIFACT)
            run.set_tags({"ladder.error": computed.error_summary})
        finally:
            run.end("failed")
    return StepOutcome(
        task.node,
        task.attempt,
        "failed",
        run.id,
        error=computed.error,
        retryable=computed.retryable,
        start_time=started,
        end_time=now_ms(),
    )


def execute_step(
    task: StepTask, function: Callable[..., Any], on_finished: OnFinished | None = None
) -> StepOutcome:
    """Open, compute and close one attempt in this process (in-process steps, Ray tasks).

    The step run is this process's active run while the step's code runs.
    ``KeyboardInterrupt`` and SIGTERM (``SystemExit``) are not caught: the step
    run is marked killed and the interruption goes on.
    """
    ws = workspace_of(task.settings)
    started = now_ms()
    run = open_attempt(task, ws, active=True)
    try:
        computed = compute(task, function, ws.artifacts, lambda: ws)
    except BaseException:
        run.end("killed")
        raise
    return close_attempt(task, run, computed, started, on_finished)
