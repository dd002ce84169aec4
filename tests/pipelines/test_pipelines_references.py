"""Datasets and registered models pass between steps by reference: lineage, exact caching."""

from __future__ import annotations

import pandas as pd
from pipelines_helpers import step_runs
from sklearn.linear_model import LogisticRegression

import ladder
from ladder.data import DatasetVersion
from ladder.pipelines import trace_lineage
from ladder.registry import ModelVersion
from ladder.tracking import run_links
from ladder.workspace import Workspace


@ladder.step(cache=False)
def resolve(name: str) -> DatasetVersion:
    return ladder.dataset.get(name)


@ladder.step
def frame(ds: DatasetVersion) -> pd.DataFrame:
    return ds.to_pandas()


@ladder.step
def fit(df: pd.DataFrame, C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C).fit(df[["x"]], df["y"])


@ladder.step(cache=False)
def register(model: LogisticRegression, ds: DatasetVersion) -> ModelVersion:
    return ladder.register_model(model, "loans", datasets=[ds])


@ladder.step
def describe(version: ModelVersion) -> str:
    return f"{version.uri} trained on {version.datasets[0].ref}"


@ladder.pipeline
def training(name: str = "loans@latest", C: float = 1.0):
    ds = resolve(name)
    return describe(register(fit(frame(ds), C=C), ds))


def _loans(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [float(i) for i in range(rows)], "y": [i % 2 for i in range(rows)]})


def test_datasets_and_models_pass_by_reference_and_appear_in_lineage(
    sqlite_workspace: Workspace,
) -> None:
    version = ladder.dataset.add("loans", _loans(20))
    result = training.run(max_workers=1)
    assert result.output == f"loans/1 trained on {version.ref}"
    assert result.steps["resolve"].outputs[0].materializer == "ladder-dataset"
    assert result.steps["register"].outputs[0].materializer == "ladder-model"
    (frame_run,) = step_runs(result.run_id, "frame")
    inputs = {(x.kind, x.ref) for x in run_links(frame_run.id) if x.direction == "input"}
    assert ("dataset", version.ref) in inputs
    (register_run,) = step_runs(result.run_id, "register")
    outputs = {(x.kind, x.ref) for x in run_links(register_run.id) if x.direction == "output"}
    assert ("model", "loans/1") in outputs
    lineage = trace_lineage(result.steps["fit"].outputs[0].digest)
    assert lineage.all_datasets() == {version.ref}


def test_a_new_dataset_version_reruns_the_steps_that_read_it(sqlite_workspace: Workspace) -> None:
    ladder.dataset.add("loans", _loans(20))
    training.run(max_workers=1)
    again = training.run(max_workers=1)
    assert again.cache_hits == ["frame", "fit"]  # pinned to the same dataset version
    assert again.output.startswith("loans/2 ")  # register is cache=False: a new model version
    newer = ladder.dataset.add("loans", _loans(30))
    changed = training.run(max_workers=1)
    assert changed.executed == ["resolve", "frame", "fit", "register", "describe"]
    assert changed.output == f"loans/3 trained on {newer.ref}"
