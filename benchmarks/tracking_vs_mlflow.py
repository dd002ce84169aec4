"""Tracking: Ladder against MLflow (latest, SQLite backend) on the same work, in one run.

(a) single ``log_metric`` calls in one run, timed until the data is durable
    (Ladder: the ``with start_run()`` block has exited; MLflow: ``end_run()`` returned);
(b) metric points through batch logging (Ladder ``run.log_metrics({...}, step=)``,
    MLflow ``MlflowClient.log_batch`` in chunks of 1,000);
(c) creating runs with 10 params and 10 metrics each, then a filtered, metric-ordered
    search over them (median of several searches; both tools must return the same runs
    in the same order).

Ladder runs in this interpreter, MLflow in its own virtualenv (``peers.py``). For each
part, each tool gets a fresh project folder (a small, clean git repository under
``benchmarks/.work/``, so Ladder's git capture does its usual work) and a fresh SQLite
database; the parts run Ladder then MLflow, one part after the other, so that a change
in the machine's load weighs on both sides of a ratio alike. ``--profile DIR`` writes
cProfile stats of each Ladder part (``python -m pstats DIR/create.prof``).

    python benchmarks/tracking_vs_mlflow.py            # full sizes (several minutes)
    python benchmarks/tracking_vs_mlflow.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from peers import peer_python, ratio_line, run_peer

WORK = Path(__file__).resolve().parent / ".work" / "tracking_vs_mlflow"
SEARCH_WHERE = "metrics.m0 > 0.5 and params.p0 = 'x'"
SEARCH_ORDER = "metrics.m1"
GOALS = {"single": 200.0, "batch": 20.0, "create": 10.0, "search": 10.0}


@dataclass(frozen=True)
class Sizes:
    calls: int  # (a) single log_metric calls
    steps: int  # (b) steps, each logging ``keys`` metrics
    keys: int
    runs: int  # (c) runs created, then searched
    searches: int  # (c) repeats of the search; the median is reported
    chunk: int = 1000  # (b) MLflow log_batch chunk size

    @property
    def points(self) -> int:
        return self.steps * self.keys


FULL = Sizes(calls=10_000, steps=10_000, keys=10, runs=1_000, searches=7)
QUICK = Sizes(calls=1_000, steps=1_000, keys=10, runs=100, searches=3)


def run_specs(count: int, seed: int = 2) -> list[dict[str, Any]]:
    """The runs of part (c): identical for both tools. ``p0`` is 'x' for 49 runs in 50."""
    rng = random.Random(seed)
    specs = []
    for index in range(count):
        params = {"p0": "y" if index % 50 == 0 else "x"}
        params |= {f"p{j}": str(rng.randint(0, 99)) for j in range(1, 10)}
        metrics = {f"m{j}": rng.random() for j in range(10)}
        specs.append({"name": f"r{index:05d}", "params": params, "metrics": metrics})
    return specs


def expected_matches(specs: list[dict[str, Any]]) -> list[str]:
    """The run names the search must return, best ``m1`` first."""
    hits = [s for s in specs if s["metrics"]["m0"] > 0.5 and s["params"]["p0"] == "x"]
    return [s["name"] for s in sorted(hits, key=lambda s: s["metrics"]["m1"], reverse=True)]


def make_project(folder: Path) -> None:
    """A fresh, clean git repository: what a user's project looks like to both tools."""
    folder.mkdir(parents=True)
    (folder / "train.py").write_text("# the user's training script\n")
    (folder / ".gitignore").write_text(".ladder/\nmlflow-store/\n")
    git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)


@contextlib.contextmanager
def profiled(folder: Path | None, part: str) -> Iterator[None]:
    """With ``--profile DIR``, write the cProfile stats of one Ladder part to DIR/<part>.prof."""
    if folder is None:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        folder.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(folder / f"{part}.prof")


