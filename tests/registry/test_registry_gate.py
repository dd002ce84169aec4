"""Gates compare a candidate with the champion on the same rows; promotion needs a passing one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from registry_helpers import classification_data, regression_data, require_library
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge

import ladder
from ladder.errors import (
    AliasConflict,
    GateFailed,
    InvalidGateSpec,
    InvalidValue,
    ModelNameMismatch,
    SignatureMismatch,
)
from ladder.registry import (
    alias_history,
    gate,
    get_model_version,
    list_evaluations,
    promote,
    set_alias,
)
from ladder.registry.gating import parse_metric_option
from ladder.workspace import Workspace


def holdout() -> pd.DataFrame:
    frame, y = classification_data(rows=400, seed=1)
    return frame.assign(region=np.where(frame["age"] > 0, "north", "south"), default=y)


def register_pair() -> None:
    """loans/1: a weak model (one feature) as champion; loans/2: a strong one."""
    frame, y = classification_data(rows=400, seed=1)
    weak = LogisticRegression().fit(frame[["income"]].assign(debt=0.0, age=0.0, score=0.0), y)
    strong = LogisticRegression().fit(frame, y)
    ladder.register_model(weak, "loans", input_example=frame.head())
    ladder.register_model(strong, "loans", input_example=frame.head())
    set_alias("loans", "champion", 1)


AUC = {"roc_auc": {"min": 0.6, "min_delta": 0.0}}


def test_a_better_candidate_passes_and_the_evaluation_is_recorded(workspace: Workspace) -> None:
    register_pair()
    result = gate(
        "loans/2",
        "loans@champion",
        holdout(),
        label="default",
        metrics={**AUC, "accuracy": {"min": 0.5}},
    )
    assert result.passed, result.summary()
    assert (result.candidate, result.champion, result.rows) == ("loans/2", "loans/1", 400)
    auc = next(c for c in result.checks if c.metric == "roc_auc")
    assert auc.champion is not None and auc.delta == pytest.approx(auc.candidate - auc.champion)
    assert auc.candidate > auc.champion
    assert result.dataset is not None and result.dataset.startswith("dataframe:blake3:")
    (stored,) = list_evaluations("loans", 2)
    assert stored.id == result.id and stored.passed
    assert [c.metric for c in stored.checks] == ["roc_auc", "accuracy"]


def test_a_worse_candidate_fails_with_reasons_and_cannot_be_promoted(
    sqlite_workspace: Workspace,
) -> None:
    register_pair()
    set_alias("loans", "champion", 2)
    result = gate("loans/1", "loans@champion", holdout(), label="default", metrics=AUC)
    assert not result.passed
    assert any("min_delta" in reason for reason in result.failures[0].reasons)
    with pytest.raises(GateFailed, match="failed"):
        promote("loans/1", "champion")
    assert get_model_version("loans@champion").version == 2


def test_promotion_needs_a_gate_against_the_current_holder(sqlite_workspace: Workspace) -> None:
    register_pair()
    with pytest.raises(GateFailed, match="no gate"):
        promote("loans/2")
    gate("loans/2", "loans@champion", holdout(), label="default", metrics=AUC)
    ladder.register_model(LogisticRegression().fit(*classification_data(rows=50)), "loans")
    set_alias("loans", "champion", 3, reason="hotfix")
    with pytest.raises(GateFailed, match="loans/1"):  # the gate compared with the old champion
        promote("loans/2")


def test_promotion_behind_a_passing_gate_is_audited_with_the_gate(workspace: Workspace) -> None:
    register_pair()
    result = gate("loans/2", "loans@champion", holdout(), label="default", metrics=AUC)
    event = promote("loans/2", "loans@champion")
    assert (event.from_version, event.to_version, event.evaluation_id) == (1, 2, result.id)
    assert get_model_version("loans@champion").version == 2
    assert alias_history("loans")[-1].evaluation_id == result.id


def test_forced_promotion_needs_a_reason_and_is_marked_forced(sqlite_workspace: Workspace) -> None:
    register_pair()
    with pytest.raises(InvalidValue, match="reason is required"):
        promote("loans/2", force=True)
    event = promote("loans/2", force=True, reason="incident 42: roll forward")
    assert event.forced and event.reason == "incident 42: roll forward"
    assert alias_history("loans", "champion")[-1].forced


def test_promoting_a_version_of_another_model_is_refused(sqlite_workspace: Workspace) -> None:
    register_pair()
    ladder.register_model(LogisticRegression().fit(*classification_data(rows=50)), "fraud")
    with pytest.raises(ModelNameMismatch, match="fraud/1"):
        promote("fraud/1", "loans@champion", force=True, reason="oops")
    with pytest.raises(ModelNameMismatch):
        gate("loans/2", "fraud/1", holdout(), label="default", metrics=AUC)


def test_two_promotions_racing_for_one_alias_exactly_one_wins(workspace: Workspace) -> None:
    register_pair()
    frame, y = classification_data(rows=400, seed=1)
    strong = LogisticRegression(C=0.5).fit(frame, y)
    ladder.register_model(strong, "loans", input_example=frame.head())
    gate("loans/2", "loans@champion", holdout(), label="default", metrics=AUC)
    gate("loans/3", "loans@champion", holdout(), label="default", metrics=AUC)
    promote("loans/2")
    with pytest.raises((AliasConflict, GateFailed)):
        promote("loans/3")  # its gate was against loans/1, which no longer holds the alias


def test_a_slice_that_gets_worse_fails_a_candidate_that_is_better_overall(
    sqlite_workspace: Workspace,
) -> None:
    frame = holdout()
    rng = np.random.default_rng(0)
    labels = frame["default"].to_numpy()
    # champion: right everywhere in the north, a coin flip in the south
    champion_scores = np.where(frame["region"] == "north", labels, rng.random(len(frame)))
    # candidate: perfect in the south, slightly noisy in the north -> better overall, worse north
    candidate_scores = np.where(
        frame["region"] == "south",
        labels,
        np.where(rng.random(len(frame)) < 0.8, labels, 1 - labels),
    )
    features = frame[["income"]].assign(key=np.arange(len(frame), dtype=float))
    for scores in (champion_scores, candidate_scores):
        table = dict(zip(range(len(frame)), scores, strict=True))
        ladder.register_model(
            LookupModel(table), "slices", flavor="python", input_example=features.head()
        )
    set_alias("slices", "champion", 1)
    data = features.assign(region=frame["region"], default=labels)
    result = gate(
        "slices/2",
        "slices@champion",
        data,
        label="default",
        by="region",
        metrics={"accuracy": {"min_delta": 0.0}},
        trust=True,
    )
    overall = next(c for c in result.checks if c.slice is None)
    north = next(c for c in result.checks if c.slice == "region=north")
    assert overall.passed and overall.delta is not None and overall.delta > 0
    assert not north.passed and "tolerance" in north.reasons[0]
    assert not result.passed
    lenient = gate(
        "slices/2",
        "slices@champion",
        data,
        label="default",
        by="region",
        metrics={"accuracy": {"min_delta": 0.0, "slice_tolerance": 0.5}},
        trust=True,
    )
    assert lenient.passed


class LookupModel:
    """Predicts a stored answer per row key (lets a test decide each row's outcome)."""

    def __init__(self, table: dict[int, float]) -> None:
        self.table = table

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.array([self.table[int(k)] for k in frame["key"]])


def test_latency_p95_is_measured_and_checked(sqlite_workspace: Workspace) -> None:
    register_pair()
    result = gate(
        "loans/2",
        "loans@champion",
        holdout(),
        label="default",
        metrics={"latency_ms_p95": {"max": 10_000}},
        latency_rows=20,
    )
    (check,) = result.checks
    assert check.metric == "latency_ms_p95" and check.rows == 20
    assert 0 < check.candidate < 10_000 and check.champion is not None
    strict = gate(
        "loans/2",
        None,
        holdout(),
        label="default",
        metrics={"latency_ms_p95": {"max": 0.0}},
        latency_rows=5,
    )
    assert not strict.passed and "> max" in strict.checks[0].reasons[0]


def test_multiclass_and_regression_metrics(sqlite_workspace: Workspace) -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0
    )
    frame = pd.DataFrame(X, columns=list("abcde"))
    ladder.register_model(
        LogisticRegression().fit(frame, y), "iris-like", input_example=frame.head()
    )
    result = gate(
        "iris-like/1",
        None,
        frame.assign(target=y),
        label="target",
        metrics={
            "roc_auc": {"min": 0.7},
            "f1": {"min": 0.5},
            "log_loss": {"max": 2.0},
            "balanced_accuracy": {},
        },
    )
    assert result.passed, result.summary()
    features, target = regression_data()
    ladder.register_model(
        LinearRegression().fit(features, target), "price", input_example=features.head()
    )
    ladder.register_model(
        Ridge(alpha=1e4).fit(features, target), "price", input_example=features.head()
    )
    set_alias("price", "champion", 1)
    result = gate(
        "price/2",
        "price@champion",
        features.assign(y=target),
        label="y",
        metrics={"rmse": {"max_delta": 0.0}, "r2": {"min": 0.0}, "mae": {}},
    )
    rmse = next(c for c in result.checks if c.metric == "rmse")
    assert not rmse.passed  # heavy regularisation makes the error worse
    with pytest.raises(InvalidGateSpec, match="does not apply to a regression model"):
        gate(
            "price/2", None, features.assign(y=target), label="y", metrics={"roc_auc": {"min": 0.5}}
        )


