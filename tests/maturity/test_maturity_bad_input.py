"""Bad input: paths that are not readable folders, no git, corrupted stores, huge trees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from maturity_fixtures import build_tree, commit_all, mlflow_repo, write

import ladder
from ladder.db import forget_stores
from ladder.errors import AssessPathError
from ladder.maturity import ScanLimits, assess


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("LADDER_HOME", "LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "repo"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    return folder


def ladder_cli(
    *args: str, cwd: Path, unprivileged: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``ladder``; ``unprivileged`` drops root's power to read any file, so that a folder
    with mode 000 is as unreadable to the command as it is to everyone else."""
    command = [sys.executable, "-m", "ladder.cli", *args]
    if unprivileged and os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder unreadable")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADDER_")}
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
        timeout=120,
    )


def test_a_path_that_does_not_exist_or_is_a_file_is_refused(repo: Path) -> None:
    with pytest.raises(AssessPathError, match="nothing exists there"):
        assess(repo / "missing")
    write(repo, "train.py", "print(1)\n")
    with pytest.raises(AssessPathError, match="got a file"):
        assess(repo / "train.py")
    result = ladder_cli("assess", str(repo / "train.py"), cwd=repo)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: assess")
    assert "expected a repository folder, got a file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_that_cannot_be_listed_is_refused_with_the_reason(repo: Path) -> None:
    locked = repo / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result = ladder_cli("assess", str(locked), cwd=repo, unprivileged=True)
    finally:
        locked.chmod(0o755)
    assert result.returncode == 2, result.stdout
    assert "expected a readable folder, listing it failed (Permission denied)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreadable_subfolder_is_a_finding_and_the_scan_goes_on(repo: Path) -> None:
    mlflow_repo(repo)
    secret = repo / "secret"
    secret.mkdir()
    write(secret, "notes.py", "import torch\n")
    secret.chmod(0)
    try:
        result = ladder_cli("assess", str(repo), "--json", cwd=repo, unprivileged=True)
    finally:
        secret.chmod(0o755)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["level"] == 2
    messages = [f["message"] for f in data["findings"]]
    assert "could not read secret: Permission denied" in messages


def test_a_repository_without_git_stays_at_level_1_and_is_told_to_init_git(repo: Path) -> None:
    write(repo, "train.py", "from sklearn.linear_model import LogisticRegression\n")
    write(repo, "requirements.txt", "scikit-learn==1.5.0\n")
    result = assess(repo)
    assert result.level == 1
    check = result.check("L2.version_control")
    assert check.status == "failed"
    assert f"{repo} is not inside a git repository" in check.evidence
    assert f"git -C {repo} init" in (check.next_step or "")
    assert result.sources["git"]["repository"] is None
    assert result.check("L2.environment_pinned").status == "passed"


def test_a_git_repository_without_commits_is_told_to_commit(repo: Path) -> None:
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    result = assess(repo)
    check = result.check("L2.version_control")
    assert check.status == "failed" and "has no commits" in " ".join(check.evidence)


def _ladder_project_with_runs(repo: Path) -> None:
    write(repo, "ladder.toml", '[project]\nname = "loans"\n')
    write(repo, ".gitignore", ".ladder/\n")
    write(repo, "requirements.txt", "scikit-learn==1.5.0\n")
    commit_all(repo, "ladder project")
    ws = ladder.workspace.open_workspace(repo)
    for index in range(3):
        with ladder.start_run(name=f"r{index}", workspace=ws) as run:
            run.log_params({"C": index})
            run.log_metrics({"acc": 0.9})
    forget_stores()


def test_a_garbage_ladder_store_is_a_finding_and_the_rest_is_assessed(repo: Path) -> None:
    mlflow_repo(repo)
    write(repo, "ladder.toml", '[project]\nname = "loans"\n')
    (repo / ".ladder").mkdir()
    (repo / ".ladder" / "ladder.db").write_bytes(b"this is not a database" * 100)
    result = assess(repo)
    errors = [f for f in result.findings if f.source == "ladder store"]
    assert len(errors) == 1 and errors[0].severity == "error"
    assert "file is not a database" in errors[0].message
    assert "the assessment continued" in errors[0].message
    assert result.sources["ladder_store"]["status"] == "unreadable"
    assert result.level == 2  # the MLflow runs and git still count
    assert (repo / ".ladder" / "ladder.db").read_bytes().startswith(b"this is not")


