"""Pipelines of cached steps with full lineage, run locally or on Ray.

::

    import ladder

    @ladder.step
    def load(name: str) -> pd.DataFrame: ...

    @ladder.step(retries=2)
    def train(df: pd.DataFrame, C: float = 1.0) -> LogisticRegression: ...

    @ladder.pipeline
    def training(name: str = "loans@latest", C: float = 1.0):
        return train(load(name), C=C)

    result = training.run(C=0.5, executor="local")   # or "ray", "ray://head:10001"
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ladder.exports import lazy_exports

# Names that are also submodules (``step``, ``pipeline``, ``resume``) are bound here, not on
# first use: importing the submodule would otherwise shadow the function with the module.
from ladder.pipelines.pipeline import Pipeline, import_pipeline, pipeline
from ladder.pipelines.resume import resume
from ladder.pipelines.step import Step, StepOptions, step

if TYPE_CHECKING:
    from ladder.pipelines.dag import StepOutput
    from ladder.pipelines.executors import Executor, resolve_executor
    from ladder.pipelines.executors.local import LocalExecutor
    from ladder.pipelines.executors.ray import RayExecutor
    from ladder.pipelines.lineage import Lineage, trace_lineage
    from ladder.pipelines.materializers import (
        Materializer,
        PickleMaterializer,
        StoredValue,
        load_value,
        register_materializer,
        trust_types,
        unregister_materializer,
    )
    from ladder.pipelines.records import (
        PipelineRunInfo,
        PipelineRunSummary,
        StepRecord,
        get_pipeline_run,
        list_pipeline_runs,
    )
    from ladder.pipelines.result import PipelineResult
    from ladder.pipelines.scheduler import StepEvent

# Imported on first use: a worker process that only runs steps needs none of the
# bookkeeping (records, scheduler, database layer) that the rest pulls in.
_LAZY = {
    "Executor": "ladder.pipelines.executors",
    "Lineage": "ladder.pipelines.lineage",
    "LocalExecutor": "ladder.pipelines.executors.local",
    "Materializer": "ladder.pipelines.materializers",
    "PickleMaterializer": "ladder.pipelines.materializers",
    "PipelineResult": "ladder.pipelines.result",
    "PipelineRunInfo": "ladder.pipelines.records",
    "PipelineRunSummary": "ladder.pipelines.records",
    "RayExecutor": "ladder.pipelines.executors.ray",
    "StepEvent": "ladder.pipelines.scheduler",
    "StepOutput": "ladder.pipelines.dag",
    "StepRecord": "ladder.pipelines.records",
    "StoredValue": "ladder.pipelines.materializers",
    "get_pipeline_run": "ladder.pipelines.records",
    "list_pipeline_runs": "ladder.pipelines.records",
    "load_value": "ladder.pipelines.materializers",
    "register_materializer": "ladder.pipelines.materializers",
    "resolve_executor": "ladder.pipelines.executors",
    "trace_lineage": "ladder.pipelines.lineage",
    "trust_types": "ladder.pipelines.materializers",
    "unregister_materializer": "ladder.pipelines.materializers",
}


__getattr__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = [
    "Executor",
    "Lineage",
    "LocalExecutor",
    "Materializer",
    "PickleMaterializer",
    "Pipeline",
    "PipelineResult",
    "PipelineRunInfo",
    "PipelineRunSummary",
    "RayExecutor",
    "Step",
    "StepEvent",
    "StepOptions",
    "StepOutput",
    "StepRecord",
    "StoredValue",
    "get_pipeline_run",
    "import_pipeline",
    "list_pipeline_runs",
    "load_value",
    "pipeline",
    "register_materializer",
    "resolve_executor",
    "resume",
    "step",
    "trace_lineage",
    "trust_types",
    "unregister_materializer",
]
