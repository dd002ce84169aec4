"""``ladder monitor``: compare two files; create, run, show and report monitors; ladder.toml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.offline
from typer.testing import CliRunner

from ladder.cli import app
from ladder.errors import ReferenceNotFound


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def write_pair(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 3000),
            "income": rng.lognormal(10, 1, 3000),
            "city": rng.choice(["paris", "rome"], 3000),
        }
    )
    current = pd.DataFrame(
        {
            "age": rng.normal(48, 10, 2000),
            "income": rng.lognormal(10, 1, 2000),
            "city": rng.choice(["paris", "rome", "oslo"], 2000),
        }
    )
    reference.to_parquet(folder / "ref.parquet")
    current.to_csv(folder / "cur.csv", index=False)
    return folder / "ref.parquet", folder / "cur.csv"


def test_compare_prints_the_drift_of_each_column_and_json_for_scripts(isolated: Path) -> None:
    ref, cur = write_pair(isolated)
    text = invoke("monitor", "compare", str(ref), str(cur), "--rule", "drift_share > 0.5")
    assert "age" in text and "drifted" in text and "dataset drift" in text
    assert "categories the reference never had ('oslo')" in text
    assert "alert: drift_share > 0.5" in text
    data = json.loads(invoke("monitor", "compare", str(ref), str(cur), "--json"))
    columns = {c["column"]: c for c in data["drift"]["columns"]}
    assert columns["age"]["drifted"] is True and columns["income"]["drifted"] is False
    assert columns["city"]["method"] == "jensenshannon"


def test_compare_writes_a_self_contained_html_report(isolated: Path) -> None:
    ref, cur = write_pair(isolated)
    out = isolated / "drift.html"
    invoke("monitor", "compare", str(ref), str(cur), "--html", str(out))
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    bundle = plotly.offline.get_plotlyjs()
    assert bundle in page  # plotly.js is inline
    rest = page.replace(bundle, "")
    assert "Plotly.newPlot" in rest
    assert "src=" not in rest and "http" not in rest  # nothing is fetched from the network
    assert "age (drifted)" in page


def test_a_monitor_is_created_run_shown_and_reported(isolated: Path) -> None:
    ref, cur = write_pair(isolated)
    invoke(
        "monitor",
        "create",
        "nightly",
        "--reference",
        str(ref),
        "--current",
        str(cur),
        "--window",
        "1000",
        "--rule",
        "drift_share > 0.3",
        "--rule",
        "psi.age > 0.2",
    )
    listed = json.loads(invoke("monitor", "list", "--json"))
    assert [(m["name"], m["settings"]["window"]) for m in listed] == [("nightly", "1000")]
    text = invoke("monitor", "run", "nightly")
    assert "alert(s) fired" in text
    shown = json.loads(invoke("monitor", "show", "nightly", "--json"))
    assert len(shown["results"]) == 2
    assert [a["rule"] for a in shown["alerts"]] == ["drift_share > 0.3", "psi.age > 0.2"] * 2
    report = json.loads(invoke("monitor", "report", "nightly", "--json"))
    assert report["windows"] == 2 and report["features"][0]["column"] == "age"
    out = isolated / "report.html"
    invoke("monitor", "report", "nightly", "--html", str(out))
    assert "Dataset drift over time" in out.read_text()


def test_monitors_declared_in_ladder_toml_are_created(isolated: Path) -> None:
    (isolated / "ladder.toml").write_text(
        """
[project]
name = "demo"

[deployments.loans]
model = "loans@champion"

[monitors.loans-live]
deployment = "loans"
window = "1h"
alerts = ["estimated.roc_auc < 0.8", "drift_share > 0.3"]
"""
    )
    listed = json.loads(invoke("monitor", "list", "--json"))
    assert [(m["name"], m["deployment"], m["source"]) for m in listed] == [
        ("loans-live", "loans", "config")
    ]
    assert listed[0]["settings"]["rules"] == ["estimated.roc_auc < 0.8", "drift_share > 0.3"]


def test_user_errors_print_one_line_and_exit_2(isolated: Path) -> None:
    ref, _ = write_pair(isolated)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ladder.cli",
            "monitor",
            "create",
            "m",
            "--deployment",
            "d",
            "--rule",
            "drift_share >> 1",
        ],
        capture_output=True,
        text=True,
        cwd=isolated,
        check=False,
    )
    assert result.returncode == 2
    assert "error: alert rule 'drift_share >> 1': expected a number, got '>'" in result.stderr
    missing = CliRunner().invoke(app, ["monitor", "compare", str(ref), "nowhere.parquet"])
    assert isinstance(missing.exception, ReferenceNotFound)
    assert "nowhere.parquet" in str(missing.exception)
