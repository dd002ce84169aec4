"""Request formats: Ladder's ``/predict``, MLflow's ``/invocations``, Open Inference v2.

Every format is parsed into one ``TableInput`` (columns of plain JSON values),
which the server validates against the model signature and batches. Only JSON
(and CSV for MLflow compatibility) is read: nothing that can carry code, pickle
in particular, is ever deserialised from a request.

JSON is parsed with orjson. orjson refuses ``NaN`` and ``Infinity``, which
Python's ``json.dumps`` writes by default; such a body is re-read with the
standard library so that NaN arrives as a null (judged by the signature's
nullability) and ±inf is refused per row and column, instead of the whole body
being called malformed.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from ladder.errors import (
    InvalidPayload,
    SignatureMismatch,
    SignatureProblem,
    UnsupportedContentType,
)

JSON = "json"
CSV = "csv"


@dataclass
class TableInput:
    """A request's rows as columns of plain values, plus what came with them."""

    columns: dict[str, list[Any]]
    rows: int
    ids: list[str] | None = None  # caller-chosen id per row (for joining labels later)
    key: str | None = None  # routing key for sticky canary / A-B assignment
    may_be_non_finite: bool = False  # parsed by a reader that accepts NaN/inf
    request_id: str | None = None  # the id the caller gave the request (v2 "id")


def media_kind(content_type: str | None, allowed: Sequence[str] = (JSON,)) -> str:
    """``json`` or ``csv`` for a Content-Type header; ``UnsupportedContentType`` otherwise.

    A request without a Content-Type is read as JSON.
    """
    if not content_type:
        return JSON
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return JSON
    if CSV in allowed and media in ("text/csv", "application/csv"):
        return CSV
    accepted = " or ".join(
        {"json": "application/json", "csv": "text/csv"}[kind] for kind in allowed
    )
    raise UnsupportedContentType(
        f"content type {media!r}: expected {accepted} (Ladder never deserialises other formats, "
        "pickle included)"
    )


def read_json(body: bytes) -> tuple[Any, bool]:
    """The parsed body and whether it needed the NaN/Infinity-tolerant reader."""
    if not body.strip():
        raise InvalidPayload("request body: expected JSON, given an empty body")
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError as exc:
        first_error = str(exc)
    try:
        return json.loads(body), True
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload(f"request body: malformed JSON: {first_error}") from None


def read_csv(body: bytes) -> TableInput:
    import pandas as pd

    if not body.strip():
        raise InvalidPayload("request body: expected CSV with a header row, given an empty body")
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPayload(f"request body: malformed CSV: {exc}") from None
    columns = {
        str(name): [None if _is_nan(v) else v for v in frame[name].tolist()]
        for name in frame.columns
    }
    return _table(columns, len(frame), may_be_non_finite=True)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _table(
    columns: dict[str, list[Any]],
    rows: int,
    *,
    ids: Any = None,
    key: Any = None,
    may_be_non_finite: bool = False,
) -> TableInput:
    if rows == 0:
        raise InvalidPayload("request: empty batch: expected at least one row, given none")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) != rows
        or not all(isinstance(i, str) and i for i in ids)
    ):
        raise InvalidPayload(
            f"request 'ids': expected a list of {rows} non-empty strings (one per row), "
            f"given {_short(ids)}"
        )
    if key is not None and not isinstance(key, (str, int)):
        raise InvalidPayload(f"request 'key': expected a string, given {_short(key)}")
    return TableInput(
        columns,
        rows,
        ids=ids,
        key=None if key is None else str(key),
        may_be_non_finite=may_be_non_finite,
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def records_to_columns(records: list[Any], where: str) -> dict[str, list[Any]]:
    """Columns from a list of JSON objects; a key absent from some records is null there."""
    if len(records) == 1 and isinstance(records[0], dict):  # the common single-row request
        return {str(k): [v] for k, v in records[0].items()}
    columns = _same_keys_to_columns(records)
    if columns is not None:
        return columns
    names: dict[str, None] = {}
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidPayload(
                f"{where}[{position}]: expected an object of column → value, "
                f"given {type(record).__name__} {_short(record)}"
            )
        names.update(dict.fromkeys(record))
    return {str(name): [record.get(name) for record in records] for name in names}


def _same_keys_to_columns(records: list[Any]) -> dict[str, list[Any]] | None:
    """Columns when every record is an object with the first one's keys (the usual batch),
    transposed in C (about 4x faster than key by key); None for anything else."""
    first = records[0] if records else None
    if not isinstance(first, dict) or len(first) < 2:
        return None
    names = list(first)
    width = len(names)
    if not all(type(record) is dict and len(record) == width for record in records):
        return None
    try:  # same size and every name present: the same keys
        rows = list(map(itemgetter(*names), records))
    except KeyError:
        return None
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}


