"""The profile of a tabular version: per-column statistics computed in streaming batches.

Two passes over Arrow record batches, so a file larger than memory can be
profiled:

1. counts, missing values, min / max / mean / std (exact, merged per batch
   with Chan's formula), distinct values (exact up to 10,000, then a
   HyperLogLog estimate, ~0.8 % error), category counts, and the seeded
   reference sample;
2. histogram counts over bin edges fixed from pass 1 (exact), and exact
   counts of the top values of high-cardinality text columns.

When the whole table fits in the reference sample, pass 2 runs on the sample
instead of reading the source again. Quantiles are computed from the sample:
exact when it holds every row, otherwise within about ±0.5 % in rank at the
default 100,000 rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ladder.data.progress import ProgressReporter
from ladder.data.schema import (
    ColumnSchema,
    DatasetSchema,
    column_kind,
    is_datetime_type,
    is_numeric_type,
    is_text_type,
    value_type,
)
from ladder.data.tabular import NUMBER_PATTERN, TableReader, index_columns
from ladder.errors import DatasetSourceError, MixedTypes

PROFILE_FORMAT = "ladder.profile/1"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
TOP_TEXT_VALUES = 20
_EXACT_DISTINCT = 10_000
_HLL_BITS = 14
_CATEGORY_CAP = 20_000
_MIXED_SHARE = 0.5


@dataclass(frozen=True)
class Histogram:
    """Counts of a numeric column's values in bins.

    Bin ``i`` holds values ``edges[i] <= v < edges[i + 1]``; the last bin also
    holds ``v == edges[-1]``. Integer columns spanning fewer than 20 values get
    one bin per integer (edges at ``k ± 0.5``); other columns get 20 bins of
    equal width between the minimum and the maximum.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class CategoryCount:
    """A value of a categorical or text column (as text) and how many rows hold it."""

    value: str
    count: int


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column.

    Attributes:
        name, type, kind: as in the schema (see ``ladder.data.schema``).
        count: values present; ``missing``: nulls, plus NaN in float columns.
        distinct: distinct present values (exact when ``distinct_exact``); None for ``other``.
        min, max, mean, std: over finite values of numeric and datetime columns (datetimes
            in seconds since the Unix epoch); ``std`` is the sample standard deviation.
        infinite: count of ±inf values (excluded from the statistics above).
        quantiles: ``(q, value)`` pairs for q in 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99.
        histogram: bin edges and counts (numeric and datetime columns).
        top_categories: values by descending count (then by value); for categorical
            columns every value when ``categories_complete``, else the top 20.
        categories_complete: ``top_categories`` lists every value seen.
    """

    name: str
    type: str
    kind: str
    count: int
    missing: int
    distinct: int | None = None
    distinct_exact: bool = True
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    infinite: int = 0
    quantiles: tuple[tuple[float, float], ...] = ()
    histogram: Histogram | None = None
    top_categories: tuple[CategoryCount, ...] = ()
    categories_complete: bool = False

    @property
    def rows(self) -> int:
        return self.count + self.missing

    @property
    def missing_fraction(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    def quantile(self, q: float) -> float | None:
        """The stored quantile ``q`` (one of ``QUANTILES``), or None if not computed."""
        for level, value in self.quantiles:
            if math.isclose(level, q):
                return value
        return None

    @property
    def categories(self) -> set[str]:
        return {c.value for c in self.top_categories}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
            "distinct": self.distinct,
            "distinct_exact": self.distinct_exact,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "std": self.std,
            "infinite": self.infinite,
            "quantiles": [list(pair) for pair in self.quantiles],
            "histogram": (
                {"edges": list(self.histogram.edges), "counts": list(self.histogram.counts)}
                if self.histogram
                else None
            ),
            "top_categories": [[c.value, c.count] for c in self.top_categories],
            "categories_complete": self.categories_complete,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnProfile:
        histogram = d.get("histogram")
        return cls(
            name=str(d["name"]),
            type=str(d["type"]),
            kind=str(d["kind"]),
            count=int(d["count"]),
            missing=int(d["missing"]),
            distinct=None if d.get("distinct") is None else int(d["distinct"]),
            distinct_exact=bool(d.get("distinct_exact", True)),
            min=_float_or_none(d.get("min")),
            max=_float_or_none(d.get("max")),
            mean=_float_or_none(d.get("mean")),
            std=_float_or_none(d.get("std")),
            infinite=int(d.get("infinite", 0)),
            quantiles=tuple((float(q), float(v)) for q, v in d.get("quantiles", [])),
            histogram=(
                Histogram(
                    tuple(float(e) for e in histogram["edges"]),
                    tuple(int(c) for c in histogram["counts"]),
                )
                if histogram
                else None
            ),
            top_categories=tuple(CategoryCount(str(v), int(c)) for v, c in d["top_categories"]),
            categories_complete=bool(d.get("categories_complete", False)),
        )


@dataclass(frozen=True)
class DatasetProfile:
    """Statistics of a tabular version: its row count and one ``ColumnProfile`` per column.

    ``sample_rows`` is the size of the reference sample the quantiles come from;
    ``quantiles_exact`` is True when that sample holds every row.
    """

    row_count: int
    columns: tuple[ColumnProfile, ...]
    sample_rows: int = 0
    quantiles_exact: bool = True

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"column {name!r}: not profiled (columns: {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "row_count": self.row_count,
            "sample_rows": self.sample_rows,
            "quantiles_exact": self.quantiles_exact,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DatasetProfile:
        return cls(
            row_count=int(d["row_count"]),
            columns=tuple(ColumnProfile.from_dict(c) for c in d["columns"]),
            sample_rows=int(d.get("sample_rows", 0)),
            quantiles_exact=bool(d.get("quantiles_exact", True)),
        )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


# -- distinct counting ---------------------------------------------------------------------
class DistinctCounter:
    """Exact distinct count of 64-bit hashes up to a limit, then HyperLogLog (2^14 registers)."""

    def __init__(self) -> None:
        self._exact: np.ndarray | None = np.empty(0, dtype=np.uint64)
        self._registers = np.zeros(1 << _HLL_BITS, dtype=np.uint8)

    def add_hashes(self, hashes: np.ndarray) -> None:
        if not len(hashes):
            return
        hashes = hashes.astype(np.uint64, copy=False)
        index = (hashes >> np.uint64(64 - _HLL_BITS)).astype(np.intp)
        rest = (hashes & np.uint64((1 << (64 - _HLL_BITS)) - 1)).astype(np.float64)
        # rank = position of the leftmost 1 in the remaining 50 bits (51 when all are 0)
        _, exponent = np.frexp(rest)
        rank = ((64 - _HLL_BITS) - exponent + 1).astype(np.uint8)
        np.maximum.at(self._registers, index, rank)
        if self._exact is None:
            return
        if self._estimate() > 2 * _EXACT_DISTINCT:
            self._exact = None  # clearly past the exact limit: skip sorting this batch
            return
        merged = np.sort(np.concatenate([self._exact, hashes]))
        keep = np.empty(len(merged), dtype=bool)
        keep[:1] = True
        np.not_equal(merged[1:], merged[:-1], out=keep[1:])
        self._exact = merged[keep]
        if len(self._exact) > _EXACT_DISTINCT:
            self._exact = None

    @property
    def exact(self) -> bool:
        return self._exact is not None

    def count(self) -> int:
        if self._exact is not None:
            return len(self._exact)
        return round(self._estimate())

    def _estimate(self) -> float:
        """HyperLogLog estimate with the small-range (linear counting) correction."""
        m = float(len(self._registers))
        alpha = 0.7213 / (1 + 1.079 / m)
        estimate = alpha * m * m / float(np.sum(np.power(2.0, -self._registers.astype(np.float64))))
        zeros = int(np.count_nonzero(self._registers == 0))
        if estimate <= 2.5 * m and zeros:
            estimate = m * math.log(m / zeros)
        return estimate


def _hash(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.util.hash_array(values, categorize=False))


# -- accumulators --------------------------------------------------------------------------
def numeric_values(array: pa.Array) -> np.ndarray:
    """Present values of a numeric or datetime array as float64 (datetimes in epoch seconds)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    array = pc.drop_null(array)
    t = array.type
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[t.unit]
        return array.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64) / scale
    if pa.types.is_date32(t):
        return array.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.float64) * 86400.0
    if pa.types.is_date64(t):
        return array.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64) / 1e3
    if pa.types.is_decimal(t):
        array = array.cast(pa.float64())
    return array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


