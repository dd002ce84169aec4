"""The metadata store: migrations at first use, concurrent first opens, upgrades of old stores."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from tests.conftest import postgres_schema_url

import ladder
from ladder.db import current_revisions, forget_stores, open_store
from ladder.migrations import HEADS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_heads_constant_matches_the_migration_scripts() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(ladder.__file__).parent / "migrations"))
    assert set(ScriptDirectory.from_config(config).get_heads()) == set(HEADS)


def test_a_new_store_is_migrated_to_every_head_on_first_use(workspace) -> None:
    assert current_revisions(workspace.store) == HEADS
    with ladder.start_run(name="first") as run:
        run.log_metric("x", 1.0)
    assert ladder.get_run(run.id).metrics == {"x": 1.0}


_OPEN_STORE = textwrap.dedent(
    """
    import sys, time
    from ladder.db import open_store
    start = float(sys.argv[2])
    while time.time() < start:
        time.sleep(0.001)
    store = open_store(sys.argv[1])
    print("migrated" if store.migrated_here else "current", flush=True)
    """
)


def _open_concurrently(uri: str, processes: int) -> list[str]:
    import time

    start = str(time.time() + 1.5)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_STORE, uri, start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(processes)
    ]
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outcomes.append(out.strip())
    return outcomes


def test_eight_processes_opening_a_new_sqlite_store_migrate_it_exactly_once(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path / 'new' / 'ladder.db'}"
    outcomes = _open_concurrently(uri, 8)
    assert sorted(outcomes) == ["current"] * 7 + ["migrated"]
    assert current_revisions(open_store(uri)) == HEADS
    forget_stores()


def test_eight_processes_opening_a_new_postgres_store_migrate_it_exactly_once() -> None:
    uri = postgres_schema_url()
    outcomes = _open_concurrently(uri, 8)
    assert sorted(outcomes) == ["current"] * 7 + ["migrated"]
    assert current_revisions(open_store(uri)) == HEADS
    forget_stores()


def test_a_store_made_at_the_first_migration_is_upgraded_with_its_data(
    isolated: Path,
) -> None:
    # store_0001.db was written by Ladder at revision 0001_core (tests/fixtures/make_fixtures.py).
    target = isolated / ".ladder" / "ladder.db"
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "store_0001.db", target)
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0001_core",)
        ]
    run = ladder.get_run("01fixturerun0000000000000a")
    assert run.name == "made-at-0001"
    assert run.params == {"C": "0.5"}
    # latest_metrics did not exist at 0001: the upgrade backfilled it from the points.
    assert run.metrics == {"acc": 0.9, "loss": 0.25}
    assert current_revisions(open_store(f"sqlite:///{target}")) == HEADS
    found = ladder.search_runs(where="metrics.acc > 0.8", order_by="metrics.loss asc")
    assert [r.id for r in found.runs] == [run.id]


def test_ladder_db_upgrade_reports_the_revisions(isolated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ladder.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for head in HEADS:
        assert head in result.stdout


@pytest.mark.parametrize("uri", ["mysql://x", "nonsense"])
def test_an_unsupported_store_uri_is_a_clear_error(uri: str) -> None:
    with pytest.raises(ladder.StoreError, match="expected sqlite:///PATH or postgresql"):
        open_store(uri)
