"""The ``ladder`` command line: thin Typer commands over the SDK, one module per slice."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ladder.cli import artifacts as artifacts_cli
from ladder.cli import automation as automation_cli
from ladder.cli import assess as assess_cli
from ladder.cli import data as data_cli
from ladder.cli import db as db_cli
from ladder.cli import deploy as deploy_cli
from ladder.cli import models as models_cli
from ladder.cli import monitor as monitor_cli
from ladder.cli import pipeline as pipeline_cli
from ladder.cli import runs as runs_cli
from ladder.cli import serve as serve_cli
from ladder.cli.output import console, err_console
from ladder.errors import LadderError

app = typer.Typer(
    name="ladder",
    help="Ladder: track, version, pipeline, register, serve and monitor ML, on one store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(runs_cli.app, name="runs")
app.add_typer(automation_cli.config_app, name="config")
app.add_typer(automation_cli.events_app, name="events")
app.add_typer(automation_cli.trigger_app, name="trigger")
app.add_typer(automation_cli.autopilot_app, name="autopilot")
app.add_typer(artifacts_cli.app, name="artifacts")
app.add_typer(data_cli.app, name="data")
app.add_typer(db_cli.app, name="db")
app.add_typer(models_cli.app, name="models")
app.add_typer(pipeline_cli.app, name="pipeline")
app.add_typer(deploy_cli.app, name="deploy")
app.add_typer(monitor_cli.app, name="monitor")
app.command("assess")(assess_cli.assess)
app.command("serve")(serve_cli.serve)

EXAMPLE_CONFIG = """\
# Ladder project configuration. Environment variables override every key:
# LADDER_PROJECT, LADDER_STORE_URI, LADDER_ARTIFACT_URI.

[project]
name = "{name}"

[store]
# Metadata: SQLite in .ladder/ by default; PostgreSQL for a team:
# uri = "postgresql+psycopg://user@host:5432/ladder"
# Artifacts: a local folder by default; any fsspec URL such as s3://bucket/prefix:
# artifacts = "s3://my-bucket/ladder"
"""


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Project folder")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name)")] = None,
) -> None:
    """Create ladder.toml and the embedded store (.ladder/) in PATH."""
    from ladder.workspace import open_workspace

    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "ladder.toml"
    if not config.exists():
        config.write_text(EXAMPLE_CONFIG.format(name=name or path.name))
        console.print(f"wrote {config}")
    (path / ".ladder").mkdir(exist_ok=True)
    ws = open_workspace(path)
    console.print(
        f"project [bold]{ws.project}[/]: metadata {ws.settings.store_uri}, "
        f"artifacts {ws.settings.artifact_uri}"
    )


@app.command()
def quickstart(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Keep the workspace here (default: a temp folder)")
    ] = None,
) -> None:
    """Train and track several scikit-learn models, then show the runs and the best one."""
    from ladder.quickstart import CANDIDATES, run_quickstart

    with Progress(
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as bar:
        task = bar.add_task("runs", total=len(CANDIDATES))
        result = run_quickstart(directory, progress=lambda: bar.advance(task))
    console.print(runs_cli.runs_table(result.runs))
    best = result.best
    console.print(
        f"best run: [bold green]{best.name}[/] ({best.id}) "
        f"roc_auc={best.metrics['roc_auc']:.4f} accuracy={best.metrics['accuracy']:.4f}"
    )
    root = result.workspace.settings.root
    console.print(f"workspace: {root}  (try: cd {root} && ladder runs show {best.id})")


def main() -> None:
    """Console entry point: user errors print one clear line and exit with status 2."""
    try:
        app()
    except LadderError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
