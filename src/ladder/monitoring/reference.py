"""The reference a monitor compares windows with, prepared once.

A reference is a table of the rows the model was trained (or validated) on: a
dataset version, a DataFrame or a file. For a deployment monitor with no
reference given, it is the training dataset of the served model version, found
through the registry's lineage (``model_lineage(uri).datasets``, role ``train``
first). Preparing it sorts and counts its columns for drift, runs the model on it
(when there is one) for the prediction's own reference, fits CBPE or DLE where
labels allow, and measures each feature's importance for root-cause ranking.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ladder.errors import ColumnMismatch, LadderError, ReferenceNotFound
from ladder.monitoring.drift import DEFAULT_BINS, PreparedReference, prepare_reference
from ladder.monitoring.estimation import CBPE, DLE, fit_cbpe, fit_dle
from ladder.monitoring.observations import PREDICTION, PROBA_PREFIX, Observations, from_frame
from ladder.monitoring.performance import (
    BINARY,
    REGRESSION,
    class_labels,
    infer_task,
    positive_class_of,
    realised_performance,
)
from ladder.monitoring.root_cause import permutation_importance
from ladder.workspace import Workspace

TRAINING_ROLES = ("train", "training", "fit")
LABEL_NAMES = ("label", "target", "y", "y_true")


@dataclass
class MonitorReference:
    """A prepared reference: drift statistics, estimators, importance, reference metrics."""

    ref: str
    features: list[str]
    prepared: PreparedReference
    task: str | None = None
    positive_class: str | None = None
    cbpe: CBPE | None = None
    dle: DLE | None = None
    importance: dict[str, float] | None = None
    importance_source: str = "uniform"
    reference_metrics: dict[str, float] = field(default_factory=dict)
    prediction_columns: list[str] = field(default_factory=list)
    model_uri: str | None = None


def build_reference(
    data: pd.DataFrame | Observations,
    *,
    ref: str = "dataframe",
    label: str | None = None,
    prediction: str | None = None,
    features: Sequence[str] | None = None,
    model: Any | None = None,
    task: str | None = None,
    positive_class: Any | None = None,
    kinds: Mapping[str, str] | None = None,
    importance: Mapping[str, float] | None = None,
    bins: int = DEFAULT_BINS,
) -> MonitorReference:
    """Prepare a reference from a table (``label``/``prediction`` name those columns) or
    ``Observations``; ``model`` (with ``predict``/``predict_proba``) supplies predictions
    the table lacks and the importance of each feature."""
    observed = (
        data
        if isinstance(data, Observations)
        else from_frame(data, label=label, prediction=prediction, features=features)
    )
    feature_frame = observed.features
    predictions, probabilities = observed.predictions, observed.probabilities
    model_uri = getattr(model, "uri", None)
    if model is not None and predictions is None:
        predictions, probabilities = _model_outputs(model, feature_frame)
    observed = Observations(feature_frame, predictions, probabilities, observed.labels)
    frame = observed.drift_frame()
    prediction_columns = [
        c for c in frame.columns if c == PREDICTION or str(c).startswith(PROBA_PREFIX)
    ]
    column_kinds = dict(kinds or {})
    prepared = prepare_reference(frame, kinds=column_kinds, bins=bins)
    reference = MonitorReference(
        ref=ref,
        features=[str(c) for c in feature_frame.columns],
        prepared=prepared,
        prediction_columns=[str(c) for c in prediction_columns],
        model_uri=model_uri,
    )
    labels = observed.labels
    if predictions is not None and labels is not None and labels.notna().any():
        resolved_task = task or infer_task(labels, predictions, probabilities is not None)
        realised = realised_performance(
            labels, predictions, probabilities, task=resolved_task, positive_class=positive_class
        )
        reference.task = resolved_task
        reference.positive_class = realised.positive_class
        reference.reference_metrics = dict(realised.metrics)
        if resolved_task == BINARY and probabilities is not None:
            reference.cbpe = _fit_cbpe(observed, realised.positive_class)
        elif resolved_task == REGRESSION:
            reference.dle = fit_dle(feature_frame, predictions.to_numpy(), labels.to_numpy())
    elif predictions is not None:
        reference.task = task
    if importance is not None:
        reference.importance, reference.importance_source = dict(importance), "given"
    elif model is not None and len(feature_frame.columns):
        reference.importance = permutation_importance(_predictor(model), feature_frame)
        reference.importance_source = "model"
    return reference


def _fit_cbpe(observed: Observations, positive: str | None) -> CBPE | None:
    probabilities, labels, predictions = (
        observed.probabilities,
        observed.labels,
        observed.predictions,
    )
    assert probabilities is not None and labels is not None and predictions is not None
    columns = [str(c) for c in probabilities.columns]
    positive = positive_class_of(columns, positive)
    if positive not in columns:
        return None
    keep = labels.notna().to_numpy()
    truth = class_labels(labels[keep].to_numpy()) == positive
    predicted = class_labels(predictions[keep].to_numpy()) == positive
    scores = probabilities[positive].to_numpy()[keep]
    return fit_cbpe(truth.astype(np.int64), scores, predicted, column=f"{PROBA_PREFIX}{positive}")


def _model_outputs(model: Any, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame | None]:
    predictions = pd.Series(np.asarray(model.predict(features)), index=features.index)
    probabilities = None
    if getattr(model, "has_proba", hasattr(model, "predict_proba")):
        try:
            matrix = np.asarray(model.predict_proba(features))
        except LadderError:
            return predictions, None
        classes = getattr(model, "classes", None)
        if classes is None:
            classes = getattr(model, "classes_", None)
        names = (
            [str(c) for c in class_labels(list(classes))]
            if classes is not None
            else [str(i) for i in range(matrix.shape[1])]
        )
        probabilities = pd.DataFrame(matrix, columns=names, index=features.index)
    return predictions, probabilities


def with_model_outputs(observed: Observations, model: Any, features: Sequence[str]) -> Observations:
    """``observed`` with the model's predictions and probabilities when it has none."""
    if observed.predictions is not None:
        return observed
    check_features(observed.features, features, "current data")
    predictions, probabilities = _model_outputs(model, observed.features[list(features)])
    return Observations(observed.features, predictions, probabilities, observed.labels)


