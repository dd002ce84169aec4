"""A small project for the autopilot tests: data, a pipeline file, a champion, a config."""

from __future__ import annotations

from pathlib import Path

import ladder
from ladder.data import dataset
from ladder.quickstart import FEATURES, LABEL, loan_applications
from ladder.workspace import Workspace, open_workspace

PIPELINE = """
import os, time
import pandas as pd
import ladder

FEATURES = {features!r}


@ladder.step(cache=False)
def load(ref: str) -> pd.DataFrame:
    return ladder.dataset.get(ref).to_pandas()


@ladder.step(cache=False)
def fit(frame: pd.DataFrame, C: float, shuffle: bool):
    from sklearn.linear_model import LogisticRegression
    from pathlib import Path

    if Path("FAIL_TRAINING").exists():
        raise RuntimeError("training data unreadable (FAIL_TRAINING is present)")
    time.sleep(float(os.environ.get("LADDER_TEST_TRAIN_SECONDS", "0")))
    labels = frame["default"]
    if shuffle:
        labels = labels.sample(frac=1.0, random_state=1).to_numpy()
    return LogisticRegression(C=C, max_iter=1000).fit(frame[FEATURES], labels)


@ladder.step(cache=False)
def register(model, frame: pd.DataFrame, ref: str, broken: bool):
    example = frame[FEATURES].head(5)
    if not broken:
        return ladder.register_model(model, "loans", input_example=example, datasets=[ref])

    class FailsOnSingleRows:  # passes the gate (batch scoring), fails live single-row traffic
        def __init__(self, inner):
            self.inner = inner
            self.classes_ = inner.classes_

        def _check(self, rows):
            if len(rows) == 1:
                raise RuntimeError("feature store timeout")

        def predict(self, rows):
            self._check(rows)
            return self.inner.predict(rows)

        def predict_proba(self, rows):
            self._check(rows)
            return self.inner.predict_proba(rows)

    return ladder.register_model(
        FailsOnSingleRows(model), "loans", input_example=example, datasets=[ref], flavor="python"
    )


@ladder.pipeline
def training(
    data: str = "loans@latest", C: float = 1.0, shuffle: bool = False, broken: bool = False
):
    ref = ladder.dataset.get(data).ref
    frame = load(ref)
    return register(fit(frame, C=C, shuffle=shuffle), frame, ref, broken)
"""

CONFIG = """
[project]
name = "loans"

[pipelines.training]
entry = "loans_pipeline.py:training"
params = {{ shuffle = {shuffle}, broken = {broken} }}

[models.loans]
pipeline = "training"
trust = {broken}
[models.loans.gate]
dataset = "loans-holdout@latest"
label = "default"
metrics = {{ roc_auc = {{ min = 0.6, min_delta = -0.05 }} }}
{deployment}
[triggers.manual]
on = "manual"
model = "loans"
cooldown = "{cooldown}"
"""

DEPLOYMENT = """
[deployments.loans]
model = "loans@champion"
[deployments.loans.canary]
share = 0.5
min_requests = 20
max_wait = "{max_wait}"
max_error_rate = 0.05
"""


def make_project(
    root: Path,
    *,
    shuffle: bool = False,
    broken: bool = False,
    deployment: bool = False,
    cooldown: str = "1h",
    max_wait: str = "10m",
) -> Workspace:
    """Write the config and pipeline, add the datasets, register and promote loans/1."""
    (root / "loans_pipeline.py").write_text(PIPELINE.format(features=list(FEATURES)))
    (root / "ladder.toml").write_text(
        CONFIG.format(
            shuffle=str(shuffle).lower(),
            broken=str(broken).lower(),
            cooldown=cooldown,
            deployment=DEPLOYMENT.format(max_wait=max_wait) if deployment else "",
        )
    )
    ws = open_workspace(root)
    frame = loan_applications(1200, seed=3)
    dataset.add("loans", frame.iloc[:900], workspace=ws)
    dataset.add("loans-holdout", frame.iloc[900:].reset_index(drop=True), workspace=ws)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(frame[list(FEATURES)], frame[LABEL])
    first = ladder.register_model(
        model, "loans", input_example=frame[list(FEATURES)].head(5), workspace=ws
    )
    ladder.promote(first.uri, "champion", force=True, reason="test setup", workspace=ws)
    if deployment:
        from ladder.serving import create_deployment

        create_deployment("loans", "loans@champion", workspace=ws)
    return ws