def columns_from_mapping(data: Mapping[str, Any], where: str) -> tuple[dict[str, list[Any]], int]:
    """Columns from ``{"col": [values...]}``; every column must have the same length."""
    columns: dict[str, list[Any]] = {}
    lengths = set()
    for name, values in data.items():
        if not isinstance(values, list):
            raise InvalidPayload(
                f"{where} column {name!r}: expected a list of values, given "
                f"{type(values).__name__} {_short(values)}"
            )
        columns[str(name)] = values
        lengths.add(len(values))
    if len(lengths) > 1:
        sizes = {name: len(values) for name, values in columns.items()}
        raise InvalidPayload(f"{where}: columns differ in length: {sizes}")
    return columns, lengths.pop() if lengths else 0


def rows_to_columns(
    rows: list[Any], names: Sequence[str] | None, where: str
) -> dict[str, list[Any]]:
    """Columns from positional rows (lists), named by ``names`` (the signature's order)."""
    width = None
    for position, row in enumerate(rows):
        if not isinstance(row, list):
            raise InvalidPayload(
                f"{where}[{position}]: expected a list of values, given {_short(row)}"
            )
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise InvalidPayload(
                f"{where}[{position}]: expected {width} values like row 0, given {len(row)}"
            )
    width = width or 0
    if names is None or len(names) != width:
        if names is not None:
            raise SignatureMismatch(
                f"input: expected {len(names)} values per row ({', '.join(names)}), given {width}",
                [SignatureProblem("*", f"{len(names)} columns", f"{width} values", "wrong width")],
            )
        names = [str(i) for i in range(width)]
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


# -- Ladder's /predict --------------------------------------------------------------------------


def parse_predict(document: Any) -> TableInput:
    """``/predict``: a list of records, ``{"records": [...]}``, ``{"columns": {...}}`` or a record.

    The wrapped forms may carry ``"ids"`` (one per row) and ``"key"`` (routing).
    """
    if isinstance(document, list):
        return _table(records_to_columns(document, "body"), len(document))
    if not isinstance(document, dict):
        raise InvalidPayload(
            "request body: expected a JSON object or a list of records, given "
            f"{type(document).__name__} {_short(document)}"
        )
    if "records" in document:
        records = document["records"]
        if not isinstance(records, list):
            raise InvalidPayload(f"'records': expected a list of objects, given {_short(records)}")
        return _table(
            records_to_columns(records, "records"),
            len(records),
            ids=document.get("ids"),
            key=document.get("key"),
        )
    if "columns" in document:
        data = document["columns"]
        if not isinstance(data, dict):
            raise InvalidPayload(
                f"'columns': expected an object of column → list of values, given {_short(data)}"
            )
        columns, rows = columns_from_mapping(data, "columns")
        return _table(columns, rows, ids=document.get("ids"), key=document.get("key"))
    if not document:
        raise InvalidPayload("request: empty batch: expected at least one row, given {}")
    return _table({str(k): [v] for k, v in document.items()}, 1)