def ladder_part(
    part: str,
    project: Path,
    sizes: Sizes,
    specs: list[dict[str, Any]],
    profile: Path | None = None,
) -> dict[str, Any]:
    """Run one part on Ladder in a fresh project; return its timings."""
    for name in ("LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT"):
        os.environ.pop(name, None)
    os.environ["LADDER_HOME"] = str(project)
    os.chdir(project)
    import ladder
    from ladder.workspace import open_workspace

    open_workspace()  # creates and migrates the store (untimed, like MLflow's set-up)
    with ladder.start_run(name="warm-up") as run:
        run.log_metric("warm", 0.0)

    if part == "single":
        started = time.perf_counter()
        with profiled(profile, "single"), ladder.start_run(name="single-calls") as run:
            for step in range(sizes.calls):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
        seconds = time.perf_counter() - started
        stored = len(ladder.metric_history(run.id, "loss"))
        if stored != sizes.calls:
            raise SystemExit(f"ladder (a): {stored} points stored, expected {sizes.calls}")
        return {"single_s": seconds}

    if part == "batch":
        keys = [f"k{j}" for j in range(sizes.keys)]
        started = time.perf_counter()
        with profiled(profile, "batch"), ladder.start_run(name="batch") as run:
            for step in range(sizes.steps):
                run.log_metrics({key: step * 0.001 + j for j, key in enumerate(keys)}, step=step)
        seconds = time.perf_counter() - started
        stored = sum(len(ladder.metric_history(run.id, key)) for key in keys)
        if stored != sizes.points:
            raise SystemExit(f"ladder (b): {stored} points stored, expected {sizes.points}")
        return {"batch_s": seconds}

    started = time.perf_counter()
    with profiled(profile, "create"):
        for spec in specs:
            with ladder.start_run(name=spec["name"]) as run:
                run.log_params(spec["params"])
                run.log_metrics(spec["metrics"])
    create_s = time.perf_counter() - started
    search_s = []
    names: list[str] = []
    for _ in range(sizes.searches):
        started = time.perf_counter()
        with profiled(profile, "search"):
            page = ladder.search_runs(
                where=SEARCH_WHERE, order_by=f"{SEARCH_ORDER} desc", limit=len(specs)
            )
        search_s.append(time.perf_counter() - started)
        names = [r.name for r in page.runs]
    return {"create_s": create_s, "search_s": search_s, "names": names}


MLFLOW_SIDE = r"""
import json, os, sys, time
from pathlib import Path

part, project, sizes_json, specs_path, where, order = sys.argv[1:7]
sizes = json.loads(sizes_json)
os.chdir(project)

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

store = Path(project) / "mlflow-store"
store.mkdir()
mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
experiment = mlflow.create_experiment("bench", artifact_location=(store / "artifacts").as_uri())
mlflow.set_experiment(experiment_id=experiment)
client = MlflowClient()
with mlflow.start_run(run_name="warm-up"):
    mlflow.log_metric("warm", 0.0)
result = {"version": mlflow.__version__}

if part == "single":
    started = time.perf_counter()
    with mlflow.start_run(run_name="single-calls") as run:
        for step in range(sizes["calls"]):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    result["single_s"] = time.perf_counter() - started
    assert len(client.get_metric_history(run.info.run_id, "loss")) == sizes["calls"]

if part == "batch":
    keys = [f"k{j}" for j in range(sizes["keys"])]
    started = time.perf_counter()
    with mlflow.start_run(run_name="batch") as run:
        pending = []
        for step in range(sizes["steps"]):
            stamp = int(time.time() * 1000)
            pending.extend(Metric(key, step * 0.001 + j, stamp, step) for j, key in enumerate(keys))
            if len(pending) >= sizes["chunk"]:
                client.log_batch(run.info.run_id, metrics=pending[: sizes["chunk"]])
                pending = pending[sizes["chunk"] :]
        if pending:
            client.log_batch(run.info.run_id, metrics=pending)
    result["batch_s"] = time.perf_counter() - started
    stored = sum(len(client.get_metric_history(run.info.run_id, key)) for key in keys)
    assert stored == sizes["steps"] * sizes["keys"], stored

if part == "runs":
    specs = json.loads(Path(specs_path).read_text())
    started = time.perf_counter()
    for spec in specs:
        with mlflow.start_run(run_name=spec["name"]):
            mlflow.log_params(spec["params"])
            mlflow.log_metrics(spec["metrics"])
    result["create_s"] = time.perf_counter() - started
    result["search_s"] = []
    for _ in range(sizes["searches"]):
        started = time.perf_counter()
        frame = mlflow.search_runs(
            experiment_ids=[experiment],
            filter_string=where,
            order_by=[f"{order} DESC"],
            max_results=len(specs),
        )
        result["search_s"].append(time.perf_counter() - started)
    result["names"] = list(frame["tags.mlflow.runName"])
print(json.dumps(result))
"""

