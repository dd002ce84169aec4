"""Monitors: stored definitions, runs over the prediction log, results and alerts.

A monitor watches either a deployment (windows over its prediction log, per
variant, against the served model version's training data unless a reference
is given) or a current table against a reference table (``current=``: a dataset
``name@version`` or a file). ``run_monitor`` evaluates the windows completed
since the monitor's last run and stores each evaluation as a ``MonitorResult``;
every rule that fires on a window is stored as an ``Alert``, which automation
reads with ``alerts(after=<last id seen>)``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ladder.errors import InvalidMonitorSpec, MonitorExists, MonitorNotFound
from ladder.ids import new_id
from ladder.monitoring.evaluation import MonitorSettings, evaluate_window
from ladder.monitoring.models import MonitorAlertRow, MonitorResultRow, MonitorRow
from ladder.monitoring.observations import (
    LabelJoin,
    Observations,
    attach_labels,
    from_frame,
    from_prediction_log,
)
from ladder.monitoring.reference import (
    MonitorReference,
    build_reference,
    check_features,
    guess_label,
    load_table,
    training_dataset,
    with_model_outputs,
)
from ladder.monitoring.result import Alert, MonitorResult
from ladder.monitoring.windows import ALL, TIME, Window, parse_window, split_windows
from ladder.workspace import Workspace, open_workspace

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,249}$")
_REFERENCE_CACHE_SIZE = 4


@dataclass(frozen=True)
class Monitor:
    """A stored monitor."""

    id: str
    name: str
    project: str
    deployment: str | None
    reference: str | None  # None: the served model version's training dataset
    current: str | None
    settings: MonitorSettings
    source: str
    created: int
    updated: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "deployment": self.deployment,
            "reference": self.reference,
            "current": self.current,
            "settings": self.settings.to_dict(),
            "source": self.source,
            "created": self.created,
            "updated": self.updated,
        }


def _monitor(row: MonitorRow) -> Monitor:
    return Monitor(
        id=row.id,
        name=row.name,
        project=row.project,
        deployment=row.deployment,
        reference=row.reference,
        current=row.current,
        settings=MonitorSettings.from_dict(orjson.loads(row.settings)),
        source=row.source,
        created=row.created,
        updated=row.updated,
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _source_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    ref = getattr(value, "ref", None)
    if isinstance(ref, str):
        return ref
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidMonitorSpec(
        f"{what}: expected a dataset 'name@version', a dataset version or a file path, got "
        f"{type(value).__name__} (compare DataFrames with ladder.monitoring.compare)"
    )


def create_monitor(
    name: str,
    *,
    deployment: str | None = None,
    reference: Any = None,
    current: Any = None,
    settings: MonitorSettings | None = None,
    replace: bool = False,
    source: str = "sdk",
    workspace: Workspace | None = None,
    **options: Any,
) -> Monitor:
    """Store a monitor of ``deployment`` (or of ``current`` against ``reference``).

    ``options`` are ``MonitorSettings`` fields: ``window="1h"``,
    ``rules=["drift_share > 0.3"]``, ``min_rows=200``, ``methods={"age": "psi"}``…
    An existing monitor of that name is an error unless ``replace=True``.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidMonitorSpec(
            f"monitor name {name!r}: expected letters, digits, '_', '.', '-' (at most 250)"
        )
    unknown = set(options) - set(MonitorSettings.__dataclass_fields__)
    if unknown:
        raise InvalidMonitorSpec(
            f"monitor {name}: unknown settings {', '.join(sorted(unknown))} (known: "
            f"{', '.join(MonitorSettings.__dataclass_fields__)})"
        )
    if "rules" in options:
        options["rules"] = tuple(options["rules"] or ())
    if options.get("columns") is not None:
        options["columns"] = tuple(options["columns"])
    resolved = MonitorSettings(**{**(settings or MonitorSettings()).__dict__, **options}).check()
    reference_text = _source_text(reference, "reference")
    current_text = _source_text(current, "current")
    if (deployment is None) == (current_text is None):
        raise InvalidMonitorSpec(
            f"monitor {name}: give either deployment= (windows over its prediction log) or "
            "current= with reference= (two tables)"
        )
    if current_text is not None and reference_text is None:
        raise InvalidMonitorSpec(f"monitor {name}: current= needs a reference= to compare with")
    ws = workspace or open_workspace()
    now = _now_ms()
    payload = orjson.dumps(resolved.to_dict()).decode()

    def work(session: Session) -> MonitorRow:
        row = session.scalar(
            select(MonitorRow).where(MonitorRow.project == ws.project, MonitorRow.name == name)
        )
        if row is not None and not replace:
            raise MonitorExists(
                f"monitor {name!r}: already exists (watching {row.deployment or row.current}); "
                "pass replace=True (--replace) to change it"
            )
        if row is None:
            row = MonitorRow(id=new_id(), project=ws.project, name=name, created=now)
            session.add(row)
        row.deployment = deployment
        row.reference = reference_text
        row.current = current_text
        row.settings = payload
        row.source = source
        row.updated = now
        session.flush()
        return row

    return _monitor(ws.store.write(work))


