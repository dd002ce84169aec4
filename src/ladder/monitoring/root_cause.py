"""Root cause: does a window's drift explain a performance drop, or is it harmless?

Drift alone does not mean the model got worse. ``explain`` takes the window's
performance — realised when enough labels arrived, else estimated (CBPE / DLE) —
and compares it with the reference. A drop counts when it is larger than
``drop_threshold`` (relative to the reference value) and, where a sampling error
is known, larger than twice it. Each drifted feature is then scored by
``importance × drift``: its share of the model's sensitivity (permutation
importance on the reference) times its Jensen–Shannon distance, the one drift
measure that is bounded and defined for numeric and categorical columns alike.
The verdict says what a person or the autopilot should make of the window:

* ``performance_drop_explained_by_drift``: retrain; the ranked features say why;
* ``performance_drop_without_drift``: retrain; no input shift explains it (the
  relation between inputs and labels changed, or the labels did);
* ``drift_without_performance_effect``: reported, no retrain;
* ``stable``: nothing to do;
* ``no_performance_signal``: no labels and no estimate, so drift cannot be weighed.

A data-quality failure in the window sets ``blocks_retraining``: training on
broken data makes a model worse, whatever the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ladder.monitoring.drift import DriftReport
from ladder.monitoring.estimation import EstimatedPerformance
from ladder.monitoring.performance import LOWER_IS_BETTER, PerformanceReport
from ladder.monitoring.quality import QualityReport

EXPLAINED = "performance_drop_explained_by_drift"
UNEXPLAINED = "performance_drop_without_drift"
HARMLESS = "drift_without_performance_effect"
STABLE = "stable"
NO_SIGNAL = "no_performance_signal"
VERDICTS = (EXPLAINED, UNEXPLAINED, HARMLESS, STABLE, NO_SIGNAL)
DEFAULT_DROP_THRESHOLD = 0.05
DEFAULT_MIN_LABELLED = 100
PRIMARY_METRICS = ("roc_auc", "f1", "accuracy", "mae", "rmse")
IMPORTANCE_ROWS = 2000


@dataclass(frozen=True)
class FeatureCause:
    """A drifted feature and how much of the drop its shift could explain."""

    feature: str
    importance: float
    drift: float  # Jensen–Shannon distance, reference vs window
    contribution: float  # importance × drift
    share: float  # of all drifted features' contributions

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureCause:
        return cls(
            str(data["feature"]),
            float(data["importance"]),
            float(data["drift"]),
            float(data["contribution"]),
            float(data["share"]),
        )


@dataclass(frozen=True)
class RootCause:
    """What a window's performance and drift mean together."""

    verdict: str
    message: str
    metric: str | None = None
    source: str | None = None  # realised | estimated
    reference_value: float | None = None
    current_value: float | None = None
    drop: float | None = None  # relative to the reference value; > 0 is worse
    causes: tuple[FeatureCause, ...] = ()
    importance_source: str = "uniform"  # model | given | uniform
    retrain_recommended: bool = False
    blocks_retraining: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "message": self.message,
            "metric": self.metric,
            "source": self.source,
            "reference_value": self.reference_value,
            "current_value": self.current_value,
            "drop": self.drop,
            "causes": [c.to_dict() for c in self.causes],
            "importance_source": self.importance_source,
            "retrain_recommended": self.retrain_recommended,
            "blocks_retraining": self.blocks_retraining,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RootCause:
        return cls(
            verdict=str(data["verdict"]),
            message=str(data["message"]),
            metric=data.get("metric"),
            source=data.get("source"),
            reference_value=data.get("reference_value"),
            current_value=data.get("current_value"),
            drop=data.get("drop"),
            causes=tuple(FeatureCause.from_dict(c) for c in data.get("causes", ())),
            importance_source=str(data.get("importance_source", "uniform")),
            retrain_recommended=bool(data.get("retrain_recommended", False)),
            blocks_retraining=bool(data.get("blocks_retraining", False)),
        )


@dataclass(frozen=True)
class _Signal:
    metric: str
    source: str
    current: float
    reference: float
    sampling_error: float | None


def _signal(
    realised: PerformanceReport | None,
    estimated: EstimatedPerformance | None,
    reference_metrics: Mapping[str, float],
    metric: str | None,
    min_labelled: int,
) -> _Signal | None:
    candidates = (metric,) if metric else PRIMARY_METRICS
    errors = {m.name: m.sampling_error for m in estimated.metrics} if estimated else {}
    if realised is not None and realised.labelled_rows >= min_labelled:
        for name in candidates:
            if name in realised.metrics and name in reference_metrics:
                return _Signal(
                    name,
                    "realised",
                    realised.metrics[name],
                    reference_metrics[name],
                    errors.get(name),
                )
    if estimated is not None:
        for name in candidates:
            value = estimated.metric(name)
            if value is not None and name in reference_metrics:
                return _Signal(
                    name, "estimated", value.value, reference_metrics[name], value.sampling_error
                )
    return None


