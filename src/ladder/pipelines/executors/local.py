"""The local executor: one ready step runs in-process; parallel branches run in worker processes.

Running a lone step in-process costs nothing beyond the step itself and keeps
tracebacks, debuggers and ``print`` where the user expects them. When several
steps are ready at once they go to a pool of up to ``max_workers`` worker
processes, started on first need and kept for the rest of the pipeline run.
Workers are plain ``python -m ladder.pipelines.executors.worker`` processes
talking over two pipes: no ``multiprocessing`` start method re-imports the
user's ``__main__`` module, and a worker that dies is seen at once (end of
pipe), reported as ``WorkerLost`` and replaced.

A worker only computes: this process opens each attempt's step run before
handing it over and ends it with what comes back. Workers therefore load no
database layer (they start in a third of the time) and never wait on the
store's write lock; a step whose own code logs to its run makes its worker
adopt that run (``ladder.run_context``).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from ladder.config import Settings
from ladder.ids import now_ms
from ladder.pipelines.attempt import close_attempt, execute_step, open_attempt
from ladder.pipelines.executors import Executor, WorkerLost
from ladder.pipelines.executors.pipes import read_frame, write_frame
from ladder.pipelines.task import (
    Computed,
    OnFinished,
    PackedTask,
    StepOutcome,
    StepTask,
    pack_task,
)
from ladder.workspace import workspace_of

STOP_GRACE_SECONDS = 5.0


class _WorkerProcess:
    """One worker process and the two pipes to it."""

    def __init__(self) -> None:
        task_read, task_write = os.pipe()
        outcome_read, outcome_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ladder.pipelines.executors.worker",
                    str(task_read),
                    str(outcome_write),
                ],
                pass_fds=(task_read, outcome_write),
                cwd=os.getcwd(),
            )
        finally:
            os.close(task_read)
            os.close(outcome_write)
        self.tasks: BinaryIO = os.fdopen(task_write, "wb")
        self.outcomes: BinaryIO = os.fdopen(outcome_read, "rb")
        if read_frame(self.outcomes) != b"ready":
            self.close()
            raise WorkerLost(
                f"worker process {self.process.pid} exited while starting ({self._exit()})"
            )

    def run(self, payload: bytes) -> Computed:
        try:
            write_frame(self.tasks, payload)
        except (BrokenPipeError, OSError):
            raise WorkerLost(
                f"worker process {self.process.pid} is gone ({self._exit()})"
            ) from None
        frame = read_frame(self.outcomes)
        if frame is None:
            raise WorkerLost(
                f"worker process {self.process.pid} died while running the step ({self._exit()})"
            )
        computed = pickle.loads(frame)
        assert isinstance(computed, Computed)
        return computed

    def _exit(self) -> str:
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self) -> None:
        """SIGTERM (the step run is marked killed), then SIGKILL after a grace period."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.close()

    def close(self) -> None:
        """Close the pipes (an idle worker sees their end and exits), then reap it."""
        self.hang_up()
        self.reap()

    def hang_up(self) -> None:
        for stream in (self.tasks, self.outcomes):
            with contextlib.suppress(OSError):
                stream.close()

    def reap(self) -> None:
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _reap_all(workers: list[_WorkerProcess]) -> None:
    for worker in workers:
        worker.reap()


