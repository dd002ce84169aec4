"""Performance estimation without labels: Ladder's CBPE and DLE vs NannyML's, on NannyML's data.

NannyML ships synthetic datasets with a reference period (labels known) and an
analysis period. In NannyML's own virtualenv this exports them to Parquet and
runs NannyML's CBPE (two binary datasets, chunks of 5,000 rows) and DLE (the car
price regression dataset, chunks of 6,000 rows), timing fit + estimate and writing
the per-chunk estimates to JSON. Ladder then fits and estimates on the same
chunks in this interpreter. Printed: the largest absolute difference per metric
over all chunks (goal: within 0.01 for CBPE), and the time ratio (goal: CBPE at
least 5× faster).

Run: ``python benchmarks/cbpe_vs_nannyml.py``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.peers import peer_python, ratio_line, run_peer

WORK = Path(__file__).resolve().parent / ".work" / "nannyml"
CBPE_METRICS = ["roc_auc", "f1", "precision", "recall", "accuracy"]
BINARY = {
    # dataset loader → (label column)
    "load_synthetic_car_loan_dataset": "repaid",
    "load_synthetic_binary_classification_dataset": "work_home_actual",
}
CBPE_CHUNK = 5000
DLE_CHUNK = 6000
DLE_FEATURES = [
    "car_age",
    "km_driven",
    "price_new",
    "accident_count",
    "door_count",
    "fuel",
    "transmission",
]

NANNYML = r"""
import os
os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # no telemetry from a benchmark
import json, sys, time
import pandas as pd
pd.set_option("future.infer_string", False)  # NannyML's DLE breaks on Arrow-backed strings
import nannyml as nml

out = sys.argv[1]
config = json.loads(sys.argv[2])
binary, metrics = config["binary"], config["metrics"]
result = {}
for loader, label in binary.items():
    reference, analysis, targets = getattr(nml, loader)()
    reference.to_parquet(f"{out}/{loader}_reference.parquet")
    analysis.merge(targets, on="id").to_parquet(f"{out}/{loader}_analysis.parquet")
    started = time.perf_counter()
    estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true=label,
                         metrics=metrics, chunk_size=config["cbpe_chunk"],
                         problem_type="classification_binary")
    estimator.fit(reference)
    estimated = estimator.estimate(analysis)
    seconds = time.perf_counter() - started
    frame = estimated.filter(period="analysis").to_df()
    result[loader] = {
        "seconds": seconds,
        "estimates": {m: frame[(m, "value")].tolist() for m in metrics},
        "sampling_errors": {m: frame[(m, "sampling_error")].tolist() for m in metrics},
    }

reference, analysis, targets = nml.load_synthetic_car_price_dataset()
for frame in (reference, analysis):
    for name in ("fuel", "transmission"):
        frame[name] = frame[name].astype(object)
reference.to_parquet(f"{out}/car_price_reference.parquet")
analysis.merge(targets, on="id").to_parquet(f"{out}/car_price_analysis.parquet")
started = time.perf_counter()
estimator = nml.DLE(feature_column_names=config["dle_features"], y_pred="y_pred",
                    y_true="y_true", metrics=["mae", "rmse"], chunk_size=config["dle_chunk"])
estimator.fit(reference)
estimated = estimator.estimate(analysis)
seconds = time.perf_counter() - started
frame = estimated.filter(period="analysis").to_df()
result["dle"] = {"seconds": seconds,
                 "estimates": {m: frame[(m, "value")].tolist() for m in ("mae", "rmse")},
                 "sampling_errors": {m: frame[(m, "sampling_error")].tolist()
                                     for m in ("mae", "rmse")}}
