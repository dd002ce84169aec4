"""Deployments: create, list, show, set, rollback, history and export, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from serving_helpers import register_forest

from ladder.errors import (
    DeploymentExists,
    DeploymentNotFound,
    InvalidTrafficPolicy,
    NothingToRollBack,
)
from ladder.registry import set_alias
from ladder.serving import (
    create_deployment,
    deployment_history,
    export_deployment,
    get_deployment,
    list_deployments,
    rollback_deployment,
    set_deployment,
)
from ladder.serving.deployments import deployment_revision
from ladder.workspace import Workspace


@pytest.fixture
def models(workspace: Workspace) -> Workspace:
    for seed in range(2):
        register_forest(workspace, "loans", trees=1, seed=seed)
    set_alias("loans", "champion", 1, workspace=workspace)
    return workspace


def test_create_stores_the_policy_and_starts_at_revision_1(models: Workspace) -> None:
    created = create_deployment(
        "loans-prod", "loans@champion", canary="loans/2:10", shadow="loans/2", workspace=models
    )
    stored = get_deployment("loans-prod", workspace=models)
    assert stored == created
    assert stored.revision == 1 and stored.policy.kind == "canary+shadow"
    assert stored.policy.describe() == (
        "primary loans@champion 90% · canary loans/2 10% · shadow loans/2"
    )
    assert [d.name for d in list_deployments(workspace=models)] == ["loans-prod"]
    assert deployment_revision("loans-prod", models) == 1


def test_create_refuses_models_the_registry_does_not_know(models: Workspace) -> None:
    with pytest.raises(InvalidTrafficPolicy, match=r"variant 'canary'.*loans"):
        create_deployment("x", "loans/1", canary="loans/9:5", workspace=models)
    with pytest.raises(InvalidTrafficPolicy, match="variant 'primary'"):
        create_deployment("x", "loans@nope", workspace=models)
    with pytest.raises(InvalidTrafficPolicy, match="deployment name"):
        create_deployment("bad name", "loans/1", workspace=models)
    assert list_deployments(workspace=models) == []


def test_a_name_is_created_once(models: Workspace) -> None:
    create_deployment("d", "loans/1", workspace=models)
    with pytest.raises(DeploymentExists, match="ladder deploy set"):
        create_deployment("d", "loans/2", workspace=models)


def test_unknown_deployment_names_the_known_ones(models: Workspace) -> None:
    create_deployment("alpha", "loans/1", workspace=models)
    with pytest.raises(DeploymentNotFound, match=r"'beta'.*alpha"):
        get_deployment("beta", workspace=models)
    with pytest.raises(DeploymentNotFound):
        set_deployment("beta", model="loans/2", workspace=models)
    assert deployment_revision("beta", models) is None


def test_set_changes_only_the_parts_given_and_bumps_the_revision(models: Workspace) -> None:
    create_deployment("d", "loans@champion", workspace=models)
    canary = set_deployment("d", canary="loans/2:25", reason="try v2", workspace=models)
    assert canary.revision == 2 and canary.policy.describe() == (
        "primary loans@champion 75% · canary loans/2 25%"
    )
    shadowed = set_deployment("d", shadow="loans/1", workspace=models)
    assert shadowed.policy.kind == "canary+shadow"
    promoted = set_deployment(
        "d", model="loans/2", no_canary=True, no_shadow=True, workspace=models
    )
    assert promoted.revision == 4 and promoted.policy.describe() == "primary loans/2 100%"
    ab = set_deployment("d", ab="loans/1:50", workspace=models)
    assert ab.policy.describe() == "a loans/2 50% · b loans/1 50%"
    history = deployment_history("d", workspace=models)
    assert [(e.revision, e.action) for e in history] == [
        (1, "create"),
        (2, "set"),
        (3, "set"),
        (4, "set"),
        (5, "set"),
    ]
    assert history[1].reason == "try v2" and history[1].actor


def test_set_refuses_no_op_and_contradictory_changes(models: Workspace) -> None:
    create_deployment("d", "loans/1", workspace=models)
    with pytest.raises(InvalidTrafficPolicy, match="leaves the policy as it is"):
        set_deployment("d", model="loans/1", workspace=models)
    with pytest.raises(InvalidTrafficPolicy, match="--no- form"):
        set_deployment("d", canary="loans/2:5", no_canary=True, workspace=models)
    with pytest.raises(InvalidTrafficPolicy, match="loans"):
        set_deployment("d", model="loans/42", workspace=models)
    assert get_deployment("d", workspace=models).revision == 1


def test_rollback_returns_to_the_previous_policy_and_twice_returns_back(
    models: Workspace,
) -> None:
    create_deployment("d", "loans/1", workspace=models)
    set_deployment("d", model="loans/2", workspace=models)
    back = rollback_deployment("d", reason="v2 errors", workspace=models)
    assert back.revision == 3 and back.policy.describe() == "primary loans/1 100%"
    again = rollback_deployment("d", workspace=models)
    assert again.policy.describe() == "primary loans/2 100%"
    chosen = rollback_deployment("d", to_revision=1, workspace=models)
    assert chosen.policy.describe() == "primary loans/1 100%"
    actions = [e.action for e in deployment_history("d", workspace=models)]
    assert actions == ["create", "set", "rollback", "rollback", "rollback"]


def test_rollback_without_an_earlier_policy_is_refused(models: Workspace) -> None:
    create_deployment("d", "loans/1", workspace=models)
    with pytest.raises(NothingToRollBack, match="one policy only"):
        rollback_deployment("d", workspace=models)
    with pytest.raises(NothingToRollBack, match="no revision 7"):
        rollback_deployment("d", to_revision=7, workspace=models)
    with pytest.raises(NothingToRollBack, match="current policy already"):
        rollback_deployment("d", to_revision=1, workspace=models)


def test_export_writes_a_dockerfile_and_kubernetes_manifests_with_probes(
    models: Workspace, tmp_path: Path
) -> None:
    create_deployment("loans-prod", "loans@champion", canary="loans/2:10", workspace=models)
    dockerfile = export_deployment("loans-prod", "dockerfile", tmp_path, workspace=models)
    text = dockerfile.read_text()
    assert text.splitlines()[-1] == (
        'CMD ["ladder", "serve", "--deployment", "loans-prod", "--host", "0.0.0.0", '
        '"--port", "8080", "--workers", "2"]'
    )
    assert "scikit-learn==" in text and "ladder-mlops[" in text and "/ready" in text
    manifest = export_deployment("loans-prod", "k8s", tmp_path, workspace=models)
    documents = list(yaml.safe_load_all(manifest.read_text()))
    kinds = {doc["kind"]: doc for doc in documents}
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:4] == ["ladder", "serve", "--deployment", "loans-prod"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert (
        kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == (kinds["Deployment"]["metadata"]["name"])
    )


def ladder_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ladder.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )


@pytest.mark.slow
def test_deploy_cli_creates_changes_rolls_back_and_exports(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    import json

    for seed in range(2):
        register_forest(sqlite_workspace, "loans", trees=2, seed=seed)
    root = sqlite_workspace.settings.root
    created = ladder_cli("deploy", "create", "web", "--model", "loans/1", "--json", cwd=root)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["revision"] == 1
    changed = ladder_cli("deploy", "set", "web", "--canary", "loans/2:20", cwd=root)
    assert changed.returncode == 0 and "canary" in changed.stdout
    listed = json.loads(ladder_cli("deploy", "list", "--json", cwd=root).stdout)
    assert [(d["name"], d["kind"], d["revision"]) for d in listed] == [("web", "canary", 2)]
    rolled = ladder_cli("deploy", "rollback", "web", "--reason", "errors", cwd=root)
    assert rolled.returncode == 0
    shown = json.loads(ladder_cli("deploy", "show", "web", "--json", cwd=root).stdout)
    assert [e["action"] for e in shown["history"]] == ["create", "set", "rollback"]
    assert shown["kind"] == "single"
    exported = ladder_cli(
        "deploy", "export", "web", "--format", "k8s", "-o", str(tmp_path), cwd=root
    )
    assert exported.returncode == 0 and (tmp_path / "web.k8s.yaml").is_file()
    missing = ladder_cli("deploy", "show", "nope", cwd=root)
    assert missing.returncode == 2 and "'nope'" in missing.stderr and "web" in missing.stderr
    unknown = ladder_cli("serve", "--deployment", "nope", cwd=root)
    assert unknown.returncode == 2 and "deployment 'nope': not found" in unknown.stderr
