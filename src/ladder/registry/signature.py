"""Model signatures: the columns a model takes (name, type, nullability) and what it returns.

A signature is inferred from the input example given at registration and the
model's output on it. ``Signature.validate(df)`` is the one gate every input
passes through before ``predict`` (in-process, in a gate, behind ``ladder serve``):
it returns a frame with the signature's columns in order, safely cast (int →
float, float holding whole numbers → int, numeric objects from JSON → numbers,
ISO strings → datetimes), or raises ``SignatureMismatch`` listing each problem
(row, column, expected, given).
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from ladder.errors import SignatureMismatch, SignatureProblem

# Logical column types. ``any`` is a column of mixed Python objects that is passed through.
COLUMN_TYPES = ("integer", "float", "boolean", "string", "datetime", "category", "any")
MAX_ROWS_PER_COLUMN = 20  # row problems listed per column; the rest are counted
MAX_IN_MESSAGE = 10


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its logical type, the exact dtype the model saw, and whether nulls pass."""

    name: str
    type: str
    dtype: str
    nullable: bool
    categories: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "dtype": self.dtype,
            "nullable": self.nullable,
        }
        if self.categories is not None:
            data["categories"] = list(self.categories)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSpec:
        categories = data.get("categories")
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            dtype=str(data["dtype"]),
            nullable=bool(data["nullable"]),
            categories=tuple(categories) if categories is not None else None,
        )


@dataclass(frozen=True)
class OutputSpec:
    """What ``predict`` returns: dtype and shape (None = any number of rows), class labels."""

    dtype: str
    shape: tuple[int | None, ...]
    classes: tuple[Any, ...] | None = None
    has_proba: bool = False

    @property
    def task(self) -> str:
        """``binary``, ``multiclass`` or ``regression``, as far as the output tells."""
        if self.classes is not None:
            return "binary" if len(self.classes) == 2 else "multiclass"
        return "regression"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dtype": self.dtype,
            "shape": list(self.shape),
            "classes": list(self.classes) if self.classes is not None else None,
            "has_proba": self.has_proba,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutputSpec:
        classes = data.get("classes")
        return cls(
            dtype=str(data["dtype"]),
            shape=tuple(None if d is None else int(d) for d in data["shape"]),
            classes=tuple(classes) if classes is not None else None,
            has_proba=bool(data.get("has_proba", False)),
        )


