"""One attempt of one step, computed: its inputs loaded, the step called, its outputs stored.

This is all a local worker process needs, and all it imports: no database
layer. Recording the attempt as a step run (``ladder.pipelines.attempt``) is
done where the attempt is opened: in the orchestrating process for a step
computed by a local worker, beside the computation for an in-process step or a
Ray task. Inputs come from the artifact store by digest, outputs go back to it,
and only small ``Computed`` / ``StepOutcome`` records travel between processes.
"""

from __future__ import annotations

import os
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ladder import run_context
from ladder.artifacts.store import ArtifactStore, open_artifact_store
from ladder.config import Settings
from ladder.errors import LadderError, MaterializerError, ParameterTypeError
from ladder.ids import now_ms
from ladder.pipelines.dag import ValueRef, replace_refs
from ladder.pipelines.materializers import (
    Materializer,
    StoredValue,
    lineage_reference,
    load_value,
    materialized,
    register_materializer,
    trust_types,
    type_name,
)
from ladder.pipelines.params import check_value, conforms, hint_text, resolved_hints

if TYPE_CHECKING:
    from ladder.workspace import Workspace


@dataclass
class StepTask:
    """Everything one attempt needs; picklable, so it can cross to a worker or a Ray node."""

    settings: Settings
    pipeline_run_id: str
    node: str
    step: str
    attempt: int
    max_attempts: int
    executor: str
    cache_key: str | None
    cache_mode: str  # "miss" (looked up, not found) or "off"
    arguments: dict[str, Any]  # JSON constants and ValueRef placeholders
    output_names: tuple[str, ...]
    params: dict[str, str]  # what the step run records as params
    function: Callable[..., Any]
    materializers: tuple[Materializer, ...] = ()  # the user's, registered in this process
    trusted_types: tuple[str, ...] = ()
    source_file: str = ""  # where the step function was defined, for tracebacks elsewhere


@dataclass(frozen=True)
class StepOutcome:
    """What came of one attempt."""

    node: str
    attempt: int
    status: str  # "finished" or "failed"
    run_id: str | None
    outputs: tuple[StoredValue, ...] = ()
    error: str | None = None  # the step's traceback
    retryable: bool = True
    start_time: int = 0
    end_time: int = 0
    recorded: bool = False  # the node's record was written with the step run's end


OnFinished = Callable[[Any, StepOutcome], None]
"""Writes a finished attempt's node record, given the step run's ending transaction (a
SQLAlchemy ``Session``) and the outcome: the scheduler's record, written by the executor."""


@dataclass(frozen=True)
class Computed:
    """What computing one attempt gave: its stored outputs and their lineage, or its error."""

    outputs: tuple[StoredValue, ...] = ()
    output_files: tuple[str, ...] = ()  # each output's artifact name: "outputs/<file>"
    references: tuple[tuple[str, str, str, str], ...] = ()  # (direction, kind, ref, role)
    error: str | None = None  # the step's traceback
    error_summary: str = ""  # "ValueError: message", for the step run's ladder.error tag
    retryable: bool = True


def compute(
    task: StepTask,
    function: Callable[..., Any],
    artifacts: ArtifactStore,
    workspace: Callable[[], Workspace],
) -> Computed:
    """Load the inputs, call the step, store its outputs; an exception becomes an error.

    ``workspace`` opens the stores when a value stored by reference (a dataset,
    a model) is loaded. ``KeyboardInterrupt`` and ``SystemExit`` go through.
    """
    try:
        hints = resolved_hints(function)
        arguments, read = _load_arguments(task, hints, artifacts, workspace)
        values = _split_outputs(task, _invoke(function, arguments), hints.get("return"))
        outputs, files, written = _store_outputs(task, values, artifacts)
    except Exception as exc:
        return Computed(
            error=_user_traceback(exc),
            error_summary=f"{type(exc).__name__}: {exc}"[:1000],
            retryable=not isinstance(exc, LadderError),
        )
    return Computed(outputs, files, (*read, *written))