def get_monitor(name: str, workspace: Workspace | None = None) -> Monitor:
    ws = workspace or open_workspace()
    with ws.store.read() as session:
        row = session.scalar(
            select(MonitorRow).where(MonitorRow.project == ws.project, MonitorRow.name == name)
        )
        if row is None:
            names = session.scalars(
                select(MonitorRow.name)
                .where(MonitorRow.project == ws.project)
                .order_by(MonitorRow.name)
            ).all()
            raise MonitorNotFound(
                f"monitor {name!r}: not found (monitors: {', '.join(names) or 'none'})"
            )
        return _monitor(row)


def list_monitors(
    deployment: str | None = None, workspace: Workspace | None = None
) -> list[Monitor]:
    ws = workspace or open_workspace()
    query = select(MonitorRow).where(MonitorRow.project == ws.project)
    if deployment is not None:
        query = query.where(MonitorRow.deployment == deployment)
    with ws.store.read() as session:
        return [_monitor(row) for row in session.scalars(query.order_by(MonitorRow.name))]


def delete_monitor(name: str, workspace: Workspace | None = None) -> None:
    """Delete a monitor with its results and alerts."""
    ws = workspace or open_workspace()
    monitor = get_monitor(name, ws)

    def work(session: Session) -> None:
        session.execute(delete(MonitorAlertRow).where(MonitorAlertRow.monitor_id == monitor.id))
        session.execute(delete(MonitorResultRow).where(MonitorResultRow.monitor_id == monitor.id))
        session.execute(delete(MonitorRow).where(MonitorRow.id == monitor.id))

    ws.store.write(work)


def sync_config_monitors(workspace: Workspace | None = None) -> list[Monitor]:
    """Create or update the monitors declared in ``ladder.toml`` (``[monitors.NAME]``)."""
    ws = workspace or open_workspace()
    try:
        config_module = importlib.import_module("ladder.automation.config")
    except ImportError:
        return []
    config = config_module.load_config(ws.settings.root / "ladder.toml")
    synced = []
    for name, section in config.monitors.items():
        wanted = {"window": section.window, "rules": tuple(section.alerts)}
        try:
            existing = get_monitor(name, ws)
        except MonitorNotFound:
            existing = None
        if (
            existing is not None
            and existing.deployment == section.deployment
            and existing.reference == section.reference
            and existing.settings.window == wanted["window"]
            and tuple(existing.settings.rules) == wanted["rules"]
        ):
            synced.append(existing)
            continue
        base = existing.settings if existing is not None else None
        synced.append(
            create_monitor(
                name,
                deployment=section.deployment,
                reference=section.reference,
                settings=base,
                replace=True,
                source="config",
                workspace=ws,
                **wanted,
            )
        )
    return synced


# -- running -------------------------------------------------------------------------------
ProgressCallback = Callable[[int, int], None]


def run_monitor(
    name: str,
    *,
    since: datetime | str | pd.Timestamp | None = None,
    until: datetime | str | pd.Timestamp | None = None,
    labels: pd.DataFrame | None = None,
    include_incomplete: bool = False,
    validation_errors: Mapping[str, int] | None = None,
    now: pd.Timestamp | None = None,
    progress: ProgressCallback | None = None,
    workspace: Workspace | None = None,
) -> list[MonitorResult]:
    """Evaluate the monitor's new windows and store the results (and fired alerts).

    Without ``since``, windows already evaluated are skipped. ``labels`` (columns
    ``request_id``, ``label``) join onto the log first; labels for request ids the
    log does not have are counted in each result's ``labels``, not an error.
    ``include_incomplete`` also evaluates the window still filling up.
    """
    ws = workspace or open_workspace()
    monitor = get_monitor(name, ws)
    if monitor.deployment is not None:
        results = _run_deployment(
            ws, monitor, since, until, labels, include_incomplete, validation_errors, now, progress
        )
    else:
        results = _run_tables(ws, monitor, since is not None, progress)
    _store(ws, monitor, results)
    return results


