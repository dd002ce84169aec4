"""Lineage: model → run → pipeline run → datasets → git commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from registry_helpers import fitted_logistic, require_library

import ladder
from ladder.registry import model_lineage
from ladder.workspace import Workspace


def git_commit(folder: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "ci@example.com")
    git("config", "user.name", "ci")
    (folder / "train.py").write_text("print('train')\n")
    (folder / ".gitignore").write_text(".ladder/\n")
    git("add", "train.py", ".gitignore")
    git("commit", "-q", "-m", "train")
    return git("rev-parse", "HEAD")


def test_lineage_walks_from_model_to_run_pipeline_datasets_and_commit(workspace: Workspace) -> None:
    commit = git_commit(workspace.settings.root)
    model, frame, _ = fitted_logistic()
    with ladder.start_run(name="nightly", kind="pipeline") as pipeline:
        pipeline.use_dataset("loans-raw@r1", role="source")
        with ladder.start_run(name="train", kind="step", parent=pipeline) as step:
            ladder.register_model(
                model,
                "loans",
                input_example=frame.head(),
                datasets={"train": "loans-train@t1", "eval": "loans-holdout@h1"},
            )
    with ladder.start_run(name="scoring") as consumer:
        consumer.link("input", "model", "loans/1", "scored-with")
    info = model_lineage("loans/1")
    assert info.run is not None and info.run.id == step.id
    assert info.pipeline_run is not None and info.pipeline_run.id == pipeline.id
    assert {(d.ref, d.role) for d in info.datasets} == {
        ("loans-train@t1", "train"),
        ("loans-holdout@h1", "eval"),
        ("loans-raw@r1", "source"),
    }
    assert info.git_commit == commit and info.git_dirty is False
    assert [u.run_id for u in info.used_by] == [consumer.id]
    assert info.to_dict()["pipeline_run"]["id"] == pipeline.id


def test_lineage_outside_a_run_keeps_the_commit_and_datasets(sqlite_workspace: Workspace) -> None:
    commit = git_commit(sqlite_workspace.settings.root)
    model, _, _ = fitted_logistic()
    ladder.register_model(model, "loans", datasets=["loans-train@t1"])
    info = model_lineage("loans@latest")
    assert info.run is None and info.pipeline_run is None
    assert info.git_commit == commit
    assert [(d.ref, d.role) for d in info.datasets] == [("loans-train@t1", "train")]


def test_dataset_versions_are_recorded_by_their_stable_reference(
    sqlite_workspace: Workspace,
) -> None:
    data = require_library("ladder.data")
    model, frame, y = fitted_logistic()
    train = data.dataset.add("loans-train", frame.assign(y=y))
    version = ladder.register_model(
        model, "loans", datasets=[train, ("loans-train@latest", "again")]
    )
    refs = [(d.ref, d.role) for d in version.datasets]
    assert refs == [(train.ref, "train"), (train.ref, "again")]