def test_label_is_inferred_when_one_column_is_not_a_model_input(
    sqlite_workspace: Workspace,
) -> None:
    register_pair()
    result = gate("loans/2", "loans@champion", holdout().drop(columns=["region"]), metrics=AUC)
    assert result.label == "default"
    with pytest.raises(InvalidGateSpec, match="pass label="):
        gate("loans/2", "loans@champion", holdout(), metrics=AUC)


def test_an_unset_champion_alias_gates_on_absolute_thresholds_only(
    sqlite_workspace: Workspace,
) -> None:
    frame, y = classification_data()
    ladder.register_model(LogisticRegression().fit(frame, y), "new", input_example=frame.head())
    result = gate("new/1", "new@champion", frame.assign(y=y), label="y", metrics=AUC)
    assert result.passed and result.champion_version is None
    assert promote("new/1").to_version == 1


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ({"auc": {"min": 0.5}}, "unknown; built-in metrics are"),
        ({"roc_auc": {"minimum": 0.5}}, "unknown key 'minimum'"),
        ({"roc_auc": {"min": "high"}}, "expected a number"),
        ({"roc_auc": {"min": float("nan")}}, "finite"),
        ({"roc_auc": {"slice_tolerance": -1}}, ">= 0"),
        ({"roc_auc": 0.8}, "expected a mapping"),
        ({}, "expected a mapping"),
    ],
)
def test_invalid_gate_specs_are_refused(
    sqlite_workspace: Workspace, metrics: dict, message: str
) -> None:
    register_pair()
    with pytest.raises(InvalidGateSpec, match=message):
        gate("loans/2", "loans@champion", holdout(), label="default", metrics=metrics)