class LocalExecutor(Executor):
    """In-process for a lone step, a pool of ``max_workers`` processes for parallel branches."""

    name = "local"

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self._threads: ThreadPoolExecutor | None = None
        self._idle: queue.SimpleQueue[_WorkerProcess] = queue.SimpleQueue()
        self._workers: set[_WorkerProcess] = set()
        self._lock = threading.Lock()
        self._running = 0
        self._starting = 0
        self._stopping = False

    def describe(self) -> str:
        return f"local(max_workers={self.max_workers})"

    def capacity(self) -> int:
        with self._lock:
            return max(self.max_workers - self._running, 0)

    def warm_up(self, parallelism: int) -> None:
        """Start worker processes now, while the first steps run in-process (they take seconds)."""
        # A DAG no wider than one step never leaves this process.
        wanted = min(parallelism, self.max_workers) if parallelism > 1 else 0
        for _ in range(wanted):
            threading.Thread(target=self._start_idle_worker, daemon=True).start()

    def _start_idle_worker(self) -> None:
        try:
            worker = self._start_worker()
        except (WorkerLost, OSError):
            return  # a step's checkout starts one again and reports a lasting failure
        if worker is not None:
            self._idle.put(worker)

    def _start_worker(self) -> _WorkerProcess | None:
        """A new worker, unless the pool is full (counting those starting) or stopping."""
        with self._lock:
            if self._stopping or len(self._workers) + self._starting >= self.max_workers:
                return None
            self._starting += 1
        try:
            worker = _WorkerProcess()
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            if self._stopping:
                worker.close()
                return None
            self._workers.add(worker)
        return worker

    def in_process(self, alone: bool) -> bool:
        return alone or self.max_workers == 1

    def submit(
        self, task: StepTask, alone: bool, on_finished: OnFinished | None = None
    ) -> Future[StepOutcome]:
        if self.in_process(alone):
            future: Future[StepOutcome] = Future()
            future.set_result(execute_step(task, task.function, on_finished))
            return future
        packed = pack_task(task)  # a step that cannot be pickled fails here, before its run opens
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.max_workers, thread_name_prefix="ladder-step")
        with self._lock:
            self._running += 1
        return self._threads.submit(self._run_on_worker, task, packed, on_finished)

    def _run_on_worker(
        self, task: StepTask, packed: PackedTask, on_finished: OnFinished | None
    ) -> StepOutcome:
        """Open the step run here, have a worker compute the step, end the run here."""
        try:
            started = now_ms()
            run = open_attempt(task, workspace_of(task.settings), active=False)
            try:
                worker = self._checkout()
                try:
                    computed = worker.run(pickle.dumps((run.id, packed)))
                except WorkerLost:
                    with self._lock:
                        self._workers.discard(worker)
                    worker.close()
                    raise
            except WorkerLost:
                run.release()  # the scheduler ends it (failed, or killed when stopping)
                raise
            self._idle.put(worker)
            return close_attempt(task, run, computed, started, on_finished)
        finally:
            with self._lock:
                self._running -= 1

    def _checkout(self) -> _WorkerProcess:
        """An idle worker, a new one if the pool has room, else the next to become idle."""
        while True:
            try:
                return self._idle.get_nowait()
            except queue.Empty:
                pass
            with self._lock:
                if self._stopping:
                    raise WorkerLost("the executor is stopping")
                room = len(self._workers) + self._starting < self.max_workers
            if room:
                worker = self._start_worker()
                if worker is not None:
                    return worker
            with contextlib.suppress(queue.Empty):
                return self._idle.get(timeout=0.1)

    def cancel_all(self) -> None:
        """End every worker process (SIGTERM, then SIGKILL after a grace period)."""
        with self._lock:
            self._stopping = True
            workers = list(self._workers)
            self._workers.clear()
        stoppers = [threading.Thread(target=w.stop, daemon=True) for w in workers]
        for thread in stoppers:
            thread.start()
        deadline = time.monotonic() + STOP_GRACE_SECONDS + 2
        for thread in stoppers:
            thread.join(max(deadline - time.monotonic(), 0.1))

    def prepare(self, settings: Settings) -> None:
        with self._lock:
            self._stopping = False

    def shutdown(self) -> None:
        with self._lock:
            self._stopping = True  # a worker still starting (warm_up) closes itself
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            worker.hang_up()  # the end of its task pipe ends an idle worker's loop
        if workers:
            # Reaped in the background: a worker's interpreter takes ~10 ms to exit, which the
            # pipeline run need not wait for.
            threading.Thread(
                target=_reap_all, args=(workers,), name="ladder-reap-workers", daemon=True
            ).start()
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
