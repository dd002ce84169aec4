"""Worker processes: one killed leaves the others serving; a crash loses at most one flush."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from serving_helpers import ServerProcess, register_forest, row

from ladder.serving import predictions
from ladder.workspace import Workspace


def worker_pid(url: str) -> int:
    # A fresh connection each time, so the kernel hands it to any worker.
    with httpx.Client(base_url=url, headers={"connection": "close"}, timeout=10) as http:
        return int(http.get("/version").json()["pid"])


@pytest.mark.slow
def test_killing_one_of_two_workers_leaves_the_other_serving_and_a_crash_keeps_flushed_rows(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    register_forest(ws, "clf", trees=3)
    root: Path = ws.settings.root
    server = ServerProcess(["clf/1", "--workers", "2", "--flush-seconds", "0.3"], root)
    try:
        server.wait_ready()
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(worker_pid(server.url))
        assert len(pids) == 2, f"saw only workers {pids}"
        victim, survivor = sorted(pids)
        os.kill(victim, signal.SIGKILL)
        time.sleep(0.3)
        sent = []
        with httpx.Client(base_url=server.url, headers={"connection": "close"}) as http:
            for i in range(60):
                response = http.post("/predict", json={"records": [row()], "ids": [f"after-{i}"]})
                assert response.status_code == 200, response.text
                sent.append(f"after-{i}")
        assert survivor in {worker_pid(server.url) for _ in range(10)}

        # A crash: every process of the server dies at once, with no shutdown at all.
        time.sleep(1.0)  # more than three flush intervals since the last request
        pids = {worker_pid(server.url) for _ in range(20)}
        for pid in {*pids, server.process.pid}:
            os.kill(pid, signal.SIGKILL)
        server.process.wait(10)
    finally:
        server.stop()
    frame = predictions("clf", workspace=ws)  # every part reads back: none is corrupt
    assert set(sent) <= set(frame["request_id"])
    assert (frame["model_version"] == 1).all()
