"""Drift: Ladder vs Evidently's data-drift preset vs a plain scipy loop, and Ladder at scale.

1. Reference and current of 100,000 rows each, 20 numeric columns (5 of them
   shifted) and 5 categorical ones, written once as Parquet. Evidently reads the
   files in its own virtualenv and runs ``Report([DataDriftPreset()])``; Ladder
   runs ``compute_drift`` on the same frames; the scipy loop computes the same
   statistics column by column (``wasserstein_distance``, ``jensenshannon``).
   Each tool's time excludes reading the files. The drift verdict per column
   must agree.
2. Ladder alone on 1,000,000 rows × 100 columns (90 numeric, 10 categorical) for
   reference and current, in a fresh process whose peak RSS is measured
   (including the two input frames, ~1.5 GiB of it).

Run: ``python benchmarks/drift_vs_evidently.py`` (``--skip-scale`` for part 1 only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.peers import peer_python, ratio_line, run_peer

WORK = Path(__file__).resolve().parent / ".work" / "drift"
ROWS = 100_000
NUMERIC, SHIFTED, CATEGORICAL = 20, 5, 5

EVIDENTLY = r"""
import json, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
started = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current, reference)
seconds = time.perf_counter() - started
verdicts = {}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if "column" not in config or "method" not in config:
        continue
    value, threshold = metric["value"], config["threshold"]
    p_value = "p_value" in config["method"]
    verdicts[config["column"]] = {
        "method": config["method"],
        "value": float(value),
        "drifted": bool(value < threshold if p_value else value >= threshold),
    }
print(json.dumps({"seconds": seconds, "columns": verdicts}))
"""


def make_frames(
    rows: int, numeric: int, shifted: int, categorical: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    reference: dict[str, np.ndarray] = {}
    current: dict[str, np.ndarray] = {}
    for i in range(numeric):
        scale = 1.0 + i % 4
        reference[f"num_{i}"] = rng.normal(0, scale, rows)
        shift = 0.5 * scale if i < shifted else 0.0
        current[f"num_{i}"] = rng.normal(shift, scale, rows)
    letters = np.array(list("abcdefghij"))
    for i in range(categorical):
        weights = rng.dirichlet(np.ones(10))
        reference[f"cat_{i}"] = letters[rng.choice(10, rows, p=weights)]
        current[f"cat_{i}"] = letters[rng.choice(10, rows, p=weights)]
    return pd.DataFrame(reference), pd.DataFrame(current)


def scipy_loop(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, bool]:
    """The floor: one scipy call per column, Evidently's methods and thresholds."""
    from scipy import spatial, stats

    verdicts: dict[str, bool] = {}
    for name in reference.columns:
        ref, cur = reference[name].dropna(), current[name].dropna()
        if pd.api.types.is_numeric_dtype(ref):
            distance = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
        else:
            keys = sorted(set(ref.unique()) | set(cur.unique()))
            p = ref.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
            q = cur.value_counts(normalize=True).reindex(keys, fill_value=0).to_numpy()
            distance = spatial.distance.jensenshannon(p, q, base=2)
        verdicts[name] = bool(distance >= 0.1)
    return verdicts


def compare_with_peers() -> None:
    from ladder.monitoring import compute_drift

    WORK.mkdir(parents=True, exist_ok=True)
    reference, current = make_frames(ROWS, NUMERIC, SHIFTED, CATEGORICAL, seed=0)
    ref_path, cur_path = WORK / "reference.parquet", WORK / "current.parquet"
    reference.to_parquet(ref_path)
    current.to_parquet(cur_path)

    started = time.perf_counter()
    report = compute_drift(reference, current)
    ladder_seconds = time.perf_counter() - started
    ladder_verdicts = {c.column: bool(c.drifted) for c in report.columns}
    ladder_scores = {c.column: c.score for c in report.columns}

    started = time.perf_counter()
    scipy_verdicts = scipy_loop(reference, current)
    scipy_seconds = time.perf_counter() - started

    python = peer_python("evidently", ["evidently", "pandas<3"])
    evidently = run_peer(python, EVIDENTLY, str(ref_path), str(cur_path))
    evidently_verdicts = {k: bool(v["drifted"]) for k, v in evidently["columns"].items()}

    gap = max(abs(ladder_scores[n] - evidently["columns"][n]["value"]) for n in reference)
    expected = {name: name.startswith("num_") and int(name[4:]) < SHIFTED for name in reference}
    disagreements = [n for n in reference if ladder_verdicts[n] != evidently_verdicts.get(n)]
    print(
        f"drifted columns: ladder {sorted(n for n, d in ladder_verdicts.items() if d)}, "
        f"evidently {sorted(n for n, d in evidently_verdicts.items() if d)}"
    )
    print(f"same verdict per column as Evidently: {not disagreements} {disagreements or ''}")
    print(f"largest difference of a drift score from Evidently's: {gap:.2e}")
    print(f"same verdict as the scipy loop: {ladder_verdicts == scipy_verdicts}")
    print(f"verdicts match the planted shifts: {ladder_verdicts == expected}")
    print(
        ratio_line(
            "drift 100k×25 vs evidently", ladder_seconds, "evidently", evidently["seconds"], "s"
        )
    )
    print(ratio_line("drift 100k×25 vs scipy loop", ladder_seconds, "scipy", scipy_seconds, "s"))
    print(
        json.dumps(
            {
                "ladder_s": ladder_seconds,
                "evidently_s": evidently["seconds"],
                "scipy_s": scipy_seconds,
                "speedup_vs_evidently": evidently["seconds"] / ladder_seconds,
                "same_verdicts": not disagreements,
                "max_score_difference": gap,
            }
        )
    )


SCALE = r"""
import json, resource, sys, time
import numpy as np
import pandas as pd
from ladder.monitoring import compute_drift

ROWS, NUMERIC, SHIFTED, CATEGORICAL = 1_000_000, 90, 20, 10


def frame(seed: int, shifted: bool) -> pd.DataFrame:
    # one float block filled in place: no DataFrame-construction copy inflates the peak
    rng = np.random.default_rng(seed)
    values = np.empty((ROWS, NUMERIC))
    for i in range(NUMERIC):
        values[:, i] = rng.standard_normal(ROWS) + (0.5 if shifted and i < SHIFTED else 0.0)
    out = pd.DataFrame(values, columns=[f"num_{i}" for i in range(NUMERIC)], copy=False)
    letters = list("abcdefghij")
    for i in range(CATEGORICAL):
        codes = rng.integers(0, 10, ROWS).astype(np.int8)
        out[f"cat_{i}"] = pd.Categorical.from_codes(codes, letters)
    return out


reference, current = frame(1, False), frame(2, True)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
report = compute_drift(reference, current, distributions=False)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_gib": peak / 2**20,
                  "inputs_rss_gib": before / 2**20, "drifted": len(report.drifted_features),
                  "columns": len(report.columns)}))
"""


def at_scale() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCALE], capture_output=True, text=True, check=True
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"drift 1M×100 ladder: {data['seconds']:.1f} s (goal < 60 s), peak RSS "
        f"{data['peak_rss_gib']:.2f} GiB of which inputs {data['inputs_rss_gib']:.2f} GiB "
        f"(goal < 4 GiB), {data['drifted']} of {data['columns']} columns drifted"
    )
    print(json.dumps(data))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-only", action="store_true")
    options = parser.parse_args()
    if not options.scale_only:
        compare_with_peers()
    if not options.skip_scale:
        at_scale()


if __name__ == "__main__":
    main()
