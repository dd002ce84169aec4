"""Fixture repositories for the maturity tests, built file by file (not a test module).

Each builder writes what a team at that level has: the MLflow store uses the
table definitions MLflow 3 creates (copied from a real ``mlflow.db``), the
file store MLflow's on-disk layout, DVC its pointer, pipeline and lock files.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        check=True,
    )
    return result.stdout.strip()


def commit_all(repo: Path, message: str = "work") -> str:
    if not (repo / ".git").exists():
        git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def notebook(cells: list[str]) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "outputs": [],
                    "source": [line + "\n" for line in cell.splitlines()],
                }
                for cell in cells
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


# -- level 1: notebooks only -------------------------------------------------------------------


def notebook_repo(root: Path) -> Path:
    """Exploration and training in notebooks, a CSV beside them, a loose requirements file."""
    write(
        root,
        "analysis.ipynb",
        notebook(
            [
                "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
                "df = pd.read_csv('data/loans.csv')\n"
                "model = LogisticRegression().fit(df[['x']], df.y)",
            ]
        ),
    )
    write(root, "eda.ipynb", notebook(["import pandas as pd", "df.describe()"]))
    write(root, "data/loans.csv", "x,y\n1,0\n2,1\n")
    write(root, "requirements.txt", "pandas\nscikit-learn>=1.3\n")
    commit_all(root, "notebooks")
    return root


# -- level 2: MLflow + git -------------------------------------------------------------------

MLFLOW_DDL = """
CREATE TABLE experiments (
    experiment_id INTEGER NOT NULL, name VARCHAR(256) NOT NULL, artifact_location VARCHAR(256),
    lifecycle_stage VARCHAR(32), creation_time BIGINT, last_update_time BIGINT,
    workspace VARCHAR(63) DEFAULT 'default' NOT NULL,
    CONSTRAINT experiment_pk PRIMARY KEY (experiment_id));
CREATE TABLE runs (
    run_uuid VARCHAR(32) NOT NULL, name VARCHAR(250), source_type VARCHAR(20),
    source_name VARCHAR(500), entry_point_name VARCHAR(50), user_id VARCHAR(256),
    status VARCHAR(9), start_time BIGINT, end_time BIGINT, source_version VARCHAR(50),
    lifecycle_stage VARCHAR(20), artifact_uri VARCHAR(200), experiment_id INTEGER,
    deleted_time BIGINT, CONSTRAINT run_pk PRIMARY KEY (run_uuid));
CREATE TABLE tags (
    "key" VARCHAR(250) NOT NULL, value VARCHAR(8000), run_uuid VARCHAR(32) NOT NULL,
    CONSTRAINT tag_pk PRIMARY KEY ("key", run_uuid));
CREATE TABLE params (
    "key" VARCHAR(250) NOT NULL, value VARCHAR(8000) NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    CONSTRAINT param_pk PRIMARY KEY ("key", run_uuid));
CREATE TABLE latest_metrics (
    "key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT, step BIGINT NOT NULL,
    is_nan BOOLEAN NOT NULL, run_uuid VARCHAR(32) NOT NULL,
    CONSTRAINT latest_metric_pk PRIMARY KEY ("key", run_uuid));
CREATE TABLE metrics (
    "key" VARCHAR(250) NOT NULL, value FLOAT NOT NULL, timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    is_nan BOOLEAN DEFAULT '0' NOT NULL);
CREATE TABLE registered_models (
    name VARCHAR(256) NOT NULL, creation_time BIGINT, last_updated_time BIGINT,
    description VARCHAR(5000), workspace VARCHAR(63) DEFAULT 'default' NOT NULL,
    CONSTRAINT registered_model_pk PRIMARY KEY (workspace, name));
CREATE TABLE model_versions (
    name VARCHAR(256) NOT NULL, version INTEGER NOT NULL, creation_time BIGINT,
    last_updated_time BIGINT, description VARCHAR(5000), user_id VARCHAR(256),
    current_stage VARCHAR(20), source VARCHAR(500), run_id VARCHAR(32), status VARCHAR(20),
    status_message VARCHAR(500), run_link VARCHAR(500), storage_location VARCHAR(500),
    workspace VARCHAR(63) DEFAULT 'default' NOT NULL,
    CONSTRAINT model_version_pk PRIMARY KEY (workspace, name, version));
