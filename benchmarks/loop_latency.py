"""Loop latency: in the quickstart scenario, from the first drifted prediction to the
retrained model serving 100% of traffic, and the failed requests during the whole loop.

    python benchmarks/loop_latency.py [--runs 3]

Ladder alone: no peer tool closes this loop on its own. Prints one line per run and
a summary line ``loop_latency: ladder X s, failed requests Y``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from ladder.quickstart import run_story


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    latencies, failures, totals = [], 0, []
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="ladder-loop-") as folder:
            result = run_story(Path(folder) / "workspace")
        if result.loop_seconds is None:
            raise SystemExit(f"run {index}: the retrained model never served all traffic")
        latencies.append(result.loop_seconds)
        failures += result.failed_requests
        totals.append(result.seconds)
        print(
            f"run {index + 1}: loop {result.loop_seconds:.1f} s, whole quickstart "
            f"{result.seconds:.1f} s, {result.requests} requests, {result.failed_requests} failed"
        )
    print(
        f"loop_latency: ladder {statistics.median(latencies):.1f} s median "
        f"(min {min(latencies):.1f}, max {max(latencies):.1f}), "
        f"failed requests {failures} of all runs, quickstart {statistics.median(totals):.1f} s"
    )


if __name__ == "__main__":
    main()