def _load_arguments(
    task: StepTask,
    hints: dict[str, Any],
    artifacts: ArtifactStore,
    workspace: Callable[[], Workspace],
) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """The step's arguments, stored values loaded and checked against its hints; their lineage."""
    arguments = {}
    references: list[tuple[str, str, str, str]] = []
    for name, template in task.arguments.items():
        value = replace_refs(
            template, lambda ref: load_value(artifacts, ref.stored, workspace), (ValueRef,)
        )
        references.extend(_references("input", value, name))
        if name in hints and not conforms(value, hints[name]):
            check_value(value, hints[name], f"step {task.node!r} parameter {name!r}")
        arguments[name] = value
    return arguments, references


def _store_outputs(
    task: StepTask, values: tuple[Any, ...], artifacts: ArtifactStore
) -> tuple[tuple[StoredValue, ...], tuple[str, ...], list[tuple[str, str, str, str]]]:
    """Each output materialized and moved into the store: (stored values, names, lineage)."""
    outputs: list[StoredValue] = []
    files: list[str] = []
    references: list[tuple[str, str, str, str]] = []
    scratch = artifacts.scratch_dir()
    for name, value in zip(task.output_names, values, strict=True):
        owner = f"step {task.node!r} output {name!r}"
        with materialized(value, owner, name, scratch) as (path, kind):
            files.append(f"outputs/{path.name}")
            stored = artifacts.put_owned_file(path)  # moved into the store, not copied
        outputs.append(
            StoredValue(stored.digest, stored.size, kind.name, kind.version, type_name(value))
        )
        references.extend(_references("output", value, name))
    return tuple(outputs), tuple(files), references


PackedTask = tuple[tuple[str, ...], bytes]
"""A task on its way to another process: the sender's ``sys.path`` and the cloudpickled task."""


def pack_task(task: StepTask) -> PackedTask:
    """Serialise a task for a worker process or a Ray task.

    The step function (and custom materializers) from the user's own modules are
    pickled by value, so the worker does not need to import those modules; what
    they import (pandas, the user's packages) must be importable there.
    """
    import cloudpickle

    from ladder.pipelines.cache_key import is_local_module

    modules = {
        getattr(obj, "__module__", None)
        for obj in (task.function, *(type(m) for m in task.materializers))
    }
    by_value = [
        sys.modules[name]
        for name in modules
        if name and name != "__main__" and name in sys.modules and is_local_module(name)
    ]
    for module in by_value:
        cloudpickle.register_pickle_by_value(module)
    try:
        return tuple(sys.path), cloudpickle.dumps(task)
    finally:
        for module in by_value:
            cloudpickle.unregister_pickle_by_value(module)


def _unpack(packed: PackedTask) -> StepTask:
    """The task from ``pack_task``, its materializers and trusted types registered here."""
    import cloudpickle

    sys_path, blob = packed
    for entry in reversed(sys_path):
        if entry not in sys.path and (entry == "" or os.path.isdir(entry)):
            sys.path.insert(0, entry)
    try:
        task: StepTask = cloudpickle.loads(blob)
    except Exception as exc:
        raise _Unloadable(
            f"a step could not be loaded in worker process {os.getpid()}: "
            f"{type(exc).__name__}: {exc} (what the step's module imports must be "
            f"importable there; sys.path: {sys.path})"
        ) from None
    for materializer in task.materializers:
        register_materializer(materializer)
    if task.trusted_types:
        trust_types(*task.trusted_types)
    if task.source_file:
        _restore_filenames(task.function, task.source_file)
    return task


class _Unloadable(Exception):
    """A packed task that cannot be unpickled in this process."""


def compute_packed(packed: PackedTask, run_id: str) -> Computed:
    """Compute a packed task here (a local worker) for the step run ``run_id``, opened elsewhere.

    While the step's code runs, ``run_id`` is the run that ``ladder.active_run()``
    and ``ladder.log_metric`` reach.
    """
    try:
        task = _unpack(packed)
    except _Unloadable as exc:
        return Computed(error=str(exc), error_summary=str(exc)[:1000], retryable=False)
    with run_context.working_for(run_id, task.settings):
        return compute(
            task,
            task.function,
            open_artifact_store(task.settings.artifact_uri),
            lambda: _workspace_of(task.settings),
        )


