"""``ladder data add | list | show | diff | checkout | validate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import ladder
from ladder.cli import app

runner = CliRunner()


def data_cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["data", *args], env={"COLUMNS": "200"})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_add_list_and_show_a_csv(sqlite_workspace, loans_csv) -> None:
    code, out = data_cli("add", "loans", str(loans_csv), "-d", "first export")
    assert code == 0 and "new version loans@1" in out and "500 rows" in out
    code, out = data_cli("add", "loans", str(loans_csv))
    assert code == 0 and "unchanged" in out and "loans@1" in out
    code, out = data_cli("list")
    assert code == 0 and "loans" in out and "@1" in out and "csv" in out
    code, out = data_cli("show", "loans@1")
    assert code == 0
    for expected in ("500 rows × 4 columns", "amount", "categorical", "grade", "first export"):
        assert expected in out
    code, out = data_cli("list", "loans", "--json")
    assert [v["number"] for v in json.loads(out)] == [1]


def test_show_lists_producing_and_consuming_runs(sqlite_workspace, loans_csv) -> None:
    with ladder.start_run(name="prepare-data") as producer:
        ds = ladder.dataset.add("loans", loans_csv)
    with ladder.start_run(name="train-model") as consumer:
        consumer.use_dataset(ds, role="train")
    code, out = data_cli("show", "loans@1")
    assert code == 0 and "prepare-data" in out and "train-model" in out and "produced" in out
    code, out = data_cli("show", "loans", "--json")
    document = json.loads(out)
    assert [link["run_id"] for link in document["produced_by"]] == [producer.id]
    assert [(link["run_id"], link["role"]) for link in document["used_by"]] == [
        (consumer.id, "train")
    ]
    assert document["profile"]["row_count"] == 500


def test_diff_and_checkout_of_a_folder(sqlite_workspace, folder, isolated) -> None:
    data_cli("add", "pets", str(folder))
    (folder / "cats" / "cat9.bin").write_bytes(b"new cat")
    (folder / "README.txt").unlink()
    data_cli("add", "pets", str(folder))
    code, out = data_cli("diff", "pets@1", "pets@2")
    assert code == 0 and "added" in out and "cats/cat9.bin" in out and "removed" in out
    code, out = data_cli("diff", "pets@1", "pets@2", "--json")
    assert {(f["path"], f["change"]) for f in json.loads(out)["files"]} == {
        ("cats/cat9.bin", "added"),
        ("README.txt", "removed"),
    }
    code, out = data_cli("checkout", "pets@1", str(isolated / "restored"))
    assert code == 0 and (isolated / "restored" / "README.txt").read_text() == "labelled pets\n"


def test_validate_exits_1_on_a_blocking_failure_and_0_otherwise(
    sqlite_workspace, loans_csv, isolated, make_loans
) -> None:
    data_cli("add", "loans", str(loans_csv))
    good = isolated / "good.csv"
    make_loans(rows=50, seed=3).to_csv(good, index=False)
    code, out = data_cli("validate", "loans", str(good))
    assert code == 0 and "validation passed" in out
    bad = isolated / "bad.csv"
    frame = make_loans(rows=50, seed=3).drop(columns=["grade"])
    frame.loc[2, "amount"] = 10**9
    frame.to_csv(bad, index=False)
    code, out = data_cli("validate", "loans@1", str(bad))
    assert code == 1
    assert "missing_column" in out and "FAIL" in out and "out_of_range" in out and "warn" in out
    code, out = data_cli("validate", "loans@1", str(bad), "--json")
    assert code == 1 and json.loads(out)["errors"] == 1


def test_add_options_reach_the_reader(sqlite_workspace, isolated) -> None:
    path = isolated / "zips.tsv"
    path.write_text("zip\tcity\n01234\tBoston\n")
    code, out = data_cli("add", "zips", str(path), "--column-type", "zip=string", "--json")
    assert code == 0 and json.loads(out)["row_count"] == 1
    assert ladder.dataset.get("zips").to_pandas()["zip"].tolist() == ["01234"]
    code, out = data_cli("add", "zips", str(path), "--column-type", "zip")
    assert code == 2 and "COLUMN=TYPE" in out


def test_user_errors_print_one_line_and_exit_2(isolated: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "data", "show", "loans@3"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: dataset 'loans': not found")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", ["a/b", "has space", ".."])
def test_bad_names_are_refused_by_the_cli(sqlite_workspace, loans_csv, name) -> None:
    with pytest.raises(ladder.LadderError, match="refused"):
        data_cli("add", name, str(loans_csv))
