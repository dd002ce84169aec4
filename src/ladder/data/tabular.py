"""Tabular data as streams of Arrow record batches: CSV, Parquet, JSON Lines and in-memory frames.

Files are read in batches (``open_csv``, ``open_json``, ``iter_batches``) so that
profiling and validation never need a whole file in memory. Reading errors
from Arrow are turned into Ladder errors that name the file, the column and
the option that fixes them. In-memory frames (pandas, polars, Arrow) are
written to Parquet canonically, so equal frames give equal bytes.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ladder.data.formats import format_of
from ladder.data.manifest import TableSpec
from ladder.errors import (
    DatasetSourceError,
    EmptyDataset,
    InvalidReadOption,
    MixedTypes,
    SourceEncodingError,
)

_BLOCK = 16 << 20  # bytes of text per CSV / JSON Lines batch
_PARQUET_BATCH = 65_536
_PARQUET_ROW_GROUP = 131_072
NUMBER_PATTERN = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_CSV_COLUMN = re.compile(
    r"In CSV column #(\d+): .*conversion error to ([^:]+): invalid value '(.*)'"
)
_JSON_COLUMN = re.compile(r"Column\(/?([^)]*)\) changed from (\w+) to (\w+) in row (\d+)")


# -- options -------------------------------------------------------------------------------
def parse_type(column: str, alias: str) -> pa.DataType:
    """Arrow type for a ``column_types`` alias such as ``string``, ``int64``, ``timestamp[ms]``."""
    try:
        return pa.type_for_alias(alias)
    except (ValueError, TypeError):
        raise InvalidReadOption(
            f"column_types[{column!r}]: expected an Arrow type name such as 'string', 'int64', "
            f"'float64', 'bool', 'date32' or 'timestamp[ms]', got {alias!r}"
        ) from None


def make_spec(
    fmt: str,
    paths: Sequence[str],
    encoding: str | None,
    delimiter: str | None,
    column_types: Mapping[str, str] | None,
) -> TableSpec:
    """Check read options for ``fmt`` and return the spec stored in the manifest."""
    encoding = encoding or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise InvalidReadOption(
            f"encoding: expected a Python codec name such as 'utf-8', 'latin-1' or 'cp1252', "
            f"got {encoding!r}"
        ) from None
    if delimiter is None and paths and all(p.lower().split(".")[-1] == "tsv" for p in paths):
        delimiter = "\t"
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '\r\n"'):
        raise InvalidReadOption(
            f"delimiter: expected one character other than a quote or newline, got {delimiter!r}"
        )
    types = dict(column_types or {})
    for column, alias in types.items():
        parse_type(column, alias)
    if fmt == "parquet" and (types or delimiter or encoding.lower() not in ("utf-8", "utf8")):
        raise InvalidReadOption(
            "encoding, delimiter and column_types apply to CSV and JSON Lines; Parquet files "
            "carry their own schema"
        )
    return TableSpec(fmt, encoding, delimiter, types)


# -- reading -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TablePart:
    """One file of a table: where to read it, and its logical name (suffix, messages)."""

    path: str
    name: str


class TableReader:
    """A re-iterable stream of record batches over files or an in-memory table."""

    def __init__(
        self,
        parts: Sequence[TablePart] = (),
        spec: TableSpec | None = None,
        *,
        table: pa.Table | None = None,
        schema: pa.Schema | None = None,
    ) -> None:
        self.parts = list(parts)
        self.spec = spec
        self.table = table
        self._schema = (
            schema if schema is not None else (table.schema if table is not None else None)
        )

    @classmethod
    def from_table(cls, table: pa.Table) -> TableReader:
        return cls(table=table)

    @property
    def schema(self) -> pa.Schema:
        """The table's schema (read from the first file when not known yet)."""
        if self._schema is None:
            for _ in self.batches():
                break
        if self._schema is None:  # pragma: no cover - batches() always sets it or raises
            raise DatasetSourceError("table has no schema")
        return self._schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.table is not None:
            yield from self.table.to_batches(max_chunksize=_PARQUET_BATCH)
            return
        if self.spec is None:
            raise DatasetSourceError("table reader: no format given for files")
        for part in self.parts:
            for batch in self._part_batches(part):
                if self._schema is None:
                    self._schema = batch.schema
                elif batch.schema != self._schema:
                    batch = _conform(batch, self._schema, part.name)
                yield batch

    def read_all(self) -> pa.Table:
        batches = list(self.batches())
        return pa.Table.from_batches(batches, schema=self.schema)

    # -- per format ------------------------------------------------------------------------
    def _part_batches(self, part: TablePart) -> Iterator[pa.RecordBatch]:
        spec = self.spec
        assert spec is not None
        if spec.format == "parquet":
            yield from _parquet_batches(part)
        elif spec.format == "csv":
            yield from self._csv_batches(part, spec)
        else:
            yield from self._jsonl_batches(part, spec)

    def _text_stream(self, part: TablePart) -> pa.NativeFile:
        _, compression = format_of(part.name)
        try:
            return pa.input_stream(part.path, compression=compression)
        except OSError as exc:
            raise DatasetSourceError(f"{part.name}: cannot open: {exc}") from None

    def _csv_batches(self, part: TablePart, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        types = {name: parse_type(name, alias) for name, alias in spec.column_types.items()}
        if self._schema is not None:
            types = {field.name: field.type for field in self._schema} | types
        read = pa_csv.ReadOptions(encoding=spec.encoding, block_size=_BLOCK)
        parse = pa_csv.ParseOptions(delimiter=spec.delimiter or ",")
        convert = pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True)
        try:
            reader = pa_csv.open_csv(
                self._text_stream(part),
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
            reader.schema.names  # noqa: B018 - column names decode lazily: fail here, clearly
            _refuse_undecoded(reader.schema, part, spec, types)
            if self._schema is None:
                self._schema = reader.schema  # known even when the file holds a header only
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield batch
        except UnicodeDecodeError:
            raise _encoding_error(part, spec) from None
        except pa.ArrowInvalid as exc:
            raise self._csv_error(exc, part, spec, types) from None

    def _csv_error(
        self, exc: pa.ArrowInvalid, part: TablePart, spec: TableSpec, types: Mapping[str, Any]
    ) -> Exception:
        message = str(exc)
        if "Empty CSV file" in message:
            return EmptyDataset(f"{part.name}: the CSV file is empty (no header, no rows)")
        if "UTF8" in message or "UTF-8" in message:
            return _encoding_error(part, spec)
        match = _CSV_COLUMN.search(message)
        if match:
            index, type_name, value = int(match.group(1)), match.group(2), match.group(3)
            column = self._column_name(index, part, spec)
            row = _first_bad_row(part, spec, column, type_name, self._text_stream)
            where = f"row {row}" if row is not None else "a later row"
            return MixedTypes(
                f"{part.name}: column {column!r} holds mixed types: its first rows read as "
                f"{type_name}, but {where} holds {value!r}. Clean the values, or keep the column "
                f"as text with column_types={{{column!r}: 'string'}} "
                f"(CLI: --column-type {column}=string)"
            )
        return DatasetSourceError(f"{part.name}: cannot read as CSV: {message}")

    def _column_name(self, index: int, part: TablePart, spec: TableSpec) -> str:
        if self._schema is not None and index < len(self._schema):
            return str(self._schema.names[index])
        read = pa_csv.ReadOptions(encoding=spec.encoding, block_size=1 << 16)
        parse = pa_csv.ParseOptions(delimiter=spec.delimiter or ",")
        names = pa_csv.open_csv(self._text_stream(part), read_options=read, parse_options=parse)
        return str(names.schema.names[index]) if index < len(names.schema) else f"#{index}"

    def _jsonl_batches(self, part: TablePart, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        explicit: pa.Schema | None = self._schema
        if explicit is None and spec.column_types:
            explicit = pa.schema(
                [(name, parse_type(name, alias)) for name, alias in spec.column_types.items()]
            )
        parse = pa_json.ParseOptions(explicit_schema=explicit, newlines_in_values=False)
        read = pa_json.ReadOptions(block_size=_BLOCK)
        stream: Any = self._text_stream(part)
        if spec.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            raw = stream.read()
            try:
                stream = pa.BufferReader(raw.decode(spec.encoding).encode("utf-8"))
            except UnicodeDecodeError:
                raise _encoding_error(part, spec) from None
        try:
            reader = pa_json.open_json(stream, read_options=read, parse_options=parse)
            if self._schema is None:
                self._schema = reader.schema
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                yield batch
        except pa.ArrowInvalid as exc:
            message = str(exc)
            match = _JSON_COLUMN.search(message)
            if match:
                column, before, after, row = match.groups()
                raise MixedTypes(
                    f"{part.name}: field {column!r} holds mixed types: {before} in the first rows, "
                    f"{after} in row {int(row) + 1}. Clean the values, or give its type with "
                    f"column_types={{{column!r}: 'string'}}"
                ) from None
            if "UTF8" in message or "UTF-8" in message:
                raise _encoding_error(part, spec) from None
            if "Empty JSON file" in message:
                raise EmptyDataset(f"{part.name}: the JSON Lines file holds no records") from None
            raise DatasetSourceError(f"{part.name}: cannot read as JSON Lines: {message}") from None


def _parquet_batches(part: TablePart) -> Iterator[pa.RecordBatch]:
    try:
        parquet = pq.ParquetFile(part.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DatasetSourceError(f"{part.name}: not a readable Parquet file: {exc}") from None
    with parquet:
        if parquet.metadata.num_rows == 0:
            yield pa.RecordBatch.from_pylist([], schema=parquet.schema_arrow)
            return
        yield from parquet.iter_batches(batch_size=_PARQUET_BATCH)


def _conform(batch: pa.RecordBatch, schema: pa.Schema, name: str) -> pa.RecordBatch:
    if batch.schema.names != schema.names:
        raise DatasetSourceError(
            f"{name}: columns {batch.schema.names} differ from the first file's {schema.names}; "
            "every file of a tabular folder needs the same columns"
        )
    try:
        return batch.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MixedTypes(f"{name}: column types differ from the first file's ({exc})") from None


def _refuse_undecoded(
    schema: pa.Schema, part: TablePart, spec: TableSpec, requested: Mapping[str, Any]
) -> None:
    """Arrow reads text that is not valid in the encoding as ``binary``: report it instead."""
    for field in schema:
        if pa.types.is_binary(field.type) and field.name not in requested:
            raise _encoding_error(part, spec, column=field.name)


def _encoding_error(part: TablePart, spec: TableSpec, column: str | None = None) -> Exception:
    offset, sample = _first_undecodable(part, spec.encoding)
    where = f" at byte {offset}" if offset is not None else ""
    what = f" (column {column!r})" if column else ""
    guess = _guess_encoding(sample) if sample else "latin-1"
    return SourceEncodingError(
        f"{part.name}: not valid {spec.encoding}{what}: undecodable bytes{where}. "
        f"Give the file's encoding, e.g. encoding={guess!r} (CLI: --encoding {guess})"
    )


def _first_undecodable(part: TablePart, encoding: str) -> tuple[int | None, bytes]:
    _, compression = format_of(part.name)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with pa.input_stream(part.path, compression=compression) as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start, chunk[max(exc.start - 64, 0) : exc.start + 64]
            offset += len(chunk)
    return None, b""


def _guess_encoding(sample: bytes) -> str:
    """cp1252 when the bytes decode under it (Windows exports), else latin-1 (decodes anything)."""
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


def _first_bad_row(
    part: TablePart, spec: TableSpec, column: str, type_name: str, open_stream: Any
) -> int | None:
    """1-based data row of the first value in ``column`` that does not convert to ``type_name``."""
    try:
        target = pa.type_for_alias(type_name.strip())
    except (ValueError, TypeError):
        return None
    read = pa_csv.ReadOptions(encoding=spec.encoding, block_size=_BLOCK)
    parse = pa_csv.ParseOptions(delimiter=spec.delimiter or ",")
    convert = pa_csv.ConvertOptions(
        column_types={column: pa.string()}, include_columns=[column], strings_can_be_null=True
    )
    offset = 0
    try:
        reader = pa_csv.open_csv(
            open_stream(part), read_options=read, parse_options=parse, convert_options=convert
        )
        for batch in reader:
            bad = first_unconvertible(batch.column(0), target)
            if bad is not None:
                return offset + bad + 1
            offset += batch.num_rows
    except pa.ArrowInvalid:
        return None
    return None


def first_unconvertible(values: pa.Array, target: pa.DataType) -> int | None:
    """Index of the first non-null value that does not cast safely to ``target`` (bisection)."""

    def castable(array: pa.Array) -> bool:
        try:
            pc.cast(array, target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    if castable(values):
        return None
    low, high = 0, len(values)
    while high - low > 1:
        middle = (low + high) // 2
        if castable(values.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    return low


# -- frames --------------------------------------------------------------------------------
def is_frame(source: object) -> bool:
    """True for a pandas or polars DataFrame, an Arrow Table or RecordBatch."""
    module = type(source).__module__.split(".")[0]
    return isinstance(source, (pa.Table, pa.RecordBatch)) or (
        module in ("pandas", "polars") and type(source).__name__ == "DataFrame"
    )


def frame_to_table(source: object) -> pa.Table:
    """Convert a pandas / polars DataFrame or Arrow data to an Arrow table."""
    if isinstance(source, pa.Table):
        return source
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source])
    module = type(source).__module__.split(".")[0]
    if module == "polars":
        return source.to_arrow()  # type: ignore[attr-defined]
    if module == "pandas":
        import pandas as pd

        assert isinstance(source, pd.DataFrame)
        try:
            return pa.Table.from_pandas(source, preserve_index=None)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise _frame_mixed_types(source, exc) from None
    raise DatasetSourceError(
        "dataset source: expected a path, a pandas or polars DataFrame or a pyarrow Table, "
        f"got {type(source).__module__}.{type(source).__name__}"
    )


def _frame_mixed_types(frame: Any, exc: Exception) -> Exception:
    for column in frame.columns:
        try:
            pa.array(frame[column], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            values = frame[column].dropna()
            kinds: dict[str, Any] = {}
            for value in values:
                kinds.setdefault(type(value).__name__, value)
            shown = ", ".join(f"{kind} (e.g. {value!r})" for kind, value in list(kinds.items())[:4])
            return MixedTypes(
                f"DataFrame column {column!r} holds values of several types: {shown}. "
                f"Convert it to one type first, e.g. df[{column!r}].astype(str)"
            )
    return DatasetSourceError(f"DataFrame cannot be converted to Arrow: {exc}")


def index_columns(schema: pa.Schema) -> set[str]:
    """Columns that hold a pandas index (stored to round-trip the frame, not data)."""
    metadata = schema.pandas_metadata or {}
    return {c for c in metadata.get("index_columns", []) if isinstance(c, str)}


def table_to_parquet(table: pa.Table) -> bytes:
    """Parquet bytes that depend only on the table's content (and the Parquet writer version).

    The pandas metadata block records the versions of pandas and pyarrow that
    wrote it; those are dropped so that equal frames give equal digests.
    """
    metadata = dict(table.schema.metadata or {})
    if b"pandas" in metadata:
        document = orjson.loads(metadata[b"pandas"])
        document.pop("creator", None)
        document.pop("pandas_version", None)
        metadata[b"pandas"] = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    table = table.replace_schema_metadata(metadata or None)
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        row_group_size=_PARQUET_ROW_GROUP,
        use_dictionary=True,
        write_statistics=True,
    )
    return sink.getvalue()
