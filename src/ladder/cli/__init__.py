"""The ``ladder`` command line: thin Typer commands over the SDK, one module per slice."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ladder.cli import artifacts as artifacts_cli
from ladder.cli import assess as assess_cli
from ladder.cli import automation as automation_cli
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
        from ladder.automation.config import EXAMPLE

        config.write_text(EXAMPLE.format(name=name or path.name))
        console.print(f"wrote {config}")
    (path / ".ladder").mkdir(exist_ok=True)
    ignore = path / ".gitignore"
    ignored = ignore.read_text().splitlines() if ignore.exists() else []
    if ".ladder/" not in ignored and ".ladder" not in ignored:
        # The store is not source: left unignored, every run would see a dirty tree.
        with ignore.open("a") as handle:
            handle.write(("\n" if ignored and ignored[-1] else "") + ".ladder/\n")
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
    """The five levels in one command: track, version, pipeline, serve, monitor, autopilot."""
    from rich.table import Table

    from ladder.quickstart import run_story

    def say(level: str, message: str) -> None:
        err_console.print(f"[bold cyan]level {level}[/] {message}")

    with err_console.status("running the quickstart…"):
        result = run_story(directory, say=say)
    console.print(runs_cli.runs_table(result.baseline_runs))
    best = result.best_run
    console.print(
        f"best run: [bold green]{best.name}[/] ({best.id}) "
        f"roc_auc={best.metrics['roc_auc']:.4f} accuracy={best.metrics['accuracy']:.4f}"
    )
    timeline = Table(title="autopilot timeline", title_justify="left", header_style="bold")
    timeline.add_column("event", no_wrap=True)
    timeline.add_column("what happened", overflow="fold")
    for event in result.timeline:
        timeline.add_row(event.kind, event.message)
    console.print(timeline)
    console.print(
        f"champion: {result.champion_before} → [bold green]{result.champion_after}[/]; "
        f"{result.requests} requests served over HTTP, {result.failed_requests} failed; "
        f"{result.seconds:.0f} s"
    )
    if result.loop_seconds is not None:
        console.print(
            f"first drifted prediction → retrained model serving all traffic: "
            f"{result.loop_seconds:.1f} s"
        )
    console.print(f"monitoring report: {result.report}")
    root = result.root
    console.print(
        f"workspace: {root}\n  explore: cd {root} && ladder runs list --project loans; "
        "ladder events; ladder models lineage loans/2; ladder assess"
    )


def main() -> None:
    """Console entry point: user errors print one clear line and exit with status 2."""
    try:
        app()
    except LadderError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
