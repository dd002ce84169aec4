"""A served variant: one loaded model version, its micro-batcher, and what a batch does.

``ServedVariant.run_batch`` runs on a worker thread for one micro-batch:
validate the rows against the model signature (once for the whole batch; a
request that fails is re-checked alone so that only it gets the 422, with row
numbers of its own), predict once (with probabilities for classifiers, through
``LoadedModel.predict_with_proba``: one model pass where the predictions are the
argmax of the probabilities), split the results per request, and hand the batch
to the prediction log in one piece.
A model that raises on a batch of several requests is retried per request, so
one poisonous request fails alone.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from ladder.errors import SignatureMismatch, SignatureProblem
from ladder.ids import new_id
from ladder.registry import LoadedModel, Signature
from ladder.serving.batching import BatchLimits, MicroBatcher
from ladder.serving.metrics import ServingMetrics
from ladder.serving.prediction_log import FailedRequest, LogChunk, PredictionLogWriter
from ladder.serving.protocols import TableInput

log = logging.getLogger("ladder.serving")


class ModelFailed(Exception):
    """A model raised while predicting; ``error_id`` is in the server log next to the traceback."""

    def __init__(self, error_id: str, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.error_id = error_id
        self.cause = cause


@dataclass
class PendingRequest:
    """One request queued for a variant."""

    table: TableInput
    request_ids: list[str]  # one per row
    arrival_us: int  # wall clock, for the log
    arrival: float  # perf_counter, for latency


@dataclass
class Prediction:
    """One request's share of a batch's output."""

    predictions: np.ndarray
    proba: np.ndarray | None
    batch_rows: int


@dataclass
class ServedVariant:
    """A variant of the current route table and the model version answering for it."""

    name: str
    spec: str  # the model URI of the policy (may be an alias)
    model: LoadedModel
    deployment: str
    metrics: ServingMetrics
    writer: PredictionLogWriter | None
    batcher: MicroBatcher[PendingRequest, Prediction] = field(init=False)
    executor: Executor | None = None
    limits: BatchLimits = field(default_factory=BatchLimits)
    probabilities: bool = True  # call predict_proba too (for classifiers that have it)

    def __post_init__(self) -> None:
        assert self.executor is not None
        self.with_proba = self.probabilities and self.model.has_proba
        self.batcher = MicroBatcher(self.run_batch, self.executor, self.limits)
        version = self.model.version
        labels = (self.deployment, self.name, version.name, str(version.version))
        self._latency = self.metrics.latency.labels(*labels)
        self._batch_rows = self.metrics.batch_size.labels(*labels)
        self.labels = labels
        signature = self.model.signature
        self._columns = tuple(signature.columns) if signature is not None else None
        # One column index for every frame: pandas builds an index's lookup table on first
        # use (scikit-learn's input checks use it), so a fresh one per batch costs that again.
        self._column_index = pd.Index(self._columns) if self._columns is not None else None
        self._column_set = frozenset(self._columns) if self._columns is not None else None
        self._float_columns = (
            [s.name for s in signature.inputs if s.type == "float"] if signature else []
        )
        # Every column a float64: rows of plain JSON numbers become one NumPy block directly.
        self._all_float64 = bool(
            signature is not None
            and signature.inputs
            and all(s.type == "float" and s.dtype == "float64" for s in signature.inputs)
        )
        self._numeric_schema = (
            (self._columns, ("float64",) * len(self._columns))
            if self._all_float64 and self._columns is not None
            else None
        )

    @property
    def model_name(self) -> str:
        return self.model.version.name

    @property
    def version(self) -> int:
        return self.model.version.version

    @property
    def uri(self) -> str:
        return self.model.version.uri

    @property
    def classes(self) -> list[Any] | None:
        classes = self.model.classes
        return list(classes) if classes is not None and self.with_proba else None

    def observe_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    # -- the batch, on a worker thread ---------------------------------------------------------
    def run_batch(self, items: Sequence[PendingRequest]) -> list[Prediction | BaseException]:
        results: list[Prediction | BaseException | None] = [None] * len(items)
        regular: list[int] = []
        for position, item in enumerate(items):
            if item.table.may_be_non_finite or not self._fits(item.table):
                # Checked alone: its errors must carry its own row numbers.
                try:
                    self._prepare([item])
                    regular.append(position)
                except SignatureMismatch as exc:
                    results[position] = exc
            else:
                regular.append(position)
        if regular:
            batch = [items[p] for p in regular]
            for position, result in zip(regular, self._predict(batch), strict=True):
                results[position] = result
        assert all(r is not None for r in results), "every request of a batch gets a result"
        return cast(list[Prediction | BaseException], results)

    def _fits(self, table: TableInput) -> bool:
        """True when a request has exactly the signature's columns (the batchable case)."""
        if self._column_set is None:
            return True
        return table.columns.keys() == self._column_set

    def _prepare(self, items: Sequence[PendingRequest]) -> pd.DataFrame:
        """Validate and cast the rows of ``items`` as one frame (rows renumbered from 0)."""
        if self._all_float64:
            frame = self._numeric_block(items)
            if frame is not None:
                return frame
        if len(items) == 1:
            columns = items[0].table.columns
        else:
            names = self._columns or tuple(items[0].table.columns)
            columns = {}
            for name in names:
                values: list[Any] = []
                for item in items:
                    values.extend(item.table.columns.get(name) or [None] * item.table.rows)
                columns[name] = values
        infinite = (
            _infinities(columns, self._float_columns)
            if any(item.table.may_be_non_finite for item in items)
            else []
        )
        try:
            frame = self.model.prepare(pd.DataFrame(columns))
        except SignatureMismatch as exc:
            if not infinite:
                raise
            raise SignatureMismatch(
                f"{exc}; {_describe(infinite)}", [*exc.problems, *infinite]
            ) from None
        if infinite:
            raise SignatureMismatch(
                f"input does not match the model signature: {_describe(infinite)}", infinite
            )
        return frame

    def _numeric_block(self, items: Sequence[PendingRequest]) -> pd.DataFrame | None:
        """The frame ``Signature.validate`` would return, built in one step, when every value
        is a plain JSON number (the common case); None sends the rows through ``validate``,
        which also words the errors.

        Booleans, nulls, text and NaN/inf (``may_be_non_finite``) never take this path.
        """
        assert self._columns is not None
        if any(item.table.may_be_non_finite or not self._fits(item.table) for item in items):
            return None  # NaN/inf, or missing or extra columns: validate words the problems
        numbers = {float, int}
        matrix: list[list[Any]] = []
        for name in self._columns:
            values: list[Any] = []
            for item in items:
                column = item.table.columns.get(name)
                if column is None:
                    return None
                values.extend(column)
            if not {type(v) for v in values} <= numbers:
                return None
            matrix.append(values)
        block = np.array(matrix, dtype=np.float64)
        return pd.DataFrame(block.T, columns=self._column_index)

    def _predict(self, items: Sequence[PendingRequest]) -> list[Prediction | BaseException]:
        try:
            frame = self._prepare(items)
        except SignatureMismatch:
            if len(items) == 1:
                raise
            return self._one_by_one(items)
        try:
            predictions, proba = self._outputs(frame)
        except Exception as exc:
            if len(items) > 1:
                return self._one_by_one(items)
            error_id = new_id()
            log.error(
                "model %s (variant %s) failed on request %s [error id %s]",
                self.uri,
                self.name,
                items[0].request_ids[0],
                error_id,
                exc_info=exc,
            )
            if self.writer is not None:
                self.writer.append_failed(
                    [
                        FailedRequest(
                            request_id,
                            item.arrival_us,
                            self.name,
                            self.model_name,
                            self.version,
                            error_id,
                        )
                        for item in items
                        for request_id in item.request_ids
                    ]
                )
            return [ModelFailed(error_id, exc)]
        done = time.perf_counter()
        rows = len(frame)
        self._batch_rows.observe(rows)
        results: list[Prediction | BaseException] = []
        offset = 0
        for item in items:
            end = offset + item.table.rows
            results.append(
                Prediction(
                    predictions[offset:end],
                    proba[offset:end] if proba is not None else None,
                    rows,
                )
            )
            offset = end
        if self.writer is not None:
            self.writer.append(self._chunk(items, frame, predictions, proba, done))
        return results

    def _outputs(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions, and probabilities when asked for (one model pass where the registry
        can derive the predictions from them)."""
        if self.with_proba:
            predictions, proba = self.model.predict_with_proba(frame, validate=False)
            return np.asarray(predictions), np.asarray(proba)
        return np.asarray(self.model.predict(frame, validate=False)), None

    def _one_by_one(self, items: Sequence[PendingRequest]) -> list[Prediction | BaseException]:
        results: list[Prediction | BaseException] = []
        for item in items:
            try:
                results.extend(self._predict([item]))
            except SignatureMismatch as exc:
                results.append(exc)
        return results

    def _chunk(
        self,
        items: Sequence[PendingRequest],
        frame: pd.DataFrame,
        predictions: np.ndarray,
        proba: np.ndarray | None,
        done: float,
    ) -> LogChunk:
        ids: list[str] = []
        stamps: list[int] = []
        latency: list[float] = []
        numeric = self._numeric_schema is not None and frame.columns is self._column_index
        for item in items:
            ids.extend(item.request_ids)
            stamps.extend([item.arrival_us] * item.table.rows)
            latency.extend([(done - item.arrival) * 1000] * item.table.rows)
        return LogChunk(
            request_ids=ids,
            timestamps_us=stamps,
            latency_ms=latency,
            variant=self.name,
            model=self.model_name,
            model_version=self.version,
            # A frame from _numeric_block (the only one on this index, all float64) is logged
            # as its array: a buffer of thousands of frames slows the garbage collector down.
            inputs=frame.to_numpy() if numeric else frame,
            predictions=predictions,
            proba=proba,
            classes=self.model.classes if proba is not None else None,
            input_schema=self._numeric_schema if numeric else None,
        )

    # -- warming ------------------------------------------------------------------------------
    def warm(self) -> None:
        """Run the model once on a made-up row so the first real request pays no first-call cost."""
        signature = self.model.signature
        if signature is None:
            return
        try:
            self._outputs(self.model.prepare(warmup_row(signature)))
        except Exception as exc:  # a model may refuse made-up values; real traffic decides
            log.warning("warm-up of %s (variant %s) failed: %s", self.uri, self.name, exc)


def warmup_row(signature: Signature) -> pd.DataFrame:
    """One row of plausible values for every signature column."""
    values: dict[str, Any] = {}
    for spec in signature.inputs:
        if spec.type == "float":
            values[spec.name] = [0.0]
        elif spec.type == "integer":
            values[spec.name] = [0]
        elif spec.type == "boolean":
            values[spec.name] = [False]
        elif spec.type == "category":
            values[spec.name] = [spec.categories[0] if spec.categories else None]
        elif spec.type == "datetime":
            values[spec.name] = ["2000-01-01T00:00:00"]
        elif spec.type == "string":
            values[spec.name] = [""]
        else:
            values[spec.name] = [None]
    return pd.DataFrame(values)


def _infinities(
    columns: dict[str, list[Any]], float_columns: Sequence[str]
) -> list[SignatureProblem]:
    """±inf passes a float signature but breaks most models: one problem per row and column."""
    problems: list[SignatureProblem] = []
    for name in float_columns:
        for row, value in enumerate(columns.get(name) or ()):
            if isinstance(value, float) and math.isinf(value):
                problems.append(
                    SignatureProblem(
                        name, "a finite number", f"float {value!r}", "not a finite number", row=row
                    )
                )
    return problems


def _describe(problems: Sequence[SignatureProblem]) -> str:
    where = ", ".join(f"row {p.row} column {p.column!r}" for p in problems[:10])
    more = f" and {len(problems) - 10} more" if len(problems) > 10 else ""
    return f"infinite values at {where}{more} (expected a finite number)"