@dataclass
class _Column:
    """Running statistics of one column across batches."""

    name: str
    type: pa.DataType
    family: str  # numeric | text | other
    check_mixed: bool
    count: int = 0
    missing: int = 0
    infinite: int = 0
    distinct: DistinctCounter = field(default_factory=DistinctCounter)
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    finite: int = 0
    integral: bool = True
    categories: dict[str, int] = field(default_factory=dict)
    pruned: bool = False
    hll_fed: bool = False
    numeric_text: int = 0
    text_examples: list[str] = field(default_factory=list)
    first_rows: list[int] = field(default_factory=list)
    edges: np.ndarray | None = None
    bins: np.ndarray | None = None

    def update(self, array: pa.Array, row_offset: int) -> None:
        nulls = array.null_count
        if self.family == "numeric":
            values = numeric_values(array)
            nan = np.isnan(values)
            finite_mask = np.isfinite(values)
            self.missing += nulls + int(nan.sum())
            self.infinite += int((~nan & ~finite_mask).sum())
            present = values[~nan]
            self.count += len(present)
            self._moments(values[finite_mask])
            self.distinct.add_hashes(_hash(present))
        elif self.family == "text":
            self.missing += nulls
            self.count += len(array) - nulls
            self._categories(array, row_offset)
        else:
            self.missing += nulls
            self.count += len(array) - nulls

    def _moments(self, finite: np.ndarray) -> None:
        n = len(finite)
        if not n:
            return
        self.minimum = min(self.minimum, float(finite.min()))
        self.maximum = max(self.maximum, float(finite.max()))
        if self.integral and not np.all(np.mod(finite, 1.0) == 0):
            self.integral = False
        batch_mean = float(finite.mean())
        batch_m2 = float(np.square(finite - batch_mean).sum())
        total = self.finite + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.finite * n / total
        self.finite = total

    def _categories(self, array: pa.Array, row_offset: int) -> None:
        counted = pc.value_counts(array)
        values = counted.field("values")
        counts = counted.field("counts").to_numpy(zero_copy_only=False)
        present = values.is_valid().to_numpy(zero_copy_only=False)
        texts = _as_text(values)
        pairs = [(texts[i], int(counts[i])) for i in np.flatnonzero(present)]
        if self.pruned and len(pairs) > 1_000:
            pairs.sort(key=lambda p: -p[1])
            pairs = pairs[:1_000]
        for value, count in pairs:
            self.categories[value] = self.categories.get(value, 0) + count
        if self.hll_fed:
            unique = np.asarray(
                [t for t, ok in zip(texts, present, strict=True) if ok], dtype=object
            )
            self.distinct.add_hashes(_hash(unique))
        elif len(self.categories) > _EXACT_DISTINCT:
            # Too many values to count exactly: from now on estimate, starting from all seen so far.
            self.distinct.add_hashes(_hash(np.asarray(list(self.categories), dtype=object)))
            self.hll_fed = True
        if len(self.categories) > _CATEGORY_CAP:
            ranked = sorted(self.categories.items(), key=lambda p: -p[1])
            self.categories = dict(ranked[: _CATEGORY_CAP // 2])
            self.pruned = True
        if self.check_mixed:
            self._mixed(array, row_offset)

    def _mixed(self, array: pa.Array, row_offset: int) -> None:
        plain = array.dictionary_decode() if pa.types.is_dictionary(array.type) else array
        numeric = pc.match_substring_regex(plain, NUMBER_PATTERN)
        self.numeric_text += int(pc.sum(numeric).as_py() or 0)
        if len(self.text_examples) < 3:
            other = pc.and_(pc.invert(numeric), pc.is_valid(plain))
            for index in np.flatnonzero(other.to_numpy(zero_copy_only=False))[:3]:
                if len(self.text_examples) < 3:
                    self.text_examples.append(str(plain[int(index)].as_py()))
                    self.first_rows.append(row_offset + int(index) + 1)

    def distinct_count(self) -> int:
        if self.family == "text" and not self.pruned and len(self.categories) <= _EXACT_DISTINCT:
            return len(self.categories)
        return self.distinct.count()

    def distinct_is_exact(self) -> bool:
        if self.family == "text":
            return not self.pruned and len(self.categories) <= _EXACT_DISTINCT
        return self.distinct.exact

    # -- pass 2 ----------------------------------------------------------------------------
    def prepare_histogram(self) -> None:
        if self.family != "numeric" or not self.finite:
            return
        low, high = self.minimum, self.maximum
        if self.integral and high - low < HISTOGRAM_BINS:
            self.edges = np.arange(low - 0.5, high + 1.0, 1.0)
        elif low == high:
            self.edges = np.array([low - 0.5, high + 0.5])
        else:
            self.edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
        self.bins = np.zeros(len(self.edges) - 1, dtype=np.int64)

    def count_bins(self, array: pa.Array) -> None:
        if self.edges is None or self.bins is None:
            return
        values = numeric_values(array)
        counts, _ = np.histogram(values[np.isfinite(values)], bins=self.edges)
        self.bins += counts

    def recount_candidates(self, array: pa.Array) -> None:
        counted = pc.value_counts(array)
        texts = _as_text(counted.field("values"))
        counts = counted.field("counts").to_numpy(zero_copy_only=False)
        for text, count in zip(texts, counts, strict=True):
            if text is not None and text in self.categories:
                self.categories[text] += int(count)


def _as_text(values: pa.Array) -> list[Any]:
    """Category values as text: booleans as 'true'/'false', everything else as Arrow prints it."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_boolean(values.type):
        return [None if v is None else ("true" if v else "false") for v in values.to_pylist()]
    if not is_text_type(values.type):
        values = values.cast(pa.string())
    return values.to_pylist()


# -- the reference sample ------------------------------------------------------------------
class ReservoirSampler:
    """Bottom-k sampling over a stream of record batches."""

    def __init__(self, size: int, seed: int) -> None:
        if size < 0:
            raise ValueError(f"sample size: expected 0 or more rows, got {size}")
        self.size = size
        self._rng = np.random.default_rng(seed)
        self._keys: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []
        self._batches: list[pa.RecordBatch] = []
        self._kept = 0
        self._threshold = np.inf
        self._seen = 0

    def add(self, batch: pa.RecordBatch) -> None:
        count = batch.num_rows
        keys = self._rng.random(count)
        if self.size and count:
            chosen = np.flatnonzero(keys < self._threshold)
            if len(chosen):
                self._keys.append(keys[chosen])
                self._rows.append(chosen + self._seen)
                self._batches.append(batch.take(pa.array(chosen)))
                self._kept += len(chosen)
                if self._kept >= 2 * self.size:
                    self._compact()
        self._seen += count

    def _compact(self) -> None:
        keys = np.concatenate(self._keys)
        rows = np.concatenate(self._rows)
        table = pa.Table.from_batches(self._batches)
        if len(keys) > self.size:
            keep = np.argpartition(keys, self.size - 1)[: self.size]
            keys, rows, table = keys[keep], rows[keep], table.take(pa.array(keep))
        if len(keys) >= self.size:
            self._threshold = float(keys.max())
        self._keys, self._rows = [keys], [rows]
        self._batches = table.combine_chunks().to_batches() or []
        self._kept = len(keys)

    def result(self, schema: pa.Schema) -> pa.Table:
        """The sample in original row order (call once, after the last batch)."""
        if not self._batches:
            return schema.empty_table()
        self._compact()
        rows = self._rows[0]
        table = pa.Table.from_batches(self._batches, schema=self._batches[0].schema)
        return table.take(pa.array(np.argsort(rows, kind="stable"))).cast(schema)

    @property
    def seen(self) -> int:
        return self._seen


# -- the profile ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProfileResult:
    profile: DatasetProfile
    schema: DatasetSchema
    sample: pa.Table


def compute_profile(
    reader: TableReader,
    *,
    sample_size: int,
    seed: int,
    check_mixed_text: bool,
    typed_columns: Sequence[str] = (),
    progress: ProgressReporter,
    total_rows: int | None = None,
    source_name: str = "table",
) -> ProfileResult:
    """Profile every data column of ``reader`` and draw its reference sample.

    ``check_mixed_text``: text columns of files (CSV, JSON Lines) whose values
    are mostly numbers are refused as mixed types, unless listed in
    ``typed_columns`` (the user chose their type).
    """
    progress.stage("profiling", total_rows, "rows")
    sampler = ReservoirSampler(sample_size, seed)
    columns: list[_Column] | None = None
    names: list[str] = []
    rows = 0
    schema: pa.Schema | None = None
    for batch in reader.batches():
        if columns is None:
            schema = batch.schema
            columns, names = _columns_for(schema, check_mixed_text, typed_columns, source_name)
        for column in columns:
            column.update(batch.column(column.name), rows)
        sampler.add(batch)
        rows += batch.num_rows
        progress.advance(batch.num_rows)
    if columns is None or schema is None:
        schema = reader.schema
        columns, names = _columns_for(schema, check_mixed_text, typed_columns, source_name)
    for column in columns:
        _refuse_mixed(column, source_name)

    sample = sampler.result(schema)
    complete = sample.num_rows == rows
    for column in columns:
        column.prepare_histogram()
    recount = [c for c in columns if c.family == "text" and c.pruned]
    for column in recount:
        top = sorted(column.categories.items(), key=lambda p: (-p[1], p[0]))[: TOP_TEXT_VALUES * 5]
        column.categories = {value: 0 for value, _ in top}
    if any(c.edges is not None for c in columns) or recount:
        progress.stage("histograms", rows, "rows")
        second = sample.to_batches() if complete else reader.batches()
        for batch in second:
            for column in columns:
                if column.edges is not None:
                    column.count_bins(batch.column(column.name))
            for column in recount:
                column.recount_candidates(batch.column(column.name))
            progress.advance(batch.num_rows)

    data_sample = sample.select(names)
    profiles = tuple(_finish(c, data_sample) for c in columns)
    profile = DatasetProfile(rows, profiles, sample_rows=sample.num_rows, quantiles_exact=complete)
    fields = [schema.field(name) for name in names]
    dataset_schema = DatasetSchema(
        tuple(ColumnSchema(p.name, p.type, p.missing > 0, p.kind) for p in profiles),
        pa.schema(fields, metadata=schema.metadata),
    )
    return ProfileResult(profile, dataset_schema, data_sample)


def _columns_for(
    schema: pa.Schema, check_mixed: bool, typed: Sequence[str], source_name: str
) -> tuple[list[_Column], list[str]]:
    hidden = index_columns(schema)
    names = [name for name in schema.names if name not in hidden]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetSourceError(
            f"{source_name}: column names must be unique; repeated: {', '.join(duplicates)}"
        )
    columns = []
    for name in names:
        data_type = schema.field(name).type
        if is_numeric_type(data_type) or is_datetime_type(data_type):
            family = "numeric"
        elif is_text_type(data_type) or pa.types.is_boolean(value_type(data_type)):
            family = "text"
        else:
            family = "other"
        mixed = check_mixed and family == "text" and is_text_type(data_type) and name not in typed
        columns.append(_Column(name, data_type, family, mixed))
    return columns, names


def _refuse_mixed(column: _Column, source_name: str) -> None:
    if not column.check_mixed or not column.count or not column.text_examples:
        return
    if column.numeric_text and column.numeric_text >= _MIXED_SHARE * column.count:
        examples = ", ".join(
            f"{value!r} (row {row})"
            for value, row in zip(column.text_examples, column.first_rows, strict=True)
        )
        raise MixedTypes(
            f"{source_name}: column {column.name!r} holds mixed types: {column.numeric_text} of "
            f"{column.count} values are numbers, others are text: {examples}. Clean the values, "
            f"or keep the column as text with column_types={{{column.name!r}: 'string'}} "
            f"(CLI: --column-type {column.name}=string)"
        )


def _finish(column: _Column, sample: pa.Table) -> ColumnProfile:
    distinct = None if column.family == "other" else column.distinct_count()
    kind = column_kind(column.type, distinct or 0, column.count)
    base = ColumnProfile(
        name=column.name,
        type=str(column.type),
        kind=kind,
        count=column.count,
        missing=column.missing,
        distinct=distinct,
        distinct_exact=column.distinct_is_exact() if distinct is not None else False,
        infinite=column.infinite,
    )
    if column.family == "numeric" and column.finite:
        values = numeric_values(sample.column(column.name).combine_chunks())
        values = values[np.isfinite(values)]
        quantiles = (
            tuple(
                (q, float(v))
                for q, v in zip(QUANTILES, np.quantile(values, QUANTILES), strict=True)
            )
            if len(values)
            else ()
        )
        histogram = None
        if column.edges is not None and column.bins is not None:
            histogram = Histogram(
                tuple(float(e) for e in column.edges), tuple(int(c) for c in column.bins)
            )
        std = math.sqrt(column.m2 / (column.finite - 1)) if column.finite > 1 else 0.0
        return replace(
            base,
            min=column.minimum,
            max=column.maximum,
            mean=column.mean,
            std=std,
            quantiles=quantiles,
            histogram=histogram,
        )
    if column.family == "text":
        ranked = sorted(column.categories.items(), key=lambda p: (-p[1], p[0]))
        complete = not column.pruned and kind == "categorical"
        kept = ranked if complete else ranked[:TOP_TEXT_VALUES]
        return replace(
            base,
            top_categories=tuple(CategoryCount(v, c) for v, c in kept),
            categories_complete=complete,
        )
    return base
