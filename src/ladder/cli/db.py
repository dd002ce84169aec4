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
    revisions = ", ".join(sorted(current_revisions(store)))
    console.print(f"store {settings.store_uri} is at revision(s) {revisions}")
