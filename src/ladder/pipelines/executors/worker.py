"""A local worker process: ``python -m ladder.pipelines.executors.worker TASK_FD OUTCOME_FD``.

It reads packed tasks from one pipe and writes outcomes to another (stdout and
stderr stay the user's). It ignores Ctrl-C, which the parent handles by ending
its workers with SIGTERM: the step run is then marked killed by tracking's
SIGTERM handler. On Linux it also asks to receive SIGTERM when its parent dies.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    task_fd, outcome_fd = int(argv[0]), int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    from ladder.pipelines.executors.pipes import read_frame, write_frame
    from ladder.pipelines.task import run_packed

    with os.fdopen(task_fd, "rb") as tasks, os.fdopen(outcome_fd, "wb") as outcomes:
        write_frame(outcomes, b"ready")
        while True:
            payload = read_frame(tasks)
            if payload is None:
                return 0
            packed = pickle.loads(payload)
            outcome = run_packed(packed)
            write_frame(outcomes, pickle.dumps(outcome))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
