"""PostgreSQL table statistics: refreshed after a bulk change, so searches keep index plans."""

from __future__ import annotations

from sqlalchemy import text

import ladder
from ladder.workspace import Workspace


def test_statistics_of_bulk_changed_tables_are_refreshed_once(workspace: Workspace) -> None:
    store = workspace.store
    with ladder.start_run(name="tagged") as run:
        pass
    rows = [{"run_id": run.id, "key": f"k{i}", "value": str(i)} for i in range(3000)]
    with store.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO tags (run_id, key, value) VALUES (:run_id, :key, :value)"), rows
        )
        if not store.is_sqlite:
            conn.execute(text("SELECT pg_stat_force_next_flush()"))  # make the counts visible

    if store.is_sqlite:  # SQLite plans without statistics; nothing to refresh
        assert store.refresh_statistics(("tags",)) == []
        return
    assert store.refresh_statistics(("tags", "params")) == ["tags"]  # params barely changed
    assert store.refresh_statistics(("tags", "params")) == []  # checked a moment ago
    with store.engine.connect() as conn:
        analysed = conn.execute(
            text(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = 'tags'"
            )
        ).scalar_one()
    assert analysed
    # search_runs asks for it on the tables it reads, and still answers
    assert [r.id for r in ladder.search_runs().runs] == [run.id]