def _read_predictions(deployment: str, since: Any, until: Any, ws: Workspace) -> pd.DataFrame:
    from ladder.serving import predictions  # imported when used: serving is a heavier slice

    return predictions(deployment, since=since, until=until, workspace=ws)


def _read_rejected(deployment: str, since: Any, until: Any, ws: Workspace) -> pd.DataFrame:
    from ladder.serving import rejected_inputs

    return rejected_inputs(deployment, since=since, until=until, workspace=ws)


def _window_rejections(
    rejected: pd.DataFrame, window: Window, kind: str, after_ms: int | None
) -> dict[str, int]:
    """Requests the server refused during ``window``, counted per ``"column: reason"``.

    A time window spans [start, end). A count window spans from just after the
    previous window of its variant (``after_ms``) to its last row, so a refusal
    between two count windows counts in the later one.
    """
    if not len(rejected) or window.start_ms is None or window.end_ms is None:
        return {}
    stamps = _epoch_ms(rejected["timestamp"])
    if kind == TIME:
        inside = (stamps >= window.start_ms) & (stamps < window.end_ms)
    elif after_ms is not None:
        inside = (stamps > after_ms) & (stamps <= window.end_ms)
    else:
        inside = (stamps >= window.start_ms) & (stamps <= window.end_ms)
    if window.variant is not None:
        inside &= rejected["variant"] == window.variant
    chosen = rejected[inside.to_numpy()]
    if not len(chosen):
        return {}
    keys = chosen["column"].astype(str) + ": " + chosen["reason"].astype(str)
    counts = chosen.assign(key=keys).groupby("key")["request_id"].nunique()
    return {str(key): int(count) for key, count in counts.items()}


def _last_window_ends(ws: Workspace, monitor: Monitor) -> dict[str | None, int]:
    with ws.store.read() as session:
        rows = session.execute(
            select(MonitorResultRow.variant, func.max(MonitorResultRow.window_end))
            .where(MonitorResultRow.monitor_id == monitor.id)
            .group_by(MonitorResultRow.variant)
        ).all()
    return {variant: int(end) for variant, end in rows if end is not None}


def _run_deployment(
    ws: Workspace,
    monitor: Monitor,
    since: Any,
    until: Any,
    labels: pd.DataFrame | None,
    include_incomplete: bool,
    validation_errors: Mapping[str, int] | None,
    now: pd.Timestamp | None,
    progress: ProgressCallback | None,
) -> list[MonitorResult]:
    assert monitor.deployment is not None
    settings = monitor.settings
    spec = parse_window(settings.window)
    done = {} if since is not None else _last_window_ends(ws, monitor)
    start = since
    if start is None and done:
        start = pd.Timestamp(min(done.values()), unit="ms", tz="UTC")
    log = _read_predictions(monitor.deployment, start, until, ws)
    join: LabelJoin | None = None
    if labels is not None:
        log, join = attach_labels(log, labels)
    if done and len(log):
        log = _after_evaluated(log, done, spec.kind)
    windows = [
        w
        for w in split_windows(log, spec, per_variant=settings.per_variant, now=now)
        if w.complete or include_incomplete
    ]
    rejected = (
        _read_rejected(monitor.deployment, start, until, ws)
        if validation_errors is None and windows
        else None
    )
    results: list[MonitorResult] = []
    previous_end: dict[str | None, int | None] = dict(done)
    for position, window in enumerate(windows):
        reference = _deployment_reference(ws, monitor, window)
        counted = validation_errors
        if rejected is not None:
            after = previous_end.get(window.variant, previous_end.get(None))
            counted = _window_rejections(rejected, window, spec.kind, after)
            previous_end[window.variant] = window.end_ms
        results.append(
            evaluate_window(
                reference,
                from_prediction_log(window.rows),
                settings,
                monitor=monitor.name,
                deployment=monitor.deployment,
                variant=window.variant,
                window_start=window.start_ms,
                window_end=window.end_ms,
                window_label=window.label,
                labels=join,
                validation_errors=counted,
            )
        )
        if progress is not None:
            progress(position + 1, len(windows))
    return results


def _epoch_ms(timestamps: pd.Series) -> pd.Series:
    """Timestamps (naive = UTC) as integer milliseconds since the epoch."""
    return pd.to_datetime(timestamps, utc=True).dt.as_unit("ns").astype("int64") // 1_000_000


