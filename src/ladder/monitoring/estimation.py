"""Performance estimated without labels: CBPE for binary classifiers, DLE for regressors.

**CBPE** (confidence-based performance estimation). On the reference, where
labels are known, an isotonic regression maps the model's scores to calibrated
probabilities; it is used only when it lowers the expected calibration error
(checked as NannyML does: ten stratified 90/10 splits, ten equal-count bins). On
a window, each row's calibrated probability ``p`` of the positive class gives its
expected share of the confusion matrix: a row predicted positive is a true
positive with probability ``p`` and a false positive with ``1 − p``; summing gives
expected TP, FP, FN, TN and from them accuracy, precision, recall and F1. ROC AUC is
the area under the curve of expected true and false positives as the threshold
sweeps the model's scores (rows with equal scores move together).

**DLE** (direct loss estimation). On the reference a LightGBM regressor with its
default settings (100 trees of 31 leaves, learning rate 0.1, the model NannyML's
DLE fits) learns each row's absolute and squared error from the features and the
prediction; categorical features go in as LightGBM categoricals, coded 1… in
sorted order with 0 for a category the reference never had. On a window the
estimates are the mean predicted absolute error (MAE) and the root of the mean
predicted squared error (RMSE), negative predictions clipped to 0.

**Sampling error** (the band). As NannyML computes it, from the reference: the
standard deviation of the metric's per-row terms divided by the square root of the
number of rows that count for the metric in a window of ``n`` rows; for ROC AUC the
terms of its Mann–Whitney form. The band is the estimate ± 3 sampling errors,
clipped to [0, 1] for classification metrics.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.isotonic import isotonic_regression
from sklearn.metrics import roc_auc_score

from ladder.errors import InvalidMonitorSpec
from ladder.monitoring.performance import check_probabilities

SAMPLING_ERROR_RANGE = 3
CBPE_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
DLE_METRICS = ("mae", "rmse")
_CALIBRATION_SPLITS = 10
_CALIBRATION_BINS = 10


@dataclass(frozen=True)
class EstimatedMetric:
    """An estimated metric with its sampling error and the band of ± 3 sampling errors."""

    name: str
    value: float
    sampling_error: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "sampling_error": self.sampling_error,
            "lower": self.lower,
            "upper": self.upper,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimatedMetric:
        return cls(
            str(data["name"]),
            float(data["value"]),
            float(data["sampling_error"]),
            float(data["lower"]),
            float(data["upper"]),
        )


@dataclass(frozen=True)
class EstimatedPerformance:
    """Estimated metrics of one window, and the realised metrics on the reference."""

    method: str  # cbpe | dle
    rows: int
    metrics: tuple[EstimatedMetric, ...]
    reference: Mapping[str, float] = field(default_factory=dict)

    def metric(self, name: str) -> EstimatedMetric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rows": self.rows,
            "metrics": [m.to_dict() for m in self.metrics],
            "reference": dict(self.reference),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EstimatedPerformance:
        return cls(
            method=str(data["method"]),
            rows=int(data["rows"]),
            metrics=tuple(EstimatedMetric.from_dict(m) for m in data["metrics"]),
            reference={k: float(v) for k, v in data.get("reference", {}).items()},
        )


def _band(name: str, value: float, error: float, bounded: bool) -> EstimatedMetric:
    low, high = value - SAMPLING_ERROR_RANGE * error, value + SAMPLING_ERROR_RANGE * error
    if bounded:
        low, high = max(low, 0.0), min(high, 1.0)
    elif name in DLE_METRICS:
        low = max(low, 0.0)
    return EstimatedMetric(name, float(value), float(error), float(low), float(high))


# -- CBPE ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CBPE:
    """A fitted confidence-based estimator; build it with ``fit_cbpe``."""

    calibrator: IsotonicCalibrator | None
    components: Mapping[str, tuple[float, float]]  # metric → (std, fraction of rows that count)
    reference: Mapping[str, float]

    @property
    def calibrated(self) -> bool:
        return self.calibrator is not None

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        if self.calibrator is None:
            return scores
        return self.calibrator.predict(scores)

    def estimate(
        self, scores: np.ndarray, predicted_positive: np.ndarray, column: str = "proba"
    ) -> EstimatedPerformance:
        """Estimated metrics of a window from the positive-class ``scores`` and the predictions."""
        scores = check_probabilities(scores, column)
        keep = ~np.isnan(scores)
        scores = scores[keep]
        predicted = np.asarray(predicted_positive, dtype=bool)[keep]
        n = len(scores)
        if n == 0:
            return EstimatedPerformance("cbpe", 0, (), self.reference)
        p = self.calibrate(scores)
        values = expected_confusion_metrics(p, predicted)
        values["roc_auc"] = expected_roc_auc(p, scores)
        estimated = []
        for name in CBPE_METRICS:
            value = values[name]
            if not math.isfinite(value):
                continue
            std, fraction = self.components.get(name, (math.nan, 0.0))
            counted = n * fraction
            error = std / math.sqrt(counted) if counted > 0 else math.nan
            estimated.append(_band(name, value, error, bounded=True))
        return EstimatedPerformance("cbpe", n, tuple(estimated), self.reference)


def expected_confusion_metrics(p: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the expected confusion matrix."""
    tp = float(np.sum(p[predicted]))
    fp = float(np.sum(1.0 - p[predicted]))
    fn = float(np.sum(p[~predicted]))
    tn = float(np.sum(1.0 - p[~predicted]))
    n = len(p)
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp > 0 else math.nan,
        "recall": tp / (tp + fn) if tp + fn > 0 else math.nan,
        "f1": tp / (tp + 0.5 * (fp + fn)) if tp + 0.5 * (fp + fn) > 0 else math.nan,
    }


