"""The prediction log: every served prediction as rows of Parquet parts in the artifact store.

Writing. The server hands each predicted micro-batch to ``PredictionLogWriter``
as one ``LogChunk`` (an O(1) append on the request path). A background thread
turns the buffered chunks into one Arrow table and writes it as a Parquet part
every ``flush_rows`` rows or ``flush_seconds`` seconds, and on shutdown. A part
is stored content-addressed (``put_bytes``: a temporary file renamed into place,
or one PUT on S3) and only then indexed in ``prediction_log_parts``, so a crash
loses at most the unflushed buffer and never leaves a half-written part behind.

Reading. ``predictions(deployment, since=...)`` selects parts from the index by
deployment and time window (no folder listing; parts whose newest row is older
than ``since`` are never fetched), reads them with pyarrow, and joins the
labels log on ``request_id`` (the latest label of each id wins).

Labels. ``log_labels(ids, labels)`` (and ``POST /labels``) write label parts
the same way. Ids not (yet) in the log are counted and returned; their labels
are kept and join as soon as the predictions are there.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from ladder.errors import InvalidValue
from ladder.ids import id_time_ms, new_id
from ladder.serving.models import PredictionLogPartRow
from ladder.workspace import Workspace, open_workspace

log = logging.getLogger("ladder.serving")

PREDICTIONS = "predictions"
LABELS = "labels"
ERRORS = "errors"  # requests a model failed on: what canary error rates are computed from
REJECTED = "rejected"  # inputs refused by signature validation: monitors count them per window
ANY_DEPLOYMENT = ""  # labels logged without a deployment join with every deployment
BASE_COLUMNS = (
    "request_id",
    "timestamp",
    "deployment",
    "variant",
    "model",
    "model_version",
    "latency_ms",
)
INPUT_PREFIX = "input."
PROBA_PREFIX = "proba."
_ULID = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}")
_ID_SLACK_MS = 60_000  # clock skew allowed between the id's time and the logged timestamp
_TS_TYPE = pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class LogChunk:
    """The log rows of one predicted micro-batch (one row per input row).

    ``inputs`` are the validated inputs in signature columns: a DataFrame, or a float64
    array (rows × columns) whose columns ``input_schema`` names. A buffer holds thousands
    of chunks and the garbage collector walks each of their objects on every full pass:
    an array is one untracked object, a one-row DataFrame a dozen tracked ones.
    """

    request_ids: list[str]
    timestamps_us: list[int]  # arrival time of each row's request
    latency_ms: list[float]  # arrival → prediction ready, per row
    variant: str
    model: str
    model_version: int
    inputs: pd.DataFrame | np.ndarray
    predictions: np.ndarray
    proba: np.ndarray | None = None
    classes: tuple[Any, ...] | None = None
    # (column names, dtype names) of ``inputs`` when the producer knows them already:
    # inspecting a frame's dtypes costs tens of microseconds, per chunk, in the flush.
    input_schema: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.inputs, np.ndarray):
            schema = self.input_schema
            if (
                schema is None
                or self.inputs.dtype != np.float64
                or self.inputs.shape != (len(self.request_ids), len(schema[0]))
                or any(dtype != "float64" for dtype in schema[1])
            ):
                raise ValueError(
                    "LogChunk inputs: expected a DataFrame, or a float64 array of "
                    f"{len(self.request_ids)} rows with input_schema naming its float64 "
                    f"columns; given a {self.inputs.dtype} array of shape {self.inputs.shape} "
                    f"and input_schema {schema!r}"
                )

    def __len__(self) -> int:
        return len(self.request_ids)

    @property
    def schema(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(column names, dtype names) of the inputs."""
        if self.input_schema is not None:
            return self.input_schema
        assert isinstance(self.inputs, pd.DataFrame)
        return tuple(self.inputs.columns), tuple(str(t) for t in self.inputs.dtypes)


@dataclass(frozen=True)
class FailedRequest:
    """A request the model raised on (the client got a 500 with ``error_id``)."""

    request_id: str
    timestamp_us: int
    variant: str
    model: str
    model_version: int
    error_id: str


def errors_table(failed: Sequence[FailedRequest], deployment: str) -> pa.Table:
    return _records_table(failed, deployment, error_id=pa.string())


