"""The pipelines branch of the schema migrates down and up on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

import ladder
from ladder.db import current_revisions
from ladder.migrations import HEADS
from ladder.workspace import Workspace

TABLES = {"pipeline_runs", "pipeline_steps", "pipeline_cache"}


def test_the_pipelines_tables_migrate_down_and_up(workspace: Workspace) -> None:
    assert current_revisions(workspace.store) == HEADS
    assert "pipelines_0001" in HEADS
    config = Config()
    config.set_main_option("script_location", str(Path(ladder.__file__).parent / "migrations"))
    with workspace.store.engine.connect() as conn:
        config.attributes["connection"] = conn
        assert set(inspect(conn).get_table_names()) >= TABLES
        command.downgrade(config, "pipelines@base")
        conn.commit()
        assert not TABLES & set(inspect(conn).get_table_names())
        command.upgrade(config, "heads")
        conn.commit()
        assert set(inspect(conn).get_table_names()) >= TABLES
    assert current_revisions(workspace.store) == HEADS
