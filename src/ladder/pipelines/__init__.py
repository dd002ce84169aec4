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
from ladder.pipelines.pipeline import Pipeline, import_pipeline, pipeline
from ladder.pipelines.records import (
    PipelineRunInfo,
    PipelineRunSummary,
    StepRecord,
    get_pipeline_run,
    list_pipeline_runs,
)
from ladder.pipelines.result import PipelineResult
from ladder.pipelines.resume import resume
from ladder.pipelines.scheduler import StepEvent
from ladder.pipelines.step import Step, StepOptions, step

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
