"""The schema of a tabular dataset version: Arrow types, nullability and the kind of each column.

``kind`` is what the statistics and drift tests need to know about a column:

* ``numeric``: integers, floats, decimals, durations (histogram, quantiles);
* ``categorical``: booleans, dictionary (pandas ``category``) columns, and text
  columns with few distinct values (at most 1,000, and at most half the rows
  unless there are 20 or fewer) — their categories are stored whole;
* ``text``: other text (identifiers, free text): top values only;
* ``datetime``: timestamps and dates, profiled as seconds since the Unix epoch;
* ``empty``: a column with no values at all (Arrow type ``null``);
* ``other``: lists, structs, binary, times of day: counted, not described.

``nullable`` is inferred from the data (did any value miss?), not from the
file format, which declares every CSV column nullable.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

KINDS = ("numeric", "categorical", "text", "datetime", "empty", "other")
CATEGORICAL_MAX = 1_000
_ALWAYS_CATEGORICAL_BELOW = 20
SCHEMA_FORMAT = "ladder.schema/1"


@dataclass(frozen=True)
class ColumnSchema:
    """One column: its name, Arrow type (as Arrow prints it), nullability and kind."""

    name: str
    type: str
    nullable: bool
    kind: str


@dataclass(frozen=True)
class DatasetSchema:
    """The columns of a tabular version, in order, plus the exact Arrow schema."""

    columns: tuple[ColumnSchema, ...]
    arrow: pa.Schema

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"column {name!r}: not in schema (columns: {', '.join(self.names)})")

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def to_arrow(self) -> pa.Schema:
        return self.arrow

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCHEMA_FORMAT,
            "columns": [
                {"name": c.name, "type": c.type, "nullable": c.nullable, "kind": c.kind}
                for c in self.columns
            ],
            "arrow": base64.b64encode(self.arrow.serialize().to_pybytes()).decode(),
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> DatasetSchema:
        columns = tuple(
            ColumnSchema(str(c["name"]), str(c["type"]), bool(c["nullable"]), str(c["kind"]))
            for c in document["columns"]
        )
        arrow = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(document["arrow"])))
        return cls(columns, arrow)


def value_type(data_type: pa.DataType) -> pa.DataType:
    """The type of the values: a dictionary's value type, a plain string for large strings."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    return data_type


def is_numeric_type(data_type: pa.DataType) -> bool:
    t = value_type(data_type)
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_duration(t)
    )


def is_datetime_type(data_type: pa.DataType) -> bool:
    t = value_type(data_type)
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def is_text_type(data_type: pa.DataType) -> bool:
    return pa.types.is_string(value_type(data_type))


def is_categorical_type(data_type: pa.DataType) -> bool:
    """Types that are categorical whatever their cardinality (booleans, dictionaries)."""
    return pa.types.is_boolean(data_type) or pa.types.is_dictionary(data_type)


def column_kind(data_type: pa.DataType, distinct: int, count: int) -> str:
    """The kind of a column of ``data_type`` with ``distinct`` values among ``count`` non-null."""
    if pa.types.is_null(data_type):
        return "empty"
    if is_numeric_type(data_type):
        return "numeric"
    if is_datetime_type(data_type):
        return "datetime"
    if is_categorical_type(data_type):
        return "categorical"
    if is_text_type(data_type):
        few = distinct <= _ALWAYS_CATEGORICAL_BELOW or distinct <= count // 2
        return "categorical" if distinct <= CATEGORICAL_MAX and few else "text"
    return "other"
