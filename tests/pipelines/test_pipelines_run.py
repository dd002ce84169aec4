"""Building and running pipelines: the DAG, parameters checked up front, tracking runs, lineage."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipelines_helpers import step_runs
from sklearn.linear_model import LogisticRegression

import ladder
from ladder.errors import ParameterTypeError, PipelineDefinitionError, PipelineFailed
from ladder.pipelines import trace_lineage
from ladder.pipelines.params import conforms, parse_text, split_assignment
from ladder.tracking import run_links
from ladder.workspace import Workspace


@ladder.step
def load(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [float(i) for i in range(rows)], "y": [i % 2 for i in range(rows)]})


@ladder.step(retries=2, cache=True)
def train(df: pd.DataFrame, C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C).fit(df[["x"]], df["y"])


@ladder.step
def score(model: LogisticRegression, df: pd.DataFrame) -> float:
    return float(model.score(df[["x"]], df["y"]))


@ladder.pipeline
def training(rows: int = 20, C: float = 1.0):
    df = load(rows)
    model = train(df, C=C)
    return model, score(model, df)


def test_pipeline_runs_its_steps_and_returns_the_outputs(workspace: Workspace) -> None:
    result = training.run(C=0.5, max_workers=1)
    model, accuracy = result.output
    assert isinstance(model, LogisticRegression) and model.C == 0.5
    assert 0.0 <= accuracy <= 1.0
    assert result.status == "finished"
    assert list(result.steps) == ["load", "train", "score"]
    assert result.executed == ["load", "train", "score"] and result.cache_hits == []
    assert result.steps["score"].upstream == ("train", "load")


def test_every_pipeline_and_step_run_is_a_tracking_run_linked_parent_to_child(
    workspace: Workspace,
) -> None:
    result = training.run(rows=30, C=0.5, max_workers=1)
    pipeline_run = ladder.get_run(result.run_id)
    assert (pipeline_run.kind, pipeline_run.name, pipeline_run.status) == (
        "pipeline",
        "training",
        "finished",
    )
    assert pipeline_run.params == {"C": "0.5", "rows": "30"}
    steps = step_runs(result.run_id)
    assert [s.name for s in steps] == ["load", "train", "score"]
    assert all(s.kind == "step" and s.status == "finished" for s in steps)
    assert all(s.host and s.end_time and s.end_time >= s.start_time for s in steps)
    train_run = next(s for s in steps if s.name == "train")
    assert train_run.params == {"C": "0.5"}
    assert train_run.tags["ladder.cache"] == "miss"
    assert train_run.tags["ladder.cache_key"] == result.steps["train"].cache_key
    links = run_links(train_run.id)
    load_output = result.steps["load"].outputs[0].digest
    model_output = result.steps["train"].outputs[0].digest
    assert ("input", "artifact", load_output, "df") in {
        (x.direction, x.kind, x.ref, x.role) for x in links
    }
    assert ("output", "artifact", model_output, "output") in {
        (x.direction, x.kind, x.ref, x.role) for x in links
    }
    assert [a.path for a in ladder.list_artifacts(train_run.id)] == ["outputs/output.skops"]
    pipeline_outputs = {x.ref for x in run_links(result.run_id) if x.direction == "output"}
    assert model_output in pipeline_outputs


def test_metrics_logged_inside_a_step_go_to_its_step_run(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def evaluate(n: int) -> int:
        ladder.log_metric("quality", 0.75)
        return n

    @ladder.pipeline
    def evaluation(n: int = 1):
        return evaluate(n)

    result = evaluation.run(max_workers=1)
    (step_run,) = step_runs(result.run_id)
    assert step_run.metrics == {"quality": 0.75}
    assert ladder.get_run(result.run_id).metrics == {}


@ladder.step(cache=False)
def measured(part: int) -> int:
    ladder.log_metric("rows", 10.0 * part)
    ladder.log_metric("rows", 10.0 * part + 1)
    ladder.log_param("logged_part", part)
    ladder.active_run().use_dataset(f"loans@{part}", role="reference")
    with ladder.start_run(name=f"inner-{part}") as inner:  # nested under the step run
        inner.log_metric("depth", 2.0)
    return os.getpid()


@ladder.pipeline
def measured_parts():
    return [measured(part) for part in range(3)]


def test_steps_on_worker_processes_log_metrics_params_links_and_runs_to_their_step_runs(
    sqlite_workspace: Workspace,
) -> None:
    result = measured_parts.run(max_workers=2)
    assert set(result.output) - {os.getpid()}  # on worker processes (a last lone one: here)
    runs = {int(run.params["part"]): run for run in step_runs(result.run_id)}
    assert sorted(runs) == [0, 1, 2]
    for part, run in runs.items():
        assert run.status == "finished"
        assert run.params["logged_part"] == str(part)
        assert run.metrics == {"rows": 10.0 * part + 1}
        history = ladder.metric_history(run.id, "rows")
        assert [(s, v) for s, _, v in history] == [(0, 10.0 * part), (1, 10.0 * part + 1)]
        assert ("input", "dataset", f"loans@{part}", "reference") in {
            (x.direction, x.kind, x.ref, x.role) for x in run_links(run.id)
        }
        (inner,) = ladder.search_runs(where=f"parent_id = '{run.id}'").runs
        assert (inner.name, inner.status, inner.metrics) == (
            f"inner-{part}",
            "finished",
            {"depth": 2.0},
        )


@ladder.step(cache=False)
def publish(part: int) -> int:
    """Adds a dataset and does nothing else with tracking: the add must find the step run."""
    ladder.dataset.add(f"made-{part}", pd.DataFrame({"part": [part] * 3}))
    return os.getpid()


@ladder.pipeline
def publish_parts():
    return [publish(part) for part in range(3)]


def test_a_dataset_added_by_a_step_on_a_worker_records_the_step_run_as_its_producer(
    sqlite_workspace: Workspace,
) -> None:
    result = publish_parts.run(max_workers=2)
    assert set(result.output) - {os.getpid()}  # on worker processes
    for run in step_runs(result.run_id):
        made = ladder.dataset.get(f"made-{run.params['part']}")
        assert made.created_by_run == run.id
        assert ("output", "dataset", made.ref, "produced") in {
            (x.direction, x.kind, x.ref, x.role) for x in run_links(run.id)
        }


@ladder.step(cache=False)
def plain(part: int) -> dict[str, Any]:
    import sys

    return {"pid": os.getpid(), "db_layer": any(m.startswith("sqlalchemy") for m in sys.modules)}


@ladder.pipeline
def plain_parts():
    return [plain(part) for part in range(3)]


def test_worker_processes_load_no_database_layer_for_steps_that_do_not_log(
    sqlite_workspace: Workspace,
) -> None:
    """A worker only computes; the orchestrating process records its step runs."""
    result = plain_parts.run(max_workers=2)
    on_workers = [p for p in result.output if p["pid"] != os.getpid()]
    assert on_workers  # a step left alone at the end may run here, in-process
    assert not any(p["db_layer"] for p in on_workers)
    runs = step_runs(result.run_id)
    assert [r.status for r in runs] == ["finished"] * 3
    assert all(r.tags["ladder.executor"] == "local" for r in runs)
    assert all(
        [a.path for a in ladder.list_artifacts(r.id)] == ["outputs/output.json"] for r in runs
    )


def test_a_lone_ready_step_runs_in_process(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def pid() -> int:
        return os.getpid()

    @ladder.pipeline
    def where():
        return pid()

    assert where.run().output == os.getpid()


def test_independent_branches_run_at_the_same_time_in_worker_processes(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    @ladder.step(cache=False)
    def meet(me: str, other: str, folder: str) -> int:
        # Each branch waits for the other to start: this finishes only if they run concurrently.
        Path(folder, me).touch()
        deadline = time.monotonic() + 60
        while not Path(folder, other).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{other} never started while {me} ran")
            time.sleep(0.01)
        return os.getpid()

    @ladder.pipeline
    def rendezvous(folder: str):
        return [meet("a", "b", folder), meet("b", "a", folder)]

    result = rendezvous.run(folder=str(tmp_path), max_workers=2)
    pid_a, pid_b = result.output
    assert len({pid_a, pid_b, os.getpid()}) == 3


def test_step_called_outside_a_pipeline_runs_eagerly_as_a_plain_function(
    sqlite_workspace: Workspace,
) -> None:
    frame = load(4)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 4
    assert isinstance(train(frame, C=2.0), LogisticRegression)
    assert ladder.search_runs().runs == []  # nothing recorded, nothing cached


def test_wrong_parameter_type_is_rejected_before_anything_runs(
    sqlite_workspace: Workspace,
) -> None:
    with pytest.raises(
        ParameterTypeError,
        match=r"pipeline 'training' parameter 'C': expected float, got str 'high'",
    ):
        training.run(C="high")
    with pytest.raises(ParameterTypeError, match=r"parameter 'rows': expected int, got bool"):
        training.run(rows=True)
    assert ladder.search_runs().runs == []


def test_wrong_step_argument_type_is_rejected_before_anything_runs(
    sqlite_workspace: Workspace,
) -> None:
    @ladder.pipeline
    def mistyped(rows: Any = "ten"):
        return load(rows)

    @ladder.step
    def count(n: int) -> int:
        return n

    @ladder.pipeline
    def mismatched():
        return count(load(3))  # a DataFrame output fed to an int parameter

    with pytest.raises(
        ParameterTypeError, match=r"step 'load' parameter 'rows': expected int, got str 'ten'"
    ):
        mistyped.run()
    with pytest.raises(
        ParameterTypeError,
        match=r"step 'count' parameter 'n': expected int, got the output of step 'load'",
    ):
        mismatched.run()
    assert ladder.search_runs().runs == []


def test_unknown_missing_and_reserved_parameters_are_named(sqlite_workspace: Workspace) -> None:
    with pytest.raises(ParameterTypeError, match=r"unexpected keyword argument 'gamma'.*rows, C"):
        training.run(gamma=1)

    @ladder.pipeline
    def needs(name: str):
        return load(1)

    with pytest.raises(ParameterTypeError, match="missing a required argument: 'name'"):
        needs.run()
    with pytest.raises(PipelineDefinitionError, match="'executor' is reserved"):

        @ladder.pipeline
        def clashing(executor: str = "x"):
            return load(1)

    with pytest.raises(PipelineDefinitionError, match=r"step 'train'.*signature is train\(df"):

        @ladder.pipeline
        def wrong_call():
            return train(load(2), 1.0, 2.0)

        wrong_call.run()


def test_pipeline_parameters_must_be_json_values(sqlite_workspace: Workspace) -> None:
    @ladder.pipeline
    def takes(frame: Any = None):
        return load(1)

    with pytest.raises(ParameterTypeError, match=r"must be JSON values.*DataFrame"):
        takes.run(frame=pd.DataFrame({"a": [1]}))


def test_step_output_used_as_a_plain_value_while_building_is_an_error(
    sqlite_workspace: Workspace,
) -> None:
    @ladder.pipeline
    def branching():
        df = load(3)
        if df:  # the value does not exist yet
            return df
        return None

    @ladder.pipeline
    def peeking():
        return load(3).shape

    with pytest.raises(TypeError, match="placeholder while the pipeline is being built"):
        branching.run()
    with pytest.raises(AttributeError, match=r"attribute \.shape is not available"):
        peeking.run()


def test_pipeline_must_return_step_outputs(sqlite_workspace: Workspace) -> None:
    @ladder.pipeline
    def returns_a_number():
        load(1)
        return 3

    with pytest.raises(PipelineDefinitionError, match=r"must return step outputs.*got int"):
        returns_a_number.run()


def test_a_step_with_several_outputs_is_unpacked(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def split(df: pd.DataFrame, at: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        return df.iloc[:at], df.iloc[at:]

    @ladder.step(outputs=("rows", "columns"))
    def shape(df: pd.DataFrame):
        return df.shape

    @ladder.pipeline
    def splitting(at: int = 3):
        head, tail = split(load(10), at)
        return shape(head), shape(tail)

    result = splitting.run(max_workers=1)
    assert result.output == ((3, 2), (7, 2))
    assert len(result.steps["split"].outputs) == 2


def test_outputs_fan_in_through_a_list_argument(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def square(i: int) -> int:
        return i * i

    @ladder.step
    def total(parts: list[int]) -> int:
        return sum(parts)

    @ladder.pipeline
    def sum_of_squares(n: int = 5):
        return total([square(i) for i in range(n)])

    result = sum_of_squares.run(max_workers=1)
    assert result.output == 30
    assert result.steps["total"].upstream == tuple(
        ["square"] + [f"square_{i}" for i in range(2, 6)]
    )
    total_run = step_runs(result.run_id, "total")[0]
    roles = {x.role for x in run_links(total_run.id) if x.direction == "input"}
    assert {"parts[0]", "parts[4]"} <= roles


def test_a_step_returning_another_type_than_declared_fails(sqlite_workspace: Workspace) -> None:
    @ladder.step
    def liar() -> pd.DataFrame:
        return 5  # type: ignore[return-value]

    @ladder.pipeline
    def lying():
        return liar()

    with pytest.raises(PipelineFailed, match=r"returned int, declared -> pandas"):
        lying.run()


def test_lineage_leads_from_an_output_back_to_datasets_and_commit(
    sqlite_workspace: Workspace, isolated: Path
) -> None:
    for command in (
        ["git", "init", "-q"],
        [
            "git",
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
    ):
        subprocess.run(command, cwd=isolated, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=isolated, capture_output=True, text=True, check=True
    ).stdout.strip()

    @ladder.step
    def read(name: str) -> pd.DataFrame:
        ladder.active_run().use_dataset(name)  # what a dataset loader records
        return pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})

    @ladder.pipeline
    def traced(name: str = "loans@v1"):
        return train(read(name))

    result = traced.run(max_workers=1)
    lineage = trace_lineage(result.steps["train"].outputs[0].digest)
    assert lineage.step == "train" and lineage.pipeline_run_id == result.run_id
    assert lineage.git_commit == commit
    assert lineage.all_datasets() == {"loans@v1"}
    (upstream,) = lineage.inputs
    assert upstream.step == "read" and upstream.datasets == ("loans@v1",)

    cached = traced.run(max_workers=1)  # a cache hit still traces to the run that computed it
    again = trace_lineage(cached.steps["train"].outputs[0].digest)
    assert again.run_id == lineage.run_id


def test_pipelines_compose_by_calling_one_inside_another(sqlite_workspace: Workspace) -> None:
    @ladder.pipeline
    def outer(rows: int = 8):
        _model, accuracy = training(rows=rows, C=2.0)
        return accuracy

    result = outer.run(max_workers=1)
    assert list(result.steps) == ["load", "train", "score"]
    assert 0.0 <= result.output <= 1.0


# -- parameters from the command line ------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=10,
)


@given(json_values)
def test_command_line_text_parses_to_the_json_value_it_spells(value: Any) -> None:
    assert parse_text(json.dumps(value)) == value


@given(st.text())
def test_command_line_text_for_a_str_parameter_stays_text(text: str) -> None:
    assert parse_text(text, str) == text
    assert parse_text(text, str | None) == text


@given(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1), st.text())
def test_param_assignment_splits_at_the_first_equals_sign(name: str, text: str) -> None:
    if not name.isidentifier():
        with pytest.raises(ParameterTypeError, match="NAME=VALUE"):
            split_assignment(f"{name}={text}")
        return
    assert split_assignment(f"{name}={text}") == (name, text)


def test_param_assignment_without_equals_sign_is_refused() -> None:
    with pytest.raises(ParameterTypeError, match=r"--param 'C': expected NAME=VALUE"):
        split_assignment("C")


@given(st.integers() | st.floats() | st.booleans() | st.text() | st.none())
def test_type_check_follows_the_hint(value: Any) -> None:
    is_bool = isinstance(value, bool)
    assert conforms(value, float) == (isinstance(value, (int, float)) and not is_bool)
    assert conforms(value, int) == (isinstance(value, int) and not is_bool)
    assert conforms(value, str) == isinstance(value, str)
    assert conforms(value, float | None) == (value is None or conforms(value, float))
    assert conforms(value, Any)
    assert conforms([value], list[type(value)])
    assert conforms({"k": value}, dict[str, type(value)])
    assert not conforms({1: value}, dict[str, Any])
    assert conforms(value, Literal["a", "b"]) == (value in ("a", "b"))
