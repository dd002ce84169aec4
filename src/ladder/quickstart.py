"""The quickstart: Ladder's main job on the embedded default, end to end on real data.

Levels 1–2 today: train scikit-learn models on the breast-cancer dataset that
ships with scikit-learn, track every run (params, metrics, the model as a skops
artifact, git and environment), then search the runs for the best one.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladder.tracking.queries import RunInfo, search_runs
from ladder.tracking.run import start_run
from ladder.workspace import Workspace, open_workspace

CANDIDATES: list[tuple[str, dict[str, Any]]] = [
    ("logreg", {"model": "logistic_regression", "C": 0.01}),
    ("logreg", {"model": "logistic_regression", "C": 0.1}),
    ("logreg", {"model": "logistic_regression", "C": 1.0}),
    ("logreg", {"model": "logistic_regression", "C": 10.0}),
    ("forest", {"model": "random_forest", "n_estimators": 50, "max_depth": 4}),
    ("forest", {"model": "random_forest", "n_estimators": 200, "max_depth": 8}),
]


@dataclass(frozen=True)
class QuickstartResult:
    workspace: Workspace
    runs: list[RunInfo]
    best: RunInfo


def _build_model(params: dict[str, Any]) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if params["model"] == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=2000))
    return RandomForestClassifier(
        n_estimators=params["n_estimators"], max_depth=params["max_depth"], random_state=0, n_jobs=1
    )


def run_quickstart(directory: Path | None = None, progress: Any = None) -> QuickstartResult:
    """Track one run per candidate model in ``directory`` (a new temporary folder by default)."""
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="ladder-quickstart-"))
    (root / ".ladder").mkdir(parents=True, exist_ok=True)
    ws = open_workspace(root)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=42, stratify=y
    )
    for family, params in CANDIDATES:
        label = ", ".join(f"{k}={v}" for k, v in params.items() if k != "model")
        with start_run(
            name=f"{family}-{label.replace(', ', '-')}",
            project="quickstart",
            tags={"family": family, "dataset": "sklearn.breast_cancer"},
            workspace=ws,
        ) as run:
            run.log_params(params)
            model = _build_model(params)
            model.fit(X_train, y_train)
            proba = model.predict_proba(X_test)[:, 1]
            predicted = (proba >= 0.5).astype(int)
            run.log_metrics(
                {
                    "accuracy": accuracy_score(y_test, predicted),
                    "roc_auc": roc_auc_score(y_test, proba),
                    "f1": f1_score(y_test, predicted),
                    "log_loss": log_loss(y_test, proba),
                }
            )
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.skops"
                sio.dump(model, path)
                run.log_artifact(path, "model.skops")
        if progress is not None:
            progress()
    page = search_runs(
        order_by=["metrics.roc_auc desc", "metrics.log_loss asc"],
        project="quickstart",
        workspace=ws,
    )
    return QuickstartResult(workspace=ws, runs=page.runs, best=page.runs[0])