def expected_roc_auc(p: np.ndarray, scores: np.ndarray) -> float:
    """Area under the expected ROC curve: thresholds sweep ``scores``; rows count p and 1 − p."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_p = scores[order], p[order]
    tps = np.cumsum(sorted_p)
    fps = np.cumsum(1.0 - sorted_p)
    # one point per distinct score: rows with equal scores cross the threshold together
    last = np.flatnonzero(np.concatenate([sorted_scores[1:] != sorted_scores[:-1], [True]]))
    tps, fps = np.concatenate([[0.0], tps[last]]), np.concatenate([[0.0], fps[last]])
    if tps[-1] <= 0 or fps[-1] <= 0:
        return math.nan
    return float(np.trapezoid(tps / tps[-1], fps / fps[-1]))


@dataclass(frozen=True)
class IsotonicCalibrator:
    """A monotone map from scores to probabilities (isotonic regression, clipped at the ends).

    Fitted on scores sorted once: ties are merged into their mean label, weighted
    by count, then pool-adjacent-violators runs in scikit-learn's
    ``isotonic_regression``; prediction interpolates linearly between the fitted
    points, as ``sklearn.isotonic.IsotonicRegression(out_of_bounds="clip")`` does.
    """

    x: np.ndarray
    y: np.ndarray

    @classmethod
    def fit(cls, sorted_scores: np.ndarray, labels: np.ndarray) -> IsotonicCalibrator:
        starts = np.flatnonzero(np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]]))
        counts = np.diff(np.concatenate([starts, [len(sorted_scores)]])).astype(np.float64)
        means = np.add.reduceat(labels.astype(np.float64), starts) / counts
        fitted = isotonic_regression(means, sample_weight=counts, increasing=True)
        return cls(sorted_scores[starts], np.asarray(fitted, dtype=np.float64))

    def predict(self, scores: np.ndarray) -> np.ndarray:
        if len(self.x) == 1:
            return np.full(len(scores), self.y[0])
        return np.interp(scores, self.x, self.y)


def needs_calibration(labels: np.ndarray, scores: np.ndarray, seed: int = 42) -> bool:
    """True when isotonic calibration lowers the expected calibration error out of sample:
    ten stratified 90/10 splits, calibrated and raw test scores pooled, ten equal-count bins."""
    if len(np.unique(labels)) < 2 or roc_auc_score(labels, scores) > 0.999:
        return False
    order = np.argsort(scores, kind="stable")
    scores, labels = scores[order], labels[order]
    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(labels == value) for value in np.unique(labels)]
    truth, raw, calibrated = [], [], []
    for _ in range(_CALIBRATION_SPLITS):
        test = np.zeros(len(scores), dtype=bool)
        for members in classes:
            take = max(1, round(0.1 * len(members)))
            test[rng.choice(members, size=take, replace=False)] = True
        model = IsotonicCalibrator.fit(scores[~test], labels[~test])
        truth.append(labels[test])
        raw.append(scores[test])
        calibrated.append(model.predict(scores[test]))
    y = np.concatenate(truth)
    return _calibration_error(y, np.concatenate(calibrated)) < _calibration_error(
        y, np.concatenate(raw)
    )


def _calibration_error(labels: np.ndarray, scores: np.ndarray) -> float:
    """Expected calibration error over equal-count bins of the sorted scores."""
    order = np.argsort(scores, kind="stable")
    scores, labels = scores[order], labels[order]
    n = len(scores)
    bins = _CALIBRATION_BINS if n > 2 * _CALIBRATION_BINS else max(n // 2, 1)
    width = n // bins
    edges = list(range(0, n + 1, width))
    edges[-1] = n
    total = 0.0
    for left, right in itertools.pairwise(edges):
        if right > left:
            total += (right - left) / n * abs(scores[left:right].mean() - labels[left:right].mean())
    return total


def fit_cbpe(
    labels: np.ndarray, scores: np.ndarray, predicted_positive: np.ndarray, column: str = "proba"
) -> CBPE:
    """Fit CBPE on a labelled reference: ``labels`` (1 = positive class), positive-class
    ``scores`` and the model's predictions (``predicted_positive``)."""
    scores = check_probabilities(scores, column)
    y = np.asarray(labels).astype(np.float64)
    predicted = np.asarray(predicted_positive, dtype=bool)
    keep = ~(np.isnan(scores) | np.isnan(y))
    scores, y, predicted = scores[keep], y[keep], predicted[keep]
    if len(scores) < 2 * _CALIBRATION_BINS:
        raise InvalidMonitorSpec(
            f"CBPE reference: expected at least {2 * _CALIBRATION_BINS} labelled rows with "
            f"probabilities, got {len(scores)}"
        )
    calibrator = None
    if needs_calibration(y, scores):
        order = np.argsort(scores, kind="stable")
        calibrator = IsotonicCalibrator.fit(scores[order], y[order])
    truth = y.astype(bool)
    reference = _realised_binary(truth, predicted, scores)
    return CBPE(calibrator, _sampling_components(truth, predicted, scores), reference)