def test_gate_data_problems_are_reported(sqlite_workspace: Workspace) -> None:
    register_pair()
    with pytest.raises(InvalidGateSpec, match="'target': not in the dataset"):
        gate("loans/2", None, holdout(), label="target", metrics=AUC)
    with pytest.raises(InvalidGateSpec, match="slice column 'city'"):
        gate("loans/2", None, holdout(), label="default", by="city", metrics=AUC)
    with pytest.raises(InvalidGateSpec, match="no label"):
        gate(
            "loans/2",
            None,
            holdout().astype({"default": float}).assign(default=np.nan),
            label="default",
            metrics=AUC,
        )
    with pytest.raises(SignatureMismatch, match="'debt'"):
        gate("loans/2", None, holdout().drop(columns=["debt"]), label="default", metrics=AUC)
    with pytest.raises(InvalidGateSpec, match="no rows"):
        gate("loans/2", None, holdout().head(0), label="default", metrics=AUC)


def test_a_constant_model_scores_half_auc_and_fails_a_min(sqlite_workspace: Workspace) -> None:
    frame, y = classification_data()
    ladder.register_model(DummyClassifier().fit(frame, y), "dummy", input_example=frame.head())
    result = gate("dummy/1", None, frame.assign(y=y), label="y", metrics={"roc_auc": {"min": 0.6}})
    assert result.checks[0].candidate == pytest.approx(0.5)
    assert not result.passed


def test_gate_reads_a_dataset_version_by_reference(sqlite_workspace: Workspace) -> None:
    data = require_library("ladder.data")
    register_pair()
    version = data.dataset.add("loans-holdout", holdout())
    result = gate("loans/2", "loans@champion", "loans-holdout@latest", label="default", metrics=AUC)
    assert result.passed and result.dataset == version.ref
    assert (
        gate("loans/2", "loans@champion", version, label="default", metrics=AUC).dataset
        == version.ref
    )


def test_metric_options_from_the_command_line_parse() -> None:
    assert parse_metric_option("roc_auc:min=0.8,min_delta=0") == (
        "roc_auc",
        {"min": 0.8, "min_delta": 0.0},
    )
    assert parse_metric_option("latency_ms_p95:max=20") == ("latency_ms_p95", {"max": 20.0})
    assert parse_metric_option("accuracy") == ("accuracy", {})
    for bad in (
        "roc_auc:min",
        "roc_auc:min=x",
        ":min=1",
        "roc:min=1",
        "roc_auc:top=1",
        "roc_auc:min=inf",
    ):
        with pytest.raises(InvalidGateSpec):
            parse_metric_option(bad)


@given(st.text(max_size=40))
def test_any_metric_option_text_parses_or_raises_invalid_gate_spec(text: str) -> None:
    try:
        name, values = parse_metric_option(text)
    except InvalidGateSpec:
        return
    assert name in ladder.registry.BUILTIN_METRICS
    assert all(np.isfinite(v) for v in values.values())
