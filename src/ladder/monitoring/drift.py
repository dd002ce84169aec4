"""Distribution drift between a reference and a current window, vectorised across columns.

Methods (``METHODS``), each with the value compared to its threshold:

* ``ks``: two-sample Kolmogorov–Smirnov test, drift when the p-value < 0.05;
* ``wasserstein``: first Wasserstein distance divided by the reference's standard
  deviation (at least 0.001), drift when ≥ 0.1;
* ``psi``: population stability index, drift when ≥ 0.1;
* ``jensenshannon``: Jensen–Shannon distance (base 2, in [0, 1]), drift when ≥ 0.1;
* ``chisquare``: chi-square test of homogeneity on the 2 × k table of category
  counts, drift when the p-value < 0.05.

When no method is set for a column, it is chosen the way Evidently documents:
a reference of at most 1,000 values gets ``ks`` for numeric columns with more than
5 distinct values and ``chisquare`` for the others; a larger reference gets
``wasserstein`` and ``jensenshannon`` respectively. PSI and Jensen–Shannon are
reported for every column as well: the Jensen–Shannon distance is what root-cause
ranking weighs, since it is bounded and defined for both kinds.

Numeric columns are bucketed for PSI and Jensen–Shannon by the reference's
deciles (``numpy.quantile(..., method="lower")``), with open outer buckets so
current values beyond the reference's range are counted. Zero shares are
replaced by 1e-4 for PSI only.

How it is fast: a reference is prepared once (each numeric column sorted, category
counts taken) and compared with any number of windows. A window's numeric columns
are sorted in blocks (one ``numpy.sort`` over a 2-D block); the Wasserstein
distance is then the integral of the gap between the two quantile functions,
computed for a whole block as one gather and one matrix–vector product over a
grid that depends only on the two sample sizes. Blocks run on a thread pool
(numpy releases the GIL while sorting).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ladder.errors import InvalidMonitorSpec
from ladder.monitoring.schema import (
    CATEGORICAL,
    NUMERIC,
    SchemaComparison,
    category_values,
    compare_schema,
    numeric_values,
    reference_kinds,
)

KS = "ks"
WASSERSTEIN = "wasserstein"
PSI = "psi"
JENSEN_SHANNON = "jensenshannon"
CHI_SQUARE = "chisquare"
METHODS = (KS, WASSERSTEIN, PSI, JENSEN_SHANNON, CHI_SQUARE)
P_VALUE_METHODS = frozenset({KS, CHI_SQUARE})
NUMERIC_ONLY = frozenset({KS, WASSERSTEIN})
CATEGORICAL_ONLY = frozenset({CHI_SQUARE})
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    KS: 0.05,
    CHI_SQUARE: 0.05,
    WASSERSTEIN: 0.1,
    PSI: 0.1,
    JENSEN_SHANNON: 0.1,
}
SMALL_REFERENCE = 1000  # Evidently's size rule: up to this many reference values, use tests
FEW_VALUES = 5  # numeric columns with at most this many distinct values are compared as categories
DEFAULT_DRIFT_SHARE = 0.5  # dataset drift when at least this share of features drifted
DEFAULT_BINS = 10
PSI_EPSILON = 1e-4
WASSERSTEIN_MIN_STD = 0.001
KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp computes the exact p-value up to this size
HISTOGRAM_BINS = 20  # bins of the distributions shown in reports
TOP_CATEGORIES = 20
_BLOCK_ELEMENTS = 8_000_000  # values per block (reference + current) handled at once

OK = "ok"
INSUFFICIENT_DATA = "insufficient_data"
TYPE_MISMATCH = "type_mismatch"


@dataclass(frozen=True)
class Distribution:
    """Shares of reference and current values, for reports.

    ``kind`` is ``histogram`` (``edges`` has one more item than the shares) or
    ``categories`` (``labels`` names each share; an ``other`` bucket may close it).
    """

    kind: str
    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "reference": list(self.reference),
            "current": list(self.current),
            "edges": list(self.edges),
            "labels": list(self.labels),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Distribution:
        return cls(
            kind=str(data["kind"]),
            reference=tuple(float(v) for v in data["reference"]),
            current=tuple(float(v) for v in data["current"]),
            edges=tuple(float(v) for v in data.get("edges", ())),
            labels=tuple(str(v) for v in data.get("labels", ())),
        )


@dataclass(frozen=True)
class ColumnDrift:
    """The drift of one column.

    ``statistic`` is the method's statistic (KS D, chi-square, distance or PSI) and
    ``p_value`` its p-value for tests; ``score`` is what is compared with
    ``threshold``. ``status`` is ``ok``, ``insufficient_data`` (too few values on a
    side: no verdict) or ``type_mismatch``. ``role`` is ``feature`` or ``prediction``
    (predictions are reported but do not count towards the dataset's drift share).
    """

    column: str
    kind: str
    method: str
    threshold: float
    status: str = OK
    statistic: float | None = None
    p_value: float | None = None
    drifted: bool | None = None
    psi: float | None = None
    jensenshannon: float | None = None
    reference_rows: int = 0
    current_rows: int = 0
    role: str = "feature"
    distribution: Distribution | None = None

    @property
    def score(self) -> float | None:
        return self.p_value if self.method in P_VALUE_METHODS else self.statistic

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind,
            "method": self.method,
            "threshold": self.threshold,
            "status": self.status,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "score": self.score,
            "drifted": self.drifted,
            "psi": self.psi,
            "jensenshannon": self.jensenshannon,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "role": self.role,
            "distribution": self.distribution.to_dict() if self.distribution else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnDrift:
        distribution = data.get("distribution")
        return cls(
            column=str(data["column"]),
            kind=str(data["kind"]),
            method=str(data["method"]),
            threshold=float(data["threshold"]),
            status=str(data.get("status", OK)),
            statistic=_float(data.get("statistic")),
            p_value=_float(data.get("p_value")),
            drifted=data.get("drifted"),
            psi=_float(data.get("psi")),
            jensenshannon=_float(data.get("jensenshannon")),
            reference_rows=int(data.get("reference_rows", 0)),
            current_rows=int(data.get("current_rows", 0)),
            role=str(data.get("role", "feature")),
            distribution=Distribution.from_dict(distribution) if distribution else None,
        )


@dataclass(frozen=True)
class DriftReport:
    """Drift of every compared column, and whether the dataset as a whole drifted."""

    columns: tuple[ColumnDrift, ...]
    drift_share: float | None  # drifted features / features with a verdict; None if none had one
    dataset_drift: bool | None
    drift_share_threshold: float
    schema: SchemaComparison

    @property
    def features(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def drifted_features(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.features if c.drifted)

    def column(self, name: str) -> ColumnDrift:
        for item in self.columns:
            if item.column == name:
                return item
        raise KeyError(
            f"column {name!r}: not compared (columns: {[c.column for c in self.columns]})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "drift_share": self.drift_share,
            "dataset_drift": self.dataset_drift,
            "drift_share_threshold": self.drift_share_threshold,
            "drifted_features": [c.column for c in self.drifted_features],
            "columns": [c.to_dict() for c in self.columns],
            "schema": self.schema.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        return cls(
            columns=tuple(ColumnDrift.from_dict(c) for c in data["columns"]),
            drift_share=_float(data.get("drift_share")),
            dataset_drift=data.get("dataset_drift"),
            drift_share_threshold=float(data["drift_share_threshold"]),
            schema=SchemaComparison.from_dict(data["schema"]),
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# -- the prepared reference ----------------------------------------------------------------
@dataclass
class _NumericReference:
    names: list[str]
    sorted_values: np.ndarray  # (columns, rows), each row sorted, NaN last
    counts: np.ndarray  # present values per column
    std: np.ndarray  # population standard deviation of the present values
    edges: list[np.ndarray]  # interior PSI / Jensen–Shannon bucket edges per column
    few_values: list[np.ndarray | None]  # the distinct values when there are at most FEW_VALUES

    def row(self, name: str) -> int:
        return self.names.index(name)

    def values(self, index: int) -> np.ndarray:
        return self.sorted_values[index, : self.counts[index]]


@dataclass
class _CategoricalReference:
    categories: np.ndarray  # distinct values (as text), by descending count
    counts: np.ndarray


@dataclass
class PreparedReference:
    """A reference ready to be compared with many windows (sorted once, counted once).

    Build it with ``prepare_reference``. ``rows`` is the reference's row count;
    ``missing`` the missing values per column (for data quality).
    """

    kinds: dict[str, str]
    rows: int
    missing: dict[str, int]
    numeric: _NumericReference
    categorical: dict[str, _CategoricalReference] = field(default_factory=dict)
    bins: int = DEFAULT_BINS

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    def present(self, name: str) -> int:
        """Present (non-missing) values of reference column ``name``."""
        return self.rows - self.missing[name]

    def numeric_range(self, name: str) -> tuple[float, float] | None:
        index = self.numeric.row(name)
        values = self.numeric.values(index)
        return (float(values[0]), float(values[-1])) if len(values) else None

    def categories(self, name: str) -> set[str]:
        if name in self.categorical:
            return set(self.categorical[name].categories.tolist())
        return set()


def prepare_reference(
    reference: pd.DataFrame,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    bins: int = DEFAULT_BINS,
    workers: int | None = None,
) -> PreparedReference:
    """Sort and count ``reference`` once, to compare it with windows by ``compute_drift``."""
    if bins < 2:
        raise InvalidMonitorSpec(f"bins: expected at least 2, got {bins}")
    resolved = reference_kinds(reference, columns, kinds)
    numeric_names = [n for n, k in resolved.items() if k == NUMERIC]
    rows = len(reference)
    missing: dict[str, int] = {}
    matrix = np.empty((len(numeric_names), rows), dtype=np.float64)
    for index, name in enumerate(numeric_names):
        values, _ = numeric_values(reference[name])
        matrix[index] = values
    blocks = _blocks(len(numeric_names), rows)
    with _pool(workers, len(blocks)) as pool:
        list(pool.map(lambda b: matrix[b[0] : b[1]].sort(axis=1), blocks))
    counts = (
        rows - np.isnan(matrix).sum(axis=1) if len(numeric_names) else np.zeros(0, dtype=np.int64)
    )
    std = np.zeros(len(numeric_names))
    edges: list[np.ndarray] = []
    few: list[np.ndarray | None] = []
    for index, name in enumerate(numeric_names):
        count = int(counts[index])
        missing[name] = rows - count
        values = matrix[index, :count]
        std[index] = float(np.std(values)) if count else math.nan
        edges.append(_quantile_edges(values, bins))
        few.append(_few_distinct(values))
    categorical: dict[str, _CategoricalReference] = {}
    for name, kind in resolved.items():
        if kind != CATEGORICAL:
            continue
        column = reference[name]
        missing[name] = int(column.isna().sum())
        categorical[name] = _count_categories(category_values(column))
    return PreparedReference(
        kinds=resolved,
        rows=rows,
        missing=missing,
        numeric=_NumericReference(numeric_names, matrix, counts.astype(np.int64), std, edges, few),
        categorical=categorical,
        bins=bins,
    )


def _quantile_edges(sorted_values: np.ndarray, bins: int) -> np.ndarray:
    if not len(sorted_values):
        return np.zeros(0)
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    # method="lower" on sorted data: the value at floor(q * (n - 1))
    positions = np.floor(levels * (len(sorted_values) - 1)).astype(np.intp)
    return np.unique(sorted_values[positions])


def _few_distinct(sorted_values: np.ndarray) -> np.ndarray | None:
    if not len(sorted_values):
        return None
    changes = np.flatnonzero(sorted_values[1:] != sorted_values[:-1])
    if len(changes) + 1 > FEW_VALUES:
        return None
    return sorted_values[np.concatenate([[0], changes + 1])]


def _count_categories(values: np.ndarray) -> _CategoricalReference:
    if not len(values):
        return _CategoricalReference(np.array([], dtype=object), np.zeros(0, dtype=np.int64))
    counts = pd.Series(values).value_counts(sort=True)
    return _CategoricalReference(
        counts.index.to_numpy(dtype=object), counts.to_numpy(dtype=np.int64)
    )


def _blocks(columns: int, values_per_column: int) -> list[tuple[int, int]]:
    size = max(1, min(16, _BLOCK_ELEMENTS // max(1, values_per_column)))
    return [(start, min(start + size, columns)) for start in range(0, columns, size)]


def _pool(workers: int | None, tasks: int) -> ThreadPoolExecutor:
    count = workers if workers is not None else (os.cpu_count() or 1)
    return ThreadPoolExecutor(max_workers=max(1, min(count, max(tasks, 1))))


# -- comparing a window with the reference -------------------------------------------------
def compute_drift(
    reference: pd.DataFrame | PreparedReference,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    prediction_columns: Sequence[str] = (),
    min_rows: int = 1,
    bins: int = DEFAULT_BINS,
    distributions: bool = True,
    workers: int | None = None,
) -> DriftReport:
    """Compare the columns of ``current`` with ``reference``.

    ``methods`` sets the method of some columns (``{"income": "psi"}``) and
    ``thresholds`` their threshold, by column name or by method name
    (``{"wasserstein": 0.2}``). Columns named in ``prediction_columns`` are
    compared but not counted in the drift share. A column with fewer than
    ``min_rows`` present values on either side gets no verdict
    (``insufficient_data``).
    """
    if not 0.0 < drift_share <= 1.0:
        raise InvalidMonitorSpec(f"drift_share: expected a share in (0, 1], got {drift_share}")
    prepared = (
        reference
        if isinstance(reference, PreparedReference)
        else prepare_reference(reference, None, kinds, bins, workers)
    )
    schema = compare_schema(prepared.kinds, current, columns)
    chosen_methods = dict(methods or {})
    for name, method in chosen_methods.items():
        _check_method(name, method, prepared.kinds.get(name))
    threshold_overrides = dict(thresholds or {})
    for key, value in threshold_overrides.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise InvalidMonitorSpec(f"threshold {key!r}: expected a number ≥ 0, got {value!r}")
    mismatched = {m.column for m in schema.type_mismatches}
    numeric_names = [n for n in schema.columns if schema.kinds[n] == NUMERIC]
    categorical_names = [n for n in schema.columns if schema.kinds[n] == CATEGORICAL]
    context = _Context(
        prepared=prepared,
        methods=chosen_methods,
        thresholds=threshold_overrides,
        min_rows=max(1, min_rows),
        distributions=distributions,
        predictions=frozenset(prediction_columns),
    )
    results: dict[str, ColumnDrift] = {}
    results.update(_compare_numeric(context, current, numeric_names, mismatched, workers))
    for name in categorical_names:
        counts = pd.Series(category_values(current[name])).value_counts(sort=False)
        results[name] = _compare_categorical(context, name, prepared.categorical[name], counts)
    ordered = tuple(results[name] for name in schema.columns)
    features = [c for c in ordered if c.role == "feature" and c.drifted is not None]
    share = sum(1 for c in features if c.drifted) / len(features) if features else None
    return DriftReport(
        columns=ordered,
        drift_share=share,
        dataset_drift=None if share is None else share >= drift_share,
        drift_share_threshold=drift_share,
        schema=schema,
    )


def _check_method(column: str, method: str, kind: str | None) -> None:
    if method not in METHODS:
        raise InvalidMonitorSpec(
            f"column {column!r}: unknown drift method {method!r} (expected one of "
            f"{', '.join(METHODS)})"
        )
    if kind == CATEGORICAL and method in NUMERIC_ONLY:
        raise InvalidMonitorSpec(
            f"column {column!r}: method {method!r} needs a numeric column, the column is "
            "categorical "
            f"(use one of {CHI_SQUARE}, {JENSEN_SHANNON}, {PSI})"
        )


@dataclass(frozen=True)
class _Context:
    prepared: PreparedReference
    methods: Mapping[str, str]
    thresholds: Mapping[str, float]
    min_rows: int
    distributions: bool
    predictions: frozenset[str]

    def threshold(self, column: str, method: str) -> float:
        if column in self.thresholds:
            return float(self.thresholds[column])
        return float(self.thresholds.get(method, DEFAULT_THRESHOLDS[method]))

    def role(self, column: str) -> str:
        return "prediction" if column in self.predictions else "feature"

    def verdict(
        self,
        column: str,
        kind: str,
        method: str,
        statistic: float,
        p_value: float | None,
        psi: float,
        js: float,
        rows: tuple[int, int],
        distribution: Distribution | None,
    ) -> ColumnDrift:
        threshold = self.threshold(column, method)
        score = p_value if method in P_VALUE_METHODS else statistic
        assert score is not None
        drifted = score < threshold if method in P_VALUE_METHODS else score >= threshold
        return ColumnDrift(
            column=column,
            kind=kind,
            method=method,
            threshold=threshold,
            statistic=float(statistic),
            p_value=None if p_value is None else float(p_value),
            drifted=bool(drifted),
            psi=float(psi),
            jensenshannon=float(js),
            reference_rows=rows[0],
            current_rows=rows[1],
            role=self.role(column),
            distribution=distribution if self.distributions else None,
        )

    def no_verdict(
        self, column: str, kind: str, method: str, status: str, rows: tuple[int, int]
    ) -> ColumnDrift:
        return ColumnDrift(
            column=column,
            kind=kind,
            method=method,
            threshold=self.threshold(column, method),
            status=status,
            reference_rows=rows[0],
            current_rows=rows[1],
            role=self.role(column),
        )


def _auto_method(kind: str, reference_rows: int) -> str:
    small = reference_rows <= SMALL_REFERENCE
    if kind == NUMERIC:
        return KS if small else WASSERSTEIN
    return CHI_SQUARE if small else JENSEN_SHANNON


# -- numeric columns -----------------------------------------------------------------------
def _compare_numeric(
    context: _Context,
    current: pd.DataFrame,
    names: list[str],
    mismatched: set[str],
    workers: int | None,
) -> dict[str, ColumnDrift]:
    if not names:
        return {}
    rows = len(current)
    reference_rows = context.prepared.numeric.sorted_values.shape[1]
    blocks = [names[start:end] for start, end in _blocks(len(names), max(rows, 1) + reference_rows)]
    results: dict[str, ColumnDrift] = {}
    with _pool(workers, len(blocks)) as pool:
        for block_result in pool.map(
            lambda block: _numeric_block(context, current, block, mismatched), blocks
        ):
            results.update(block_result)
    return results


def _numeric_block(
    context: _Context, current: pd.DataFrame, names: list[str], mismatched: set[str]
) -> dict[str, ColumnDrift]:
    reference = context.prepared.numeric
    matrix = np.empty((len(names), len(current)), dtype=np.float64)
    for index, name in enumerate(names):
        matrix[index], _ = numeric_values(current[name])
    matrix.sort(axis=1)
    counts = len(current) - np.isnan(matrix).sum(axis=1)
    out: dict[str, ColumnDrift] = {}
    wasserstein_rows: list[tuple[int, int]] = []  # (block row, reference row)
    for index, name in enumerate(names):
        ref_row = reference.row(name)
        m1, m2 = int(reference.counts[ref_row]), int(counts[index])
        method = context.methods.get(name) or _auto_method(NUMERIC, m1)
        if name in mismatched and m2 == 0:
            out[name] = context.no_verdict(name, NUMERIC, method, TYPE_MISMATCH, (m1, m2))
            continue
        if m1 < context.min_rows or m2 < context.min_rows:
            out[name] = context.no_verdict(name, NUMERIC, method, INSUFFICIENT_DATA, (m1, m2))
            continue
        ref_values = reference.values(ref_row)
        cur_values = matrix[index, :m2]
        few = reference.few_values[ref_row]
        if name not in context.methods and few is not None:
            union = np.union1d(few, _distinct_sorted(cur_values))
            if len(union) <= FEW_VALUES:
                out[name] = _compare_few_numeric(context, name, ref_values, cur_values)
                continue
        if method == WASSERSTEIN:
            wasserstein_rows.append((index, ref_row))
            continue
        out[name] = _numeric_verdict(context, name, method, ref_row, ref_values, cur_values, None)
    for index, ref_row, distance in _wasserstein_rows(reference, matrix, counts, wasserstein_rows):
        name = names[index]
        values = reference.values(ref_row)
        out[name] = _numeric_verdict(
            context, name, WASSERSTEIN, ref_row, values, matrix[index, : counts[index]], distance
        )
    return out


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return values
    keep = np.concatenate([[True], values[1:] != values[:-1]])
    return values[keep]


def _numeric_verdict(
    context: _Context,
    name: str,
    method: str,
    ref_row: int,
    ref_values: np.ndarray,
    cur_values: np.ndarray,
    wasserstein: float | None,
) -> ColumnDrift:
    reference = context.prepared.numeric
    ref_counts, cur_counts = _bucket_counts(reference.edges[ref_row], ref_values, cur_values)
    p, q = ref_counts / len(ref_values), cur_counts / len(cur_values)
    psi = population_stability_index(p, q)
    js = jensen_shannon_distance(p, q)
    p_value: float | None = None
    if method == WASSERSTEIN:
        assert wasserstein is not None
        statistic = wasserstein
    elif method == KS:
        statistic, p_value = ks_test_sorted(ref_values, cur_values)
    elif method == PSI:
        statistic = psi
    elif method == JENSEN_SHANNON:
        statistic = js
    else:  # chi-square on a numeric column: its values are the categories
        return _compare_few_numeric(context, name, ref_values, cur_values, method)
    distribution = _histogram(ref_values, cur_values) if context.distributions else None
    return context.verdict(
        name,
        NUMERIC,
        method,
        statistic,
        p_value,
        psi,
        js,
        (len(ref_values), len(cur_values)),
        distribution,
    )


def _compare_few_numeric(
    context: _Context,
    name: str,
    ref_values: np.ndarray,
    cur_values: np.ndarray,
    method: str | None = None,
) -> ColumnDrift:
    """A numeric column with few distinct values, compared as categories (as Evidently does)."""
    ref_distinct, ref_counts = _run_lengths(ref_values)
    cur_distinct, cur_counts = _run_lengths(cur_values)
    reference = _CategoricalReference(
        np.array([_number_label(v) for v in ref_distinct], dtype=object), ref_counts
    )
    current = pd.Series(cur_counts, index=[_number_label(v) for v in cur_distinct])
    drift = _compare_categorical(context, name, reference, current, method)
    return ColumnDrift(**{**drift.__dict__, "kind": NUMERIC})


def _run_lengths(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))
    counts = np.diff(np.concatenate([starts, [len(sorted_values)]]))
    return sorted_values[starts], counts.astype(np.int64)


def _number_label(value: float) -> str:
    return format(float(value), "g")


def _bucket_counts(
    edges: np.ndarray, ref_sorted: np.ndarray, cur_sorted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Counts in the buckets ``(-inf, e1), [e1, e2), …, [ek, inf)`` of two sorted arrays."""

    def counts(values: np.ndarray) -> np.ndarray:
        cuts = np.searchsorted(values, edges, side="left")
        return np.diff(np.concatenate([[0], cuts, [len(values)]])).astype(np.float64)

    return counts(ref_sorted), counts(cur_sorted)


def _histogram(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> Distribution:
    low = min(ref_sorted[0], cur_sorted[0])
    high = max(ref_sorted[-1], cur_sorted[-1])
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)

    def shares(values: np.ndarray) -> tuple[float, ...]:
        cuts = np.searchsorted(values, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [len(values)]]))
        return tuple(float(c) for c in counts / len(values))

    return Distribution(
        "histogram", shares(ref_sorted), shares(cur_sorted), edges=tuple(float(e) for e in edges)
    )


