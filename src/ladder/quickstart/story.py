"""``ladder quickstart``: the five levels in one command, on the embedded default.

Every stage uses the real components: tracked runs (1–2); a versioned dataset
and a cached training pipeline (3); registry, gate, promotion and a deployment
served over HTTP on 127.0.0.1 by ``ladder serve`` in a child process (4); the
prediction log, a monitor that sees the estimated performance drop before any
label arrives, labels that arrive later, and the autopilot that retrains on
them, gates, canaries and promotes (5). The workspace is kept in ``--dir``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ladder.quickstart.loans import FEATURES, LABEL, loan_applications
from ladder.quickstart.pipeline_template import SOURCE as PIPELINE_SOURCE

if TYPE_CHECKING:
    from ladder.automation import Event
    from ladder.monitoring import MonitorResult
    from ladder.tracking import RunInfo
    from ladder.workspace import Workspace

CONFIG = """\
# Written by `ladder quickstart`; `ladder config check` validates it.
[project]
name = "loans"

[pipelines.training]
entry = "loans_pipeline.py:training"
params = { data = "loans@latest", C = 1.0 }

[models.loans]
pipeline = "training"
[models.loans.gate]
dataset = "loans-holdout@latest"
label = "default"
metrics = { roc_auc = { min = 0.70, min_delta = 0.0 } }

[deployments.loans]
model = "loans@champion"
[deployments.loans.canary]
mode = "canary"
share = 0.3
min_requests = 60
max_wait = "10m"
max_error_rate = 0.02

[monitors.loans]
deployment = "loans"
window = "300 predictions"
alerts = ["estimated.roc_auc < 0.82", "drift_share > 0.5"]

[triggers.performance-drop]
on = "alert"
monitor = "loans"
model = "loans"
alerts = ["performance"]
cooldown = "1m"

[policy]
retrain_on = ["performance"]
block_on = ["data_quality"]
interval = "5s"
"""

WORKFLOW = """\
# CI for the loans project: tests, data and model checks, then the autopilot.
name: loans
on:
  push:
  schedule:
    - cron: "0 * * * *"
jobs:
  checks:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install ladder-mlops
      - run: python -m pytest -q tests
      - run: ladder data validate loans@latest data/new-applications.csv
      - run: >-
          ladder models gate loans@latest --against loans@champion
          --dataset loans-holdout@latest --metric roc_auc:min=0.7
  autopilot:
    needs: checks
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: pip install ladder-mlops
      - run: ladder autopilot tick
      - run: ladder deploy export loans --format k8s --output deploy
"""

PIPELINE_TEST = """\
import loans_pipeline


def test_the_training_pipeline_is_importable_and_has_its_steps():
    assert loans_pipeline.training.name == "training"
    assert set(loans_pipeline.FEATURES) >= {"credit_score", "debt_ratio"}
"""

Say = Callable[[str, str], None]
"""Called with (level, message) as the story moves on."""


@dataclass
class StoryResult:
    root: Path
    best_run: RunInfo
    baseline_runs: list[RunInfo]
    champion_before: str
    champion_after: str
    requests: int
    failed_requests: int
    report: Path
    alerts_before_labels: list[str]
    seconds: float
    loop_seconds: float | None  # first drifted prediction → retrained model serving all traffic
    timeline: list[Event] = field(default_factory=list)


_OVERRIDES = ("LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT")
"""Environment variables that would point Ladder away from the workspace's own settings."""