CREATE TABLE registered_model_aliases (
    alias VARCHAR(256) NOT NULL, version INTEGER NOT NULL, name VARCHAR(256) NOT NULL,
    workspace VARCHAR(63) DEFAULT 'default' NOT NULL,
    CONSTRAINT registered_model_alias_pk PRIMARY KEY (workspace, name, alias));
CREATE TABLE datasets (
    dataset_uuid VARCHAR(36) NOT NULL, experiment_id INTEGER NOT NULL, name VARCHAR(500) NOT NULL,
    digest VARCHAR(36) NOT NULL, dataset_source_type VARCHAR(36) NOT NULL,
    dataset_source TEXT NOT NULL, dataset_schema TEXT, dataset_profile TEXT,
    CONSTRAINT dataset_pk PRIMARY KEY (experiment_id, name, digest));
CREATE TABLE inputs (
    input_uuid VARCHAR(36) NOT NULL, source_type VARCHAR(36) NOT NULL,
    source_id VARCHAR(36) NOT NULL, destination_type VARCHAR(36) NOT NULL,
    destination_id VARCHAR(36) NOT NULL, step BIGINT DEFAULT '0' NOT NULL,
    CONSTRAINT inputs_pk PRIMARY KEY (source_type, source_id, destination_type, destination_id));
"""


def mlflow_db(
    path: Path,
    *,
    runs: int = 3,
    commit: str | None = None,
    register: str | None = None,
    alias: str | None = None,
    dataset_inputs: bool = False,
) -> list[str]:
    """An ``mlflow.db`` with ``runs`` finished runs carrying params, metrics and (given a
    ``commit``) the git commit tag; ``register`` names a registered model whose version 1 comes
    from the last run. Returns the run ids."""
    connection = sqlite3.connect(path)
    connection.executescript(MLFLOW_DDL)
    now = int(time.time() * 1000)
    connection.execute(
        "INSERT INTO experiments VALUES (0, 'Default', 'mlruns/0', 'active', ?, ?, 'default')",
        (now, now),
    )
    ids = []
    for index in range(runs):
        run_id = uuid.uuid4().hex
        ids.append(run_id)
        start = now - (runs - index) * 60_000
        connection.execute(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', 'train.py', '', 'me', 'FINISHED', ?, ?, '', "
            "'active', ?, 0, NULL)",
            (run_id, f"run-{index}", start, start + 1000, f"mlruns/0/{run_id}/artifacts"),
        )
        connection.execute("INSERT INTO params VALUES ('C', ?, ?)", (str(index + 1), run_id))
        connection.execute(
            "INSERT INTO latest_metrics VALUES ('acc', ?, ?, 0, 0, ?)",
            (0.8 + index / 100, start, run_id),
        )
        tags = {"mlflow.source.name": "train.py", "mlflow.user": "me"}
        if commit:
            tags["mlflow.source.git.commit"] = commit
        for key, value in tags.items():
            connection.execute("INSERT INTO tags VALUES (?, ?, ?)", (key, value, run_id))
        if dataset_inputs:
            source = uuid.uuid4().hex
            connection.execute(
                "INSERT INTO inputs VALUES (?, 'DATASET', ?, 'RUN', ?, 0)",
                (uuid.uuid4().hex, source, run_id),
            )
    if register:
        connection.execute(
            "INSERT INTO registered_models VALUES (?, ?, ?, NULL, 'default')", (register, now, now)
        )
        connection.execute(
            "INSERT INTO model_versions VALUES (?, 1, ?, ?, NULL, NULL, 'None', ?, ?, 'READY', "
            "NULL, NULL, ?, 'default')",
            (register, now, now, f"runs:/{ids[-1]}/model", ids[-1], f"runs:/{ids[-1]}/model"),
        )
        if alias:
            connection.execute(
                "INSERT INTO registered_model_aliases VALUES (?, 1, ?, 'default')",
                (alias, register),
            )
    connection.commit()
    connection.close()
    return ids


def mlflow_file_store(root: Path, *, runs: int = 2, commit: str | None = None) -> list[str]:
    """``mlruns/`` in MLflow's file-store layout: experiment 0 with ``runs`` runs."""
    experiment = root / "mlruns" / "0"
    write(experiment, "meta.yaml", "experiment_id: '0'\nlifecycle_stage: active\nname: Default\n")
    ids = []
    now = int(time.time() * 1000)
    for index in range(runs):
        run_id = uuid.uuid4().hex
        ids.append(run_id)
        run = experiment / run_id
        write(
            run,
            "meta.yaml",
            f"run_id: {run_id}\nexperiment_id: '0'\nlifecycle_stage: active\n"
            f"start_time: {now - index * 1000}\nstatus: 3\n",
        )
        write(run, "params/C", "1.0")
        write(run, "metrics/acc", f"{now} 0.9 0\n")
        if commit:
            write(run, "tags/mlflow.source.git.commit", commit)
    return ids