def _after_evaluated(log: pd.DataFrame, done: Mapping[str | None, int], kind: str) -> pd.DataFrame:
    """Rows newer than the last evaluated window of their variant."""
    stamps = _epoch_ms(log["timestamp"])
    variants = log["variant"] if "variant" in log.columns else pd.Series([None] * len(log))
    limits = variants.map(lambda v: done.get(v, done.get(None, -1))).astype("int64")
    # a time window ends at an aligned instant (exclusive); a count window at its last row
    keep = stamps >= limits if kind == TIME else stamps > limits
    return log[keep.to_numpy()]


def _model_uri(rows: pd.DataFrame) -> str | None:
    if "model" not in rows.columns or "model_version" not in rows.columns or not len(rows):
        return None
    pairs = rows["model"].astype(str) + "/" + rows["model_version"].astype(str)
    return str(pairs.mode().iloc[0])


_references: OrderedDict[tuple[Any, ...], MonitorReference] = OrderedDict()
_references_lock = threading.Lock()


def _deployment_reference(ws: Workspace, monitor: Monitor, window: Window) -> MonitorReference:
    uri = _model_uri(window.rows)
    source = monitor.reference
    if source is None:
        if uri is None:
            raise InvalidMonitorSpec(
                f"monitor {monitor.name}: the log has no model version to find a reference "
                "through; give the monitor a reference"
            )
        source = training_dataset(uri, ws)
    key = (ws.settings.store_uri, monitor.id, monitor.updated, source, uri)
    with _references_lock:
        cached = _references.get(key)
        if cached is not None:
            _references.move_to_end(key)
            return cached
    frame, ref = load_table(source, ws)
    model = None
    features = [c[len("input.") :] for c in window.rows.columns if str(c).startswith("input.")]
    if uri is not None:
        registry = importlib.import_module("ladder.registry")
        model = registry.load_model(uri, workspace=ws)
        if model.signature is not None:
            features = list(model.signature.columns)
    check_features(frame, features, f"monitor {monitor.name}, reference {ref}")
    label = monitor.settings.label or guess_label(frame, features)
    columns = features + ([label] if label else [])
    reference = build_reference(
        frame[columns],
        ref=ref,
        label=label,
        features=features,
        model=model,
        task=monitor.settings.task,
        positive_class=monitor.settings.positive_class,
    )
    with _references_lock:
        _references[key] = reference
        while len(_references) > _REFERENCE_CACHE_SIZE:
            _references.popitem(last=False)
    return reference


def _run_tables(
    ws: Workspace, monitor: Monitor, forced: bool, progress: ProgressCallback | None
) -> list[MonitorResult]:
    assert monitor.reference is not None and monitor.current is not None
    settings = monitor.settings
    current, current_ref = load_table(monitor.current, ws)
    if not forced:
        with ws.store.read() as session:
            last = session.scalar(
                select(MonitorResultRow.current)
                .where(MonitorResultRow.monitor_id == monitor.id)
                .order_by(MonitorResultRow.created.desc())
                .limit(1)
            )
        if last == current_ref:
            return []  # this version of the current table was evaluated already
    frame, ref = load_table(monitor.reference, ws)
    reference = build_reference(
        frame,
        ref=ref,
        label=settings.label,
        prediction=settings.prediction,
        task=settings.task,
        positive_class=settings.positive_class,
    )
    spec = parse_window(settings.window) if settings.window else parse_window(ALL)
    windows = split_windows(current, spec, per_variant=settings.per_variant)
    results = []
    for position, window in enumerate(windows):
        observed = _table_observations(window.rows, settings, reference)
        result = evaluate_window(
            reference,
            observed,
            settings,
            monitor=monitor.name,
            variant=window.variant,
            window_start=window.start_ms,
            window_end=window.end_ms,
            window_label=window.label,
        )
        results.append(dataclasses.replace(result, current=current_ref))
        if progress is not None:
            progress(position + 1, len(windows))
    return results


def _table_observations(
    rows: pd.DataFrame, settings: MonitorSettings, reference: MonitorReference
) -> Observations:
    label = settings.label if settings.label in rows.columns else None
    prediction = settings.prediction if settings.prediction in rows.columns else None
    return from_frame(rows, label=label, prediction=prediction)


