"""Pipeline orchestration overhead per step: Ladder against ZenML (Prefect 3 if ZenML cannot run).

Workloads (every step trivial, so the time is the orchestrator's):
* a 50-step chain: ``inc(inc(...inc(0)))``;
* a 50-wide fan-out: ``source()`` → 50 × ``work(xs, i)`` → ``join(parts)`` (52 steps).
Each runs on a fresh store, first with an empty cache, then again fully cached.
Overhead per step = wall time of the run / number of steps (the work is microseconds).
The fan-out runs on Ladder's default local executor (parallel branches in worker
processes, whose start-up is part of the first run) and with ``max_workers=1``
(in-process, one step at a time, as ZenML's local orchestrator runs it).
Then Ladder alone: fan-outs of 10, 100 and 1,000 steps, first run and cached.

Run: ``python benchmarks/pipeline_overhead.py [--skip-peer] [--scale 10,100,1000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import peer_python, ratio_line, run_peer

import ladder
from ladder.db import forget_stores

WORK = Path(__file__).resolve().parent / ".work" / "pipeline_overhead"
ZENML_VERSION = "0.98.0"
CHAIN = 50
FAN = 50


@ladder.step
def inc(x: int) -> int:
    return x + 1


@ladder.step
def warm_up(x: int) -> int:
    return x


@ladder.pipeline
def warming():
    return warm_up(1)


@ladder.step
def source(n: int) -> list[int]:
    return list(range(n))


@ladder.step
def work(xs: list[int], i: int) -> int:
    return xs[i] * 2


@ladder.step
def join(parts: list[int]) -> int:
    return sum(parts)


@ladder.pipeline
def chain(length: int = CHAIN):
    value = inc(0)
    for _ in range(length - 1):
        value = inc(value)
    return value


@ladder.pipeline
def fan_out(width: int = FAN):
    xs = source(width)
    return join([work(xs, i) for i in range(width)])


def _fresh_store(name: str) -> None:
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    forget_stores()
    for key in [k for k in os.environ if k.startswith("LADDER_")]:
        del os.environ[key]
    os.environ["LADDER_HOME"] = str(folder)


def _timed(pipeline: Any, **params: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = pipeline.run(**params)
    return time.perf_counter() - started, result


def ladder_overhead(name: str, pipeline: Any, steps: int, **params: Any) -> dict[str, float]:
    """Per-step overhead in ms of a first run and of a fully cached re-run, on a fresh store."""
    _fresh_store(name)
    warming.run()  # imports, store creation and migrations happen here, outside the timing
    first, result = _timed(pipeline, **params)
    assert len(result.steps) == steps and not result.cache_hits, result.steps
    cached, again = _timed(pipeline, **params)
    assert len(again.cache_hits) == steps, again.executed
    return {"first_ms": first / steps * 1000, "cached_ms": cached / steps * 1000}


ZENML_CODE = r"""
import json, os, sys, time, logging
os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "ERROR")
os.environ.setdefault("ZENML_ENABLE_RICH_TRACEBACK", "false")
logging.disable(logging.WARNING)
from zenml import pipeline, step

CHAIN, FAN = int(sys.argv[1]), int(sys.argv[2])

@step
def inc(x: int) -> int:
    return x + 1

@step
def source(n: int) -> list:
    return list(range(n))

@step
def work(xs: list, i: int) -> int:
    return xs[i] * 2

@step
def join(parts: list) -> int:
    return sum(parts)

@pipeline(enable_cache=True)
def chain(length: int):
    value = inc(0)
    for _ in range(length - 1):
        value = inc(value)
    return value

@pipeline(enable_cache=True)
def fan_out(width: int):
    xs = source(width)
    parts = [work(xs, i) for i in range(width)]
    return join(parts)

def timed(p, **kw):
    t = time.perf_counter()
    p(**kw)
    return time.perf_counter() - t

timed(chain, length=2)  # warm-up: store creation, default stack
out = {}
for name, p, kw, steps in (("chain", chain, {"length": CHAIN}, CHAIN),
                           ("fan_out", fan_out, {"width": FAN}, FAN + 2)):
    first = timed(p, **kw)
    cached = timed(p, **kw)
    out[name] = {"first_ms": first / steps * 1000, "cached_ms": cached / steps * 1000}
print(json.dumps(out))
"""


def zenml_overhead() -> dict[str, dict[str, float]]:
    """ZenML's default local stack (local orchestrator, local artifact store, SQLite), offline."""
    python = peer_python("zenml", [f"zenml[local]=={ZENML_VERSION}"])
    folder = WORK / "zenml"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["ZENML_CONFIG_PATH"] = str(folder / "config")
    os.environ["ZENML_ANALYTICS_OPT_IN"] = "false"
    # ZenML needs the pipeline in a file (it records the source root), so run it as a script.
    script = folder / "zenml_pipelines.py"
    script.write_text(ZENML_CODE)
    launcher = (
        f"import os, runpy\nos.chdir({str(folder)!r})\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return dict(run_peer(python, launcher, str(CHAIN), str(FAN), timeout=3600))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-peer", action="store_true", help="Ladder only")
    parser.add_argument("--scale", default="10,100,1000", help="fan-out widths for the scale run")
    args = parser.parse_args()

    figures: dict[str, Any] = {"ladder": {}, "scale": {}}
    figures["ladder"]["chain"] = ladder_overhead("chain", chain, CHAIN, length=CHAIN)
    figures["ladder"]["fan_out"] = ladder_overhead("fan", fan_out, FAN + 2, width=FAN)
    # ZenML's local orchestrator runs steps one at a time in its own process; so can Ladder.
    figures["ladder"]["fan_out_in_process"] = ladder_overhead(
        "fan-in-process", fan_out, FAN + 2, width=FAN, max_workers=1
    )
    for workload in ("chain", "fan_out", "fan_out_in_process"):
        item = figures["ladder"][workload]
        print(
            f"pipeline_overhead[{workload}]: ladder first run {item['first_ms']:.1f} ms/step, "
            f"cached {item['cached_ms']:.1f} ms/step"
        )
    if not args.skip_peer:
        peer = zenml_overhead()
        figures["zenml"] = peer
        for workload, peer_workload in (
            ("chain", "chain"),
            ("fan_out", "fan_out"),
            ("fan_out_in_process", "fan_out"),
        ):
            for phase in ("first", "cached"):
                print(
                    ratio_line(
                        f"pipeline_overhead[{workload}, {phase}]",
                        figures["ladder"][workload][f"{phase}_ms"],
                        f"zenml {ZENML_VERSION}",
                        peer[peer_workload][f"{phase}_ms"],
                        "ms/step",
                    )
                )
    for width in (int(w) for w in args.scale.split(",") if w):
        item = ladder_overhead(f"scale-{width}", fan_out, width + 2, width=width)
        figures["scale"][width] = item
        print(
            f"pipeline_overhead[fan-out {width}]: ladder first run {item['first_ms']:.1f} ms/step, "
            f"cached {item['cached_ms']:.1f} ms/step"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
