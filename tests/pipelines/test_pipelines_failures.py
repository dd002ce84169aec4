"""Faults: a step raising, retries with backoff, a killed worker, fail-fast, resume, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pipelines_helpers import (
    child_env,
    process_gone,
    run_script,
    step_runs,
    wait_for,
    write_script,
)
from tests.conftest import require_service

import ladder
from ladder.errors import PipelineFailed, PipelineNotResumable
from ladder.pipelines import resume
from ladder.pipelines.attempt import TRACEBACK_ARTIFACT
from ladder.workspace import Workspace


@ladder.step
def rows(n: int) -> list[int]:
    return list(range(n))


@ladder.step
def explode(values: list[int]) -> int:
    bad = values[3]
    raise ValueError(f"boom at row {bad}")


@ladder.step
def report(value: int) -> str:
    return f"value {value}"


@ladder.step
def count(values: list[int]) -> int:
    return len(values)


@ladder.pipeline
def broken(n: int = 5):
    values = rows(n)
    return report(explode(values)), count(values)


def test_a_step_raising_fails_the_run_with_its_traceback_while_other_branches_finish(
    workspace: Workspace,
) -> None:
    with pytest.raises(PipelineFailed) as caught:
        broken.run(max_workers=1)
    message = str(caught.value)
    assert "step 'explode' failed after 1 attempt(s); not run: report" in message
    assert 'raise ValueError(f"boom at row {bad}")' in message
    assert "ValueError: boom at row 3" in message
    assert "scheduler.py" not in message  # the traceback starts in the step's own code
    result = caught.value.result
    assert {node: r.status for node, r in result.steps.items()} == {
        "rows": "finished",
        "explode": "failed",
        "report": "skipped",
        "count": "finished",
    }
    assert result.value("count") == 5
    assert ladder.get_run(result.run_id).status == "failed"
    (failed_run,) = step_runs(result.run_id, "explode")
    assert failed_run.status == "failed"
    assert failed_run.tags["ladder.error"] == "ValueError: boom at row 3"
    assert [a.path for a in ladder.list_artifacts(failed_run.id)] == [TRACEBACK_ARTIFACT]
    assert step_runs(result.run_id, "report") == []


def test_a_failing_step_is_retried_with_exponential_backoff(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    @ladder.step(retries=2, retry_delay=0.2)
    def flaky(folder: str) -> str:
        attempts = Path(folder, "attempts")
        with attempts.open("a") as handle:
            handle.write("x")
        if len(attempts.read_text()) < 3:
            raise ConnectionError("service not ready")
        return "ok"

    @ladder.pipeline
    def patient(folder: str):
        return flaky(folder)

    result = patient.run(folder=str(tmp_path))
    assert result.output == "ok"
    assert result.steps["flaky"].attempts == 3
    runs = step_runs(result.run_id, "flaky")
    assert [(r.tags["ladder.attempt"], r.status) for r in runs] == [
        ("1", "failed"),
        ("2", "failed"),
        ("3", "finished"),
    ]
    assert runs[1].start_time - runs[0].end_time >= 200
    assert runs[2].start_time - runs[1].end_time >= 400


def test_a_step_failing_every_attempt_fails_after_its_retries(sqlite_workspace: Workspace) -> None:
    @ladder.step(retries=1, retry_delay=0)
    def never() -> int:
        raise RuntimeError("always")

    @ladder.pipeline
    def hopeless():
        return never()

    with pytest.raises(PipelineFailed, match="failed after 2 attempt"):
        hopeless.run()


def test_errors_ladder_raises_about_the_step_itself_are_not_retried(
    sqlite_workspace: Workspace,
) -> None:
    @ladder.step(retries=3, retry_delay=0)
    def opaque() -> object:
        return object()

    @ladder.pipeline
    def unstorable():
        return opaque()

    with pytest.raises(PipelineFailed, match="no materializer for type object") as caught:
        unstorable.run()
    assert caught.value.result.steps["opaque"].attempts == 1


@ladder.step(retries=1, retry_delay=0, cache=False)
def victim(folder: str) -> int:
    marker = Path(folder, "killed-once")
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


@ladder.step(cache=False)
def bystander(n: int) -> int:
    return n


@ladder.pipeline
def dangerous(folder: str):
    return victim(folder), bystander(1)


def test_a_killed_worker_process_fails_the_attempt_and_the_step_is_retried(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    result = dangerous.run(folder=str(tmp_path), max_workers=2)
    assert result.status == "finished"  # this process survived: the kill hit a worker
    assert result.steps["victim"].attempts == 2
    first, second = step_runs(result.run_id, "victim")
    assert first.status == "failed"
    assert "died while running the step (killed by SIGKILL)" in first.tags["ladder.error"]
    assert second.status == "finished"


def test_fail_fast_stops_running_branches_and_cancels_the_rest(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    @ladder.step(cache=False)
    def crash(folder: str) -> int:
        wait_for(lambda: Path(folder, "sleeping").exists(), timeout=60, what="the sleeper")
        raise RuntimeError("crash")

    @ladder.step(cache=False)
    def sleeper(folder: str) -> int:
        Path(folder, "sleeping").write_text(str(os.getpid()))
        time.sleep(120)
        return 1

    @ladder.pipeline
    def doomed_race(folder: str):
        return report(crash(folder)), report(sleeper(folder))

    started = time.monotonic()
    with pytest.raises(PipelineFailed) as caught:
        doomed_race.run(folder=str(tmp_path), max_workers=2, fail_fast=True)
    assert time.monotonic() - started < 60
    statuses = {node: r.status for node, r in caught.value.result.steps.items()}
    assert statuses == {
        "crash": "failed",
        "report": "skipped",
        "sleeper": "cancelled",
        "report_2": "cancelled",
    }
    (sleeper_run,) = step_runs(caught.value.result.run_id, "sleeper")
    assert sleeper_run.status == "killed"
    assert process_gone(int(Path(tmp_path, "sleeping").read_text()))


# -- resume ----------------------------------------------------------------------------------------
@ladder.step(cache=False)
def prepare(n: int) -> list[int]:
    return [i * 10 for i in range(n)]


@ladder.step
def fragile(values: list[int], folder: str) -> int:
    if Path(folder, "broken").exists():
        raise OSError("disk full")
    return sum(values)


@ladder.pipeline
def resumable(n: int = 4, folder: str = "."):
    return report(fragile(prepare(n), folder)), count(prepare(n))


def test_resume_reuses_every_completed_step_and_reruns_the_rest(
    workspace: Workspace, tmp_path: Path
) -> None:
    Path(tmp_path, "broken").touch()
    with pytest.raises(PipelineFailed, match="disk full") as caught:
        resumable.run(folder=str(tmp_path), max_workers=1)
    failed = caught.value.result
    Path(tmp_path, "broken").unlink()  # the fix

    result = resume(failed.run_id[:12])
    assert result.status == "finished"
    assert result.output == ("value 60", 4)
    assert result.cache_hits == ["prepare", "prepare_2", "count"]  # even though cache=False
    assert result.executed == ["fragile", "report"]
    for node in result.cache_hits:
        assert result.steps[node].cached_from == failed.steps[node].run_id
        assert step_runs(result.run_id, node)[0].tags["ladder.cache"] == "resumed"
    info = ladder.pipelines.get_pipeline_run(result.run_id)
    assert info.resumed_from == failed.run_id
    assert ladder.get_run(result.run_id).tags["ladder.resumed_from"] == failed.run_id
    assert ladder.get_run(failed.run_id).status == "failed"  # the old run keeps its record

    with pytest.raises(PipelineNotResumable, match="got status 'finished'"):
        resume(result.run_id)


def test_resume_checks_the_pipeline_and_needs_it_importable(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    @ladder.pipeline
    def local_only(folder: str):
        return fragile(prepare(2), folder)

    Path(tmp_path, "broken").touch()
    with pytest.raises(PipelineFailed) as caught:
        local_only.run(folder=str(tmp_path))
    run_id = caught.value.result.run_id
    with pytest.raises(
        PipelineNotResumable, match=r"defined inside a function.*local_only\.resume"
    ):
        resume(run_id)
    with pytest.raises(
        PipelineNotResumable, match="run of pipeline 'local_only', got pipeline 'broken'"
    ):
        broken.resume(run_id)
    Path(tmp_path, "broken").unlink()
    assert local_only.resume(run_id).output == 10


# -- interruption ----------------------------------------------------------------------------------
_SLEEPY = """
import os, sys, time
from pathlib import Path
import ladder

