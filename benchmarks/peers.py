"""Peer tools live in their own virtualenvs (they pin versions that conflict with Ladder's).

``peer_python("mlflow", ["mlflow"])`` creates ``benchmarks/.venvs/mlflow`` on first
use, installs the packages from PyPI into it, and returns its interpreter.
``run_peer(python, code, args)`` runs a snippet there and returns the JSON it prints
on its last line of stdout.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

VENVS = Path(__file__).resolve().parent / ".venvs"


def peer_python(name: str, packages: list[str]) -> Path:
    """Return the interpreter of venv ``name``, creating it and installing ``packages`` once."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    wanted = "\n".join(packages)
    if marker.exists() and marker.read_text() == wanted:
        return python
    VENVS.mkdir(parents=True, exist_ok=True)
    # One creator at a time: a second benchmark started meanwhile waits, then reuses it.
    with (VENVS / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and marker.read_text() == wanted:
            return python
        listed = ", ".join(packages)
        print(f"[peers] creating {venv} with {listed} (first run only)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
            check=True,
        )
        marker.write_text(wanted)
    return python


def run_peer(python: Path, code: str, *args: str, timeout: float = 3600) -> Any:
    """Run ``code`` with the peer interpreter; parse the last stdout line as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LADDER_", "PYTHONPATH"))}
    started = time.perf_counter()
    result = subprocess.run(
        [str(python), "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"peer run failed after {time.perf_counter() - started:.1f}s:\n{result.stderr[-4000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def ratio_line(name: str, ladder_value: float, peer: str, peer_value: float, unit: str) -> str:
    """The line every benchmark prints: ``<name>: ladder X unit, peer Y unit, ratio Z``."""
    ratio = ladder_value / peer_value if peer_value else float("inf")
    return (
        f"{name}: ladder {ladder_value:,.4g} {unit}, {peer} {peer_value:,.4g} {unit}, "
        f"ratio {ratio:,.2f}"
    )