def run_packed(packed: PackedTask) -> StepOutcome:
    """Run a packed task in this process, recording it as a step run (a Ray worker)."""
    from ladder.pipelines.attempt import execute_step

    try:
        task = _unpack(packed)
    except _Unloadable as exc:
        now = now_ms()
        return StepOutcome(
            "?", 0, "failed", None, error=str(exc), retryable=False, start_time=now, end_time=now
        )
    return execute_step(task, task.function)


def _workspace_of(settings: Settings) -> Workspace:
    from ladder.workspace import workspace_of

    return workspace_of(settings)


def _restore_filenames(function: Callable[..., Any], filename: str) -> None:
    """Give functions pickled by value their file name back, so tracebacks show source lines.

    cloudpickle names their code ``<dynamic-code>``; the step function and the
    functions of its module it reaches through globals get ``filename`` again.
    """

    def renamed(code: types.CodeType) -> types.CodeType:
        consts = tuple(renamed(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
        return code.replace(co_filename=filename, co_consts=consts)

    module = getattr(function, "__module__", None)
    candidates = [function, *getattr(function, "__globals__", {}).values()]
    for candidate in candidates:
        if (
            isinstance(candidate, types.FunctionType)
            and candidate.__module__ == module
            and candidate.__code__.co_filename == "<dynamic-code>"
        ):
            candidate.__code__ = renamed(candidate.__code__)


def _invoke(function: Callable[..., Any], arguments: dict[str, Any]) -> Any:
    """Call the step function; tracebacks are cut to start at this frame's callee."""
    import inspect

    signature = inspect.signature(function)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if name not in arguments:
            continue
        value = arguments[name]
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value)
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
            kwargs.update(value)
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            args.append(value)
        elif parameter.kind is inspect.Parameter.KEYWORD_ONLY or kwargs:
            kwargs[name] = value
        else:
            args.append(value)
    return function(*args, **kwargs)


def _split_outputs(task: StepTask, returned: Any, declared: Any) -> tuple[Any, ...]:
    count = len(task.output_names)
    if count == 1:
        if declared is not None and not conforms(returned, declared):
            raise ParameterTypeError(
                f"step {task.node!r}: returned {type(returned).__name__}, "
                f"declared -> {hint_text(declared)}"
            )
        return (returned,)
    if not isinstance(returned, (tuple, list)) or len(returned) != count:
        raise ParameterTypeError(
            f"step {task.node!r}: has {count} outputs {list(task.output_names)}, expected it to "
            f"return a tuple of {count} values, got {type(returned).__name__}"
            + (f" of {len(returned)}" if isinstance(returned, (tuple, list)) else "")
        )
    return tuple(returned)


def _references(direction: str, value: Any, role: str) -> list[tuple[str, str, str, str]]:
    """Datasets and registered models among a value (or a list / dict of them), as lineage links."""
    items: list[tuple[str, Any]] = [(role, value)]
    if isinstance(value, (list, tuple)):
        items = [(f"{role}[{i}]", item) for i, item in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"{role}[{k!r}]", item) for k, item in value.items()]
    found = []
    for path, item in items:
        reference = lineage_reference(item)
        if reference is not None:
            found.append((direction, reference[0], reference[1], path[:64]))
    return found


def _user_traceback(exc: BaseException) -> str:
    """The traceback from the step's own code on (Ladder's frames above it left out)."""
    tb = exc.__traceback__
    marker = _invoke.__code__
    walker = tb
    while walker is not None:
        if walker.tb_frame.f_code is marker:
            tb = walker.tb_next or tb
            break
        walker = walker.tb_next
    if isinstance(exc, (MaterializerError, ParameterTypeError)) and walker is None:
        return f"{type(exc).__name__}: {exc}\n"
    return "".join(traceback.format_exception(type(exc), exc, tb))
