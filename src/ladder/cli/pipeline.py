"""``ladder pipeline``: run, list, show and resume pipelines."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from ladder.cli.output import (
    console,
    err_console,
    format_duration,
    format_time,
    print_json,
    styled_status,
)
from ladder.errors import PipelineFailed
from ladder.pipelines import (
    PipelineResult,
    StepEvent,
    get_pipeline_run,
    import_pipeline,
    list_pipeline_runs,
)
from ladder.pipelines.params import parse_text, split_assignment
from ladder.pipelines.records import PipelineRunInfo, StepRecord
from ladder.pipelines.resume import resume as resume_run
from ladder.pipelines.scheduler import Observer

app = typer.Typer(help="Run pipelines of cached steps; list, inspect and resume their runs.")

_STEP_STYLE = {
    "pending": "dim",
    "running": "cyan",
    "retrying": "yellow",
    "finished": "green",
    "cached": "blue",
    "failed": "red",
    "skipped": "dim",
    "cancelled": "yellow",
    "killed": "yellow",
}
_MARK = {
    "finished": "[green]✓[/]",
    "cached": "[blue]↺[/]",
    "failed": "[red]✗[/]",
    "skipped": "[dim]-[/]",
    "cancelled": "[yellow]-[/]",
    "killed": "[yellow]✗[/]",
    "retrying": "[yellow]↻[/]",
    "running": "[cyan]…[/]",
    "pending": "[dim]·[/]",
}
_TERMINAL = ("finished", "cached", "failed", "skipped", "cancelled", "killed")

ExecutorOption = Annotated[
    str, typer.Option("--executor", "-e", help="local, ray, or a ray://host:port address")
]
MaxWorkersOption = Annotated[
    int | None,
    typer.Option("--max-workers", "-w", help="Parallel steps (default: CPU count)", min=1),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts")]


@contextlib.contextmanager
def live_progress(enabled: bool) -> Iterator[Observer | None]:
    """A progress bar on stderr and one line per finished step, fed by scheduler events."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("[bold]steps"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
    )
    task = bar.add_task("", total=0)
    running: set[str] = set()
    try:

        def observe(event: StepEvent) -> None:
            if event.status == "pending":  # the DAG is built: the bar appears with its size
                if not bar.live.is_started:
                    bar.start()
                bar.update(task, total=(bar.tasks[0].total or 0) + 1)
                return
            if event.status == "running":
                running.add(event.node)
            else:
                running.discard(event.node)
            if event.status in _TERMINAL or event.status == "retrying":
                attempt = (
                    f" (attempt {event.attempt}/{event.max_attempts})"
                    if event.max_attempts > 1 and event.attempt
                    else ""
                )
                took = f" {format_duration(event.duration_s)}" if event.duration_s else ""
                detail = f" [dim]{event.detail}[/]" if event.detail else ""
                bar.console.print(
                    f"{_MARK.get(event.status, '')} {event.node} "
                    f"[{_STEP_STYLE[event.status]}]{event.status}[/]{took}{attempt}{detail}"
                )
            if event.status in _TERMINAL:
                bar.advance(task)
            shown = sorted(running)
            more = f" +{len(shown) - 3}" if len(shown) > 3 else ""
            bar.update(task, description=", ".join(shown[:3]) + more)

        yield observe
    finally:
        if bar.live.is_started:
            bar.stop()


def _report(result: PipelineResult, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "run_id": result.run_id,
                "pipeline": result.pipeline,
                "status": result.status,
                "steps": {node: record.to_dict() for node, record in result.steps.items()},
            }
        )
        return
    hits = len(result.cache_hits)
    console.print(
        f"pipeline [bold]{result.pipeline}[/] run {result.run_id}: {styled_status(result.status)}, "
        f"{len(result.executed)} step(s) ran, {hits} from cache "
        f"(see: ladder pipeline show {result.run_id})"
    )


