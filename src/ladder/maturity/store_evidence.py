"""What the Ladder store says, asked through each slice's public functions.

One small reader per slice. A slice that is not importable (not installed, or
not written yet) is reported as "not installed" and gives no evidence; a slice
whose reader fails (a corrupted store, a table it cannot read) is reported as
"failed" with the reason, and the other readers still run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from ladder.config import CONFIG_FILE, STATE_DIR, Settings, load_settings, settings_at
from ladder.errors import ConfigError
from ladder.workspace import Workspace, workspace_of

RUN_SAMPLE = 1_000  # the most recent runs examined; enough to describe practice, fast to read
RECENT_DAYS = 30
DAY_MS = 86_400_000

T = TypeVar("T")


@dataclass(frozen=True)
class SliceRead:
    """How one slice's evidence was read: ``read``, ``not installed`` or ``failed``."""

    slice: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class TrackingEvidence:
    runs: int  # runs examined: the most recent, up to RUN_SAMPLE
    more: bool  # the project holds more runs than were examined
    with_params_and_metrics: int
    with_commit: int
    clean: int  # recorded a commit and a clean working tree
    dirty: int
    with_environment: int
    with_command: int
    latest_run_id: str | None
    latest_run_ms: int | None
    example_tracked: str | None  # a run id with params and metrics
    example_clean: str | None
    pipeline_runs: int
    dataset_links: int  # dataset inputs recorded by runs
    runs_with_datasets: int
    example_dataset_link: str | None  # "run <id> read <ref>"


@dataclass(frozen=True)
class DataEvidence:
    names: tuple[str, ...]
    datasets: tuple[str, ...]  # "name (N versions)"
    versions: int
    latest_ms: int | None
    produced_by_runs: int  # latest versions recorded with the run that added them


@dataclass(frozen=True)
class PipelineEvidence:
    runs: int
    pipelines: tuple[str, ...]
    latest_run_id: str | None
    latest_ms: int | None
    finished: int


@dataclass(frozen=True)
class RegistryEvidence:
    names: tuple[str, ...]
    models: tuple[str, ...]  # "name (N versions)"
    versions: int
    versions_with_run: int
    versions_with_datasets: int
    versions_with_commit: int
    aliases: tuple[str, ...]  # "name@alias -> N"
    gates: int
    passed_gates: int
    gated_promotions: int  # alias moves that cited a passing gate
    forced_promotions: int
    latest_promotion_ms: int | None
    example_lineage: str | None  # "loans/3 <- run <id>, datasets ..."


@dataclass(frozen=True)
class ServingEvidence:
    deployments: tuple[str, ...]
    progressive: tuple[str, ...]  # deployments with a canary / shadow / A-B policy now or before
    from_registry: tuple[str, ...]  # deployments whose variants are registry versions
    rollbacks: int
    prediction_logs: int  # deployments with logged predictions


@dataclass(frozen=True)
class MonitoringEvidence:
    monitors: tuple[str, ...]
    results: int
    recent_results: int  # within RECENT_DAYS
    latest_ms: int | None
    kinds: tuple[str, ...]  # what the results cover: drift, performance, estimated performance…


@dataclass(frozen=True)
class AutomationEvidence:
    events: int
    triggers: tuple[str, ...]
    retrains_recent: int
    promotions_recent: int
    cycles_recent: int  # retrain -> promote cycles completed within RECENT_DAYS
    latest_cycle_ms: int | None


@dataclass(frozen=True)
class StoreEvidence:
    """The Ladder store of the assessed project, when there is one."""

    location: str | None  # the store URI (None: no Ladder project here)
    project: str | None
    problem: str | None = None  # why the store could not be opened
    slices: tuple[SliceRead, ...] = ()
    tracking: TrackingEvidence | None = None
    data: DataEvidence | None = None
    pipelines: PipelineEvidence | None = None
    registry: RegistryEvidence | None = None
    serving: ServingEvidence | None = None
    monitoring: MonitoringEvidence | None = None
    automation: AutomationEvidence | None = None
    failures: dict[str, str] = field(default_factory=dict)  # slice -> error

    @property
    def readable(self) -> bool:
        return self.location is not None and self.problem is None


def project_root(folder: Path, boundary: Path | None) -> Path | None:
    """The Ladder project folder (``ladder.toml`` or ``.ladder/``) at or above ``folder``,
    looking no higher than ``boundary`` (the repository root), so that a stray ``.ladder/``
    in a home folder is not taken for the repository's store."""
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).is_file() or (candidate / STATE_DIR).is_dir():
            return candidate
        if boundary is None or candidate == boundary:
            return None
    return None


def project_settings(root: Path) -> Settings:
    """The settings of the Ladder project at ``root``.

    The ``LADDER_*`` variables apply when ``root`` is the current project (the one
    ``LADDER_HOME`` or the working directory points at); another project is read from
    its own ``ladder.toml`` and ``.ladder/``.
    """
    try:
        current: Settings | None = load_settings()
    except ConfigError:
        current = None  # the current project's config is not the one being assessed
    if current is not None and current.root == root:
        return current
    return settings_at(root)