def mlflow_repo(root: Path) -> Path:
    write(
        root,
        "train.py",
        """
        import mlflow
        from sklearn.linear_model import LogisticRegression

        with mlflow.start_run():
            mlflow.log_params({"C": 1.0})
            model = LogisticRegression(C=1.0).fit(X, y)
            mlflow.log_metric("acc", model.score(X, y))
        """,
    )
    write(root, "requirements.txt", "mlflow==2.14.1\nscikit-learn==1.5.0\npandas==2.2.2\n")
    write(root, ".gitignore", "mlflow.db\nmlruns/\n")
    commit = commit_all(root, "train with mlflow")
    mlflow_db(root / "mlflow.db", runs=3, commit=commit)
    return root


# -- level 3: DVC + pipeline -------------------------------------------------------------------


def dvc_repo(root: Path) -> Path:
    write(
        root,
        ".dvc/config",
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/dvc\n",
    )
    write(root, ".dvc/.gitignore", "/config.local\n/tmp\n/cache\n")
    write(root, "data/.gitignore", "/raw.csv\n")
    write(
        root,
        "data/raw.csv.dvc",
        """
        outs:
        - md5: 1b2cf535f27731c974343645a3985328
          size: 1024
          hash: md5
          path: raw.csv
        """,
    )
    write(root, "data/raw.csv", "x,y\n1,0\n")  # the DVC-tracked data itself (git-ignored)
    write(
        root,
        "dvc.yaml",
        """
        stages:
          prepare:
            cmd: python src/prepare.py data/raw.csv data/prepared
            deps:
            - data/raw.csv
            - src/prepare.py
            outs:
            - data/prepared
          train:
            cmd: python src/train.py data/prepared models/model.pkl
            deps:
            - data/prepared
            - src/train.py
            params:
            - train.C
            outs:
            - models/model.pkl
            metrics:
            - metrics.json:
                cache: false
        """,
    )
    write(
        root,
        "dvc.lock",
        """
        schema: '2.0'
        stages:
          prepare:
            cmd: python src/prepare.py data/raw.csv data/prepared
            deps:
            - path: data/raw.csv
              md5: 1b2cf535f27731c974343645a3985328
            outs:
            - path: data/prepared
              md5: 5ea7cd6a8d5e1a4b7e0e4b1a0f5e9c3d.dir
          train:
            cmd: python src/train.py data/prepared models/model.pkl
            deps:
            - path: data/prepared
              md5: 5ea7cd6a8d5e1a4b7e0e4b1a0f5e9c3d.dir
            params:
              params.yaml:
                train.C: 1.0
            outs:
            - path: models/model.pkl
              md5: 0f343b0931126a20f133d67c2b018a3b
            - path: metrics.json
              md5: 3d5c1e2f0a9b8c7d6e5f4a3b2c1d0e9f
        """,
    )
    write(root, "params.yaml", "train:\n  C: 1.0\n")
    write(root, "metrics.json", '{"acc": 0.91}\n')
    write(root, "src/prepare.py", "import pandas as pd\n")
    write(
        root,
        "src/train.py",
        "import pickle\nfrom sklearn.linear_model import LogisticRegression\n"
        "model = LogisticRegression().fit(X, y)\n",
    )
    write(root, "tests/test_prepare.py", "def test_prepare():\n    assert True\n")
    write(root, "poetry.lock", "# This file is automatically @generated by Poetry\n")
    write(root, "pyproject.toml", "[tool.poetry]\nname = 'loans'\n")
    write(root, ".gitignore", "/models\n")
    commit_all(root, "dvc pipeline")
    return root


