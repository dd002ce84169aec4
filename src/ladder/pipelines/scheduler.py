"""The scheduler: walks the DAG, answers from the cache, starts attempts, retries, stops cleanly.

It runs in the process that called ``Pipeline.run`` and writes the pipeline's
node records; executors only run attempts (one that ends step runs in this
process writes a finished node's record, prepared here, in the transaction
that ends its step run). A node becomes ready
when all its upstream nodes are done; it is then answered from the cache (or,
on resume, from the resumed run) or queued for its executor. When a step fails
after its retries, its downstream nodes are skipped while independent branches
run to the end, or, with ``fail_fast``, everything still running is stopped and
the rest cancelled. An interruption (Ctrl-C, SIGTERM) ends the worker processes,
marks running nodes killed and pending ones cancelled, and goes on.
"""

from __future__ import annotations

import contextlib
import heapq
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ladder.errors import LadderError
from ladder.ids import now_ms
from ladder.pipelines.cache_key import canonical_json, code_fingerprint, compute_cache_key
from ladder.pipelines.dag import (
    Dag,
    Node,
    StepOutput,
    ValueRef,
    replace_refs,
    value_paths,
    value_refs,
)
from ladder.pipelines.executors import Executor, WorkerLost
from ladder.pipelines.materializers import StoredValue, custom_materializers, trusted_type_names
from ladder.pipelines.records import (
    DONE_STATUSES,
    CacheEntry,
    StepRecord,
    lookup_cache,
    outputs_json,
    update_steps,
    usable,
    write_steps,
)
from ladder.pipelines.task import OnFinished, StepOutcome, StepTask
from ladder.pipelines.write_lock import serialized_writes
from ladder.tracking import Link, end_run_by_id, record_run, search_runs
from ladder.workspace import Workspace

_BLOCKING = ("failed", "skipped", "cancelled", "killed")


@dataclass(frozen=True)
class StepEvent:
    """A change of one node's state, for live progress."""

    node: str
    status: str  # running, finished, cached, retrying, failed, skipped, cancelled, killed
    attempt: int
    max_attempts: int
    duration_s: float | None = None
    detail: str = ""


Observer = Callable[[StepEvent], None]


@dataclass
class _NodeState:
    node: Node
    status: str = "pending"
    attempts: int = 0
    run_id: str | None = None
    cache_key: str | None = None
    cached_from: str | None = None
    outputs: tuple[StoredValue, ...] = ()
    error: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    arguments: dict[str, Any] | None = None  # with ValueRefs, once the node is ready

    def record(self) -> StepRecord:
        return StepRecord(
            node=self.node.id,
            step=self.node.step.name,
            position=self.node.position,
            status=self.status,
            run_id=self.run_id,
            attempts=self.attempts,
            cache_key=self.cache_key,
            cached_from=self.cached_from,
            outputs=self.outputs,
            error=self.error,
            start_time=self.start_time,
            end_time=self.end_time,
            upstream=self.node.upstream,
        )

    def columns(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "run_id": self.run_id,
            "attempts": self.attempts,
            "cache_key": self.cache_key,
            "cached_from": self.cached_from,
            "outputs": outputs_json(self.outputs),
            "error": self.error,
            "start_time": self.start_time,
            "end_time": self.end_time,
        }