@contextlib.contextmanager
def _project(root: Path) -> Iterator[None]:
    """Point every Ladder call in this process (and its children) at ``root``."""
    saved = {key: os.environ.get(key) for key in ("LADDER_HOME", *_OVERRIDES)}
    os.environ["LADDER_HOME"] = str(root)
    for key in _OVERRIDES:
        os.environ.pop(key, None)
    cwd = Path.cwd()
    os.chdir(root)  # runs record the git state of the folder they run in
    try:
        yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(root: Path, deployment: str, log: Path) -> Iterator[str]:
    """``ladder serve --deployment`` in a child process; yields its base URL once it is ready."""
    import httpx

    port = _free_port()
    with log.open("w") as output:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ladder.cli",
                "serve",
                "--deployment",
                deployment,
                "--port",
                str(port),
                "--flush-seconds",
                "0.5",
                "--poll-seconds",
                "0.25",
            ],
            cwd=root,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LADDER_HOME": str(root)},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                if child.poll() is not None:
                    raise RuntimeError(f"ladder serve exited with {child.returncode}; see {log}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"ladder serve did not become ready in 90 s; see {log}")
                time.sleep(0.2)
            yield url
        finally:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


_Record = dict[Hashable, Any]
"""One application's features, keyed by column name as pandas gives them."""


def _records(frame: pd.DataFrame) -> list[_Record]:
    """The applications in ``frame`` as request records: the features, not the label."""
    return frame[list(FEATURES)].to_dict(orient="records")


class _Traffic:
    """Sends applications one per request (8 threads for a batch); counts every failure."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url = url
        self.client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=16))
        self.sent = 0
        self.failed = 0

    def _post(self, record: _Record, request_id: str | None = None) -> dict[str, Any] | None:
        """The response body of one prediction, or None when it failed."""
        body: dict[str, Any] = {"records": [record]}
        if request_id is not None:
            body |= {"ids": [request_id], "key": request_id}
        try:
            response = self.client.post(f"{self.url}/predict", json=body)
        except Exception:  # whatever went wrong, the request failed and is counted
            return None
        return response.json() if response.status_code == 200 else None

    def _count(self, answer: dict[str, Any] | None) -> None:
        self.sent += 1
        self.failed += answer is None

    def predict(self, record: _Record) -> dict[str, Any] | None:
        """One counted prediction, without a request id."""
        answer = self._post(record)
        self._count(answer)
        return answer

    def send(self, frame: pd.DataFrame, prefix: str) -> list[str]:
        """Every application in ``frame``, with ids ``<prefix>-00000``…; returns the ids."""
        records = _records(frame)
        ids = [f"{prefix}-{index:05d}" for index in range(len(records))]
        with ThreadPoolExecutor(8) as pool:
            for answer in pool.map(self._post, records, ids):
                self._count(answer)
        return ids

    def close(self) -> None:
        self.client.close()


def _until_serving_all(traffic: _Traffic, frame: pd.DataFrame, since: float) -> float | None:
    """Seconds from ``since`` until the new champion answers as the only variant (20 in a row)."""
    from ladder.registry import get_aliases

    champion = get_aliases("loans").get("champion")
    records = _records(frame)
    deadline = time.monotonic() + 30
    streak = 0
    while time.monotonic() < deadline:
        answer = traffic.predict(records[streak % len(records)])
        if answer is None:
            continue
        if answer["variant"] == "primary" and answer["model_version"] == champion:
            streak += 1
            if streak == 20:
                return time.monotonic() - since
        else:
            streak = 0
    return None


def _wait_revision(traffic: _Traffic, deployment: str, ws: Workspace, timeout: float = 30) -> None:
    """Until the server routes with the deployment's stored revision (it polls the store)."""
    from ladder.serving import get_deployment

    wanted = get_deployment(deployment, workspace=ws).revision
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        revision = traffic.client.get(f"{traffic.url}/version").json().get("revision")
        if revision is not None and revision >= wanted:
            return
        time.sleep(0.1)


def _wait_logged(deployment: str, rows: int, ws: Workspace, timeout: float = 30) -> pd.DataFrame:
    """The prediction log once it holds ``rows`` rows (the server flushes every 0.5 s)."""
    from ladder.serving import predictions

    deadline = time.monotonic() + timeout
    while True:
        frame = predictions(deployment, workspace=ws)
        if len(frame) >= rows or time.monotonic() > deadline:
            return frame
        time.sleep(0.25)


def run_story(directory: Path | None = None, say: Say | None = None, seed: int = 7) -> StoryResult:
    """Run the whole story in ``directory`` (a new temporary folder by default)."""
    started = time.monotonic()
    tell: Say = say or (lambda level, message: None)
    root = (
        Path(directory).resolve()
        if directory
        else Path(tempfile.mkdtemp(prefix="ladder-quickstart-"))
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / ".ladder").mkdir(exist_ok=True)
    (root / "ladder.toml").write_text(CONFIG)
    (root / "loans_pipeline.py").write_text(PIPELINE_SOURCE)
    (root / ".gitignore").write_text(".ladder/\n__pycache__/\nserve.log\nmonitoring-report.html\n")
    (root / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    (root / ".github" / "workflows" / "loans.yml").write_text(WORKFLOW)
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_loans_pipeline.py").write_text(PIPELINE_TEST)
    _commit(root)
    with _project(root):
        return _story(root, tell, seed, started)


def _commit(root: Path) -> None:
    """Put the workspace under git, so that every run records a commit and a clean tree."""
    git = [
        "git",
        "-C",
        str(root),
        "-c",
        "user.name=Ladder quickstart",
        "-c",
        "user.email=quickstart@ladder.invalid",
    ]
    with contextlib.suppress(FileNotFoundError, subprocess.CalledProcessError):
        if not (root / ".git").exists():
            subprocess.run([*git, "init", "-q"], check=True, capture_output=True)
        subprocess.run([*git, "add", "-A"], check=True, capture_output=True)
        subprocess.run(
            [*git, "commit", "-q", "-m", "Ladder quickstart project", "--allow-empty"],
            check=True,
            capture_output=True,
        )


def _track_baselines(train: pd.DataFrame, holdout: pd.DataFrame) -> list[RunInfo]:
    """Three tracked logistic regressions (levels 1–2), best roc_auc first."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import ladder

    for C in (0.01, 0.1, 1.0):
        with ladder.start_run(
            name=f"logreg-C={C}", project="loans", tags={"stage": "baseline"}
        ) as run:
            run.log_params({"model": "logistic_regression", "C": C, "rows": len(train)})
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
            model.fit(train[list(FEATURES)], train[LABEL])
            proba = model.predict_proba(holdout[list(FEATURES)])[:, 1]
            run.log_metrics(
                {
                    "roc_auc": roc_auc_score(holdout[LABEL], proba),
                    "accuracy": accuracy_score(holdout[LABEL], proba >= 0.5),
                }
            )
    return ladder.search_runs(
        where="tags.stage = 'baseline'", order_by="metrics.roc_auc desc", project="loans"
    ).runs


def _labelled_applications(logged: pd.DataFrame) -> pd.DataFrame:
    """The drifted-period requests whose labels have arrived, as features and ``default``."""
    labelled = logged[
        logged["label"].notna() & logged["request_id"].str.startswith(("drift", "later"))
    ]
    frame = labelled[[f"input.{name}" for name in FEATURES]].rename(
        columns=lambda c: c.removeprefix("input.")
    )
    frame[LABEL] = labelled["label"].astype("int64").to_numpy()
    return frame


def _fired_alerts(results: list[MonitorResult]) -> list[str]:
    """One line per rule that fired: the window, the rule and the values it saw."""
    lines = []
    for result in results:
        for outcome in result.fired:
            observed = ", ".join(
                f"{k}={v:.3f}" for k, v in outcome.observed.items() if v is not None
            )
            lines.append(f"{result.window_label}: {outcome.rule} (observed {observed})")
    return lines


def _story(root: Path, tell: Say, seed: int, started: float) -> StoryResult:
    import ladder
    from ladder.automation import Autopilot, list_events
    from ladder.data import dataset
    from ladder.monitoring import monitor_results, render_html, run_monitor, sync_config_monitors
    from ladder.pipelines import import_pipeline
    from ladder.registry import get_aliases
    from ladder.serving import create_deployment, export_deployment, get_deployment, log_labels
    from ladder.workspace import open_workspace

    ws = open_workspace(root)
    history = loan_applications(6000, seed=seed)
    train, holdout = history.iloc[:4500], history.iloc[4500:]
    live_before = loan_applications(300, seed=seed + 1)
    drifted = loan_applications(2600, drifted=True, seed=seed + 2)
    drifted_live, drifted_later = drifted.iloc[:700], drifted.iloc[700:2200]
    drifted_canary = drifted.iloc[2200:]

    # Levels 1–2: experiments tracked from a script, each with git state and environment.
    tell("1-2", "tracking baseline experiments")
    baseline = _track_baselines(train, holdout)
    best = baseline[0]
    tell("1-2", f"best baseline: {best.name} roc_auc={best.metrics['roc_auc']:.3f}")

    # Level 3: versioned data, a cached pipeline with lineage, the registry.
    tell("3", "versioning data and training through the pipeline")
    dataset.add("loans", train, description="loan applications with outcomes")
    dataset.add("loans-holdout", holdout, description="held-out applications for gates")
    training = import_pipeline(str(root / "loans_pipeline.py") + ":training")
    result = training.run(C=float(best.params["C"]))
    version = result.output
    tell("3", f"pipeline run {result.run_id} registered {version.uri}")

    # Level 4: gate, promote, deploy, serve over HTTP.
    gate = ladder.gate(
        candidate=version.uri,
        against="loans@champion",
        dataset="loans-holdout@latest",
        label=LABEL,
        metrics={"roc_auc": {"min": 0.70}},
    )
    ladder.promote(version.uri, "champion", reason="first model: passed the gate")
    tell("4", f"gate {'passed' if gate.passed else 'failed'}; {version.uri} is champion")
    create_deployment("loans", "loans@champion", reason="quickstart")
    for kind in ("dockerfile", "k8s"):
        export_deployment("loans", kind, root / "deploy", workspace=ws)
    _commit(root)
    report_path = root / "monitoring-report.html"
    with _server(root, "loans", root / "serve.log") as url:
        tell("4", f"serving deployment 'loans' at {url}")
        traffic = _Traffic(url)
        try:
            traffic.send(live_before, "before")
            # Level 5: the population drifts; the monitor sees it before any label.
            tell("5", "applications drift; monitoring the prediction log (no labels yet)")
            drift_started = time.monotonic()
            drift_ids = traffic.send(drifted_live, "drift")
            _wait_logged("loans", traffic.sent - traffic.failed, ws)
            sync_config_monitors(ws)
            results = run_monitor("loans", include_incomplete=False, workspace=ws)
            fired = _fired_alerts(results)
            for line in fired:
                tell("5", f"alert before labels: {line}")
            # Labels arrive later; the labelled recent data becomes a new dataset version.
            tell("5", "labels arrive for the drifted period")
            later_ids = traffic.send(drifted_later, "later")
            log_labels(drift_ids, drifted_live[LABEL].tolist(), deployment="loans")
            log_labels(later_ids, drifted_later[LABEL].tolist(), deployment="loans")
            logged = _wait_logged("loans", traffic.sent - traffic.failed, ws)
            recent = _labelled_applications(logged)
            cut = len(recent) * 3 // 4
            recent_train, recent_holdout = recent.iloc[:cut], recent.iloc[cut:]
            dataset.add(
                "loans",
                pd.concat([train.iloc[-1500:], recent_train], ignore_index=True),
                description="recent applications with outcomes (feedback loop)",
            )
            dataset.add(
                "loans-holdout",
                recent_holdout.reset_index(drop=True),
                description="recent held-out applications",
            )
            # The autopilot: trigger → retrain → gate → canary.
            tell("5", "autopilot tick: the performance alert fires the retraining loop")
            pilot = Autopilot(workspace=ws)
            for action in pilot.tick().actions:
                tell("5", action)
            # Live traffic meets the canary (once the server routes with the new revision);
            # the next tick judges it, or waits for more requests on a slow machine.
            _wait_revision(traffic, "loans", ws)
            for attempt in range(4):
                traffic.send(drifted_canary, f"canary{attempt}")
                _wait_logged("loans", traffic.sent - traffic.failed, ws)
                for action in pilot.tick().actions:
                    tell("5", action)
                if get_deployment("loans", workspace=ws).policy.kind != "canary":
                    break  # promoted or rolled back
            loop_seconds = _until_serving_all(traffic, drifted_canary, drift_started)
        finally:
            traffic.close()
        report_path.write_text(
            render_html(
                monitor_results("loans", workspace=ws), title="Ladder quickstart: deployment loans"
            )
        )
    return StoryResult(
        root=root,
        best_run=best,
        baseline_runs=baseline,
        champion_before=version.uri,
        champion_after=f"loans/{get_aliases('loans').get('champion')}",
        requests=traffic.sent,
        failed_requests=traffic.failed,
        report=report_path,
        alerts_before_labels=fired,
        seconds=time.monotonic() - started,
        loop_seconds=loop_seconds,
        timeline=list_events(limit=100),
    )
