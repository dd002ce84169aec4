"""A local worker process: ``python -m ladder.pipelines.executors.worker TASK_FD OUTCOME_FD``.

It reads (step run id, packed task) pairs from one pipe, computes each step and
writes what came of it to another (stdout and stderr stay the user's). The
parent opened the step run and ends it. The worker ignores Ctrl-C, which the
parent handles by ending its workers with SIGTERM and marking their step runs
killed. It ends itself (SIGTERM) when its parent process dies.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time


def _watch_parent() -> None:
    """SIGTERM ourselves when the parent dies (we are re-parented), so no worker outlives its run.

    A thread polls rather than ``prctl(PR_SET_PDEATHSIG)``, which fires when the
    parent *thread* that started us ends, not the parent process.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ladder-parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    task_fd, outcome_fd = int(argv[0]), int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent()
    from ladder.pipelines.executors.pipes import read_frame, write_frame
    from ladder.pipelines.task import compute_packed

    try:
        with os.fdopen(task_fd, "rb") as tasks, os.fdopen(outcome_fd, "wb") as outcomes:
            write_frame(outcomes, b"ready")
            while True:
                payload = read_frame(tasks)
                if payload is None:
                    return 0
                run_id, packed = pickle.loads(payload)
                computed = compute_packed(packed, run_id)
                write_frame(outcomes, pickle.dumps(computed))
    except BrokenPipeError:
        # The pipeline run ended (or its process died) before this worker was needed or
        # while it ran a step: the parent records what happened; nothing to say here.
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
