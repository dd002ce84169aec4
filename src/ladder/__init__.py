"""Ladder: one package through the five levels of MLOps maturity.

The public SDK. Level 1–2::

    import ladder

    with ladder.start_run(name="baseline") as run:
        run.log_params({"C": 1.0})
        run.log_metric("accuracy", 0.93)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ladder.errors import (
    ArtifactCorrupted,
    ArtifactNotFound,
    ConfigError,
    FilterSyntaxError,
    InvalidKey,
    InvalidValue,
    LadderError,
    ParamConflict,
    RunNotActive,
    RunNotFound,
    StoreError,
    UnsafePath,
)
from ladder.exports import lazy_exports

if TYPE_CHECKING:
    from ladder.tracking import (
        Run,
        RunInfo,
        RunPage,
        active_run,
        delete_runs,
        download_artifact,
        get_run,
        list_artifacts,
        metric_history,
        search_runs,
        start_run,
    )
    from ladder.tracking.autolog import autolog

__version__ = "0.1.0"

# Names owned by the slices, imported on first use: ``import ladder`` loads no database layer
# (a worker process that runs steps may never need one).
_LAZY = {
    **dict.fromkeys(
        (
            "Run",
            "RunInfo",
            "RunPage",
            "active_run",
            "autolog",
            "delete_runs",
            "download_artifact",
            "get_run",
            "list_artifacts",
            "metric_history",
            "search_runs",
            "start_run",
        ),
        "ladder.tracking",
    ),
    "dataset": "ladder.data",
    "step": "ladder.pipelines",
    "pipeline": "ladder.pipelines",
    "register_model": "ladder.registry",
    "load_model": "ladder.registry",
    "gate": "ladder.registry",
    "promote": "ladder.registry",
    "predictions": "ladder.serving",
    "log_labels": "ladder.serving",
}

__getattr__ = lazy_exports(__name__, globals(), _LAZY)


def _require_active_run() -> Run:
    from ladder.tracking import require_active_run

    return require_active_run()


def log_param(key: str, value: Any) -> None:
    """Record a param on the active run."""
    _require_active_run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _require_active_run().log_params(params)


def log_metric(key: str, value: Any, step: int | None = None) -> None:
    """Buffer a metric point on the active run."""
    _require_active_run().log_metric(key, value, step=step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _require_active_run().log_metrics(metrics, step=step)


def set_tags(tags: Mapping[str, Any]) -> None:
    _require_active_run().set_tags(tags)


def log_artifact(path: str | Path, name: str | None = None) -> str:
    return _require_active_run().log_artifact(path, name=name)


def log_dict(data: Any, name: str) -> str:
    return _require_active_run().log_dict(data, name)


def log_figure(figure: Any, name: str) -> str:
    return _require_active_run().log_figure(figure, name)


def end_run(status: str = "finished") -> None:
    """End the active run."""
    _require_active_run().end(status)


__all__ = [
    "ArtifactCorrupted",
    "ArtifactNotFound",
    "ConfigError",
    "FilterSyntaxError",
    "InvalidKey",
    "InvalidValue",
    "LadderError",
    "ParamConflict",
    "Run",
    "RunInfo",
    "RunNotActive",
    "RunNotFound",
    "RunPage",
    "StoreError",
    "UnsafePath",
    "__version__",
    "active_run",
    "autolog",
    "delete_runs",
    "download_artifact",
    "end_run",
    "get_run",
    "list_artifacts",
    "log_artifact",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "search_runs",
    "set_tags",
    "start_run",
]