@ladder.step(cache=False)
def nap(tag: str, folder: str) -> str:
    Path(folder, tag + ".pid").write_text(str(os.getpid()))
    time.sleep(300)
    return tag

@ladder.pipeline
def sleepy(folder: str):
    return [nap("a", folder), nap("b", folder)]

if __name__ == "__main__":
    folder, executor = sys.argv[1], sys.argv[2]
    if executor == "ray":
        import ray
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    sleepy.run(folder=folder, executor=executor, max_workers=2)
"""


@pytest.mark.parametrize(
    ("executor", "signum"),
    [("local", signal.SIGTERM), ("local", signal.SIGINT), ("ray", signal.SIGINT)],
    ids=["local-SIGTERM", "local-Ctrl-C", "ray-Ctrl-C"],
)
def test_an_interrupted_pipeline_is_marked_killed_and_its_worker_processes_stop(
    sqlite_workspace: Workspace, tmp_path: Path, executor: str, signum: int
) -> None:
    if executor == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            require_service("Ray", "ray is not installed (pip install -e '.[ray]')")
    script = write_script(tmp_path, "sleepy.py", _SLEEPY)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), executor],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_files = [tmp_path / "a.pid", tmp_path / "b.pid"]
    try:
        wait_for(lambda: all(p.exists() and p.read_text() for p in pid_files), 120, "both steps")
        # Seen from another process meanwhile: both nodes run, each in its step run.
        (running,) = ladder.search_runs(where="kind = 'pipeline'").runs
        shown = ladder.pipelines.get_pipeline_run(running.id).steps
        assert [(s.status, bool(s.run_id)) for s in shown] == [("running", True)] * 2
        parent.send_signal(signum)
        parent.communicate(timeout=90)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode != 0
    workers = [int(p.read_text()) for p in pid_files]
    wait_for(lambda: all(process_gone(pid) for pid in workers), 60, "worker processes to end")
    (pipeline_run,) = ladder.search_runs(where="kind = 'pipeline'").runs
    assert pipeline_run.status == "killed"
    steps = step_runs(pipeline_run.id)
    assert [s.status for s in steps] == ["killed", "killed"]
    info = ladder.pipelines.get_pipeline_run(pipeline_run.id)
    assert [s.status for s in info.steps] == ["killed", "killed"]


def test_workers_started_for_a_run_that_ended_first_exit_without_a_traceback(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A run failing at its first step ends before its warming workers are up: they go quietly."""
    script = write_script(
        tmp_path,
        "short.py",
        """
        import ladder
        from ladder.errors import PipelineFailed

        @ladder.step
        def first() -> int:
            raise ValueError("no data today")

        @ladder.step
        def branch(x: int, i: int) -> int:
            return x + i

        @ladder.pipeline
        def wide():
            x = first()
            return [branch(x, i) for i in range(4)]

        try:
            wide.run(max_workers=2)
        except PipelineFailed:
            print("failed as expected")
        """,
    )
    done = run_script(script)
    assert "failed as expected" in done.stdout, done.stderr
    assert "BrokenPipeError" not in done.stderr, done.stderr
