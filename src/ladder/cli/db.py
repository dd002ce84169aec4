"""``ladder db``: the metadata store's schema."""

from __future__ import annotations

import typer

from ladder.cli.output import console

app = typer.Typer(help="Metadata store schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Apply pending migrations (they also run on first use)."""
    from ladder.config import load_settings
    from ladder.db import current_revisions, migrate, open_store

    settings = load_settings()
    store = open_store(settings.store_uri)
    migrate(store)
    if not store.is_sqlite:
        # Fresh or bulk-loaded tables have no planner statistics until autovacuum runs;
        # without them a filtered, sorted run search can scan every run.
        from sqlalchemy import text

        with store.engine.begin() as conn:
            for table in ("runs", "latest_metrics", "params", "tags", "metrics"):
                conn.execute(text(f"ANALYZE {table}"))
    revisions = ", ".join(sorted(current_revisions(store)))
    console.print(f"store {settings.store_uri} is at revision(s) {revisions}")
