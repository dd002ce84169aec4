"""One fixture repository per level: the level it reaches and exactly which checks hold it back."""

from __future__ import annotations

from pathlib import Path

import pytest
from maturity_fixtures import (
    commit_all,
    deployment_repo,
    dvc_repo,
    mlflow_file_store,
    mlflow_repo,
    notebook_repo,
    write,
)

from ladder.maturity import Assessment, assess


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder outside any Ladder project, with no LADDER_* settings leaking in."""
    for name in ("LADDER_HOME", "LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "repo"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    return folder


def statuses(result: Assessment, level: int) -> dict[str, str]:
    return {c.id: c.status for c in result.checks if c.level == level}


def test_a_notebook_only_repository_is_level_1_and_lacks_tracking_and_pins(repo: Path) -> None:
    result = assess(notebook_repo(repo))
    assert (result.level, result.level_info.name) == (1, "Manual")
    assert (result.level_info.google, result.level_info.microsoft) == (0, 0)
    assert result.failing(2) == ["L2.runs_tracked", "L2.runs_commit", "L2.environment_pinned"]
    assert result.check("L2.version_control").status == "passed"
    scripts = result.check("L1.scripts")
    assert scripts.status == "failed" and "analysis.ipynb" in " ".join(scripts.evidence)
    assert "jupyter nbconvert --to script analysis.ipynb" in (scripts.next_step or "")
    pins = result.check("L2.environment_pinned")
    assert "requirements.txt pins 0 of 2 requirements" in pins.evidence
    # the first step names the notebook this repository trains in
    assert [s.check for s in result.next_steps] == [
        "L2.runs_tracked",
        "L2.runs_commit",
        "L2.environment_pinned",
    ]
    assert "analysis.ipynb" in result.next_steps[0].step


def test_a_repository_with_mlflow_runs_and_git_is_level_2(repo: Path) -> None:
    result = assess(mlflow_repo(repo))
    assert (result.level, result.level_info.google, result.level_info.microsoft) == (2, 0, 1)
    assert result.failing(3) == [
        "L3.data_versioned",
        "L3.data_linked",
        "L3.pipeline",
        "L3.model_registry",
    ]
    tracked = " ".join(result.check("L2.runs_tracked").evidence)
    assert "MLflow (mlflow.db): 3 runs, 3 with params, 3 with metrics" in tracked
    assert (
        "MLflow: 3 of 3 runs carry mlflow.source.git.commit"
        in result.check("L2.runs_commit").evidence
    )
    # MLflow keeps no dirty flag: the clean-tree check cannot apply
    assert result.check("L3.clean_tree").status == "not_applicable"
    assert "train.py" in result.next_steps[1].step or "train.py" in result.next_steps[0].step
    assert result.sources["mlflow"]["runs"] == 3


def test_mlflow_file_store_runs_count_as_tracked_runs(repo: Path) -> None:
    mlflow_repo(repo)
    (repo / "mlflow.db").unlink()
    commit = commit_all(repo, "again")
    mlflow_file_store(repo, runs=2, commit=commit)
    result = assess(repo)
    assert result.level == 2
    assert any("MLflow (mlruns): 2 runs" in e for e in result.check("L2.runs_tracked").evidence)


def test_a_dvc_pipeline_repository_is_level_3_and_lacks_ci_and_deployment(repo: Path) -> None:
    result = assess(dvc_repo(repo))
    assert (result.level, result.level_info.google, result.level_info.microsoft) == (3, 1, 2)
    assert result.failing(4) == [
        "L4.ci_tests",
        "L4.ci_data_model_checks",
        "L4.deploy_gated",
        "L4.automated_release",
        "L4.progressive_delivery",
        "L4.serving_metrics",
    ]
    assert statuses(result, 3) == {
        "L3.data_versioned": "passed",
        "L3.data_linked": "passed",
        "L3.pipeline": "passed",
        "L3.model_registry": "passed",
        "L3.clean_tree": "not_applicable",
        "L3.tests": "passed",
    }
    assert "DVC tracks 1 path(s): data/raw.csv" in result.check("L3.data_versioned").evidence
    assert "models/model.pkl" in " ".join(result.check("L3.model_registry").evidence)
    assert result.sources["dvc"]["remotes"] == ["storage"]
    assert result.next_steps[0].check == "L4.ci_tests"
    assert ".github/workflows/ci.yml" in result.next_steps[0].step


def test_ci_registry_and_deployment_config_reach_level_4(repo: Path) -> None:
    result = assess(deployment_repo(repo))
    assert (result.level, result.level_info.google, result.level_info.microsoft) == (4, 2, 3)
    assert result.failing(5) == [
        "L5.monitoring_configured",
        "L5.monitoring_active",
        "L5.retrain_triggers",
        "L5.automated_cycle",
    ]
    rollout = " ".join(result.check("L4.progressive_delivery").evidence)
    assert "Argo Rollouts canary/blue-green: k8s/rollout.yaml" in rollout
    metrics = " ".join(result.check("L4.serving_metrics").evidence)
    assert "k8s/servicemonitor.yaml" in metrics and "serve.py" in metrics
    checks = " ".join(result.check("L4.ci_data_model_checks").evidence)
    assert "validate_data.py" in checks and "evaluate.py" in checks
    assert "kubectl apply" in " ".join(result.check("L4.automated_release").evidence)
    assert "MLflow registry: loans; 1 of 1 versions link to their run" in " ".join(
        result.check("L3.model_registry").evidence
    )
    assert [s.check for s in result.next_steps] == [
        "L5.monitoring_configured",
        "L5.monitoring_active",
        "L5.retrain_triggers",
    ]


def test_a_scheduled_training_workflow_counts_as_a_retraining_trigger(repo: Path) -> None:
    deployment_repo(repo)
    write(
        repo,
        ".github/workflows/retrain.yml",
        """
        on:
          schedule:
            - cron: "0 3 * * 1"
        jobs:
          retrain:
            runs-on: ubuntu-latest
            steps:
              - run: dvc repro train
        """,
    )
    write(repo, "monitor.py", "from evidently import Report\n")
    result = assess(repo)
    assert result.check("L5.retrain_triggers").status == "passed"
    assert "0 3 * * 1" in " ".join(result.check("L5.retrain_triggers").evidence)
    assert result.check("L5.monitoring_configured").status == "passed"
    # monitoring code without recorded results, and no automated cycle: still level 4
    assert result.failing(5) == ["L5.monitoring_active", "L5.automated_cycle"]
    assert result.level == 4
