"""The DAG a pipeline function builds: nodes (step calls) joined by step outputs.

A node can only take outputs of nodes created before it, so creation order is
a topological order and a cycle cannot be written.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ladder.artifacts.store import ArtifactStore
from ladder.errors import ParameterTypeError, PipelineDefinitionError
from ladder.pipelines.materializers import first_non_json, store_value
from ladder.pipelines.params import check_value, hint_text, produces

if TYPE_CHECKING:
    from ladder.pipelines.step import Step


@dataclass(frozen=True, eq=False)
class StepOutput:
    """A placeholder for one output of a step call, while the pipeline is being built.

    Pass it to other steps (directly or inside a list, tuple or dict); the step
    receives the real value when it runs.
    """

    node: str
    index: int
    name: str
    declared: Any = None

    def __repr__(self) -> str:
        return f"<StepOutput {self.node}.{self.name}>"

    def _misuse(self, what: str) -> str:
        return (
            f"output {self.name!r} of step call {self.node!r} is a placeholder while the pipeline "
            f"is being built: {what} is not available; pass it to a step, which receives the "
            f"real value when it runs"
        )

    def __bool__(self) -> bool:
        raise TypeError(self._misuse("its truth value"))

    def __iter__(self) -> Iterator[Any]:
        raise TypeError(
            self._misuse("iterating it")
            + " (a step returns several outputs when annotated -> tuple[A, B] or given outputs=)"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(self._misuse(f"attribute .{name}"))

    def __getitem__(self, key: Any) -> Any:
        raise TypeError(self._misuse(f"item [{key!r}]"))


@dataclass(frozen=True)
class ValueRef:
    """A stored value standing in an argument: an upstream output or a non-JSON constant."""

    stored: Any  # StoredValue; Any keeps this module free of the materializer imports
    origin: str  # "node.output" for step outputs, "constant" otherwise


def refs_in(value: Any) -> Iterator[StepOutput]:
    """Every step output placeholder inside ``value`` (lists, tuples and dict values)."""
    if isinstance(value, StepOutput):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from refs_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from refs_in(item)


def replace_refs(value: Any, replace: Callable[[Any], Any], kinds: tuple[type, ...]) -> Any:
    """``value`` with every instance of ``kinds`` (inside lists, tuples, dicts) replaced."""
    if isinstance(value, kinds):
        return replace(value)
    if isinstance(value, list):
        return [replace_refs(item, replace, kinds) for item in value]
    if isinstance(value, tuple):
        return tuple(replace_refs(item, replace, kinds) for item in value)
    if isinstance(value, dict):
        return {key: replace_refs(item, replace, kinds) for key, item in value.items()}
    return value


def value_paths(value: Any, kinds: tuple[type, ...], path: str) -> Iterator[tuple[str, Any]]:
    """(path, item) of each instance of ``kinds`` in ``value``: ``df``, ``parts[3]``, ``d['a']``."""
    if isinstance(value, kinds):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from value_paths(item, kinds, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from value_paths(item, kinds, f"{path}[{key!r}]")


def value_refs(arguments: dict[str, Any]) -> list[tuple[str, ValueRef]]:
    """(path, ref) of every stored value among a node's resolved arguments."""
    found: list[tuple[str, ValueRef]] = []
    for name, template in arguments.items():
        found.extend(value_paths(template, (ValueRef,), name))
    return found


@dataclass
class Node:
    """One call of a step inside a pipeline."""

    id: str
    step: Step
    arguments: dict[str, Any]  # parameter name → value, with StepOutput/ValueRef placeholders
    upstream: tuple[str, ...]
    position: int
    outputs: tuple[StepOutput, ...] = ()


@dataclass
class Dag:
    pipeline: str
    nodes: dict[str, Node] = field(default_factory=dict)
    outputs: Any = None  # what the pipeline function returned, with placeholders

    def downstream(self, node_id: str) -> set[str]:
        """Every node that depends on ``node_id``, directly or not."""
        found: set[str] = set()
        for node in self.nodes.values():  # creation order is topological
            if node_id in node.upstream or found.intersection(node.upstream):
                found.add(node.id)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {"id": n.id, "step": n.step.name, "upstream": list(n.upstream)}
                for n in self.nodes.values()
            ],
            "outputs": replace_refs(
                self.outputs, lambda ref: {"$output": [ref.node, ref.index]}, (StepOutput,)
            ),
        }


