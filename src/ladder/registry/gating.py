"""Gates: score a candidate and the current alias holder on the same rows, check thresholds.

``gate(candidate="loans/4", against="loans@champion", dataset=..., metrics={...})``
loads both versions, predicts on the same evaluation rows, and checks for each
metric the candidate's absolute value (``min``/``max``) and its difference from
the champion (``min_delta``/``max_delta``, candidate minus champion). With
``by="region"`` each metric is also computed per slice, and a candidate worse
than the champion on any slice by more than ``slice_tolerance`` fails even when
it is better overall. The evaluation is recorded; ``promote`` reads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ladder.errors import AliasNotFound, InvalidGateSpec
from ladder.ids import new_id
from ladder.registry.datasets import dataset_frame
from ladder.registry.loading import LoadedModel, load_model
from ladder.registry.metrics import (
    BUILTIN_METRICS,
    Scored,
    compute_metric,
    infer_task,
    latency_percentiles,
)
from ladder.registry.models import ModelEvaluationRow
from ladder.registry.uri import check_model_name, parse_model_uri
from ladder.registry.versions import current_actor, model_row, now_ms, same_model
from ladder.workspace import Workspace, open_workspace

THRESHOLD_KEYS = ("min", "max", "min_delta", "max_delta", "slice_tolerance")
LATENCY_ROWS = 100


@dataclass(frozen=True)
class Threshold:
    """What one metric must satisfy; None means "not checked"."""

    min: float | None = None
    max: float | None = None
    min_delta: float | None = None
    max_delta: float | None = None
    slice_tolerance: float | None = None


@dataclass(frozen=True)
class MetricCheck:
    """One metric on all rows (``slice`` None) or on one slice (``"region=north"``)."""

    metric: str
    slice: str | None
    rows: int
    candidate: float
    champion: float | None
    delta: float | None
    passed: bool
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "slice": self.slice,
            "rows": self.rows,
            "candidate": _finite_or_none(self.candidate),
            "champion": _finite_or_none(self.champion),
            "delta": _finite_or_none(self.delta),
            "passed": self.passed,
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricCheck:
        return cls(
            metric=str(data["metric"]),
            slice=data.get("slice"),
            rows=int(data["rows"]),
            candidate=_nan_if_none(data["candidate"]),
            champion=data.get("champion"),
            delta=data.get("delta"),
            passed=bool(data["passed"]),
            reasons=tuple(data.get("reasons", ())),
        )


@dataclass(frozen=True)
class GateResult:
    """A recorded evaluation of a candidate (against the alias holder, when there is one)."""

    id: str
    name: str
    candidate_version: int
    against: str | None
    champion_version: int | None
    dataset: str | None
    label: str
    by: str | None
    rows: int
    passed: bool
    checks: tuple[MetricCheck, ...]
    actor: str
    created: int
    run_id: str | None = None

    @property
    def candidate(self) -> str:
        return f"{self.name}/{self.candidate_version}"

    @property
    def champion(self) -> str | None:
        return f"{self.name}/{self.champion_version}" if self.champion_version else None

    @property
    def failures(self) -> list[MetricCheck]:
        return [check for check in self.checks if not check.passed]

    def summary(self) -> str:
        """One line: passed, or the first failures with their reasons."""
        if self.passed:
            return f"gate {self.id}: {self.candidate} passed"
        reasons = "; ".join(
            f"{c.metric}{f' ({c.slice})' if c.slice else ''}: {', '.join(c.reasons)}"
            for c in self.failures[:5]
        )
        return f"gate {self.id}: {self.candidate} failed: {reasons}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "candidate": self.candidate,
            "against": self.against,
            "champion": self.champion,
            "dataset": self.dataset,
            "label": self.label,
            "by": self.by,
            "rows": self.rows,
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "actor": self.actor,
            "created": self.created,
            "run_id": self.run_id,
        }


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return float("nan") if value is None else float(value)


def parse_thresholds(metrics: Mapping[str, Any]) -> dict[str, Threshold]:
    """Check a gate's ``metrics`` mapping: known metric names, known keys, numeric values."""
    if not isinstance(metrics, Mapping) or not metrics:
        raise InvalidGateSpec(
            "gate metrics: expected a mapping such as {'roc_auc': {'min': 0.8}}, "
            f"got {metrics!r}"
        )
    parsed = {}
    for name, spec in metrics.items():
        if name not in BUILTIN_METRICS:
            raise InvalidGateSpec(
                f"gate metric {name!r}: unknown; built-in metrics are "
                f"{', '.join(sorted(BUILTIN_METRICS))}"
            )
        if not isinstance(spec, Mapping):
            raise InvalidGateSpec(
                f"gate metric {name!r}: expected a mapping of {', '.join(THRESHOLD_KEYS)}, "
                f"got {spec!r}"
            )
        values: dict[str, float] = {}
        for key, value in spec.items():
            if key not in THRESHOLD_KEYS:
                raise InvalidGateSpec(
                    f"gate metric {name!r}: unknown key {key!r}; "
                    f"expected {', '.join(THRESHOLD_KEYS)}"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidGateSpec(f"gate metric {name}.{key}: expected a number, got {value!r}")
            if not math.isfinite(value) or (key == "slice_tolerance" and value < 0):
                raise InvalidGateSpec(
                    f"gate metric {name}.{key}: expected a finite number"
                    f"{' >= 0' if key == 'slice_tolerance' else ''}, got {value!r}"
                )
            values[key] = float(value)
        parsed[name] = Threshold(**values)
    return parsed


def gate(
    candidate: str,
    against: str | None = None,
    dataset: Any = None,
    *,
    metrics: Mapping[str, Any],
    label: str | None = None,
    by: str | None = None,
    slice_tolerance: float = 0.0,
    min_slice_rows: int = 1,
    latency_rows: int = LATENCY_ROWS,
    trust: bool = False,
    trusted_types: Sequence[str] = (),
    workspace: Workspace | None = None,
) -> GateResult:
    """Evaluate ``candidate`` (and ``against``, usually ``name@champion``) on ``dataset``.

    ``dataset`` is a dataset version, a ``"name@version"`` string or a DataFrame;
    ``label`` is its target column (default: the one column that is neither a
    model input nor ``by``). ``metrics`` maps built-in metric names to
    thresholds: ``min``, ``max``, ``min_delta``, ``max_delta`` and
    ``slice_tolerance``. An ``against`` alias that is not set yet means there is
    no champion: only absolute thresholds apply. Returns the recorded result;
    it does not raise when the gate fails (check ``.passed``).
    """
    ws = workspace or open_workspace()
    thresholds = parse_thresholds(metrics)
    if (
        isinstance(slice_tolerance, bool)
        or not isinstance(slice_tolerance, (int, float))
        or not (math.isfinite(slice_tolerance) and slice_tolerance >= 0)
    ):
        raise InvalidGateSpec(f"slice_tolerance: expected a number >= 0, got {slice_tolerance!r}")
    if dataset is None:
        raise InvalidGateSpec(
            "gate: dataset is required (a dataset version, 'name@version' or a DataFrame)"
        )
    candidate_uri = parse_model_uri(candidate)
    champion_model = _champion(candidate_uri.name, against, trust, trusted_types, ws)
    candidate_model = load_model(candidate, trust=trust, trusted_types=trusted_types, workspace=ws)
    frame, dataset_ref = dataset_frame(dataset, ws)
    if frame.empty:
        raise InvalidGateSpec(f"gate dataset {dataset_ref}: has no rows")
    if by is not None and by not in frame.columns:
        raise InvalidGateSpec(
            f"gate slice column {by!r}: not in the dataset; columns are {list(frame.columns)}"
        )
    label = _label(frame, label, by, candidate_model)
    y_true = frame[label]
    if y_true.isna().any():
        raise InvalidGateSpec(
            f"gate label {label!r}: {int(y_true.isna().sum())} rows have no label; drop them first"
        )
    features = frame.drop(columns=[label])
    names = list(thresholds)
    task = infer_task(y_true, candidate_model.classes, names)
    for name in names:
        if task not in BUILTIN_METRICS[name].tasks:
            raise InvalidGateSpec(
                f"gate metric {name!r}: does not apply to a {task} model "
                f"({candidate_model.uri}); it applies to "
                f"{', '.join(sorted(BUILTIN_METRICS[name].tasks))}"
            )
    scored_candidate = _score(candidate_model, features, y_true, by)
    scored_champion = _score(champion_model, features, y_true, by) if champion_model else None
    checks = _overall_checks(thresholds, task, scored_candidate, scored_champion)
    latency = [n for n in names if BUILTIN_METRICS[n].is_latency]
    if latency:
        checks += _latency_checks(
            thresholds, latency, candidate_model, champion_model, features, latency_rows
        )
    if by is not None:
        checks += _slice_checks(
            thresholds,
            task,
            frame[by],
            scored_candidate,
            scored_champion,
            slice_tolerance,
            max(1, min_slice_rows),
            by,
        )
    return _record(
        ws, candidate_model, champion_model, against, dataset_ref, label, by, len(frame), checks
    )


def _champion(
    name: str, against: str | None, trust: bool, trusted_types: Sequence[str], ws: Workspace
) -> LoadedModel | None:
    if against is None:
        return None
    parsed = parse_model_uri(against)
    same_model(parsed, name, "gate")
    try:
        return load_model(against, trust=trust, trusted_types=trusted_types, workspace=ws)
    except AliasNotFound:
        if parsed.alias is None or parsed.is_latest:
            raise
        return None  # nobody holds the alias yet: the first model is gated on thresholds only


def _label(frame: pd.DataFrame, label: str | None, by: str | None, model: LoadedModel) -> str:
    if label is not None:
        if label not in frame.columns:
            raise InvalidGateSpec(
                f"gate label {label!r}: not in the dataset; columns are {list(frame.columns)}"
            )
        return label
    inputs = set(model.signature.columns) if model.signature else set()
    others = [c for c in frame.columns if c not in inputs and c != by]
    if len(others) != 1 or not inputs:
        raise InvalidGateSpec(
            f"gate: pass label=; cannot tell the label column among {others or list(frame.columns)}"
        )
    return str(others[0])


def _score(model: LoadedModel, features: pd.DataFrame, y_true: pd.Series, by: str | None) -> Scored:
    if model.signature is None and by is not None:
        # Without a signature the model gets every column but the label, and the slice
        # column is there for the gate (with a signature, the model takes what it declares).
        features = features.drop(columns=[by])
    prepared = model.prepare(features, allow_extra=True)
    predictions = np.asarray(model.predict(prepared, validate=False))
    probabilities = (
        np.asarray(model.predict_proba(prepared, validate=False)) if model.has_proba else None
    )
    classes = model.classes
    if classes is None:
        classes = tuple(sorted(pd.unique(y_true).tolist())) if y_true.dtype.kind != "f" else ()
    return Scored(y_true.to_numpy(), predictions, probabilities, classes)


def _check(
    threshold: Threshold,
    candidate: float,
    champion: float | None,
) -> tuple[float | None, bool, tuple[str, ...]]:
    reasons = []
    if math.isnan(candidate):
        reasons.append("undefined on these rows")
    if threshold.min is not None and not candidate >= threshold.min:
        reasons.append(f"{_fmt(candidate)} < min {_fmt(threshold.min)}")
    if threshold.max is not None and not candidate <= threshold.max:
        reasons.append(f"{_fmt(candidate)} > max {_fmt(threshold.max)}")
    delta = candidate - champion if champion is not None else None
    if delta is not None:
        if threshold.min_delta is not None and not delta >= threshold.min_delta:
            reasons.append(f"delta {_fmt(delta)} < min_delta {_fmt(threshold.min_delta)}")
        if threshold.max_delta is not None and not delta <= threshold.max_delta:
            reasons.append(f"delta {_fmt(delta)} > max_delta {_fmt(threshold.max_delta)}")
    return delta, not reasons, tuple(reasons)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _overall_checks(
    thresholds: Mapping[str, Threshold],
    task: str,
    candidate: Scored,
    champion: Scored | None,
) -> list[MetricCheck]:
    checks = []
    for name, threshold in thresholds.items():
        if BUILTIN_METRICS[name].is_latency:
            continue
        value = compute_metric(name, candidate, task)
        reference = compute_metric(name, champion, task) if champion is not None else None
        delta, passed, reasons = _check(threshold, value, reference)
        checks.append(
            MetricCheck(name, None, len(candidate.y_true), value, reference, delta, passed, reasons)
        )
    return checks


def _latency_checks(
    thresholds: Mapping[str, Threshold],
    names: list[str],
    candidate: LoadedModel,
    champion: LoadedModel | None,
    features: pd.DataFrame,
    rows: int,
) -> list[MetricCheck]:
    def measure(model: LoadedModel) -> dict[str, float]:
        return latency_percentiles(lambda one: model.predict(one, allow_extra=True), features, rows)

    mine = measure(candidate)
    theirs = measure(champion) if champion is not None else None
    checks = []
    for name in names:
        reference = theirs[name] if theirs is not None else None
        delta, passed, reasons = _check(thresholds[name], mine[name], reference)
        checks.append(
            MetricCheck(
                name, None, min(rows, len(features)), mine[name], reference, delta, passed, reasons
            )
        )
    return checks


def _slice_checks(
    thresholds: Mapping[str, Threshold],
    task: str,
    column: pd.Series,
    candidate: Scored,
    champion: Scored | None,
    default_tolerance: float,
    min_rows: int,
    by: str,
) -> list[MetricCheck]:
    checks = []
    keys = column.astype(object).where(column.notna(), None)
    for value in sorted(set(keys.tolist()), key=lambda v: (v is None, str(v))):
        mask = (keys.to_numpy() == value) if value is not None else column.isna().to_numpy()
        rows = int(mask.sum())
        if rows < min_rows:
            continue
        label = f"{by}={'<null>' if value is None else value}"
        mine = candidate.subset(mask)
        theirs = champion.subset(mask) if champion is not None else None
        for name, threshold in thresholds.items():
            definition = BUILTIN_METRICS[name]
            if definition.is_latency:
                continue
            value_c = compute_metric(name, mine, task)
            value_r = compute_metric(name, theirs, task) if theirs is not None else None
            delta = value_c - value_r if value_r is not None else None
            reasons: tuple[str, ...] = ()
            if delta is not None and not math.isnan(delta):
                tolerance = (
                    threshold.slice_tolerance
                    if threshold.slice_tolerance is not None
                    else default_tolerance
                )
                worse = -delta if definition.higher_is_better else delta
                if worse > tolerance:
                    reasons = (
                        f"worse than the champion by {_fmt(worse)} > tolerance {_fmt(tolerance)}",
                    )
            checks.append(
                MetricCheck(name, label, rows, value_c, value_r, delta, not reasons, reasons)
            )
    return checks


def _record(
    ws: Workspace,
    candidate: LoadedModel,
    champion: LoadedModel | None,
    against: str | None,
    dataset_ref: str | None,
    label: str,
    by: str | None,
    rows: int,
    checks: list[MetricCheck],
) -> GateResult:
    from ladder.tracking import active_run

    run = active_run()
    result = GateResult(
        id=new_id(),
        name=candidate.version.name,
        candidate_version=candidate.version.version,
        against=against,
        champion_version=champion.version.version if champion else None,
        dataset=dataset_ref,
        label=label,
        by=by,
        rows=rows,
        passed=all(check.passed for check in checks),
        checks=tuple(checks),
        actor=current_actor(),
        created=now_ms(),
        run_id=run.id if run is not None else None,
    )
    payload = orjson.dumps([c.to_dict() for c in checks]).decode()

    def work(session: Session) -> None:
        model = model_row(session, ws.project, result.name)
        session.add(
            ModelEvaluationRow(
                id=result.id,
                model_id=model.id,
                candidate_version=result.candidate_version,
                against=against,
                champion_version=result.champion_version,
                dataset_ref=dataset_ref,
                label=label,
                slice_by=by,
                rows=rows,
                passed=result.passed,
                results=payload,
                run_id=result.run_id,
                actor=result.actor,
                created=result.created,
            )
        )

    ws.store.write(work)
    if run is not None and dataset_ref is not None and not dataset_ref.startswith("dataframe:"):
        run.link("input", "dataset", dataset_ref, "evaluation")
    return result


def evaluation_from_row(name: str, row: ModelEvaluationRow) -> GateResult:
    return GateResult(
        id=row.id,
        name=name,
        candidate_version=row.candidate_version,
        against=row.against,
        champion_version=row.champion_version,
        dataset=row.dataset_ref,
        label=row.label,
        by=row.slice_by,
        rows=row.rows,
        passed=row.passed,
        checks=tuple(MetricCheck.from_dict(c) for c in orjson.loads(row.results)),
        actor=row.actor,
        created=row.created,
        run_id=row.run_id,
    )


def list_evaluations(
    name: str,
    version: int | None = None,
    *,
    limit: int = 50,
    workspace: Workspace | None = None,
) -> list[GateResult]:
    """Recorded gates of model ``name`` (of one candidate version), newest first."""
    ws = workspace or open_workspace()
    check_model_name(name)
    with ws.store.read() as session:
        model = model_row(session, ws.project, name)
        statement = select(ModelEvaluationRow).where(ModelEvaluationRow.model_id == model.id)
        if version is not None:
            statement = statement.where(ModelEvaluationRow.candidate_version == version)
        rows = session.scalars(
            statement.order_by(
                ModelEvaluationRow.created.desc(), ModelEvaluationRow.id.desc()
            ).limit(limit)
        ).all()
        return [evaluation_from_row(name, row) for row in rows]


def parse_metric_option(text: str) -> tuple[str, dict[str, float]]:
    """Parse the command line's ``METRIC:KEY=VALUE,KEY=VALUE`` (e.g. ``roc_auc:min=0.8``)."""
    name, sep, body = text.strip().partition(":")
    name = name.strip()
    if not name:
        raise InvalidGateSpec(f"--metric {text!r}: expected METRIC:KEY=VALUE[,KEY=VALUE...]")
    values: dict[str, float] = {}
    for part in body.split(",") if sep else []:
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise InvalidGateSpec(
                f"--metric {text!r}: expected KEY=VALUE after {name}:, got {part.strip()!r}"
            )
        try:
            values[key] = float(raw)
        except ValueError:
            raise InvalidGateSpec(
                f"--metric {text!r}: {key} must be a number, got {raw.strip()!r}"
            ) from None
    parse_thresholds({name: values})  # names and keys checked here, with the same messages
    return name, values