def _records_table(records: Sequence[Any], deployment: str, **extra: pa.DataType) -> pa.Table:
    """A side log's rows (failures, refusals): the common request columns, then ``extra``."""
    columns = {
        "request_id": pa.array([r.request_id for r in records], pa.string()),
        "timestamp": pa.array([r.timestamp_us for r in records], pa.int64()).cast(_TS_TYPE),
        "deployment": pa.array([deployment] * len(records), pa.string()),
        "variant": pa.array([r.variant for r in records], pa.string()),
        "model": pa.array([r.model for r in records], pa.string()),
        "model_version": pa.array([r.model_version for r in records], pa.int64()),
    }
    for name, kind in extra.items():
        columns[name] = pa.array([getattr(r, name) for r in records], kind)
    return pa.table(columns)


@dataclass(frozen=True)
class RejectedInput:
    """One reason a request's input was refused by the signature (the client got a 422)."""

    request_id: str
    timestamp_us: int
    variant: str
    model: str
    model_version: int
    column: str
    reason: str


def rejected_table(rejected: Sequence[RejectedInput], deployment: str) -> pa.Table:
    return _records_table(rejected, deployment, column=pa.string(), reason=pa.string())


def _group_key(chunk: LogChunk) -> tuple[Any, ...]:
    return (
        chunk.variant,
        chunk.model,
        chunk.model_version,
        chunk.schema,
        chunk.classes if chunk.proba is not None else None,
        chunk.predictions.dtype.str,
    )


def chunks_table(chunks: Sequence[LogChunk], deployment: str) -> pa.Table:
    """The Arrow rows of many chunks, in the prediction log's column layout.

    Consecutive chunks of one variant and model version are concatenated as
    NumPy arrays first, so that a part of thousands of single-row requests costs
    one Arrow array per column, not one per request.
    """
    tables = []
    start = 0
    while start < len(chunks):
        key = _group_key(chunks[start])
        end = start + 1
        while end < len(chunks) and _group_key(chunks[end]) == key:
            end += 1
        tables.append(_group_table(chunks[start:end], deployment))
        start = end
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _group_table(group: Sequence[LogChunk], deployment: str) -> pa.Table:
    first = group[0]
    rows = sum(len(c) for c in group)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array([r for c in group for r in c.request_ids], pa.string()),
        "timestamp": pa.array([t for c in group for t in c.timestamps_us], pa.int64()).cast(
            _TS_TYPE
        ),
        "deployment": pa.array([deployment] * rows, pa.string()),
        "variant": pa.array([first.variant] * rows, pa.string()),
        "model": pa.array([first.model] * rows, pa.string()),
        "model_version": pa.array([first.model_version] * rows, pa.int64()),
        "latency_ms": pa.array([x for c in group for x in c.latency_ms], pa.float64()),
    }
    names, dtypes = first.schema
    if names and all(dtype == "float64" for dtype in dtypes):
        block = np.concatenate([_float_block(c.inputs) for c in group])
        for position, name in enumerate(names):
            columns[f"{INPUT_PREFIX}{name}"] = pa.array(block[:, position], pa.float64())
    else:  # not all float64: every chunk's inputs are a DataFrame (see LogChunk)
        frames = [c.inputs for c in group if isinstance(c.inputs, pd.DataFrame)]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames)
        for name in names:
            series = frame[name]
            if isinstance(series.dtype, pd.CategoricalDtype):
                series = series.astype(object)
            columns[f"{INPUT_PREFIX}{name}"] = pa.Array.from_pandas(series.reset_index(drop=True))
    columns["prediction"] = _array(np.concatenate([c.predictions for c in group]))
    if first.proba is not None and first.classes is not None:
        proba = np.concatenate([np.asarray(c.proba, dtype="float64") for c in group])
        for position, label in enumerate(first.classes):
            columns[f"{PROBA_PREFIX}{label}"] = pa.array(proba[:, position], pa.float64())
    return pa.table(columns)


def _float_block(inputs: pd.DataFrame | np.ndarray) -> np.ndarray:
    return inputs if isinstance(inputs, np.ndarray) else inputs.to_numpy(dtype="float64")


