"""``ladder config | events | trigger | autopilot``: the level-5 loop from the terminal."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.table import Table

from ladder.cli.output import console, format_time, print_json

config_app = typer.Typer(help="ladder.toml: check it.", no_args_is_help=True)
events_app = typer.Typer(
    help="The automation event log.", invoke_without_command=True, no_args_is_help=False
)
trigger_app = typer.Typer(help="Fire a trigger by hand.", no_args_is_help=True)
autopilot_app = typer.Typer(help="Run the autopilot loop.", no_args_is_help=True)

_KIND_STYLE = {
    "promoted": "bold green",
    "gate_passed": "green",
    "rolled_back": "bold red",
    "gate_failed": "red",
    "pipeline_failed": "red",
    "loop_failed": "red",
    "retrain_blocked": "yellow",
    "drift_explained": "yellow",
    "trigger_skipped": "dim",
}


@config_app.command("check")
def check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Validate ladder.toml; an error names the key and its line."""
    from ladder.automation.config import load_config

    config = load_config()
    if as_json:
        print_json(config.model_dump())
        return
    console.print(
        f"[green]ladder.toml is valid[/]: {len(config.pipelines)} pipeline(s), "
        f"{len(config.models)} model(s), {len(config.deployments)} deployment(s), "
        f"{len(config.monitors)} monitor(s), {len(config.triggers)} trigger(s)"
    )


@events_app.callback()
def events(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Option(help="Only this model's events")] = None,
    limit: Annotated[int, typer.Option(help="Newest N events")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The timeline of automation events (trigger, pipeline, gate, canary, promote, rollback)."""
    if ctx.invoked_subcommand is not None:
        return
    from ladder.automation.events import follow_events, list_events

    found = list_events(model=model, limit=limit)
    if as_json:
        print_json([e.to_dict() for e in found])
        return
    table = Table(header_style="bold")
    for column in ("time", "event", "model", "message"):
        table.add_column(column, overflow="fold")
    for event in found:
        style = _KIND_STYLE.get(event.kind, "")
        version = f"/{event.version}" if event.version else ""
        table.add_row(
            format_time(event.time),
            f"[{style}]{event.kind}[/]" if style else event.kind,
            f"{event.model or ''}{version}",
            event.message,
        )
    console.print(table)
    if follow:
        for event in follow_events():
            if model is None or event.model == model:
                console.print(f"{format_time(event.time)}  {event.kind:<18} {event.message}")


@events_app.command("explain")
def explain_command(
    uri: Annotated[str, typer.Argument(help="MODEL/VERSION or MODEL@ALIAS")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why a model version is (or isn't) serving."""
    from ladder.automation.explanation import explain

    found = explain(uri)
    if as_json:
        print_json(found.to_dict())
        return
    console.print(
        f"[bold]{found.model}/{found.version}[/]  aliases: {', '.join(found.aliases) or '-'}"
    )
    console.print(found.verdict)
    for event in found.events:
        console.print(f"  {format_time(event.time)}  {event.kind:<18} {event.message}")


@trigger_app.command("fire")
def fire(name: Annotated[str, typer.Argument(help="Trigger name from ladder.toml")]) -> None:
    """Make a trigger fire on the autopilot's next tick."""
    from ladder.automation.autopilot import fire_trigger

    fire_trigger(name)
    console.print(f"trigger {name!r} will fire on the next tick (ladder autopilot tick)")


@autopilot_app.command("tick")
def tick(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One idempotent pass: resume loops, run monitors, evaluate triggers (for cron or CI)."""
    from ladder.automation.autopilot import Autopilot

    report = Autopilot().tick()
    if as_json:
        print_json({"held_lock": report.held_lock, "actions": report.actions})
        return
    for action in report.actions or ["nothing to do"]:
        console.print(action)


@autopilot_app.command("run")
def run(
    interval: Annotated[
        float | None, typer.Option(help="Seconds between ticks (policy.interval)")
    ] = None,
) -> None:
    """Tick forever (until SIGTERM or Ctrl-C), printing what each tick did."""
    from ladder.automation.autopilot import Autopilot

    console.print("autopilot running; SIGTERM or Ctrl-C stops it after the current tick")
    with contextlib.suppress(KeyboardInterrupt):
        Autopilot().run(interval=interval)
    console.print("autopilot stopped")
