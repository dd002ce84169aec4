"""``ladder models``: list, show, lineage, alias, gate, promote, predict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pandas as pd
from registry_helpers import classification_data, fitted_logistic
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import ladder
from ladder.cli import app
from ladder.errors import GateFailed, InvalidGateSpec, SignatureMismatch
from ladder.workspace import Workspace

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["models", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def two_versions() -> pd.DataFrame:
    frame, y = classification_data(rows=300, seed=1)
    weak = LogisticRegression().fit(frame[["income"]].assign(debt=0.0, age=0.0, score=0.0), y)
    ladder.register_model(weak, "loans", input_example=frame.head(), metrics={"auc": 0.6})
    strong = LogisticRegression().fit(frame, y)
    ladder.register_model(strong, "loans", input_example=frame.head(), metrics={"auc": 0.9})
    return frame.assign(default=y)


def test_list_show_and_lineage(sqlite_workspace: Workspace) -> None:
    two_versions()
    code, out = invoke("list", "--json")
    assert code == 0
    assert orjson.loads(out)[0]["latest_version"] == 2
    code, out = invoke("show", "loans")
    assert code == 0 and "sklearn" in out
    code, out = invoke("show", "loans/2")
    assert code == 0 and "signature" in out and "income" in out and "auc" in out
    code, out = invoke("show", "loans/2", "--json")
    assert orjson.loads(out)["signature"]["inputs"][0]["name"] == "income"
    code, out = invoke("lineage", "loans/2")
    assert code == 0 and "model loans/2" in out and "no run" in out


def test_alias_gate_promote_and_history(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    holdout = two_versions()
    holdout.to_csv(tmp_path / "holdout.csv", index=False)
    assert invoke("alias", "set", "loans", "champion", "1", "--reason", "start")[0] == 0
    code, out = invoke(
        "gate",
        "loans/2",
        "--against",
        "loans@champion",
        "--dataset",
        str(tmp_path / "holdout.csv"),
        "--label",
        "default",
        "--metric",
        "roc_auc:min=0.6,min_delta=0",
        "--json",
    )
    assert code == 0, out
    assert orjson.loads(out)["passed"] is True
    code, out = invoke("promote", "loans/2", "--alias", "champion")
    assert code == 0 and "loans/1 → loans/2" in out
    code, out = invoke(
        "gate",
        "loans/1",
        "--against",
        "loans@champion",
        "-d",
        str(tmp_path / "holdout.csv"),
        "--label",
        "default",
        "-m",
        "roc_auc:min_delta=0",
    )
    assert code == 1 and "failed" in out
    code, out = invoke("alias", "history", "loans", "--json")
    assert [(e["from_version"], e["to_version"]) for e in orjson.loads(out)] == [(None, 1), (1, 2)]
    assert invoke("alias", "rm", "loans", "champion", "--reason", "retire")[0] == 0
    assert ladder.registry.get_aliases("loans") == {}


def test_predict_writes_predictions_and_probabilities(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    model, frame, _ = fitted_logistic()
    ladder.register_model(model, "loans", input_example=frame.head())
    frame.head(7).to_csv(tmp_path / "rows.csv", index=False)
    code, out = invoke("predict", "loans@latest", str(tmp_path / "rows.csv"), "--proba", "--json")
    assert code == 0
    rows = orjson.loads(out)
    assert len(rows) == 7 and set(rows[0]) == {"prediction", "proba_0", "proba_1"}
    assert [r["prediction"] for r in rows] == model.predict(frame.head(7)).tolist()
    frame.head(3).to_json(tmp_path / "rows.jsonl", orient="records", lines=True)
    code, _ = invoke(
        "predict", "loans/1", str(tmp_path / "rows.jsonl"), "-o", str(tmp_path / "out.csv")
    )
    assert code == 0 and len(pd.read_csv(tmp_path / "out.csv")) == 3


def test_user_errors_raise_ladder_errors_naming_the_problem(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    model, frame, _ = fitted_logistic()
    ladder.register_model(model, "loans", input_example=frame.head())
    bad = frame.head(3).astype({"income": object})
    bad.loc[1, "income"] = "lots"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    for args, error, expected in (
        (
            ["predict", "loans/1", str(tmp_path / "bad.csv")],
            SignatureMismatch,
            "'income': not a number at row 1",
        ),
        (["promote", "loans/1"], GateFailed, "no gate"),
        (["gate", "loans/1", "-d", "x.csv", "-m", "roc:min=1"], InvalidGateSpec, "unknown"),
    ):
        result = runner.invoke(app, ["models", *args])
        assert isinstance(result.exception, error)
        assert expected in str(result.exception)


def test_the_console_entry_point_prints_one_line_and_exits_2(sqlite_workspace: Workspace) -> None:
    model, _, _ = fitted_logistic()
    ladder.register_model(model, "loans")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ladder.cli import main; main()",
            "models",
            "show",
            "loans@champion",
        ],
        capture_output=True,
        text=True,
        cwd=sqlite_workspace.settings.root,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "has no alias 'champion'" in " ".join(result.stderr.split())
