"""Experiment tracking: runs, params, metrics, tags, artifacts."""

from ladder.tracking.autolog import autolog
from ladder.tracking.environment import GitState, capture_git
from ladder.tracking.queries import (
    ArtifactInfo,
    RunInfo,
    RunLink,
    RunPage,
    delete_runs,
    download_artifact,
    get_run,
    list_artifacts,
    metric_history,
    reap_crashed,
    run_links,
    search_runs,
)
from ladder.tracking.run import (
    Link,
    Run,
    StoredArtifact,
    active_run,
    end_run_by_id,
    record_run,
    require_active_run,
    start_run,
)

__all__ = [
    "ArtifactInfo",
    "GitState",
    "Link",
    "Run",
    "RunInfo",
    "RunLink",
    "RunPage",
    "StoredArtifact",
    "active_run",
    "autolog",
    "capture_git",
    "delete_runs",
    "download_artifact",
    "end_run_by_id",
    "get_run",
    "list_artifacts",
    "metric_history",
    "reap_crashed",
    "record_run",
    "require_active_run",
    "run_links",
    "search_runs",
    "start_run",
]
