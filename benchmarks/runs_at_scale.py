"""Tracking at scale: Ladder alone with 100,000 runs in one project, on SQLite and PostgreSQL.

Creates the runs through Ladder's public API (``start_run(params=...)``, ``log_metrics``,
run end) from several processes and reports the creation rate; then times a filtered,
metric-ordered, paginated search: its first page, its second page (``page_token``), and
``ladder runs list`` as a subprocess (interpreter start and imports included).
Goal: the first page in < 0.5 s on both backends. Each page is checked against the
expected runs, computed from the same seeded data.

    python benchmarks/runs_at_scale.py                 # 100,000 runs, both backends
    python benchmarks/runs_at_scale.py --quick         # 2,000 runs
    python benchmarks/runs_at_scale.py --backend sqlite --runs 20000 --workers 2

PostgreSQL: 127.0.0.1:5432, user postgres, database test; the benchmark works in a
schema of its own and drops it at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import functools
import math
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

WORK = Path(__file__).resolve().parent / ".work" / "runs_at_scale"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
WHERE = "metrics.acc > 0.5 and params.opt = 'adam'"
ORDER = "metrics.acc desc"
PAGE = 50
OPTIMIZERS = ("adam", "sgd", "rmsprop")
GOAL_FIRST_PAGE_S = 0.5


@dataclass(frozen=True)
class RunSpec:
    name: str
    params: dict[str, str]
    metrics: dict[str, float]


def run_spec(index: int) -> RunSpec:
    """Run ``index``'s params and metrics, the same wherever it is computed."""
    rng = random.Random(index)
    params = {
        "opt": OPTIMIZERS[index % 3],
        "lr": str(rng.choice((0.1, 0.01, 0.001))),
        "batch": str(rng.choice((32, 64, 128))),
        "seed": str(index),
    }
    metrics = {"acc": rng.random(), "loss": rng.random(), "f1": rng.random()}
    return RunSpec(f"run-{index:06d}", params, metrics)


def expected_names(runs: int, count: int) -> list[str]:
    """Names of the first ``count`` matches of WHERE in ORDER, computed without Ladder."""
    hits = [
        spec
        for spec in map(run_spec, range(runs))
        if spec.params["opt"] == "adam" and spec.metrics["acc"] > 0.5
    ]
    hits.sort(key=lambda spec: spec.metrics["acc"], reverse=True)
    return [spec.name for spec in hits[:count]]


def create_share(
    env: dict[str, str],
    runs: int,
    budget_s: float,
    start: Any,
    claimed: Synchronized[int],
    done: Synchronized[int],
) -> None:
    """Worker: claim the next run index and create that run through the public SDK.

    Stops when every index is claimed or after ``budget_s``, so the runs created are
    always exactly ``0 .. done-1``. Interpreter start and imports happen before the
    ``start`` barrier, outside the timed part.
    """
    os.environ.update(env)
    os.chdir(env["LADDER_HOME"])
    import ladder

    start.wait()
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        with claimed.get_lock():
            index = claimed.value
            if index >= runs:
                return
            claimed.value += 1
        spec = run_spec(index)
        with ladder.start_run(name=spec.name, params=spec.params) as run:
            run.log_metrics(spec.metrics)
        with done.get_lock():
            done.value += 1


def open_store(env: dict[str, str]) -> None:
    """Create and migrate the store once, before the creating processes start."""
    os.environ.update(env)
    from ladder.workspace import open_workspace

    open_workspace(Path(env["LADDER_HOME"]))