class Scheduler:
    """Runs one pipeline run's DAG on one executor."""

    def __init__(
        self,
        ws: Workspace,
        dag: Dag,
        pipeline_run_id: str,
        executor: Executor,
        *,
        no_cache: bool = False,
        fail_fast: bool = False,
        reuse: dict[str, StepRecord] | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.ws = ws
        self.dag = dag
        self.pipeline_run_id = pipeline_run_id
        self.executor = executor
        self.no_cache = no_cache
        self.fail_fast = fail_fast
        self.reuse = reuse or {}
        self.observer = observer
        self.states = {node_id: _NodeState(node) for node_id, node in dag.nodes.items()}
        self._waiting: list[str] = list(dag.nodes)
        self._queue: deque[str] = deque()
        self._running: dict[Future[StepOutcome], tuple[str, int]] = {}
        self._retries: list[tuple[float, str]] = []
        self._fingerprints: dict[int, str] = {}
        self._stopping = False
        self._warmed = False
        self._materializers = tuple(custom_materializers())
        self._trusted = tuple(trusted_type_names())

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> list[StepRecord]:
        for state in self.states.values():
            self._emit(state, "pending")
        try:
            self._loop()
        except BaseException:
            self._stop_everything()
            raise
        return [state.record() for state in self.states.values()]

    def _loop(self) -> None:
        while True:
            self._promote_ready()
            self._dispatch()
            if not self._running and not self._queue and not self._retries:
                if not self._waiting:
                    return
                continue  # cache answers made more nodes ready
            timeout = None
            if self._retries:
                timeout = max(self._retries[0][0] - time.monotonic(), 0.0)
            if self._running:
                done, _ = wait(list(self._running), timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    self._complete(future)
            elif timeout:
                time.sleep(timeout)
            now = time.monotonic()
            while self._retries and self._retries[0][0] <= now:
                _, node_id = heapq.heappop(self._retries)
                self._queue.append(node_id)

    def _promote_ready(self) -> None:
        still_waiting = []
        ready = []
        for node_id in self._waiting:
            state = self.states[node_id]
            upstream = [self.states[u].status for u in state.node.upstream]
            if any(status in ("failed", "skipped") for status in upstream):
                self._finish(state, "skipped", detail="an upstream step failed")
            elif self._stopping or any(status in _BLOCKING for status in upstream):
                self._finish(state, "cancelled", detail="stopped after a failure (fail_fast)")
            elif all(status in DONE_STATUSES for status in upstream):
                ready.append(state)
            else:
                still_waiting.append(node_id)
        self._waiting = still_waiting
        for state in ready:
            self._resolve(state)
        keys = [s.cache_key for s in ready if s.cache_key and self._caches(s)]
        cached = lookup_cache(self.ws, keys) if keys else {}
        for state in ready:
            self._answer_or_queue(state, cached.get(state.cache_key or ""))

    def _caches(self, state: _NodeState) -> bool:
        return state.node.step.options.cache and not self.no_cache

    def _resolve(self, state: _NodeState) -> None:
        """Resolve the node's inputs and compute its cache key."""
        node = state.node
        state.arguments = {
            name: replace_refs(value, self._input_ref, (StepOutput,))
            for name, value in node.arguments.items()
        }
        fingerprint = self._fingerprints.get(id(node.step))
        if fingerprint is None:
            fingerprint = self._fingerprints[id(node.step)] = code_fingerprint(node.step.function)
        state.cache_key = compute_cache_key(
            node.step.name,
            fingerprint,
            {
                name: replace_refs(
                    value,
                    lambda ref: {
                        "$ref": [ref.stored.digest, ref.stored.materializer, ref.stored.version]
                    },
                    (ValueRef,),
                )
                for name, value in state.arguments.items()
            },
            len(node.step.output_names),
        )

    def _answer_or_queue(self, state: _NodeState, cached: CacheEntry | None) -> None:
        """Answer the node from the resumed run or the cache, or queue it to run."""
        node = state.node
        previous = self.reuse.get(node.id)
        if (
            previous is not None
            and previous.cache_key == state.cache_key
            and previous.run_id is not None
            and previous.outputs
            and usable(self.ws, previous.outputs)
        ):
            self._answer_from(state, previous.outputs, previous.run_id, "resumed")
            return
        if cached is not None and self._caches(state):
            self._answer_from(state, cached.outputs, cached.run_id, "hit")
            return
        self._queue.append(node.id)

    def _input_ref(self, ref: StepOutput) -> ValueRef:
        stored = self.states[ref.node].outputs[ref.index]
        return ValueRef(stored, f"{ref.node}.{ref.name}")

    def _dispatch(self) -> None:
        while self._queue and not self._stopping and self.executor.capacity() > 0:
            alone = len(self._queue) == 1 and not self._running
            node_id = self._queue.popleft()
            state = self.states[node_id]
            state.attempts += 1
            if state.start_time is None:
                state.start_time = now_ms()
            state.status = "running"
            # The node is recorded when its attempt ends (one write less per step); its step
            # run shows it running meanwhile (``get_pipeline_run`` reads it from there).
            self._emit(state, "running")
            task = self._task(state)
            if not self._warmed:  # the first step to execute: nothing so far came from the cache
                self._warmed = True
                self.executor.warm_up(_widest_level(self.dag))
            try:
                future = self.executor.submit(task, alone, self._finished_record(state))
            except (LadderError, WorkerLost, TypeError, ValueError, AttributeError) as exc:
                # Typically a step whose globals cannot be pickled for a worker process.
                future = Future()
                future.set_result(
                    StepOutcome(
                        node_id,
                        state.attempts,
                        "failed",
                        None,
                        error=(
                            f"step {node_id!r} could not be started on executor "
                            f"{self.executor.describe()}: {type(exc).__name__}: {exc}"
                        ),
                        retryable=False,
                    )
                )
            self._running[future] = (node_id, state.attempts)

    def _task(self, state: _NodeState) -> StepTask:
        node = state.node
        assert state.arguments is not None
        cache_on = node.step.options.cache and not self.no_cache
        return StepTask(
            settings=self.ws.settings,
            pipeline_run_id=self.pipeline_run_id,
            node=node.id,
            step=node.step.name,
            attempt=state.attempts,
            max_attempts=node.step.options.retries + 1,
            executor=self.executor.name,
            cache_key=state.cache_key,
            cache_mode="miss" if cache_on else "off",
            arguments=state.arguments,
            output_names=node.step.output_names,
            params=_loggable_params(state.arguments),
            function=node.step.function,
            materializers=self._materializers,
            trusted_types=self._trusted,
            source_file=node.step.function.__code__.co_filename,
        )

    # -- outcomes ----------------------------------------------------------------------------
    def _complete(self, future: Future[StepOutcome]) -> None:
        node_id, attempt = self._running.pop(future)
        state = self.states[node_id]
        try:
            outcome = future.result()
        except Exception as exc:  # the worker process (or Ray worker) died
            status = "killed" if self._stopping else "failed"
            run_id = self._end_orphans(node_id, attempt, status, f"{type(exc).__name__}: {exc}")
            outcome = StepOutcome(
                node_id,
                attempt,
                "failed",
                run_id,
                error=f"step {node_id!r} attempt {attempt}: {exc}",
                retryable=True,
            )
        state.run_id = outcome.run_id or state.run_id
        if outcome.status == "finished":
            state.outputs = outcome.outputs
            state.error = None
            if outcome.recorded:  # written with the step run's end (_finished_record)
                state.status, state.end_time = "finished", outcome.end_time
                self._emit(state, "finished")
                return
            self._finish(state, "finished", cache_entry=self._cache_entry(state, outcome))
            return
        state.error = outcome.error
        if self._stopping:
            self._finish(state, "cancelled", detail="stopped after a failure (fail_fast)")
            return
        max_attempts = state.node.step.options.retries + 1
        if outcome.retryable and state.attempts < max_attempts:
            delay = state.node.step.options.delay_before(state.attempts + 1)
            state.status = "retrying"
            self._save(state)
            self._emit(state, "retrying", detail=f"retrying in {delay:g}s")
            heapq.heappush(self._retries, (time.monotonic() + delay, node_id))
            return
        self._finish(state, "failed", detail=_last_line(outcome.error))
        if self.fail_fast:
            self._stopping = True
            self.executor.cancel_all()
            for queued in list(self._queue):
                self._finish(
                    self.states[queued], "cancelled", detail="stopped after a failure (fail_fast)"
                )
            self._queue.clear()
            for _, retried in self._retries:
                self._finish(
                    self.states[retried], "cancelled", detail="stopped after a failure (fail_fast)"
                )
            self._retries.clear()

    def _finished_record(self, state: _NodeState) -> OnFinished:
        """The node's record once its attempt finished, for the executor to write in the
        transaction that ends the step run (one transaction per executed step)."""

        def write(session: Session, outcome: StepOutcome) -> None:
            columns = state.columns() | {
                "status": "finished",
                "run_id": outcome.run_id,
                "outputs": outputs_json(outcome.outputs),
                "error": None,
                "end_time": outcome.end_time,
            }
            write_steps(
                self.ws,
                session,
                self.pipeline_run_id,
                {state.node.id: columns},
                self._cache_entry(state, outcome),
            )

        return write

    def _cache_entry(self, state: _NodeState, outcome: StepOutcome) -> CacheEntry | None:
        if not (self._caches(state) and state.cache_key and outcome.run_id):
            return None
        return CacheEntry(state.cache_key, state.node.step.name, outcome.outputs, outcome.run_id)

    def _answer_from(
        self, state: _NodeState, outputs: tuple[StoredValue, ...], source_run: str, how: str
    ) -> None:
        """Record a step run that reuses stored outputs (a cache hit, or a resumed step).

        The step run (params, tags, input and output links, its end) and the node's
        record go in one transaction.
        """
        assert state.arguments is not None
        state.start_time = now_ms()
        links = [
            Link("input", "artifact", ref.stored.digest, role[:64])
            for role, ref in value_refs(state.arguments)
            if ref.origin != "constant"
        ]
        links += [
            Link("output", "artifact", stored.digest, name)
            for name, stored in zip(state.node.step.output_names, outputs, strict=False)
        ]
        state.status = "cached"
        state.cached_from = source_run
        state.outputs = outputs
        state.end_time = now_ms()

        def save_node(session: Session, run_id: str) -> None:
            state.run_id = run_id
            write_steps(self.ws, session, self.pipeline_run_id, {state.node.id: state.columns()})

        with serialized_writes(self.ws):
            record_run(
                state.node.id,
                kind="step",
                parent=self.pipeline_run_id,
                params=_loggable_params(state.arguments),
                tags={
                    "ladder.step": state.node.step.name,
                    "ladder.node": state.node.id,
                    "ladder.attempt": "0",
                    "ladder.executor": self.executor.name,
                    "ladder.cache": how,
                    "ladder.cache_key": state.cache_key or "",
                    "ladder.cached_from": source_run,
                },
                links=links,
                start_time=state.start_time,
                end_time=state.end_time,
                also=save_node,
                workspace=self.ws,
            )
        self._emit(state, "cached", detail=f"from {source_run}")

    def _finish(
        self,
        state: _NodeState,
        status: str,
        detail: str = "",
        cache_entry: CacheEntry | None = None,
    ) -> None:
        state.status = status
        state.end_time = now_ms()
        self._save(state, cache_entry)
        self._emit(state, status, detail=detail)

    def _save(self, state: _NodeState, cache_entry: CacheEntry | None = None) -> None:
        with serialized_writes(self.ws):
            update_steps(
                self.ws, self.pipeline_run_id, {state.node.id: state.columns()}, cache_entry
            )

    def _emit(self, state: _NodeState, status: str, detail: str = "") -> None:
        if self.observer is None:
            return
        duration = None
        if state.start_time is not None and state.end_time is not None and status != "running":
            duration = (state.end_time - state.start_time) / 1000
        self.observer(
            StepEvent(
                state.node.id,
                status,
                state.attempts,
                state.node.step.options.retries + 1,
                duration,
                detail,
            )
        )

    # -- stopping ----------------------------------------------------------------------------
    def _stop_everything(self) -> None:
        """After an interruption: end workers, mark what ran killed and the rest cancelled."""
        self._stopping = True
        with contextlib.suppress(Exception):
            self.executor.cancel_all()
        changes: dict[str, dict[str, Any]] = {}
        now = now_ms()
        for state in self.states.values():
            if state.status in ("running",):
                state.status = "killed"
                with contextlib.suppress(Exception):
                    self._end_orphans(state.node.id, state.attempts, "killed", "interrupted")
            elif state.status in ("pending", "retrying"):
                state.status = "cancelled"
            else:
                continue
            state.end_time = now
            changes[state.node.id] = state.columns()
        with contextlib.suppress(Exception), serialized_writes(self.ws):
            update_steps(self.ws, self.pipeline_run_id, changes)

    def _end_orphans(self, node_id: str, attempt: int, status: str, reason: str) -> str | None:
        """End the step run of an attempt whose process died (it cannot end itself)."""
        where = (
            f"parent_id = '{self.pipeline_run_id}' and status = 'running' "
            f"and tags.`ladder.node` = '{node_id}' and tags.`ladder.attempt` = '{attempt}'"
        )
        found = None
        with serialized_writes(self.ws):
            orphans = search_runs(where=where, workspace=self.ws, all_projects=True).runs
        for info in orphans:
            with serialized_writes(self.ws):
                end_run_by_id(
                    info.id,
                    status,
                    tags={"ladder.error": f"worker lost: {reason}"[:1000]},
                    workspace=self.ws,
                )
            found = info.id
        return found


def _widest_level(dag: Dag) -> int:
    """How many steps could run at once, at most: the widest level of the DAG."""
    level: dict[str, int] = {}
    sizes: dict[int, int] = {}
    for node in dag.nodes.values():  # creation order is topological
        level[node.id] = 1 + max((level[u] for u in node.upstream), default=-1)
        sizes[level[node.id]] = sizes.get(level[node.id], 0) + 1
    return max(sizes.values(), default=0)


def _last_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def _loggable_params(arguments: dict[str, Any]) -> dict[str, str]:
    """Constants as params: scalars as text, containers as JSON, stored values by digest."""
    params: dict[str, str] = {}
    for name, value in arguments.items():
        if isinstance(value, ValueRef):
            if value.origin == "constant":
                params[name] = f"{value.stored.type_name} {value.stored.digest}"
            continue
        if any(True for _ in value_paths(value, (ValueRef,), name)):
            continue
        text = value if isinstance(value, str) else canonical_json(value)
        if len(text) <= 6000:
            params[name] = text
    return params