def _realised_binary(
    truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray
) -> dict[str, float]:
    tp = float(np.sum(truth & predicted))
    fp = float(np.sum(~truth & predicted))
    fn = float(np.sum(truth & ~predicted))
    out = {"accuracy": float(np.mean(truth == predicted))}
    if tp + fp:
        out["precision"] = tp / (tp + fp)
    if tp + fn:
        out["recall"] = tp / (tp + fn)
    if tp + fp + fn:
        out["f1"] = tp / (tp + 0.5 * (fp + fn))
    if 0 < truth.sum() < len(truth):
        out["roc_auc"] = float(roc_auc_score(truth, scores))
    return out


def _sampling_components(
    truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray
) -> dict[str, tuple[float, float]]:
    n = len(truth)
    tp = truth & predicted
    fp = ~truth & predicted
    fn = truth & ~predicted
    out: dict[str, tuple[float, float]] = {"accuracy": (float(np.std(truth == predicted)), 1.0)}
    precision_terms = np.concatenate([np.ones(tp.sum()), np.zeros(fp.sum())])
    if len(precision_terms):
        out["precision"] = (float(np.std(precision_terms)), float(predicted.sum() / n))
    recall_terms = np.concatenate([np.ones(tp.sum()), np.zeros(fn.sum())])
    if len(recall_terms):
        out["recall"] = (float(np.std(recall_terms)), float(truth.sum() / n))
    relevant = int(tp.sum() + fp.sum() + fn.sum())
    if relevant:
        correction = relevant / ((fn.sum() + fp.sum()) * 0.5 + tp.sum())
        f1_terms = np.concatenate([np.ones(tp.sum()), np.zeros(relevant - tp.sum())]) * correction
        out["f1"] = (float(np.std(f1_terms)), relevant / n)
    out["roc_auc"] = _auroc_components(truth, scores)
    return out


