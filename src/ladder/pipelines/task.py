"""Running one attempt of one step, wherever it runs: in-process, a worker process or a Ray task.

The attempt opens its own step run (a tracking run whose parent is the pipeline
run) on the stores named in the task, so it needs nothing from the process that
scheduled it: inputs come from the artifact store by digest, outputs go back to
it, and only a small ``StepOutcome`` travels back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ladder.artifacts.store import open_artifact_store
from ladder.config import Settings
from ladder.db import open_store
from ladder.errors import LadderError, MaterializerError, ParameterTypeError
from ladder.pipelines.dag import ValueRef, replace_refs, value_refs
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
from ladder.pipelines.write_lock import serialized_writes
from ladder.tracking import Link, Run, start_run
from ladder.workspace import Workspace

TRACEBACK_ARTIFACT = "ladder/traceback.txt"


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


def _now_ms() -> int:
    return int(time.time() * 1000)


def workspace_for(settings: Settings) -> Workspace:
    """The workspace of ``settings`` in this process (stores are cached per process)."""
    return Workspace(
        settings=settings,
        store=open_store(settings.store_uri),
        artifacts=open_artifact_store(settings.artifact_uri),
    )


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


def run_packed(packed: PackedTask) -> StepOutcome:
    """Run a packed task in this process (a worker process or a Ray worker)."""
    import cloudpickle

    sys_path, blob = packed
    for entry in reversed(sys_path):
        if entry not in sys.path and (entry == "" or os.path.isdir(entry)):
            sys.path.insert(0, entry)
    try:
        task: StepTask = cloudpickle.loads(blob)
    except Exception as exc:
        now = _now_ms()
        return StepOutcome(
            "?",
            0,
            "failed",
            None,
            error=(
                f"a step could not be loaded in worker process {os.getpid()}: "
                f"{type(exc).__name__}: {exc} (what the step's module imports must be "
                f"importable there; sys.path: {sys.path})"
            ),
            retryable=False,
            start_time=now,
            end_time=now,
        )
    for materializer in task.materializers:
        register_materializer(materializer)
    if task.trusted_types:
        trust_types(*task.trusted_types)
    if task.source_file:
        _restore_filenames(task.function, task.source_file)
    return execute_step(task, task.function)


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


def execute_step(task: StepTask, function: Callable[..., Any]) -> StepOutcome:
    """Run one attempt in this process, recorded as a step run. Exceptions become a failed outcome.

    ``KeyboardInterrupt`` and SIGTERM (``SystemExit``) are not caught: the step
    run is marked killed and the interruption goes on. The bookkeeping happens
    in two bursts (before and after the step's own code), each holding the
    store's write lock.
    """
    ws = workspace_for(task.settings)
    started = _now_ms()
    with serialized_writes(ws):
        run = start_run(
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
        )
    try:
        outputs = _attempt(task, function, ws, run)
    except Exception as exc:
        text = _user_traceback(exc)
        retryable = not isinstance(exc, LadderError)
        with serialized_writes(ws):
            try:
                run.log_text(text, TRACEBACK_ARTIFACT)
                run.set_tags({"ladder.error": f"{type(exc).__name__}: {exc}"[:1000]})
            finally:
                run.end("failed")
        return StepOutcome(
            task.node,
            task.attempt,
            "failed",
            run.id,
            error=text,
            retryable=retryable,
            start_time=started,
            end_time=_now_ms(),
        )
    except BaseException:
        run.end("killed")
        raise
    return StepOutcome(
        task.node, task.attempt, "finished", run.id, outputs, start_time=started, end_time=_now_ms()
    )


def _attempt(
    task: StepTask, function: Callable[..., Any], ws: Workspace, run: Run
) -> tuple[StoredValue, ...]:
    """Load the inputs, call the step, store its outputs and end its run as finished."""
    hints = resolved_hints(function)
    arguments = {}
    references: list[tuple[str, str, str, str]] = []  # (direction, kind, ref, role) to link
    for name, template in task.arguments.items():
        value = replace_refs(
            template, lambda ref: load_value(ws.artifacts, ref.stored, ws), (ValueRef,)
        )
        references.extend(_references("input", value, name))
        if name in hints and not conforms(value, hints[name]):
            check_value(value, hints[name], f"step {task.node!r} parameter {name!r}")
        arguments[name] = value
    returned = _invoke(function, arguments)
    values = _split_outputs(task, returned, hints.get("return"))
    with contextlib.ExitStack() as files:
        written = []
        for name, value in zip(task.output_names, values, strict=True):
            owner = f"step {task.node!r} output {name!r}"
            path, materializer = files.enter_context(materialized(value, owner, name))
            ws.artifacts.put_file(path)  # the copy happens here, outside the write lock
            written.append((name, path, materializer, type_name(value)))
            references.extend(_references("output", value, name))
        stored = []
        links = []
        with serialized_writes(ws):
            for name, path, materializer, kind in written:
                digest = run.log_artifact(path, f"outputs/{path.name}")
                size = path.stat().st_size
                stored.append(
                    StoredValue(digest, size, materializer.name, materializer.version, kind)
                )
                links.append(Link("output", "artifact", digest, name))
            links += [Link(*reference) for reference in references]
            run.end("finished", links=links)  # the links and the end in one transaction
    return tuple(stored)


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