def _array(values: np.ndarray) -> pa.Array:
    if values.ndim > 1:  # multi-output models: one list per row
        return pa.array(values.tolist())
    if values.dtype == object:
        return pa.array(values.tolist())
    return pa.array(values)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _part_path(kind: str, deployment: str, min_ts: int, part_id: str) -> str:
    """A logical, time-partitioned name kept in the index (for people and exports)."""
    moment = datetime.fromtimestamp(min_ts / 1000, tz=timezone.utc)
    return f"{kind}/{deployment or '_'}/date={moment:%Y-%m-%d}/hour={moment:%H}/{part_id}.parquet"


def write_part(ws: Workspace, deployment: str, kind: str, table: pa.Table) -> str:
    """Store ``table`` as one Parquet part and index it; return the part's digest."""
    micros = pc.min_max(table.column("timestamp").cast(pa.int64()))
    min_ts = int(micros["min"].as_py()) // 1000
    max_ts = int(micros["max"].as_py()) // 1000
    stored = ws.artifacts.put_bytes(_parquet_bytes(table))
    part_id = new_id()
    row = {
        "id": part_id,
        "project": ws.project,
        "deployment": deployment,
        "kind": kind,
        "path": _part_path(kind, deployment, min_ts, part_id),
        "digest": stored.digest,
        "rows": table.num_rows,
        "min_ts": min_ts,
        "max_ts": max_ts,
        "created": int(time.time() * 1000),
    }

    def work(session: Session) -> None:
        if session.get(PredictionLogPartRow, part_id) is None:  # safe to re-run on retry
            session.add(PredictionLogPartRow(**row))

    ws.store.write(work)
    return stored.digest


@dataclass
class WriterStats:
    rows_written: int = 0
    parts_written: int = 0
    rows_dropped: int = 0
    last_error: str | None = None