def read_store(folder: Path, boundary: Path | None = None) -> StoreEvidence:
    """Open the project's store (never creating one) and ask every slice what it holds."""
    root = project_root(folder, boundary)
    if root is None:
        return StoreEvidence(location=None, project=None)
    try:
        settings = project_settings(root)
    except Exception as exc:  # an unreadable ladder.toml must not stop the assessment
        return StoreEvidence(location=str(root / CONFIG_FILE), project=None, problem=str(exc))
    uri = settings.store_uri
    if uri.startswith("sqlite") and "///" in uri:
        path = Path(uri.split("///", 1)[1])
        if not path.is_file():
            return StoreEvidence(
                location=uri, project=settings.project, problem="no store yet (no runs recorded)"
            )
        if path.stat().st_size == 0:
            return StoreEvidence(location=uri, project=settings.project, problem="empty file")
    try:
        workspace = workspace_of(settings)
    except Exception as exc:  # a corrupted store is a finding, not a crash
        return StoreEvidence(location=uri, project=settings.project, problem=_describe(exc))
    results: dict[str, Any] = {}
    reads: list[SliceRead] = []
    failures: dict[str, str] = {}
    for name, reader in READERS.items():
        value, read = _ask(name, partial(reader, workspace))
        reads.append(read)
        results[name] = value
        if read.status == "failed":
            failures[name] = read.detail
    return StoreEvidence(
        location=uri,
        project=settings.project,
        slices=tuple(reads),
        failures=failures,
        **results,
    )