def explain(
    drift: DriftReport,
    *,
    realised: PerformanceReport | None = None,
    estimated: EstimatedPerformance | None = None,
    reference_metrics: Mapping[str, float] | None = None,
    importance: Mapping[str, float] | None = None,
    importance_source: str = "given",
    quality: QualityReport | None = None,
    metric: str | None = None,
    drop_threshold: float = DEFAULT_DROP_THRESHOLD,
    min_labelled: int = DEFAULT_MIN_LABELLED,
) -> RootCause:
    """The verdict for a window (see the module docstring)."""
    drifted = drift.drifted_features
    weights = _weights([c.column for c in drift.features], importance)
    if importance is None:
        importance_source = "uniform"
    contributions = [
        (c.column, weights.get(c.column, 0.0), c.jensenshannon or 0.0) for c in drifted
    ]
    total = sum(w * d for _, w, d in contributions)
    causes = tuple(
        sorted(
            (
                FeatureCause(name, w, d, w * d, (w * d / total) if total > 0 else 0.0)
                for name, w, d in contributions
            ),
            key=lambda cause: (-cause.contribution, cause.feature),
        )
    )
    blocks = bool(quality is not None and quality.failed)
    signal = _signal(realised, estimated, reference_metrics or {}, metric, min_labelled)
    quality_note = (
        " Data quality failed in this window: retraining is blocked until it is fixed."
        if blocks
        else ""
    )
    if signal is None:
        named = ", ".join(c.feature for c in causes[:3])
        message = (
            f"{len(drifted)} feature(s) drifted ({named}) but there are no labels and no estimate "
            "to weigh them against."
            if drifted
            else "No labels and no estimate for this window."
        )
        return RootCause(
            NO_SIGNAL,
            message + quality_note,
            causes=causes,
            importance_source=importance_source,
            blocks_retraining=blocks,
        )
    drop = _relative_drop(signal.metric, signal.reference, signal.current)
    gap = abs(signal.current - signal.reference)
    noise = (
        2 * signal.sampling_error
        if signal.sampling_error and math.isfinite(signal.sampling_error)
        else 0.0
    )
    significant = drop > drop_threshold and gap > noise

    change = (
        f"{signal.source} {signal.metric} {signal.current:.4g} vs {signal.reference:.4g} on the "
        f"reference ({drop:+.1%} worse)"
    )
    if significant and causes:
        top = ", ".join(f"{c.feature} ({c.share:.0%})" for c in causes[:3])
        message = f"Performance dropped: {change}. Drifted features that explain it: {top}."
        verdict = EXPLAINED
    elif significant:
        message = (
            f"Performance dropped: {change}, with no input drift to explain it: the relation "
            "between inputs and labels (or the labels) changed."
        )
        verdict = UNEXPLAINED
    elif drifted:
        named = ", ".join(c.feature for c in causes[:3])
        message = (
            f"{len(drifted)} feature(s) drifted ({named}) without a performance effect: {change}. "
            "No retraining needed."
        )
        verdict = HARMLESS
    else:
        message = f"Stable: {change}, no drift."
        verdict = STABLE
    return RootCause(
        verdict,
        message + quality_note,
        metric=signal.metric,
        source=signal.source,
        reference_value=signal.reference,
        current_value=signal.current,
        drop=drop,
        causes=causes,
        importance_source=importance_source,
        retrain_recommended=significant and not blocks,
        blocks_retraining=blocks,
    )


def _relative_drop(metric: str, reference: float, current: float) -> float:
    worse = current - reference if metric in LOWER_IS_BETTER else reference - current
    scale = abs(reference) if reference else 1.0
    return float(worse / scale)


def _weights(features: Sequence[str], importance: Mapping[str, float] | None) -> dict[str, float]:
    if importance is None:
        return {name: 1.0 / len(features) for name in features} if features else {}
    total = sum(max(float(v), 0.0) for v in importance.values())
    if total <= 0:
        return {name: 0.0 for name in features}
    return {name: max(float(importance.get(name, 0.0)), 0.0) / total for name in features}


def permutation_importance(
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    *,
    rows: int = IMPORTANCE_ROWS,
    seed: int = 0,
) -> dict[str, float]:
    """How much the model's output moves when each feature is shuffled, as shares summing to 1.

    Needs no labels: the mean absolute change of the output (probabilities, or
    predictions scaled by their spread) over at most ``rows`` reference rows.
    """
    rng = np.random.default_rng(seed)
    sample = (
        frame.sample(n=min(rows, len(frame)), random_state=seed) if len(frame) > rows else frame
    )
    sample = sample.reset_index(drop=True)
    base = np.asarray(predict(sample))
    numeric = base.dtype.kind in "fiub"
    spread = float(np.std(base.astype(np.float64))) if numeric else 1.0
    scores: dict[str, float] = {}
    for name in sample.columns:
        shuffled = sample.copy()
        shuffled[name] = sample[name].to_numpy()[rng.permutation(len(sample))]
        moved = np.asarray(predict(shuffled))
        if numeric:
            change = np.mean(np.abs(moved.astype(np.float64) - base)) / (spread or 1.0)
        else:  # class labels: the share of rows whose predicted class changed
            change = np.mean(moved != base)
        scores[str(name)] = float(change)
    total = sum(scores.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in scores.items()}