def _store(ws: Workspace, monitor: Monitor, results: Sequence[MonitorResult]) -> None:
    if not results:
        return
    rows: list[MonitorResultRow] = []
    alert_rows: list[MonitorAlertRow] = []
    # ids sort by time; within one millisecond, keep the order the rules fired in
    alert_ids = iter(sorted(new_id() for _ in range(sum(len(r.fired) for r in results))))
    for result in results:
        cause = result.root_cause
        rows.append(
            MonitorResultRow(
                id=result.id,
                monitor_id=monitor.id,
                project=monitor.project,
                deployment=result.deployment,
                variant=result.variant,
                model=result.model,
                current=result.current,
                status=result.status,
                rows=result.rows,
                window_start=result.window_start,
                window_end=result.window_end,
                drift_share=result.drift.drift_share if result.drift else None,
                dataset_drift=result.drift.dataset_drift if result.drift else None,
                verdict=cause.verdict if cause else None,
                alert_count=len(result.fired),
                created=result.created,
                payload=orjson.dumps(result.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY).decode(),
            )
        )
        for outcome in result.fired:
            alert_rows.append(
                MonitorAlertRow(
                    id=next(alert_ids),
                    result_id=result.id,
                    monitor_id=monitor.id,
                    project=monitor.project,
                    deployment=result.deployment,
                    variant=result.variant,
                    rule=outcome.rule,
                    kind=outcome.kind,
                    verdict=cause.verdict if cause else None,
                    retrain_recommended=bool(cause and cause.retrain_recommended),
                    blocks_retraining=bool(cause and cause.blocks_retraining),
                    window_start=result.window_start,
                    window_end=result.window_end,
                    observed=orjson.dumps(dict(outcome.observed)).decode(),
                    message=cause.message if cause else "",
                    fired_at=result.created,
                )
            )

    def work(session: Session) -> None:
        # fresh copies each attempt: a retried transaction must not reuse attached objects
        session.add_all([_copy(row) for row in rows])
        session.flush()
        session.add_all([_copy(row) for row in alert_rows])

    ws.store.write(work)


def _copy(row: Any) -> Any:
    columns = {c.key: getattr(row, c.key) for c in row.__table__.columns}
    return type(row)(**columns)


# -- reading back --------------------------------------------------------------------------
def _to_ms(value: datetime | str | pd.Timestamp | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)


def _monitor_ids(session: Session, project: str, names: Sequence[str]) -> list[str]:
    ids = session.scalars(
        select(MonitorRow.id).where(MonitorRow.project == project, MonitorRow.name.in_(names))
    ).all()
    if len(ids) < len(set(names)):
        known = session.scalars(select(MonitorRow.name).where(MonitorRow.project == project)).all()
        missing = sorted(set(names) - set(known))
        raise MonitorNotFound(
            f"monitor {', '.join(map(repr, missing))}: not found (monitors: "
            f"{', '.join(sorted(known)) or 'none'})"
        )
    return list(ids)


def monitor_results(
    monitor: str | Sequence[str] | None = None,
    *,
    deployment: str | None = None,
    variant: str | None = None,
    status: str | None = None,
    since: datetime | str | pd.Timestamp | int | None = None,
    limit: int | None = None,
    workspace: Workspace | None = None,
) -> list[MonitorResult]:
    """Stored window results, oldest first (the newest ``limit`` when given)."""
    ws = workspace or open_workspace()
    query = select(MonitorResultRow.payload).where(MonitorResultRow.project == ws.project)
    with ws.store.read() as session:
        if monitor is not None:
            names = [monitor] if isinstance(monitor, str) else list(monitor)
            query = query.where(
                MonitorResultRow.monitor_id.in_(_monitor_ids(session, ws.project, names))
            )
        if deployment is not None:
            query = query.where(MonitorResultRow.deployment == deployment)
        if variant is not None:
            query = query.where(MonitorResultRow.variant == variant)
        if status is not None:
            query = query.where(MonitorResultRow.status == status)
        since_ms = _to_ms(since)
        if since_ms is not None:
            query = query.where(MonitorResultRow.created >= since_ms)
        query = query.order_by(
            MonitorResultRow.created.desc(),
            MonitorResultRow.window_end.desc(),
            MonitorResultRow.id.desc(),
        )
        if limit is not None:
            query = query.limit(limit)
        payloads = session.scalars(query).all()
    return [MonitorResult.from_dict(orjson.loads(p)) for p in reversed(payloads)]


