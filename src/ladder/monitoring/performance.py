"""Realised performance: model quality on the rows of a window whose labels have arrived.

Classification: accuracy, precision, recall, F1, ROC AUC and log loss (binary
metrics use the positive class; multiclass ones are macro averages, ROC AUC
one-vs-rest). Regression: MAE, RMSE, MAPE and R². Metrics that cannot be
computed on the labelled rows (ROC AUC with one class present, log loss without
probabilities, R² on one row) are left out rather than reported as NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from ladder.errors import InvalidMonitorSpec, InvalidProbabilities

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse", "mape"})


@dataclass(frozen=True)
class PerformanceReport:
    """Realised metrics of a window and how many labelled rows they rest on."""

    task: str
    labelled_rows: int
    metrics: Mapping[str, float] = field(default_factory=dict)
    positive_class: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "labelled_rows": self.labelled_rows,
            "metrics": dict(self.metrics),
            "positive_class": self.positive_class,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceReport:
        return cls(
            task=str(data["task"]),
            labelled_rows=int(data["labelled_rows"]),
            metrics={k: float(v) for k, v in data.get("metrics", {}).items()},
            positive_class=data.get("positive_class"),
        )


def class_label(value: Any) -> str:
    """A class as text, with integral numbers written without a decimal point (1.0 → "1")."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if (
        isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def class_labels(values: Sequence[Any] | pd.Series | np.ndarray) -> np.ndarray:
    return np.array([class_label(v) for v in values], dtype=object)


def infer_task(labels: pd.Series, predictions: pd.Series, has_proba: bool) -> str:
    """``binary``/``multiclass`` with probabilities or few label values, else ``regression``."""
    present = labels.dropna()
    values = pd.concat([present, predictions.dropna()])
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if has_proba or not numeric:
        classes = set(class_labels(values.unique()))
        return BINARY if len(classes) <= 2 else MULTICLASS
    distinct = values.nunique()
    integral = bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0)) if len(values) else True
    if integral and distinct <= 2:
        return BINARY
    if integral and distinct <= 20 and len(values) > 50 * distinct:
        return MULTICLASS
    return REGRESSION


def check_probabilities(values: np.ndarray, column: str) -> np.ndarray:
    """``values`` as floats in [0, 1], or ``InvalidProbabilities`` naming ``column``."""
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidProbabilities(
            f"column {column!r}: expected probabilities in [0, 1], got values that are not numbers"
        ) from None
    present = numbers[~np.isnan(numbers)]
    bad = present[(present < 0.0) | (present > 1.0)]
    if len(bad):
        raise InvalidProbabilities(
            f"column {column!r}: expected probabilities in [0, 1], got {len(bad)} value(s) outside "
            f"(e.g. {float(bad[0])!r})"
        )
    return numbers


def positive_class_of(classes: Sequence[str], positive_class: Any | None) -> str:
    """The positive class of a binary task: the one given, else ``1``/``True``, else the last."""
    if positive_class is not None:
        return class_label(positive_class)
    for candidate in ("1", "True", "true", "yes"):
        if candidate in classes:
            return candidate
    return sorted(classes)[-1]


def realised_performance(
    labels: pd.Series,
    predictions: pd.Series,
    probabilities: pd.DataFrame | None = None,
    *,
    task: str | None = None,
    positive_class: Any | None = None,
) -> PerformanceReport:
    """Metrics over the rows whose label is present.

    ``probabilities`` has one column per class, named by the class (``"0"``,
    ``"1"``); values outside [0, 1] raise ``InvalidProbabilities``.
    """
    if task is not None and task not in TASKS:
        raise InvalidMonitorSpec(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
    has_proba = probabilities is not None and probabilities.shape[1] > 0
    task = task or infer_task(labels, predictions, has_proba)
    mask = labels.notna().to_numpy()
    count = int(mask.sum())
    if task == REGRESSION:
        return PerformanceReport(REGRESSION, count, _regression(labels[mask], predictions[mask]))
    proba = None
    if has_proba:
        assert probabilities is not None
        for name in probabilities.columns:
            check_probabilities(probabilities[name].to_numpy(), f"proba.{name}")
        proba = probabilities[mask]
    y_true = class_labels(labels[mask].to_numpy())
    y_pred = class_labels(predictions[mask].to_numpy())
    classes = sorted(
        set(y_true)
        | set(y_pred)
        | set(str(c) for c in (proba.columns if proba is not None else ()))
    )
    positive = positive_class_of(classes, positive_class) if task == BINARY else None
    if count == 0:
        return PerformanceReport(task, 0, {}, positive)
    values = _classification(task, y_true, y_pred, proba, positive, classes)
    return PerformanceReport(task, count, values, positive)


def _classification(
    task: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: pd.DataFrame | None,
    positive: str | None,
    classes: list[str],
) -> dict[str, float]:
    out: dict[str, float] = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == BINARY:
            options: dict[str, Any] = {
                "pos_label": positive,
                "average": "binary",
                "zero_division": 0,
            }
        else:
            options = {"average": "macro", "zero_division": 0, "labels": classes}
        out["precision"] = float(skm.precision_score(y_true, y_pred, **options))
        out["recall"] = float(skm.recall_score(y_true, y_pred, **options))
        out["f1"] = float(skm.f1_score(y_true, y_pred, **options))
        if proba is not None:
            columns = [str(c) for c in proba.columns]
            matrix = proba.to_numpy(dtype=np.float64)
            present = set(y_true)
            if task == BINARY and positive in columns and len(present) == 2:
                scores = matrix[:, columns.index(positive)]
                out["roc_auc"] = float(skm.roc_auc_score(y_true == positive, scores))
                out["log_loss"] = float(
                    skm.log_loss(
                        y_true == positive, np.clip(scores, 1e-15, 1 - 1e-15), labels=[False, True]
                    )
                )
            elif task == MULTICLASS and present <= set(columns) and len(present) > 1:
                normalised = matrix / np.clip(matrix.sum(axis=1, keepdims=True), 1e-15, None)
                if len(present) == len(columns):
                    out["roc_auc"] = float(
                        skm.roc_auc_score(y_true, normalised, multi_class="ovr", labels=columns)
                    )
                out["log_loss"] = float(skm.log_loss(y_true, normalised, labels=columns))
    return out


def _regression(labels: pd.Series, predictions: pd.Series) -> dict[str, float]:
    y_true = pd.to_numeric(labels, errors="coerce").to_numpy(dtype=np.float64)
    y_pred = pd.to_numeric(predictions, errors="coerce").to_numpy(dtype=np.float64)
    keep = ~(np.isnan(y_true) | np.isnan(y_pred))
    y_true, y_pred = y_true[keep], y_pred[keep]
    if not len(y_true):
        return {}
    error = y_pred - y_true
    out = {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mape": float(skm.mean_absolute_percentage_error(y_true, y_pred)),
    }
    if len(y_true) > 1 and np.var(y_true) > 0:
        out["r2"] = float(skm.r2_score(y_true, y_pred))
    return out
