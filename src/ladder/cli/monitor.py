"""``ladder monitor``: create, list, run, show and report monitors; compare two tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ladder.cli.output import console, err_console, format_number, format_time, print_json
from ladder.errors import InvalidMonitorSpec

app = typer.Typer(
    help="Watch deployments: drift, data quality, realised and estimated performance, alerts.",
    no_args_is_help=True,
)

VERDICT_STYLE = {
    "performance_drop_explained_by_drift": "red",
    "performance_drop_without_drift": "red",
    "drift_without_performance_effect": "yellow",
    "stable": "green",
    "no_performance_signal": "dim",
}


def _pairs(items: list[str] | None, option: str, number: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise typer.BadParameter(f"expected COLUMN=VALUE, got {item!r}", param_hint=option)
        if number:
            try:
                out[key.strip()] = float(value)
            except ValueError:
                raise typer.BadParameter(
                    f"expected a number after '=', got {value!r}", param_hint=option
                ) from None
        else:
            out[key.strip()] = value.strip()
    return out


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Monitor name")],
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Deployment whose log to watch")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="Dataset name@version or file (default: the model's training data)"),
    ] = None,
    current: Annotated[
        str | None, typer.Option(help="Dataset or file to watch instead of a deployment")
    ] = None,
    window: Annotated[
        str, typer.Option(help="'1000 predictions', '1h', '1d' or 'all'")
    ] = "1000 predictions",
    rule: Annotated[
        list[str] | None, typer.Option("--rule", "-r", help="Alert rule, e.g. 'drift_share > 0.3'")
    ] = None,
    per_variant: Annotated[bool, typer.Option(help="Separate windows per variant")] = True,
    min_rows: Annotated[int, typer.Option(help="Fewer rows: insufficient data")] = 100,
    columns: Annotated[str | None, typer.Option(help="Features to watch, comma-separated")] = None,
    method: Annotated[
        list[str] | None, typer.Option(help="COLUMN=METHOD (ks, wasserstein, psi, ...)")
    ] = None,
    threshold: Annotated[
        list[str] | None, typer.Option(help="COLUMN=VALUE or METHOD=VALUE")
    ] = None,
    drift_share: Annotated[float, typer.Option(help="Dataset drift at this share")] = 0.5,
    label: Annotated[str | None, typer.Option(help="Label column of table data")] = None,
    prediction: Annotated[str | None, typer.Option(help="Prediction column of table data")] = None,
    task: Annotated[str | None, typer.Option(help="binary, multiclass or regression")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a monitor of that name")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create a monitor of a deployment (or of a current table against a reference)."""
    from ladder.monitoring import create_monitor

    monitor = create_monitor(
        name,
        deployment=deployment,
        reference=reference,
        current=current,
        replace=replace,
        source="cli",
        window=window,
        rules=tuple(rule or ()),
        per_variant=per_variant,
        min_rows=min_rows,
        columns=_columns(columns),
        methods=_pairs(method, "--method"),
        thresholds=_pairs(threshold, "--threshold", number=True),
        drift_share=drift_share,
        label=label,
        prediction=prediction,
        task=task,
    )
    if as_json:
        print_json(monitor.to_dict())
        return
    target = f"deployment {monitor.deployment}" if monitor.deployment else str(monitor.current)
    console.print(
        f"monitor [bold]{monitor.name}[/] watches {target}, windows of {monitor.settings.window}, "
        f"reference {monitor.reference or 'the served model version’s training dataset'}"
    )


