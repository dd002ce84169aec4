"""Monitoring: drift, data quality, realised and estimated performance, root cause, alerts.

::

    from ladder import monitoring

    monitoring.create_monitor("loans-live", deployment="loans", window="1h",
                              rules=["estimated.roc_auc < 0.8", "drift_share > 0.3"])
    results = monitoring.run_monitor("loans-live")
    for alert in monitoring.alerts(after=last_seen_id):
        ...

    result = monitoring.compare("train.parquet", "today.parquet")   # ad hoc, nothing stored
"""

from ladder.monitoring.alerts import AlertRule, RuleOutcome, parse_rule
from ladder.monitoring.drift import (
    METHODS,
    ColumnDrift,
    Distribution,
    DriftReport,
    PreparedReference,
    compute_drift,
    prepare_reference,
)
from ladder.monitoring.estimation import (
    CBPE,
    DLE,
    EstimatedMetric,
    EstimatedPerformance,
    fit_cbpe,
    fit_dle,
)
from ladder.monitoring.evaluation import MonitorSettings, evaluate_window
from ladder.monitoring.monitor import (
    Monitor,
    alerts,
    compare,
    create_monitor,
    delete_monitor,
    get_monitor,
    list_monitors,
    monitor_results,
    run_monitor,
    sync_config_monitors,
)
from ladder.monitoring.observations import LabelJoin, Observations, attach_labels
from ladder.monitoring.performance import PerformanceReport, realised_performance
from ladder.monitoring.quality import ColumnQuality, QualityLimits, QualityReport, check_quality
from ladder.monitoring.reference import MonitorReference, build_reference
from ladder.monitoring.report import render_html, report_data
from ladder.monitoring.result import Alert, MonitorResult
from ladder.monitoring.root_cause import FeatureCause, RootCause, explain
from ladder.monitoring.windows import Window, WindowSpec, parse_window, split_windows

__all__ = [
    "CBPE",
    "DLE",
    "METHODS",
    "Alert",
    "AlertRule",
    "ColumnDrift",
    "ColumnQuality",
    "Distribution",
    "DriftReport",
    "EstimatedMetric",
    "EstimatedPerformance",
    "FeatureCause",
    "LabelJoin",
    "Monitor",
    "MonitorReference",
    "MonitorResult",
    "MonitorSettings",
    "Observations",
    "PerformanceReport",
    "PreparedReference",
    "QualityLimits",
    "QualityReport",
    "RootCause",
    "RuleOutcome",
    "Window",
    "WindowSpec",
    "alerts",
    "attach_labels",
    "build_reference",
    "check_quality",
    "compare",
    "compute_drift",
    "create_monitor",
    "delete_monitor",
    "evaluate_window",
    "explain",
    "fit_cbpe",
    "fit_dle",
    "get_monitor",
    "list_monitors",
    "monitor_results",
    "parse_rule",
    "parse_window",
    "prepare_reference",
    "realised_performance",
    "render_html",
    "report_data",
    "run_monitor",
    "split_windows",
    "sync_config_monitors",
]
