"""Root cause: drift is weighed against performance; harmless drift does not call for a retrain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ladder.monitoring import compare
from ladder.monitoring.root_cause import (
    EXPLAINED,
    HARMLESS,
    NO_SIGNAL,
    STABLE,
    UNEXPLAINED,
    permutation_importance,
)

RNG = np.random.default_rng(0)


def population(rows: int, signal_scale: float = 2.0, noise_shift: float = 0.0) -> pd.DataFrame:
    """Label depends on ``signal`` only; ``noise`` is a feature the model barely uses."""
    signal = RNG.normal(0, signal_scale, rows)
    noise = RNG.normal(noise_shift, 1, rows)
    labels = (RNG.random(rows) < 1 / (1 + np.exp(-3 * signal))).astype(int)
    return pd.DataFrame({"signal": signal, "noise": noise, "y": labels})


REFERENCE = population(6000)
MODEL = LogisticRegression().fit(REFERENCE[["signal", "noise"]], REFERENCE["y"])


def test_importance_is_the_models_sensitivity_to_each_feature() -> None:
    shares = permutation_importance(MODEL.predict_proba, REFERENCE[["signal", "noise"]])
    assert shares["signal"] > 0.9 and sum(shares.values()) == pytest.approx(1.0)


def test_drift_in_a_feature_the_model_ignores_is_reported_without_a_retrain() -> None:
    window = population(2000, noise_shift=2.0)
    result = compare(REFERENCE, window.drop(columns="y"), label="y", model=MODEL)
    cause = result.root_cause
    assert cause is not None
    assert [c.column for c in result.drift.drifted_features] == ["noise"]
    assert cause.verdict == HARMLESS and cause.source == "estimated"
    assert cause.retrain_recommended is False
    assert "without a performance effect" in cause.message


def test_a_drop_is_explained_by_the_drifted_feature_the_model_relies_on() -> None:
    # signal near 0 is where the model is least sure: accuracy falls, labels or not
    window = population(2000, signal_scale=0.3, noise_shift=0.5)
    unlabelled = compare(REFERENCE, window.drop(columns="y"), label="y", model=MODEL)
    cause = unlabelled.root_cause
    assert cause is not None and cause.verdict == EXPLAINED
    assert cause.source == "estimated" and cause.retrain_recommended
    assert cause.causes[0].feature == "signal" and cause.causes[0].share > 0.9
    labelled = compare(REFERENCE, window, label="y", model=MODEL)
    assert labelled.root_cause is not None and labelled.root_cause.verdict == EXPLAINED
    assert labelled.root_cause.source == "realised"
    assert labelled.root_cause.current_value < labelled.root_cause.reference_value


def test_a_drop_without_input_drift_points_at_the_labels() -> None:
    window = population(2000)
    window["y"] = 1 - window["y"]  # the relation between inputs and labels flipped
    result = compare(REFERENCE, window, label="y", model=MODEL)
    cause = result.root_cause
    assert cause is not None and cause.verdict == UNEXPLAINED
    assert result.drift.drifted_features == ()
    assert cause.retrain_recommended


def test_no_drift_and_no_drop_is_stable() -> None:
    result = compare(REFERENCE, population(2000), label="y", model=MODEL)
    assert result.root_cause is not None and result.root_cause.verdict == STABLE


def test_drift_without_labels_or_a_model_cannot_be_weighed() -> None:
    window = population(2000, noise_shift=2.0)
    result = compare(REFERENCE.drop(columns="y"), window.drop(columns="y"))
    assert result.root_cause is not None and result.root_cause.verdict == NO_SIGNAL
    assert result.root_cause.importance_source == "uniform"
    assert not result.root_cause.retrain_recommended


def test_a_data_quality_failure_blocks_retraining_even_after_a_drop() -> None:
    window = population(2000)
    window["y"] = 1 - window["y"]
    features = window[["signal", "noise"]]
    window["prediction"] = MODEL.predict(features)  # as served, before the feed broke
    window[["proba.0", "proba.1"]] = MODEL.predict_proba(features)
    window.loc[:800, "noise"] = np.nan  # 40 % missing where the reference had none
    result = compare(REFERENCE, window, label="y", prediction="prediction", model=MODEL)
    cause = result.root_cause
    assert result.quality is not None and result.quality.failed
    assert cause is not None and cause.blocks_retraining and not cause.retrain_recommended
    assert "retraining is blocked" in cause.message


def test_a_regressor_is_judged_by_realised_and_dle_estimated_error() -> None:
    rng = np.random.default_rng(1)

    def table(rows: int, tails_only: bool) -> pd.DataFrame:
        x = rng.normal(0, 2, rows * 4)
        x = x[np.abs(x) > 1.5][:rows] if tails_only else x[:rows]  # same range, other mix
        frame = pd.DataFrame({"x": x, "kind": rng.choice(["a", "b"], len(x))})
        frame["pred"] = 2 * x
        frame["y"] = 2 * x + rng.normal(0, 1 + np.abs(x), len(x))  # errors grow with |x|
        return frame

    reference, window = table(4000, tails_only=False), table(1500, tails_only=True)
    unlabelled = compare(reference, window.drop(columns="y"), label="y", prediction="pred")
    assert unlabelled.estimated is not None and unlabelled.estimated.method == "dle"
    cause = unlabelled.root_cause
    assert cause is not None and cause.verdict == EXPLAINED and cause.metric == "mae"
    assert cause.causes[0].feature == "x"
    labelled = compare(reference, window, label="y", prediction="pred")
    assert labelled.performance is not None and labelled.performance.task == "regression"
    realised = labelled.performance.metrics["mae"]
    assert unlabelled.estimated.metric("mae").value == pytest.approx(realised, rel=0.15)
