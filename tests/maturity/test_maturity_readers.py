"""The evidence readers: what the scan skips, what CI runs, what is pinned, what tools hold."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from maturity_fixtures import commit_all, mlflow_db, mlflow_file_store, notebook, write

from ladder.maturity.ci import read_ci
from ladder.maturity.deployment_files import read_deployment
from ladder.maturity.dvc_files import read_dvc
from ladder.maturity.environment_pins import read_pins
from ladder.maturity.ladder_config import read_ladder_config
from ladder.maturity.mlflow_store import read_mlflow
from ladder.maturity.scan import scan_repository


def test_the_scan_skips_vcs_virtualenvs_caches_and_packages(tmp_path: Path) -> None:
    write(tmp_path, "train.py", "import torch\n")
    write(tmp_path, ".git/config", "[core]\n")
    write(tmp_path, "node_modules/left-pad/index.py", "import sklearn\n")
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr\n")  # a virtualenv under any name
    write(tmp_path, "myenv/lib/site.py", "import xgboost\n")
    write(tmp_path, "conda/conda-meta/history", "")
    write(tmp_path, "conda/lib/x.py", "import lightgbm\n")
    write(tmp_path, "src/__pycache__/x.py", "import keras\n")
    scan = scan_repository(tmp_path)
    assert scan.files == ["train.py"]
    assert scan.modules == {"torch": ["train.py"]}
    reasons = {s.path: s.reason for s in scan.skipped}
    assert reasons == {
        ".git": "version control internals",
        "conda": "virtual environment",
        "myenv": "virtual environment",
        "node_modules": "JavaScript packages",
        "src/__pycache__": "bytecode cache",
    }


def test_data_folders_are_listed_by_name_only_but_dvc_pointers_are_found(tmp_path: Path) -> None:
    for index in range(50):
        write(tmp_path, f"data/raw/part{index}.csv", "x\n1\n")
    write(tmp_path, "data/raw.dvc", "outs:\n- path: raw\n")
    write(tmp_path, "data/deep/er/images.dvc", "outs:\n- path: images\n")
    write(tmp_path, "src/data/__init__.py", "")  # a package named data is code
    write(tmp_path, "src/data/load.py", "import pandas\n")
    scan = scan_repository(tmp_path)
    assert scan.dvc_pointers == ["data/deep/er/images.dvc", "data/raw.dvc"]
    assert "src/data/load.py" in scan.files
    assert not any(f.endswith(".csv") for f in scan.files)
    assert [(d.path, d.truncated) for d in scan.data_dirs] == [("data", False)]


def test_git_ignored_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "scratch/\n")
    write(tmp_path, "scratch/copy_of_train.py", "import torch\n")
    write(tmp_path, "train.py", "import torch\n")
    commit_all(tmp_path)
    from ladder.maturity.git import ignored_dirs

    scan = scan_repository(tmp_path, ignored=ignored_dirs(tmp_path))
    assert "scratch/copy_of_train.py" not in scan.files
    assert {s.path: s.reason for s in scan.skipped}["scratch"] == "ignored by git"


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "src/a.py", "import torch\n")
    os.symlink(tmp_path, tmp_path / "src" / "loop")
    os.symlink(tmp_path / "src" / "a.py", tmp_path / "link.py")
    scan = scan_repository(tmp_path)
    assert scan.files == ["src/a.py"]


def test_notebook_imports_and_calls_are_found(tmp_path: Path) -> None:
    write(
        tmp_path,
        "nb.ipynb",
        notebook(["import mlflow\nfrom sklearn import svm", "mlflow.log_params({'C': 1})"]),
    )
    scan = scan_repository(tmp_path)
    assert scan.modules == {"mlflow": ["nb.ipynb"], "sklearn": ["nb.ipynb"]}
    assert scan.calls["log_params"] == ["nb.ipynb"]


def test_ci_commands_are_classified_per_system(tmp_path: Path) -> None:
    write(
        tmp_path,
        ".gitlab-ci.yml",
        """
        test:
          script:
            - pip install -r requirements.txt
            - pytest tests/
        validate:
          script: great_expectations checkpoint run loans
        retrain:
          rules:
            - if: $CI_PIPELINE_SOURCE == "schedule"
          script:
            - python train.py
        """,
    )
    write(
        tmp_path,
        "Jenkinsfile",
        """
        pipeline {
          triggers { cron('H 2 * * *') }
          stages {
            stage('deploy') { steps { sh 'helm upgrade loans charts/loans' } }
          }
        }
        """,
    )
    configs = {c.system: c for c in read_ci(scan_repository(tmp_path))}
    gitlab = configs["GitLab CI"]
    assert gitlab.purposes["tests"] == ("pytest tests/",)
    assert gitlab.purposes["data_validation"] == ("great_expectations checkpoint run loans",)
    assert gitlab.purposes["training"] == ("python train.py",)
    assert gitlab.schedules == ("pipeline schedule",)
    jenkins = configs["Jenkins"]
    assert jenkins.schedules == ("H 2 * * *",)
    assert jenkins.does("deployment") and not jenkins.does("tests")


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_any_text_in_a_ci_file_is_read_without_crashing(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    root = tmp_path_factory.mktemp("ci")
    write(root, ".github/workflows/x.yml", text)
    (config,) = read_ci(scan_repository(root))
    assert config.system == "GitHub Actions"
    assert all(isinstance(c, str) for c in config.commands)


_PACKAGE = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)
_VERSION = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}(\.[0-9]{1,2})?", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_PACKAGE, _VERSION, st.sampled_from(["==", ">=", "~=", ""])), max_size=12),
    st.lists(st.sampled_from(["# comment", "", "-r base.txt", "--index-url https://x"])),
)
def test_requirements_count_exact_pins_and_ignore_comments_and_options(
    tmp_path_factory: pytest.TempPathFactory,
    requirements: list[tuple[str, str, str]],
    noise: list[str],
) -> None:
    root = tmp_path_factory.mktemp("req")
    lines = [f"{name}{op}{version}" if op else name for name, version, op in requirements]
    write(root, "requirements.txt", "\n".join(noise + lines) + "\n")
    (pinned,) = read_pins(scan_repository(root)).requirement_files
    assert pinned.total == len(requirements)
    assert pinned.pinned == sum(1 for _, _, op in requirements if op == "==")


def test_hashed_and_conda_requirements_count_as_pinned(tmp_path: Path) -> None:
    write(
        tmp_path,
        "requirements.txt",
        "numpy==1.26.4 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nlocal @ file:///x\n",
    )
    write(
        tmp_path,
        "environment.yml",
        "dependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip:\n    - torch==2.3.0\n",
    )
    write(tmp_path, "uv.lock", "version = 1\n")
    pins = read_pins(scan_repository(tmp_path))
    assert pins.lock_files == ("uv.lock",)
    assert sorted(pins.pinned_files) == ["environment.yml", "requirements.txt", "uv.lock"]


def test_mlflow_stores_are_read_without_mlflow(tmp_path: Path) -> None:
    mlflow_db(tmp_path / "mlflow.db", runs=3, commit="abc", register="loans", alias="champion")
    mlflow_file_store(tmp_path, runs=2)
    connection = sqlite3.connect(tmp_path / "mlflow.db")
    connection.execute("UPDATE runs SET lifecycle_stage = 'deleted' WHERE name = 'run-0'")
    connection.commit()
    connection.close()
    evidence = read_mlflow(scan_repository(tmp_path))
    assert evidence.stores == ("mlflow.db", "mlruns")
    assert (evidence.runs, evidence.runs_with_params, evidence.runs_with_commit) == (4, 4, 2)
    assert evidence.registered_models == ("loans",)
    assert (evidence.model_versions, evidence.versions_with_run) == (1, 1)
    assert evidence.aliases == ("loans@champion",)


def test_a_sqlite_file_that_is_not_mlflows_is_a_problem(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "mlflow.db")
    connection.execute("CREATE TABLE other (x)")
    connection.close()
    evidence = read_mlflow(scan_repository(tmp_path))
    assert not evidence.found
    assert evidence.problems == ("mlflow.db: not an MLflow database (no runs table)",)


def test_dvc_artifacts_of_type_model_are_models(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dvc.yaml",
        "artifacts:\n  churn:\n    path: out/churn.bin\n    type: model\n"
        "stages:\n  fit:\n    cmd: python fit.py\n    params:\n    - other.yaml:\n      - lr\n",
    )
    evidence = read_dvc(scan_repository(tmp_path))
    assert evidence.model_artifacts == ("churn (out/churn.bin)",)
    (stage,) = evidence.stages
    assert (stage.params, stage.locked) == (("other.yaml:lr",), False)


def test_kubernetes_and_helm_markers(tmp_path: Path) -> None:
    write(
        tmp_path,
        "charts/loans/templates/isvc.yaml",
        """
        apiVersion: serving.kserve.io/v1beta1
        kind: InferenceService
        metadata:
          name: {{ .Release.Name }}
        spec:
          predictor:
            canaryTrafficPercent: {{ .Values.canary }}
            logger:
              mode: all
            model:
              storageUri: {{ .Values.modelUri }}
        """,
    )
    write(tmp_path, "charts/loans/Chart.yaml", "apiVersion: v2\nname: loans\n")
    write(tmp_path, "k8s/retrain.yaml", "apiVersion: batch/v1\nkind: CronJob\n")
    evidence = read_deployment(scan_repository(tmp_path))
    assert evidence.helm_charts == ("charts/loans",)
    assert evidence.rollouts == {
        "KServe canaryTrafficPercent": ("charts/loans/templates/isvc.yaml",)
    }
    assert evidence.prediction_logs == {
        "KServe/Seldon request logger": ("charts/loans/templates/isvc.yaml",)
    }
    assert evidence.manifests["CronJob"] == ("k8s/retrain.yaml",)
    assert evidence.model_references == ("charts/loans/templates/isvc.yaml",)


@pytest.mark.parametrize(
    ("text", "gated", "deployments"),
    [
        (
            '[models.loans.gate]\ndataset = "h@latest"\nmetrics = {auc = {min = 0.8}}\n'
            '[deployments.loans]\nmodel = "loans"\n',
            ("loans",),
            ("loans",),
        ),
        ('[[models]]\nname = "fraud"\n[[models]]\nname = "churn"\n', (), ()),
    ],
)
def test_ladder_toml_sections_are_read_structurally(
    tmp_path: Path, text: str, gated: tuple[str, ...], deployments: tuple[str, ...]
) -> None:
    write(tmp_path, "ladder.toml", text)
    evidence = read_ladder_config(tmp_path)
    assert evidence.gated_models == gated
    assert evidence.progressive_deployments == deployments
    assert evidence.declared("models")


def test_a_ladder_toml_the_automation_slice_rejects_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "ladder.toml", '[triggers.nightly]\non = "schedule"\nmodel = "loans"\n')
    evidence = read_ladder_config(tmp_path)
    assert evidence.declared("triggers") == ("nightly",)  # still evidence of intent
    assert evidence.problem is not None and "triggers" in evidence.problem
