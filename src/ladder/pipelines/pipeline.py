"""``@ladder.pipeline``: a function whose step calls form a DAG, run with ``.run(**params)``.

The pipeline function runs once, at build time, with the validated parameters:
each step call adds a node and returns placeholders for its outputs, so plain
Python (loops, conditions on parameters) shapes the DAG. Nothing runs until the
whole DAG is built and every parameter has been checked against its type hint.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ladder.errors import (
    ParameterTypeError,
    PipelineDefinitionError,
    PipelineFailed,
    PipelineNotFound,
)
from ladder.pipelines.cache_key import canonical_json
from ladder.pipelines.dag import (
    Dag,
    DagBuilder,
    StepOutput,
    current_builder,
    refs_in,
    replace_refs,
)
from ladder.pipelines.executors import Executor, resolve_executor
from ladder.pipelines.materializers import first_non_json
from ladder.pipelines.params import check_value, resolved_hints

if TYPE_CHECKING:
    # Running a pipeline needs the database layer; defining one (and a worker process that
    # only computes steps) does not: these are imported where a run starts.
    from ladder.pipelines.records import StepRecord
    from ladder.pipelines.result import PipelineResult
    from ladder.pipelines.scheduler import Observer
    from ladder.tracking import Run
    from ladder.workspace import Workspace

RESERVED = frozenset({"executor", "max_workers", "no_cache", "fail_fast", "workspace", "observer"})


class Pipeline:
    """A pipeline: ``run(**params)`` builds and runs its DAG; ``resume(run_id)`` picks one up."""

    def __init__(self, function: Callable[..., Any], name: str | None = None) -> None:
        if not callable(function) or not hasattr(function, "__code__"):
            raise PipelineDefinitionError(
                f"@pipeline: expected a function, got {type(function).__name__}"
            )
        self.function = function
        self.name = name or function.__name__
        self.signature = inspect.signature(function)
        for parameter in self.signature.parameters.values():
            if parameter.name in RESERVED:
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: parameter name {parameter.name!r} is reserved by "
                    f"run() ({', '.join(sorted(RESERVED))}); rename it"
                )
            if parameter.kind in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.POSITIONAL_ONLY,
            ):
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: parameter {parameter.name!r} must be passable by "
                    f"name (pipeline parameters are given as run(name=value))"
                )
        self.entry = _entry_of(function)
        functools.update_wrapper(self, function)

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}{self.signature}>"

    @property
    def hints(self) -> dict[str, Any]:
        return resolved_hints(self.function)

    # -- parameters and DAG ------------------------------------------------------------------
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        """The full parameter set (defaults filled in), each checked against its type hint."""
        try:
            bound = self.signature.bind(**params)
        except TypeError as exc:
            names = ", ".join(self.signature.parameters) or "none"
            raise ParameterTypeError(
                f"pipeline {self.name!r}: {exc}; its parameters are: {names}"
            ) from None
        bound.apply_defaults()
        hints = self.hints
        values: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            owner = f"pipeline {self.name!r} parameter {name!r}"
            if kind is inspect.Parameter.VAR_KEYWORD:
                for key, item in value.items():
                    values[key] = self._checked(
                        item, hints.get(name), f"pipeline {self.name!r} parameter {key!r}"
                    )
            else:
                values[name] = self._checked(value, hints.get(name), owner)
        return values

    @staticmethod
    def _checked(value: Any, hint: Any, owner: str) -> Any:
        if hint is not None:
            value = check_value(value, hint, owner)
        found = first_non_json(value)
        if found is not None:
            raise ParameterTypeError(
                f"{owner}: pipeline parameters are recorded and reused on resume, so they must "
                f"be JSON values (numbers, strings, booleans, lists, dicts); {found[0]} is a "
                f"{found[1]}. Load such values inside a step instead"
            )
        return value

    def build(self, params: dict[str, Any], workspace: Workspace) -> Dag:
        """Run the pipeline function in build mode (steps add nodes) and return the DAG."""
        builder = DagBuilder(self.name, workspace.artifacts)
        with builder.active():
            returned = self.function(**params)
        return builder.finish(returned)

    def __call__(self, **params: Any) -> Any:
        """Inside another pipeline: inline this pipeline's steps. Elsewhere: ``run(**params)``."""
        if current_builder() is not None:
            return self.function(**self.validate(params))
        return self.run(**params)

    # -- running -----------------------------------------------------------------------------
    def run(
        self,
        *,
        executor: str | Executor = "local",
        max_workers: int | None = None,
        no_cache: bool = False,
        fail_fast: bool = False,
        workspace: Workspace | None = None,
        observer: Observer | None = None,
        **params: Any,
    ) -> PipelineResult:
        """Build the DAG from ``params`` and run it; raise ``PipelineFailed`` if a step failed.

        ``executor``: ``"local"`` (in-process, worker processes for parallel
        branches, ``max_workers``), ``"ray"``, ``"ray://host:port"`` or an
        ``Executor``. ``no_cache`` runs every step. ``fail_fast`` stops running
        branches at the first failure (by default they finish).
        """
        return self._execute(
            params,
            executor=executor,
            max_workers=max_workers,
            no_cache=no_cache,
            fail_fast=fail_fast,
            workspace=workspace,
            observer=observer,
        )

    def resume(
        self,
        run_ref: str,
        *,
        executor: str | Executor = "local",
        max_workers: int | None = None,
        workspace: Workspace | None = None,
        observer: Observer | None = None,
    ) -> PipelineResult:
        """Run a failed or killed run of this pipeline again, reusing every step that finished."""
        from ladder.pipelines.resume import resume

        return resume(
            run_ref,
            pipeline=self,
            executor=executor,
            max_workers=max_workers,
            workspace=workspace,
            observer=observer,
        )

    def _execute(
        self,
        params: dict[str, Any],
        *,
        executor: str | Executor,
        max_workers: int | None,
        no_cache: bool,
        fail_fast: bool,
        workspace: Workspace | None,
        observer: Observer | None,
        reuse: dict[str, StepRecord] | None = None,
        resumed_from: str | None = None,
    ) -> PipelineResult:
        from ladder.pipelines.write_lock import serialized_writes
        from ladder.tracking import active_run, start_run
        from ladder.workspace import open_workspace

        ws = workspace or open_workspace()
        values = self.validate(params)
        dag = self.build(values, ws)
        runner = resolve_executor(executor, max_workers)
        runner.prepare(ws.settings)
        tags = {"ladder.pipeline": self.name, "ladder.executor": runner.describe()}
        if resumed_from:
            tags["ladder.resumed_from"] = resumed_from
        with _store_held_open(ws):
            with serialized_writes(ws):
                run = start_run(
                    self.name,
                    kind="pipeline",
                    parent=active_run(),
                    params={
                        k: v if isinstance(v, str) else canonical_json(v) for k, v in values.items()
                    },
                    tags=tags,
                    workspace=ws,
                )
            with run:
                return self._orchestrate(
                    ws, run, dag, runner, values, no_cache, fail_fast, reuse, resumed_from, observer
                )

    def _orchestrate(
        self,
        ws: Workspace,
        run: Run,
        dag: Dag,
        runner: Executor,
        values: dict[str, Any],
        no_cache: bool,
        fail_fast: bool,
        reuse: dict[str, StepRecord] | None,
        resumed_from: str | None,
        observer: Observer | None,
    ) -> PipelineResult:
        """Record the pipeline run's DAG, run it, link its outputs; raise if a step failed."""
        from ladder.pipelines.records import create_pipeline_run
        from ladder.pipelines.result import PipelineResult
        from ladder.pipelines.scheduler import Scheduler
        from ladder.pipelines.write_lock import serialized_writes

        with serialized_writes(ws):
            create_pipeline_run(
                ws,
                run_id=run.id,
                pipeline=self.name,
                entry=self.entry,
                params_json=canonical_json(values),
                dag=dag.to_json(),
                executor=runner.describe(),
                resumed_from=resumed_from,
                steps=[(node.id, node.step.name) for node in dag.nodes.values()],
            )
        scheduler = Scheduler(
            ws,
            dag,
            run.id,
            runner,
            no_cache=no_cache,
            fail_fast=fail_fast,
            reuse=reuse,
            observer=observer,
        )
        try:
            records = scheduler.run()
        finally:
            runner.shutdown()
        failed = [r for r in records if r.status == "failed"]
        result = PipelineResult(
            run_id=run.id,
            pipeline=self.name,
            status="failed" if failed else "finished",
            steps={r.node: r for r in records},
            returned=replace_refs(
                dag.outputs, lambda ref: {"$output": [ref.node, ref.index]}, (StepOutput,)
            ),
            workspace=ws,
        )
        if failed:
            first = failed[0]
            others = [r.node for r in records if r.status in ("skipped", "cancelled")]
            raise PipelineFailed(
                f"pipeline {self.name!r} run {run.id}: step {first.node!r} failed after "
                f"{first.attempts} attempt(s)"
                + (f"; not run: {', '.join(others)}" if others else "")
                + f"\n{first.error or ''}",
                result,
            )
        returned_nodes = _returned_nodes(dag)
        with serialized_writes(ws):
            for record in records:
                if record.node in returned_nodes:
                    for index, stored in enumerate(record.outputs):
                        role = f"{record.node}.{index}"[:64]
                        run.link("output", "artifact", stored.digest, role)
        return result


