"""``ladder init | runs | artifacts | quickstart`` through the real console entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ladder


def ladder_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ladder.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )


@pytest.fixture
def three_runs(isolated: Path) -> list[ladder.Run]:
    runs = []
    for index, (c, acc) in enumerate([("0.1", 0.71), ("1", 0.93), ("10", 0.88)]):
        with ladder.start_run(
            name=f"run-{index}", tags={"team": "risk" if index else "ops"}
        ) as run:
            run.log_params({"C": c})
            run.log_metrics({"acc": acc, "loss": 1 - acc})
            run.log_dict({"C": c}, "config.json")
        runs.append(run)
    return runs


def test_runs_list_filters_sorts_and_prints_json(three_runs: list[ladder.Run]) -> None:
    result = ladder_cli(
        "runs", "list", "--where", "metrics.acc > 0.8", "--order-by", "metrics.acc desc", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [r["name"] for r in data["runs"]] == ["run-1", "run-2"]
    assert data["runs"][0]["metrics"]["acc"] == 0.93
    assert data["next_page_token"] is None


def test_runs_list_prints_a_table_and_a_page_token(three_runs: list[ladder.Run]) -> None:
    result = ladder_cli("runs", "list", "--limit", "2", "--tag", "team=risk")
    assert result.returncode == 0, result.stderr
    assert "run-1" in result.stdout and "run-2" in result.stdout and "run-0" not in result.stdout
    assert "--page-token" not in result.stdout
    result = ladder_cli("runs", "list", "--limit", "2")
    assert "--page-token" in result.stdout
    token = result.stdout.split("--page-token")[1].split()[0]
    rest = ladder_cli("runs", "list", "--limit", "2", "--page-token", token, "--json")
    assert [r["name"] for r in json.loads(rest.stdout)["runs"]] == ["run-0"]


def test_a_bad_filter_prints_one_clear_line_and_exits_2(three_runs: list[ladder.Run]) -> None:
    result = ladder_cli("runs", "list", "--where", "metrics.acc >>> 1")
    assert result.returncode == 2
    assert "error:" in result.stderr and "filter" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_show_and_compare(three_runs: list[ladder.Run]) -> None:
    first, second, _ = three_runs
    shown = ladder_cli("runs", "show", first.id)
    assert shown.returncode == 0, shown.stderr
    for text in ("run-0", "finished", "config.json", "acc", "command"):
        assert text in shown.stdout
    as_json = json.loads(ladder_cli("runs", "show", first.id, "--json").stdout)
    assert as_json["params"] == {"C": "0.1"}
    assert as_json["environment"]["python"]
    compared = ladder_cli("runs", "compare", first.id, second.id)
    assert compared.returncode == 0, compared.stderr
    assert "params.C" in compared.stdout and "0.1" in compared.stdout and "0.93" in compared.stdout
    too_few = ladder_cli("runs", "compare", first.id)
    assert too_few.returncode != 0


def test_runs_delete_and_artifacts_get(three_runs: list[ladder.Run], tmp_path: Path) -> None:
    first = three_runs[0]
    out = tmp_path / "fetched.json"
    got = ladder_cli("artifacts", "get", first.id, "config.json", str(out))
    assert got.returncode == 0, got.stderr
    assert json.loads(out.read_text()) == {"C": "0.1"}
    listed = ladder_cli("artifacts", "list", first.id, "--json")
    assert [a["path"] for a in json.loads(listed.stdout)] == ["config.json"]
    missing = ladder_cli("artifacts", "get", first.id, "nope.txt", str(out))
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
    deleted = ladder_cli("runs", "delete", first.id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert ladder_cli("runs", "show", first.id).returncode == 2


def test_init_writes_a_config_and_creates_the_store(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    result = ladder_cli("init", str(project), "--name", "loans")
    assert result.returncode == 0, result.stderr
    assert 'name = "loans"' in (project / "ladder.toml").read_text()
    assert (project / ".ladder" / "ladder.db").exists()


def test_quickstart_runs_the_five_levels_and_leaves_an_explorable_workspace(
    tmp_path: Path,
) -> None:
    target = tmp_path / "qs"
    result = ladder_cli("quickstart", "--dir", str(target))
    assert result.returncode == 0, result.stderr
    assert "best run:" in result.stdout
    assert ", 0 failed" in result.stdout
    assert "loans/1 → loans/2" in result.stdout
    listed = ladder_cli(
        "runs",
        "list",
        "--where",
        "tags.stage = 'baseline'",
        "--order-by",
        "metrics.roc_auc desc",
        "--json",
        cwd=target,
    )
    runs = json.loads(listed.stdout)["runs"]
    assert len(runs) == 3 and all(r["status"] == "finished" for r in runs)
    assert runs[0]["name"] in result.stdout.split("best run:")[1]
    events = json.loads(ladder_cli("events", "--json", cwd=target).stdout)
    order = [e["kind"] for e in events]
    for earlier, later in [
        ("trigger_fired", "pipeline_finished"),
        ("pipeline_finished", "gate_passed"),
        ("gate_passed", "canary_started"),
        ("canary_started", "promoted"),
    ]:
        assert order.index(earlier) < order.index(later)
    explained = json.loads(ladder_cli("events", "explain", "loans/2", "--json", cwd=target).stdout)
    assert "is serving" in explained["verdict"]
    report = (target / "monitoring-report.html").read_text()
    assert "<script" in report and "plotly" in report.lower()
    assessed = json.loads(ladder_cli("assess", str(target), "--json", cwd=target).stdout)
    assert assessed["level"] == 5