def _predictor(model: Any) -> Any:
    """What importance measures: class probabilities when the model has them, else predictions."""
    if getattr(model, "has_proba", hasattr(model, "predict_proba")):
        return lambda frame: np.asarray(model.predict_proba(frame))
    return lambda frame: np.asarray(model.predict(frame))


# -- where references come from ------------------------------------------------------------
def read_table(source: str | Path) -> pd.DataFrame:
    """A Parquet, CSV or JSON Lines file as a DataFrame."""
    path = Path(source)
    if not path.is_file():
        raise ReferenceNotFound(f"file {str(source)!r}: not found")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True)
    raise ReferenceNotFound(f"file {str(source)!r}: expected .parquet, .csv or .jsonl")


def load_table(
    source: str | Path | pd.DataFrame, workspace: Workspace | None = None
) -> tuple[pd.DataFrame, str]:
    """Rows and reference of a DataFrame, a file path or a dataset ``name@version``."""
    if isinstance(source, pd.DataFrame):
        return source, "dataframe"
    text = str(source)
    if Path(text).is_file():
        return read_table(text), str(Path(text).resolve())
    if "@" in text and "/" not in text:
        version = _dataset_version(text, workspace)
        sample = version.sample
        frame = sample.to_pandas() if sample is not None else version.to_pandas()
        return frame, str(version.ref)
    raise ReferenceNotFound(
        f"reference {text!r}: expected a file (.parquet, .csv, .jsonl) or a dataset 'name@version'"
    )


def _dataset_version(ref: str, workspace: Workspace | None) -> Any:
    data = importlib.import_module("ladder.data")
    return data.dataset.get(ref, workspace=workspace)


def training_dataset(model_uri: str, workspace: Workspace | None = None) -> str:
    """The training dataset of a model version, from the registry's lineage."""
    registry = importlib.import_module("ladder.registry")
    lineage = registry.model_lineage(model_uri, workspace=workspace)
    uses = list(lineage.datasets)
    for role in TRAINING_ROLES:
        for use in uses:
            if use.role == role:
                return str(use.ref)
    if uses:
        return str(uses[0].ref)
    raise ReferenceNotFound(
        f"model {model_uri}: its lineage records no dataset, so the monitor has no reference; "
        "register the model with datasets=[...] or give the monitor a reference"
    )


def guess_label(frame: pd.DataFrame, features: Sequence[str]) -> str | None:
    """The label column of a training table: the one column that is not a model input, or a
    column with a usual label name."""
    extra = [str(c) for c in frame.columns if str(c) not in set(features)]
    if len(extra) == 1:
        return extra[0]
    for name in LABEL_NAMES:
        if name in extra:
            return name
    return None


def check_features(frame: pd.DataFrame, features: Sequence[str], where: str) -> None:
    absent = [f for f in features if f not in frame.columns]
    if absent:
        raise ColumnMismatch(
            f"{where}: model inputs missing from the reference: {', '.join(absent)} "
            f"(reference has {', '.join(map(str, frame.columns[:20]))})"
        )
