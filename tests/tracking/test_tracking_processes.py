"""Runs in real processes: concurrent writers, SIGKILL, SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tests.conftest import postgres_schema_url

import ladder
from ladder.tracking.queries import count_metric_points

_LOGGER = textwrap.dedent(
    """
    import sys, time
    import ladder
    start, points = float(sys.argv[1]), int(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    with ladder.start_run(name="writer") as run:
        for step in range(points):
            run.log_metric("value", float(step), step=step)
    print(run.id, flush=True)
    """
)


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **extra}


def _concurrent_writers(processes: int, points: int, env: dict[str, str]) -> list[str]:
    start = str(time.time() + 2.0)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _LOGGER, start, str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    run_ids = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
        assert "database is locked" not in err
        run_ids.append(out.strip())
    return run_ids


@pytest.mark.slow
def test_eight_processes_logging_into_one_sqlite_store_lose_no_point(isolated: Path) -> None:
    run_ids = _concurrent_writers(8, 10_000, _env(LADDER_HOME=str(isolated)))
    counts = [count_metric_points(run_id) for run_id in run_ids]
    assert counts == [10_000] * 8
    assert sum(counts) == 80_000
    with sqlite3.connect(isolated / ".ladder" / "ladder.db") as conn:
        assert conn.execute("SELECT count(*) FROM metrics").fetchone() == (80_000,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert {r.status for r in ladder.search_runs(limit=100).runs} == {"finished"}


@pytest.mark.slow
def test_sixteen_processes_logging_into_one_postgres_store_lose_no_point(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = postgres_schema_url()
    monkeypatch.setenv("LADDER_STORE_URI", uri)
    ladder.search_runs()  # migrate once up front; first-open races are tested elsewhere
    run_ids = _concurrent_writers(16, 10_000, _env(LADDER_HOME=str(isolated), LADDER_STORE_URI=uri))
    counts = [count_metric_points(run_id) for run_id in run_ids]
    assert counts == [10_000] * 16
    assert sum(counts) == 160_000


_KILLED_MID_LOGGING = textwrap.dedent(
    """
    import ladder
    run = ladder.start_run(name="doomed")
    print(run.id, flush=True)
    step = 0
    while True:
        run.log_metric("value", float(step), step=step)
        step += 1
        if step == 5000:
            run.flush()
            print("flushed", step, flush=True)
    """
)


def test_a_run_killed_with_sigkill_shows_as_crashed_and_keeps_flushed_points(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(
        LADDER_HOME=str(isolated), LADDER_HEARTBEAT_SECONDS="0.2", LADDER_FLUSH_SECONDS="0.05"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_MID_LOGGING],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    assert child.stdout.readline().split() == ["flushed", "5000"]
    time.sleep(0.3)  # keep logging past the flush, then die without any chance to clean up
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    monkeypatch.setenv("LADDER_HEARTBEAT_SECONDS", "0.2")
    assert ladder.get_run(run_id).status in ("running", "crashed")
    time.sleep(1.0)  # older than the heartbeat timeout (3 × 0.2 s)
    info = ladder.get_run(run_id)
    assert info.status == "crashed"
    assert info.end_time is not None
    history = ladder.metric_history(run_id, "value")
    steps = [step for step, _, _ in history]
    assert len(steps) >= 5000
    assert steps == list(range(len(steps)))  # a clean prefix: nothing torn, nothing duplicated
    with sqlite3.connect(isolated / ".ladder" / "ladder.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


_TERMINATED = textwrap.dedent(
    """
    import time
    import ladder
    with ladder.start_run(name="terminated") as run:
        run.log_metric("before", 1.0)
        print(run.id, flush=True)
        time.sleep(60)
    """
)


def test_sigterm_marks_the_run_killed_with_an_end_time(isolated: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _TERMINATED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(LADDER_HOME=str(isolated)),
    )
    assert child.stdout is not None
    run_id = child.stdout.readline().strip()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    info = ladder.get_run(run_id)
    assert info.status == "killed"
    assert info.end_time is not None
    assert info.metrics == {"before": 1.0}


_LEFT_OPEN = textwrap.dedent(
    """
    import ladder
    run = ladder.start_run(name="left-open")
    run.log_metric("x", 3.0)
    print(run.id, flush=True)
    """
)


def test_a_run_left_open_is_finished_and_flushed_at_interpreter_exit(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LEFT_OPEN],
        capture_output=True,
        text=True,
        env=_env(LADDER_HOME=str(isolated)),
        check=True,
    )
    info = ladder.get_run(result.stdout.strip())
    assert info.status == "finished"
    assert info.metrics == {"x": 3.0}


_UNCAUGHT = textwrap.dedent(
    """
    import ladder
    run = ladder.start_run(name="uncaught")
    print(run.id, flush=True)
    raise ValueError("bad data")
    """
)


def test_an_uncaught_exception_outside_a_with_block_marks_the_run_failed(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _UNCAUGHT],
        capture_output=True,
        text=True,
        env=_env(LADDER_HOME=str(isolated)),
        check=False,
    )
    assert result.returncode == 1 and "bad data" in result.stderr
    assert ladder.get_run(result.stdout.strip()).status == "failed"
