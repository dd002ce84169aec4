"""Evaluating one window against a prepared reference: drift, quality, performance, cause, rules.

This is the whole of a monitor's judgement of a window, without storage:
``evaluate_window`` returns a ``MonitorResult`` that ``monitor.py`` stores and
``compare`` hands back directly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ladder.errors import InvalidMonitorSpec, InvalidProbabilities
from ladder.ids import new_id
from ladder.monitoring.alerts import evaluate_rules, parse_rules
from ladder.monitoring.drift import DEFAULT_DRIFT_SHARE, METHODS, compute_drift
from ladder.monitoring.estimation import EstimatedPerformance
from ladder.monitoring.observations import PROBA_PREFIX, LabelJoin, Observations
from ladder.monitoring.performance import (
    TASKS,
    PerformanceReport,
    class_labels,
    realised_performance,
)
from ladder.monitoring.quality import check_quality
from ladder.monitoring.reference import MonitorReference
from ladder.monitoring.result import ERROR, INSUFFICIENT_DATA, OK, MonitorResult
from ladder.monitoring.root_cause import DEFAULT_DROP_THRESHOLD, DEFAULT_MIN_LABELLED, explain

DEFAULT_MIN_ROWS = 100
DEFAULT_MIN_COLUMN_ROWS = 30


@dataclass(frozen=True)
class MonitorSettings:
    """How a monitor judges windows. Every field has a default that suits most models.

    ``min_rows``: a window with fewer rows is ``insufficient_data``. ``columns``:
    the features to watch (default: all the reference shares with the window).
    ``methods`` / ``thresholds``: drift method and threshold per column (or per
    method). ``rules``: alert rules. ``label`` / ``prediction``: the label and
    prediction columns of table (non-log) data. ``performance_metric``: the metric
    root cause watches (default: ROC AUC, F1 or accuracy; MAE for regression).
    """

    window: str = "1000 predictions"
    per_variant: bool = True
    min_rows: int = DEFAULT_MIN_ROWS
    columns: tuple[str, ...] | None = None
    methods: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    drift_share: float = DEFAULT_DRIFT_SHARE
    rules: tuple[str, ...] = ()
    label: str | None = None
    prediction: str | None = None
    task: str | None = None
    positive_class: str | None = None
    performance_metric: str | None = None
    drop_threshold: float = DEFAULT_DROP_THRESHOLD
    min_labelled: int = DEFAULT_MIN_LABELLED

    def check(self) -> MonitorSettings:
        """Validate every field (rules parse, methods exist, numbers in range); return self."""
        from ladder.monitoring.windows import parse_window

        parse_window(self.window)
        parse_rules(self.rules)
        if self.min_rows < 1:
            raise InvalidMonitorSpec(f"min_rows: expected at least 1, got {self.min_rows}")
        if not 0 < self.drift_share <= 1:
            raise InvalidMonitorSpec(
                f"drift_share: expected a share in (0, 1], got {self.drift_share}"
            )
        for column, method in self.methods.items():
            if method not in METHODS:
                raise InvalidMonitorSpec(
                    f"column {column!r}: unknown drift method {method!r} "
                    f"(expected one of {', '.join(METHODS)})"
                )
        for key, value in self.thresholds.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise InvalidMonitorSpec(f"threshold {key!r}: expected a number ≥ 0, got {value!r}")
        if self.task is not None and self.task not in TASKS:
            raise InvalidMonitorSpec(f"task: expected one of {', '.join(TASKS)}, got {self.task!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["columns"] = list(self.columns) if self.columns is not None else None
        data["methods"] = dict(self.methods)
        data["thresholds"] = dict(self.thresholds)
        data["rules"] = list(self.rules)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorSettings:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("columns") is not None:
            known["columns"] = tuple(known["columns"])
        known["rules"] = tuple(known.get("rules", ()))
        return cls(**known)


def evaluate_window(
    reference: MonitorReference,
    observed: Observations,
    settings: MonitorSettings,
    *,
    monitor: str = "compare",
    deployment: str | None = None,
    variant: str | None = None,
    window_start: int | None = None,
    window_end: int | None = None,
    window_label: str = "",
    labels: LabelJoin | None = None,
    validation_errors: Mapping[str, int] | None = None,
) -> MonitorResult:
    """Judge one window; see ``MonitorResult`` for what comes back."""
    rules = parse_rules(settings.rules)
    base = MonitorResult(
        id=new_id(),
        monitor=monitor,
        status=OK,
        rows=len(observed),
        created=int(time.time() * 1000),
        deployment=deployment,
        variant=variant,
        model=reference.model_uri,
        reference=reference.ref,
        window_start=window_start,
        window_end=window_end,
        window_label=window_label,
        labels=labels,
    )
    if len(observed) < settings.min_rows:
        return replace(
            base,
            status=INSUFFICIENT_DATA,
            message=(
                f"insufficient data: {len(observed)} rows in the window, the monitor needs at "
                f"least {settings.min_rows}; nothing judged, no alert"
            ),
        )
    try:
        judged = _judge(reference, observed, settings, base, validation_errors)
    except InvalidProbabilities as exc:
        return replace(base, status=ERROR, message=str(exc))
    return replace(judged, rules=evaluate_rules(rules, judged.metrics))


def _judge(
    reference: MonitorReference,
    observed: Observations,
    settings: MonitorSettings,
    base: MonitorResult,
    validation_errors: Mapping[str, int] | None,
) -> MonitorResult:
    frame = observed.drift_frame()
    columns: list[str] | None = None
    if settings.columns is not None:
        columns = list(settings.columns) + [
            c for c in reference.prediction_columns if c in frame.columns
        ]
    drift = compute_drift(
        reference.prepared,
        frame,
        columns=columns,
        methods=settings.methods,
        thresholds=settings.thresholds,
        drift_share=settings.drift_share,
        prediction_columns=reference.prediction_columns,
        min_rows=min(DEFAULT_MIN_COLUMN_ROWS, settings.min_rows),
    )
    quality = check_quality(
        reference.prepared, frame, drift.schema, validation_errors=validation_errors
    )
    performance = _realised(reference, observed, settings)
    estimated = _estimated(reference, observed)
    cause = explain(
        drift,
        realised=performance,
        estimated=estimated,
        reference_metrics=reference.reference_metrics,
        importance=reference.importance,
        importance_source=reference.importance_source,
        quality=quality,
        metric=settings.performance_metric,
        drop_threshold=settings.drop_threshold,
        min_labelled=settings.min_labelled,
    )
    return replace(
        base,
        drift=drift,
        quality=quality,
        performance=performance,
        estimated=estimated,
        root_cause=cause,
    )


def _realised(
    reference: MonitorReference, observed: Observations, settings: MonitorSettings
) -> PerformanceReport | None:
    if observed.labels is None or observed.predictions is None or observed.labelled_rows == 0:
        return None
    return realised_performance(
        observed.labels,
        observed.predictions,
        observed.probabilities,
        task=settings.task or reference.task,
        positive_class=settings.positive_class or reference.positive_class,
    )


def _estimated(reference: MonitorReference, observed: Observations) -> EstimatedPerformance | None:
    if observed.predictions is None:
        return None
    if reference.cbpe is not None and observed.probabilities is not None:
        positive = reference.positive_class
        if positive is None or positive not in observed.probabilities.columns:
            return None
        scores = observed.probabilities[positive].to_numpy()
        predicted = class_labels(observed.predictions.to_numpy()) == positive
        return reference.cbpe.estimate(scores, predicted, column=f"{PROBA_PREFIX}{positive}")
    if reference.dle is not None:
        missing = [f for f in reference.dle.features if f not in observed.features.columns]
        if missing:
            return None
        return reference.dle.estimate(observed.features, np.asarray(observed.predictions))
    return None


def settings_with(settings: MonitorSettings, **changes: Any) -> MonitorSettings:
    """A copy of ``settings`` with ``changes`` (None values ignored), validated."""
    return replace(settings, **{k: v for k, v in changes.items() if v is not None}).check()


def column_list(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(value)
