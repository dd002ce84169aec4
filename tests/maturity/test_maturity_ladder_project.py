"""A full Ladder project, built through the public SDK: the store's evidence, read through each
slice's public functions, carries it to level 4; level 5 waits for an automated cycle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from maturity_fixtures import commit_all, write
from sklearn.linear_model import LogisticRegression

import ladder
from ladder.maturity import assess
from ladder.monitoring import create_monitor, run_monitor
from ladder.registry import gate, promote
from ladder.serving import create_deployment
from ladder.workspace import Workspace

FEATURES = ["income", "debt"]


@ladder.step
def load(ref: str) -> pd.DataFrame:
    return ladder.dataset.get(ref).to_pandas()


@ladder.step
def fit(frame: pd.DataFrame, C: float = 1.0) -> LogisticRegression:
    return LogisticRegression(C=C).fit(frame[FEATURES], frame["default"])


@ladder.pipeline
def training(ref: str = "loans@latest", C: float = 1.0):
    return fit(load(ref), C=C)


def loans(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    income = generator.normal(50 + shift, 10, rows)
    debt = generator.normal(20, 5, rows)
    default = (debt * 2 - income + generator.normal(0, 5, rows) > -10).astype(int)
    return pd.DataFrame({"income": income, "debt": debt, "default": default})


LADDER_TOML = """
[project]
name = "default"

[pipelines.training]
entry = "pipeline:training"

[models.loans]
pipeline = "training"

[models.loans.gate]
dataset = "holdout@latest"
label = "default"
metrics = { roc_auc = { min = 0.6, min_delta = 0.0 } }

[deployments.loans]
model = "loans@champion"

[deployments.loans.canary]
mode = "canary"
share = 0.1

[monitors.loans-live]
deployment = "loans"

[triggers.weekly]
on = "schedule"
model = "loans"
cron = "0 3 * * 1"
"""

CI = """
on: [push]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
      - run: ladder data validate loans@latest data/new.csv
      - run: ladder models gate loans/2 --against loans@champion --dataset holdout@latest
      - run: ladder deploy set loans --model loans@champion
"""


def build_project(root: Path) -> None:
    write(root, "ladder.toml", LADDER_TOML)
    write(root, ".gitignore", ".ladder/\n")
    write(root, "requirements.txt", "scikit-learn==1.5.0\npandas==2.2.2\n")
    write(root, ".github/workflows/ci.yml", CI)
    write(root, "pipeline.py", "import ladder\n\n@ladder.pipeline\ndef training(): ...\n")
    write(root, "tests/test_features.py", "def test_features():\n    assert True\n")
    (root / "data").mkdir()
    loans(400, 0).to_csv(root / "data" / "loans.csv", index=False)
    loans(300, 1).to_csv(root / "data" / "holdout.csv", index=False)
    loans(300, 2, shift=15.0).to_csv(root / "data" / "new.csv", index=False)
    commit_all(root, "ladder project")  # every run below starts from this clean tree

    train = ladder.dataset.add("loans", root / "data" / "loans.csv")
    holdout = ladder.dataset.add("holdout", root / "data" / "holdout.csv")
    result = training.run(max_workers=1)
    for C in (0.01, 1.0):
        with ladder.start_run(name=f"train-C{C}") as run:
            run.use_dataset(train)
            frame = train.to_pandas()
            model = LogisticRegression(C=C).fit(frame[FEATURES], frame["default"])
            run.log_params({"C": C})
            run.log_metrics({"accuracy": float(model.score(frame[FEATURES], frame["default"]))})
            version = ladder.register_model(
                model, "loans", input_example=frame[FEATURES].head(), datasets=[train]
            )
        checked = gate(
            version.uri,
            "loans@champion",
            holdout,
            label="default",
            metrics={"roc_auc": {"min": 0.6, "min_delta": 0.0}},
        )
        if checked.passed:
            promote(version.uri, "champion")
    assert result.status == "finished"
    create_deployment("loans", "loans@champion", canary="loans/2:10")
    create_monitor("loans-data", reference=holdout.ref, current=str(root / "data" / "new.csv"))
    run_monitor("loans-data")


def test_a_full_ladder_project_reaches_level_4_from_its_store(
    workspace: Workspace, isolated: Path
) -> None:
    build_project(isolated)
    result = assess(isolated)
    assert result.sources["ladder_store"]["status"] == "read"
    slices = result.sources["ladder_store"]["slices"]
    assert slices == {
        "tracking": "read",
        "data": "read",
        "pipelines": "read",
        "registry": "read",
        "serving": "read",
        "monitoring": "read",
        "automation": "read",
    }
    assert not [f for f in result.findings if f.severity == "error"], result.findings
    assert result.level == 4
    # what holds level 5 back until the autopilot runs a retrain -> promote cycle on its own
    assert result.failing(5) == ["L5.automated_cycle"]
    assert result.failing(5, required_only=False) == [
        "L5.automated_cycle",
        "L5.prediction_logging",
    ]
    evidence = {c.id: " ".join(c.evidence) for c in result.checks}
    assert (
        "Ladder: 2 of " in evidence["L2.runs_commit"]
        or "runs record a commit" in evidence["L2.runs_commit"]
    )
    assert "came from a clean working tree" in evidence["L3.clean_tree"]
    assert (
        "Ladder datasets: holdout (1 versions), loans (1 versions)" in evidence["L3.data_versioned"]
    )
    assert "pipeline run(s) of training" in evidence["L3.pipeline"]
    assert "Ladder registry: loans (2 versions)" in evidence["L3.model_registry"]
    assert "promotion(s) behind a passing gate" in evidence["L4.deploy_gated"]
    assert (
        "loans (primary loans@champion 90% · canary loans/2 10%)"
        in evidence["L4.progressive_delivery"]
    )
    assert "Ladder monitors: loans-data" in evidence["L5.monitoring_configured"]
    assert "monitor result(s) in the last 30 days" in evidence["L5.monitoring_active"]
    assert "ladder.toml [triggers]: weekly" in evidence["L5.retrain_triggers"]
    assert result.next_steps[0].check == "L5.automated_cycle"


def test_a_completed_retrain_to_promote_loop_closes_level_5s_last_check(
    sqlite_workspace: Workspace, isolated: Path
) -> None:
    # The events the autopilot records for one loop (automation slice, issue 8); a second
    # loop that retrained but rolled back is not a completed cycle.
    from ladder.automation.events import record_event

    write(isolated, "ladder.toml", '[project]\nname = "default"\n')
    commit_all(isolated, "project")
    for loop, outcome in (("loop-1", "rolled_back"), ("loop-2", "promoted")):
        record_event("trigger_fired", "weekly", model="loans", trigger="weekly", loop_id=loop)
        record_event("pipeline_finished", "retrained", model="loans", loop_id=loop)
        record_event(outcome, outcome, model="loans", version=2, loop_id=loop)
    check = assess(isolated).check("L5.automated_cycle")
    assert check.status == "passed", check.evidence
    assert "Ladder autopilot: 1 retrain → promote cycle(s) in the last 30 days" in check.evidence[0]
