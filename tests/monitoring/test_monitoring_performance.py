"""Realised performance, and performance estimated without labels (CBPE, DLE) with its band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.isotonic import IsotonicRegression

from ladder.errors import InvalidProbabilities
from ladder.monitoring import fit_cbpe, fit_dle, realised_performance
from ladder.monitoring.estimation import IsotonicCalibrator, expected_roc_auc


def calibrated_sample(rows: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Scores that are true probabilities: labels are drawn from them."""
    rng = np.random.default_rng(seed)
    scores = 1 / (1 + np.exp(-(rng.normal(shift, 1.5, rows))))
    labels = (rng.random(rows) < scores).astype(int)
    return scores, labels


def test_realised_classification_metrics_equal_sklearn_on_labelled_rows() -> None:
    rng = np.random.default_rng(0)
    proba = rng.random(500)
    labels = pd.Series((rng.random(500) < proba).astype(float))
    labels[::5] = np.nan  # labels not arrived yet
    predictions = pd.Series((proba > 0.5).astype(int))
    report = realised_performance(labels, predictions, pd.DataFrame({"0": 1 - proba, "1": proba}))
    known = labels.notna().to_numpy()
    y, p = labels[known].astype(int).to_numpy(), proba[known]
    assert report.task == "binary" and report.labelled_rows == 400
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(y, p > 0.5))
    assert report.metrics["precision"] == pytest.approx(skm.precision_score(y, p > 0.5))
    assert report.metrics["recall"] == pytest.approx(skm.recall_score(y, p > 0.5))
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(y, p > 0.5))
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(y, p))


def test_realised_regression_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(100, 10, 300)
    predicted = truth + rng.normal(0, 3, 300)
    report = realised_performance(pd.Series(truth), pd.Series(predicted), task="regression")
    assert report.metrics["mae"] == pytest.approx(skm.mean_absolute_error(truth, predicted))
    assert report.metrics["rmse"] == pytest.approx(
        np.sqrt(skm.mean_squared_error(truth, predicted))
    )
    assert report.metrics["mape"] == pytest.approx(
        skm.mean_absolute_percentage_error(truth, predicted)
    )
    assert report.metrics["r2"] == pytest.approx(skm.r2_score(truth, predicted))


def test_multiclass_metrics_are_macro_averages() -> None:
    rng = np.random.default_rng(2)
    proba = rng.dirichlet([1, 1, 1], 300)
    truth = np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in proba]]
    predicted = np.array(["a", "b", "c"])[proba.argmax(axis=1)]
    report = realised_performance(
        pd.Series(truth), pd.Series(predicted), pd.DataFrame(proba, columns=["a", "b", "c"])
    )
    assert report.task == "multiclass"
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(truth, predicted, average="macro"))
    assert report.metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(truth, proba, multi_class="ovr", labels=["a", "b", "c"])
    )


@pytest.mark.parametrize("bad", [1.2, -0.1])
def test_probabilities_outside_0_1_are_a_clear_error(bad: float) -> None:
    scores, labels = calibrated_sample(200, 0)
    broken = scores.copy()
    broken[7] = bad
    with pytest.raises(InvalidProbabilities, match=r"column 'proba.1'.*1 value\(s\) outside"):
        realised_performance(
            pd.Series(labels), pd.Series(labels), pd.DataFrame({"0": 1 - scores, "1": broken})
        )
    with pytest.raises(InvalidProbabilities, match=f"e.g. {bad}"):
        fit_cbpe(labels, broken, broken > 0.5)
    estimator = fit_cbpe(labels, scores, scores > 0.5)
    with pytest.raises(InvalidProbabilities, match="'proba'"):
        estimator.estimate(broken, broken > 0.5)


def test_the_isotonic_calibrator_equals_scikit_learns() -> None:
    scores, labels = calibrated_sample(3000, 3)
    scores = np.round(scores, 2)  # many ties
    order = np.argsort(scores, kind="stable")
    ours = IsotonicCalibrator.fit(scores[order], labels[order])
    theirs = IsotonicRegression(out_of_bounds="clip").fit(scores, labels)
    probe = np.linspace(-0.1, 1.1, 500)
    assert np.allclose(ours.predict(probe), theirs.predict(probe), atol=1e-12)