def _failed(exc: PipelineFailed, as_json: bool) -> None:
    result = exc.result
    if as_json and isinstance(result, PipelineResult):
        _report(result, True)
    err_console.print(f"[red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command("run")
def run(
    spec: Annotated[str, typer.Argument(help="MODULE:PIPELINE or path/to/file.py:PIPELINE")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="NAME=VALUE (JSON, or text for str params); repeatable"),
    ] = None,
    executor: ExecutorOption = "local",
    max_workers: MaxWorkersOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step")] = False,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop running branches at the first failure")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline; steps show live as they start, finish or come from the cache."""
    target = import_pipeline(spec)
    hints = target.hints
    params: dict[str, Any] = {}
    for item in param or []:
        name, text = split_assignment(item)
        params[name] = parse_text(text, hints[name]) if name in hints else parse_text(text)
    try:
        with live_progress(not as_json) as observer:
            result = target.run(
                executor=executor,
                max_workers=max_workers,
                no_cache=no_cache,
                fail_fast=fail_fast,
                observer=observer,
                **params,
            )
    except PipelineFailed as exc:
        _failed(exc, as_json)
    _report(result, as_json)


@app.command("resume")
def resume(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Pipeline run id or unique prefix")],
    executor: ExecutorOption = "local",
    max_workers: MaxWorkersOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a failed or killed pipeline run again, reusing every step it finished."""
    try:
        with live_progress(not as_json) as observer:
            result = resume_run(
                run_id, executor=executor, max_workers=max_workers, observer=observer
            )
    except PipelineFailed as exc:
        _failed(exc, as_json)
    _report(result, as_json)


@app.command("runs")
def runs(
    pipeline: Annotated[str | None, typer.Option(help="Only runs of this pipeline")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first", min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List pipeline runs, newest first."""
    summaries = list_pipeline_runs(pipeline=pipeline, limit=limit)
    if as_json:
        print_json([s.to_dict() for s in summaries])
        return
    table = Table(header_style="bold")
    for column in ("run", "pipeline", "status", "started", "duration", "steps", "executor"):
        table.add_column(column, no_wrap=column in ("run", "status", "started"))
    for summary in summaries:
        counts = ", ".join(
            f"[{_STEP_STYLE.get(k, 'white')}]{v} {k}[/]" for k, v in summary.counts.items()
        )
        resumed = f" [dim](resumes {summary.resumed_from})[/]" if summary.resumed_from else ""
        table.add_row(
            summary.run.id,
            summary.pipeline + resumed,
            styled_status(summary.run.status),
            format_time(summary.run.start_time)[5:],
            format_duration(summary.run.duration_s),
            counts,
            summary.executor,
        )
    console.print(table)


def _step_label(record: StepRecord) -> str:
    style = _STEP_STYLE.get(record.status, "white")
    parts = [f"{_MARK.get(record.status, '')} [bold]{record.node}[/]"]
    if record.step != record.node:
        parts.append(f"[dim]({record.step})[/]")
    parts.append(f"[{style}]{record.status}[/]")
    if record.duration_s is not None and record.status not in ("skipped", "cancelled"):
        parts.append(format_duration(record.duration_s))
    if record.status == "cached":
        parts.append(f"[blue]cache hit[/] [dim]from {record.cached_from}[/]")
    if record.attempts > 1:
        parts.append(f"[yellow]{record.attempts} attempts[/]")
    if record.run_id:
        parts.append(f"[dim]run {record.run_id}[/]")
    return " ".join(parts)


def dag_tree(info: PipelineRunInfo) -> Tree:
    """The DAG as a tree: each node under its first upstream node (others listed after it)."""
    resumed = f", resumes {info.resumed_from}" if info.resumed_from else ""
    tree = Tree(
        f"[bold]{info.pipeline}[/] run {info.id} {styled_status(info.status)} "
        f"{format_duration(info.run.duration_s)} [dim]({info.executor}{resumed})[/]"
    )
    branches: dict[str, Tree] = {}
    for record in info.steps:
        label = _step_label(record)
        if len(record.upstream) > 1:
            label += f" [dim](also after {', '.join(record.upstream[1:])})[/]"
        parent = branches.get(record.upstream[0]) if record.upstream else None
        branches[record.node] = (parent or tree).add(label)
    return tree


@app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="Pipeline run id or unique prefix")],
    as_json: JsonOption = False,
) -> None:
    """Show a pipeline run: the DAG with each step's status, duration and cache hit."""
    info = get_pipeline_run(run_id)
    if as_json:
        print_json(info.to_dict())
        return
    console.print(dag_tree(info))
    if info.params:
        console.print(
            "[bold]params[/] " + ", ".join(f"{k}={v!r}" for k, v in sorted(info.params.items()))
        )
    for record in info.steps:
        if record.status == "failed" and record.error:
            console.print(f"\n[red bold]{record.node} failed:[/]")
            console.print(record.error.rstrip(), markup=False, highlight=False)
