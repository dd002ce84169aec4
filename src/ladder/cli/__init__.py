"""The ``ladder`` command line: thin Typer commands over the SDK, one module per slice."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ladder.cli.output import console, err_console
from ladder.errors import LadderError

# Sub-commands live in one module per slice and are imported only when used, so that
# `ladder data add` does not pay for importing the pipeline, serving and monitoring
# slices. name → (module, attribute: a Typer sub-app or a command function).
_LAZY: dict[str, tuple[str, str]] = {
    "runs": ("ladder.cli.runs", "app"),
    "config": ("ladder.cli.automation", "config_app"),
    "events": ("ladder.cli.automation", "events_app"),
    "trigger": ("ladder.cli.automation", "trigger_app"),
    "autopilot": ("ladder.cli.automation", "autopilot_app"),
    "artifacts": ("ladder.cli.artifacts", "app"),
    "data": ("ladder.cli.data", "app"),
    "db": ("ladder.cli.db", "app"),
    "models": ("ladder.cli.models", "app"),
    "pipeline": ("ladder.cli.pipeline", "app"),
    "deploy": ("ladder.cli.deploy", "app"),
    "monitor": ("ladder.cli.monitor", "app"),
    "assess": ("ladder.cli.assess", "assess"),
    "serve": ("ladder.cli.serve", "serve"),
}


def _lazy_command(name: str) -> Any:
    module, attribute = _LAZY[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        return group.commands[name]
    holder.command(name)(target)  # one command and no callback: Typer returns the command
    return typer.main.get_command(holder)


class _LazyGroup(TyperGroup):
    """The top-level group: eager commands plus the slices' commands, loaded on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            self.commands[cmd_name] = _lazy_command(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="ladder",
    help="Ladder: track, version, pipeline, register, serve and monitor ML, on one store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


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

    from ladder.cli.runs import runs_table
    from ladder.quickstart import run_story

    def say(level: str, message: str) -> None:
        err_console.print(f"[bold cyan]level {level}[/] {message}")

    with err_console.status("running the quickstart…"):
        result = run_story(directory, say=say)
    console.print(runs_table(result.baseline_runs))
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