# -- level 4: CI + registry + deployment config ----------------------------------------------


def deployment_repo(root: Path) -> Path:
    dvc_repo(root)
    write(
        root,
        ".github/workflows/ci.yml",
        """
        name: ci
        on:
          push:
            branches: [main]
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: pip install -r requirements.txt
              - run: pytest -q
              - name: validate data
                run: python scripts/validate_data.py data/raw.csv
          release:
            needs: test
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: python src/evaluate.py --against models:/loans@champion
              - run: kubectl apply -f k8s/
        """,
    )
    write(
        root,
        "k8s/rollout.yaml",
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: loans
        spec:
          strategy:
            canary:
              steps:
              - setWeight: 10
              - pause: {duration: 1h}
          template:
            spec:
              containers:
              - name: server
                image: registry.example.com/loans:latest
                env:
                - name: MODEL_URI
                  value: models:/loans@champion
        """,
    )
    write(
        root,
        "k8s/servicemonitor.yaml",
        """
        apiVersion: monitoring.coreos.com/v1
        kind: ServiceMonitor
        metadata:
          name: loans
        spec:
          endpoints:
          - port: http
            path: /metrics
        """,
    )
    write(root, "Dockerfile", "FROM python:3.11-slim\nCOPY . /app\nCMD python serve.py\n")
    write(
        root,
        "serve.py",
        "from fastapi import FastAPI\nfrom prometheus_client import make_asgi_app\n"
        "app = FastAPI()\napp.mount('/metrics', make_asgi_app())\n",
    )
    write(root, "scripts/validate_data.py", "import pandera as pa\n")
    write(root, "src/evaluate.py", "import mlflow\nresult = mlflow.evaluate(model, data)\n")
    write(root, ".gitignore", "/models\nmlflow.db\n")
    commit = commit_all(root, "ci and deployment")
    mlflow_db(root / "mlflow.db", runs=4, commit=commit, register="loans", alias="champion")
    return root


# -- a huge tree -------------------------------------------------------------------------------

_MODULE = """import numpy as np
from sklearn.preprocessing import StandardScaler


def features(x):
    return np.log1p(x)
"""


def build_tree(root: Path, files: int = 100_000) -> dict[str, int]:
    """A repository of ``files`` files shaped like a big ML monorepo: a tenth source code, the
    rest installed packages, a virtualenv, node_modules and a DVC-tracked image folder.
    Returns how many files went where."""
    shares = {
        "src": files // 10,
        "tests": files // 100,
        "node_modules": files // 5,
        ".venv": files * 15 // 100,
        "envs/py311": files * 3 // 100,
        "data/raw/images": files * 40 // 100,
    }
    shares["assets"] = files - sum(shares.values())
    module = _MODULE.encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for folder, count in shares.items():
        per_dir = 500
        suffix = {"node_modules": ".js", "data/raw/images": ".png", "assets": ".svg"}.get(
            folder, ".py"
        )
        for index in range(count):
            directory = f"{root}/{folder}/d{index // per_dir:03d}"
            if index % per_dir == 0:
                os.makedirs(directory, exist_ok=True)
            # os.open/os.write: Python file objects would double the time to build the tree
            if folder in ("src", "tests"):
                name = f"test_m{index}.py" if folder == "tests" else f"m{index}.py"
                handle = os.open(f"{directory}/{name}", flags)
                os.write(handle, module)
            else:
                handle = os.open(f"{directory}/f{index}{suffix}", flags)
            os.close(handle)
    for venv in (".venv", "envs/py311"):
        (root / venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write(root, "data/raw/images.dvc", "outs:\n- md5: 0a1b2c.dir\n  path: images\n")
    write(root, "src/train.py", "from sklearn.linear_model import LogisticRegression\n")
    return shares