def _returned_nodes(dag: Dag) -> set[str]:
    return {ref.node for ref in refs_in(dag.outputs)}


@contextlib.contextmanager
def _store_held_open(ws: Workspace) -> Iterator[None]:
    """Keep one idle connection to a SQLite store for the whole run.

    The store opens a connection per transaction; when the last connection to a
    WAL database closes, SQLite checkpoints the log and deletes it, which costs
    more than the transaction. One idle connection held here avoids that on
    every step record.
    """
    if not ws.store.is_sqlite:
        yield
        return
    connection = ws.store.engine.connect()
    try:
        connection.exec_driver_sql("SELECT 1").close()
        connection.rollback()
        yield
    finally:
        connection.close()


def _entry_of(function: Callable[..., Any]) -> str | None:
    """Where ``ladder pipeline resume`` finds the pipeline: ``module:name`` or ``file.py:name``."""
    qualname = function.__qualname__
    if "<locals>" in qualname:
        return None
    module = function.__module__
    if module == "__main__":
        path = getattr(sys.modules.get("__main__"), "__file__", None)
        return f"{Path(path).resolve()}:{qualname}" if path else None
    return f"{module}:{qualname}"


@overload
def pipeline(function: Callable[..., Any]) -> Pipeline: ...


@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    function: Callable[..., Any] | None = None, *, name: str | None = None
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make a function a pipeline: ``@ladder.pipeline`` or ``@ladder.pipeline(name="training")``."""

    def wrap(fn: Callable[..., Any]) -> Pipeline:
        return Pipeline(fn, name=name)

    return wrap if function is None else wrap(function)


def import_pipeline(spec: str) -> Pipeline:
    """The pipeline named by ``module:attribute`` or ``path/to/file.py:attribute``."""
    module_part, sep, attribute = spec.rpartition(":")
    if not sep or not module_part or not attribute:
        raise PipelineNotFound(
            f"pipeline {spec!r}: expected MODULE:PIPELINE or path/to/file.py:PIPELINE"
        )
    try:
        if module_part.endswith(".py") or "/" in module_part:
            path = Path(module_part).resolve()
            if not path.is_file():
                raise PipelineNotFound(f"pipeline {spec!r}: no such file {path}")
            # Loaded afresh on every call: the file may have changed (a fix before a resume).
            module_name = f"ladder_pipeline_{path.stem}"
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            assert loader_spec is not None and loader_spec.loader is not None
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            loader_spec.loader.exec_module(module)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            module = importlib.import_module(module_part)
    except PipelineNotFound:
        raise
    except ImportError as exc:
        raise PipelineNotFound(f"pipeline {spec!r}: cannot import {module_part!r}: {exc}") from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            names = [n for n, v in vars(module).items() if isinstance(v, Pipeline)]
            raise PipelineNotFound(
                f"pipeline {spec!r}: {module_part} has no attribute {attribute!r}; "
                f"pipelines there: {names or 'none'}"
            )
    if not isinstance(target, Pipeline):
        raise PipelineNotFound(
            f"pipeline {spec!r}: expected a @ladder.pipeline, got {type(target).__name__}"
        )
    if module_part.endswith(".py"):
        target.entry = f"{Path(module_part).resolve()}:{attribute}"
    return target
