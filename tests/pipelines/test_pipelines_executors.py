"""The same pipelines on the local and the Ray executor; Ray addresses and store checks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from pipelines_helpers import child_env, step_runs
from tests.conftest import require_service

import ladder
from ladder.config import Settings
from ladder.db import forget_stores
from ladder.errors import ExecutorError, PipelineFailed
from ladder.pipelines import LocalExecutor, RayExecutor, resolve_executor
from ladder.workspace import Workspace, open_workspace


@pytest.fixture(params=["local", "ray"])
def executor(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_runtime")
    return str(request.param)


@ladder.step
def table(n: int) -> pd.DataFrame:
    return pd.DataFrame({"part": [i % 3 for i in range(n)], "value": range(n)})


@ladder.step
def part_sum(df: pd.DataFrame, part: int) -> int:
    return int(df.loc[df["part"] == part, "value"].sum())


@ladder.step
def overall(sums: list[int]) -> dict[str, int]:
    return {"total": sum(sums), "parts": len(sums)}


@ladder.pipeline
def partitioned(n: int = 30):
    df = table(n)
    return overall([part_sum(df, part) for part in range(3)])


def test_the_same_pipeline_gives_the_same_outputs_on_both_executors(
    sqlite_workspace: Workspace, executor: str
) -> None:
    result = partitioned.run(executor=executor, max_workers=2)
    assert result.output == {"total": sum(range(30)), "parts": 3}
    steps = step_runs(result.run_id)
    assert len(steps) == 5
    assert {s.tags["ladder.executor"] for s in steps} == {executor}
    assert ladder.get_run(result.run_id).tags["ladder.executor"].startswith(executor)
    again = partitioned.run(executor=executor, max_workers=2)
    assert again.cache_hits == ["table", "part_sum", "part_sum_2", "part_sum_3", "overall"]


def test_values_cross_processes_through_an_s3_artifact_store(
    isolated: Path, s3_uri: str, monkeypatch: pytest.MonkeyPatch, executor: str
) -> None:
    monkeypatch.setenv("LADDER_ARTIFACT_URI", s3_uri)
    result = partitioned.run(n=12, executor=executor, max_workers=2)
    assert result.output == {"total": sum(range(12)), "parts": 3}
    digest = result.steps["table"].outputs[0].digest
    assert open_workspace().artifacts.exists(digest)
    assert result.steps["table"].outputs[0].materializer == "pandas"
    forget_stores()


@ladder.step(cache=False)
def scored_part(df: pd.DataFrame, part: int) -> int:
    total = int(df.loc[df["part"] == part, "value"].sum())
    ladder.log_metric("part_total", float(total))
    return total


@ladder.pipeline
def scored(n: int = 30):
    df = table(n)
    return overall([scored_part(df, part) for part in range(3)])


def test_steps_computed_by_workers_are_recorded_on_either_metadata_store(
    workspace: Workspace,
) -> None:
    """PostgreSQL or SQLite: the orchestrating process records the steps workers compute."""
    result = scored.run(max_workers=2)
    assert result.output == {"total": sum(range(30)), "parts": 3}
    parts = [r for r in step_runs(result.run_id) if r.tags["ladder.step"] == "scored_part"]
    assert sorted(r.metrics["part_total"] for r in parts) == sorted(
        float(sum(v for v in range(30) if v % 3 == part)) for part in range(3)
    )
    assert {r.status for r in step_runs(result.run_id)} == {"finished"}
    info = ladder.pipelines.get_pipeline_run(result.run_id)
    assert {s.status for s in info.steps} == {"finished"}
    assert all(s.run_id and s.end_time for s in info.steps)


@ladder.step
def shaky(values: pd.DataFrame) -> int:
    raise KeyError("missing column 'amount'")


@ladder.pipeline
def half_broken(n: int = 6):
    df = table(n)
    return shaky(df), part_sum(df, 1)


def test_a_step_raising_on_either_executor_fails_with_its_traceback(
    sqlite_workspace: Workspace, executor: str
) -> None:
    with pytest.raises(
        PipelineFailed, match=r"(?s)step 'shaky' failed.*KeyError: \"missing column 'amount'\""
    ) as caught:
        half_broken.run(executor=executor, max_workers=2)
    assert 'raise KeyError("missing column' in str(caught.value)
    statuses = {node: r.status for node, r in caught.value.result.steps.items()}
    assert statuses == {"table": "finished", "shaky": "failed", "part_sum": "finished"}


@ladder.step(retries=1, retry_delay=0, cache=False)
def fragile_on_ray(folder: str) -> int:
    marker = Path(folder, "ray-killed-once")
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return 1


@ladder.pipeline
def ray_victim(folder: str):
    return fragile_on_ray(folder)


def test_a_killed_ray_worker_fails_the_attempt_and_the_step_is_retried(
    sqlite_workspace: Workspace, ray_runtime: object, tmp_path: Path
) -> None:
    result = ray_victim.run(folder=str(tmp_path), executor="ray")
    assert result.output == 1
    first, second = step_runs(result.run_id, "fragile_on_ray")
    assert (first.status, second.status) == ("failed", "finished")
    assert "worker lost" in first.tags["ladder.error"]


def _settings(store: str, artifacts: str) -> Settings:
    return Settings(root=Path("/nonexistent"), project="p", store_uri=store, artifact_uri=artifacts)


def test_executor_names_and_ray_addresses_are_resolved() -> None:
    assert isinstance(resolve_executor("local"), LocalExecutor)
    assert resolve_executor("local", max_workers=3).describe() == "local(max_workers=3)"
    remote = resolve_executor("ray://head.example:10001")
    assert isinstance(remote, RayExecutor) and remote.address == "ray://head.example:10001"
    assert remote.describe() == "ray(ray://head.example:10001)"
    assert isinstance(resolve_executor("ray"), RayExecutor)
    assert resolve_executor("ray").address is None
    with pytest.raises(
        ExecutorError, match=r"expected 'local', 'ray', a 'ray://host:port'.*'spark'"
    ):
        resolve_executor("spark")
    with pytest.raises(ExecutorError, match="max_workers: expected an integer >= 1, got 0"):
        resolve_executor("local", max_workers=0)


def test_a_remote_ray_cluster_needs_stores_it_can_reach() -> None:
    remote = RayExecutor("ray://head.example:10001")
    with pytest.raises(
        ExecutorError, match=r"cannot reach this project's stores.*PostgreSQL.*s3://"
    ):
        remote.prepare(_settings("sqlite:////tmp/x/ladder.db", "/tmp/x/artifacts"))
    with pytest.raises(ExecutorError, match="cannot reach"):
        remote.prepare(_settings("postgresql+psycopg://u@db/ladder", "/tmp/x/artifacts"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_ray_client_address_is_passed_to_ray_init(tmp_path: Path) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        require_service("Ray", "ray is not installed (pip install -e '.[ray]')")
    port = _free_port()
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from ladder.config import Settings
        from ladder.errors import ExecutorError
        from ladder.pipelines import RayExecutor
        settings = Settings(Path("."), "p", "postgresql+psycopg://u@db/x", "s3://bucket/ladder")
        try:
            RayExecutor("ray://127.0.0.1:{port}").prepare(settings)
        except ExecutorError as exc:
            print(exc)
        """
    )
    env = child_env(
        RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S="1", RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S="1"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert f"could not start or reach Ray at ray://127.0.0.1:{port}" in done.stdout, done.stderr
