"""The three outputs: the Rich report, the documented JSON, the self-contained HTML page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from maturity_fixtures import mlflow_repo, write

from ladder.maturity import CHECKS, SCHEMA, assess, to_html, to_json


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("LADDER_HOME", "LADDER_STORE_URI", "LADDER_ARTIFACT_URI", "LADDER_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "repo"
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    return mlflow_repo(folder)


def ladder_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LADDER_")}
    return subprocess.run(
        [sys.executable, "-m", "ladder.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "COLUMNS": "160", "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
        timeout=120,
    )


TOP_KEYS = [
    "schema",
    "path",
    "assessed_at",
    "level",
    "level_name",
    "google_level",
    "microsoft_level",
    "scoring",
    "levels",
    "next_steps",
    "findings",
    "sources",
    "scan",
]
CHECK_KEYS = [
    "id",
    "level",
    "title",
    "required",
    "status",
    "evidence",
    "why",
    "source",
    "next_step",
]


def test_the_json_follows_the_documented_schema(repo: Path) -> None:
    data = json.loads(to_json(assess(repo)))
    assert list(data) == TOP_KEYS
    assert data["schema"] == SCHEMA == "ladder.assess/1"
    assert (data["level"], data["level_name"], data["google_level"], data["microsoft_level"]) == (
        2,
        "Repeatable",
        0,
        1,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["assessed_at"])
    assert [lvl["level"] for lvl in data["levels"]] == [1, 2, 3, 4, 5]
    assert [lvl["reached"] for lvl in data["levels"]] == [True, True, False, False, False]
    checks = [c for lvl in data["levels"] for c in lvl["checks"]]
    assert [c["id"] for c in checks] == [c.id for c in CHECKS]
    for check in checks:
        assert list(check) == CHECK_KEYS
        assert check["status"] in ("passed", "failed", "not_applicable")
        assert check["why"] and check["source"] and check["evidence"]
        assert (check["next_step"] is not None) == (check["status"] == "failed")
    assert 1 <= len(data["next_steps"]) <= 3
    assert list(data["next_steps"][0]) == ["check", "level", "title", "step"]
    assert set(data["sources"]) == {"git", "ladder_store", "ladder_toml", "mlflow", "dvc", "ci"}


def test_the_json_is_stable_between_runs(repo: Path) -> None:
    def comparable(text: str) -> dict[str, object]:
        data = json.loads(text)
        del data["assessed_at"], data["scan"]["seconds"]
        return data

    assert comparable(to_json(assess(repo))) == comparable(to_json(assess(repo)))


def test_the_html_page_is_self_contained_and_escapes_evidence(repo: Path) -> None:
    write(repo, "<script>alert(1)</script>.ipynb", "{}")
    page = to_html(assess(repo))
    assert page.startswith("<!doctype html>")
    assert "<script" not in page.replace("&lt;script&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.ipynb" in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert "Level 2 · Repeatable" in page
    for check in CHECKS:
        assert f'id="{check.id}"' in page


def test_the_cli_prints_the_badge_checklist_and_next_steps(repo: Path) -> None:
    result = ladder_cli("assess", str(repo), cwd=repo.parent)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Level 2" in out and "Repeatable" in out and "Google level 0" in out
    assert "Microsoft level 1" in out
    for title in ("Level 1 · Manual", "Level 3 · Reproducible", "Level 5 · Continuous"):
        assert title in out
    assert "next steps to level 3" in out
    assert "L3.data_versioned" in out


def test_the_cli_assesses_the_current_folder_and_writes_json_and_html(
    repo: Path, tmp_path: Path
) -> None:
    report = tmp_path / "out" / "assess.html"
    result = ladder_cli("assess", "--json", "--html", str(report), cwd=repo)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["level"], data["path"]) == (2, str(repo.resolve()))
    assert report.read_text().startswith("<!doctype html>")
    assert f"wrote {report}" in result.stderr
