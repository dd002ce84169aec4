"""REST serving throughput and latency: Ladder vs `mlflow models serve` vs BentoML.

The same scikit-learn model (a 100-tree random forest on 20 float features,
trained once here and pickled for the peers, which run the same scikit-learn
version) is served by each tool with one worker process, and driven by the
same load generator (`wrk`, 2 threads, 16 connections, 20 s) with single-row
and 100-row requests in each tool's own JSON format. Ladder runs with its
defaults: signature validation, probabilities and the prediction log all on,
micro-batches of up to 1,024 rows. BentoML runs with its adaptive batching on
(its recommended setup) and the same 1,024-row batch limit.

Also measured: Ladder's own overhead with a no-op model (a DummyClassifier):
requests/s at concurrency 16 and p50 latency at concurrency 1.

    python benchmarks/serving_vs_peers.py [--seconds 20] [--skip-bentoml] [--skip-mlflow]

Needs `wrk` (apt-get install wrk). Peers are installed into their own venvs on
first use (benchmarks/.venvs/), never into Ladder's interpreter. The machine's
load average is printed before and after: the servers, wrk and anything else
running share the same cores, so figures move with it; compare ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import peer_python, ratio_line

WORK = Path(__file__).resolve().parent / ".work" / "serving"
FEATURES = [f"x{i}" for i in range(20)]
CONCURRENCY = 16
# Most rows per micro-batch, the same for Ladder (its serving default, passed explicitly)
# and BentoML: a forest's predict costs far less per row in bigger batches.
BATCH_ROWS = 1024


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


CPUS = os.cpu_count() or 1


def load_average() -> str:
    """The 1/5/15-minute load averages, e.g. ``1.52/1.20/0.98``."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def start(
    command: list[str],
    health: str,
    name: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    log = WORK / f"{name}.log"
    process = subprocess.Popen(
        command,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,  # so that stop() ends the server's worker processes too
    )
    wait_until(health, process, log)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open("{body}"):read("*a")
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, "
    .. "\\"p50\\": %d, \\"p99\\": %d}}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def drive(url: str, body: bytes, seconds: int, connections: int = CONCURRENCY) -> Load:
    """Run wrk against ``url`` posting ``body``; return throughput and latency percentiles."""
    body_path = WORK / "body.json"
    body_path.write_bytes(body)
    script = WORK / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=body_path))
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return Load(
        requests_per_s=result["requests"] / (result["duration_us"] / 1e6),
        p50_ms=result["p50"] / 1000,
        p99_ms=result["p99"] / 1000,
        errors=result["errors"],
    )


def check(url: str, body: bytes, name: str) -> None:
    response = httpx.post(
        url, content=body, headers={"content-type": "application/json"}, timeout=60
    )
    if response.status_code != 200:
        raise RuntimeError(f"{name}: {response.status_code} {response.text[:500]}")


def train() -> tuple[object, pd.DataFrame]:
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5000, len(FEATURES))), columns=FEATURES)
    labels = (frame["x0"] + frame["x1"] * frame["x2"] > 0).astype("int64")
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(frame, labels)
    return model, frame


# -- the three servers ------------------------------------------------------------------------


def ladder_server(uri: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    home = WORK / "ladder"
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ladder.cli",
        "serve",
        uri,
        "--port",
        str(port),
        "--name",
        "bench",
        "--max-batch-rows",
        str(BATCH_ROWS),
        *extra,
    ]
    process = start(
        command,
        f"http://127.0.0.1:{port}/ready",
        f"ladder-{uri.split('/')[0]}",
        env={"LADDER_HOME": str(home)},
        cwd=home,
    )
    return process, f"http://127.0.0.1:{port}"


def register_models(model: object, frame: pd.DataFrame) -> None:
    from sklearn.dummy import DummyClassifier

    home = WORK / "ladder"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    os.environ["LADDER_HOME"] = str(home)
    import ladder

    ladder.register_model(model, "rf", input_example=frame.head(200))
    noop = DummyClassifier(strategy="prior").fit(frame, (frame["x0"] > 0).astype("int64"))
    ladder.register_model(noop, "noop", input_example=frame.head(200))
    del os.environ["LADDER_HOME"]


