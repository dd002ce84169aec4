"""Helpers of the pipelines slice's tests: subprocess scripts and reading step runs back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import ladder
from ladder.tracking import RunInfo


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child Python process that sees this test's workspace and packages."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **extra}


def write_script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return path


def run_script(path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
        check=False,
    )


def step_runs(pipeline_run_id: str, node: str | None = None) -> list[RunInfo]:
    """The step runs (every attempt) of a pipeline run, oldest first."""
    where = f"parent_id = '{pipeline_run_id}' and kind = 'step'"
    if node is not None:
        where += f" and tags.`ladder.node` = '{node}'"
    runs = ladder.search_runs(where=where, order_by="start_time", limit=1000).runs
    return sorted(runs, key=lambda r: (r.start_time, r.id))


def wait_for(condition: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    """True when no process ``pid`` runs (a zombie counts as gone: it runs no code)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True
