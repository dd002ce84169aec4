"""How long `ladder assess` takes on a 100,000-file repository.

No peer tool assesses MLOps maturity from evidence, so the comparison is with
the floor of any scan: listing every file of the same tree, once with Python's
``os.walk`` and once with GNU ``find`` (C). The tree (built by the maturity
tests' ``build_tree``) is a tenth source code and nine tenths installed
packages, a virtualenv, ``node_modules`` and a DVC-tracked image folder.

    python benchmarks/assess_scan.py [--files 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "maturity"))

from maturity_fixtures import build_tree  # noqa: E402

from ladder.maturity import assess  # noqa: E402

WORK = ROOT / "benchmarks" / ".work" / "assess_scan"


def timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def walk_all(tree: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(tree))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tree = WORK / f"tree-{args.files}"
    if not tree.exists():
        print(f"[assess_scan] building {args.files:,} files in {tree}", file=sys.stderr)
        build_seconds = timed(lambda: build_tree(tree, files=args.files))
        print(f"[assess_scan] built in {build_seconds:.1f} s", file=sys.stderr)
    assessments = []
    result = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = assess(tree)
        assessments.append(time.perf_counter() - started)
    assert result is not None
    ladder_s = statistics.median(assessments)
    walk_s = statistics.median(timed(lambda: walk_all(tree)) for _ in range(args.repeat))
    listed = walk_all(tree)
    scan = result.scan
    print(
        f"[assess_scan] tree: {listed:,} files; assess listed {scan['files']:,}, read "
        f"{scan['files_read']:,}, skipped {scan['skipped_dirs_total']} folders; runs "
        f"{', '.join(f'{s:.2f}' for s in assessments)} s; level {result.level}",
        file=sys.stderr,
    )
    print(
        f"assess_scan: ladder {ladder_s:.2f} s, os.walk listing {walk_s:.2f} s, "
        f"ratio {ladder_s / walk_s:.2f}"
    )
    if shutil.which("find"):
        find_s = statistics.median(
            timed(
                lambda: subprocess.run(
                    ["find", str(tree), "-type", "f"], capture_output=True, check=True
                )
            )
            for _ in range(args.repeat)
        )
        print(
            f"assess_scan: ladder {ladder_s:.2f} s, find listing {find_s:.2f} s, "
            f"ratio {ladder_s / find_s:.2f}"
        )


if __name__ == "__main__":
    main()