def mlflow_server(model_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    python = peer_python("mlflow", ["mlflow"])
    saved = WORK / "mlflow-model"
    shutil.rmtree(saved, ignore_errors=True)
    subprocess.run(
        [
            str(python),
            "-c",
            "import pickle, sys, mlflow.sklearn; "
            "mlflow.sklearn.save_model(pickle.load(open(sys.argv[1], 'rb')), sys.argv[2], "
            "skops_trusted_types=['sklearn.tree._tree.Tree'])",
            str(model_path),
            str(saved),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    mlflow = python.parent / "mlflow"
    command = [
        str(mlflow),
        "models",
        "serve",
        "-m",
        str(saved),
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-w",
        "1",
    ]
    env = {"PATH": f"{python.parent}:{os.environ['PATH']}"}
    process = start(command, f"http://127.0.0.1:{port}/ping", "mlflow", env=env)
    return process, f"http://127.0.0.1:{port}"


BENTO_SERVICE = """
import bentoml
import numpy as np


@bentoml.service(workers=1)
class Forest:
    def __init__(self) -> None:
        self.model = bentoml.sklearn.load_model("forest:latest")

    @bentoml.api(batchable=True, max_batch_size={batch_rows}, max_latency_ms=1000)
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)
"""


def bentoml_server(model_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    python = peer_python("bentoml", ["bentoml", "scikit-learn==" + sklearn_version()])
    home = WORK / "bentoml-home"
    service_dir = WORK / "bentoml-service"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(service_dir, ignore_errors=True)
    service_dir.mkdir(parents=True)
    (service_dir / "service.py").write_text(BENTO_SERVICE.format(batch_rows=BATCH_ROWS))
    env = {
        "BENTOML_HOME": str(home),
        "BENTOML_DO_NOT_TRACK": "True",
        "PATH": f"{python.parent}:{os.environ['PATH']}",
    }
    subprocess.run(
        [
            str(python),
            "-c",
            "import pickle, sys, bentoml; "
            "bentoml.sklearn.save_model('forest', pickle.load(open(sys.argv[1], 'rb')))",
            str(model_path),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    port = free_port()
    command = [
        str(python.parent / "bentoml"),
        "serve",
        "service:Forest",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = start(command, f"http://127.0.0.1:{port}/readyz", "bentoml", env=env, cwd=service_dir)
    return process, f"http://127.0.0.1:{port}"


def sklearn_version() -> str:
    import sklearn

    return str(sklearn.__version__)


# -- bodies ------------------------------------------------------------------------------------


def bodies(frame: pd.DataFrame) -> dict[str, dict[int, bytes]]:
    one, hundred = frame.head(1), frame.head(100)

    def split(rows: pd.DataFrame) -> bytes:
        return json.dumps(
            {"dataframe_split": {"columns": FEATURES, "data": rows.to_numpy().tolist()}}
        ).encode()

    return {
        "ladder": {
            1: json.dumps(one.to_dict(orient="records")[0]).encode(),
            100: json.dumps({"records": hundred.to_dict(orient="records")}).encode(),
        },
        "mlflow": {1: split(one), 100: split(hundred)},
        "bentoml": {
            1: json.dumps({"input": one.to_numpy().tolist()}).encode(),
            100: json.dumps({"input": hundred.to_numpy().tolist()}).encode(),
        },
    }


ENDPOINTS = {"ladder": "/predict", "mlflow": "/invocations", "bentoml": "/predict"}


def measure(
    name: str, base: str, payloads: dict[int, bytes], seconds: int, tag: str | None = None
) -> dict[int, Load]:
    url = base + ENDPOINTS[name]
    results = {}
    for rows, body in payloads.items():
        check(url, body, name)
        drive(url, body, 2)  # warm-up
        results[rows] = load = drive(url, body, seconds)
        print(
            f"[{tag or name}] {rows:>3}-row requests: {load.requests_per_s:,.0f} req/s, "
            f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms, errors {load.errors}",
            file=sys.stderr,
        )
    return results


def print_ratios(
    ladder_name: str, ours: dict[int, Load], peer: str, theirs: dict[int, Load]
) -> None:
    suffix = "" if ladder_name == "ladder" else " (ladder --no-proba)"
    for rows in (1, 100):
        label = f"serving {rows}-row c{CONCURRENCY}"
        mine, other = ours[rows], theirs[rows]
        print(
            ratio_line(
                f"{label} throughput{suffix}",
                mine.requests_per_s,
                peer,
                other.requests_per_s,
                "req/s",
            )
        )
        print(ratio_line(f"{label} p50{suffix}", mine.p50_ms, peer, other.p50_ms, "ms"))
        print(ratio_line(f"{label} p99{suffix}", mine.p99_ms, peer, other.p99_ms, "ms"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--skip-bentoml", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit(
            "serving_vs_peers: the load generator wrk is not on PATH; install it "
            "(apt-get install -y wrk, or brew install wrk) and run again"
        )
    load_before = load_average()
    WORK.mkdir(parents=True, exist_ok=True)
    model, frame = train()
    model_path = WORK / "forest.pkl"  # benchmark-internal hand-over to the peers' venvs
    model_path.write_bytes(pickle.dumps(model))
    register_models(model, frame)
    payloads = bodies(frame)
    results: dict[str, dict[int, Load]] = {}

    process, base = ladder_server("rf/1")
    try:
        results["ladder"] = measure("ladder", base, payloads["ladder"], args.seconds)
    finally:
        stop(process)
    # The same work as the peers do: predictions only (the log stays on).
    process, base = ladder_server("rf/1", "--no-proba")
    try:
        results["ladder --no-proba"] = measure(
            "ladder", base, payloads["ladder"], args.seconds, tag="ladder --no-proba"
        )
    finally:
        stop(process)
    process, base = ladder_server("noop/1")
    try:
        url = base + "/predict"
        body = payloads["ladder"][1]
        drive(url, body, 2)
        noop_c16 = drive(url, body, args.seconds)
        noop_c1 = drive(url, body, args.seconds, connections=1)
    finally:
        stop(process)
    peers = [("mlflow", mlflow_server), ("bentoml", bentoml_server)]
    for name, starter in peers:
        if getattr(args, f"skip_{name}"):
            continue
        process, base = starter(model_path)
        try:
            results[name] = measure(name, base, payloads[name], args.seconds)
        finally:
            stop(process)

    for ladder_name in ("ladder", "ladder --no-proba"):
        for peer in ("mlflow", "bentoml"):
            if peer in results:
                print_ratios(ladder_name, results[ladder_name], peer, results[peer])
    print(
        f"serving no-op model: ladder {noop_c16.requests_per_s:,.0f} req/s per worker at c16 "
        f"(p50 {noop_c16.p50_ms:.2f} ms, p99 {noop_c16.p99_ms:.2f} ms); "
        f"p50 {noop_c1.p50_ms:.2f} ms at c1 ({noop_c1.requests_per_s:,.0f} req/s); "
        f"errors {noop_c16.errors + noop_c1.errors}"
    )
    errors = {name: sum(r.errors for r in res.values()) for name, res in results.items()}
    print(f"serving errors: {errors}")
    print(f"serving load average: {load_before} before, {load_average()} after ({CPUS} cores)")


if __name__ == "__main__":
    main()
