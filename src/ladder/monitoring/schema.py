"""Which columns reference and current data share, and what kind each one is.

Drift and quality compare columns by kind: ``numeric`` (numbers, datetimes as
seconds since the epoch) or ``categorical`` (text, booleans, pandas
categories). The kind comes from the reference, because the reference is what
the model was trained on; a current column of another type is coerced, and
values that do not fit are counted as type violations rather than failing the
whole window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ladder.errors import ColumnMismatch, InvalidMonitorSpec

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


@dataclass(frozen=True)
class TypeMismatch:
    """A column whose current values are not of the reference's kind."""

    column: str
    expected: str
    given: str
    violations: int  # current values that could not be read as the expected kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "expected": self.expected,
            "given": self.given,
            "violations": self.violations,
        }


@dataclass(frozen=True)
class SchemaComparison:
    """The columns compared, and those that only one side has."""

    columns: tuple[str, ...]
    kinds: Mapping[str, str]
    missing_in_current: tuple[str, ...] = ()
    extra_in_current: tuple[str, ...] = ()
    type_mismatches: tuple[TypeMismatch, ...] = field(default_factory=tuple)

    @property
    def violations(self) -> int:
        """Schema problems counted for alerts: missing columns plus mistyped columns."""
        return len(self.missing_in_current) + len(self.type_mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "kinds": dict(self.kinds),
            "missing_in_current": list(self.missing_in_current),
            "extra_in_current": list(self.extra_in_current),
            "type_mismatches": [m.to_dict() for m in self.type_mismatches],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SchemaComparison:
        return cls(
            columns=tuple(data["columns"]),
            kinds=dict(data["kinds"]),
            missing_in_current=tuple(data.get("missing_in_current", ())),
            extra_in_current=tuple(data.get("extra_in_current", ())),
            type_mismatches=tuple(
                TypeMismatch(m["column"], m["expected"], m["given"], int(m["violations"]))
                for m in data.get("type_mismatches", ())
            ),
        )


def column_kind(series: pd.Series) -> str:
    """``numeric`` for numbers and datetimes, ``categorical`` for everything else."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_object_dtype(dtype):
        present = series.dropna()
        if len(present) and all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            for v in present.iloc[:1000]
        ):
            return NUMERIC
    return CATEGORICAL


def numeric_values(series: pd.Series) -> tuple[np.ndarray, int]:
    """``series`` as float64 (missing and ±inf as NaN) and how many values were not numbers."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        values = series.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        seconds = values.astype("int64").astype(np.float64) / 1e9  # a fresh array
        seconds[np.isnat(values)] = np.nan
        return seconds, 0
    if pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), 0
    if pd.api.types.is_numeric_dtype(dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if not values.flags.writeable:
            values = values.copy()
        values[np.isinf(values)] = np.nan
        return values, 0
    coerced = pd.to_numeric(series, errors="coerce")
    values = np.array(coerced.to_numpy(dtype=np.float64, na_value=np.nan))
    values[np.isinf(values)] = np.nan
    violations = int((series.notna() & coerced.isna()).sum())
    return values, violations


def reference_kinds(
    reference: pd.DataFrame,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The kind of each reference column (``columns`` only, when given), in column order.

    ``kinds`` overrides the inferred kind of some columns (a numeric code that is
    really a category, say).
    """
    for name, kind in (kinds or {}).items():
        if kind not in KINDS:
            raise InvalidMonitorSpec(
                f"column {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}"
            )
    names = [str(c) for c in reference.columns]
    if columns is not None:
        absent = [str(c) for c in columns if str(c) not in set(names)]
        if absent:
            raise ColumnMismatch(
                f"columns to compare: not in reference: {', '.join(absent)} "
                f"(reference has {_names(names)})"
            )
        names = [str(c) for c in columns]
    return {name: (kinds or {}).get(name) or column_kind(reference[name]) for name in names}


def compare_schema(
    ref_kinds: Mapping[str, str],
    current: pd.DataFrame,
    columns: Sequence[str] | None = None,
) -> SchemaComparison:
    """Match the reference's columns (``ref_kinds``, from ``reference_kinds``) with ``current``.

    With ``columns`` given, every one of them must be in both; otherwise the
    reference columns that the current frame also has are compared, and the
    others are reported as missing or extra.
    """
    ref_names = list(ref_kinds)
    cur_names = set(str(c) for c in current.columns)
    if columns is not None:
        wanted = [str(c) for c in columns]
        absent_ref = [c for c in wanted if c not in ref_kinds]
        absent_cur = [c for c in wanted if c not in cur_names]
        if absent_ref or absent_cur:
            parts = []
            if absent_ref:
                parts.append(f"not in reference: {', '.join(absent_ref)}")
            if absent_cur:
                parts.append(f"not in current: {', '.join(absent_cur)}")
            raise ColumnMismatch(
                f"columns to compare: {'; '.join(parts)} "
                f"(reference has {_names(ref_names)}; current has {_names(sorted(cur_names))})"
            )
        compared = wanted
        missing: list[str] = []
        extra: list[str] = []
    else:
        compared = [c for c in ref_names if c in cur_names]
        missing = [c for c in ref_names if c not in cur_names]
        extra = sorted(cur_names - set(ref_names))
        if not compared:
            raise ColumnMismatch(
                f"reference and current share no column (reference has {_names(ref_names)}; "
                f"current has {_names(sorted(cur_names))})"
            )
    mismatches: list[TypeMismatch] = []
    for name in compared:
        if ref_kinds[name] == NUMERIC:
            current_column = current[name]
            if column_kind(current_column) != NUMERIC:
                _, violations = numeric_values(current_column)
                if violations:
                    mismatches.append(
                        TypeMismatch(name, NUMERIC, str(current_column.dtype), violations)
                    )
    return SchemaComparison(
        columns=tuple(compared),
        kinds={name: ref_kinds[name] for name in compared},
        missing_in_current=tuple(missing),
        extra_in_current=tuple(extra),
        type_mismatches=tuple(mismatches),
    )


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return (shown + more) or "no columns"


def category_values(series: pd.Series) -> np.ndarray:
    """The present values of a categorical column as an object array of strings.

    Values are compared as text so that ``1`` in one file and ``"1"`` in
    another are the same category.
    """
    present = series.dropna()
    if isinstance(present.dtype, pd.CategoricalDtype):
        present = present.astype(object)
    return present.astype(str).to_numpy(dtype=object)