def alerts(
    monitor: str | Sequence[str] | None = None,
    *,
    deployment: str | None = None,
    kind: str | None = None,
    since: datetime | str | pd.Timestamp | int | None = None,
    after: str | None = None,
    limit: int | None = None,
    workspace: Workspace | None = None,
) -> list[Alert]:
    """Fired alerts, oldest first. ``after`` is the id of the last alert a consumer handled
    (alert ids sort by time), so a trigger loop reads each alert once."""
    ws = workspace or open_workspace()
    query = (
        select(MonitorAlertRow, MonitorRow.name)
        .join(MonitorRow, MonitorRow.id == MonitorAlertRow.monitor_id)
        .where(MonitorAlertRow.project == ws.project)
    )
    with ws.store.read() as session:
        if monitor is not None:
            names = [monitor] if isinstance(monitor, str) else list(monitor)
            query = query.where(
                MonitorAlertRow.monitor_id.in_(_monitor_ids(session, ws.project, names))
            )
        if deployment is not None:
            query = query.where(MonitorAlertRow.deployment == deployment)
        if kind is not None:
            query = query.where(MonitorAlertRow.kind == kind)
        since_ms = _to_ms(since)
        if since_ms is not None:
            query = query.where(MonitorAlertRow.fired_at >= since_ms)
        if after is not None:
            query = query.where(MonitorAlertRow.id > after)
        query = query.order_by(MonitorAlertRow.id)
        if limit is not None:
            query = query.limit(limit)
        rows = session.execute(query).all()
    return [
        Alert(
            id=row.id,
            monitor=name,
            result_id=row.result_id,
            rule=row.rule,
            kind=row.kind,
            fired_at=row.fired_at,
            observed=orjson.loads(row.observed),
            deployment=row.deployment,
            variant=row.variant,
            window_start=row.window_start,
            window_end=row.window_end,
            verdict=row.verdict,
            retrain_recommended=row.retrain_recommended,
            blocks_retraining=row.blocks_retraining,
            message=row.message,
        )
        for row, name in rows
    ]


def monitors_for(target: str, workspace: Workspace | None = None) -> list[Monitor]:
    """The monitor named ``target``, or else every monitor of deployment ``target``."""
    ws = workspace or open_workspace()
    try:
        return [get_monitor(target, ws)]
    except MonitorNotFound:
        found = list_monitors(deployment=target, workspace=ws)
        if found:
            return found
        raise


# -- ad hoc --------------------------------------------------------------------------------
def compare(
    reference: Any,
    current: Any,
    *,
    label: str | None = None,
    prediction: str | None = None,
    model: Any | None = None,
    importance: Mapping[str, float] | None = None,
    kinds: Mapping[str, str] | None = None,
    workspace: Workspace | None = None,
    **options: Any,
) -> MonitorResult:
    """Judge ``current`` against ``reference`` once, without storing anything.

    Each may be a DataFrame, a file (Parquet, CSV, JSON Lines) or a dataset
    ``name@version``. ``options`` are ``MonitorSettings`` fields (``columns``,
    ``methods``, ``thresholds``, ``drift_share``, ``rules``, ``min_rows``…);
    ``min_rows`` defaults to 1 here.
    """
    unknown = set(options) - set(MonitorSettings.__dataclass_fields__)
    if unknown:
        raise InvalidMonitorSpec(f"compare: unknown settings {', '.join(sorted(unknown))}")
    options.setdefault("min_rows", 1)
    if "rules" in options:
        options["rules"] = tuple(options["rules"] or ())
    if options.get("columns") is not None:
        options["columns"] = tuple(options["columns"])
    settings = MonitorSettings(label=label, prediction=prediction, **options).check()
    ws = workspace
    needs_store = not (isinstance(reference, pd.DataFrame) and isinstance(current, pd.DataFrame))
    if needs_store and ws is None and _names_dataset(reference, current):
        ws = open_workspace()
    ref_frame, ref_name = load_table(reference, ws)
    cur_frame, _ = load_table(current, ws)
    prepared = build_reference(
        ref_frame,
        ref=ref_name,
        label=label if label in ref_frame.columns else None,
        prediction=prediction if prediction in ref_frame.columns else None,
        model=model,
        task=settings.task,
        positive_class=settings.positive_class,
        kinds=kinds,
        importance=importance,
    )
    observed = _table_observations(cur_frame, settings, prepared)
    if model is not None:
        observed = with_model_outputs(observed, model, prepared.features)
    return evaluate_window(prepared, observed, settings)


def _names_dataset(*sources: Any) -> bool:
    return any(isinstance(s, str) and "@" in s for s in sources)