PARTS = ("single", "batch", "runs")


def report(sizes: Sizes, ours: dict[str, Any], theirs: dict[str, Any], expected: list[str]) -> None:
    for side, result in (("ladder", ours), ("mlflow", theirs)):
        if result["names"] != expected:
            raise SystemExit(
                f"{side}: the search returned {len(result['names'])} runs, expected "
                f"{len(expected)} in m1-descending order; first: {result['names'][:3]}"
            )
    search_ours = statistics.median(ours["search_s"])
    search_theirs = statistics.median(theirs["search_s"])
    figures = {
        "single": (sizes.calls / ours["single_s"], sizes.calls / theirs["single_s"], "calls/s"),
        "batch": (sizes.points / ours["batch_s"], sizes.points / theirs["batch_s"], "points/s"),
        "create": (sizes.runs / ours["create_s"], sizes.runs / theirs["create_s"], "runs/s"),
        "search": (1 / search_ours, 1 / search_theirs, "searches/s"),
    }
    titles = {
        "single": f"tracking (a) {sizes.calls:,} single log_metric calls",
        "batch": f"tracking (b) {sizes.points:,} points by batch logging",
        "create": f"tracking (c) creating {sizes.runs:,} runs x 10 params x 10 metrics",
        "search": f"tracking (c) filtered, metric-ordered search over {sizes.runs:,} runs",
    }
    mlflow = f"mlflow {theirs['version']}"
    for part, (ladder_value, peer_value, unit) in figures.items():
        print(ratio_line(titles[part], ladder_value, mlflow, peer_value, unit))
    print(
        f"# search returned the same {len(expected)} runs in the same order on both; "
        f"median seconds per search: ladder {search_ours:.4f}, mlflow {search_theirs:.4f}"
    )
    for part, (ladder_value, peer_value, _) in figures.items():
        ratio = ladder_value / peer_value
        verdict = "reached" if ratio >= GOALS[part] else "NOT reached"
        print(f"# goal {part}: ladder >= {GOALS[part]:g}x mlflow: {ratio:,.2f}x, {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--calls", type=int, help="(a) single log_metric calls")
    parser.add_argument("--steps", type=int, help="(b) steps of --keys metrics each")
    parser.add_argument("--keys", type=int, help="(b) metrics per step")
    parser.add_argument("--runs", type=int, help="(c) runs to create and search")
    parser.add_argument("--searches", type=int, help="(c) search repeats (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the project folders")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="write cProfile stats of each Ladder part to DIR/<part>.prof (timings inflate)",
    )
    parser.add_argument("--ladder-only", action="store_true", help="skip MLflow (profiling)")
    args = parser.parse_args()
    base = QUICK if args.quick else FULL
    sizes = Sizes(
        calls=args.calls or base.calls,
        steps=args.steps or base.steps,
        keys=args.keys or base.keys,
        runs=args.runs or base.runs,
        searches=args.searches or base.searches,
    )
    python = None if args.ladder_only else peer_python("mlflow", ["mlflow"])
    folder = WORK / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    specs = run_specs(sizes.runs)
    specs_path = folder / "specs.json"
    folder.mkdir(parents=True)
    specs_path.write_text(json.dumps(specs))
    profile = args.profile.resolve() if args.profile else None
    print(f"# sizes: {asdict(sizes)}; work folder {folder}", file=sys.stderr)
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    try:
        # Part by part, Ladder then MLflow, so that a change in the machine's load
        # between parts weighs on both sides of each ratio alike.
        for part in PARTS:
            make_project(folder / part / "ladder")
            make_project(folder / part / "mlflow")
            ours |= ladder_part(part, folder / part / "ladder", sizes, specs, profile)
            os.chdir(WORK)
            if python is None:
                continue
            theirs |= run_peer(
                python,
                MLFLOW_SIDE,
                part,
                str(folder / part / "mlflow"),
                json.dumps(asdict(sizes)),
                str(specs_path),
                SEARCH_WHERE,
                SEARCH_ORDER,
            )
            print(f"# part {part} done", file=sys.stderr)
        if args.ladder_only:
            for part, seconds in ours.items():
                if part.endswith("_s"):
                    print(f"# ladder {part}: {seconds}")
            return
        report(sizes, ours, theirs, expected_matches(specs))
    finally:
        os.chdir(WORK)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