def create_runs(env: dict[str, str], runs: int, workers: int, budget_s: float) -> tuple[int, float]:
    """Create runs through the SDK with ``workers`` processes for at most ``budget_s``.

    Returns how many runs exist (indices ``0 .. n-1``) and the wall seconds it took.
    """
    context = multiprocessing.get_context("spawn")
    claimed = context.Value("q", 0)
    done = context.Value("q", 0)
    start = context.Barrier(workers + 1)
    processes = [
        context.Process(target=create_share, args=(env, runs, budget_s, start, claimed, done))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait()
    started = time.perf_counter()
    next_report = 30.0
    while any(p.is_alive() for p in processes):
        time.sleep(0.5)
        elapsed = time.perf_counter() - started
        if elapsed >= next_report:
            next_report += 30.0
            print(
                f"  created {done.value:,}/{runs:,} runs in {elapsed:,.0f}s "
                f"({done.value / elapsed:,.0f} runs/s)",
                file=sys.stderr,
            )
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a creating process failed with exit code {process.exitcode}")
    return done.value, time.perf_counter() - started


def insert_rows(batches: list[tuple[Any, list[dict[str, Any]]]], session: Any) -> None:
    for model, rows in batches:
        session.execute(model.__table__.insert(), rows)


def bulk_fill(env: dict[str, str], first: int, runs: int) -> float:
    """Insert runs ``first .. runs-1`` straight into the tracking tables; return seconds.

    A benchmark-only shortcut for when the SDK would take too long: the rows are
    what the SDK writes (run, params, one point and the latest value per metric),
    copied from an SDK-created run for the recorded context (git, environment, host).
    """
    os.environ.update(env)
    import ladder
    from ladder.ids import new_id
    from ladder.tracking.models import LatestMetricRow, MetricRow, ParamRow, RunRow
    from ladder.workspace import open_workspace

    ws = open_workspace(Path(env["LADDER_HOME"]))
    template = ladder.search_runs(limit=1, workspace=ws).runs[0]
    context = {
        name: getattr(template, name)
        for name in (
            "project",
            "kind",
            "user",
            "host",
            "git_commit",
            "git_branch",
            "git_dirty",
            "git_diff_digest",
            "command",
            "entry_point",
            "cwd",
            "environment_digest",
        )
    }
    started = time.perf_counter()
    for chunk_start in range(first, runs, 2_000):
        run_rows, param_rows, point_rows = [], [], []
        for index in range(chunk_start, min(chunk_start + 2_000, runs)):
            spec = run_spec(index)
            now = int(time.time() * 1000)
            run_id = new_id(now)
            run_rows.append(
                {
                    **context,
                    "id": run_id,
                    "name": spec.name,
                    "status": "finished",
                    "parent_id": None,
                    "start_time": now,
                    "end_time": now,
                    "heartbeat": now,
                    "pid": os.getpid(),
                    "git_root": None,
                }
            )
            param_rows += [{"run_id": run_id, "key": k, "value": v} for k, v in spec.params.items()]
            point_rows += [
                {"run_id": run_id, "key": k, "step": 0, "timestamp": now, "value": v}
                for k, v in spec.metrics.items()
            ]
        ws.store.write(
            functools.partial(
                insert_rows,
                [
                    (RunRow, run_rows),
                    (ParamRow, param_rows),
                    (MetricRow, point_rows),
                    (LatestMetricRow, point_rows),
                ],
            )
        )
    return time.perf_counter() - started


def time_search(env: dict[str, str], runs: int, repeats: int) -> dict[str, Any]:
    os.environ.update(env)
    os.chdir(env["LADDER_HOME"])
    import ladder
    from ladder.db import forget_stores

    forget_stores()  # the first search opens the store afresh, as a new process would
    expected = expected_names(runs, 2 * PAGE)
    first_s, second_s = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        first = ladder.search_runs(where=WHERE, order_by=ORDER, limit=PAGE)
        first_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        second = ladder.search_runs(
            where=WHERE, order_by=ORDER, limit=PAGE, page_token=first.next_page_token
        )
        second_s.append(time.perf_counter() - started)
        got = [r.name for r in first.runs + second.runs]
        if got != expected:
            raise SystemExit(f"search: pages 1-2 returned {got[:3]}..., expected {expected[:3]}...")
    cli_s = []
    command = [
        "ladder",
        "runs",
        "list",
        "--where",
        WHERE,
        "--order-by",
        ORDER,
        "--limit",
        str(PAGE),
    ]
    for _ in range(repeats):
        started = time.perf_counter()
        result = subprocess.run(
            command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
        )
        cli_s.append(time.perf_counter() - started)
        if result.returncode != 0 or expected[0] not in result.stdout:
            raise SystemExit(f"ladder runs list failed:\n{result.stdout[-2000:]}{result.stderr}")
    return {"first_s": first_s, "second_s": second_s, "cli_s": cli_s}


def search_line(backend: str, runs: int, note: str, timing: dict[str, Any]) -> str:
    first = statistics.median(timing["first_s"])
    verdict = "reached" if first < GOAL_FIRST_PAGE_S else "NOT reached"
    return (
        f"runs at scale [{backend}{note}] {runs:,} runs, where {WHERE!r}, order {ORDER!r}, "
        f"limit {PAGE}: first page {first:.3f} s (cold {timing['first_s'][0]:.3f} s), "
        f"second page {statistics.median(timing['second_s']):.3f} s, "
        f"`ladder runs list` {statistics.median(timing['cli_s']):.3f} s; "
        f"goal first page < {GOAL_FIRST_PAGE_S} s: {verdict}"
    )


def analyse(env: dict[str, str]) -> None:
    """Give PostgreSQL's planner statistics, as autovacuum would on a default server."""
    os.environ.update(env)
    from sqlalchemy import text

    from ladder.workspace import open_workspace

    ws = open_workspace(Path(env["LADDER_HOME"]))
    with ws.store.engine.connect() as conn:
        tables = conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).all()
        for table in tables:  # this schema only: other schemas in the database are not ours
            conn.execute(text(f'ANALYZE "{table}"'))
        conn.commit()


