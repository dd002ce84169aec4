"""Data quality of a window against its reference.

Per column: the missing rate and its change from the reference, the share of
numeric values outside the reference's range, the share of categorical values
the reference never had (and the most frequent of them), values of the wrong
type; per window: columns missing or added, and the rejections counted by the
serving input validation. ``QualityReport.failed`` says whether the window breaks
a limit in ``QualityLimits``: a failing window blocks retraining, because a model
trained on broken data gets worse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ladder.monitoring.drift import PreparedReference
from ladder.monitoring.schema import (
    CATEGORICAL,
    NUMERIC,
    SchemaComparison,
    category_values,
    numeric_values,
)

UNSEEN_SHOWN = 10


@dataclass(frozen=True)
class QualityLimits:
    """When a window's data quality counts as failed."""

    missing_rate_increase: float = 0.1  # absolute increase of a column's missing rate
    out_of_range_rate: float = 0.05
    unseen_category_rate: float = 0.05
    type_violations: int = 0  # more than this many mistyped values fail
    missing_columns: int = 0


@dataclass(frozen=True)
class ColumnQuality:
    """Quality figures of one column in a window (rates are shares of the window's rows)."""

    column: str
    kind: str
    missing_rate: float
    reference_missing_rate: float
    out_of_range_rate: float | None = None  # numeric: share of present values outside the range
    unseen_category_rate: float | None = None  # categorical: share of values not in the reference
    unseen_categories: tuple[str, ...] = ()
    type_violations: int = 0
    constant: bool = False  # one distinct value in the window where the reference had several

    @property
    def missing_rate_change(self) -> float:
        return self.missing_rate - self.reference_missing_rate

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "missing_rate": self.missing_rate,
            "reference_missing_rate": self.reference_missing_rate,
            "missing_rate_change": self.missing_rate_change,
            "out_of_range_rate": self.out_of_range_rate,
            "unseen_category_rate": self.unseen_category_rate,
            "unseen_categories": list(self.unseen_categories),
            "type_violations": self.type_violations,
            "constant": self.constant,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnQuality:
        return cls(
            column=str(data["column"]),
            kind=str(data["kind"]),
            missing_rate=float(data["missing_rate"]),
            reference_missing_rate=float(data["reference_missing_rate"]),
            out_of_range_rate=data.get("out_of_range_rate"),
            unseen_category_rate=data.get("unseen_category_rate"),
            unseen_categories=tuple(data.get("unseen_categories", ())),
            type_violations=int(data.get("type_violations", 0)),
            constant=bool(data.get("constant", False)),
        )


