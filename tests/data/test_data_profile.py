"""Profiles (statistics in streaming batches), reference samples and schema inference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ladder.data import DatasetProfile, dataset
from ladder.data.manifest import TableSpec
from ladder.data.profile import DistinctCounter, compute_profile
from ladder.data.progress import SilentProgress
from ladder.data.tabular import TablePart, TableReader, frame_to_table


def _profile(frame: pd.DataFrame, sample: int = 100_000, seed: int = 0) -> DatasetProfile:
    reader = TableReader.from_table(frame_to_table(frame))
    return compute_profile(
        reader, sample_size=sample, seed=seed, check_mixed_text=False, progress=SilentProgress()
    ).profile


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(finite, st.none()), min_size=1, max_size=300))
def test_numeric_statistics_match_pandas(values: list[float | None]) -> None:
    series = pd.Series(values, dtype="float64")
    column = _profile(pd.DataFrame({"x": series})).column("x")
    present = series.dropna()
    assert column.count == len(present) and column.missing == series.isna().sum()
    if len(present):
        assert column.min == present.min() and column.max == present.max()
        assert column.mean == pytest.approx(present.mean(), rel=1e-9, abs=1e-6)
        expected_std = present.std() if len(present) > 1 else 0.0
        assert column.std == pytest.approx(expected_std, rel=1e-6, abs=1e-6)
        assert column.distinct == present.nunique()
        assert column.histogram is not None and sum(column.histogram.counts) == len(present)
        assert column.quantile(0.5) == pytest.approx(present.quantile(0.5), rel=1e-9, abs=1e-6)
    else:
        assert column.mean is None and column.histogram is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["red", "green", "blue", "a b", ""]) | st.none(), min_size=1))
def test_category_counts_are_exact(values: list[str | None]) -> None:
    series = pd.Series(values, dtype="object")
    column = _profile(pd.DataFrame({"c": series})).column("c")
    counts = series.dropna().value_counts()
    assert {c.value: c.count for c in column.top_categories} == counts.to_dict()
    assert column.missing == series.isna().sum()
    if series.notna().any():
        assert column.categories_complete and column.kind == "categorical"
    else:
        assert column.kind == "empty"  # no value at all: Arrow's null type


def test_a_table_larger_than_the_sample_is_profiled_exactly_in_batches(tmp_path: Path) -> None:
    rows = 300_000
    rng = np.random.default_rng(7)
    table = pa.table(
        {
            "x": rng.normal(5.0, 2.0, rows),
            "n": rng.integers(0, 10, rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows),
            "id": [f"id-{i}" for i in range(rows)],
        }
    )
    path = tmp_path / "big.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    result = compute_profile(
        TableReader([TablePart(str(path), "big.parquet")], TableSpec("parquet")),
        sample_size=20_000,
        seed=3,
        check_mixed_text=False,
        progress=SilentProgress(),
    )
    profile, frame = result.profile, table.to_pandas()
    x = profile.column("x")
    assert profile.row_count == rows and not profile.quantiles_exact
    assert x.mean == pytest.approx(frame["x"].mean(), rel=1e-12)
    assert x.std == pytest.approx(frame["x"].std(), rel=1e-9)
    assert sum(x.histogram.counts) == rows and len(x.histogram.edges) == 21
    expected, _ = np.histogram(frame["x"], bins=np.array(x.histogram.edges))
    assert list(x.histogram.counts) == expected.tolist()
    assert x.quantile(0.5) == pytest.approx(frame["x"].median(), abs=0.05)
    n = profile.column("n")
    assert (
        n.histogram.edges[0] == -0.5
        and list(n.histogram.counts) == frame["n"].value_counts(sort=False).sort_index().tolist()
    )
    assert {c.value: c.count for c in profile.column("city").top_categories} == frame[
        "city"
    ].value_counts().to_dict()
    ids = profile.column("id")
    assert ids.kind == "text" and not ids.distinct_exact
    assert ids.distinct == pytest.approx(rows, rel=0.03)
    assert len(ids.top_categories) == 20 and not ids.categories_complete
    assert result.sample.num_rows == 20_000


def test_distinct_counts_are_exact_below_ten_thousand_and_estimated_above() -> None:
    small, large = DistinctCounter(), DistinctCounter()
    for chunk in np.array_split(np.arange(9_999), 5):
        small.add_hashes(pd.util.hash_array(chunk))
        small.add_hashes(pd.util.hash_array(chunk))  # repeats do not count twice
    for chunk in np.array_split(np.arange(500_000), 9):
        large.add_hashes(pd.util.hash_array(chunk))
    assert small.exact and small.count() == 9_999
    assert not large.exact and large.count() == pytest.approx(500_000, rel=0.03)


def test_the_reference_sample_is_bounded_seeded_and_uniform(sqlite_workspace) -> None:
    frame = pd.DataFrame({"i": np.arange(50_000), "g": np.arange(50_000) % 2})
    first = dataset.add("big", frame, sample_rows=5_000, seed=11)
    assert first.sample.rows == 5_000 and first.sample.population == 50_000
    assert first.sample.seed == 11 and not first.sample.complete
    again = dataset.add("again", frame, sample_rows=5_000, seed=11)
    assert again.sample.to_pandas().equals(first.sample.to_pandas())
    other = dataset.add("other", frame, sample_rows=5_000, seed=12)
    assert not other.sample.to_pandas().equals(first.sample.to_pandas())
    picked = first.sample.to_pandas()["i"]
    assert picked.is_monotonic_increasing and picked.is_unique  # original order, no repeats
    assert picked.mean() == pytest.approx(25_000, rel=0.05)
    assert first.sample.to_pandas()["g"].mean() == pytest.approx(0.5, abs=0.03)


def test_the_default_sample_keeps_up_to_100k_rows(sqlite_workspace) -> None:
    frame = pd.DataFrame({"i": np.arange(120_000)})
    ds = dataset.add("rows", frame)
    assert ds.sample.rows == 100_000 and len(ds.sample) == 100_000
    assert isinstance(ds.sample.to_arrow(), pa.Table) and ds.sample.column_names == ["i"]


def test_schema_records_types_nullability_and_kinds(sqlite_workspace) -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.5, None, 3.0, 4.0],
            "count": [1, 2, 3, 4],
            "flag": [True, False, True, True],
            "city": pd.Categorical(["a", "b", "a", "c"]),
            "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", None]),
            "note": ["x1", "x2", "x3", "x4"],
            "tags": [[1], [2], [], [3]],
        }
    )
    ds = dataset.add("kinds", frame)
    schema = {c.name: (c.kind, c.nullable) for c in ds.schema.columns}
    assert schema == {
        "amount": ("numeric", True),
        "count": ("numeric", False),
        "flag": ("categorical", False),
        "city": ("categorical", False),
        "when": ("datetime", True),
        "note": ("categorical", False),
        "tags": ("other", False),
    }
    when = ds.profile.column("when")
    assert when.min == pd.Timestamp("2024-01-01").timestamp() and when.missing == 1
    assert ds.schema.to_arrow().field("count").type == pa.int64()
    assert ds.profile.column("flag").categories == {"true", "false"}


def test_many_distinct_strings_are_text_not_categories(sqlite_workspace) -> None:
    frame = pd.DataFrame({"name": [f"customer {i}" for i in range(2_000)], "k": ["a", "b"] * 1000})
    ds = dataset.add("names", frame)
    assert ds.schema.column("name").kind == "text" and ds.schema.column("k").kind == "categorical"


def test_infinities_are_counted_apart_from_the_statistics(sqlite_workspace) -> None:
    ds = dataset.add("inf", pd.DataFrame({"x": [1.0, 2.0, math.inf, -math.inf, 3.0]}))
    x = ds.profile.column("x")
    assert (x.infinite, x.count, x.min, x.max, x.mean) == (2, 5, 1.0, 3.0, 2.0)


def test_a_profile_round_trips_through_json(sqlite_workspace, make_loans) -> None:
    ds = dataset.add("loans", make_loans())
    profile = ds.profile
    assert DatasetProfile.from_dict(profile.to_dict()) == profile
    fresh = dataset.get("loans@1")
    assert fresh.profile == profile and fresh.schema == ds.schema
