"""Validation of new data against a version's schema and profile.

Checks, per column of the reference:

* ``missing_column`` — the column is absent (blocking);
* ``type_mismatch`` — values that do not convert to the reference type
  (blocking); text files carry no types, so CSV values are read as text and
  each is checked for conversion;
* ``unexpected_nulls`` — missing values where the reference had none (blocking);
* ``out_of_range`` — numeric / datetime values outside the reference range
  widened by ``tolerance`` × its span on both sides (a warning);
* ``unseen_categories`` — values of a categorical column the reference never
  had (a warning);

and ``unexpected_column`` for each column the reference lacks (a warning).
``strict=True`` makes every check blocking. Data is read in batches, so a
file larger than memory can be validated. Example rows are 0-based positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ladder.data.profile import ColumnProfile, DatasetProfile
from ladder.data.schema import (
    DatasetSchema,
    is_datetime_type,
    is_numeric_type,
    is_text_type,
    value_type,
)
from ladder.data.tabular import NUMBER_PATTERN, index_columns
from ladder.errors import SchemaMismatch

CHECKS = (
    "missing_column",
    "unexpected_column",
    "type_mismatch",
    "unexpected_nulls",
    "out_of_range",
    "unseen_categories",
)
BLOCKING = frozenset({"missing_column", "type_mismatch", "unexpected_nulls"})
DEFAULT_TOLERANCE = 0.1
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class ValueExample:
    """A failing value and its 0-based row position in the validated data."""

    row: int
    value: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one column.

    ``failed`` counts failing values (1 for a column-level check such as
    ``missing_column``), out of ``checked``; ``examples`` shows up to five.
    """

    column: str
    check: str
    passed: bool
    blocking: bool
    failed: int
    checked: int
    examples: tuple[ValueExample, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "check": self.check,
            "passed": self.passed,
            "blocking": self.blocking,
            "failed": self.failed,
            "checked": self.checked,
            "examples": [{"row": e.row, "value": e.value} for e in self.examples],
            "message": self.message,
        }


@dataclass(frozen=True)
class ValidationReport:
    """Every check run on new data against the version ``dataset`` (a ``name@id`` reference)."""

    dataset: str
    rows: int
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """True when no blocking check failed."""
        return not self.errors

    @property
    def errors(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and r.blocking]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed and not r.blocking]

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def for_column(self, column: str) -> list[CheckResult]:
        return [r for r in self.results if r.column == column]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "rows": self.rows,
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "results": [r.to_dict() for r in self.results],
        }

    def raise_if_failed(self) -> None:
        """Raise ``SchemaMismatch`` naming each failed blocking check."""
        if self.passed:
            return
        details = "; ".join(f"{r.column}: {r.message}" for r in self.errors)
        raise SchemaMismatch(f"data does not match {self.dataset}: {details}")


@dataclass
class _Tally:
    failed: int = 0
    checked: int = 0
    examples: list[ValueExample] = field(default_factory=list)

    def add(self, mask: np.ndarray, values: pa.Array, offset: int, checked: int) -> None:
        self.checked += checked
        hits = np.flatnonzero(mask)
        self.failed += len(hits)
        for index in hits[: MAX_EXAMPLES - len(self.examples)]:
            scalar = values[int(index)]
            self.examples.append(ValueExample(offset + int(index), _show(scalar.as_py())))