def test_a_truncated_ladder_store_is_a_finding_and_the_rest_is_assessed(repo: Path) -> None:
    _ladder_project_with_runs(repo)
    database = repo / ".ladder" / "ladder.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    data = database.read_bytes()
    database.write_bytes(data[: len(data) // 3])
    result = assess(repo)
    problems = [f for f in result.findings if f.source == "ladder store"]
    assert problems and all(f.severity == "error" for f in problems)
    assert result.check("L2.version_control").status == "passed"
    assert result.check("L2.environment_pinned").status == "passed"
    forget_stores()


def test_an_empty_ladder_store_file_is_reported_not_opened(repo: Path) -> None:
    write(repo, "ladder.toml", '[project]\nname = "loans"\n')
    (repo / ".ladder").mkdir()
    (repo / ".ladder" / "ladder.db").write_bytes(b"")
    result = assess(repo)
    assert result.sources["ladder_store"]["status"] == "unreadable"
    assert (repo / ".ladder" / "ladder.db").stat().st_size == 0  # not turned into a store


def test_a_ladder_toml_without_a_store_does_not_create_one(repo: Path) -> None:
    write(repo, "ladder.toml", '[project]\nname = "loans"\n')
    result = assess(repo)
    assert result.sources["ladder_store"]["status"] == "empty"
    assert not (repo / ".ladder").exists()


def test_broken_tool_files_are_findings_not_crashes(repo: Path) -> None:
    commit_all(repo, "empty")
    (repo / "mlflow.db").write_bytes(b"\x00garbage" * 50)
    write(repo, "ladder.toml", "[models\nname = ")
    write(repo, ".github/workflows/ci.yml", "jobs: [unclosed\n  - run: pytest")
    write(repo, "dvc.yaml", "stages: {train: [\n")
    result = assess(repo)
    sources = {f.source for f in result.findings}
    assert {"mlflow", "ladder.toml", "ci", "dvc"} <= sources
    # the CI file that is not YAML is still read as text
    assert result.check("L4.ci_tests").status == "passed"


@pytest.fixture
def roomy_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder for a huge tree: in memory (/dev/shm) when there is one, which builds 100,000
    files several times faster than a disk does; removed afterwards."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="ladder-assess-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path / "huge"


@pytest.mark.slow
def test_a_100000_file_tree_is_assessed_in_seconds(roomy_folder: Path) -> None:
    repo = roomy_folder
    build_tree(repo, files=100_000)
    started = time.perf_counter()
    result = assess(repo)
    elapsed = time.perf_counter() - started
    skipped = {s["path"]: s["reason"] for s in result.scan["skipped_dirs"]}
    assert skipped["node_modules"] == "JavaScript packages"
    assert skipped[".venv"] == "virtual environment"
    assert skipped["envs/py311"] == "virtual environment"  # found by its pyvenv.cfg
    data = {d["path"]: d for d in result.scan["data_dirs"]}
    assert data["data"]["truncated"]
    assert result.scan["files_read"] < 15_000
    assert result.check("L3.data_versioned").status == "passed"  # data/raw/images.dvc was found
    assert elapsed < 30, f"assessing 100,000 files took {elapsed:.1f} s"


def test_the_read_budget_is_reported_when_reached(repo: Path) -> None:
    for index in range(30):
        write(repo, f"pkg/module_{index:02d}.py", "import torch\n")
    result = assess(repo, limits=ScanLimits(max_read_files=10))
    assert result.scan["read_truncated"]
    assert any("stopped reading" in f.message for f in result.findings)


def test_a_slice_that_is_not_installed_gives_no_evidence_and_the_rest_is_read(repo: Path) -> None:
    _ladder_project_with_runs(repo)
    script = (
        "import sys, json\n"
        "sys.modules['ladder.monitoring'] = None  # as if the slice were not installed\n"
        "from ladder.maturity import assess, to_json\n"
        f"print(to_json(assess({str(repo)!r})))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADDER_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=repo,
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    slices = data["sources"]["ladder_store"]["slices"]
    assert slices["monitoring"] == "not installed"
    assert slices["tracking"] == "read"
    assert not [f for f in data["findings"] if f["severity"] == "error"]
    checks = {c["id"]: c for lvl in data["levels"] for c in lvl["checks"]}
    assert checks["L2.runs_tracked"]["status"] == "passed"
    assert checks["L5.monitoring_active"]["status"] == "failed"


@settings(max_examples=30, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_characters="\x00/"), min_size=1, max_size=40).filter(
        lambda name: name not in (".", "..")  # these would climb out of the missing folder
    )
)
@example("\ud800")  # a lone surrogate: no file system can hold it
def test_any_missing_path_is_refused_with_the_path_named(name: str) -> None:
    path = Path("/nonexistent-ladder-assess") / name
    with pytest.raises(AssessPathError) as raised:
        assess(path)
    assert "assess /nonexistent-ladder-assess" in str(raised.value)
