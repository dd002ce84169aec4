"""``ladder artifacts``: list and fetch a run's artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

import ladder
from ladder.cli.output import console, print_json

app = typer.Typer(help="A run's stored files and folders.", no_args_is_help=True)


@app.command("list")
def list_artifacts(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List a run's artifacts."""
    items = ladder.list_artifacts(run)
    if as_json:
        print_json([a.__dict__ for a in items])
        return
    table = Table(header_style="bold")
    for column in ("name", "kind", "size", "media type", "digest"):
        table.add_column(column)
    for art in items:
        table.add_row(art.path, art.kind, f"{art.size:,}", art.media_type, art.digest)
    console.print(table)


@app.command("get")
def get(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix")],
    name: Annotated[str, typer.Argument(help="Artifact name, as logged")],
    dest: Annotated[Path, typer.Argument(help="Destination file or folder")],
) -> None:
    """Write a verified copy of an artifact to DEST."""
    target = ladder.download_artifact(run, name, dest)
    console.print(f"wrote {target}")
