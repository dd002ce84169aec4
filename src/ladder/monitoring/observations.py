"""What a window holds: features, predictions, class probabilities and labels.

The prediction log names columns ``input.<feature>``, ``prediction``,
``proba.<class>`` and ``label``; a plain table names features as themselves and
says which columns are the label and the prediction. Both become
``Observations``, so drift, quality and performance read one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ladder.errors import ColumnMismatch

INPUT_PREFIX = "input."
PROBA_PREFIX = "proba."
PREDICTION = "prediction"
LABEL = "label"
REQUEST_ID = "request_id"
LOG_COLUMNS = frozenset(
    {"request_id", "timestamp", "deployment", "variant", "model", "model_version", "latency_ms"}
)


@dataclass(frozen=True)
class Observations:
    """The rows of a window (or a reference), split by role."""

    features: pd.DataFrame
    predictions: pd.Series | None = None
    probabilities: pd.DataFrame | None = None  # one column per class, named by the class
    labels: pd.Series | None = None

    def __len__(self) -> int:
        return len(self.features)

    @property
    def labelled_rows(self) -> int:
        return 0 if self.labels is None else int(self.labels.notna().sum())

    def drift_frame(self) -> pd.DataFrame:
        """Features plus the prediction and class probabilities, as drift compares them."""
        columns: dict[str, Any] = {name: self.features[name] for name in self.features.columns}
        if self.predictions is not None:
            columns[PREDICTION] = self.predictions.to_numpy()
        if self.probabilities is not None:
            for name in self.probabilities.columns:
                columns[f"{PROBA_PREFIX}{name}"] = self.probabilities[name].to_numpy()
        return pd.DataFrame(columns, index=self.features.index)


@dataclass(frozen=True)
class LabelJoin:
    """How labels given by request id matched the window's predictions."""

    matched: int
    unknown: int  # labels whose request id is not in the log
    unknown_ids: tuple[str, ...] = field(default_factory=tuple)  # the first few

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "unknown": self.unknown,
            "unknown_ids": list(self.unknown_ids),
        }


def from_prediction_log(frame: pd.DataFrame) -> Observations:
    """Observations of rows of ``ladder.serving.predictions(...)``."""
    features = {
        str(c)[len(INPUT_PREFIX) :]: frame[c]
        for c in frame.columns
        if str(c).startswith(INPUT_PREFIX)
    }
    probabilities = {
        str(c)[len(PROBA_PREFIX) :]: frame[c]
        for c in frame.columns
        if str(c).startswith(PROBA_PREFIX)
    }
    return Observations(
        features=pd.DataFrame(features, index=frame.index),
        predictions=frame[PREDICTION] if PREDICTION in frame.columns else None,
        probabilities=pd.DataFrame(probabilities, index=frame.index) if probabilities else None,
        labels=frame[LABEL] if LABEL in frame.columns else None,
    )


def from_frame(
    frame: pd.DataFrame,
    *,
    label: str | None = None,
    prediction: str | None = None,
    features: Sequence[str] | None = None,
    proba_prefix: str = PROBA_PREFIX,
) -> Observations:
    """Observations of a plain table: ``label`` and ``prediction`` name those columns, columns
    starting with ``proba_prefix`` are class probabilities, the others are features."""
    if any(str(c).startswith(INPUT_PREFIX) for c in frame.columns) and features is None:
        observed = from_prediction_log(frame)
        if label and label in frame.columns and label != LABEL:
            observed = Observations(
                observed.features, observed.predictions, observed.probabilities, frame[label]
            )
        return observed
    for role, name in (("label", label), ("prediction", prediction)):
        if name is not None and name not in frame.columns:
            raise ColumnMismatch(
                f"{role} column {name!r}: not in the data (columns: "
                f"{', '.join(map(str, frame.columns[:20]))})"
            )
    proba_columns = [c for c in frame.columns if str(c).startswith(proba_prefix)]
    reserved = {label, prediction, *proba_columns} | (LOG_COLUMNS & set(frame.columns))
    if features is None:
        names = [c for c in frame.columns if c not in reserved]
    else:
        absent = [f for f in features if f not in frame.columns]
        if absent:
            raise ColumnMismatch(f"feature columns not in the data: {', '.join(absent)}")
        names = list(features)
    probabilities = (
        pd.DataFrame(
            {str(c)[len(proba_prefix) :]: frame[c] for c in proba_columns}, index=frame.index
        )
        if proba_columns
        else None
    )
    return Observations(
        features=frame[names],
        predictions=frame[prediction] if prediction else None,
        probabilities=probabilities,
        labels=frame[label] if label else None,
    )


def attach_labels(
    log: pd.DataFrame, labels: pd.DataFrame, *, shown: int = 10
) -> tuple[pd.DataFrame, LabelJoin]:
    """Join ``labels`` (columns ``request_id``, ``label``) onto prediction-log rows.

    A label for a request id the log does not have is not an error: it is counted
    (and the first ``shown`` ids kept) in the returned ``LabelJoin``.
    """
    for column in (REQUEST_ID, LABEL):
        if column not in labels.columns:
            raise ColumnMismatch(
                f"labels: expected columns 'request_id' and 'label', got "
                f"{', '.join(map(str, labels.columns))}"
            )
    latest = labels.drop_duplicates(REQUEST_ID, keep="last")
    ids = latest[REQUEST_ID].astype(str)
    known = ids.isin(set(log[REQUEST_ID].astype(str)))
    mapping = pd.Series(latest[LABEL].to_numpy(), index=ids.to_numpy())
    joined = log.copy()
    incoming = joined[REQUEST_ID].astype(str).map(mapping)
    if LABEL in joined.columns:
        joined[LABEL] = incoming.where(incoming.notna(), joined[LABEL])
    else:
        joined[LABEL] = incoming
    unknown_ids = tuple(ids[~known].head(shown).tolist())
    return joined, LabelJoin(int(known.sum()), int((~known).sum()), unknown_ids)
