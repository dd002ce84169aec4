"""What ``Pipeline.run`` returns: the run id, every step's status, and the output values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ladder.errors import PipelineNotFound
from ladder.pipelines.materializers import load_value
from ladder.pipelines.records import StepRecord
from ladder.workspace import Workspace


@dataclass
class PipelineResult:
    """The outcome of one pipeline run. ``output`` loads the pipeline's return value(s)."""

    run_id: str
    pipeline: str
    status: str
    steps: dict[str, StepRecord]
    returned: Any = field(repr=False)  # the pipeline's return structure, {"$output": [node, index]}
    workspace: Workspace = field(repr=False)
    _output: Any = field(default=None, init=False, repr=False)
    _loaded: bool = field(default=False, init=False, repr=False)

    @property
    def cache_hits(self) -> list[str]:
        """Nodes whose outputs came from the cache (or, on resume, from the resumed run)."""
        return [node for node, record in self.steps.items() if record.status == "cached"]

    @property
    def executed(self) -> list[str]:
        return [node for node, record in self.steps.items() if record.status == "finished"]

    @property
    def failed(self) -> list[str]:
        return [node for node, record in self.steps.items() if record.status == "failed"]

    @property
    def output(self) -> Any:
        """The value(s) the pipeline returned, loaded from the artifact store (once)."""
        if not self._loaded:
            self._output = self._load(self.returned)
            self._loaded = True
        return self._output

    def value(self, node: str, output: int = 0) -> Any:
        """Output number ``output`` of one node, loaded from the artifact store."""
        record = self.steps.get(node)
        if record is None:
            raise PipelineNotFound(
                f"pipeline run {self.run_id}: no node {node!r}; nodes: {list(self.steps)}"
            )
        if not record.outputs:
            raise PipelineNotFound(
                f"pipeline run {self.run_id}: node {node!r} has no outputs (status {record.status})"
            )
        return load_value(self.workspace.artifacts, record.outputs[output], self.workspace)

    def _load(self, item: Any) -> Any:
        if isinstance(item, dict) and set(item) == {"$output"}:
            node, index = item["$output"]
            return self.value(node, index)
        if isinstance(item, list):
            return [self._load(i) for i in item]
        if isinstance(item, tuple):
            return tuple(self._load(i) for i in item)
        if isinstance(item, dict):
            return {k: self._load(v) for k, v in item.items()}
        return item