def _wasserstein_rows(
    reference: _NumericReference,
    matrix: np.ndarray,
    counts: np.ndarray,
    rows: list[tuple[int, int]],
) -> list[tuple[int, int, float]]:
    """Normalised Wasserstein distances, one gather + one mat-vec per group of equal sizes."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for index, ref_row in rows:
        key = (int(reference.counts[ref_row]), int(counts[index]))
        groups.setdefault(key, []).append((index, ref_row))
    out: list[tuple[int, int, float]] = []
    for (m1, m2), members in groups.items():
        block_rows = [i for i, _ in members]
        ref_rows = [r for _, r in members]
        ref_block = reference.sorted_values[ref_rows, :m1]
        cur_block = matrix[block_rows, :m2]
        if m1 == m2:
            distances = np.abs(ref_block - cur_block).mean(axis=1)
        else:
            ref_index, cur_index, widths = _quantile_grid(m1, m2)
            distances = np.abs(ref_block[:, ref_index] - cur_block[:, cur_index]) @ widths
        norms = np.maximum(reference.std[ref_rows], WASSERSTEIN_MIN_STD)
        for (index, ref_row), distance in zip(members, distances / norms, strict=True):
            out.append((index, ref_row, float(distance)))
    return out


def _quantile_grid(m1: int, m2: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the quantile functions of samples of sizes m1 and m2 both stay constant.

    On each interval of the merged grid ``{i/m1} ∪ {j/m2}`` of [0, 1] the first
    sample's quantile is its value ``floor(u·m1)`` and the second's ``floor(u·m2)``.
    """
    u = np.union1d(np.arange(m1 + 1) / m1, np.arange(m2 + 1) / m2)
    middle = (u[:-1] + u[1:]) / 2
    ref_index = np.minimum(np.floor(middle * m1), m1 - 1).astype(np.intp)
    cur_index = np.minimum(np.floor(middle * m2), m2 - 1).astype(np.intp)
    return ref_index, cur_index, np.diff(u)


