"""Model registry: Ladder against MLflow registering and loading the same models.

Two models: a 100-tree random forest (scikit-learn) and a ~10 MB PyTorch MLP.
Each tool registers each model ``--repeats`` times inside a run (Ladder:
``ladder.register_model(..., input_example=)``; MLflow: ``mlflow.<flavor>.log_model(...,
input_example=, registered_model_name=)``), then loads the registered version back
``--repeats`` times from a cold in-process cache (Ladder: ``load_model("name/N")``
after ``clear_model_cache()``; MLflow: ``mlflow.<flavor>.load_model("models:/name/N")``).
Both store the forest with skops; Ladder reads it with its own reader (``skops_io``)
and the run says so, or why it fell back to ``skops.io.loads``.
The median of each is reported; imports and one warm-up call are not timed.

Ladder runs in this interpreter, MLflow in its own virtualenv (``peers.py``), each
with a fresh SQLite store and local artifacts under ``benchmarks/.work/registry/``.
Both train the same models from the same seed and data.

    python benchmarks/registry.py              # 5 repeats
    python benchmarks/registry.py --repeats 2  # smoke run
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from peers import peer_python, ratio_line, run_peer

WORK = Path(__file__).resolve().parent / ".work" / "registry"
GOAL = 3.0  # the goal: at least 3x faster register and load

# The network both tools save: importable by class path from WORK (Ladder's pytorch
# flavor rebuilds it from there; MLflow pickles a reference to it).
MODELS_MODULE = """
import torch


class WideMLP(torch.nn.Module):
    def __init__(self, features: int = 20, hidden: int = 1150) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(features, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        )

    def forward(self, x):
        return self.net(x)
"""

# Shared by both sides: the same data, forest and network from the same seeds.
TRAIN = """
import numpy as np, pandas as pd, torch
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from bench_models import WideMLP

X, y = make_classification(n_samples=5000, n_features=20, random_state=0)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(frame, y)
torch.manual_seed(0)
net = WideMLP()
example = frame.head(5)
"""

MLFLOW = (
    """
import json, os, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
work, repeats = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, work)
os.chdir(work)
import mlflow, mlflow.pytorch, mlflow.sklearn
import logging; logging.getLogger("mlflow").setLevel(logging.ERROR)
mlflow.set_tracking_uri(f"sqlite:///{work}/mlflow/mlflow.db")
mlflow.set_experiment("bench")
"""
    + TRAIN
    + """
results = {}
# MLflow saves scikit-learn models with skops too and asks the caller to trust trees.
trees = {"skops_trusted_types": ["sklearn.tree._tree.Tree"]}
for label, flavor, model, example_input, options in (
    ("forest", mlflow.sklearn, forest, example, trees),
    ("mlp", mlflow.pytorch, net, example.to_numpy(dtype="float32"), {}),
):
    register = []
    for attempt in range(repeats + 1):
        with mlflow.start_run():
            started = time.perf_counter()
            flavor.log_model(model, name="model", input_example=example_input,
                             registered_model_name=label, **options)
            elapsed = time.perf_counter() - started
        if attempt:
            register.append(elapsed)
    load = []
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        flavor.load_model(f"models:/{label}/{attempt + 1}")
        elapsed = time.perf_counter() - started
        if attempt:
            load.append(elapsed)
    results[label] = {"register": statistics.median(register), "load": statistics.median(load)}
results["version"] = mlflow.__version__
print(json.dumps(results))
"""
)


def run_ladder(work: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Register and load both models with Ladder in this process; median seconds."""
    os.environ["LADDER_HOME"] = str(work / "ladder")
    for name in ("LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(work))
    namespace: dict[str, Any] = {}
    exec(TRAIN, namespace)  # the same training code the MLflow side runs
    import ladder
    from ladder.registry import clear_model_cache, load_model

    results = {}
    for label, model, options in (
        ("forest", namespace["forest"], {}),
        ("mlp", namespace["net"], {"init_kwargs": {"features": 20, "hidden": 1150}}),
    ):
        register = []
        for attempt in range(repeats + 1):
            with ladder.start_run(name=f"bench-{label}"):
                started = time.perf_counter()
                ladder.register_model(model, label, input_example=namespace["example"], **options)
                elapsed = time.perf_counter() - started
            if attempt:
                register.append(elapsed)
        load = []
        for attempt in range(repeats + 1):
            clear_model_cache()
            started = time.perf_counter()
            load_model(f"{label}/{attempt + 1}")
            elapsed = time.perf_counter() - started
            if attempt:
                load.append(elapsed)
        results[label] = {"register": statistics.median(register), "load": statistics.median(load)}
    return results


def model_sizes(work: Path) -> dict[str, int]:
    from ladder.registry import get_model_version

    return {name: get_model_version(f"{name}/1").artifact_size for name in ("forest", "mlp")}


def forest_reader() -> str:
    """Which reader loads the registered forest: Ladder's own, or skops as its fallback."""
    from ladder.registry import get_model_version
    from ladder.registry.flavors.sklearn import FILE, TRUSTED_TYPES
    from ladder.registry.flavors.skops_io import NotHandled, read_skops
    from ladder.workspace import open_workspace

    artifacts = open_workspace().artifacts
    manifest = artifacts.read_manifest(get_model_version("forest/1").artifact_digest)
    digest = next(entry.digest for entry in manifest.entries if entry.path == FILE)
    try:
        read_skops(artifacts.get_bytes(digest), TRUSTED_TYPES)
    except NotHandled as exc:
        return f"skops.io.loads (Ladder's reader fell back: {exc})"
    return "Ladder's skops reader (skops_io), no fallback"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "mlflow").mkdir(parents=True)
    (WORK / "bench_models.py").write_text(MODELS_MODULE)
    python = peer_python("mlflow-models", ["mlflow", "scikit-learn", "torch==2.13.0"])
    peer = run_peer(python, MLFLOW, str(WORK), str(args.repeats))
    ours = run_ladder(WORK, args.repeats)
    sizes = model_sizes(WORK)
    print(
        f"# models: forest {sizes['forest'] / 1e6:.1f} MB (skops), "
        f"mlp {sizes['mlp'] / 1e6:.1f} MB (safetensors); median of {args.repeats}"
    )
    missed = []
    mlflow = f"mlflow {peer['version']}"
    for label in ("forest", "mlp"):
        for step, unit in (("register", "registrations/s"), ("load", "loads/s")):
            mine, theirs = 1 / ours[label][step], 1 / peer[label][step]
            print(ratio_line(f"registry {step} {label}", mine, mlflow, theirs, unit))
            if mine / theirs < GOAL:
                missed.append(f"{step} {label} ({mine / theirs:.2f}x)")
    for label in ("forest", "mlp"):
        print(
            f"# median ms {label}: register ladder {ours[label]['register'] * 1000:.1f}, "
            f"mlflow {peer[label]['register'] * 1000:.1f}; load ladder "
            f"{ours[label]['load'] * 1000:.1f}, mlflow {peer[label]['load'] * 1000:.1f}"
        )
    print(f"# forest loaded by {forest_reader()}")
    verdict = f"not reached for {', '.join(missed)}" if missed else "reached everywhere"
    print(f"# goal: ladder >= {GOAL:g}x mlflow on register and load: {verdict}")


if __name__ == "__main__":
    main()