@app.command("list")
def list_command(
    deployment: Annotated[str | None, typer.Option(help="Only this deployment's")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List monitors (those declared in ladder.toml are created first)."""
    from ladder.monitoring import list_monitors, sync_config_monitors

    sync_config_monitors()
    monitors = list_monitors(deployment)
    if as_json:
        print_json([m.to_dict() for m in monitors])
        return
    table = Table(header_style="bold")
    for column in ("monitor", "watches", "reference", "window", "rules", "source"):
        table.add_column(column)
    for m in monitors:
        table.add_row(
            m.name,
            f"deployment {m.deployment}" if m.deployment else str(m.current),
            m.reference or "[dim]training data (lineage)[/]",
            m.settings.window,
            "\n".join(m.settings.rules) or "-",
            m.source,
        )
    console.print(table)


@app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="Monitor name")],
    since: Annotated[
        str | None, typer.Option(help="Re-evaluate from this time (ISO), even if done")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time (ISO)")] = None,
    labels: Annotated[
        Path | None, typer.Option(help="File with request_id,label columns to join first")
    ] = None,
    include_incomplete: Annotated[
        bool, typer.Option("--include-incomplete", help="Also the window still filling up")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Evaluate the windows completed since the last run; store results and alerts."""
    from ladder.monitoring import run_monitor, sync_config_monitors
    from ladder.monitoring.reference import read_table

    sync_config_monitors()
    label_frame = read_table(labels) if labels is not None else None
    with Progress(
        TextColumn("[bold]windows"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("windows", total=None)
        results = run_monitor(
            name,
            since=since,
            until=until,
            labels=label_frame,
            include_incomplete=include_incomplete,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        print_json([r.to_dict() for r in results])
        return
    if not results:
        console.print(f"monitor {name}: no new complete window")
        return
    console.print(results_table(results))
    fired = sum(len(r.fired) for r in results)
    if fired:
        console.print(f"[red]{fired} alert(s) fired[/] (ladder monitor show {name})")


def results_table(results: list[Any]) -> Table:
    table = Table(header_style="bold")
    for column in (
        "window",
        "variant",
        "rows",
        "status",
        "drift share",
        "drifted",
        "performance",
        "verdict",
        "alerts",
    ):
        table.add_column(column)
    for r in results:
        drifted = ", ".join(c.column for c in r.drift.drifted_features[:4]) if r.drift else ""
        perf = _performance_text(r)
        verdict = r.root_cause.verdict if r.root_cause else (r.message or "")
        style = VERDICT_STYLE.get(verdict, "white")
        status = r.status if r.status == "ok" else f"[yellow]{r.status}[/]"
        table.add_row(
            r.window_label if not r.window_end else format_time(r.window_end),
            r.variant or "-",
            str(r.rows),
            status,
            format_number(r.drift.drift_share, 3)
            if r.drift and r.drift.drift_share is not None
            else "-",
            drifted or "-",
            perf or "-",
            f"[{style}]{verdict}[/]" if r.root_cause else f"[dim]{verdict}[/]",
            f"[red]{len(r.fired)}[/]" if r.fired else "0",
        )
    return table


def _performance_text(result: Any) -> str:
    cause = result.root_cause
    if cause is None or cause.metric is None or cause.current_value is None:
        return ""
    return (
        f"{cause.source} {cause.metric} {cause.current_value:.4g} (ref {cause.reference_value:.4g})"
    )


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Monitor name")],
    limit: Annotated[int, typer.Option(help="Latest windows to show")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a monitor: its settings, latest window results, root cause and alerts."""
    from ladder.monitoring import alerts, get_monitor, monitor_results

    monitor = get_monitor(name)
    results = monitor_results(name, limit=limit)
    fired = alerts(name)[-limit:]
    if as_json:
        print_json(
            {
                "monitor": monitor.to_dict(),
                "results": [r.to_dict() for r in results],
                "alerts": [a.to_dict() for a in fired],
            }
        )
        return
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("monitor", monitor.name)
    head.add_row(
        "watches",
        f"deployment {monitor.deployment}" if monitor.deployment else str(monitor.current),
    )
    head.add_row("reference", monitor.reference or "training dataset of the served model (lineage)")
    head.add_row("window", f"{monitor.settings.window} (min {monitor.settings.min_rows} rows)")
    head.add_row("rules", "\n".join(monitor.settings.rules) or "-")
    console.print(head)
    if results:
        console.print(results_table(results))
        latest = results[-1]
        if latest.root_cause is not None:
            console.print(f"[bold]latest:[/] {latest.root_cause.message}")
    if fired:
        table = Table(title="alerts", title_justify="left", header_style="bold")
        for column in ("fired", "variant", "rule", "kind", "verdict"):
            table.add_column(column)
        for a in fired:
            table.add_row(
                format_time(a.fired_at), a.variant or "-", a.rule, a.kind, a.verdict or "-"
            )
        console.print(table)


@app.command("report")
def report(
    target: Annotated[str, typer.Argument(help="Monitor or deployment name")],
    html: Annotated[
        Path | None, typer.Option("--html", help="Write a self-contained HTML file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report data as JSON")] = False,
    limit: Annotated[int, typer.Option(help="Latest windows to include")] = 500,
) -> None:
    """A report of a monitor (or of every monitor of a deployment): HTML and/or JSON."""
    from ladder.monitoring import monitor_results, render_html, report_data
    from ladder.monitoring.monitor import monitors_for

    if html is None and not as_json:
        raise typer.BadParameter("give --html FILE and/or --json", param_hint="--html")
    monitors = monitors_for(target)
    results = monitor_results([m.name for m in monitors], limit=limit)
    if html is not None:
        html.write_text(
            render_html(results, title=f"Ladder monitoring: {target}"), encoding="utf-8"
        )
        err_console.print(f"wrote {html} ({len(results)} window(s))")
    if as_json:
        print_json(report_data(results))


@app.command("compare")
def compare(
    reference: Annotated[str, typer.Argument(help="Reference file or dataset name@version")],
    current: Annotated[str, typer.Argument(help="Current file or dataset name@version")],
    columns: Annotated[str | None, typer.Option(help="Columns to compare, comma-separated")] = None,
    method: Annotated[list[str] | None, typer.Option(help="COLUMN=METHOD")] = None,
    threshold: Annotated[
        list[str] | None, typer.Option(help="COLUMN=VALUE or METHOD=VALUE")
    ] = None,
    drift_share: Annotated[float, typer.Option(help="Dataset drift at this share")] = 0.5,
    label: Annotated[str | None, typer.Option(help="Label column (for performance)")] = None,
    prediction: Annotated[str | None, typer.Option(help="Prediction column")] = None,
    rule: Annotated[list[str] | None, typer.Option("--rule", "-r", help="Alert rule")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML report")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Drift (and quality, performance) between two tables, ad hoc: nothing is stored."""
    from ladder.monitoring import compare as compare_tables
    from ladder.monitoring import render_html

    if drift_share <= 0 or drift_share > 1:
        raise InvalidMonitorSpec(f"--drift-share: expected a share in (0, 1], got {drift_share}")
    result = compare_tables(
        reference,
        current,
        label=label,
        prediction=prediction,
        columns=_columns(columns),
        methods=_pairs(method, "--method"),
        thresholds=_pairs(threshold, "--threshold", number=True),
        drift_share=drift_share,
        rules=tuple(rule or ()),
    )
    if html is not None:
        html.write_text(
            render_html([result], title=f"Ladder drift: {current} vs {reference}"), encoding="utf-8"
        )
        err_console.print(f"wrote {html}")
    if as_json:
        print_json(result.to_dict())
        return
    drift = result.drift
    assert drift is not None
    table = Table(header_style="bold")
    for column in ("column", "kind", "method", "score", "threshold", "drift", "PSI", "JS"):
        table.add_column(column)
    for c in drift.columns:
        state = (
            "[dim]" + c.status + "[/]"
            if c.drifted is None
            else ("[red]drifted[/]" if c.drifted else "[green]ok[/]")
        )
        table.add_row(
            c.column,
            c.kind,
            c.method,
            format_number(c.score, 4) if c.score is not None else "-",
            format_number(c.threshold, 4),
            state,
            format_number(c.psi, 4) if c.psi is not None else "-",
            format_number(c.jensenshannon, 4) if c.jensenshannon is not None else "-",
        )
    console.print(table)
    schema = drift.schema
    if schema.missing_in_current:
        console.print(f"[yellow]missing in current:[/] {', '.join(schema.missing_in_current)}")
    if schema.extra_in_current:
        console.print(f"[yellow]only in current:[/] {', '.join(schema.extra_in_current)}")
    share = "-" if drift.drift_share is None else f"{drift.drift_share:.0%}"
    verdict = "[red]dataset drift[/]" if drift.dataset_drift else "[green]no dataset drift[/]"
    console.print(f"{len(drift.drifted_features)} drifted feature(s), share {share}: {verdict}")
    if result.quality is not None and result.quality.problems:
        for problem in result.quality.problems:
            console.print(f"[yellow]quality:[/] {problem}")
    for outcome in result.fired:
        console.print(f"[red]alert:[/] {outcome.rule}")
