"""Shared by the serving tests: small registered models and `ladder serve` in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

import ladder
from ladder.workspace import Workspace

FEATURES = [f"f{i}" for i in range(4)]
POISON = 13.0  # the raising model fails on a row whose f0 is this value


def training_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.random((rows, len(FEATURES))), columns=FEATURES)
    return frame, (frame["f0"] > 0.5).astype("int64")


def register_forest(ws: Workspace, name: str = "clf", trees: int = 5, seed: int = 0) -> Any:
    """A small random forest classifier on four float features (skops flavor)."""
    from sklearn.ensemble import RandomForestClassifier

    frame, labels = training_frame(seed=seed)
    model = RandomForestClassifier(n_estimators=trees, random_state=seed).fit(frame, labels)
    return ladder.register_model(model, name, input_example=frame, workspace=ws)


def register_raising_model(ws: Workspace, name: str = "fragile") -> Any:
    """A classifier (python flavor, needs --trust) that raises on rows whose f0 is POISON."""
    from sklearn.linear_model import LogisticRegression

    frame, labels = training_frame()
    inner = LogisticRegression().fit(frame, labels)

    class Fragile:  # defined here so cloudpickle stores it by value
        def __init__(self, model: Any) -> None:
            self.model = model
            self.classes_ = model.classes_

        def _check(self, data: Any) -> None:
            if (np.asarray(data["f0"], dtype=float) == POISON).any():
                raise ValueError("poisoned row")

        def predict(self, data: Any) -> Any:
            self._check(data)
            return self.model.predict(data)

        def predict_proba(self, data: Any) -> Any:
            self._check(data)
            return self.model.predict_proba(data)

    return ladder.register_model(
        Fragile(inner), name, input_example=frame, flavor="python", workspace=ws
    )


def row(value: float = 0.7) -> dict[str, float]:
    return {name: value for name in FEATURES}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m ladder.cli serve ...`` on a free port of 127.0.0.1."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = cwd / f"serve-{self.port}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ladder.cli", "serve", *args, "--port", str(self.port)],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)


@contextmanager
def serving(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    server = ServerProcess(args, cwd, env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