@dataclass(frozen=True)
class Signature:
    """The input columns a model takes, in order, and its output."""

    inputs: tuple[ColumnSpec, ...]
    output: OutputSpec | None = None
    _by_name: dict[str, ColumnSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({spec.name: spec for spec in self.inputs})

    @property
    def columns(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    def column(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def with_nullable(self, *names: str) -> Signature:
        """A copy of this signature in which the named columns accept nulls."""
        unknown = [n for n in names if n not in self._by_name]
        if unknown:
            raise KeyError(f"signature: no column {unknown}; it has {self.columns}")
        inputs = tuple(
            ColumnSpec(s.name, s.type, s.dtype, True, s.categories) if s.name in names else s
            for s in self.inputs
        )
        return Signature(inputs, self.output)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [spec.to_dict() for spec in self.inputs],
            "output": self.output.to_dict() if self.output is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        output = data.get("output")
        return cls(
            inputs=tuple(ColumnSpec.from_dict(c) for c in data["inputs"]),
            output=OutputSpec.from_dict(output) if output is not None else None,
        )

    def validate(self, data: Any, *, allow_extra: bool = False) -> pd.DataFrame:
        """Return ``data`` as a frame with exactly the signature's columns, safely cast.

        Raises ``SignatureMismatch`` whose ``problems`` name every missing or extra
        column and, per column, the offending rows (first ``MAX_ROWS_PER_COLUMN``).
        With ``allow_extra=True`` columns the signature does not know are dropped.
        """
        return validate_input(self, data, allow_extra=allow_extra)


def infer_column(name: str, series: pd.Series) -> ColumnSpec:
    """The spec of one example column."""
    dtype = series.dtype
    nullable = bool(series.isna().any())
    categories = None
    if isinstance(dtype, pd.CategoricalDtype):
        kind = "category"
        categories = tuple(python_scalar(c) for c in dtype.categories)
    elif ptypes.is_bool_dtype(dtype):
        kind = "boolean"
    elif ptypes.is_integer_dtype(dtype):
        kind = "integer"
    elif ptypes.is_float_dtype(dtype):
        kind = "float"
    elif ptypes.is_datetime64_any_dtype(dtype):
        kind = "datetime"
    elif ptypes.is_string_dtype(series):  # str dtype, or object holding only strings
        kind = "string"
    else:
        kind = "any"
    return ColumnSpec(str(name), kind, str(dtype), nullable, categories)


def as_frame(data: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Turn a DataFrame, a mapping of columns, a list of records or a 2-D array into a frame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        # A series indexed by the signature's columns is one record; otherwise one column.
        is_record = columns is not None and bool(data.index.isin(columns).all())
        return data.to_frame().T if is_record else data.to_frame()
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            one_record = columns is not None and len(columns) == len(data)
            data = data.reshape(1, -1) if one_record else data.reshape(-1, 1)
        if data.ndim != 2:
            raise SignatureMismatch(
                f"input: expected a 2-D array or a table, got an array of shape {data.shape}",
                [SignatureProblem("*", "2-D", str(data.shape), "wrong array shape")],
            )
        names = (
            list(columns)
            if columns is not None and len(columns) == data.shape[1]
            else [str(i) for i in range(data.shape[1])]
        )
        return pd.DataFrame(data, columns=names)
    if isinstance(data, (Mapping, list)):
        return pd.DataFrame(data)
    raise SignatureMismatch(
        f"input: expected a pandas DataFrame, a dict of columns, a list of records or a "
        f"2-D array, got {type(data).__name__}",
        [SignatureProblem("*", "table", type(data).__name__, "not a table")],
    )


def infer_signature(
    input_example: Any,
    output: Any = None,
    *,
    classes: Sequence[Any] | None = None,
    has_proba: bool = False,
) -> Signature:
    """Infer a signature from an input example and, optionally, the model's output on it."""
    frame = as_frame(input_example)
    if frame.columns.duplicated().any():
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise SignatureMismatch(
            f"input example: column names must be unique, {duplicated} repeat",
            [
                SignatureProblem(c, "unique name", "repeated", "duplicate column")
                for c in duplicated
            ],
        )
    inputs = tuple(infer_column(str(name), frame[name]) for name in frame.columns)
    output_spec = None
    if output is not None:
        array = np.asarray(output)
        shape: tuple[int | None, ...] = (None, *array.shape[1:])
        output_spec = OutputSpec(
            dtype=str(array.dtype),
            shape=shape,
            classes=tuple(python_scalar(c) for c in classes) if classes is not None else None,
            has_proba=has_proba,
        )
    return Signature(inputs, output_spec)


def validate_input(signature: Signature, data: Any, *, allow_extra: bool = False) -> pd.DataFrame:
    """See ``Signature.validate``."""
    frame = as_frame(data, signature.columns)
    problems: list[SignatureProblem] = []
    present = set(frame.columns)
    for spec in signature.inputs:
        if spec.name not in present:
            problems.append(SignatureProblem(spec.name, spec.dtype, "missing", "missing column"))
    if not allow_extra:
        known = signature._by_name
        for name in frame.columns:
            if name not in known:
                problems.append(
                    SignatureProblem(
                        str(name), "no such column", str(frame[name].dtype), "extra column"
                    )
                )
    columns: dict[str, pd.Series] = {}
    for spec in signature.inputs:
        if spec.name in present:
            series = frame[spec.name]
            if isinstance(series, pd.DataFrame):  # the same name twice in the input
                problems.append(
                    SignatureProblem(spec.name, "one column", "repeated", "duplicate column")
                )
                continue
            columns[spec.name] = _check_column(spec, series, problems)
    if problems:
        raise _mismatch(problems)
    return pd.DataFrame(columns, index=frame.index, copy=False)


def _mismatch(problems: list[SignatureProblem]) -> SignatureMismatch:
    """One error whose message groups row problems per column and reason."""
    groups: dict[tuple[str, str], list[SignatureProblem]] = {}
    for problem in problems:
        groups.setdefault((problem.column, problem.reason), []).append(problem)
    parts = []
    for (column, reason), items in groups.items():
        first = items[0]
        rows = [p.row for p in items if p.row is not None]
        if rows:
            # Rows past MAX_ROWS_PER_COLUMN are one problem whose ``given`` is "N more rows".
            unlisted = sum(int(p.given.split()[0]) for p in items if p.row is None)
            hidden = len(rows) - min(len(rows), MAX_IN_MESSAGE) + unlisted
            listed = ", ".join(repr(r) for r in rows[:MAX_IN_MESSAGE])
            more = f" and {hidden} more" if hidden else ""
            parts.append(
                f"column {column!r}: {reason} at row{'s' if len(rows) > 1 else ''} "
                f"{listed}{more} (expected {first.expected}, given {first.given})"
            )
        else:
            parts.append(
                f"column {column!r}: {reason} (expected {first.expected}, given {first.given})"
            )
    return SignatureMismatch(
        f"input does not match the model signature: {'; '.join(parts)}", problems
    )


def _check_column(
    spec: ColumnSpec, series: pd.Series, problems: list[SignatureProblem]
) -> pd.Series:
    checker = _CHECKERS[spec.type]
    cast, bad = checker(spec, series)
    has_bad = bad is not None and bool(bad.any())
    if has_bad:
        assert bad is not None
        if not ptypes.is_object_dtype(series.dtype) and bool(bad.sum() == series.notna().sum()):
            # A whole column of another type (strings where numbers belong): one problem.
            problems.append(
                SignatureProblem(spec.name, _expected(spec), str(series.dtype), "wrong type")
            )
        else:
            _row_problems(spec, series, bad, _BAD_VALUE[spec.type], problems)
    if not spec.nullable:
        # Input nulls only: an unseen category becomes missing on purpose (see _check_category).
        nulls = series.isna() if has_bad or spec.type == "category" else cast.isna()
        if nulls.any():
            _row_problems(spec, series, nulls, "null where the signature forbids it", problems)
    return series if has_bad else cast


def _row_problems(
    spec: ColumnSpec,
    series: pd.Series,
    mask: pd.Series,
    reason: str,
    problems: list[SignatureProblem],
) -> None:
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    for position in positions[:MAX_ROWS_PER_COLUMN]:
        value = series.iloc[position]
        problems.append(
            SignatureProblem(
                spec.name,
                _expected(spec),
                _describe(value),
                reason,
                row=python_scalar(series.index[position]),
            )
        )
    if len(positions) > MAX_ROWS_PER_COLUMN:
        problems.append(
            SignatureProblem(
                spec.name,
                _expected(spec),
                f"{len(positions) - MAX_ROWS_PER_COLUMN} more rows",
                reason,
            )
        )


def _expected(spec: ColumnSpec) -> str:
    return f"{spec.dtype}{'' if spec.nullable else ' (not null)'}"


def _describe(value: Any) -> str:
    if _is_null(value):
        return "null"
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _is_null(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- per-type checks: each returns (cast series, mask of bad values or None) ----------------


@functools.lru_cache(maxsize=256)
def _dtype(name: str) -> Any:
    """The dtype object for a recorded dtype name (cached: validation runs per request)."""
    return ptypes.pandas_dtype(name)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))


def _object_numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Objects (from JSON or mixed input) → float; non-numbers are flagged."""
    values = series.to_numpy(dtype=object)
    bad = np.fromiter(
        (not (_is_null(v) or _is_number(v)) for v in values), dtype=bool, count=len(values)
    )
    numbers_only = values.copy()
    numbers_only[bad] = None
    cast = pd.to_numeric(pd.Series(numbers_only, index=series.index), errors="coerce")
    return cast.astype("float64"), pd.Series(bad, index=series.index)


def _is_numeric_kind(series: pd.Series) -> bool:
    dtype = series.dtype
    return not ptypes.is_bool_dtype(dtype) and (
        ptypes.is_integer_dtype(dtype) or ptypes.is_float_dtype(dtype)
    )


def _check_float(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if _is_numeric_kind(series):
        return series.astype(
            _dtype(spec.dtype if spec.dtype.startswith("float") else "float64")
        ), None
    if ptypes.is_object_dtype(series.dtype):
        cast, bad = _object_numbers(series)
        return cast.astype(_dtype(spec.dtype if spec.dtype.startswith("float") else "float64")), bad
    return series, series.notna()


def _check_integer(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    nullable_dtype = spec.dtype[:1].isupper()  # pandas' Int64 / UInt8… hold nulls
    if ptypes.is_integer_dtype(series.dtype) and not ptypes.is_bool_dtype(series.dtype):
        return series.astype(_dtype(spec.dtype)), None
    if ptypes.is_float_dtype(series.dtype) or ptypes.is_object_dtype(series.dtype):
        if ptypes.is_float_dtype(series.dtype):
            floats, bad = series.astype("float64"), pd.Series(False, index=series.index)
        else:
            floats, bad = _object_numbers(series)
        values = floats.to_numpy()
        finite = np.isfinite(values)
        whole = np.zeros(len(values), dtype=bool)
        whole[finite] = np.equal(np.mod(values[finite], 1), 0)
        # NaN stays a null (checked later); a fraction or ±inf is not an integer.
        bad = bad | pd.Series(~np.isnan(values) & ~whole, index=series.index)
        if bad.any():
            return series, bad
        nulls = np.isnan(values)
        if nulls.any():
            if nullable_dtype:
                return floats.astype(_dtype(spec.dtype)), None
            return floats, None  # the null check reports these rows
        return floats.astype(_dtype(spec.dtype)), None
    return series, series.notna()


def _check_boolean(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if ptypes.is_bool_dtype(series.dtype):
        return series, None
    if ptypes.is_object_dtype(series.dtype):
        values = series.to_numpy(dtype=object)
        bad = np.fromiter(
            (not (_is_null(v) or isinstance(v, (bool, np.bool_))) for v in values),
            dtype=bool,
            count=len(values),
        )
        if bad.any():
            return series, pd.Series(bad, index=series.index)
        has_nulls = bool(series.isna().any())
        return (
            series if has_nulls and not spec.nullable else series.astype(_dtype(spec.dtype))
        ), None
    return series, series.notna()


def _check_string(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if ptypes.is_string_dtype(series.dtype) and not ptypes.is_object_dtype(series.dtype):
        return series, None
    if ptypes.is_object_dtype(series.dtype):
        values = series.to_numpy(dtype=object)
        bad = np.fromiter(
            (not (_is_null(v) or isinstance(v, str)) for v in values), dtype=bool, count=len(values)
        )
        return series, pd.Series(bad, index=series.index)
    return series, series.notna()


def _check_category(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    # Values outside the training categories become missing, as tree models treat unseen
    # categories; only a value of another kind (a number for string categories) is refused.
    categories = list(spec.categories or ())
    if categories and all(isinstance(c, str) for c in categories):
        _, bad = _check_string(spec, series)
        if bad is not None and bad.any():
            return series, bad
    known = series.isin(categories)
    values = series.astype(object).where(known, None)
    cast = pd.Series(pd.Categorical(values, categories=categories), index=series.index)
    return cast, None


def _check_datetime(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    if ptypes.is_datetime64_any_dtype(series.dtype):
        return series, None
    if ptypes.is_string_dtype(series.dtype) or ptypes.is_object_dtype(series.dtype):
        cast = pd.to_datetime(series, errors="coerce", format="ISO8601")
        bad = cast.isna() & series.notna()
        return cast, bad
    return series, series.notna()


def _check_any(spec: ColumnSpec, series: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    return series, None


_CHECKERS = {
    "float": _check_float,
    "integer": _check_integer,
    "boolean": _check_boolean,
    "string": _check_string,
    "category": _check_category,
    "datetime": _check_datetime,
    "any": _check_any,
}
_BAD_VALUE = {
    "float": "not a number",
    "integer": "not a whole number",
    "boolean": "not a boolean",
    "string": "not a string",
    "category": "not a string category",
    "datetime": "not a date-time",
    "any": "invalid value",
}
