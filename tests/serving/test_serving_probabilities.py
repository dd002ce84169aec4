"""Predictions and probabilities in one model pass: always equal to ``predict`` itself."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import ladder
from ladder.registry import load_model
from ladder.registry.loading import _argmax_rule
from ladder.workspace import Workspace

COLUMNS = ["a", "b", "c", "d"]


def data(classes: int = 2, labels: str = "int") -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(400, len(COLUMNS))), columns=COLUMNS)
    score = frame["a"] + 0.5 * frame["b"] * frame["c"] + 0.4 * rng.normal(size=len(frame))
    codes = np.digitize(score, np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1]))
    names = np.array(["low", "mid", "high"][:classes]) if labels == "str" else np.arange(classes)
    return frame, pd.Series(names[codes], name="y")


def listed_classifiers() -> list[tuple[str, Any, int, str]]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, ExtraTreeClassifier

    return [
        ("forest", RandomForestClassifier(n_estimators=15, random_state=0), 2, "int"),
        ("forest3", RandomForestClassifier(n_estimators=7, random_state=0), 3, "str"),
        ("extra", ExtraTreesClassifier(n_estimators=9, random_state=0), 3, "int"),
        ("tree", DecisionTreeClassifier(min_samples_leaf=4, random_state=0), 2, "str"),
        ("extratree", ExtraTreeClassifier(random_state=0), 3, "int"),
        ("gb", GradientBoostingClassifier(n_estimators=20, random_state=0), 2, "int"),
        ("gb3", GradientBoostingClassifier(n_estimators=10, random_state=0), 3, "str"),
        ("hgb", HistGradientBoostingClassifier(max_iter=20, random_state=0), 2, "str"),
        ("hgb3", HistGradientBoostingClassifier(max_iter=10, random_state=0), 3, "int"),
        ("logistic", LogisticRegression(), 2, "int"),
        ("logistic3", LogisticRegression(), 3, "str"),
        ("calibrated", CalibratedClassifierCV(LogisticRegression(), cv=3), 2, "int"),
        ("pipeline", make_pipeline(StandardScaler(), LogisticRegression()), 3, "int"),
    ]


def test_predictions_from_one_pass_equal_predict_for_every_listed_classifier(
    workspace: Workspace,
) -> None:
    for name, model, classes, labels in listed_classifiers():
        frame, y = data(classes, labels)
        model.fit(frame.iloc[:300], y.iloc[:300])
        assert _argmax_rule(model) is not None, name  # the one-pass path is taken
        ladder.register_model(model, name, input_example=frame.head(20), workspace=workspace)
        loaded = load_model(f"{name}/1", workspace=workspace)
        # Held-out rows, and rows far outside the training range (saturated probabilities).
        rows = pd.concat([frame.iloc[300:], frame.iloc[:20] * 1e6], ignore_index=True)
        predictions, proba = loaded.predict_with_proba(rows)
        expected = model.predict(rows)
        assert predictions.dtype == expected.dtype, name
        assert np.array_equal(predictions, expected), name
        assert np.array_equal(proba, model.predict_proba(rows)), name


def test_a_tie_is_left_to_the_model_which_may_break_it_the_other_way(
    workspace: Workspace,
) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    # Balanced labels on a constant feature: every raw score is 0, the probabilities tie
    # at 0.5, argmax says the first class, and the model's own rule (score >= 0) the second.
    frame = pd.DataFrame({"a": np.zeros(40)})
    labels = pd.Series(["no", "yes"] * 20)
    model = GradientBoostingClassifier(n_estimators=5).fit(frame, labels)
    proba = model.predict_proba(frame)
    assert (model.classes_[proba.argmax(axis=1)] == "no").all()
    assert (model.predict(frame) == "yes").all()
    ladder.register_model(model, "tied", input_example=frame, workspace=workspace)
    predictions, _ = load_model("tied/1", workspace=workspace).predict_with_proba(frame)
    assert (predictions == "yes").all()


def test_classifiers_whose_predict_is_not_the_argmax_are_asked_twice(
    workspace: Workspace,
) -> None:
    try:
        from sklearn.model_selection import FixedThresholdClassifier
    except ImportError:  # scikit-learn < 1.5
        pytest.skip("FixedThresholdClassifier needs scikit-learn >= 1.5")
    from sklearn.linear_model import LogisticRegression

    frame, y = data()
    model = FixedThresholdClassifier(LogisticRegression(), threshold=0.8).fit(frame, y)
    argmax = model.classes_[model.predict_proba(frame).argmax(axis=1)]
    assert (argmax != model.predict(frame)).sum() > 10  # deriving them would be wrong here
    assert _argmax_rule(model) is None
    ladder.register_model(model, "tuned", input_example=frame.head(20), workspace=workspace)
    predictions, proba = load_model("tuned/1", workspace=workspace).predict_with_proba(frame)
    assert np.array_equal(predictions, model.predict(frame))
    assert np.array_equal(proba, model.predict_proba(frame))


def test_a_model_without_probabilities_is_refused_by_name(workspace: Workspace) -> None:
    from sklearn.linear_model import LinearRegression

    frame, y = data()
    ladder.register_model(
        LinearRegression().fit(frame, y), "linear", input_example=frame, workspace=workspace
    )
    with pytest.raises(ladder.errors.UnsupportedModel, match=r"linear/1.*no predict_proba"):
        load_model("linear/1", workspace=workspace).predict_with_proba(frame)
