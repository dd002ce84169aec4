"""Small models and data shared by the registry tests (not a test module)."""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression


def classification_data(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(
        n_samples=rows, n_features=4, n_informative=3, n_redundant=0, random_state=seed
    )
    frame = pd.DataFrame(X, columns=["income", "debt", "age", "score"])
    return frame, y


def regression_data(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_regression(n_samples=rows, n_features=3, noise=5.0, random_state=seed)
    return pd.DataFrame(X, columns=["x1", "x2", "x3"]), y


def fitted_logistic(
    rows: int = 300, seed: int = 0, C: float = 1.0
) -> tuple[LogisticRegression, pd.DataFrame, np.ndarray]:
    frame, y = classification_data(rows, seed)
    return LogisticRegression(C=C).fit(frame, y), frame, y


class Doubler(BaseEstimator, TransformerMixin):
    """A user-defined transformer: skops does not trust its type unless told to."""

    def fit(self, X: object, y: object = None) -> Doubler:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X * 2


class ThresholdModel:
    """A plain Python object with predict/predict_proba: only the python flavor stores it."""

    classes_ = np.array([0, 1])

    def __init__(self, column: str, threshold: float) -> None:
        self.column = column
        self.threshold = threshold

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame[self.column].to_numpy() > self.threshold).astype(int)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        positive = 1 / (1 + np.exp(-(frame[self.column].to_numpy() - self.threshold)))
        return np.column_stack([1 - positive, positive])


def require_library(name: str) -> Any:
    """Import a flavor's library; skip without it, except in CI (LADDER_REQUIRE_SERVICES=1),
    where the dev extra installs every flavor and a missing one is a failure."""
    try:
        return importlib.import_module(name)
    except ImportError:
        message = f"{name} is not installed (pip install -e '.[dev]')"
        if os.environ.get("LADDER_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
