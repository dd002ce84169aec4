"""``ladder runs``: list, show, compare and delete runs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

import ladder
from ladder.cli.output import (
    console,
    format_duration,
    format_number,
    format_time,
    print_json,
    styled_status,
)
from ladder.tracking.queries import RunInfo, get_environment

app = typer.Typer(help="List, inspect, compare and delete tracked runs.", no_args_is_help=True)


@app.command("list")
def list_runs(
    where: Annotated[
        str | None,
        typer.Option("--where", "-w", help="Filter, e.g. \"metrics.acc > 0.9 and params.C = '1'\""),
    ] = None,
    order_by: Annotated[
        str | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.acc desc' (default: newest first)"),
    ] = None,
    project: Annotated[str | None, typer.Option(help="Project (default: this project)")] = None,
    all_projects: Annotated[
        bool, typer.Option("--all-projects", help="Search every project")
    ] = False,
    status: Annotated[
        str | None, typer.Option(help="running, finished, failed, killed, crashed")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable")] = None,
    limit: Annotated[int, typer.Option(help="Rows per page")] = 50,
    page_token: Annotated[
        str | None, typer.Option("--page-token", help="Token printed under the previous page")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts")] = False,
) -> None:
    """List runs, one page at a time (keyset pagination: never loads every run)."""
    clauses = [f"({where})"] if where else []
    for item in tag or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--tag")
        clauses.append(f"tags.`{key}` = '{value.replace(chr(39), chr(39) * 2)}'")
    page = ladder.search_runs(
        where=" and ".join(clauses) or None,
        order_by=order_by,
        project=project,
        all_projects=all_projects,
        status=status,
        limit=limit,
        page_token=page_token,
    )
    if as_json:
        print_json(
            {"runs": [r.to_dict() for r in page.runs], "next_page_token": page.next_page_token}
        )
        return
    console.print(runs_table(page.runs))
    if page.next_page_token:
        console.print(f"[dim]more: --page-token {page.next_page_token}[/]")


def runs_table(runs: list[RunInfo], max_metrics: int = 4, max_params: int = 3) -> Table:
    metric_keys = sorted({k for r in runs for k in r.metrics})[:max_metrics]
    param_keys = sorted({k for r in runs for k in r.params})[:max_params]
    table = Table(show_lines=False, header_style="bold")
    table.add_column("run", no_wrap=True)
    table.add_column("name", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for key in param_keys:
        table.add_column(f"p.{key}", style="blue", overflow="fold")
    for key in metric_keys:
        table.add_column(f"m.{key}", justify="right", style="green", no_wrap=True)
    for run in runs:
        table.add_row(
            run.id,
            run.name,
            styled_status(run.status),
            format_time(run.start_time)[5:],
            format_duration(run.duration_s),
            *(run.params.get(k, "") for k in param_keys),
            *(format_number(run.metrics[k], 4) if k in run.metrics else "" for k in metric_keys),
        )
    return table


@app.command("show")
def show(
    run: Annotated[str, typer.Argument(help="Run id or unique prefix")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one run: status, git, environment, command, params, metrics, artifacts."""
    info = ladder.get_run(run)
    artifacts = ladder.list_artifacts(info.id)
    env = get_environment(info.environment_digest) if info.environment_digest else None
    if as_json:
        print_json(
            {
                **info.to_dict(),
                "environment": env,
                "artifacts": [a.__dict__ for a in artifacts],
            }
        )
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("run", f"{info.id}  ({info.project}/{info.name})")
    head.add_row("status", styled_status(info.status))
    head.add_row("started", format_time(info.start_time))
    head.add_row("ended", format_time(info.end_time))
    head.add_row("duration", format_duration(info.duration_s))
    if info.git_commit:
        dirty = (
            " [yellow](dirty: uncommitted changes, diff stored as ladder/git.diff)[/]"
            if info.git_dirty
            else ""
        )
        head.add_row("git", f"{info.git_commit} on {info.git_branch or 'detached HEAD'}{dirty}")
    head.add_row("command", info.command or "-")
    if env:
        head.add_row(
            "python", f"{env['python']} on {env['platform']} ({len(env['packages'])} packages)"
        )
    if info.git_commit and info.entry_point and info.entry_point != "<interactive>":
        head.add_row("re-run", f"git checkout {info.git_commit[:12]} && {info.command}")
    if info.parent_id:
        head.add_row("parent", info.parent_id)
    console.print(head)
    for title, values in (("params", info.params), ("tags", info.tags)):
        if values:
            table = Table(title=title, title_justify="left", header_style="bold")
            table.add_column("key")
            table.add_column("value")
            for key, value in values.items():
                table.add_row(key, value)
            console.print(table)
    if info.metrics:
        table = Table(title="metrics (latest)", title_justify="left", header_style="bold")
        table.add_column("key")
        table.add_column("value", justify="right")
        for key, number in info.metrics.items():
            table.add_row(key, format_number(number))
        console.print(table)
    if artifacts:
        table = Table(title="artifacts", title_justify="left", header_style="bold")
        for column in ("name", "kind", "size", "digest"):
            table.add_column(column)
        for art in artifacts:
            table.add_row(art.path, art.kind, f"{art.size:,}", art.digest[:23] + "…")
        console.print(table)


@app.command("compare")
def compare(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Params and metrics side by side; rows whose values differ are highlighted."""
    if len(runs) < 2:
        raise typer.BadParameter(f"expected at least 2 runs, got {len(runs)}", param_hint="RUNS")
    infos = [ladder.get_run(ref) for ref in runs]
    if as_json:
        print_json([i.to_dict() for i in infos])
        return
    table = Table(header_style="bold")
    table.add_column("")
    for info in infos:
        table.add_column(f"{info.name}\n{info.id[-8:]}")
    for section, getter in (
        ("param", lambda i, k: i.params.get(k)),
        ("metric", lambda i, k: format_number(i.metrics[k]) if k in i.metrics else None),
    ):
        keys = sorted({k for i in infos for k in (i.params if section == "param" else i.metrics)})
        for key in keys:
            values = [getter(i, key) for i in infos]
            differs = len(set(values)) > 1
            style = "bold yellow" if differs else "dim"
            table.add_row(
                f"{section}s.{key}", *(v if v is not None else "—" for v in values), style=style
            )
    table.add_row("git", *((i.git_commit or "-")[:10] for i in infos), style="dim")
    console.print(table)


@app.command("delete")
def delete(
    runs: Annotated[list[str], typer.Argument(help="Run ids")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Delete runs and their records (stored objects stay shared in the artifact store)."""
    infos = [ladder.get_run(ref) for ref in runs]
    if not yes:
        names = ", ".join(f"{i.id} ({i.name})" for i in infos)
        typer.confirm(f"Delete {len(infos)} run(s): {names}?", abort=True)
    deleted = ladder.delete_runs([i.id for i in infos])
    console.print(f"deleted {len(deleted)} run(s)")