print(json.dumps(result))
"""


def ladder_cbpe(
    loader: str, label: str
) -> tuple[float, dict[str, list[float]], dict[str, list[float]]]:
    from ladder.monitoring import fit_cbpe

    reference = pd.read_parquet(WORK / f"{loader}_reference.parquet")
    analysis = pd.read_parquet(WORK / f"{loader}_analysis.parquet")
    started = time.perf_counter()
    estimator = fit_cbpe(
        reference[label].to_numpy(),
        reference["y_pred_proba"].to_numpy(),
        reference["y_pred"].to_numpy() == 1,
    )
    values: dict[str, list[float]] = {m: [] for m in CBPE_METRICS}
    errors: dict[str, list[float]] = {m: [] for m in CBPE_METRICS}
    for start in range(0, len(analysis), CBPE_CHUNK):
        chunk = analysis.iloc[start : start + CBPE_CHUNK]
        estimate = estimator.estimate(
            chunk["y_pred_proba"].to_numpy(), chunk["y_pred"].to_numpy() == 1
        )
        for metric in estimate.metrics:
            values[metric.name].append(metric.value)
            errors[metric.name].append(metric.sampling_error)
    return time.perf_counter() - started, values, errors


def ladder_dle() -> tuple[float, dict[str, list[float]], dict[str, list[float]]]:
    from ladder.monitoring import fit_dle

    reference = pd.read_parquet(WORK / "car_price_reference.parquet")
    analysis = pd.read_parquet(WORK / "car_price_analysis.parquet")
    started = time.perf_counter()
    estimator = fit_dle(
        reference[DLE_FEATURES], reference["y_pred"].to_numpy(), reference["y_true"].to_numpy()
    )
    values: dict[str, list[float]] = {"mae": [], "rmse": []}
    errors: dict[str, list[float]] = {"mae": [], "rmse": []}
    for start in range(0, len(analysis), DLE_CHUNK):
        chunk = analysis.iloc[start : start + DLE_CHUNK]
        for metric in estimator.estimate(chunk[DLE_FEATURES], chunk["y_pred"].to_numpy()).metrics:
            values[metric.name].append(metric.value)
            errors[metric.name].append(metric.sampling_error)
    return time.perf_counter() - started, values, errors


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    python = peer_python("nannyml", ["nannyml", "statsmodels"])
    config = {
        "binary": BINARY,
        "metrics": CBPE_METRICS,
        "cbpe_chunk": CBPE_CHUNK,
        "dle_chunk": DLE_CHUNK,
        "dle_features": DLE_FEATURES,
    }
    peer = run_peer(python, NANNYML, str(WORK), json.dumps(config))
    summary: dict[str, object] = {}
    ladder_total = nannyml_total = 0.0
    for loader, label in BINARY.items():
        seconds, values, errors = ladder_cbpe(loader, label)
        theirs = peer[loader]
        gaps = {
            m: float(np.max(np.abs(np.array(values[m]) - np.array(theirs["estimates"][m]))))
            for m in CBPE_METRICS
        }
        error_gaps = {
            m: float(np.max(np.abs(np.array(errors[m]) - np.array(theirs["sampling_errors"][m]))))
            for m in CBPE_METRICS
        }
        chunks = len(values["accuracy"])
        print(
            f"cbpe {loader} ({chunks} chunks): max |ladder − nannyml| "
            + ", ".join(f"{m} {g:.2e}" for m, g in gaps.items())
            + f"; within 0.01 on every chunk: {all(g <= 0.01 for g in gaps.values())}"
        )
        print(
            "  sampling error max |ladder − nannyml| "
            + ", ".join(f"{m} {g:.2e}" for m, g in error_gaps.items())
        )
        print(ratio_line(f"cbpe {loader}", seconds, "nannyml", theirs["seconds"], "s"))
        ladder_total += seconds
        nannyml_total += theirs["seconds"]
        summary[loader] = {
            "max_abs_difference": gaps,
            "sampling_error_max_abs_difference": error_gaps,
            "ladder_s": seconds,
            "nannyml_s": theirs["seconds"],
        }
    print(ratio_line("cbpe both datasets", ladder_total, "nannyml", nannyml_total, "s"))
    print(f"cbpe speed-up: {nannyml_total / ladder_total:.1f}× (goal ≥ 5×)")

    seconds, values, errors = ladder_dle()
    theirs = peer["dle"]
    for metric in ("mae", "rmse"):
        ours, nml = np.array(values[metric]), np.array(theirs["estimates"][metric])
        gap = float(np.max(np.abs(ours - nml)))
        error_gap = float(
            np.max(np.abs(np.array(errors[metric]) - np.array(theirs["sampling_errors"][metric])))
        )
        print(
            f"dle car_price {metric} ({len(ours)} chunks): max |ladder − nannyml| "
            f"{gap:.2e} on values around {np.mean(nml):.0f} "
            f"(max relative {np.max(np.abs(ours - nml) / nml):.2e}); "
            f"within 0.01 on every chunk: {gap <= 0.01}; "
            f"sampling error max |ladder − nannyml| {error_gap:.2e}"
        )
        summary[f"dle_{metric}"] = {
            "max_abs_difference": gap,
            "max_relative_difference": float(np.max(np.abs(ours - nml) / nml)),
            "sampling_error_max_abs_difference": error_gap,
        }
    print(ratio_line("dle car_price", seconds, "nannyml", theirs["seconds"], "s"))
    summary["dle"] = {"ladder_s": seconds, "nannyml_s": theirs["seconds"]}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