def _show(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _ColumnCheck:
    """Running checks of one reference column over the batches of new data."""

    def __init__(self, schema_type: pa.DataType, profile: ColumnProfile, tolerance: float) -> None:
        self.type = schema_type
        self.profile = profile
        self.types = _Tally()
        self.nulls = _Tally()
        self.range = _Tally()
        self.categories = _Tally()
        self.seen_types: set[str] = set()
        self.low, self.high = _bounds(profile, tolerance)
        self.known = (
            pa.array(sorted(profile.categories), type=pa.string())
            if profile.kind == "categorical" and profile.categories_complete and profile.count
            else None
        )

    @property
    def empty_reference(self) -> bool:
        return self.profile.kind == "empty" or self.profile.count == 0

    def update(self, values: pa.Array, offset: int) -> None:
        self.seen_types.add(str(values.type))
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        valid = values.is_valid().to_numpy(zero_copy_only=False)
        if self.profile.missing == 0 and self.profile.rows:
            self.nulls.add(~valid, values, offset, len(values))
        if self.empty_reference:
            return
        converted, bad = _convert(values, value_type(self.type))
        self.types.add(bad & valid, values, offset, int(valid.sum()))
        good = valid & ~bad
        if self.low is not None and self.high is not None and converted is not None:
            numbers = _float_values(converted)
            with np.errstate(invalid="ignore"):
                outside = good & ((numbers < self.low) | (numbers > self.high))
            self.range.add(outside, values, offset, int(good.sum()))
        if self.known is not None and converted is not None:
            texts = _category_text(converted)
            known = pc.fill_null(pc.is_in(texts, value_set=self.known), True)
            unseen = good & ~known.to_numpy(zero_copy_only=False)
            self.categories.add(unseen, values, offset, int(good.sum()))

    def results(self, name: str, blocking: frozenset[str]) -> list[CheckResult]:
        p = self.profile
        out = []
        if self.empty_reference:
            out.append(
                CheckResult(
                    name,
                    "type_mismatch",
                    True,
                    "type_mismatch" in blocking,
                    0,
                    0,
                    (),
                    "not checked: the reference column has no values",
                )
            )
        else:
            given = ", ".join(sorted(self.seen_types)) or "no values"
            out.append(
                _result(
                    name,
                    "type_mismatch",
                    self.types,
                    blocking,
                    f"values that do not convert to {self.type} (given {given})",
                )
            )
        if p.missing == 0 and p.rows:
            out.append(
                _result(
                    name,
                    "unexpected_nulls",
                    self.nulls,
                    blocking,
                    "missing values; the reference had none",
                )
            )
        if self.low is not None and self.high is not None and not self.empty_reference:
            out.append(
                _result(
                    name,
                    "out_of_range",
                    self.range,
                    blocking,
                    f"values outside [{_number(self.low)}, {_number(self.high)}] "
                    f"(reference range [{_number(p.min)}, {_number(p.max)}] plus tolerance)",
                )
            )
        if self.known is not None:
            out.append(
                _result(
                    name,
                    "unseen_categories",
                    self.categories,
                    blocking,
                    f"values not among the reference's {len(self.known)} categories",
                )
            )
        return out


def _result(
    column: str, check: str, tally: _Tally, blocking: frozenset[str], what: str
) -> CheckResult:
    passed = tally.failed == 0
    message = "ok" if passed else f"{tally.failed} of {tally.checked} {what}"
    return CheckResult(
        column,
        check,
        passed,
        check in blocking,
        tally.failed,
        tally.checked,
        tuple(tally.examples),
        message,
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _bounds(profile: ColumnProfile, tolerance: float) -> tuple[float | None, float | None]:
    if profile.kind not in ("numeric", "datetime") or profile.min is None or profile.max is None:
        return None, None
    span = profile.max - profile.min
    if span == 0:
        span = abs(profile.max) or 1.0
    return profile.min - tolerance * span, profile.max + tolerance * span


def _convert(values: pa.Array, target: pa.DataType) -> tuple[pa.Array | None, np.ndarray]:
    """``values`` as ``target`` (failing values null) and the mask of values that failed."""
    source = value_type(values.type)
    length = len(values)
    no_failures = np.zeros(length, dtype=bool)
    if source.equals(target) or (pa.types.is_null(source)):
        return values, no_failures
    if is_text_type(source) and (is_numeric_type(target) and not pa.types.is_duration(target)):
        numeric = pc.match_substring_regex(values, NUMBER_PATTERN, ignore_case=True)
        special = pc.is_in(
            pc.utf8_lower(pc.utf8_trim_whitespace(values)),
            value_set=pa.array(["nan", "inf", "-inf", "+inf"]),
        )
        ok = pc.fill_null(pc.or_kleene(numeric, special), False).to_numpy(zero_copy_only=False)
        bad = ~ok & values.is_valid().to_numpy(zero_copy_only=False)
        cleaned = pc.if_else(pa.array(~bad), pc.utf8_trim_whitespace(values), None)
        as_float = pc.cast(cleaned, pa.float64())
        return _narrow(as_float, target, bad)
    if is_numeric_type(source) and is_numeric_type(target):
        if pa.types.is_integer(target) and not pa.types.is_integer(source):
            return _narrow(pc.cast(values, pa.float64()), target, no_failures)
        return pc.cast(values, pa.float64(), safe=False), no_failures
    if is_text_type(target):
        return pc.cast(values, pa.string()), no_failures
    try:
        return pc.cast(values, target, safe=True), no_failures
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Element by element only on this rare path (dates as text in odd formats, say).
    bad = np.zeros(length, dtype=bool)
    converted: list[Any] = []
    for index in range(length):
        scalar = values[index]
        if not scalar.is_valid:
            converted.append(None)
            continue
        try:
            converted.append(
                pc.cast(pa.array([scalar.as_py()], type=values.type), target)[0].as_py()
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            bad[index] = True
            converted.append(None)
    try:
        return pa.array(converted, type=target), bad
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None, bad


def _narrow(
    as_float: pa.Array, target: pa.DataType, bad: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Floats to an integer target: values with a fraction (or beyond int range) fail."""
    if not pa.types.is_integer(target):
        return as_float, bad
    numbers = as_float.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        fractional = np.isfinite(numbers) & (np.mod(numbers, 1.0) != 0)
        fractional |= ~np.isfinite(numbers) & as_float.is_valid().to_numpy(zero_copy_only=False)
    failed = bad | fractional
    return pc.if_else(pa.array(~failed), as_float, None), failed


def _float_values(values: pa.Array) -> np.ndarray:
    """Full-length float64 view (NaN for nulls); datetimes in seconds since the epoch."""
    t = values.type
    if is_datetime_type(t) or pa.types.is_duration(t):
        if pa.types.is_date32(t):
            raw = values.cast(pa.int32()).cast(pa.float64())
            scale = 1 / 86400.0
        elif pa.types.is_date64(t):
            raw, scale = values.cast(pa.int64()).cast(pa.float64()), 1e3
        else:
            raw = values.cast(pa.int64()).cast(pa.float64())
            scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[t.unit]
        return pc.fill_null(raw, math.nan).to_numpy(zero_copy_only=False) / scale
    if pa.types.is_decimal(t) or not pa.types.is_floating(t):
        values = pc.cast(values, pa.float64(), safe=False)
    return pc.fill_null(values, math.nan).to_numpy(zero_copy_only=False)


def _category_text(values: pa.Array) -> pa.Array:
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, "true", "false")
    return pc.cast(values, pa.string())


def validate_batches(
    batches: Iterable[pa.RecordBatch],
    schema: DatasetSchema,
    profile: DatasetProfile,
    *,
    dataset: str,
    tolerance: float = DEFAULT_TOLERANCE,
    strict: bool = False,
) -> ValidationReport:
    """Run every check over ``batches`` of new data; see the module docstring."""
    if not isinstance(tolerance, (int, float)) or math.isnan(tolerance) or tolerance < 0:
        raise ValueError(f"validation tolerance: expected a number >= 0, got {tolerance!r}")
    blocking = frozenset(CHECKS) if strict else BLOCKING
    checks: dict[str, _ColumnCheck] = {}
    given: list[str] | None = None
    rows = 0
    for batch in batches:
        if given is None:
            hidden = index_columns(batch.schema)
            given = [name for name in batch.schema.names if name not in hidden]
            for column in schema.columns:
                if column.name in given:
                    checks[column.name] = _ColumnCheck(
                        schema.arrow.field(column.name).type, profile.column(column.name), tolerance
                    )
        for name, check in checks.items():
            check.update(batch.column(name), rows)
        rows += batch.num_rows
    given = given or []
    results: list[CheckResult] = []
    for column in schema.columns:
        if column.name not in given:
            results.append(
                CheckResult(
                    column.name,
                    "missing_column",
                    False,
                    "missing_column" in blocking,
                    1,
                    1,
                    (),
                    f"column missing (reference type {column.type})",
                )
            )
            continue
        results.append(
            CheckResult(
                column.name, "missing_column", True, "missing_column" in blocking, 0, 1, (), "ok"
            )
        )
        results.extend(checks[column.name].results(column.name, blocking))
    for name in given:
        if name not in schema:
            results.append(
                CheckResult(
                    name,
                    "unexpected_column",
                    False,
                    "unexpected_column" in blocking,
                    1,
                    1,
                    (),
                    "column not in the reference schema",
                )
            )
    return ValidationReport(dataset, rows, tuple(results))