@dataclass(frozen=True)
class QualityReport:
    """Data quality of one window; ``problems`` says in words what broke a limit."""

    rows: int
    columns: tuple[ColumnQuality, ...]
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    validation_errors: Mapping[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    @property
    def type_violations(self) -> int:
        return sum(c.type_violations for c in self.columns)

    @property
    def schema_violations(self) -> int:
        """Missing columns, mistyped values and inputs the server rejected."""
        return (
            len(self.missing_columns)
            + self.type_violations
            + sum(int(v) for v in self.validation_errors.values())
        )

    def column(self, name: str) -> ColumnQuality:
        for item in self.columns:
            if item.column == name:
                return item
        raise KeyError(f"column {name!r}: not checked")

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "failed": self.failed,
            "problems": list(self.problems),
            "missing_columns": list(self.missing_columns),
            "extra_columns": list(self.extra_columns),
            "validation_errors": dict(self.validation_errors),
            "type_violations": self.type_violations,
            "schema_violations": self.schema_violations,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityReport:
        return cls(
            rows=int(data["rows"]),
            columns=tuple(ColumnQuality.from_dict(c) for c in data["columns"]),
            missing_columns=tuple(data.get("missing_columns", ())),
            extra_columns=tuple(data.get("extra_columns", ())),
            validation_errors={k: int(v) for k, v in data.get("validation_errors", {}).items()},
            problems=tuple(data.get("problems", ())),
        )


def check_quality(
    reference: PreparedReference,
    current: pd.DataFrame,
    schema: SchemaComparison,
    *,
    validation_errors: Mapping[str, int] | None = None,
    limits: QualityLimits | None = None,
) -> QualityReport:
    """Quality of ``current`` against ``reference`` over the columns ``schema`` matched."""
    limits = limits or QualityLimits()
    rows = len(current)
    columns: list[ColumnQuality] = []
    for name in schema.columns:
        kind = schema.kinds[name]
        ref_missing = reference.missing[name] / reference.rows if reference.rows else 0.0
        series = current[name]
        if kind == NUMERIC:
            columns.append(_numeric_quality(reference, name, series, ref_missing))
        else:
            columns.append(_categorical_quality(reference, name, series, ref_missing))
    errors = {str(k): int(v) for k, v in (validation_errors or {}).items() if int(v)}
    report = QualityReport(
        rows=rows,
        columns=tuple(columns),
        missing_columns=schema.missing_in_current,
        extra_columns=schema.extra_in_current,
        validation_errors=errors,
    )
    return QualityReport(**{**report.__dict__, "problems": _problems(report, limits)})


def _numeric_quality(
    reference: PreparedReference, name: str, series: pd.Series, ref_missing: float
) -> ColumnQuality:
    values, violations = numeric_values(series)
    rows = len(values)
    present = values[~np.isnan(values)]
    missing = (rows - len(present) - violations) / rows if rows else 0.0
    bounds = reference.numeric_range(name)
    outside: float | None = None
    if bounds is not None and len(present):
        low, high = bounds
        outside = float(((present < low) | (present > high)).sum() / len(present))
    ref_values = reference.numeric.values(reference.numeric.row(name))
    ref_constant = len(ref_values) > 0 and ref_values[0] == ref_values[-1]
    constant = len(present) > 1 and not ref_constant and bool(np.all(present == present[0]))
    return ColumnQuality(
        column=name,
        kind=NUMERIC,
        missing_rate=float(missing),
        reference_missing_rate=float(ref_missing),
        out_of_range_rate=outside,
        type_violations=violations,
        constant=constant,
    )


def _categorical_quality(
    reference: PreparedReference, name: str, series: pd.Series, ref_missing: float
) -> ColumnQuality:
    rows = len(series)
    values = category_values(series)
    missing = (rows - len(values)) / rows if rows else 0.0
    unseen_rate: float | None = None
    unseen: tuple[str, ...] = ()
    known = reference.categorical[name].categories
    if len(values):
        counts = pd.Series(values).value_counts()
        new = counts[~counts.index.isin(known)]
        unseen_rate = float(new.sum() / len(values))
        unseen = tuple(str(v) for v in new.index[:UNSEEN_SHOWN])
    constant = len(values) > 1 and len(known) > 1 and len(set(values[:2])) == 1
    if constant:
        constant = bool((values == values[0]).all())
    return ColumnQuality(
        column=name,
        kind=CATEGORICAL,
        missing_rate=float(missing),
        reference_missing_rate=float(ref_missing),
        unseen_category_rate=unseen_rate,
        unseen_categories=unseen,
        constant=constant,
    )


def _problems(report: QualityReport, limits: QualityLimits) -> tuple[str, ...]:
    problems: list[str] = []
    if len(report.missing_columns) > limits.missing_columns:
        problems.append(f"columns missing from the window: {', '.join(report.missing_columns)}")
    for column in report.columns:
        if column.missing_rate_change > limits.missing_rate_increase:
            problems.append(
                f"{column.column}: missing rate {column.missing_rate:.1%} "
                f"(reference {column.reference_missing_rate:.1%})"
            )
        if (
            column.out_of_range_rate is not None
            and column.out_of_range_rate > limits.out_of_range_rate
        ):
            problems.append(
                f"{column.column}: {column.out_of_range_rate:.1%} of values outside the "
                "reference range"
            )
        if (
            column.unseen_category_rate is not None
            and column.unseen_category_rate > limits.unseen_category_rate
        ):
            shown = ", ".join(repr(v) for v in column.unseen_categories[:3])
            problems.append(
                f"{column.column}: {column.unseen_category_rate:.1%} of values are categories "
                f"the reference never had ({shown})"
            )
        if column.type_violations > limits.type_violations:
            problems.append(
                f"{column.column}: {column.type_violations} values of the wrong type "
                f"(expected {column.kind})"
            )
    for reason, count in report.validation_errors.items():
        problems.append(f"serving rejected {count} inputs: {reason}")
    return tuple(problems)
