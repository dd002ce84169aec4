"""The record of one evaluated window (``MonitorResult``) and of a fired rule (``Alert``).

These are the types the autopilot reads through ``monitor_results`` and
``alerts``. ``MonitorResult.metrics`` flattens a window into the names alert
rules use (see ``ladder.monitoring.alerts``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ladder.monitoring.alerts import RuleOutcome
from ladder.monitoring.drift import DriftReport
from ladder.monitoring.estimation import EstimatedPerformance
from ladder.monitoring.observations import LabelJoin
from ladder.monitoring.performance import PerformanceReport
from ladder.monitoring.quality import QualityReport
from ladder.monitoring.root_cause import RootCause

OK = "ok"
INSUFFICIENT_DATA = "insufficient_data"
ERROR = "error"
STATUSES = (OK, INSUFFICIENT_DATA, ERROR)


@dataclass(frozen=True)
class MonitorResult:
    """One evaluation of one window.

    ``status`` is ``ok``, ``insufficient_data`` (fewer rows than the monitor's
    ``min_rows``: nothing is judged, no alert fires) or ``error`` (``message`` says
    why, e.g. probabilities outside [0, 1]). Times are milliseconds since the epoch.
    """

    id: str
    monitor: str
    status: str
    rows: int
    created: int
    deployment: str | None = None
    variant: str | None = None
    model: str | None = None
    reference: str | None = None
    current: str | None = None  # the table a table monitor judged (dataset ref or file)
    window_start: int | None = None
    window_end: int | None = None
    window_label: str = ""
    message: str | None = None
    drift: DriftReport | None = None
    quality: QualityReport | None = None
    performance: PerformanceReport | None = None
    estimated: EstimatedPerformance | None = None
    root_cause: RootCause | None = None
    labels: LabelJoin | None = None
    rules: tuple[RuleOutcome, ...] = field(default_factory=tuple)

    @property
    def fired(self) -> tuple[RuleOutcome, ...]:
        return tuple(r for r in self.rules if r.fired)

    @property
    def metrics(self) -> dict[str, float]:
        return window_metrics(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "monitor": self.monitor,
            "status": self.status,
            "rows": self.rows,
            "created": self.created,
            "deployment": self.deployment,
            "variant": self.variant,
            "model": self.model,
            "reference": self.reference,
            "current": self.current,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "window_label": self.window_label,
            "message": self.message,
            "drift": self.drift.to_dict() if self.drift else None,
            "quality": self.quality.to_dict() if self.quality else None,
            "performance": self.performance.to_dict() if self.performance else None,
            "estimated": self.estimated.to_dict() if self.estimated else None,
            "root_cause": self.root_cause.to_dict() if self.root_cause else None,
            "labels": self.labels.to_dict() if self.labels else None,
            "rules": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MonitorResult:
        def part(key: str, loader: Any) -> Any:
            value = data.get(key)
            return loader(value) if value else None

        labels = data.get("labels")
        return cls(
            id=str(data["id"]),
            monitor=str(data["monitor"]),
            status=str(data["status"]),
            rows=int(data["rows"]),
            created=int(data["created"]),
            deployment=data.get("deployment"),
            variant=data.get("variant"),
            model=data.get("model"),
            reference=data.get("reference"),
            current=data.get("current"),
            window_start=data.get("window_start"),
            window_end=data.get("window_end"),
            window_label=str(data.get("window_label", "")),
            message=data.get("message"),
            drift=part("drift", DriftReport.from_dict),
            quality=part("quality", QualityReport.from_dict),
            performance=part("performance", PerformanceReport.from_dict),
            estimated=part("estimated", EstimatedPerformance.from_dict),
            root_cause=part("root_cause", RootCause.from_dict),
            labels=(
                LabelJoin(
                    int(labels["matched"]), int(labels["unknown"]), tuple(labels["unknown_ids"])
                )
                if labels
                else None
            ),
            rules=tuple(RuleOutcome.from_dict(r) for r in data.get("rules", ())),
        )


@dataclass(frozen=True)
class Alert:
    """A rule that fired on a window: the event automation triggers on.

    ``kind`` is ``drift``, ``performance`` or ``data_quality``; ``verdict`` and
    ``retrain_recommended`` come from the window's root cause, so a trigger can tell
    a harmful drift from a harmless one; ``blocks_retraining`` is set when the
    window's data quality failed.
    """

    id: str
    monitor: str
    result_id: str
    rule: str
    kind: str
    fired_at: int
    observed: Mapping[str, float | None]
    deployment: str | None = None
    variant: str | None = None
    window_start: int | None = None
    window_end: int | None = None
    verdict: str | None = None
    retrain_recommended: bool = False
    blocks_retraining: bool = False
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if k == "observed" else v) for k, v in self.__dict__.items()}


def window_metrics(result: MonitorResult) -> dict[str, float]:
    """A window's figures under the names alert rules use; absent figures are left out."""
    values: dict[str, float] = {"rows": float(result.rows)}
    if result.labels is not None:
        values["unknown_label_ids"] = float(result.labels.unknown)
    if result.drift is not None:
        _drift_metrics(result.drift, values)
    if result.quality is not None:
        quality = result.quality
        values["schema_violations"] = float(quality.schema_violations)
        values["type_violations"] = float(quality.type_violations)
        values["missing_columns"] = float(len(quality.missing_columns))
        values["quality_failed"] = 1.0 if quality.failed else 0.0
        for column in quality.columns:
            name = column.column
            values[f"missing_rate.{name}"] = column.missing_rate
            values[f"missing_rate_change.{name}"] = column.missing_rate_change
            if column.out_of_range_rate is not None:
                values[f"out_of_range_rate.{name}"] = column.out_of_range_rate
            if column.unseen_category_rate is not None:
                values[f"unseen_category_rate.{name}"] = column.unseen_category_rate
    if result.performance is not None:
        values["labelled_rows"] = float(result.performance.labelled_rows)
        for metric, value in result.performance.metrics.items():
            values[f"realised.{metric}"] = value
    if result.estimated is not None:
        for estimate in result.estimated.metrics:
            values[f"estimated.{estimate.name}"] = estimate.value
            values[f"estimated.{estimate.name}.lower"] = estimate.lower
            values[f"estimated.{estimate.name}.upper"] = estimate.upper
            values[f"estimated.{estimate.name}.sampling_error"] = estimate.sampling_error
        for metric, value in result.estimated.reference.items():
            values[f"reference.{metric}"] = value
    if result.root_cause is not None and result.root_cause.drop is not None:
        values["performance_drop"] = result.root_cause.drop
    return {k: float(v) for k, v in values.items() if v is not None and not _nan(v)}


def _drift_metrics(drift: DriftReport, values: dict[str, float]) -> None:
    if drift.drift_share is not None:
        values["drift_share"] = drift.drift_share
        values["dataset_drift"] = 1.0 if drift.dataset_drift else 0.0
    values["drifted_features"] = float(len(drift.drifted_features))
    for column in drift.columns:
        if column.drifted is None:
            continue
        name = column.column
        score = column.score
        if score is not None:
            values[f"drift.{name}"] = score
        values[f"drifted.{name}"] = 1.0 if column.drifted else 0.0
        if column.psi is not None:
            values[f"psi.{name}"] = column.psi
        if column.jensenshannon is not None:
            values[f"jensenshannon.{name}"] = column.jensenshannon
        if column.p_value is not None:
            values[f"p_value.{name}"] = column.p_value
        if column.role == "prediction" and "prediction_drift" not in values and score is not None:
            values["prediction_drift"] = score


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)