_building: ContextVar[DagBuilder | None] = ContextVar("ladder_dag_builder", default=None)


def current_builder() -> DagBuilder | None:
    """The DAG being built in this context, or None when steps should run eagerly."""
    return _building.get()


class DagBuilder:
    """Collects the step calls a pipeline function makes, checking each one as it is made."""

    def __init__(self, pipeline: str, artifacts: ArtifactStore) -> None:
        self.dag = Dag(pipeline)
        self.artifacts = artifacts
        self._counts: dict[str, int] = {}

    @contextmanager
    def active(self) -> Iterator[DagBuilder]:
        token = _building.set(self)
        try:
            yield self
        finally:
            _building.reset(token)

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Record a call of ``step``; return its output placeholder(s)."""
        node_id = self._node_id(step.name)
        owner = f"step {node_id!r}"
        try:
            bound = step.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"{owner}: {exc}; the step's signature is {step.name}{step.signature}"
            ) from None
        bound.apply_defaults()
        hints = step.hints
        arguments: dict[str, Any] = {}
        upstream: list[str] = []
        for name, value in bound.arguments.items():
            kind = step.signature.parameters[name].kind
            hint = hints.get(name, Any)
            if kind is inspect.Parameter.VAR_POSITIONAL:
                value = tuple(self._argument(v, hint, f"{owner} parameter *{name}") for v in value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                value = {
                    k: self._argument(v, hint, f"{owner} parameter {k!r}") for k, v in value.items()
                }
            else:
                value = self._argument(value, hint, f"{owner} parameter {name!r}")
            arguments[name] = value
            for ref in refs_in(value):
                if ref.node not in self.dag.nodes:
                    raise PipelineDefinitionError(
                        f"{owner} parameter {name!r}: takes an output of {ref.node!r}, "
                        f"which belongs to another pipeline build"
                    )
                if ref.node not in upstream:
                    upstream.append(ref.node)
        outputs = tuple(
            StepOutput(node_id, index, output_name, step.output_hints[index])
            for index, output_name in enumerate(step.output_names)
        )
        self.dag.nodes[node_id] = Node(
            node_id, step, arguments, tuple(upstream), len(self.dag.nodes), outputs
        )
        return outputs[0] if len(outputs) == 1 else outputs

    def _node_id(self, name: str) -> str:
        count = self._counts.get(name, 0) + 1
        self._counts[name] = count
        return name if count == 1 else f"{name}_{count}"

    def _argument(self, value: Any, hint: Any, owner: str) -> Any:
        if isinstance(value, StepOutput):
            if not produces(value.declared, hint):
                raise ParameterTypeError(
                    f"{owner}: expected {hint_text(hint)}, got the output of step "
                    f"{value.node!r}, declared {hint_text(value.declared)}"
                )
            return value
        if any(True for _ in refs_in(value)):
            return value  # a container of placeholders: each element is checked when it runs
        value = check_value(value, hint, owner)
        if first_non_json(value) is None:
            return value
        # Not JSON: store it now so that its digest enters the cache key and workers can load it.
        return ValueRef(store_value(value, self.artifacts, owner), "constant")

    def finish(self, returned: Any) -> Dag:
        def check(item: Any) -> Any:
            if isinstance(item, StepOutput) or item is None:
                return item
            if isinstance(item, (list, tuple)):
                return type(item)(check(i) for i in item)
            if isinstance(item, dict):
                return {k: check(v) for k, v in item.items()}
            raise PipelineDefinitionError(
                f"pipeline {self.dag.pipeline!r}: must return step outputs (or a tuple, list or "
                f"dict of them, or None), got {type(item).__name__}; compute values inside a step"
            )

        self.dag.outputs = check(returned)
        if not self.dag.nodes:
            raise PipelineDefinitionError(
                f"pipeline {self.dag.pipeline!r}: calls no step; a pipeline is built from "
                f"@ladder.step functions called in its body"
            )
        return self.dag
