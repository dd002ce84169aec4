"""Drift statistics: equal to scipy's reference functions, vectorised, and robust to bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import spatial, special, stats

from ladder.errors import ColumnMismatch, InvalidMonitorSpec
from ladder.monitoring import compute_drift, prepare_reference
from ladder.monitoring.drift import PSI_EPSILON

TOLERANCE = 1e-9
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def samples(min_size: int = 2, max_size: int = 300) -> st.SearchStrategy[np.ndarray]:
    """Samples with many ties (rounded values) as well as continuous ones."""
    return st.one_of(
        arrays(np.float64, st.integers(min_size, max_size), elements=finite),
        arrays(np.float64, st.integers(min_size, max_size), elements=st.integers(-5, 5).map(float)),
    )


def numeric_bins(
    reference: np.ndarray, current: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """The shares of the documented buckets, computed independently with numpy."""
    levels = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.unique(np.quantile(reference, levels, method="lower"))
    full = np.concatenate([[-np.inf], edges, [np.inf]])
    ref_counts = np.array(
        [np.sum((reference >= a) & (reference < b)) for a, b in itertools.pairwise(full)]
    )
    cur_counts = np.array(
        [np.sum((current >= a) & (current < b)) for a, b in itertools.pairwise(full)]
    )
    return ref_counts / len(reference), cur_counts / len(current)


def psi_reference(p: np.ndarray, q: np.ndarray) -> float:
    p = np.where(p == 0, PSI_EPSILON, p)
    q = np.where(q == 0, PSI_EPSILON, q)
    return float(np.sum(special.rel_entr(p, q) + special.rel_entr(q, p)))


@settings(max_examples=40, deadline=None)
@given(reference=samples(), current=samples())
def test_wasserstein_equals_scipy_normalised_by_the_reference_std(
    reference: np.ndarray, current: np.ndarray
) -> None:
    report = compute_drift(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "wasserstein"}
    )
    expected = stats.wasserstein_distance(reference, current) / max(np.std(reference), 0.001)
    assert report.column("x").statistic == pytest.approx(expected, rel=TOLERANCE, abs=TOLERANCE)


@pytest.mark.filterwarnings("ignore:ks_2samp:RuntimeWarning")  # scipy's own fallback notice
@settings(max_examples=40, deadline=None)
@given(reference=samples(), current=samples())
def test_ks_statistic_and_p_value_equal_scipy(reference: np.ndarray, current: np.ndarray) -> None:
    report = compute_drift(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "ks"}
    )
    expected = stats.ks_2samp(reference, current)
    column = report.column("x")
    assert column.statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert column.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)
    assert column.drifted == (expected.pvalue < 0.05)


def test_ks_on_large_samples_uses_the_asymptotic_p_value_like_scipy() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=12_000), rng.normal(0.03, 1, size=15_000)
    column = compute_drift(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "ks"}
    ).column("x")
    expected = stats.ks_2samp(reference, current)
    assert column.statistic == pytest.approx(expected.statistic, abs=TOLERANCE)
    assert column.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)


@settings(max_examples=40, deadline=None)
@given(reference=samples(min_size=5), current=samples(min_size=5))
def test_psi_and_jensen_shannon_of_numeric_columns_equal_scipy_on_reference_deciles(
    reference: np.ndarray, current: np.ndarray
) -> None:
    column = compute_drift(
        pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), methods={"x": "psi"}
    ).column("x")
    p, q = numeric_bins(reference, current)
    assert column.psi == pytest.approx(psi_reference(p, q), rel=TOLERANCE, abs=TOLERANCE)
    assert column.statistic == column.psi
    js = spatial.distance.jensenshannon(p, q, base=2)
    assert column.jensenshannon == pytest.approx(js, abs=TOLERANCE)


categories = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=2, max_size=200)


@settings(max_examples=40, deadline=None)
@given(reference=categories, current=categories)
def test_categorical_chi_square_js_and_psi_equal_scipy(
    reference: list[str], current: list[str]
) -> None:
    column = compute_drift(
        pd.DataFrame({"c": reference}), pd.DataFrame({"c": current}), methods={"c": "chisquare"}
    ).column("c")
    keys = sorted(set(reference) | set(current))
    ref_counts = np.array([reference.count(k) for k in keys], dtype=float)
    cur_counts = np.array([current.count(k) for k in keys], dtype=float)
    if len(keys) > 1:
        expected = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
        assert column.statistic == pytest.approx(expected.statistic, rel=TOLERANCE, abs=TOLERANCE)
        assert column.p_value == pytest.approx(expected.pvalue, abs=TOLERANCE)
    else:
        assert (column.statistic, column.p_value, column.drifted) == (0.0, 1.0, False)
    p, q = ref_counts / len(reference), cur_counts / len(current)
    assert column.jensenshannon == pytest.approx(
        spatial.distance.jensenshannon(p, q, base=2), abs=TOLERANCE
    )
    assert column.psi == pytest.approx(psi_reference(p, q), rel=TOLERANCE, abs=TOLERANCE)


def test_columns_are_compared_in_blocks_with_different_missing_counts_each_exactly() -> None:
    rng = np.random.default_rng(7)
    reference = pd.DataFrame({f"x{i}": rng.normal(size=3000) for i in range(12)})
    current = pd.DataFrame({f"x{i}": rng.normal(0.05 * i, 1, size=2500) for i in range(12)})
    for i in range(0, 12, 3):  # a different number of missing values in some columns
        reference.loc[: 10 * i, f"x{i}"] = np.nan
        current.loc[: 7 * i + 1, f"x{i}"] = np.nan
    report = compute_drift(reference, current, workers=2)
    for i in range(12):
        ref = reference[f"x{i}"].dropna().to_numpy()
        cur = current[f"x{i}"].dropna().to_numpy()
        expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
        column = report.column(f"x{i}")
        assert column.method == "wasserstein"
        assert column.statistic == pytest.approx(expected, rel=TOLERANCE)
        assert (column.reference_rows, column.current_rows) == (len(ref), len(cur))


def test_method_is_chosen_by_evidently_size_rule() -> None:
    rng = np.random.default_rng(1)

    def frame(rows: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "num": rng.normal(size=rows),
                "cat": rng.choice(["x", "y", "z"], rows),
                "few": rng.integers(
                    0, 3, rows
                ),  # numeric, at most 5 values: compared as categories
            }
        )

    small = compute_drift(frame(1000), frame(500))
    assert [small.column(c).method for c in ("num", "cat", "few")] == [
        "ks",
        "chisquare",
        "chisquare",
    ]
    large = compute_drift(frame(1001), frame(500))
    assert [large.column(c).method for c in ("num", "cat", "few")] == [
        "wasserstein",
        "jensenshannon",
        "jensenshannon",
    ]
    assert large.column("few").kind == "numeric"


def test_dataset_drift_when_the_share_of_drifted_features_reaches_the_threshold() -> None:
    rng = np.random.default_rng(2)
    reference = pd.DataFrame({f"f{i}": rng.normal(size=2000) for i in range(4)})
    current = pd.DataFrame(
        {f"f{i}": rng.normal(2.0 if i == 0 else 0, 1, size=2000) for i in range(4)}
    )
    report = compute_drift(reference, current, drift_share=0.25)
    assert [c.column for c in report.drifted_features] == ["f0"]
    assert report.drift_share == 0.25 and report.dataset_drift is True
    assert compute_drift(reference, current, drift_share=0.5).dataset_drift is False


def test_thresholds_and_methods_can_be_set_per_column_or_per_method() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    current = pd.DataFrame({"a": rng.normal(0.2, 1, size=3000), "b": rng.normal(0.2, 1, size=3000)})
    report = compute_drift(
        reference, current, methods={"b": "psi"}, thresholds={"wasserstein": 0.5, "b": 0.0}
    )
    assert report.column("a").threshold == 0.5 and report.column("a").drifted is False
    assert report.column("b").method == "psi" and report.column("b").drifted is True
    with pytest.raises(InvalidMonitorSpec, match="unknown drift method 'kolmogorov'"):
        compute_drift(reference, current, methods={"a": "kolmogorov"})
    with pytest.raises(InvalidMonitorSpec, match="needs a numeric column"):
        compute_drift(
            pd.DataFrame({"c": ["x", "y"] * 10}),
            pd.DataFrame({"c": ["x"] * 20}),
            methods={"c": "ks"},
        )


def test_constant_columns_are_not_drift_when_equal_and_drift_when_the_constant_moves() -> None:
    reference = pd.DataFrame({"k": np.full(2000, 3.0), "s": ["same"] * 2000})
    same = compute_drift(reference, pd.DataFrame({"k": np.full(500, 3.0), "s": ["same"] * 500}))
    assert same.column("k").drifted is False and same.column("k").statistic == 0.0
    assert same.column("s").drifted is False
    moved = compute_drift(reference, pd.DataFrame({"k": np.full(500, 4.0), "s": ["other"] * 500}))
    assert moved.column("k").drifted is True and moved.column("s").drifted is True


def test_all_nan_columns_get_no_verdict_and_do_not_count_in_the_drift_share() -> None:
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"a": rng.normal(size=500), "empty": np.nan, "text": ["x"] * 500})
    current = pd.DataFrame(
        {"a": rng.normal(size=400), "empty": np.nan, "text": pd.Series([None] * 400, dtype=object)}
    )
    report = compute_drift(reference, current)
    assert report.column("empty").status == "insufficient_data"
    assert report.column("empty").drifted is None
    assert report.column("text").status == "insufficient_data"
    assert report.drift_share == 0.0  # only "a" had a verdict, and it did not drift


def test_infinite_values_count_as_missing() -> None:
    reference = pd.DataFrame({"x": [1.0, 2.0, np.inf, 3.0] * 100})
    current = pd.DataFrame({"x": [1.0, 2.0, -np.inf, 3.0] * 100})
    column = compute_drift(reference, current).column("x")
    assert (column.reference_rows, column.current_rows) == (300, 300)
    assert column.drifted is False


def test_categories_present_only_in_current_count_as_drift() -> None:
    reference = pd.DataFrame({"city": ["paris", "rome"] * 1000})
    current = pd.DataFrame({"city": ["paris", "rome", "oslo", "oslo"] * 250})
    column = compute_drift(reference, current).column("city")
    assert column.method == "jensenshannon" and column.drifted is True
    assert column.distribution is not None and "oslo" in column.distribution.labels
    p, q = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    assert column.jensenshannon == pytest.approx(spatial.distance.jensenshannon(p, q, base=2))


def test_schema_mismatch_names_the_missing_and_extra_columns() -> None:
    reference = pd.DataFrame({"age": [1.0, 2.0] * 50, "income": [3.0, 4.0] * 50})
    current = pd.DataFrame({"age": [1.0, 2.0] * 50, "zip": ["1", "2"] * 50})
    report = compute_drift(reference, current)
    assert report.schema.missing_in_current == ("income",)
    assert report.schema.extra_in_current == ("zip",)
    assert [c.column for c in report.columns] == ["age"]
    with pytest.raises(
        ColumnMismatch, match=r"share no column \(reference has income; current has zip\)"
    ):
        compute_drift(reference[["income"]], current[["zip"]])
    with pytest.raises(ColumnMismatch, match="not in current: income"):
        compute_drift(reference, current, columns=["age", "income"])


def test_text_in_a_numeric_column_is_counted_as_type_violations() -> None:
    reference = pd.DataFrame({"age": np.arange(200, dtype=float)})
    current = pd.DataFrame({"age": [str(v) for v in range(150)] + ["unknown"] * 50})
    report = compute_drift(reference, current)
    (mismatch,) = report.schema.type_mismatches
    assert (mismatch.column, mismatch.expected, mismatch.violations) == ("age", "numeric", 50)
    assert report.column("age").current_rows == 150


def test_a_prepared_reference_gives_the_same_result_for_every_window() -> None:
    rng = np.random.default_rng(6)
    reference = pd.DataFrame({"x": rng.normal(size=5000), "c": rng.choice(list("abc"), 5000)})
    prepared = prepare_reference(reference)
    for shift in (0.0, 0.5):
        window = pd.DataFrame({"x": rng.normal(shift, 1, 800), "c": rng.choice(list("abd"), 800)})
        once = compute_drift(reference, window)
        again = compute_drift(prepared, window)
        assert once.to_dict() == again.to_dict()


def test_prediction_columns_are_reported_but_not_counted_in_the_drift_share() -> None:
    rng = np.random.default_rng(8)
    reference = pd.DataFrame({"a": rng.normal(size=2000), "prediction": rng.normal(size=2000)})
    current = pd.DataFrame({"a": rng.normal(size=2000), "prediction": rng.normal(3, 1, size=2000)})
    report = compute_drift(reference, current, prediction_columns=["prediction"])
    assert report.column("prediction").drifted is True
    assert report.column("prediction").role == "prediction"
    assert report.drift_share == 0.0