def ks_test_sorted(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float]:
    """Two-sided two-sample KS statistic and p-value (scipy's ``ks_2samp``, method ``auto``)."""
    m1, m2 = len(ref_sorted), len(cur_sorted)
    if max(m1, m2) <= KS_EXACT_MAX_N:
        with warnings.catch_warnings():
            # scipy falls back to the asymptotic p-value when the exact one overflows; so do we
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.ks_2samp(ref_sorted, cur_sorted)
        return float(result.statistic), float(result.pvalue)
    both = np.concatenate([ref_sorted, cur_sorted])
    gap = (
        np.searchsorted(ref_sorted, both, side="right") / m1
        - np.searchsorted(cur_sorted, both, side="right") / m2
    )
    statistic = float(np.abs(gap).max())
    big, small = max(m1, m2), min(m1, m2)
    effective = round(big * small / (big + small))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def population_stability_index(p: np.ndarray, q: np.ndarray) -> float:
    """PSI of two share vectors; empty buckets count as ``PSI_EPSILON``."""
    p = np.where(p == 0, PSI_EPSILON, p)
    q = np.where(q == 0, PSI_EPSILON, q)
    return float(np.sum((p - q) * np.log(p / q)))


def jensen_shannon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen–Shannon distance (base 2) of two share vectors, as ``scipy.spatial.distance``."""
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        right = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    divergence = max((left + right) / math.log(2.0), 0.0)
    return float(math.sqrt(divergence / 2.0))


# -- categorical columns -------------------------------------------------------------------
def _compare_categorical(
    context: _Context,
    name: str,
    reference: _CategoricalReference,
    current_counts: pd.Series,
    method: str | None = None,
) -> ColumnDrift:
    """Compare category counts (``current_counts``: value → count) with the reference's."""
    m1, m2 = int(reference.counts.sum()), int(current_counts.sum())
    chosen = method or context.methods.get(name) or _auto_method(CATEGORICAL, m1)
    if m1 < context.min_rows or m2 < context.min_rows:
        return context.no_verdict(name, CATEGORICAL, chosen, INSUFFICIENT_DATA, (m1, m2))
    positions = pd.Index(reference.categories).get_indexer(current_counts.index)
    new = positions < 0
    ref_counts = np.concatenate(
        [reference.counts, np.zeros(int(new.sum()), dtype=np.int64)]
    ).astype(np.float64)
    cur_counts = np.zeros(len(ref_counts), dtype=np.float64)
    values = current_counts.to_numpy(dtype=np.float64)
    cur_counts[positions[~new]] = values[~new]
    cur_counts[len(reference.counts) :] = values[new]
    labels = np.concatenate(
        [reference.categories, current_counts.index.to_numpy(dtype=object)[new]]
    )
    p, q = ref_counts / m1, cur_counts / m2
    psi = population_stability_index(p, q)
    js = jensen_shannon_distance(p, q)
    p_value: float | None = None
    if chosen == CHI_SQUARE:
        statistic, p_value = chi_square_homogeneity(ref_counts, cur_counts)
    elif chosen == PSI:
        statistic = psi
    else:
        statistic = js
    distribution = _category_shares(labels, p, q) if context.distributions else None
    return context.verdict(
        name, CATEGORICAL, chosen, statistic, p_value, psi, js, (m1, m2), distribution
    )


def chi_square_homogeneity(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test on the 2 × k table of counts (no continuity correction).

    Equal to ``scipy.stats.chi2_contingency(table, correction=False)``; with one
    category only there is nothing to test (statistic 0, p-value 1).
    """
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, float(stats.chi2.sf(statistic, table.shape[1] - 1))


def _category_shares(labels: np.ndarray, p: np.ndarray, q: np.ndarray) -> Distribution:
    order = np.argsort(-(p + q), kind="stable")
    top = order[:TOP_CATEGORIES]
    ref = [float(p[i]) for i in top]
    cur = [float(q[i]) for i in top]
    names = [str(labels[i]) for i in top]
    if len(order) > TOP_CATEGORIES:
        rest = order[TOP_CATEGORIES:]
        ref.append(float(p[rest].sum()))
        cur.append(float(q[rest].sum()))
        names.append(f"other ({len(rest)})")
    return Distribution("categories", tuple(ref), tuple(cur), labels=tuple(names))