def _auroc_components(truth: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Spread of the per-positive terms of AUROC as a Mann–Whitney statistic (NannyML's form)."""
    y = truth.astype(np.float64)
    s = scores
    if y.mean() > 0.5:  # count over the smaller class
        y, s = 1.0 - y, 1.0 - s
    order = np.argsort(s, kind="stable")
    y = y[order]
    positives = np.flatnonzero(y == 1)
    negatives = len(y) - len(positives)
    if not len(positives) or not negatives:
        return (math.nan, 0.0)
    # negatives ranked below each positive, as a share of all negatives
    below = (positives - np.arange(len(positives))) / negatives
    return float(np.std(below)), float(len(positives) / len(y))


# -- DLE -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DLE:
    """A fitted direct-loss estimator; build it with ``fit_dle``."""

    features: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    absolute_error_model: LGBMRegressor
    squared_error_model: LGBMRegressor
    components: Mapping[str, tuple[float, float]]  # mae: (std |e|, _), rmse: (std e², mean e²)
    reference: Mapping[str, float]

    def estimate(self, features: pd.DataFrame, predictions: np.ndarray) -> EstimatedPerformance:
        """Estimated MAE and RMSE of a window from its features and the model's predictions."""
        predicted = np.asarray(pd.to_numeric(pd.Series(predictions), errors="coerce"), dtype=float)
        keep = ~np.isnan(predicted)
        n = int(keep.sum())
        if n == 0:
            return EstimatedPerformance("dle", 0, (), self.reference)
        matrix = _dle_matrix(features.loc[keep], predicted[keep], self.features, self.categories)
        absolute = np.maximum(self.absolute_error_model.predict(matrix), 0.0)
        squared = np.maximum(self.squared_error_model.predict(matrix), 0.0)
        std_abs, _ = self.components["mae"]
        std_sq, mean_sq = self.components["rmse"]
        mae = _band("mae", float(np.mean(absolute)), std_abs / math.sqrt(n), bounded=False)
        rmse_error = math.sqrt(std_sq**2 / (4 * n * mean_sq)) if mean_sq > 0 else 0.0
        rmse = _band("rmse", float(math.sqrt(np.mean(squared))), rmse_error, bounded=False)
        return EstimatedPerformance("dle", n, (mae, rmse), self.reference)


PREDICTION_FEATURE = "__prediction__"


def _dle_matrix(
    features: pd.DataFrame,
    predictions: np.ndarray,
    names: tuple[str, ...],
    categories: Mapping[str, tuple[str, ...]],
) -> np.ndarray:
    """Features then the prediction as one float matrix; categories coded 1… (0: unseen)."""
    matrix = np.empty((len(features), len(names) + 1), dtype=float)
    for index, name in enumerate(names):
        series = features[name]
        if name in categories:
            known = pd.Index(categories[name])
            text = series.astype(object).where(series.notna(), None)
            text = text.map(lambda v: None if v is None else str(v))
            codes = known.get_indexer(pd.Index(text)).astype(float) + 1.0  # unseen → 0
            codes[text.isna().to_numpy()] = np.nan  # missing → LightGBM's missing
            matrix[:, index] = codes
        else:
            matrix[:, index] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    matrix[:, len(names)] = predictions
    return matrix


def fit_dle(
    features: pd.DataFrame,
    predictions: np.ndarray,
    labels: np.ndarray,
    *,
    categorical: tuple[str, ...] = (),
    seed: int | None = None,
) -> DLE:
    """Fit DLE on a labelled reference: the model's ``features``, ``predictions`` and ``labels``."""
    y_true = np.asarray(pd.to_numeric(pd.Series(labels), errors="coerce"), dtype=float)
    y_pred = np.asarray(pd.to_numeric(pd.Series(predictions), errors="coerce"), dtype=float)
    keep = ~(np.isnan(y_true) | np.isnan(y_pred))
    if keep.sum() < 20:
        raise InvalidMonitorSpec(
            f"DLE reference: expected at least 20 labelled rows with predictions, got {keep.sum()}"
        )
    frame = features.loc[keep].reset_index(drop=True)
    y_true, y_pred = y_true[keep], y_pred[keep]
    names = tuple(str(c) for c in frame.columns)
    categories = {
        name: tuple(sorted(frame[name].dropna().astype(str).unique().tolist()))
        for name in names
        if name in categorical
        or not (
            pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name])
        )
    }
    matrix = _dle_matrix(frame, y_pred, names, categories)
    error = y_true - y_pred
    categorical_columns = [index for index, name in enumerate(names) if name in categories]
    models = []
    for target in (np.abs(error), error**2):
        # LightGBM's defaults, as NannyML's DLE; one thread: on a busy machine, spinning
        # OpenMP workers make a fit many times slower.
        model = LGBMRegressor(random_state=seed, n_jobs=1, verbose=-1)
        model.fit(matrix, target, categorical_feature=categorical_columns or "auto")
        models.append(model)
    squared = error**2
    reference = {"mae": float(np.mean(np.abs(error))), "rmse": float(math.sqrt(np.mean(squared)))}
    components = {
        "mae": (float(np.std(np.abs(error))), 1.0),
        "rmse": (float(np.std(squared)), float(np.mean(squared))),
    }
    return DLE(names, categories, models[0], models[1], components, reference)
