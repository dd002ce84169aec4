"""Built-in gate metrics for binary and multiclass classification, regression and latency.

Each metric knows whether higher is better (so a gate can say "worse on a
slice") and which tasks it applies to. Classification metrics that need scores
(``roc_auc``, ``log_loss``, ``pr_auc``) use ``predict_proba`` when the model has
it; a binary model without it (a regressor used as a scorer, a PyTorch network
returning one score per row) is scored by its predictions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
CLASSIFICATION = frozenset({BINARY, MULTICLASS})
LATENCY_WARMUP = 3


@dataclass(frozen=True)
class Scored:
    """What a model produced on the evaluation rows."""

    y_true: np.ndarray
    predictions: np.ndarray
    probabilities: np.ndarray | None  # columns in ``classes`` order
    classes: tuple[Any, ...]  # the labels, sorted as the probability columns are

    def subset(self, mask: np.ndarray) -> Scored:
        proba = self.probabilities[mask] if self.probabilities is not None else None
        return Scored(self.y_true[mask], self.predictions[mask], proba, self.classes)


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    higher_is_better: bool
    tasks: frozenset[str]
    compute: Callable[[Scored, str], float] | None  # None for latency, measured separately

    @property
    def is_latency(self) -> bool:
        return self.compute is None


def _positive_scores(scored: Scored) -> np.ndarray:
    if scored.probabilities is not None:
        return scored.probabilities[:, -1]
    return scored.predictions.astype(float)


def _labels(scored: Scored) -> np.ndarray:
    """Predicted labels; a binary scorer without classes is thresholded at 0.5."""
    predictions = scored.predictions
    binary_labels = set(np.unique(scored.y_true).tolist()) <= {0, 1}
    if scored.probabilities is None and predictions.dtype.kind == "f" and binary_labels:
        return (predictions >= 0.5).astype(scored.y_true.dtype)
    return predictions


def _average(task: str) -> str:
    return "binary" if task == BINARY else "macro"


def _pos_label(scored: Scored, task: str) -> Any:
    return scored.classes[-1] if task == BINARY and scored.classes else 1


def _roc_auc(scored: Scored, task: str) -> float:
    if task == BINARY:
        return float(
            skm.roc_auc_score(scored.y_true == _pos_label(scored, task), _positive_scores(scored))
        )
    if scored.probabilities is None:
        raise ValueError("multiclass roc_auc needs predict_proba")
    return float(
        skm.roc_auc_score(
            scored.y_true, scored.probabilities, multi_class="ovr", labels=list(scored.classes)
        )
    )


def _log_loss(scored: Scored, task: str) -> float:
    if scored.probabilities is None:
        if task != BINARY:
            raise ValueError("multiclass log_loss needs predict_proba")
        positive = np.clip(_positive_scores(scored), 1e-15, 1 - 1e-15)
        return float(
            skm.log_loss(scored.y_true == _pos_label(scored, task), positive, labels=[False, True])
        )
    return float(skm.log_loss(scored.y_true, scored.probabilities, labels=list(scored.classes)))


def _pr_auc(scored: Scored, task: str) -> float:
    return float(
        skm.average_precision_score(
            scored.y_true == _pos_label(scored, task), _positive_scores(scored)
        )
    )


def _classification(
    fn: Callable[..., Any], averaged: bool = True
) -> Callable[[Scored, str], float]:
    def compute(scored: Scored, task: str) -> float:
        labels = _labels(scored)
        if not averaged:
            return float(fn(scored.y_true, labels))
        return float(
            fn(
                scored.y_true,
                labels,
                average=_average(task),
                pos_label=_pos_label(scored, task),
                zero_division=0,
            )
        )

    return compute


def _regression(fn: Callable[..., Any], root: bool = False) -> Callable[[Scored, str], float]:
    def compute(scored: Scored, task: str) -> float:
        value = float(fn(scored.y_true.astype(float), scored.predictions.astype(float)))
        return float(np.sqrt(value)) if root else value

    return compute


_C, _R = CLASSIFICATION, frozenset({REGRESSION})
_ANY = CLASSIFICATION | _R
BUILTIN_METRICS: dict[str, MetricDefinition] = {
    definition.name: definition
    for definition in (
        MetricDefinition("accuracy", True, _C, _classification(skm.accuracy_score, False)),
        MetricDefinition(
            "balanced_accuracy", True, _C, _classification(skm.balanced_accuracy_score, False)
        ),
        MetricDefinition("precision", True, _C, _classification(skm.precision_score)),
        MetricDefinition("recall", True, _C, _classification(skm.recall_score)),
        MetricDefinition("f1", True, _C, _classification(skm.f1_score)),
        MetricDefinition("roc_auc", True, _C, _roc_auc),
        MetricDefinition("pr_auc", True, frozenset({BINARY}), _pr_auc),
        MetricDefinition("log_loss", False, _C, _log_loss),
        MetricDefinition("rmse", False, _R, _regression(skm.mean_squared_error, root=True)),
        MetricDefinition("mse", False, _R, _regression(skm.mean_squared_error)),
        MetricDefinition("mae", False, _R, _regression(skm.mean_absolute_error)),
        MetricDefinition("mape", False, _R, _regression(skm.mean_absolute_percentage_error)),
        MetricDefinition("r2", True, _R, _regression(skm.r2_score)),
        MetricDefinition("latency_ms_p50", False, _ANY, None),
        MetricDefinition("latency_ms_p95", False, _ANY, None),
        MetricDefinition("latency_ms_p99", False, _ANY, None),
    )
}


def infer_task(y_true: pd.Series, classes: tuple[Any, ...] | None, metric_names: list[str]) -> str:
    """binary, multiclass or regression: from the model's classes, else from the metrics asked
    for (and the number of distinct labels)."""
    if classes is not None:
        return BINARY if len(classes) <= 2 else MULTICLASS
    values = y_true.to_numpy()
    if values.dtype.kind == "f" and not np.all(np.mod(values[np.isfinite(values)], 1) == 0):
        return REGRESSION  # labels with fractions are not classes, whatever metric was asked for
    definitions = [BUILTIN_METRICS[m] for m in metric_names if not BUILTIN_METRICS[m].is_latency]
    if any(REGRESSION in d.tasks and not d.tasks & CLASSIFICATION for d in definitions):
        return REGRESSION
    if any(REGRESSION not in d.tasks for d in definitions):
        return BINARY if y_true.nunique(dropna=True) <= 2 else MULTICLASS
    return REGRESSION


def compute_metric(name: str, scored: Scored, task: str) -> float:
    """The value of built-in metric ``name``; NaN when it is undefined on these rows
    (a slice holding one class has no ROC AUC)."""
    definition = BUILTIN_METRICS[name]
    assert definition.compute is not None
    if len(scored.y_true) == 0:
        return float("nan")
    try:
        return definition.compute(scored, task)
    except ValueError:
        if len(np.unique(scored.y_true)) < 2:
            return float("nan")
        raise


def latency_percentiles(
    predict: Callable[[pd.DataFrame], Any], frame: pd.DataFrame, rows: int
) -> dict[str, float]:
    """Milliseconds per single-row ``predict`` call (validation included), as p50/p95/p99."""
    sample = frame.iloc[: max(1, min(rows, len(frame)))]
    for i in range(min(LATENCY_WARMUP, len(sample))):
        predict(sample.iloc[i : i + 1])
    timings = []
    for i in range(len(sample)):
        one = sample.iloc[i : i + 1]
        started = time.perf_counter()
        predict(one)
        timings.append((time.perf_counter() - started) * 1000)
    values = np.asarray(timings)
    return {
        "latency_ms_p50": float(np.percentile(values, 50)),
        "latency_ms_p95": float(np.percentile(values, 95)),
        "latency_ms_p99": float(np.percentile(values, 99)),
    }