def make_project(folder: Path) -> None:
    """A clean git repository, as a user's project is (runs record its commit)."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / ".git").is_dir():
        return
    (folder / "train.py").write_text("# the user's training script\n")
    (folder / ".gitignore").write_text(".ladder/\n")
    git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)


def postgres_schema(action: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        if action == "create":
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        else:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def bench_backend(backend: str, args: argparse.Namespace) -> None:
    project = WORK / f"{backend}-{args.runs}"
    make_project(project)
    env = {"LADDER_HOME": str(project), "LADDER_PROJECT": "scale", "LADDER_FLUSH_SECONDS": "1"}
    schema = f"ladder_scale_{args.runs}"
    marker = project / "created.txt"  # written once every run exists (kept stores only)
    if not marker.exists():  # start from an empty store, even after an interrupted run
        shutil.rmtree(project / ".ladder", ignore_errors=True)
        if backend == "postgres":
            postgres_schema("drop", schema)
    if backend == "postgres":
        postgres_schema("create", schema)
        env["LADDER_STORE_URI"] = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        )
    else:
        os.environ.pop("LADDER_STORE_URI", None)
    try:
        if not marker.exists():
            open_store(env)
            budget = math.inf if args.sdk_only else args.sdk_seconds
            print(
                f"[{backend}] creating {args.runs:,} runs through the SDK with "
                f"{args.workers} processes (for at most {budget:g} s)",
                file=sys.stderr,
            )
            created, seconds = create_runs(env, args.runs, args.workers, budget)
            note = (
                f"runs at scale [{backend}] SDK creation (start_run with 4 params, 3 metrics, "
                f"run end) with {args.workers} processes: {created:,} runs in {seconds:,.0f} s, "
                f"{created / seconds:,.1f} runs/s"
            )
            if created < args.runs:
                fill_s = bulk_fill(env, created, args.runs)
                note += (
                    f"; all {args.runs:,} would take ~{args.runs * seconds / created / 60:,.0f} "
                    f"min, so the other {args.runs - created:,} were inserted straight into "
                    f"the tables in {fill_s:,.0f} s"
                )
            print(note)
            marker.write_text(note + "\n")
        else:
            print(
                f"[{backend}] reusing the kept store: {marker.read_text().strip()}", file=sys.stderr
            )
        timing = time_search(env, args.runs, args.repeats)
        print(search_line(backend, args.runs, "", timing))
        if backend == "postgres":
            # This server runs with autovacuum off, so the planner has no statistics
            # for the freshly loaded tables; a default server would have analysed them.
            analyse(env)
            timing = time_search(env, args.runs, args.repeats)
            print(search_line(backend, args.runs, " after ANALYZE", timing))
    finally:
        os.chdir(WORK)  # the project folder may be removed below
        if not args.keep:
            if backend == "postgres":
                from ladder.db import forget_stores

                forget_stores()
                postgres_schema("drop", schema)
            shutil.rmtree(project, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 runs")
    parser.add_argument("--runs", type=int, help="runs in the project (default 100,000)")
    parser.add_argument("--workers", type=int, default=2, help="creating processes")
    parser.add_argument(
        "--sdk-seconds",
        type=float,
        default=300,
        help="create runs through the SDK for at most this long, insert the rest directly",
    )
    parser.add_argument("--sdk-only", action="store_true", help="create every run via the SDK")
    parser.add_argument("--repeats", type=int, default=5, help="timed searches (median)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the store (and reuse it next time instead of creating the runs again)",
    )
    args = parser.parse_args()
    args.runs = args.runs or (2_000 if args.quick else 100_000)
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        bench_backend(backend, args)


if __name__ == "__main__":
    main()