def test_expected_roc_auc_of_certain_probabilities_is_the_realised_roc_auc() -> None:
    rng = np.random.default_rng(4)
    scores = rng.random(400)
    labels = (rng.random(400) < scores).astype(float)
    assert expected_roc_auc(labels, scores) == pytest.approx(skm.roc_auc_score(labels, scores))


def test_cbpe_estimates_match_realised_performance_under_covariate_shift() -> None:
    ref_scores, ref_labels = calibrated_sample(20_000, 5)
    estimator = fit_cbpe(ref_labels, ref_scores, ref_scores > 0.5)
    for seed, shift in ((6, 0.0), (7, 1.0), (8, -1.0)):  # covariate shift changes performance
        scores, labels = calibrated_sample(5000, seed, shift)
        estimate = estimator.estimate(scores, scores > 0.5)
        realised = realised_performance(
            pd.Series(labels),
            pd.Series((scores > 0.5).astype(int)),
            pd.DataFrame({"0": 1 - scores, "1": scores}),
        )
        for metric in estimate.metrics:
            truth = realised.metrics[metric.name]
            # within the band, give or take the small bias isotonic steps put in the AUC estimate
            assert abs(metric.value - truth) <= 3 * metric.sampling_error + 0.01, (metric, truth)
            assert 0 <= metric.lower <= metric.value <= metric.upper <= 1
            assert metric.sampling_error > 0


def test_cbpe_calibrates_overconfident_scores_on_the_reference() -> None:
    truth_scores, labels = calibrated_sample(20_000, 9)
    overconfident = 1 / (1 + np.exp(-3 * np.log(truth_scores / (1 - truth_scores))))
    estimator = fit_cbpe(labels, overconfident, overconfident > 0.5)
    assert estimator.calibrated
    scores, window_labels = calibrated_sample(5000, 10)
    window = 1 / (1 + np.exp(-3 * np.log(scores / (1 - scores))))
    estimate = estimator.estimate(window, window > 0.5)
    accuracy = skm.accuracy_score(window_labels, window > 0.5)
    assert estimate.metric("accuracy").value == pytest.approx(accuracy, abs=0.02)


def test_dle_estimates_mae_and_rmse_from_features_without_labels() -> None:
    rng = np.random.default_rng(11)

    def frame(rows: int, noisy_share: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        x = rng.random(rows)
        segment = np.where(rng.random(rows) < noisy_share, "noisy", "calm")
        truth = 10 * x + rng.normal(0, np.where(segment == "noisy", 4.0, 0.5))
        return pd.DataFrame({"x": x, "segment": segment}), 10 * x, truth

    features, predicted, truth = frame(20_000, 0.2)
    estimator = fit_dle(features, predicted, truth)
    for share in (0.2, 0.8):  # more noisy rows: the model gets worse, and DLE sees it
        window, window_pred, window_truth = frame(4000, share)
        estimate = estimator.estimate(window, window_pred)
        mae = float(np.mean(np.abs(window_truth - window_pred)))
        rmse = float(np.sqrt(np.mean((window_truth - window_pred) ** 2)))
        assert estimate.metric("mae").value == pytest.approx(mae, rel=0.05)
        assert estimate.metric("rmse").value == pytest.approx(rmse, rel=0.05)
        if share == 0.2:  # the band is sized on the reference, so it fits unshifted windows
            assert estimate.metric("mae").lower < mae < estimate.metric("mae").upper


def test_dle_takes_unseen_and_missing_categories_in_a_window() -> None:
    rng = np.random.default_rng(5)
    rows = 5000
    segment = rng.choice(["a", "b", "c"], rows)
    x = rng.random(rows)
    truth = x + rng.normal(0, np.where(segment == "c", 2.0, 0.2))
    features = pd.DataFrame({"x": x, "segment": segment})
    estimator = fit_dle(features, x, truth)
    assert estimator.categories == {"segment": ("a", "b", "c")}

    window = pd.DataFrame(
        {"x": rng.random(300), "segment": rng.choice(["a", "zz", None], 300).astype(object)}
    )
    estimate = estimator.estimate(window, window["x"].to_numpy())
    assert estimate.rows == 300
    for name in ("mae", "rmse"):
        metric = estimate.metric(name)
        assert np.isfinite(metric.value) and metric.value >= 0
        assert metric.lower <= metric.value <= metric.upper