# -- MLflow's /invocations --------------------------------------------------------------------

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def parse_invocations(document: Any, names: Sequence[str] | None) -> TableInput:
    """MLflow scoring-server input: exactly one of ``dataframe_split``, ``dataframe_records``,
    ``instances`` or ``inputs`` (``params`` is accepted and ignored)."""
    if not isinstance(document, dict):
        raise InvalidPayload(
            f"request body: expected a JSON object with one of {', '.join(MLFLOW_KEYS)}, "
            f"given {type(document).__name__}"
        )
    present = [key for key in MLFLOW_KEYS if key in document]
    if len(present) != 1:
        raise InvalidPayload(
            f"request body: expected exactly one of {', '.join(MLFLOW_KEYS)}, "
            f"given {present or sorted(document)}"
        )
    kind = present[0]
    data = document[kind]
    if kind == "dataframe_split":
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise InvalidPayload(
                'dataframe_split: expected {"columns": [...], "data": [[...], ...]}'
            )
        given = data.get("columns")
        if given is not None and (
            not isinstance(given, list) or not all(isinstance(c, str) for c in given)
        ):
            raise InvalidPayload(
                f"dataframe_split.columns: expected a list of names, given {_short(given)}"
            )
        rows = data["data"]
        return _table(rows_to_columns(rows, given or names, "dataframe_split.data"), len(rows))
    if kind == "dataframe_records":
        if not isinstance(data, list):
            raise InvalidPayload("dataframe_records: expected a list of objects")
        return _table(records_to_columns(data, kind), len(data))
    if isinstance(data, dict):  # inputs / instances as columns
        columns, count = columns_from_mapping(data, kind)
        return _table(columns, count)
    if not isinstance(data, list):
        raise InvalidPayload(
            f"{kind}: expected a list or an object of columns, given {_short(data)}"
        )
    if data and all(isinstance(item, dict) for item in data):
        return _table(records_to_columns(data, kind), len(data))
    return _table(rows_to_columns(data, names, kind), len(data))


# -- Open Inference Protocol v2 ---------------------------------------------------------------

_V2_TYPES = {
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
}


def parse_v2(document: Any, names: Sequence[str] | None) -> TableInput:
    """``/v2/models/{name}/infer``: one tensor per column (named after it, shape ``[n]`` or
    ``[n, 1]``), or a single ``[n, k]`` tensor whose columns follow the signature's order."""
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise InvalidPayload(
            'request body: expected {"inputs": [{"name", "shape", "datatype", "data"}]}'
        )
    tensors = document["inputs"]
    if not tensors:
        raise InvalidPayload("inputs: empty batch: expected at least one tensor, given none")
    parsed = [_v2_tensor(t, position) for position, t in enumerate(tensors)]
    if len(parsed) == 1 and len(parsed[0][1]) == 2 and parsed[0][1][1] != 1:
        name, shape, data = parsed[0]
        rows, width = shape
        matrix = [data[r * width : (r + 1) * width] for r in range(rows)]
        return _with_v2_id(
            _table(rows_to_columns(matrix, names, f"inputs[{name!r}]"), rows), document
        )
    columns: dict[str, list[Any]] = {}
    counts = set()
    for name, shape, data in parsed:
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise InvalidPayload(
                f"input tensor {name!r}: expected shape [n] or [n, 1] when sending one tensor "
                f"per column, given {shape}"
            )
        columns[name] = data
        counts.add(shape[0])
    if len(counts) > 1:
        raise InvalidPayload(f"inputs: tensors differ in rows: {sorted(counts)}")
    return _with_v2_id(_table(columns, counts.pop()), document)


def _with_v2_id(table: TableInput, document: dict[str, Any]) -> TableInput:
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidPayload(f"'id': expected a string, given {_short(request_id)}")
    table.request_id = request_id or None
    return table


def _v2_tensor(tensor: Any, position: int) -> tuple[str, list[int], list[Any]]:
    where = f"inputs[{position}]"
    if not isinstance(tensor, dict):
        raise InvalidPayload(f"{where}: expected an object, given {_short(tensor)}")
    name, shape, datatype, data = (tensor.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidPayload(f"{where}.name: expected a string, given {_short(name)}")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidPayload(f"{where}.shape: expected a list of sizes, given {_short(shape)}")
    if datatype not in _V2_TYPES:
        raise InvalidPayload(
            f"{where}.datatype: expected one of {', '.join(sorted(_V2_TYPES))}, "
            f"given {_short(datatype)}"
        )
    if not isinstance(data, list):
        raise InvalidPayload(f"{where}.data: expected a list, given {_short(data)}")
    flat = _flatten(data)
    if len(flat) != math.prod(shape):
        raise InvalidPayload(
            f"{where} ({name!r}): shape {shape} holds {math.prod(shape)} values, given {len(flat)}"
        )
    return name, shape, flat


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(item, list) for item in data):
        return data
    flat: list[Any] = []
    for item in data:
        flat.extend(_flatten(item) if isinstance(item, list) else [item])
    return flat


def v2_datatype(values: np.ndarray) -> str:
    kind = values.dtype.kind
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return "INT64"
    if kind == "f":
        return "FP64"
    return "BYTES"