def _describe(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _ask(name: str, read: Callable[[], T]) -> tuple[T | None, SliceRead]:
    try:
        return read(), SliceRead(name, "read")
    except ImportError as exc:
        return None, SliceRead(name, "not installed", str(exc))
    except Exception as exc:  # one slice's failure leaves the others' evidence standing
        return None, SliceRead(name, "failed", _describe(exc))


def _now_ms() -> int:
    return int(time.time() * 1000)


def short_ref(ref: str) -> str:
    """``loans@<64 hex digits>`` as ``loans@<first 12>``: readable, unambiguous in practice."""
    name, at, version = ref.partition("@")
    if at and len(version) > 16 and all(c in "0123456789abcdef" for c in version):
        return f"{name}@{version[:12]}"
    return ref


def read_tracking(ws: Workspace) -> TrackingEvidence:
    from ladder.tracking import run_links, search_runs

    page = search_runs(limit=RUN_SAMPLE, workspace=ws)
    runs = page.runs
    tracked = [r for r in runs if r.params and r.metrics]
    clean = [r for r in runs if r.git_commit and r.git_dirty is False]
    links = [link for link in run_links(kind="dataset", workspace=ws) if link.direction == "input"]
    return TrackingEvidence(
        runs=len(runs),
        more=page.next_page_token is not None,
        with_params_and_metrics=len(tracked),
        with_commit=sum(1 for r in runs if r.git_commit),
        clean=len(clean),
        dirty=sum(1 for r in runs if r.git_dirty),
        with_environment=sum(1 for r in runs if r.environment_digest),
        with_command=sum(1 for r in runs if r.command),
        latest_run_id=runs[0].id if runs else None,
        latest_run_ms=runs[0].start_time if runs else None,
        example_tracked=tracked[0].id if tracked else None,
        example_clean=clean[0].id if clean else None,
        pipeline_runs=sum(1 for r in runs if r.kind == "pipeline"),
        dataset_links=len(links),
        runs_with_datasets=len({link.run_id for link in links}),
        example_dataset_link=f"run {links[-1].run_id} read {short_ref(links[-1].ref)}"
        if links
        else None,
    )


def read_data(ws: Workspace) -> DataEvidence:
    from ladder.data import dataset

    summaries = dataset.list_datasets(workspace=ws)
    return DataEvidence(
        names=tuple(s.name for s in summaries),
        datasets=tuple(f"{s.name} ({s.versions} versions)" for s in summaries),
        versions=sum(s.versions for s in summaries),
        latest_ms=max((s.latest.created for s in summaries), default=None),
        produced_by_runs=sum(1 for s in summaries if s.latest.created_by_run),
    )


def read_pipelines(ws: Workspace) -> PipelineEvidence:
    from ladder.pipelines import list_pipeline_runs

    runs = list_pipeline_runs(limit=RUN_SAMPLE, workspace=ws)
    return PipelineEvidence(
        runs=len(runs),
        pipelines=tuple(sorted({r.pipeline for r in runs})),
        latest_run_id=runs[0].run.id if runs else None,
        latest_ms=runs[0].run.start_time if runs else None,
        finished=sum(1 for r in runs if r.run.status == "finished"),
    )


def read_registry(ws: Workspace) -> RegistryEvidence:
    from ladder.registry import alias_history, list_evaluations, list_models, list_versions

    models = list_models(workspace=ws)
    versions = [v for m in models for v in list_versions(m.name, workspace=ws)]
    evaluations = [e for m in models for e in list_evaluations(m.name, workspace=ws)]
    events = [e for m in models for e in alias_history(m.name, workspace=ws)]
    moves = [e for e in events if e.action == "set"]
    gated = [e for e in moves if e.evaluation_id and not e.forced]
    linked = [v for v in versions if v.run_id or v.pipeline_run_id]
    example = None
    if linked:
        version = linked[0]
        datasets = ", ".join(short_ref(d.ref) for d in version.datasets) or "no datasets"
        commit = f", commit {version.git_commit[:10]}" if version.git_commit else ""
        example = (
            f"{version.uri} <- run {version.run_id or version.pipeline_run_id}{commit}, {datasets}"
        )
    return RegistryEvidence(
        names=tuple(m.name for m in models),
        models=tuple(f"{m.name} ({m.version_count} versions)" for m in models),
        versions=len(versions),
        versions_with_run=len(linked),
        versions_with_datasets=sum(1 for v in versions if v.datasets),
        versions_with_commit=sum(1 for v in versions if v.git_commit),
        aliases=tuple(f"{m.name}@{a} -> {n}" for m in models for a, n in m.aliases.items()),
        gates=len(evaluations),
        passed_gates=sum(1 for e in evaluations if e.passed),
        gated_promotions=len(gated),
        forced_promotions=sum(1 for e in moves if e.forced),
        latest_promotion_ms=max((e.created for e in moves), default=None),
        example_lineage=example,
    )


def read_serving(ws: Workspace) -> ServingEvidence:
    from ladder.serving import deployment_history, list_deployments, predictions

    deployments = list_deployments(workspace=ws)
    progressive = []
    rollbacks = logged = 0
    for deployment in deployments:
        history = deployment_history(deployment.name, workspace=ws)
        kinds = {event.policy.kind for event in history} | {deployment.policy.kind}
        if kinds - {"single"}:
            progressive.append(f"{deployment.name} ({deployment.policy.describe()})")
        rollbacks += sum(1 for event in history if event.action == "rollback")
        # bounded to the recent window: reading a busy deployment's whole log would be slow
        recent_log = predictions(deployment.name, since=timedelta(days=RECENT_DAYS), workspace=ws)
        logged += bool(len(recent_log))
    return ServingEvidence(
        deployments=tuple(d.name for d in deployments),
        progressive=tuple(progressive),
        # every variant of a Ladder deployment is a registry version or alias
        from_registry=tuple(f"{d.name} ({d.policy.describe()})" for d in deployments),
        rollbacks=rollbacks,
        prediction_logs=logged,
    )


def read_monitoring(ws: Workspace) -> MonitoringEvidence:
    from ladder.monitoring import list_monitors, monitor_results

    monitors = list_monitors(workspace=ws)
    since = _now_ms() - RECENT_DAYS * DAY_MS
    recent_results = monitor_results(since=since, limit=RUN_SAMPLE, workspace=ws)
    latest = recent_results or monitor_results(limit=1, workspace=ws)
    kinds = set()
    for result in recent_results:
        if result.performance is not None:
            kinds.add("realised performance")
        if result.estimated is not None:
            kinds.add("estimated performance")
        if result.drift is not None:
            kinds.add("drift")
        if result.quality is not None:
            kinds.add("data quality")
    return MonitoringEvidence(
        monitors=tuple(
            f"{m.name} ({'deployment ' + m.deployment if m.deployment else m.current or 'table'})"
            for m in monitors
        ),
        results=len(recent_results) or len(latest),
        recent_results=len(recent_results),
        latest_ms=latest[-1].created if latest else None,
        kinds=tuple(sorted(kinds)),
    )


def read_automation(ws: Workspace) -> AutomationEvidence:
    from ladder.automation.events import list_events

    events = list_events(limit=10_000, workspace=ws)
    now = _now_ms()
    fresh = [e for e in events if recent(e.time, now)]
    retrained = {e.loop_id for e in fresh if e.kind == "pipeline_finished" and e.loop_id}
    promoted = [e for e in fresh if e.kind == "promoted" and e.loop_id in retrained]
    return AutomationEvidence(
        events=len(events),
        triggers=tuple(sorted({e.trigger for e in events if e.trigger})),
        retrains_recent=len(retrained),
        promotions_recent=sum(1 for e in fresh if e.kind == "promoted"),
        cycles_recent=len({e.loop_id for e in promoted}),
        latest_cycle_ms=max((e.time for e in promoted), default=None),
    )


READERS: dict[str, Callable[[Workspace], Any]] = {
    "tracking": read_tracking,
    "data": read_data,
    "pipelines": read_pipelines,
    "registry": read_registry,
    "serving": read_serving,
    "monitoring": read_monitoring,
    "automation": read_automation,
}


def recent(ms: int | None, now_ms: int | None = None, days: int = RECENT_DAYS) -> bool:
    return ms is not None and (now_ms or _now_ms()) - ms <= days * DAY_MS
