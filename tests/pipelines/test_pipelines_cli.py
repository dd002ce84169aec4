"""``ladder pipeline run | runs | show | resume``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pipelines_helpers import write_script
from typer.testing import CliRunner

from ladder.cli import app
from ladder.errors import ExecutorError, ParameterTypeError, PipelineNotFound, RunNotFound
from ladder.workspace import Workspace

_PIPELINE = """
from pathlib import Path
import ladder

@ladder.step
def load(name: str, rows: int) -> list:
    return [len(name)] * rows

@ladder.step(retries={retries}, retry_delay=0)
def train(values: list, C: float = 1.0) -> dict:
    if Path(__file__).with_name("broken").exists():
        raise RuntimeError("training diverged")
    return {{"C": C, "total": sum(values)}}

@ladder.step
def evaluate(model: dict) -> float:
    return model["total"] * model["C"]

@ladder.pipeline
def training(name: str = "loans@latest", rows: int = 3, C: float = 1.0):
    model = train(load(name, rows), C=C)
    return evaluate(model)
"""


@pytest.fixture
def project(sqlite_workspace: Workspace, isolated: Path) -> Path:
    write_script(isolated, "flow.py", _PIPELINE.format(retries=0))
    return isolated


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_run_executes_the_pipeline_with_params_and_shows_steps_live(project: Path) -> None:
    code, out, err = invoke(
        "pipeline", "run", "flow.py:training", "-p", "C=0.5", "-p", "name=credit"
    )
    assert code == 0, err
    assert "pipeline training run" in out and "3 step(s) ran, 0 from cache" in out
    for node in ("load", "train", "evaluate"):
        assert f"✓ {node} finished" in err
    assert "steps" in err and "3/3" in err
    code, out, _ = invoke("pipeline", "runs", "--json")
    (summary,) = json.loads(out)
    assert summary["pipeline"] == "training" and summary["run"]["status"] == "finished"
    assert summary["run"]["params"] == {"C": "0.5", "name": "credit", "rows": "3"}
    assert summary["steps"] == {"finished": 3}


def test_show_draws_the_dag_with_status_duration_and_cache_hits(project: Path) -> None:
    invoke("pipeline", "run", "flow.py:training")
    code, out, _ = invoke("pipeline", "run", "flow.py:training", "--json")
    assert code == 0
    second = json.loads(out)
    assert {s["status"] for s in second["steps"].values()} == {"cached"}
    code, out, _ = invoke("pipeline", "show", second["run_id"])
    assert code == 0
    lines = out.splitlines()
    assert f"training run {second['run_id']} finished" in lines[0]
    assert "└── ↺ load cached" in out and "cache hit from" in out
    assert lines[1].index("load") < lines[2].index("train") < lines[3].index("evaluate")
    code, out, _ = invoke("pipeline", "show", second["run_id"][:10], "--json")
    shown = json.loads(out)
    assert [s["node"] for s in shown["steps"]] == ["load", "train", "evaluate"]
    assert shown["steps"][1]["upstream"] == ["load"]
    code, out, _ = invoke("pipeline", "runs")
    assert "training" in out and "3 cached" in out


def test_a_failed_run_is_resumed_from_the_command_line(project: Path) -> None:
    (project / "broken").touch()
    code, out, err = invoke("pipeline", "run", "flow.py:training", "--json")
    assert code == 1
    assert "training diverged" in err
    failed = json.loads(out)
    assert failed["steps"]["train"]["status"] == "failed"
    assert failed["steps"]["evaluate"]["status"] == "skipped"
    code, out, _ = invoke("pipeline", "show", failed["run_id"])
    assert "train failed:" in out and "RuntimeError: training diverged" in out

    (project / "broken").unlink()
    code, out, err = invoke("pipeline", "resume", failed["run_id"])
    assert code == 0, err
    assert "2 step(s) ran, 1 from cache" in out
    assert "↺ load cached" in err


def test_bad_params_are_reported_in_one_line_with_exit_status_2(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "pipeline", "run", "flow.py:training", "-p", "C=abc"],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: pipeline 'training' parameter 'C': expected float, got str 'abc'"
    )


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (["run", "flow.py:training", "-p", "C"], ParameterTypeError, "expected NAME=VALUE"),
        (
            ["run", "flow.py:training", "-p", "rows=many"],
            ParameterTypeError,
            "expected int, got str",
        ),
        (
            ["run", "flow.py:nothing"],
            PipelineNotFound,
            "has no attribute 'nothing'; pipelines there: ['training']",
        ),
        (["run", "missing.py:training"], PipelineNotFound, "no such file"),
        (
            ["run", "flow.py:training", "--executor", "spark"],
            ExecutorError,
            "expected 'local', 'ray'",
        ),
        (["show", "zzzzzzzz"], RunNotFound, "no run with this id"),
        (["resume", "zzzzzzzz"], RunNotFound, "no run with this id"),
    ],
)
def test_bad_command_line_input_names_what_is_wrong(
    project: Path, args: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        invoke("pipeline", *args)