class PredictionLogWriter:
    """Buffers log chunks in memory and writes them as Parquet parts from a background thread."""

    def __init__(
        self,
        workspace: Workspace,
        deployment: str,
        *,
        flush_rows: int = 10_000,
        flush_seconds: float = 5.0,
        max_buffered_rows: int = 1_000_000,
        on_written: Callable[[int], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.deployment = deployment
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.max_buffered_rows = max_buffered_rows
        self.stats = WriterStats()
        self._on_written = on_written
        self._chunks: list[LogChunk] = []
        self._failed: list[FailedRequest] = []
        self._rejected: list[RejectedInput] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name="ladder-prediction-log", daemon=True
        )
        self._thread.start()

    def append(self, chunk: LogChunk) -> None:
        """Buffer one chunk (called on the request path: no I/O)."""
        with self._lock:
            self._chunks.append(chunk)
            self._rows += len(chunk)
            full = self._rows >= self.flush_rows
        if full:
            self._wake.set()

    def append_failed(self, failed: Sequence[FailedRequest]) -> None:
        """Buffer requests the model failed on (written with the next flush)."""
        with self._lock:
            self._failed.extend(failed)
        self._wake.set()

    def append_rejected(self, rejected: Sequence[RejectedInput]) -> None:
        """Buffer inputs refused by validation (written with the next flush, no I/O here)."""
        with self._lock:
            self._rejected.extend(rejected)
            overflow = len(self._rejected) - self.max_buffered_rows
            if overflow > 0:  # a flood of bad input while the store is down: keep the newest
                del self._rejected[:overflow]

    @property
    def buffered_rows(self) -> int:
        return self._rows

    def buffered_request_ids(self) -> set[str]:
        with self._lock:
            return {rid for chunk in self._chunks for rid in chunk.request_ids}

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the writer must outlive a store outage; it retries next time
                log.exception("prediction log flush failed; will retry")

    def flush(self) -> int:
        """Write everything buffered now as one part; return the rows written."""
        with self._flush_lock:
            with self._lock:
                chunks, self._chunks, self._rows = self._chunks, [], 0
                failed, self._failed = self._failed, []
                rejected, self._rejected = self._rejected, []
            try:
                if failed:
                    table = errors_table(failed, self.deployment)
                    write_part(self.workspace, self.deployment, ERRORS, table)
                    failed = []
                if rejected:
                    table = rejected_table(rejected, self.deployment)
                    write_part(self.workspace, self.deployment, REJECTED, table)
            except Exception:
                with self._lock:  # what was not written goes back, ahead of newer entries
                    self._failed[:0] = failed
                    self._rejected[:0] = rejected
                self._requeue(chunks)
                raise
            if not chunks:
                return 0
            try:
                table = chunks_table(chunks, self.deployment)
                write_part(self.workspace, self.deployment, PREDICTIONS, table)
            except Exception as exc:
                self._requeue(chunks)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                raise
            self.stats.rows_written += table.num_rows
            self.stats.parts_written += 1
            self.stats.last_error = None
            if self._on_written is not None:
                self._on_written(table.num_rows)
            return int(table.num_rows)

    def _requeue(self, chunks: list[LogChunk]) -> None:
        with self._lock:
            self._chunks = chunks + self._chunks
            self._rows = sum(len(c) for c in self._chunks)
            while self._rows > self.max_buffered_rows and len(self._chunks) > 1:
                dropped = self._chunks.pop(0)  # oldest first: memory stays bounded in an outage
                self._rows -= len(dropped)
                self.stats.rows_dropped += len(dropped)

    def close(self) -> None:
        """Stop the thread and write what is left (server shutdown)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        self.flush()


# -- reading ----------------------------------------------------------------------------------


def _to_utc(value: datetime | str | pd.Timestamp | timedelta | None) -> pd.Timestamp | None:
    """A bound as a UTC timestamp; a timedelta means that long before now; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return pd.Timestamp.now(tz="UTC") - value
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InvalidValue(
            f"time bound {value!r}: expected a datetime, an ISO 8601 string or a timedelta"
        ) from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _parts(
    ws: Workspace,
    deployments: Sequence[str] | None,
    kind: str,
    since_ms: int | None,
    until_ms: int | None,
) -> list[str]:
    query = select(PredictionLogPartRow.digest).where(
        PredictionLogPartRow.project == ws.project, PredictionLogPartRow.kind == kind
    )
    if deployments is not None:
        query = query.where(PredictionLogPartRow.deployment.in_(list(deployments)))
    if since_ms is not None:
        query = query.where(PredictionLogPartRow.max_ts >= since_ms)
    if until_ms is not None:
        query = query.where(PredictionLogPartRow.min_ts <= until_ms)
    with ws.store.read() as session:
        return list(session.scalars(query.order_by(PredictionLogPartRow.min_ts)).all())


def _read_parts(
    ws: Workspace, digests: Sequence[str], columns: list[str] | None = None
) -> pa.Table | None:
    if not digests:
        return None

    def read(digest: str) -> pa.Table:
        return pq.read_table(io.BytesIO(ws.artifacts.get_bytes(digest)), columns=columns)

    if len(digests) == 1:
        tables = [read(digests[0])]
    else:
        with ThreadPoolExecutor(max_workers=min(8, len(digests))) as pool:
            tables = list(pool.map(read, digests))
    return _concat(tables)


def _concat(tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # A column whose type changed between parts (a model returning ints, then strings):
        # fall back to text for the columns that disagree rather than refusing to read.
        names = {name for t in tables for name in t.column_names}
        conflicting = {
            name
            for name in names
            if len({str(t.schema.field(name).type) for t in tables if name in t.column_names}) > 1
        }
        fixed = []
        for table in tables:
            for name in conflicting & set(table.column_names):
                index = table.column_names.index(name)
                table = table.set_column(index, name, pc.cast(table.column(name), pa.string()))
            fixed.append(table)
        return pa.concat_tables(fixed, promote_options="permissive")


def predictions(
    deployment: str,
    since: datetime | str | pd.Timestamp | timedelta | None = None,
    until: datetime | str | pd.Timestamp | timedelta | None = None,
    variant: str | None = None,
    workspace: Workspace | None = None,
) -> pd.DataFrame:
    """The logged predictions of ``deployment`` with their labels, oldest first.

    Columns: ``request_id``, ``timestamp`` (UTC), ``deployment``, ``variant``, ``model``,
    ``model_version``, ``latency_ms``, ``input.<feature>`` per feature, ``prediction``,
    ``proba.<class>`` for classifiers with probabilities, and ``label`` (None until a
    label arrives). ``since``/``until`` take datetimes (naive = UTC), ISO strings, or a
    timedelta meaning "that long ago".
    """
    ws = workspace or open_workspace()
    table, since_ms = _read_window(ws, deployment, PREDICTIONS, since, until, variant)
    if table is None:
        return _empty_frame()
    frame = table.to_pandas()
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    labels = _latest_labels(ws, deployment, since_ms)
    if len(labels):
        frame["label"] = frame["request_id"].map(labels)
    else:
        frame["label"] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame.reset_index(drop=True)


def failed_requests(
    deployment: str,
    since: datetime | str | pd.Timestamp | timedelta | None = None,
    variant: str | None = None,
    workspace: Workspace | None = None,
) -> pd.DataFrame:
    """Requests of ``deployment`` that a model failed on: ``request_id``, ``timestamp``,
    ``variant``, ``model``, ``model_version``, ``error_id`` (oldest first)."""
    return _read_records(workspace, deployment, ERRORS, ["error_id"], since, None, variant)


def rejected_inputs(
    deployment: str,
    since: datetime | str | pd.Timestamp | timedelta | None = None,
    until: datetime | str | pd.Timestamp | timedelta | None = None,
    variant: str | None = None,
    workspace: Workspace | None = None,
) -> pd.DataFrame:
    """Inputs of ``deployment`` refused by signature validation (HTTP 422), one row per request
    and reason: ``request_id``, ``timestamp``, ``variant``, ``model``, ``model_version``,
    ``column``, ``reason`` (oldest first)."""
    return _read_records(
        workspace, deployment, REJECTED, ["column", "reason"], since, until, variant
    )


def _read_records(
    workspace: Workspace | None,
    deployment: str,
    kind: str,
    extra: list[str],
    since: datetime | str | pd.Timestamp | timedelta | None,
    until: datetime | str | pd.Timestamp | timedelta | None,
    variant: str | None,
) -> pd.DataFrame:
    """A side log (``errors``, ``rejected``) of one deployment, filtered, oldest first."""
    table, _ = _read_window(workspace or open_workspace(), deployment, kind, since, until, variant)
    columns = ["request_id", "timestamp", "variant", "model", "model_version", *extra]
    if table is None:
        empty = {name: pd.Series(dtype=object) for name in columns}
        empty["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
        return pd.DataFrame(empty)
    frame = table.select(columns).to_pandas()
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame


def _read_window(
    ws: Workspace,
    deployment: str,
    kind: str,
    since: datetime | str | pd.Timestamp | timedelta | None,
    until: datetime | str | pd.Timestamp | timedelta | None,
    variant: str | None,
) -> tuple[pa.Table | None, int | None]:
    """The rows of one log of ``deployment`` between ``since`` and ``until`` (of ``variant``),
    oldest first, and ``since`` in epoch milliseconds."""
    start, end = _to_utc(since), _to_utc(until)
    since_ms = int(start.value // 1_000_000) if start is not None else None
    until_ms = int(end.value // 1_000_000) if end is not None else None
    table = _read_parts(ws, _parts(ws, [deployment], kind, since_ms, until_ms))
    if table is None:
        return None, since_ms
    mask = None
    if start is not None:
        mask = pc.greater_equal(
            table.column("timestamp"), pa.scalar(start.to_pydatetime(), _TS_TYPE)
        )
    if end is not None:
        upper = pc.less_equal(table.column("timestamp"), pa.scalar(end.to_pydatetime(), _TS_TYPE))
        mask = upper if mask is None else pc.and_(mask, upper)
    if variant is not None:
        chosen = pc.equal(table.column("variant"), variant)
        mask = chosen if mask is None else pc.and_(mask, chosen)
    if mask is not None:
        table = table.filter(mask)
    return table.sort_by([("timestamp", "ascending")]), since_ms


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": pd.Series([], dtype=object),
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "deployment": pd.Series([], dtype=object),
            "variant": pd.Series([], dtype=object),
            "model": pd.Series([], dtype=object),
            "model_version": pd.Series([], dtype="int64"),
            "latency_ms": pd.Series([], dtype="float64"),
            "prediction": pd.Series([], dtype=object),
            "label": pd.Series([], dtype=object),
        }
    )


def _latest_labels(ws: Workspace, deployment: str, since_ms: int | None) -> pd.Series:
    """request_id → latest label, for labels logged at or after ``since`` (labels come later)."""
    table = _read_parts(ws, _parts(ws, [deployment, ANY_DEPLOYMENT], LABELS, since_ms, None))
    if table is None or table.num_rows == 0:
        return pd.Series([], dtype=object)
    frame = table.to_pandas().sort_values("timestamp", kind="stable")
    latest = frame.drop_duplicates("request_id", keep="last")
    return pd.Series(latest["label"].to_numpy(), index=latest["request_id"].to_numpy())


@dataclass(frozen=True)
class LabelReceipt:
    """What ``log_labels`` stored: how many labels, and the ids not (yet) in the prediction log."""

    stored: int
    unknown: int
    unknown_ids: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "unknown": self.unknown,
            "unknown_ids": list(self.unknown_ids),
        }


MAX_UNKNOWN_LISTED = 100


def check_labels(request_ids: Sequence[Any], labels: Sequence[Any]) -> tuple[list[str], list[Any]]:
    """Validate a labels batch: equal lengths, string ids, scalar non-null labels."""
    if isinstance(request_ids, (str, bytes)) or isinstance(labels, (str, bytes)):
        raise InvalidValue("labels: request_ids and labels must be lists, not single strings")
    ids, values = list(request_ids), list(labels)
    if len(ids) != len(values):
        raise InvalidValue(
            f"labels: expected one label per request id, given {len(ids)} ids and "
            f"{len(values)} labels"
        )
    if not ids:
        raise InvalidValue("labels: expected at least one (request_id, label) pair, given none")
    for position, rid in enumerate(ids):
        if not isinstance(rid, str) or not rid:
            raise InvalidValue(
                f"labels: request_ids[{position}]: expected a non-empty string, given {rid!r}"
            )
    for position, value in enumerate(values):
        if isinstance(value, np.generic):
            value = values[position] = value.item()
        ok = isinstance(value, (bool, int, str)) or (
            isinstance(value, float) and math.isfinite(value)
        )
        if not ok:
            raise InvalidValue(
                f"labels: labels[{position}] (request {ids[position]!r}): expected a number, "
                f"string or boolean, given {value!r}"
            )
    return ids, values


def log_labels(
    request_ids: Sequence[str],
    labels: Sequence[Any],
    deployment: str | None = None,
    workspace: Workspace | None = None,
    *,
    also_known: Callable[[], Iterable[str]] | None = None,
) -> LabelReceipt:
    """Append ground-truth ``labels`` for ``request_ids`` to the labels log.

    Labels join ``predictions()`` by request id on read; logging a label again
    replaces it (the latest wins). Ids that are not in the prediction log are
    stored anyway, counted, and listed (the first 100) in the receipt.
    """
    ws = workspace or open_workspace()
    ids, values = check_labels(request_ids, labels)
    now_us = time.time_ns() // 1000
    try:
        label_array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        raise InvalidValue(
            "labels: all labels of one call must be of one kind (numbers, strings or booleans)"
        ) from None
    table = pa.table(
        {
            "request_id": pa.array(ids, pa.string()),
            "label": label_array,
            "timestamp": pa.array([now_us] * len(ids), pa.int64()).cast(_TS_TYPE),
        }
    )
    write_part(ws, deployment or ANY_DEPLOYMENT, LABELS, table)
    known = _known_request_ids(ws, deployment, ids)
    if also_known is not None:
        known |= set(also_known()) & set(ids)
    unknown = [rid for rid in dict.fromkeys(ids) if rid not in known]
    return LabelReceipt(len(ids), len(unknown), tuple(unknown[:MAX_UNKNOWN_LISTED]))


def _known_request_ids(ws: Workspace, deployment: str | None, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` present in the prediction log.

    Ladder's request ids are time-sortable, so only parts around their times are
    read (the ``request_id`` column only); foreign ids make it read every part.
    """
    times = [id_time_ms(rid) for rid in ids if _ULID.match(rid)]
    since_ms = until_ms = None
    if len(times) == len(ids):
        since_ms, until_ms = min(times) - _ID_SLACK_MS, max(times) + _ID_SLACK_MS
    deployments = [deployment] if deployment else None
    digests = _parts(ws, deployments, PREDICTIONS, since_ms, until_ms)
    table = _read_parts(ws, digests, columns=["request_id"])
    if table is None:
        return set()
    wanted = pa.array(list(set(ids)), pa.string())
    present = table.column("request_id").filter(pc.is_in(table.column("request_id"), wanted))
    return set(present.to_pylist())
