"""Registering versions and reading them back, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from registry_helpers import ThresholdModel, fitted_logistic

import ladder
from ladder.errors import InvalidModelURI, InvalidValue, ModelNotFound, UnsupportedModel
from ladder.registry import get_model_version, list_models, list_versions, resolve_uri
from ladder.workspace import Workspace


def test_versions_are_numbered_per_name_and_record_what_was_given(workspace: Workspace) -> None:
    model, frame, _ = fitted_logistic()
    first = ladder.register_model(
        model,
        "loans",
        input_example=frame.head(10),
        metrics={"roc_auc": 0.91},
        description="baseline",
        datasets=["loans-train@v1"],
    )
    second = ladder.register_model(model, "loans")
    other = ladder.register_model(model, "fraud")
    assert (first.version, second.version, other.version) == (1, 2, 1)
    stored = get_model_version("loans/1")
    assert stored.flavor == "sklearn"
    assert stored.metrics == {"roc_auc": 0.91}
    assert stored.description == "baseline"
    assert [(d.ref, d.role) for d in stored.datasets] == [("loans-train@v1", "train")]
    assert stored.signature is not None and stored.signature.columns == list(frame.columns)
    assert stored.signature.output is not None and stored.signature.output.classes == (0, 1)
    assert any(r.startswith("scikit-learn==") for r in stored.requirements)
    assert any(r.startswith("skops==") for r in stored.requirements)
    assert stored.created_by
    assert get_model_version("loans/2").signature is None


def test_latest_and_aliases_resolve_to_fixed_versions(workspace: Workspace) -> None:
    model, _, _ = fitted_logistic()
    for _ in range(3):
        ladder.register_model(model, "loans")
    assert get_model_version("loans@latest").version == 3
    assert resolve_uri("loans@latest") == "loans/3"
    assert resolve_uri("loans/2") == "loans/2"


def test_unknown_model_and_version_errors_list_what_exists(workspace: Workspace) -> None:
    model, _, _ = fitted_logistic()
    ladder.register_model(model, "loans")
    ladder.register_model(model, "loans")
    with pytest.raises(ModelNotFound, match="models: loans"):
        get_model_version("lones/1")
    with pytest.raises(ModelNotFound, match="versions 1-2"):
        get_model_version("loans/7")


def test_list_models_summarises_versions_and_aliases(workspace: Workspace) -> None:
    model, _, _ = fitted_logistic()
    ladder.register_model(model, "b-model")
    ladder.register_model(model, "a-model")
    ladder.register_model(model, "a-model")
    ladder.registry.set_alias("a-model", "champion", 1)
    models = list_models()
    assert [(m.name, m.latest_version, m.version_count) for m in models] == [
        ("a-model", 2, 2),
        ("b-model", 1, 1),
    ]
    assert models[0].aliases == {"champion": 1}
    assert [v.version for v in list_versions("a-model")] == [2, 1]


def test_concurrent_registrations_get_distinct_consecutive_numbers(workspace: Workspace) -> None:
    model, _, _ = fitted_logistic(rows=60)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def register() -> None:
        try:
            numbers.append(ladder.register_model(model, "race", workspace=workspace).version)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_a_model_without_a_safe_flavor_is_refused_with_a_hint(sqlite_workspace: Workspace) -> None:
    with pytest.raises(UnsupportedModel, match="flavor='python'"):
        ladder.register_model(ThresholdModel("income", 0.0), "plain")
    with pytest.raises(UnsupportedModel, match="no safe flavor"):
        ladder.register_model(object(), "nothing")


def test_bad_metrics_and_names_are_refused_before_anything_is_stored(
    sqlite_workspace: Workspace,
) -> None:
    model, _, _ = fitted_logistic()
    with pytest.raises(InvalidValue, match=r"'auc'.*finite"):
        ladder.register_model(model, "loans", metrics={"auc": float("nan")})
    with pytest.raises(InvalidValue, match="expected a number"):
        ladder.register_model(model, "loans", metrics={"auc": "high"})
    with pytest.raises(InvalidModelURI, match="model name"):
        ladder.register_model(model, "no spaces please")
    assert list_models() == []


def test_registering_inside_a_run_records_run_commit_and_its_datasets(workspace: Workspace) -> None:
    model, frame, _ = fitted_logistic()
    with ladder.start_run(name="pipeline", kind="pipeline") as pipeline:
        pipeline.use_dataset("loans-raw@abc", role="source")
        with ladder.start_run(name="train", kind="step", parent=pipeline) as step:
            step.use_dataset("loans-train@def", role="train")
            version = ladder.register_model(model, "loans", input_example=frame.head())
    assert version.run_id == step.id
    assert version.pipeline_run_id == pipeline.id
    refs = {(d.ref, d.role) for d in get_model_version("loans/1").datasets}
    assert refs == {("loans-train@def", "train"), ("loans-raw@abc", "source")}
    links = ladder.tracking.run_links(step.id, kind="model")
    assert [(link.direction, link.ref) for link in links] == [("output", "loans/1")]
    assert version.git_commit == ladder.get_run(step.id).git_commit
